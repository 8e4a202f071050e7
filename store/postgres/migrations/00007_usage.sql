-- +goose Up
-- The usage engine (package usage). Same conventions as 00001: keys that
-- lists page or sort by are COLLATE "C", constraints are named. No foreign
-- key to tenants: the store checks that a batch's tenants exist before
-- inserting, and usage, like the audit trail, is kept for billing after a
-- tenant goes.

-- Raw events, append-only, kept for re-aggregation and audit. The unique
-- key is the de-duplication record: it is written in the transaction that
-- counts the event, so an event is counted exactly when its row exists.
-- data is the event's data as sent, kept as text because jsonb would
-- re-encode it.
CREATE TABLE usage_events (
    tenant_id   text COLLATE "C" NOT NULL,
    source      text COLLATE "C" NOT NULL,
    id          text COLLATE "C" NOT NULL,
    type        text        NOT NULL,
    subject     text        NOT NULL,
    occurred_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    data        text        NOT NULL,
    CONSTRAINT usage_events_id_key UNIQUE (tenant_id, source, id)
);

-- Per-minute roll-ups per tenant × meter × subject × dimensions. minute is
-- minutes since the Unix epoch, so that hour and day windows are integer
-- division in both databases. value is SUM's sum, COUNT's count, MAX's
-- maximum, LATEST's value; latest_at (unix microseconds) and latest_key
-- (source, unit separator, id) order LATEST's events. The key leads with what every
-- query fixes, then the time range it scans.
CREATE TABLE usage_rollups (
    tenant_id  text COLLATE "C" NOT NULL,
    meter      text COLLATE "C" NOT NULL,
    minute     bigint           NOT NULL,
    subject    text COLLATE "C" NOT NULL,
    dims       text COLLATE "C" NOT NULL,
    value      double precision NOT NULL,
    events     bigint           NOT NULL,
    latest_at  bigint           NOT NULL,
    latest_key text COLLATE "C" NOT NULL,
    CONSTRAINT usage_rollups_pkey PRIMARY KEY (tenant_id, meter, minute, subject, dims)
);

-- The distinct values of UNIQUE_COUNT meters per minute: counts of
-- minutes do not add up to the count of an hour, so queries count these.
CREATE TABLE usage_uniques (
    tenant_id text COLLATE "C" NOT NULL,
    meter     text COLLATE "C" NOT NULL,
    minute    bigint           NOT NULL,
    subject   text COLLATE "C" NOT NULL,
    dims      text COLLATE "C" NOT NULL,
    value     text COLLATE "C" NOT NULL,
    CONSTRAINT usage_uniques_pkey PRIMARY KEY (tenant_id, meter, minute, subject, dims, value)
);

-- +goose Down
DROP TABLE usage_uniques;
DROP TABLE usage_rollups;
DROP TABLE usage_events;
