-- +goose Up
-- A service's reach: the tenants and resource types its scopes apply to
-- (issue 12). Services registered before keep acting everywhere, as they
-- did; a platform admin narrows them with PATCH /v1/services/{id}.
ALTER TABLE services ADD COLUMN tenants text[] NOT NULL DEFAULT '{*}';
ALTER TABLE services ADD COLUMN resource_types text[] NOT NULL DEFAULT '{*}';

-- +goose Down
ALTER TABLE services DROP COLUMN resource_types;
ALTER TABLE services DROP COLUMN tenants;
