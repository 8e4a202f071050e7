-- +goose Up
-- Tenants' Cedar schema extensions (docs/policy.md), versioned like their
-- policies: every change is a new row, versions counting from 1; the
-- current version is the greatest. Same conventions as 00004.
CREATE TABLE schema_extensions (
    tenant_id  TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    version    INTEGER NOT NULL CHECK (version > 0),
    text       TEXT    NOT NULL,
    created_by TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, version)
) STRICT;

-- +goose Down
DROP TABLE schema_extensions;
