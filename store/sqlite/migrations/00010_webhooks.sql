-- +goose Up
-- Webhooks (Standard Webhooks): endpoints, a cursor per tenant over its audit
-- stream, and the outbox of deliveries. Same conventions as 00001: INTEGER
-- unix microseconds, JSON arrays in TEXT.

CREATE TABLE webhook_endpoints (
    id                     TEXT    NOT NULL PRIMARY KEY,
    tenant_id              TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    url                    TEXT    NOT NULL,
    description            TEXT    NOT NULL DEFAULT '',
    event_types            TEXT    NOT NULL DEFAULT '[]',
    status                 TEXT    NOT NULL,
    disabled_reason        TEXT    NOT NULL DEFAULT '',
    -- The signing secret, sealed with the master key (the AAD names
    -- secret_id); the previous one signs too until previous_expires_at.
    secret_id              TEXT    NOT NULL,
    secret_sealed          BLOB    NOT NULL,
    previous_secret_id     TEXT,
    previous_secret_sealed BLOB,
    previous_expires_at    INTEGER,
    -- When the current run of failed attempts began; NULL after a success.
    failing_since          INTEGER,
    created_by             TEXT    NOT NULL,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL
) STRICT;

CREATE INDEX webhook_endpoints_tenant_idx ON webhook_endpoints (tenant_id, id);

-- One row per tenant that has endpoints: the audit seq up to which its
-- stream has been turned into deliveries. Tenants without endpoints have
-- none and cost the dispatcher nothing.
CREATE TABLE webhook_cursors (
    tenant_id  TEXT    NOT NULL PRIMARY KEY,
    seq        INTEGER NOT NULL CHECK (seq >= 0),
    updated_at INTEGER NOT NULL
) STRICT;

-- The outbox. message_id is the webhook-id header: the same on every
-- attempt, so receivers de-duplicate on it; an event is enqueued once per
-- endpoint.
CREATE TABLE webhook_deliveries (
    id              TEXT    NOT NULL PRIMARY KEY,
    tenant_id       TEXT    NOT NULL,
    endpoint_id     TEXT    NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    message_id      TEXT    NOT NULL,
    event_type      TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    last_attempt_at INTEGER,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_latency_ms INTEGER NOT NULL DEFAULT 0,
    last_response   TEXT    NOT NULL DEFAULT '',
    last_error      TEXT    NOT NULL DEFAULT '',
    UNIQUE (endpoint_id, message_id)
) STRICT;

-- Workers claim due deliveries in next_attempt_at order; only pending rows
-- are indexed, so delivered history costs the claim nothing.
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
-- GET …/webhooks/{id}/deliveries pages by id, newest first.
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (tenant_id, endpoint_id, id);

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE webhook_cursors;
DROP TABLE webhook_endpoints;
