-- +goose Up
-- Tenants' Cedar schema extensions (docs/policy.md), versioned like their
-- policies: every change is a new row, versions counting from 1; the
-- current version is the greatest. The primary key is what refuses the
-- second of two concurrent writers of the same version. Same conventions
-- as 00004.
CREATE TABLE schema_extensions (
    tenant_id  text COLLATE "C" NOT NULL,
    version    bigint      NOT NULL,
    text       text        NOT NULL,
    created_by text        NOT NULL,
    created_at timestamptz NOT NULL,
    CONSTRAINT schema_extensions_pkey PRIMARY KEY (tenant_id, version),
    CONSTRAINT schema_extensions_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT schema_extensions_version_check CHECK (version > 0)
);

-- +goose Down
DROP TABLE schema_extensions;
