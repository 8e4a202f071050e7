package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/token"
)

// auditColumns are audit_events' columns in the order auditArgs writes and
// scanAuditEvent reads them.
const auditColumns = `tenant_id, seq, id, occurred_at, actor_id, on_behalf_of, credential_kind, credential_id,
	action, target_type, target_id, outcome, reason, client_ip, user_agent, request_id, trace_id, detail, prev_hash, hash`

const auditColumnCount = 20

// auditInsertRows are the row counts of the multi-row INSERTs a batch is
// cut into, largest first: few enough shapes to prepare each once
// (execPrepared), and a batch of 1,000 still takes ten statements.
var auditInsertRows = [...]int{100, 10, 1}

// auditInserts builds the INSERT of each shape. Its constraint failure
// (another writer's seq) fails the transaction it runs in, which the
// caller then rolls back: appendAuditTx is the last write of every
// transaction it joins, so the statement never needs undoing alone.
func auditInserts(d Dialect) map[int]string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", auditColumnCount), ", ") + ")"
	m := map[int]string{}
	for _, n := range auditInsertRows {
		var b strings.Builder
		b.WriteString(d.InsertOrRollback() + ` audit_events (` + auditColumns + `) VALUES `)
		for i := range n {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(row)
		}
		m[n] = b.String()
	}
	return m
}

// AppendAudit implements audit.Store: it fills missing ids and times,
// validates, and chains and stores the whole batch in one transaction.
func (s *Store) AppendAudit(ctx context.Context, events []audit.Event) ([]audit.Event, error) {
	// Prepared here, outside the transaction; the outbox's appends, inside
	// other transactions, use them once this has run.
	if err := s.prepare(ctx, s.auditInsert[auditInsertRows[0]], s.auditInsert[auditInsertRows[1]], s.auditInsert[auditInsertRows[2]]); err != nil {
		return nil, err
	}
	var out []audit.Event
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.appendAuditTx(ctx, tx, events)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// appendAuditTx appends events inside tx, which the caller commits: the
// transactional outbox, so that an act that must never be lost (a
// credential, membership or policy change) is recorded in the transaction
// that makes it, or not at all. Other writes of tx should come first: the
// stream's head stays locked from here until tx ends.
func (s *Store) appendAuditTx(ctx context.Context, tx *sql.Tx, events []audit.Event) ([]audit.Event, error) {
	if len(events) == 0 {
		return []audit.Event{}, nil
	}
	if len(events) > audit.MaxBatch {
		return nil, fault.Invalidf("events", audit.CodeBatchTooLarge, "at most %d audit events per batch, got %d", audit.MaxBatch, len(events))
	}
	now := time.Now()
	out := slices.Clone(events)
	// Events of one stream keep their order; streams are locked in tenant
	// order, so that two batches over the same streams cannot deadlock.
	byStream := map[string][]int{}
	for i := range out {
		e := &out[i]
		e.Prepare(now)
		if err := e.Validate(); err != nil {
			return nil, withIndex(err, i)
		}
		byStream[e.TenantID] = append(byStream[e.TenantID], i)
	}
	streams := make([]string, 0, len(byStream))
	for t := range byStream {
		streams = append(streams, t)
	}
	slices.Sort(streams)

	// Each detail is encoded once, for the hash and for its column.
	details := make([][]byte, len(out))
	for i := range out {
		details[i] = audit.CanonicalDetail(out[i].Detail)
	}
	heads := make([]audit.Head, len(streams))
	for i, t := range streams {
		h, err := s.lockAuditHead(ctx, tx, t)
		if err != nil {
			return nil, err
		}
		heads[i] = audit.LinkSubset(h, out, byStream[t], details)
	}

	args := make([]any, 0, auditColumnCount*auditInsertRows[0])
	for start := 0; start < len(out); {
		n := auditInsertRows[len(auditInsertRows)-1]
		for _, rows := range auditInsertRows {
			if len(out)-start >= rows {
				n = rows
				break
			}
		}
		args = args[:0]
		for i := start; i < start+n; i++ {
			args = s.auditArgs(args, &out[i], details[i])
		}
		start += n
		_, err := s.execIn(ctx, tx, s.auditInsert[n], args...)
		if s.violates(err, "audit_events_pkey") {
			return nil, fault.Conflictf(audit.CodeSeqConflict, "another writer stored the same audit sequence number")
		}
		if err != nil {
			return nil, s.dbErr(err)
		}
	}
	for _, h := range heads {
		if _, err := s.exec(ctx, tx, `UPDATE audit_heads SET seq = ?, hash = ? WHERE tenant_id = ?`, h.Seq, h.Hash, h.TenantID); err != nil {
			return nil, s.dbErr(err)
		}
	}
	return out, nil
}

// lockAuditHead returns the stream's head, creating it at seq 0 if new,
// and holds its row lock until tx ends. The no-op update of an upsert is
// what locks: on PostgreSQL a concurrent first append of a new stream waits
// on the insert and then updates the committed row, so both see one head.
func (s *Store) lockAuditHead(ctx context.Context, tx *sql.Tx, tenantID string) (audit.Head, error) {
	h := audit.Head{TenantID: tenantID}
	err := s.queryRow(ctx, tx,
		`INSERT INTO audit_heads (tenant_id, seq, hash) VALUES (?, 0, ?)
		 ON CONFLICT (tenant_id) DO UPDATE SET seq = audit_heads.seq
		 RETURNING seq, hash`, tenantID, audit.Genesis()).Scan(&h.Seq, &h.Hash)
	return h, s.dbErr(err)
}

// auditArgs appends e's columns; detail is its CanonicalDetail, the object
// the hash covers, so that verify decodes it back unchanged.
func (s *Store) auditArgs(args []any, e *audit.Event, detail []byte) []any {
	return append(args, e.TenantID, e.Seq, e.ID, s.d.Time(e.Time), e.ActorID, e.OnBehalfOf,
		e.CredentialKind, e.CredentialID, e.Action, e.TargetType, e.TargetID, string(e.Outcome),
		e.Reason, e.ClientIP, e.UserAgent, e.RequestID, e.TraceID, string(detail), e.PrevHash, e.Hash)
}

func scanAuditEvent(r scanner) (audit.Event, error) {
	var e audit.Event
	var outcome string
	var detail []byte
	err := r.Scan(&e.TenantID, &e.Seq, &e.ID, at(&e.Time), &e.ActorID, &e.OnBehalfOf,
		&e.CredentialKind, &e.CredentialID, &e.Action, &e.TargetType, &e.TargetID, &outcome,
		&e.Reason, &e.ClientIP, &e.UserAgent, &e.RequestID, &e.TraceID, &detail, &e.PrevHash, &e.Hash)
	if err != nil {
		return e, err
	}
	e.Outcome = audit.Outcome(outcome)
	if e.Detail, err = audit.ParseDetail(detail); err != nil {
		// A row whose detail is not an object of strings was written around
		// the store: keep it, under a key no valid event has, so that
		// verify reports the event as edited rather than failing to read.
		e.Detail = map[string]string{"\x00undecodable": string(detail)}
	}
	return e, nil
}

// ReadAudit implements audit.Reader.
func (s *Store) ReadAudit(ctx context.Context, tenantID string, afterSeq int64, limit int) ([]audit.Event, error) {
	limit = auditLimit(limit)
	rows, err := s.query(ctx, s.read,
		`SELECT `+auditColumns+` FROM audit_events WHERE tenant_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
		tenantID, afterSeq, limit)
	if err != nil {
		return nil, s.dbErr(err)
	}
	defer rows.Close()
	// Not collect: verify reads whole streams through here, and growing
	// the slice of large structs cost more than the hashing.
	out := make([]audit.Event, 0, limit)
	for rows.Next() {
		e, err := scanAuditEvent(rows)
		if err != nil {
			return nil, s.dbErr(err)
		}
		out = append(out, e)
	}
	return out, s.dbErr(rows.Err())
}

// AuditHead implements audit.Reader.
func (s *Store) AuditHead(ctx context.Context, tenantID string) (audit.Head, error) {
	h := audit.Head{TenantID: tenantID}
	err := s.queryRow(ctx, s.read, `SELECT seq, hash FROM audit_heads WHERE tenant_id = ?`, tenantID).Scan(&h.Seq, &h.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return audit.Head{TenantID: tenantID, Hash: audit.Genesis()}, nil
	}
	return h, s.dbErr(err)
}

// ListAuditHeads implements audit.Store.
func (s *Store) ListAuditHeads(ctx context.Context, after *string, limit int) ([]audit.Head, error) {
	q := `SELECT h.tenant_id, h.seq, h.hash,
	        COALESCE((SELECT max(d.through_seq) FROM audit_digests d WHERE d.tenant_id = h.tenant_id), 0)
	      FROM audit_heads h`
	args := []any{}
	if after != nil {
		q += ` WHERE h.tenant_id > ?`
		args = append(args, *after)
	}
	q += ` ORDER BY h.tenant_id LIMIT ?`
	rows, err := s.query(ctx, s.read, q, append(args, auditLimit(limit))...)
	return collect(s, rows, err, func(r scanner) (audit.Head, error) {
		var h audit.Head
		err := r.Scan(&h.TenantID, &h.Seq, &h.Hash, &h.DigestSeq)
		return h, err
	})
}

// InsertAuditDigest implements audit.Store.
func (s *Store) InsertAuditDigest(ctx context.Context, d audit.Digest) error {
	if d.ThroughSeq < 1 {
		return fault.Invalidf("through_seq", audit.CodeInvalidEvent, "a digest covers at least seq 1")
	}
	_, err := s.exec(ctx, s.write,
		`INSERT INTO audit_digests (tenant_id, through_seq, head_hash, signed_at, key_id, signature, kind) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		d.TenantID, d.ThroughSeq, d.HeadHash, s.d.Time(d.Time), d.KeyID, d.Signature, digestKind(d.Kind))
	if s.violates(err, "audit_digests_pkey") {
		return fault.Conflictf(audit.CodeDigestExists, "the stream has a digest through seq %d", d.ThroughSeq)
	}
	return s.dbErr(err)
}

// digestKind is the stored kind: a digest built without one is a head's.
func digestKind(k audit.DigestKind) string {
	if k == "" {
		return string(audit.DigestHead)
	}
	return string(k)
}

// ListAuditDigests implements audit.Reader.
func (s *Store) ListAuditDigests(ctx context.Context, tenantID string, afterSeq int64, limit int) ([]audit.Digest, error) {
	rows, err := s.query(ctx, s.read,
		`SELECT tenant_id, through_seq, head_hash, signed_at, key_id, signature, kind FROM audit_digests
		 WHERE tenant_id = ? AND through_seq > ? ORDER BY through_seq LIMIT ?`,
		tenantID, afterSeq, auditLimit(limit))
	return collect(s, rows, err, func(r scanner) (audit.Digest, error) {
		var d audit.Digest
		var kind string
		err := r.Scan(&d.TenantID, &d.ThroughSeq, &d.HeadHash, at(&d.Time), &d.KeyID, &d.Signature, &kind)
		d.Kind = audit.DigestKind(kind)
		return d, err
	})
}

// AuditKeyStore implements audit.Store.
func (s *Store) AuditKeyStore() token.KeyStore {
	return keyTable{s: s, table: "audit_signing_keys", permanent: true}
}

func auditLimit(limit int) int {
	if limit < 1 || limit > audit.MaxPage {
		return audit.MaxPage
	}
	return limit
}

// withIndex puts the event's index into a validation error's field.
func withIndex(err error, i int) error {
	if fe, ok := err.(*fault.Error); ok {
		c := *fe
		c.Field = fmt.Sprintf("events[%d].%s", i, fe.Field)
		return &c
	}
	return err
}

// QueryAudit implements audit.Querier. Every filter is an equality on a
// column that an index of 00008 leads with after the stream, or a bound.
// The actor and target indexes leave out decision events (00022), so a
// query by actor or target that may match decisions is two: the other
// events from those indexes, and the decisions from the action index
// over a bounded window of seqs.
func (s *Store) QueryAudit(ctx context.Context, q audit.Query) ([]audit.Event, int64, error) {
	if err := q.Normalize(); err != nil {
		return nil, 0, err
	}
	if onlyOutcome(q) {
		// No index leads with the outcome (three values), so such a
		// query reads the stream itself: a window of it per page, as for
		// decisions, or a rare outcome would read the whole stream.
		lo, err := s.auditWindowStart(ctx, q)
		if err != nil {
			return nil, 0, err
		}
		evs, err := s.queryAudit(ctx, q, false, lo)
		if err != nil {
			return nil, 0, err
		}
		resume := int64(0)
		if lo > 1 && len(evs) < q.Limit {
			resume = lo
		}
		return evs, resume, nil
	}
	if q.ActorID == "" && q.TargetID == "" || q.Action != "" && q.Action != audit.ActionDecision {
		evs, err := s.queryAudit(ctx, q, auditNotDecisions(q), 0)
		return evs, 0, err
	}
	lo, err := s.auditWindowStart(ctx, q)
	if err != nil {
		return nil, 0, err
	}
	var others []audit.Event
	if q.Action == "" {
		var err error
		if others, err = s.queryAudit(ctx, q, true, 0); err != nil {
			return nil, 0, err
		}
		if len(others) == q.Limit {
			// A full page of other events: decisions below its last
			// cannot be on it, so the window need not reach further.
			lo = max(lo, others[len(others)-1].Seq)
		}
	}
	dq := q
	dq.Action = audit.ActionDecision
	decisions, err := s.queryAudit(ctx, dq, false, lo)
	if err != nil {
		return nil, 0, err
	}
	evs := mergeAudit(others, decisions, lo, q.Limit)
	resume := int64(0)
	if lo > 1 && (len(others) < q.Limit || others[len(others)-1].Seq < lo) {
		// The window, not a full page of others, bounded the read: no
		// decision below lo was looked at.
		resume = lo
	}
	return evs, resume, nil
}

// onlyOutcome: q filters by outcome and by no indexed column; a time
// range alone is not enough either, since one range may hold the stream.
func onlyOutcome(q audit.Query) bool {
	return q.Outcome != "" && q.ActorID == "" && q.TargetID == "" && q.Action == ""
}

// auditWindowStart is the lowest seq a windowed page of q reads:
// q.DecisionWindow below the cursor, or below the head for a first page.
func (s *Store) auditWindowStart(ctx context.Context, q audit.Query) (int64, error) {
	hi := q.BeforeSeq
	if hi == 0 {
		h, err := s.AuditHead(ctx, q.TenantID)
		if err != nil {
			return 0, err
		}
		hi = h.Seq + 1
	}
	return max(hi-q.DecisionWindow, 1), nil
}

// auditNotDecisions tells queryAudit to state the partial indexes'
// predicate: for a query by actor or target whose action is not a
// decision, so that the database may use them.
func auditNotDecisions(q audit.Query) bool {
	return (q.ActorID != "" || q.TargetID != "") && q.Action != ""
}

// queryAudit runs one SELECT for q, newest first: with notDecisions it
// leaves decision events out in the words of 00022's partial indexes, and
// with minSeq > 0 it reads no seq below it.
func (s *Store) queryAudit(ctx context.Context, q audit.Query, notDecisions bool, minSeq int64) ([]audit.Event, error) {
	var b strings.Builder
	b.WriteString(`SELECT ` + auditColumns + ` FROM audit_events WHERE tenant_id = ?`)
	args := []any{q.TenantID}
	eq := func(col, v string) {
		if v != "" {
			b.WriteString(` AND ` + col + ` = ?`)
			args = append(args, v)
		}
	}
	eq("actor_id", q.ActorID)
	eq("action", q.Action)
	if notDecisions {
		b.WriteString(` AND action <> 'authz.decision'`)
	}
	eq("target_id", q.TargetID)
	eq("outcome", string(q.Outcome))
	if !q.From.IsZero() {
		b.WriteString(` AND occurred_at >= ?`)
		args = append(args, s.d.Time(q.From))
	}
	if !q.To.IsZero() {
		b.WriteString(` AND occurred_at < ?`)
		args = append(args, s.d.Time(q.To))
	}
	if q.BeforeSeq > 0 {
		b.WriteString(` AND seq < ?`)
		args = append(args, q.BeforeSeq)
	}
	if minSeq > 0 {
		b.WriteString(` AND seq >= ?`)
		args = append(args, minSeq)
	}
	b.WriteString(` ORDER BY seq DESC LIMIT ?`)
	args = append(args, q.Limit)
	rows, err := s.query(ctx, s.read, b.String(), args...)
	return collect(s, rows, err, scanAuditEvent)
}

// mergeAudit merges two lists, each newest first, into the newest limit
// events at or above lo.
func mergeAudit(a, b []audit.Event, lo int64, limit int) []audit.Event {
	out := make([]audit.Event, 0, min(limit, len(a)+len(b)))
	for len(out) < limit {
		var next audit.Event
		switch {
		case len(a) > 0 && (len(b) == 0 || a[0].Seq > b[0].Seq):
			next, a = a[0], a[1:]
		case len(b) > 0:
			next, b = b[0], b[1:]
		default:
			return out
		}
		if next.Seq < lo {
			return out
		}
		out = append(out, next)
	}
	return out
}

// AuditSeqRange implements audit.Querier.
func (s *Store) AuditSeqRange(ctx context.Context, tenantID string, from, to time.Time) (int64, int64, error) {
	first, last := sql.NullInt64{}, sql.NullInt64{}
	var err error
	if from.IsZero() {
		err = s.queryRow(ctx, s.read, `SELECT min(seq) FROM audit_events WHERE tenant_id = ?`, tenantID).Scan(&first)
	} else {
		err = s.queryRow(ctx, s.read, `SELECT min(seq) FROM audit_events WHERE tenant_id = ? AND occurred_at >= ?`,
			tenantID, s.d.Time(from)).Scan(&first)
	}
	if err != nil {
		return 0, 0, s.dbErr(err)
	}
	if to.IsZero() {
		err = s.queryRow(ctx, s.read, `SELECT max(seq) FROM audit_events WHERE tenant_id = ?`, tenantID).Scan(&last)
	} else {
		err = s.queryRow(ctx, s.read, `SELECT max(seq) FROM audit_events WHERE tenant_id = ? AND occurred_at < ?`,
			tenantID, s.d.Time(to)).Scan(&last)
	}
	if err != nil {
		return 0, 0, s.dbErr(err)
	}
	if !first.Valid || !last.Valid || first.Int64 > last.Int64 {
		return 0, 0, nil
	}
	return first.Int64, last.Int64, nil
}
