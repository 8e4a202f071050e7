-- +goose Up
-- Audit forwarding to NATS and retention. Same conventions as 00006.

-- One row per audit stream being published to NATS: the seq up to which
-- the broker has acknowledged it. A replica leases a row (lease_owner,
-- lease_until) while it publishes the events after seq, so that two
-- replicas do not publish one stream at once; a lease that is never
-- released ends by itself.
CREATE TABLE audit_forward_cursors (
    tenant_id   text COLLATE "C" NOT NULL,
    seq         bigint      NOT NULL,
    lease_owner text        NOT NULL DEFAULT '',
    lease_until timestamptz NOT NULL DEFAULT 'epoch',
    updated_at  timestamptz NOT NULL,
    CONSTRAINT audit_forward_cursors_pkey PRIMARY KEY (tenant_id),
    CONSTRAINT audit_forward_cursors_seq_check CHECK (seq >= 0)
);

-- 'head' is a periodic digest of a stream's head; 'prune' anchors what is
-- left of a stream after its oldest events were deleted (retention). The
-- two are signed under different prefixes, so neither passes for the other.
ALTER TABLE audit_digests ADD COLUMN kind text NOT NULL DEFAULT 'head';

-- A tenant's own audit retention, overriding audit_retention_days.
CREATE TABLE audit_retention (
    tenant_id  text COLLATE "C" NOT NULL,
    days       integer     NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT audit_retention_pkey PRIMARY KEY (tenant_id),
    CONSTRAINT audit_retention_days_check CHECK (days > 0)
);

-- +goose Down
DROP TABLE audit_retention;
ALTER TABLE audit_digests DROP COLUMN kind;
DROP TABLE audit_forward_cursors;
