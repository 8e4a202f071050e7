-- +goose Up
-- The security audit log (package audit). Same conventions as 00001: keys
-- that lists page or sort by are COLLATE "C", constraints are named.
-- Streams are keyed by tenant id, '' for the platform stream, with no
-- foreign key: the trail of a deleted tenant outlives it.

-- One row per event, append-only. The primary key is the stream's order and
-- the backstop against a fork: two writers can never store the same seq.
-- detail is the canonical JSON object the hash covers, kept as text because
-- jsonb would re-encode it.
CREATE TABLE audit_events (
    tenant_id       text COLLATE "C" NOT NULL,
    seq             bigint      NOT NULL,
    id              text        NOT NULL,
    occurred_at     timestamptz NOT NULL,
    actor_id        text        NOT NULL,
    on_behalf_of    text        NOT NULL,
    credential_kind text        NOT NULL,
    credential_id   text        NOT NULL,
    action          text        NOT NULL,
    target_type     text        NOT NULL,
    target_id       text        NOT NULL,
    outcome         text        NOT NULL,
    reason          text        NOT NULL,
    client_ip       text        NOT NULL,
    user_agent      text        NOT NULL,
    request_id      text        NOT NULL,
    trace_id        text        NOT NULL,
    detail          text        NOT NULL,
    prev_hash       bytea       NOT NULL,
    hash            bytea       NOT NULL,
    CONSTRAINT audit_events_pkey PRIMARY KEY (tenant_id, seq),
    CONSTRAINT audit_events_seq_check CHECK (seq > 0)
);

-- The end of each stream's chain. Appenders lock this row and advance it in
-- the transaction that inserts the events, which serialises the appenders
-- of one stream across replicas.
CREATE TABLE audit_heads (
    tenant_id text COLLATE "C" NOT NULL,
    seq       bigint NOT NULL,
    hash      bytea  NOT NULL,
    CONSTRAINT audit_heads_pkey PRIMARY KEY (tenant_id),
    CONSTRAINT audit_heads_seq_check CHECK (seq >= 0)
);

-- Signed statements of a stream's head; one per stream and seq, so that two
-- replicas signing the same head store it once.
CREATE TABLE audit_digests (
    tenant_id   text COLLATE "C" NOT NULL,
    through_seq bigint      NOT NULL,
    head_hash   bytea       NOT NULL,
    signed_at   timestamptz NOT NULL,
    key_id      text        NOT NULL,
    signature   bytea       NOT NULL,
    CONSTRAINT audit_digests_pkey PRIMARY KEY (tenant_id, through_seq),
    CONSTRAINT audit_digests_through_seq_check CHECK (through_seq > 0)
);

-- The digest keys: signing_keys' shape, for a keyring of their own. They are
-- never pruned, since every digest they signed stays to be verified.
CREATE TABLE audit_signing_keys (
    id                 text COLLATE "C" NOT NULL,
    algorithm          text        NOT NULL,
    public_key         bytea       NOT NULL,
    sealed_private_key bytea       NOT NULL,
    created_at         timestamptz NOT NULL,
    CONSTRAINT audit_signing_keys_pkey PRIMARY KEY (id)
);

-- +goose Down
DROP TABLE audit_signing_keys;
DROP TABLE audit_digests;
DROP TABLE audit_heads;
DROP TABLE audit_events;
