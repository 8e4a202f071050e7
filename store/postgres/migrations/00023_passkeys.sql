-- +goose Up
-- Passkeys (docs/sessions.md#passkeys): WebAuthn credentials of users,
-- and the ceremonies begun and waiting for an authenticator's answer,
-- stored under the SHA-256 of their challenge so that any replica can
-- finish one, once. Same conventions as 00003: keys COLLATE "C",
-- constraints named.
CREATE TABLE passkeys (
    id              text COLLATE "C" NOT NULL,
    user_id         text COLLATE "C" NOT NULL,
    credential_id   bytea       NOT NULL,
    public_key      bytea       NOT NULL,
    -- The authenticator's counter at the last use; a use must move it
    -- forward unless the authenticator does not count (0).
    sign_count      bigint      NOT NULL,
    aaguid          bytea       NOT NULL,
    transports      text        NOT NULL,
    user_verified   boolean     NOT NULL,
    backup_eligible boolean     NOT NULL,
    backup_state    boolean     NOT NULL,
    attestation     text        NOT NULL,
    name            text        NOT NULL,
    created_at      timestamptz NOT NULL,
    last_used_at    timestamptz,
    CONSTRAINT passkeys_pkey PRIMARY KEY (id),
    CONSTRAINT passkeys_credential_id_key UNIQUE (credential_id),
    CONSTRAINT passkeys_user_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX passkeys_user ON passkeys (user_id, id);

CREATE TABLE passkey_ceremonies (
    challenge_hash bytea       NOT NULL,
    kind           text        NOT NULL,
    user_id        text COLLATE "C" NOT NULL DEFAULT '',
    binding        text COLLATE "C" NOT NULL DEFAULT '',
    state          bytea       NOT NULL,
    created_at     timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    CONSTRAINT passkey_ceremonies_pkey PRIMARY KEY (challenge_hash)
);

CREATE INDEX passkey_ceremonies_expires ON passkey_ceremonies (expires_at);

-- +goose Down
DROP TABLE passkey_ceremonies;
DROP TABLE passkeys;
