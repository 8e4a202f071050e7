-- +goose Up
-- The usage engine (package usage). Same conventions as 00001: INTEGER unix
-- microseconds for times, JSON in TEXT. No foreign key to tenants: the
-- store checks that a batch's tenants exist before inserting, and usage,
-- like the audit trail, is kept for billing after a tenant goes.

-- Raw events, append-only, kept for re-aggregation and audit. The unique
-- key is the de-duplication record: it is written in the transaction that
-- counts the event, so an event is counted exactly when its row exists.
-- A rowid table, so that inserts append to the table and only the unique
-- index takes the random order of publishers' ids.
CREATE TABLE usage_events (
    tenant_id   TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    type        TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    occurred_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    data        TEXT    NOT NULL,
    UNIQUE (tenant_id, source, id)
) STRICT;

-- Per-minute roll-ups per tenant × meter × subject × dimensions. minute is
-- minutes since the Unix epoch, so that hour and day windows are integer
-- division in both databases. value is SUM's sum, COUNT's count, MAX's
-- maximum, LATEST's value; latest_at (unix microseconds) and latest_key
-- (source, unit separator, id) order LATEST's events. The key leads with what every
-- query fixes, then the time range it scans.
CREATE TABLE usage_rollups (
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

-- The distinct values of UNIQUE_COUNT meters per minute: counts of
-- minutes do not add up to the count of an hour, so queries count these.
CREATE TABLE usage_uniques (
    tenant_id TEXT    NOT NULL,
    meter     TEXT    NOT NULL,
    minute    INTEGER NOT NULL,
    subject   TEXT    NOT NULL,
    dims      TEXT    NOT NULL,
    value     TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, meter, minute, subject, dims, value)
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE usage_uniques;
DROP TABLE usage_rollups;
DROP TABLE usage_events;
