-- +goose Up
-- Sessions end at an absolute time (session_absolute_lifetime after the
-- sign-in) however often they are refreshed: ends_at, INTEGER unix
-- microseconds like every time here. Sessions from before this migration
-- get the default lifetime, 30 days after their sign-in.
ALTER TABLE sessions ADD COLUMN ends_at INTEGER NOT NULL DEFAULT 0;
UPDATE sessions SET ends_at = created_at + 2592000000000;

-- Tenant admins list and count the sessions in their tenant.
CREATE INDEX sessions_tenant_idx ON sessions (tenant_id, id);

-- +goose Down
DROP INDEX sessions_tenant_idx;
ALTER TABLE sessions DROP COLUMN ends_at;
