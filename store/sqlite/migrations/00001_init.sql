-- +goose Up
-- Times are INTEGER unix microseconds (UTC): they sort and compare as numbers,
-- match PostgreSQL's precision, and unlike nanoseconds cover time.Time{}.
-- Lists of strings are JSON arrays in TEXT.

CREATE TABLE tenants (
    id         TEXT    NOT NULL PRIMARY KEY,
    slug       TEXT    NOT NULL UNIQUE,
    name       TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE users (
    id             TEXT    NOT NULL PRIMARY KEY,
    email          TEXT    NOT NULL UNIQUE,
    display_name   TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    password_hash  TEXT    NOT NULL,
    platform_admin INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
) STRICT;

CREATE TABLE memberships (
    tenant_id  TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    actor_id   TEXT    NOT NULL,
    roles      TEXT    NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, actor_id)
) STRICT;

-- "Tenants I belong to" looks memberships up by actor.
CREATE INDEX memberships_actor_idx ON memberships (actor_id, tenant_id);

CREATE TABLE roles (
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL,
    permissions TEXT    NOT NULL DEFAULT '[]',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, name)
) STRICT;

CREATE TABLE sessions (
    id            TEXT    NOT NULL PRIMARY KEY,
    actor_id      TEXT    NOT NULL,
    tenant_id     TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    refreshed_at  INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    revoked_at    INTEGER,
    revoke_reason TEXT    NOT NULL DEFAULT '',
    user_agent    TEXT    NOT NULL DEFAULT '',
    ip            TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX sessions_actor_idx ON sessions (actor_id);
-- Replicas poll revocations in (revoked_at, id) order.
CREATE INDEX sessions_revoked_idx ON sessions (revoked_at, id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

CREATE TABLE refresh_tokens (
    hash       BLOB    NOT NULL PRIMARY KEY,
    session_id TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;

-- Without it every cascaded session delete scans all tokens.
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

CREATE TABLE signing_keys (
    id                 TEXT    NOT NULL PRIMARY KEY,
    algorithm          TEXT    NOT NULL,
    public_key         BLOB    NOT NULL,
    sealed_private_key BLOB    NOT NULL,
    created_at         INTEGER NOT NULL
) STRICT;

CREATE TABLE login_failures (
    key         TEXT    NOT NULL PRIMARY KEY,
    failures    INTEGER NOT NULL,
    last_failed INTEGER NOT NULL
) STRICT;

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
