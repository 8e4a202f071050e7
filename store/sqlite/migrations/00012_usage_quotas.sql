-- +goose Up
-- Usage quotas (docs/usage.md): one row per tenant that has quotas, quotas
-- a JSON array of {meter, actor, limit}, replaced whole; and the quota
-- thresholds already announced, one row per (tenant, meter, actor, period,
-- threshold), whose primary key keeps a second replica from announcing
-- one again. Same conventions as 00003: INTEGER unix microseconds, JSON in
-- TEXT.
CREATE TABLE usage_quotas (
    tenant_id  TEXT    NOT NULL PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    quotas     TEXT    NOT NULL CHECK (json_type(quotas) = 'array'),
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE usage_quota_thresholds (
    tenant_id    TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    meter        TEXT    NOT NULL,
    actor        TEXT    NOT NULL,
    period_start INTEGER NOT NULL,
    threshold    INTEGER NOT NULL,
    fired_at     INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, meter, actor, period_start, threshold)
) STRICT;

-- +goose Down
DROP TABLE usage_quota_thresholds;
DROP TABLE usage_quotas;
