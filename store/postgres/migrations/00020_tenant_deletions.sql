-- +goose Up
-- Tenant deletion (issue 15): one row per tenant a platform admin asked to
-- delete. The tenant's row stays, as a tombstone with status 'deleted', so
-- that its audit stream keeps a name and its credentials stay blocked.

CREATE TABLE tenant_deletions (
    tenant_id    text COLLATE "C" NOT NULL,
    -- The deletion's own id, answered to the admin who asked; a new
    -- request after a cancellation gets a new one.
    id           text        NOT NULL,
    status       text        NOT NULL,
    requested_by text        NOT NULL,
    requested_at timestamptz NOT NULL,
    -- The end of the grace period: erasure starts no earlier.
    delete_after timestamptz NOT NULL,
    cancelled_by text        NOT NULL DEFAULT '',
    -- The eraser's lease and fence: a worker holds the row until
    -- lease_until, and its batches match attempts, so a worker that outlived
    -- its lease stops at its next batch.
    attempts     integer     NOT NULL DEFAULT 0,
    lease_until  timestamptz,
    -- Where erasure is (the index of its step) and how many rows it erased.
    step         integer     NOT NULL DEFAULT 0,
    erased       bigint      NOT NULL DEFAULT 0,
    finished_at  timestamptz,
    updated_at   timestamptz NOT NULL,
    CONSTRAINT tenant_deletions_pkey PRIMARY KEY (tenant_id),
    CONSTRAINT tenant_deletions_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

-- Workers look for due deletions; finished ones are not indexed.
CREATE INDEX tenant_deletions_due_idx ON tenant_deletions (delete_after) WHERE status IN ('pending', 'running');

-- Erasure deletes a tenant's outbox messages and invitations, and an erased
-- person's messages, by these keys rather than by scanning the tables.
CREATE INDEX mail_outbox_tenant_idx ON mail_outbox (tenant_id) WHERE tenant_id <> '';
CREATE INDEX mail_outbox_recipient_idx ON mail_outbox (recipient);
CREATE INDEX invitations_tenant_idx ON invitations (tenant_id, id);

-- +goose Down
DROP INDEX invitations_tenant_idx;
DROP INDEX mail_outbox_recipient_idx;
DROP INDEX mail_outbox_tenant_idx;
DROP TABLE tenant_deletions;
