-- +goose Up
-- Multi-factor authentication (docs/sessions.md): a tenant's MFA rule,
-- how each session was signed in (RFC 8176 amr values, space-separated),
-- TOTP factors with their secret sealed by the master key, hashed
-- recovery codes, and the challenges between a password and its second
-- factor, stored as their SHA-256 only. Same conventions as 00003: keys
-- COLLATE "C", constraints named.
ALTER TABLE tenants ADD COLUMN mfa text NOT NULL DEFAULT 'optional';
ALTER TABLE sessions ADD COLUMN amr text NOT NULL DEFAULT '';

CREATE TABLE mfa_totp (
    user_id      text COLLATE "C" NOT NULL,
    seal_id      text        NOT NULL,
    secret       bytea       NOT NULL,
    status       text        NOT NULL,
    -- The last time step a code was accepted for: a code is accepted only
    -- for a later step, so none is used twice.
    last_step    bigint      NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL,
    confirmed_at timestamptz,
    CONSTRAINT mfa_totp_pkey PRIMARY KEY (user_id),
    CONSTRAINT mfa_totp_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE TABLE mfa_recovery_codes (
    user_id   text COLLATE "C" NOT NULL,
    code_hash bytea       NOT NULL,
    used_at   timestamptz,
    CONSTRAINT mfa_recovery_codes_pkey PRIMARY KEY (user_id, code_hash),
    CONSTRAINT mfa_recovery_codes_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE TABLE mfa_challenges (
    token_hash bytea       NOT NULL,
    user_id    text COLLATE "C" NOT NULL,
    tenant_id  text COLLATE "C" NOT NULL DEFAULT '',
    amr        text        NOT NULL,
    enrol      boolean     NOT NULL,
    attempts   integer     NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    CONSTRAINT mfa_challenges_pkey PRIMARY KEY (token_hash),
    CONSTRAINT mfa_challenges_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX mfa_challenges_expires ON mfa_challenges (expires_at);

-- +goose Down
DROP TABLE mfa_challenges;
DROP TABLE mfa_recovery_codes;
DROP TABLE mfa_totp;
ALTER TABLE sessions DROP COLUMN amr;
ALTER TABLE tenants DROP COLUMN mfa;
