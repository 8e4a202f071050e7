-- +goose Up
-- Sessions end at an absolute time (session_absolute_lifetime after the
-- sign-in) however often they are refreshed. Sessions from before this
-- migration get the default lifetime, 30 days after their sign-in.
ALTER TABLE sessions ADD COLUMN ends_at timestamptz;
UPDATE sessions SET ends_at = created_at + interval '720 hours';
ALTER TABLE sessions ALTER COLUMN ends_at SET NOT NULL;

-- Tenant admins list and count the sessions in their tenant.
CREATE INDEX sessions_tenant_idx ON sessions (tenant_id, id);

-- +goose Down
DROP INDEX sessions_tenant_idx;
ALTER TABLE sessions DROP COLUMN ends_at;
