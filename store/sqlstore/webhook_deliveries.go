package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/webhook"
)

const deliveryCols = `id, tenant_id, endpoint_id, message_id, event_type, payload, status, attempts,
	next_attempt_at, created_at, last_attempt_at, last_status, last_latency_ms, last_response, last_error`

func scanDelivery(r scanner) (d webhook.Delivery, err error) {
	var status, payload string
	var latencyMS int64
	err = r.Scan(&d.ID, &d.TenantID, &d.EndpointID, &d.MessageID, &d.EventType, &payload, &status, &d.Attempts,
		at(&d.NextAttemptAt), at(&d.CreatedAt), atNull(&d.LastAttemptAt), &d.LastStatus, &latencyMS, &d.LastResponse, &d.LastError)
	d.Payload, d.Status, d.LastLatency = []byte(payload), webhook.DeliveryStatus(status), time.Duration(latencyMS)*time.Millisecond
	return d, err
}

// rowsPerStatement is how many rows one multi-row statement writes: a
// few fixed sizes, so that the statements' texts (which PostgreSQL's
// dialect caches rebound) are a bounded set, and at most 500, whose 11
// parameters each stay under SQLite's and PostgreSQL's limits.
func rowsPerStatement(n int) int {
	for _, size := range []int{500, 64, 8} {
		if n >= size {
			return size
		}
	}
	return 1
}

// insertDeliveries inserts ds, skipping any whose endpoint already has the
// message (the dispatcher may see an event twice).
func (s *Store) insertDeliveries(ctx context.Context, q querier, ds []webhook.Delivery) error {
	for len(ds) > 0 {
		n := rowsPerStatement(len(ds))
		var b strings.Builder
		b.WriteString(`INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, message_id, event_type, payload, status,
			attempts, next_attempt_at, created_at, last_status) VALUES `)
		args := make([]any, 0, 11*n)
		for i, d := range ds[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(`(?, ?, ?, ?, ?, ?, ?, 0, ?, ?, 0)`)
			args = append(args, d.ID, d.TenantID, d.EndpointID, d.MessageID, d.EventType, string(d.Payload), string(d.Status),
				s.d.Time(d.NextAttemptAt), s.d.Time(d.CreatedAt))
		}
		b.WriteString(` ON CONFLICT (endpoint_id, message_id) DO NOTHING`)
		if _, err := s.exec(ctx, q, b.String(), args...); err != nil {
			return err
		}
		ds = ds[n:]
	}
	return nil
}

// EnqueueDelivery implements webhook.Store.
func (s *Store) EnqueueDelivery(ctx context.Context, d webhook.Delivery) error {
	return s.dbErr(s.insertDeliveries(ctx, s.write, []webhook.Delivery{d}))
}

// GetDelivery implements webhook.Store.
func (s *Store) GetDelivery(ctx context.Context, tenantID, endpointID, id string) (webhook.Delivery, error) {
	return get(ctx, s, scanDelivery, errDeliveryNotFound,
		`SELECT `+deliveryCols+` FROM webhook_deliveries WHERE tenant_id = ? AND endpoint_id = ? AND id = ?`, tenantID, endpointID, id)
}

// ListDeliveries implements webhook.Store.
func (s *Store) ListDeliveries(ctx context.Context, tenantID, endpointID string, p cursor.Page) ([]webhook.Delivery, error) {
	p = p.Normalize()
	q := `SELECT ` + deliveryCols + ` FROM webhook_deliveries WHERE tenant_id = ? AND endpoint_id = ?`
	args := []any{tenantID, endpointID}
	if p.After != "" {
		q += ` AND id < ?`
		args = append(args, p.After)
	}
	return readAll(ctx, s, scanDelivery, q+` ORDER BY id DESC LIMIT ?`, append(args, p.Limit)...)
}

// RedeliverWebhook implements webhook.Store.
func (s *Store) RedeliverWebhook(ctx context.Context, tenantID, endpointID, id string, at time.Time) (webhook.Delivery, error) {
	d, err := scanDelivery(s.queryRow(ctx, s.write, `UPDATE webhook_deliveries SET status = ?, attempts = 0, next_attempt_at = ?
		WHERE tenant_id = ? AND endpoint_id = ? AND id = ? RETURNING `+deliveryCols,
		string(webhook.Pending), s.d.Time(at), tenantID, endpointID, id))
	return one(s, d, err, errDeliveryNotFound)
}

// DispatchWebhooks implements webhook.Store. It returns how many audit
// events it consumed.
func (s *Store) DispatchWebhooks(ctx context.Context, tenants, events int, route webhook.Route, now time.Time) (int, error) {
	consumed := 0
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		consumed = 0
		type cur struct {
			tenant string
			seq    int64
		}
		rows, err := s.query(ctx, tx, `SELECT c.tenant_id, c.seq FROM webhook_cursors c
			JOIN audit_heads h ON h.tenant_id = c.tenant_id
			WHERE h.seq > c.seq ORDER BY c.updated_at LIMIT ?`+s.d.SkipLocked("c"), tenants)
		curs, err := collect(s, rows, err, func(r scanner) (cur, error) {
			var c cur
			err := r.Scan(&c.tenant, &c.seq)
			return c, err
		})
		if err != nil {
			return err
		}
		for _, c := range curs {
			rows, err := s.query(ctx, tx, `SELECT `+auditColumns+` FROM audit_events WHERE tenant_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
				c.tenant, c.seq, events)
			evs, err := collect(s, rows, err, scanAuditEvent)
			if err != nil || len(evs) == 0 {
				return err
			}
			rows, err = s.query(ctx, tx, `SELECT `+webhookCols+` FROM webhook_endpoints WHERE tenant_id = ? AND status = ?`,
				c.tenant, string(webhook.Enabled))
			eps, err := collect(s, rows, err, s.scanWebhook)
			if err != nil {
				return err
			}
			if err := s.insertDeliveries(ctx, tx, route(c.tenant, evs, eps)); err != nil {
				return err
			}
			if _, err := s.exec(ctx, tx, `UPDATE webhook_cursors SET seq = ?, updated_at = ? WHERE tenant_id = ?`,
				evs[len(evs)-1].Seq, s.d.Time(now), c.tenant); err != nil {
				return err
			}
			consumed += len(evs)
		}
		return nil
	})
	return consumed, err
}

// ClaimDeliveries implements webhook.Store.
func (s *Store) ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]webhook.Delivery, map[string]webhook.Endpoint, error) {
	var ds []webhook.Delivery
	eps := map[string]webhook.Endpoint{}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := s.query(ctx, tx, `UPDATE webhook_deliveries SET next_attempt_at = ?, attempts = attempts + 1
			WHERE id IN (SELECT id FROM webhook_deliveries d WHERE status = ? AND next_attempt_at <= ?
			             ORDER BY next_attempt_at LIMIT ?`+s.d.SkipLocked("d")+`)
			RETURNING `+deliveryCols,
			s.d.Time(leaseUntil), string(webhook.Pending), s.d.Time(now), limit)
		if ds, err = collect(s, rows, err, scanDelivery); err != nil || len(ds) == 0 {
			return err
		}
		var ids []string
		for _, d := range ds {
			if _, ok := eps[d.EndpointID]; !ok {
				eps[d.EndpointID] = webhook.Endpoint{}
				ids = append(ids, d.EndpointID)
			}
		}
		rows, err = s.query(ctx, tx, `SELECT `+webhookCols+` FROM webhook_endpoints WHERE `+s.d.InList(`id`), s.d.List(ids))
		list, err := collect(s, rows, err, s.scanWebhook)
		for _, e := range list {
			eps[e.ID] = e
		}
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return ds, eps, nil
}

// writeResults writes attempts' results back, a batch per statement (one
// round trip for a worker's whole claim, where a statement per delivery
// made the database's latency the bound on throughput). Only pending
// deliveries change: a redelivery made meanwhile keeps its fresh state.
func (s *Store) writeResults(ctx context.Context, tx *sql.Tx, results []webhook.Result) error {
	ts := s.d.TimeType()
	for len(results) > 0 {
		n := rowsPerStatement(len(results))
		var b strings.Builder
		b.WriteString(`WITH r (id, status, next_at, attempted_at, code, latency, response, error) AS (VALUES `)
		args := make([]any, 0, 8*n)
		for i, r := range results[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(`(?, ?, CAST(? AS ` + ts + `), CAST(? AS ` + ts + `), CAST(? AS INTEGER), CAST(? AS INTEGER), ?, ?)`)
			status, next := webhook.Failed, r.At
			switch {
			case r.OK:
				status = webhook.Succeeded
			case r.Next != nil:
				status, next = webhook.Pending, *r.Next
			}
			args = append(args, r.DeliveryID, string(status), s.d.Time(next), s.d.Time(r.At), r.Status,
				r.Latency.Milliseconds(), r.Response, r.Error)
		}
		b.WriteString(`) UPDATE webhook_deliveries SET status = r.status, next_attempt_at = r.next_at,
			last_attempt_at = r.attempted_at, last_status = r.code, last_latency_ms = r.latency,
			last_response = r.response, last_error = r.error
			FROM r WHERE webhook_deliveries.id = r.id AND webhook_deliveries.status = ?`)
		args = append(args, string(webhook.Pending))
		if _, err := s.exec(ctx, tx, b.String(), args...); err != nil {
			return err
		}
		results = results[n:]
	}
	return nil
}

// FinishDeliveries implements webhook.Store.
func (s *Store) FinishDeliveries(ctx context.Context, results []webhook.Result, failingBefore time.Time) ([]webhook.Endpoint, error) {
	var failing []webhook.Endpoint
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.writeResults(ctx, tx, results); err != nil {
			return err
		}
		ok, failed := map[string]bool{}, map[string]time.Time{}
		for _, r := range results {
			switch {
			case r.OK:
				ok[r.EndpointID] = true
			case r.Error == "endpoint_disabled":
			default:
				if t, seen := failed[r.EndpointID]; !seen || r.At.Before(t) {
					failed[r.EndpointID] = r.At
				}
			}
		}
		var healthy, failingIDs []string
		for id := range ok {
			healthy = append(healthy, id)
		}
		if len(healthy) > 0 {
			if _, err := s.exec(ctx, tx, `UPDATE webhook_endpoints SET failing_since = NULL WHERE `+s.d.InList(`id`), s.d.List(healthy)); err != nil {
				return err
			}
		}
		for id, since := range failed {
			if ok[id] {
				continue
			}
			failingIDs = append(failingIDs, id)
			if _, err := s.exec(ctx, tx, `UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, ?) WHERE id = ?`,
				s.d.Time(since), id); err != nil {
				return err
			}
		}
		if len(failingIDs) == 0 {
			return nil
		}
		rows, err := s.query(ctx, tx, `SELECT `+webhookCols+` FROM webhook_endpoints WHERE `+s.d.InList(`id`)+
			` AND status = ? AND failing_since < ?`, s.d.List(failingIDs), string(webhook.Enabled), s.d.Time(failingBefore))
		failing, err = collect(s, rows, err, s.scanWebhook)
		return err
	})
	if err != nil {
		return nil, err
	}
	return failing, nil
}
