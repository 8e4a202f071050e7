-- +goose Up
-- Tenant-wide hour roll-ups (docs/usage.md, "Hour roll-ups"): the hour
-- rows of usage_hour_rollups and usage_hour_uniques folded over every
-- subject, per tenant × meter × dimensions × UTC hour, written in the
-- transaction that writes the others. A query that neither keeps one
-- subject nor groups by subject (the tenant's dashboards, the summary,
-- quotas, the export) reads these: a tenant-month of 20 actors is 20
-- times fewer rows than the per-subject hours. subject is always '' here,
-- so that the three resolutions share one row shape, one write path and
-- one read path.
CREATE TABLE usage_tenant_hour_rollups (
    tenant_id  TEXT    NOT NULL,
    meter      TEXT    NOT NULL,
    minute     INTEGER NOT NULL,
    subject    TEXT    NOT NULL CHECK (subject = ''),
    dims       TEXT    NOT NULL,
    value      REAL    NOT NULL,
    events     INTEGER NOT NULL,
    latest_at  INTEGER NOT NULL,
    latest_key TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, meter, minute, subject, dims)
) STRICT, WITHOUT ROWID;

CREATE TABLE usage_tenant_hour_uniques (
    tenant_id TEXT    NOT NULL,
    meter     TEXT    NOT NULL,
    minute    INTEGER NOT NULL,
    subject   TEXT    NOT NULL CHECK (subject = ''),
    dims      TEXT    NOT NULL,
    value     TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, meter, minute, subject, dims, value)
) STRICT, WITHOUT ROWID;

-- usage_tenant_hour_start holds the first minute the tenant-wide hour
-- tables hold whole; queries read the hours before it from
-- usage_hour_rollups (and before usage_hour_start, minutes). As in 00021,
-- existing rows are not folded here, since a row does not say which
-- aggregation its meter has: on a database with usage recorded, the
-- tables start at the later of usage_hour_start, the hour after the newest
-- roll-up row and the hour after next; on a new one, at usage_hour_start.
CREATE TABLE usage_tenant_hour_start (
    id     INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    minute INTEGER NOT NULL CHECK (minute % 60 = 0)
) STRICT;

INSERT INTO usage_tenant_hour_start (id, minute)
SELECT 1, CASE WHEN m IS NULL THEN s
               ELSE max(s, (m / 60 + 1) * 60, (CAST(strftime('%s', 'now') AS INTEGER) / 3600 + 2) * 60) END
FROM (SELECT max(m) AS m FROM (SELECT max(minute) AS m FROM usage_rollups UNION ALL SELECT max(minute) FROM usage_uniques)),
     (SELECT minute AS s FROM usage_hour_start);

-- +goose Down
DROP TABLE usage_tenant_hour_start;
DROP TABLE usage_tenant_hour_uniques;
DROP TABLE usage_tenant_hour_rollups;
