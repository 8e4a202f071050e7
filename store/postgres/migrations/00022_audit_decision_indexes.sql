-- +goose Up
-- Decision events (authz.decision: every deny and a sample of permits) are
-- most of the log and cost a B-tree insert per index each. The actor and
-- target indexes leave them out: decisions are found through the action
-- index, (tenant, 'authz.decision', seq), and a query by actor or target
-- reads their decisions from it a bounded window of seqs at a time
-- (audit.Query.DecisionWindow). Every query that uses these indexes states
-- the predicate in the same words, as both databases need to choose a
-- partial index.
DROP INDEX audit_events_actor;
DROP INDEX audit_events_target;
CREATE INDEX audit_events_actor ON audit_events (tenant_id, actor_id, seq) WHERE action <> 'authz.decision';
CREATE INDEX audit_events_target ON audit_events (tenant_id, target_id, seq) WHERE action <> 'authz.decision';

-- +goose Down
DROP INDEX audit_events_target;
DROP INDEX audit_events_actor;
CREATE INDEX audit_events_actor ON audit_events (tenant_id, actor_id, seq);
CREATE INDEX audit_events_target ON audit_events (tenant_id, target_id, seq);
