-- +goose Up
-- Keys that lists page or sort by use COLLATE "C" so that order is bytewise,
-- whatever the database's locale, and identical to the SQLite backend's.
-- Tables are unqualified: they land in the first schema on search_path.

CREATE TABLE tenants (
    id         text COLLATE "C" NOT NULL,
    slug       text        NOT NULL,
    name       text        NOT NULL,
    status     text        NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT tenants_pkey PRIMARY KEY (id),
    CONSTRAINT tenants_slug_key UNIQUE (slug)
);

CREATE TABLE users (
    id             text COLLATE "C" NOT NULL,
    email          text        NOT NULL,
    display_name   text        NOT NULL,
    status         text        NOT NULL,
    password_hash  text        NOT NULL,
    platform_admin boolean     NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_email_key UNIQUE (email)
);

CREATE TABLE memberships (
    tenant_id  text COLLATE "C" NOT NULL,
    actor_id   text COLLATE "C" NOT NULL,
    roles      text[]      NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT memberships_pkey PRIMARY KEY (tenant_id, actor_id),
    CONSTRAINT memberships_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

-- "Tenants I belong to" looks memberships up by actor.
CREATE INDEX memberships_actor_idx ON memberships (actor_id, tenant_id);

CREATE TABLE roles (
    tenant_id   text COLLATE "C" NOT NULL,
    name        text COLLATE "C" NOT NULL,
    description text        NOT NULL,
    permissions text[]      NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    CONSTRAINT roles_pkey PRIMARY KEY (tenant_id, name),
    CONSTRAINT roles_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE TABLE sessions (
    id            text COLLATE "C" NOT NULL,
    actor_id      text        NOT NULL,
    tenant_id     text        NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    refreshed_at  timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    revoke_reason text        NOT NULL DEFAULT '',
    user_agent    text        NOT NULL DEFAULT '',
    ip            text        NOT NULL DEFAULT '',
    CONSTRAINT sessions_pkey PRIMARY KEY (id)
);

CREATE INDEX sessions_actor_idx ON sessions (actor_id);
-- Replicas poll revocations in (revoked_at, id) order.
CREATE INDEX sessions_revoked_idx ON sessions (revoked_at, id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

CREATE TABLE refresh_tokens (
    hash       bytea       NOT NULL,
    session_id text COLLATE "C" NOT NULL,
    created_at timestamptz NOT NULL,
    used_at    timestamptz,
    CONSTRAINT refresh_tokens_pkey PRIMARY KEY (hash),
    CONSTRAINT refresh_tokens_session_fkey FOREIGN KEY (session_id) REFERENCES sessions (id) ON DELETE CASCADE
);

-- Without it every cascaded session delete scans all tokens.
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

CREATE TABLE signing_keys (
    id                 text COLLATE "C" NOT NULL,
    algorithm          text        NOT NULL,
    public_key         bytea       NOT NULL,
    sealed_private_key bytea       NOT NULL,
    created_at         timestamptz NOT NULL,
    CONSTRAINT signing_keys_pkey PRIMARY KEY (id)
);

CREATE TABLE login_failures (
    key         text        NOT NULL,
    failures    integer     NOT NULL,
    last_failed timestamptz NOT NULL,
    CONSTRAINT login_failures_pkey PRIMARY KEY (key)
);

CREATE INDEX login_failures_last_failed_idx ON login_failures (last_failed);

-- +goose Down
DROP TABLE login_failures;
DROP TABLE signing_keys;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE roles;
DROP TABLE memberships;
DROP TABLE users;
DROP TABLE tenants;
