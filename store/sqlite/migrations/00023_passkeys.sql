-- +goose Up
-- Passkeys (docs/sessions.md#passkeys): WebAuthn credentials of users,
-- and the ceremonies begun and waiting for an authenticator's answer,
-- stored under the SHA-256 of their challenge so that any replica can
-- finish one, once.
CREATE TABLE passkeys (
    id              TEXT    NOT NULL PRIMARY KEY,
    user_id         TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id   BLOB    NOT NULL UNIQUE,
    public_key      BLOB    NOT NULL,
    -- The authenticator's counter at the last use; a use must move it
    -- forward unless the authenticator does not count (0).
    sign_count      INTEGER NOT NULL,
    aaguid          BLOB    NOT NULL,
    transports      TEXT    NOT NULL,
    user_verified   INTEGER NOT NULL,
    backup_eligible INTEGER NOT NULL,
    backup_state    INTEGER NOT NULL,
    attestation     TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    last_used_at    INTEGER
) STRICT;

CREATE INDEX passkeys_user ON passkeys (user_id, id);

CREATE TABLE passkey_ceremonies (
    challenge_hash BLOB    NOT NULL PRIMARY KEY,
    kind           TEXT    NOT NULL,
    user_id        TEXT    NOT NULL DEFAULT '',
    binding        TEXT    NOT NULL DEFAULT '',
    state          BLOB    NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL
) STRICT;

CREATE INDEX passkey_ceremonies_expires ON passkey_ceremonies (expires_at);

-- +goose Down
DROP TABLE passkey_ceremonies;
DROP TABLE passkeys;
