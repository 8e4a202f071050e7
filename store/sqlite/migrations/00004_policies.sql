-- +goose Up
-- The policy decision point's data: resources the tenant registers, and the
-- versions of the tenant's own policies. Same conventions as 00001: INTEGER
-- unix microseconds, JSON in TEXT.

-- parents is a JSON array of {"type", "id"} objects, attrs a JSON object;
-- both are stored as the store wrote them. Lists page by (type, id), the
-- primary key, in BINARY (bytewise) order.
CREATE TABLE resources (
    tenant_id  TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    type       TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    parents    TEXT    NOT NULL DEFAULT '[]' CHECK (json_type(parents) = 'array'),
    attrs      TEXT    NOT NULL DEFAULT '{}' CHECK (json_type(attrs) = 'object'),
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, type, id)
) STRICT;

-- Every change of a tenant's policies is a new row, versions counting from
-- 1; the current version is the greatest.
CREATE TABLE policy_sets (
    tenant_id  TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    version    INTEGER NOT NULL CHECK (version > 0),
    text       TEXT    NOT NULL,
    created_by TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, version)
) STRICT;

-- +goose Down
DROP TABLE policy_sets;
DROP TABLE resources;
