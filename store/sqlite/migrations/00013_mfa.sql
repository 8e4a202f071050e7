-- +goose Up
-- Multi-factor authentication (docs/sessions.md): a tenant's MFA rule,
-- how each session was signed in (RFC 8176 amr values, space-separated),
-- TOTP factors with their secret sealed by the master key, hashed
-- recovery codes, and the challenges between a password and its second
-- factor, stored as their SHA-256 only.
ALTER TABLE tenants ADD COLUMN mfa TEXT NOT NULL DEFAULT 'optional';
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT '';

CREATE TABLE mfa_totp (
    user_id      TEXT    NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    seal_id      TEXT    NOT NULL,
    secret       BLOB    NOT NULL,
    status       TEXT    NOT NULL,
    -- The last time step a code was accepted for: a code is accepted only
    -- for a later step, so none is used twice.
    last_step    INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    confirmed_at INTEGER
) STRICT;

CREATE TABLE mfa_recovery_codes (
    user_id   TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash BLOB    NOT NULL,
    used_at   INTEGER,
    PRIMARY KEY (user_id, code_hash)
) STRICT;

CREATE TABLE mfa_challenges (
    token_hash BLOB    NOT NULL PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tenant_id  TEXT    NOT NULL DEFAULT '',
    amr        TEXT    NOT NULL,
    enrol      INTEGER NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;

CREATE INDEX mfa_challenges_expires ON mfa_challenges (expires_at);

-- +goose Down
DROP TABLE mfa_challenges;
DROP TABLE mfa_recovery_codes;
DROP TABLE mfa_totp;
ALTER TABLE sessions DROP COLUMN amr;
ALTER TABLE tenants DROP COLUMN mfa;
