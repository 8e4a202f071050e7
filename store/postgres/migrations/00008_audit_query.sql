-- +goose Up
-- The audit API's filters (GET /v1/audit): each index leads with the
-- stream, since every query names one, and ends with seq, so that a
-- filtered page is read newest first straight from the index. Outcome has
-- three values and is filtered on the rows these lead to. occurred_at
-- serves the time bounds and finds where an export starts and ends.
CREATE INDEX audit_events_actor ON audit_events (tenant_id, actor_id, seq);
CREATE INDEX audit_events_action ON audit_events (tenant_id, action, seq);
CREATE INDEX audit_events_target ON audit_events (tenant_id, target_id, seq);
CREATE INDEX audit_events_time ON audit_events (tenant_id, occurred_at, seq);

-- +goose Down
DROP INDEX audit_events_time;
DROP INDEX audit_events_target;
DROP INDEX audit_events_action;
DROP INDEX audit_events_actor;
