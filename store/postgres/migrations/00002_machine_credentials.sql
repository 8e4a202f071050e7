-- +goose Up
-- Machine credentials: agents, API keys, and services with their client
-- secrets. Same conventions as 00001: keys that lists page or sort by are
-- COLLATE "C", lists of strings are text[].

CREATE TABLE agents (
    id          text COLLATE "C" NOT NULL,
    tenant_id   text COLLATE "C" NOT NULL,
    owner_id    text COLLATE "C" NOT NULL,
    name        text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    status      text        NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    CONSTRAINT agents_pkey PRIMARY KEY (id),
    CONSTRAINT agents_name_key UNIQUE (tenant_id, name),
    CONSTRAINT agents_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

-- ListAgents pages by id, within a tenant and optionally one owner.
CREATE INDEX agents_tenant_idx ON agents (tenant_id, id);
CREATE INDEX agents_owner_idx ON agents (tenant_id, owner_id, id);

CREATE TABLE api_keys (
    id                  text COLLATE "C" NOT NULL,
    tenant_id           text COLLATE "C" NOT NULL,
    actor_id            text COLLATE "C" NOT NULL,
    created_by          text        NOT NULL,
    name                text        NOT NULL,
    scopes              text[]      NOT NULL DEFAULT '{}',
    hash                bytea       NOT NULL,
    previous_hash       bytea,
    previous_expires_at timestamptz,
    expires_at          timestamptz,
    created_at          timestamptz NOT NULL,
    rotated_at          timestamptz,
    last_used_at        timestamptz,
    revoked_at          timestamptz,
    CONSTRAINT api_keys_pkey PRIMARY KEY (id),
    CONSTRAINT api_keys_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id, id);
-- Revoking an actor's keys (agent or service deleted, member removed).
CREATE INDEX api_keys_actor_idx ON api_keys (actor_id);
-- Replicas poll revocations in (revoked_at, id) order.
CREATE INDEX api_keys_revoked_idx ON api_keys (revoked_at, id);

CREATE TABLE services (
    id          text COLLATE "C" NOT NULL,
    name        text COLLATE "C" NOT NULL,
    description text        NOT NULL DEFAULT '',
    scopes      text[]      NOT NULL DEFAULT '{}',
    status      text        NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    CONSTRAINT services_pkey PRIMARY KEY (id),
    CONSTRAINT services_name_key UNIQUE (name)
);

-- service_id is deliberately not a foreign key: a deleted service's secrets
-- stay, revoked, so that replicas learn of the revocation from the feed.
CREATE TABLE service_secrets (
    id         text COLLATE "C" NOT NULL,
    service_id text COLLATE "C" NOT NULL,
    hash       bytea       NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz,
    revoked_at timestamptz,
    CONSTRAINT service_secrets_pkey PRIMARY KEY (id)
);

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
