-- +goose Up
-- Hour roll-ups (docs/usage.md, "Hour roll-ups"): the same rows as
-- usage_rollups and usage_uniques per tenant × meter × subject × dimensions
-- × UTC hour, written in the transaction that writes the minute rows, so
-- that a query reads 60 times fewer rows for the whole hours of its range.
-- minute is the hour's first minute since the epoch (a multiple of 60),
-- so that queries bucket both tables by the same expressions.
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
    -- INCLUDE (value): a month's query reads value beside the key, so it
    -- is answered from the index alone (an index-only scan of a vacuumed
    -- month: 57,600 rows per meter) instead of visiting each row's page.
    CONSTRAINT usage_hour_rollups_pkey PRIMARY KEY (tenant_id, meter, minute, subject, dims) INCLUDE (value)
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

-- usage_hour_start holds the first minute the hour tables hold whole, and
-- queries read minutes before it from usage_rollups. Existing minute rows
-- are not folded into hours here, since a minute row does not say which
-- aggregation its meter has: on a database with usage recorded, the hour
-- tables start at the later of the hour after the newest roll-up row and
-- the hour after next (replicas of the previous release may still be
-- recording this hour until they stop); on a new one, at 0.
CREATE TABLE usage_hour_start (
    id     integer NOT NULL,
    minute bigint  NOT NULL,
    CONSTRAINT usage_hour_start_pkey PRIMARY KEY (id),
    CONSTRAINT usage_hour_start_one CHECK (id = 1),
    CONSTRAINT usage_hour_start_hour CHECK (minute % 60 = 0)
);

INSERT INTO usage_hour_start (id, minute)
SELECT 1, CASE WHEN m IS NULL THEN 0
               ELSE greatest((m / 60 + 1) * 60, (extract(epoch FROM now())::bigint / 3600 + 2) * 60) END
FROM (SELECT max(m) AS m FROM (SELECT max(minute) AS m FROM usage_rollups UNION ALL SELECT max(minute) FROM usage_uniques) latest) newest;

-- +goose Down
DROP TABLE usage_hour_start;
DROP TABLE usage_hour_uniques;
DROP TABLE usage_hour_rollups;
