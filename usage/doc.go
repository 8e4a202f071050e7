// Package usage is Tollgate's usage engine: CloudEvents 1.0 records of
// consumption (LLM tokens, tool runs, API calls), counted exactly once and
// rolled up per minute into meters.
//
// Exactly once rests on one invariant: an event is identified by
// (tenant, source, id), and its raw row, its de-duplication and its
// contribution to every roll-up are written in one database transaction.
// Whatever delivers an event — HTTP, NATS JetStream redeliveries, a
// publisher retrying — a second copy finds the first one's row and changes
// nothing; a crash leaves either all of an event or none of it. Brokers'
// own de-duplication windows are an optimisation on top, never relied on.
//
// The package owns the event model and its validation (Decode), the meters
// and what each event contributes to them (Meter), who may report and read
// (Service), and the small Store it needs; store/sqlstore implements Store
// for SQLite and PostgreSQL. docs/usage.md describes the model.
package usage
