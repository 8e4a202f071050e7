-- +goose Up
-- Rate-limit overrides: a policy spec per API key and a plan (limit name →
-- policy spec) per tenant. They replace the login back-off, whose counters
-- go. Same conventions as 00001: keys that lists page or sort by are
-- COLLATE "C", constraints are named.

-- '' is no override of the key's own. A constant default makes this a
-- catalogue-only change: existing rows are not rewritten.
ALTER TABLE api_keys ADD COLUMN rate_limit text NOT NULL DEFAULT '';

-- One row per tenant that has overrides, limits a JSON object of limit name
-- to policy spec; a tenant without overrides has no row.
CREATE TABLE tenant_rate_limits (
    tenant_id  text COLLATE "C" NOT NULL,
    limits     jsonb       NOT NULL DEFAULT '{}',
    updated_at timestamptz NOT NULL,
    CONSTRAINT tenant_rate_limits_pkey PRIMARY KEY (tenant_id),
    CONSTRAINT tenant_rate_limits_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT tenant_rate_limits_limits_check CHECK (jsonb_typeof(limits) = 'object')
);

DROP TABLE login_failures;

-- +goose Down
CREATE TABLE login_failures (
    key         text        NOT NULL,
    failures    integer     NOT NULL,
    last_failed timestamptz NOT NULL,
    CONSTRAINT login_failures_pkey PRIMARY KEY (key)
);

CREATE INDEX login_failures_last_failed_idx ON login_failures (last_failed);

DROP TABLE tenant_rate_limits;
ALTER TABLE api_keys DROP COLUMN rate_limit;
