-- +goose Up
-- Machine credentials: agents, API keys, and services with their client
-- secrets. Same conventions as 00001: INTEGER unix microseconds, JSON arrays
-- in TEXT.

CREATE TABLE agents (
    id          TEXT    NOT NULL PRIMARY KEY,
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    owner_id    TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    status      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (tenant_id, name)
) STRICT;

-- ListAgents pages by id, within a tenant and optionally one owner.
CREATE INDEX agents_tenant_idx ON agents (tenant_id, id);
CREATE INDEX agents_owner_idx ON agents (tenant_id, owner_id, id);

CREATE TABLE api_keys (
    id                  TEXT    NOT NULL PRIMARY KEY,
    tenant_id           TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    actor_id            TEXT    NOT NULL,
    created_by          TEXT    NOT NULL,
    name                TEXT    NOT NULL,
    scopes              TEXT    NOT NULL DEFAULT '[]',
    hash                BLOB    NOT NULL,
    previous_hash       BLOB,
    previous_expires_at INTEGER,
    expires_at          INTEGER,
    created_at          INTEGER NOT NULL,
    rotated_at          INTEGER,
    last_used_at        INTEGER,
    revoked_at          INTEGER
) STRICT;

CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id, id);
-- Revoking an actor's keys (agent or service deleted, member removed).
CREATE INDEX api_keys_actor_idx ON api_keys (actor_id);
-- Replicas poll revocations in (revoked_at, id) order.
CREATE INDEX api_keys_revoked_idx ON api_keys (revoked_at, id);

CREATE TABLE services (
    id          TEXT    NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    description TEXT    NOT NULL DEFAULT '',
    scopes      TEXT    NOT NULL DEFAULT '[]',
    status      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

-- service_id is deliberately not a foreign key: a deleted service's secrets
-- stay, revoked, so that replicas learn of the revocation from the feed.
CREATE TABLE service_secrets (
    id         TEXT    NOT NULL PRIMARY KEY,
    service_id TEXT    NOT NULL,
    hash       BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER
) STRICT;

CREATE INDEX service_secrets_service_idx ON service_secrets (service_id);
CREATE INDEX service_secrets_revoked_idx ON service_secrets (revoked_at, id);

-- The block lists are reloaded whole by every replica and hold only the
-- exceptions; partial indexes keep that from scanning every user and tenant.
-- The queries repeat these literal predicates so the planner can use them.
CREATE INDEX users_disabled_idx ON users (id) WHERE status = 'disabled';
CREATE INDEX agents_disabled_idx ON agents (id) WHERE status = 'disabled';
CREATE INDEX tenants_inactive_idx ON tenants (id) WHERE status <> 'active';

-- +goose Down
DROP INDEX tenants_inactive_idx;
DROP INDEX users_disabled_idx;
DROP TABLE service_secrets;
DROP TABLE services;
DROP TABLE api_keys;
DROP TABLE agents;
