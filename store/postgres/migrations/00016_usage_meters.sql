-- +goose Up
-- Corrections (usage.void, usage.amend) and re-aggregation from the raw
-- log. Nothing is deleted from usage_events: a corrected event is marked.
-- voided_by is the key (source, unit separator, id) of the void or
-- amendment that voided the row; root_source and root_id, on an
-- amendment, name the event whose type, subject and time its replacement
-- data counts with (the first event of a chain of amendments).
ALTER TABLE usage_events ADD COLUMN voided_by text;
ALTER TABLE usage_events ADD COLUMN root_source text COLLATE "C";
ALTER TABLE usage_events ADD COLUMN root_id text COLLATE "C";

-- Measuring a minute again, or back-filling a meter, reads a tenant's raw
-- events by time.
CREATE INDEX usage_events_time ON usage_events (tenant_id, occurred_at);
-- An amendment's replacement is found from the event it amends.
CREATE INDEX usage_events_root ON usage_events (tenant_id, root_source, root_id) WHERE root_id IS NOT NULL;

-- Tenant-defined meters (GET|PUT /v1/tenants/{id}/meters): one row per
-- tenant that has any, meters a JSON array of definitions, replaced whole;
-- version counts the replacements, for a PUT that names the version it
-- read.
CREATE TABLE usage_meters (
    tenant_id  text COLLATE "C" NOT NULL,
    meters     text        NOT NULL,
    version    bigint      NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT usage_meters_pkey PRIMARY KEY (tenant_id),
    CONSTRAINT usage_meters_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

-- +goose Down
DROP TABLE usage_meters;
DROP INDEX usage_events_root;
DROP INDEX usage_events_time;
ALTER TABLE usage_events DROP COLUMN root_id;
ALTER TABLE usage_events DROP COLUMN root_source;
ALTER TABLE usage_events DROP COLUMN voided_by;
