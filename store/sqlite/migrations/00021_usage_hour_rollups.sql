-- +goose Up
-- Hour roll-ups (docs/usage.md, "Hour roll-ups"): the same rows as
-- usage_rollups and usage_uniques per tenant × meter × subject × dimensions
-- × UTC hour, written in the transaction that writes the minute rows, so
-- that a query reads 60 times fewer rows for the whole hours of its range.
-- minute is the hour's first minute since the epoch (a multiple of 60),
-- so that queries bucket both tables by the same expressions. Existing
-- minute rows are not folded here: a minute row does not say which
-- aggregation its meter has, so `tollgate usage rebuild` fills the hours
-- of usage recorded before this migration.
CREATE TABLE usage_hour_rollups (
    tenant_id  TEXT    NOT NULL,
    meter      TEXT    NOT NULL,
    minute     INTEGER NOT NULL,
    subject    TEXT    NOT NULL,
    dims       TEXT    NOT NULL,
    value      REAL    NOT NULL,
    events     INTEGER NOT NULL,
    latest_at  INTEGER NOT NULL,
    latest_key TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, meter, minute, subject, dims)
) STRICT, WITHOUT ROWID;

-- The distinct values of UNIQUE_COUNT meters per hour: a set per hour, as
-- per minute, since counts do not add up.
CREATE TABLE usage_hour_uniques (
    tenant_id TEXT    NOT NULL,
    meter     TEXT    NOT NULL,
    minute    INTEGER NOT NULL,
    subject   TEXT    NOT NULL,
    dims      TEXT    NOT NULL,
    value     TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, meter, minute, subject, dims, value)
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE usage_hour_uniques;
DROP TABLE usage_hour_rollups;
