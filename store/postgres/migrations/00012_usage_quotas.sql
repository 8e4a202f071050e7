-- +goose Up
-- Usage quotas (docs/usage.md): one row per tenant that has quotas, quotas
-- a JSON array of {meter, actor, limit}, replaced whole; and the quota
-- thresholds already announced, one row per (tenant, meter, actor, period,
-- threshold), whose primary key keeps a second replica from announcing
-- one again. Same conventions as 00003: keys COLLATE "C", constraints
-- named.
CREATE TABLE usage_quotas (
    tenant_id  text COLLATE "C" NOT NULL,
    quotas     jsonb       NOT NULL,
    updated_at timestamptz NOT NULL,
    CONSTRAINT usage_quotas_pkey PRIMARY KEY (tenant_id),
    CONSTRAINT usage_quotas_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE,
    CONSTRAINT usage_quotas_quotas_check CHECK (jsonb_typeof(quotas) = 'array')
);

CREATE TABLE usage_quota_thresholds (
    tenant_id    text COLLATE "C" NOT NULL,
    meter        text COLLATE "C" NOT NULL,
    actor        text COLLATE "C" NOT NULL,
    period_start timestamptz NOT NULL,
    threshold    integer     NOT NULL,
    fired_at     timestamptz NOT NULL,
    CONSTRAINT usage_quota_thresholds_pkey PRIMARY KEY (tenant_id, meter, actor, period_start, threshold),
    CONSTRAINT usage_quota_thresholds_tenant_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id) ON DELETE CASCADE
);

-- +goose Down
DROP TABLE usage_quota_thresholds;
DROP TABLE usage_quotas;
