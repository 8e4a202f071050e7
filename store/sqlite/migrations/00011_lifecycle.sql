-- +goose Up
-- The tenant lifecycle: the email outbox, invitations, password-reset
-- tokens and sign-ups. Tokens are stored as their SHA-256 only.

CREATE TABLE mail_outbox (
    id              TEXT    NOT NULL PRIMARY KEY,
    tenant_id       TEXT    NOT NULL DEFAULT '',
    recipient       TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    body_text       TEXT    NOT NULL,
    body_html       TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
) STRICT;

-- Workers read the due pending messages in order.
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE status = 'pending';

CREATE TABLE invitations (
    id          TEXT    NOT NULL PRIMARY KEY,
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    email       TEXT    NOT NULL,
    roles       TEXT    NOT NULL DEFAULT '[]',
    token_hash  BLOB    NOT NULL UNIQUE,
    invited_by  TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    accepted_by TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;

-- One pending invitation per address and tenant.
CREATE UNIQUE INDEX invitations_email_key ON invitations (tenant_id, email) WHERE status = 'pending';

CREATE TABLE password_resets (
    token_hash BLOB    NOT NULL PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;

CREATE INDEX password_resets_user ON password_resets (user_id);

-- Sign-ups waiting for their address to be verified: the account is
-- created only then.
CREATE TABLE signups (
    token_hash    BLOB    NOT NULL PRIMARY KEY,
    email         TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    display_name  TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    used_at       INTEGER
) STRICT;

-- +goose Down
DROP TABLE signups;
DROP TABLE password_resets;
DROP TABLE invitations;
DROP TABLE mail_outbox;
