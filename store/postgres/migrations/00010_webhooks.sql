-- +goose Up
-- Webhooks (Standard Webhooks): endpoints, a cursor per tenant over its audit
-- stream, and the outbox of deliveries. Same conventions as 00001: keys that
-- lists page or sort by are COLLATE "C", lists of strings are text[].

CREATE TABLE webhook_endpoints (
    id                     text COLLATE "C" NOT NULL,
    tenant_id              text COLLATE "C" NOT NULL,
    url                    text        NOT NULL,
    description            text        NOT NULL DEFAULT '',
    event_types            text[]      NOT NULL DEFAULT '{}',
    status                 text        NOT NULL,
    disabled_reason        text        NOT NULL DEFAULT '',
    -- The signing secret, sealed with the master key (the AAD names
    -- secret_id); the previous one signs too until previous_expires_at.
    secret_id              text        NOT NULL,
    secret_sealed          bytea       NOT NULL,
    previous_secret_id     text,
    previous_secret_sealed bytea,
    previous_expires_at    timestamptz,
    -- When the current run of failed attempts began; NULL after a success.
    failing_since          timestamptz,
    created_by             text        NOT NULL,
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL,
    CONSTRAINT webhook_endpoints_pkey PRIMARY KEY (id),
    CONSTRAINT webhook_endpoints_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

CREATE INDEX webhook_endpoints_tenant_idx ON webhook_endpoints (tenant_id, id);

-- One row per tenant that has endpoints: the audit seq up to which its
-- stream has been turned into deliveries. Tenants without endpoints have
-- none and cost the dispatcher nothing.
CREATE TABLE webhook_cursors (
    tenant_id  text COLLATE "C" NOT NULL,
    seq        bigint      NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT webhook_cursors_pkey PRIMARY KEY (tenant_id),
    CONSTRAINT webhook_cursors_seq_check CHECK (seq >= 0)
);

-- The outbox. message_id is the webhook-id header: the same on every
-- attempt, so receivers de-duplicate on it; an event is enqueued once per
-- endpoint.
CREATE TABLE webhook_deliveries (
    id              text COLLATE "C" NOT NULL,
    tenant_id       text COLLATE "C" NOT NULL,
    endpoint_id     text COLLATE "C" NOT NULL,
    message_id      text        NOT NULL,
    event_type      text        NOT NULL,
    payload         text        NOT NULL,
    status          text        NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    last_attempt_at timestamptz,
    last_status     integer     NOT NULL DEFAULT 0,
    last_latency_ms integer     NOT NULL DEFAULT 0,
    last_response   text        NOT NULL DEFAULT '',
    last_error      text        NOT NULL DEFAULT '',
    CONSTRAINT webhook_deliveries_pkey PRIMARY KEY (id),
    CONSTRAINT webhook_deliveries_message_id_key UNIQUE (endpoint_id, message_id),
    CONSTRAINT webhook_deliveries_endpoint_fkey FOREIGN KEY (endpoint_id) REFERENCES webhook_endpoints (id) ON DELETE CASCADE
);

-- Workers claim due deliveries in next_attempt_at order; only pending rows
-- are indexed, so delivered history costs the claim nothing.
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
-- GET …/webhooks/{id}/deliveries pages by id, newest first.
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (tenant_id, endpoint_id, id);

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE webhook_cursors;
DROP TABLE webhook_endpoints;
