-- +goose Up
-- The tenant lifecycle: the email outbox, invitations, password-reset
-- tokens and sign-ups. Tokens are stored as their SHA-256 only.

CREATE TABLE mail_outbox (
    id              text COLLATE "C" NOT NULL,
    tenant_id       text COLLATE "C" NOT NULL DEFAULT '',
    recipient       text        NOT NULL,
    kind            text        NOT NULL,
    subject         text        NOT NULL,
    body_text       text        NOT NULL,
    body_html       text        NOT NULL,
    status          text        NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error      text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    sent_at         timestamptz,
    CONSTRAINT mail_outbox_pkey PRIMARY KEY (id)
);

-- Workers read the due pending messages in order.
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE status = 'pending';

CREATE TABLE invitations (
    id          text COLLATE "C" NOT NULL,
    tenant_id   text COLLATE "C" NOT NULL,
    email       text        NOT NULL,
    roles       text[]      NOT NULL DEFAULT '{}',
    token_hash  bytea       NOT NULL,
    invited_by  text        NOT NULL,
    status      text        NOT NULL,
    accepted_by text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    CONSTRAINT invitations_pkey PRIMARY KEY (id),
    CONSTRAINT invitations_token_hash_key UNIQUE (token_hash),
    CONSTRAINT invitations_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

-- One pending invitation per address and tenant.
CREATE UNIQUE INDEX invitations_email_key ON invitations (tenant_id, email) WHERE status = 'pending';

CREATE TABLE password_resets (
    token_hash bytea       NOT NULL,
    user_id    text COLLATE "C" NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    CONSTRAINT password_resets_pkey PRIMARY KEY (token_hash),
    CONSTRAINT password_resets_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX password_resets_user ON password_resets (user_id);

-- Sign-ups waiting for their address to be verified: the account is
-- created only then.
CREATE TABLE signups (
    token_hash    bytea       NOT NULL,
    email         text        NOT NULL,
    password_hash text        NOT NULL,
    display_name  text        NOT NULL,
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz,
    CONSTRAINT signups_pkey PRIMARY KEY (token_hash)
);

-- +goose Down
DROP TABLE signups;
DROP TABLE password_resets;
DROP TABLE invitations;
DROP TABLE mail_outbox;
