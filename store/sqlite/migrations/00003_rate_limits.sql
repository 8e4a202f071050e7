-- +goose Up
-- Rate-limit overrides: a policy spec per API key and a plan (limit name →
-- policy spec) per tenant. They replace the login back-off, whose counters
-- go. Same conventions as 00001: INTEGER unix microseconds, JSON in TEXT.

-- '' is no override of the key's own.
ALTER TABLE api_keys ADD COLUMN rate_limit TEXT NOT NULL DEFAULT '';

-- One row per tenant that has overrides, limits a JSON object of limit name
-- to policy spec; a tenant without overrides has no row.
CREATE TABLE tenant_rate_limits (
    tenant_id  TEXT    NOT NULL PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    limits     TEXT    NOT NULL DEFAULT '{}' CHECK (json_type(limits) = 'object'),
    updated_at INTEGER NOT NULL
) STRICT;

DROP TABLE login_failures;

-- +goose Down
CREATE TABLE login_failures (
    key         TEXT    NOT NULL PRIMARY KEY,
    failures    INTEGER NOT NULL,
    last_failed INTEGER NOT NULL
) STRICT;

CREATE INDEX login_failures_last_failed_idx ON login_failures (last_failed);

DROP TABLE tenant_rate_limits;
ALTER TABLE api_keys DROP COLUMN rate_limit;
