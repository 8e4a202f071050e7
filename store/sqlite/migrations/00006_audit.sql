-- +goose Up
-- The security audit log (package audit). Same conventions as 00001:
-- INTEGER unix microseconds, JSON in TEXT. Streams are keyed by tenant id,
-- '' for the platform stream, with no foreign key: the trail of a deleted
-- tenant outlives it.

-- One row per event, append-only. The primary key is the stream's order and
-- the backstop against a fork: two writers can never store the same seq.
-- detail is the canonical JSON object the hash covers. WITHOUT ROWID: every
-- read is a range of the primary key, and the table holds nothing else.
CREATE TABLE audit_events (
    tenant_id       TEXT    NOT NULL,
    seq             INTEGER NOT NULL CHECK (seq > 0),
    id              TEXT    NOT NULL,
    occurred_at     INTEGER NOT NULL,
    actor_id        TEXT    NOT NULL,
    on_behalf_of    TEXT    NOT NULL,
    credential_kind TEXT    NOT NULL,
    credential_id   TEXT    NOT NULL,
    action          TEXT    NOT NULL,
    target_type     TEXT    NOT NULL,
    target_id       TEXT    NOT NULL,
    outcome         TEXT    NOT NULL,
    reason          TEXT    NOT NULL,
    client_ip       TEXT    NOT NULL,
    user_agent      TEXT    NOT NULL,
    request_id      TEXT    NOT NULL,
    trace_id        TEXT    NOT NULL,
    detail          TEXT    NOT NULL,
    prev_hash       BLOB    NOT NULL,
    hash            BLOB    NOT NULL,
    PRIMARY KEY (tenant_id, seq)
) STRICT, WITHOUT ROWID;

-- The end of each stream's chain. Appenders lock this row (on SQLite the
-- write transaction already excludes every other writer) and advance it in
-- the transaction that inserts the events.
CREATE TABLE audit_heads (
    tenant_id TEXT    NOT NULL PRIMARY KEY,
    seq       INTEGER NOT NULL CHECK (seq >= 0),
    hash      BLOB    NOT NULL
) STRICT, WITHOUT ROWID;

-- Signed statements of a stream's head; one per stream and seq, so that two
-- replicas signing the same head store it once.
CREATE TABLE audit_digests (
    tenant_id   TEXT    NOT NULL,
    through_seq INTEGER NOT NULL CHECK (through_seq > 0),
    head_hash   BLOB    NOT NULL,
    signed_at   INTEGER NOT NULL,
    key_id      TEXT    NOT NULL,
    signature   BLOB    NOT NULL,
    PRIMARY KEY (tenant_id, through_seq)
) STRICT, WITHOUT ROWID;

-- The digest keys: signing_keys' shape, for a keyring of their own. They are
-- never pruned, since every digest they signed stays to be verified.
CREATE TABLE audit_signing_keys (
    id                 TEXT    NOT NULL PRIMARY KEY,
    algorithm          TEXT    NOT NULL,
    public_key         BLOB    NOT NULL,
    sealed_private_key BLOB    NOT NULL,
    created_at         INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE audit_signing_keys;
DROP TABLE audit_digests;
DROP TABLE audit_heads;
DROP TABLE audit_events;
