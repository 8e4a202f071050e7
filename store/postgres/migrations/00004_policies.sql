-- +goose Up
-- The policy decision point's data: resources the tenant registers, and the
-- versions of the tenant's own policies. Same conventions as 00001: keys
-- that lists page or sort by are COLLATE "C", constraints are named.

-- parents is a JSON array of {"type", "id"} objects, attrs a JSON object.
-- jsonb keeps numbers as numeric, so integers of any size stay exact. Lists
-- page by (type, id), the primary key.
CREATE TABLE resources (
    tenant_id  text COLLATE "C" NOT NULL,
    type       text COLLATE "C" NOT NULL,
    id         text COLLATE "C" NOT NULL,
    parents    jsonb       NOT NULL DEFAULT '[]',
    attrs      jsonb       NOT NULL DEFAULT '{}',
    updated_at timestamptz NOT NULL,
    CONSTRAINT resources_pkey PRIMARY KEY (tenant_id, type, id),
    CONSTRAINT resources_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT resources_parents_check CHECK (jsonb_typeof(parents) = 'array'),
    CONSTRAINT resources_attrs_check CHECK (jsonb_typeof(attrs) = 'object')
);

-- Every change of a tenant's policies is a new row, versions counting from
-- 1; the current version is the greatest. The primary key is what refuses
-- the second of two concurrent writers of the same version.
CREATE TABLE policy_sets (
    tenant_id  text COLLATE "C" NOT NULL,
    version    bigint      NOT NULL,
    text       text        NOT NULL,
    created_by text        NOT NULL,
    created_at timestamptz NOT NULL,
    CONSTRAINT policy_sets_pkey PRIMARY KEY (tenant_id, version),
    CONSTRAINT policy_sets_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT policy_sets_version_check CHECK (version > 0)
);

-- +goose Down
DROP TABLE policy_sets;
DROP TABLE resources;
