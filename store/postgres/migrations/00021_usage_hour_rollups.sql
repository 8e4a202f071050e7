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
    tenant_id  text COLLATE "C" NOT NULL,
    meter      text COLLATE "C" NOT NULL,
    minute     bigint           NOT NULL,
    subject    text COLLATE "C" NOT NULL,
    dims       text COLLATE "C" NOT NULL,
    value      double precision NOT NULL,
    events     bigint           NOT NULL,
    latest_at  bigint           NOT NULL,
    latest_key text COLLATE "C" NOT NULL,
    CONSTRAINT usage_hour_rollups_pkey PRIMARY KEY (tenant_id, meter, minute, subject, dims)
);

-- The distinct values of UNIQUE_COUNT meters per hour: a set per hour, as
-- per minute, since counts do not add up.
CREATE TABLE usage_hour_uniques (
    tenant_id text COLLATE "C" NOT NULL,
    meter     text COLLATE "C" NOT NULL,
    minute    bigint           NOT NULL,
    subject   text COLLATE "C" NOT NULL,
    dims      text COLLATE "C" NOT NULL,
    value     text COLLATE "C" NOT NULL,
    CONSTRAINT usage_hour_uniques_pkey PRIMARY KEY (tenant_id, meter, minute, subject, dims, value)
);

-- +goose Down
DROP TABLE usage_hour_uniques;
DROP TABLE usage_hour_rollups;
