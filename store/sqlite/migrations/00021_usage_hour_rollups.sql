-- +goose Up
-- Hour roll-ups (docs/usage.md, "Hour roll-ups"): the same rows as
-- usage_rollups and usage_uniques per tenant × meter × subject × dimensions
-- × UTC hour, written in the transaction that writes the minute rows, so
-- that a query reads 60 times fewer rows for the whole hours of its range.
-- minute is the hour's first minute since the epoch (a multiple of 60),
-- so that queries bucket both tables by the same expressions.
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

-- usage_hour_start holds the first minute the hour tables hold whole, and
-- queries read minutes before it from usage_rollups. Existing minute rows
-- are not folded into hours here, since a minute row does not say which
-- aggregation its meter has: on a database with usage recorded, the hour
-- tables start at the later of the hour after the newest roll-up row and
-- the hour after next (replicas of the previous release may still be
-- recording this hour until they stop); on a new one, at 0.
CREATE TABLE usage_hour_start (
    id     INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    minute INTEGER NOT NULL CHECK (minute % 60 = 0)
) STRICT;

INSERT INTO usage_hour_start (id, minute)
SELECT 1, CASE WHEN m IS NULL THEN 0
               ELSE max((m / 60 + 1) * 60, (CAST(strftime('%s', 'now') AS INTEGER) / 3600 + 2) * 60) END
FROM (SELECT max(m) AS m FROM (SELECT max(minute) AS m FROM usage_rollups UNION ALL SELECT max(minute) FROM usage_uniques));

-- +goose Down
DROP TABLE usage_hour_start;
DROP TABLE usage_hour_uniques;
DROP TABLE usage_hour_rollups;
