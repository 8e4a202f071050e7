package usage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate/tollgate/event"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/policy"
)

// Authorizer is the policy decision point (policy.Service): reading usage
// is the VIEW_USAGE family's decision, not a rule of this package.
type Authorizer interface {
	Authorize(ctx context.Context, ac identity.ActorContext, tenantID string, req policy.Request) (policy.Decision, error)
}

// Service records and reads usage.
type Service struct {
	store   Store
	meters  *Meters
	authz   Authorizer
	skew    time.Duration
	now     func() time.Time
	live    *live
	quotas  QuotaStore
	tenants Tenants
	notify  event.Notifier
	// tenantMeters keeps tenants' own meters; nil when they are off.
	tenantMeters MeterStore
	rights       Rights
	meterCache   meterCache
}

// Tenants is what quotas ask about tenants and their admins
// (identity.Service).
type Tenants interface {
	// GetTenant fails unless c may read the tenant.
	GetTenant(ctx context.Context, c identity.Caller, tenantID string) (identity.TenantMembership, error)
	IsPlatformAdmin(ctx context.Context, c identity.Caller) bool
}

// Deps are what a Service is built from.
type Deps struct {
	Store Store
	// Meters default to ShippedMeters.
	Meters *Meters
	// Authorizer decides who may read usage; nil refuses every query.
	Authorizer Authorizer
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Quotas keeps tenants' quotas; nil is Store when it does.
	Quotas QuotaStore
	// Tenants answers who may read and change quotas; nil refuses them.
	Tenants Tenants
	// Notify tells every replica's quota cache of a change; may be nil.
	Notify event.Notifier
	// TenantMeters keeps tenants' own meters; nil is Store when it does.
	TenantMeters MeterStore
	// Rights answers who may read and change a tenant's meters; nil
	// refuses them.
	Rights Rights
	// Log receives what an operator must see (live streams' failed
	// reads); nil discards it.
	Log *slog.Logger
}

// Options configure a Service.
type Options struct {
	// MaxFutureSkew is how far in the future an event's time may be (clock
	// skew between reporters and Tollgate); later events are rejected.
	// 0 is DefaultMaxFutureSkew.
	MaxFutureSkew time.Duration
	// Streams bound and pace live streams.
	Streams StreamOptions
}

// DefaultMaxFutureSkew is MaxFutureSkew's default.
const DefaultMaxFutureSkew = 5 * time.Minute

// NewService wires a Service.
func NewService(d Deps, opts Options) *Service {
	if d.Meters == nil {
		d.Meters = ShippedMeters()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if opts.MaxFutureSkew <= 0 {
		opts.MaxFutureSkew = DefaultMaxFutureSkew
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Quotas == nil {
		d.Quotas, _ = d.Store.(QuotaStore)
	}
	if d.TenantMeters == nil {
		d.TenantMeters, _ = d.Store.(MeterStore)
	}
	return &Service{store: d.Store, meters: d.Meters, authz: d.Authorizer, skew: opts.MaxFutureSkew, now: d.Now,
		live: newLive(d.Store, opts.Streams, d.Now, d.Log), quotas: d.Quotas, tenants: d.Tenants, notify: d.Notify,
		tenantMeters: d.TenantMeters, rights: d.Rights}
}

// Meters returns the meters in force.
func (s *Service) Meters() *Meters { return s.meters }

// Rejection says why one event of a batch was not recorded.
type Rejection struct {
	Index  int    `json:"index"`
	ID     string `json:"id,omitempty"`
	Code   string `json:"code"`
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

// Result is what became of a batch.
type Result struct {
	Accepted   int         `json:"accepted"`
	Duplicates int         `json:"duplicates"`
	Rejected   []Rejection `json:"rejected"`
	// Statuses has one Status per event of the batch, in order.
	Statuses []Status `json:"-"`
}

func (r *Result) reject(i int, id string, err error) {
	r.Statuses[i] = Rejected
	rej := Rejection{Index: i, ID: id, Code: string(CodeInvalidEvent), Reason: err.Error()}
	var fe *fault.Error
	if errors.As(err, &fe) {
		rej.Code, rej.Field, rej.Reason = string(fe.Code), fe.Field, fe.Detail
	}
	r.Rejected = append(r.Rejected, rej)
}

// count adds what the store did with the batch's event i.
func (r *Result) count(i int, id string, o Outcome) {
	switch o.Status {
	case Accepted:
		r.Accepted++
	case Duplicate:
		r.Duplicates++
		r.Statuses[i] = Duplicate
	default:
		r.reject(i, id, o.Err)
	}
}

// Report records a batch sent by a caller: an API key holding usage:write,
// whose events are of its own tenant (an event without the tenant
// attribute is given it), or a service holding the usage:write scope,
// whose events name tenants it is registered for. Other credentials are
// refused as a whole; an event outside the caller's tenants is rejected
// alone.
func (s *Service) Report(ctx context.Context, ac identity.ActorContext, batch []Decoded) (Result, error) {
	if err := MayReport(ac); err != nil {
		return Result{}, err
	}
	own := ac.Serves
	checked := make([]Decoded, len(batch))
	for i, d := range batch {
		if d.Err == nil {
			switch {
			case d.Event.TenantID == "" && ac.Credential == identity.CredentialAPIKey:
				d.Event.TenantID = ac.TenantID
			case d.Event.TenantID == "":
				d.Err = invalid("tenant", "a service names each event's tenant in the tenant attribute")
			case !own(d.Event.TenantID):
				d.Err = fault.Forbiddenf(CodeTenantNotAllowed, "this credential may not report usage of tenant %s", truncate(d.Event.TenantID))
			}
		}
		checked[i] = d
	}
	return s.Record(ctx, checked)
}

// MayReport refuses a credential that may not report usage at all, so
// that the HTTP layer can refuse it before reading a body.
func MayReport(ac identity.ActorContext) error {
	switch ac.Credential {
	case identity.CredentialAPIKey:
		if !slices.Contains(ac.Permissions, string(identity.PermUsageWrite)) {
			return fault.Forbiddenf(identity.CodePermissionDenied, "reporting usage needs %s", identity.PermUsageWrite)
		}
	case identity.CredentialClientCredentials:
		if !slices.Contains(ac.Scopes, ScopeWrite) {
			return fault.Forbiddenf(identity.CodeScopeRequired, "this needs a service holding the scope %s", ScopeWrite)
		}
	default:
		return fault.Forbiddenf(CodeWriterRequired, "usage is reported with an API key holding %s or a service token with the %s scope", identity.PermUsageWrite, ScopeWrite)
	}
	return nil
}

// ScopeWrite is the service scope that reports usage
// (serviceaccount.ScopeUsageWrite).
const ScopeWrite = "usage:write"

// Record records a batch from a trusted source (the NATS stream, whose
// publishers the broker's permissions vouch for): every event must name
// its tenant. Events refused by Decode stay rejected; the rest are checked
// against the clock and the meters and stored in one transaction, then
// each correction (usage.void, usage.amend) in one of its own. An error
// means some of the batch may not be recorded: sending it again records
// the rest and finds the rest duplicates.
func (s *Service) Record(ctx context.Context, batch []Decoded) (Result, error) {
	if len(batch) > MaxBatch {
		return Result{}, fault.Invalidf("", CodeInvalidBatch, "a batch holds at most %d events", MaxBatch)
	}
	res := Result{Rejected: []Rejection{}, Statuses: make([]Status, len(batch))}
	latest := s.now().Add(s.skew)
	records := make([]Record, 0, len(batch))
	index := make([]int, 0, len(batch))
	var corrections []int
	for i := range batch {
		d := &batch[i]
		err := d.Err
		if err == nil {
			switch {
			case d.Event.TenantID == "":
				err = invalid("tenant", "the tenant attribute is required")
			case d.Event.Time.After(latest):
				err = fault.Invalidf("time", CodeEventInFuture, "time %s is more than %s ahead of the server's clock", d.Event.Time.Format(time.RFC3339), s.skew)
			}
		}
		if err == nil && IsCorrection(d.Event.Type) {
			corrections = append(corrections, i)
			continue
		}
		var cs []Contribution
		if err == nil {
			var ms *Meters
			if ms, err = s.metersOf(ctx, d.Event.TenantID); err != nil {
				// The meters cannot be read: nothing is recorded, as when
				// the store is down.
				return Result{}, err
			}
			cs, err = Contributions(&d.Event, ms.For(d.Event.TenantID, d.Event.Type))
		}
		if err != nil {
			res.reject(i, d.Event.ID, err)
			continue
		}
		records = append(records, Record{Event: d.Event, Contributions: cs})
		index = append(index, i)
	}
	if len(records) > 0 {
		outs, err := s.store.RecordUsage(ctx, records)
		if err != nil {
			return Result{}, err
		}
		for j, o := range outs {
			res.count(index[j], records[j].Event.ID, o)
		}
	}
	// Corrections follow the batch's other events, so that one may void an
	// event reported earlier in the same batch; each is its own
	// transaction, since it reads and measures again what it corrects.
	for _, i := range corrections {
		e := batch[i].Event
		c, _ := e.Correction()
		ms, err := s.metersOf(ctx, e.TenantID)
		if err != nil {
			return Result{}, err
		}
		o, err := s.store.CorrectUsage(ctx, CorrectionRecord{Event: e, Correction: c,
			Meters: func(typ string) []Meter { return ms.For(e.TenantID, typ) }})
		if err != nil {
			return Result{}, err
		}
		res.count(i, e.ID, o)
	}
	slices.SortFunc(res.Rejected, func(a, b Rejection) int { return a.Index - b.Index })
	return res, nil
}

// Window is a query's bucket size.
type Window string

const (
	// WindowNone answers one row per group over the whole range.
	WindowNone   Window = ""
	WindowMinute Window = "minute"
	WindowHour   Window = "hour"
	WindowDay    Window = "day"
	// WindowMonth is a calendar month, folded from days.
	WindowMonth Window = "month"
)

// minutes is the length of the store's buckets for the window (a month is
// read by days); 0 for WindowNone.
func (w Window) minutes() (int64, bool) {
	switch w {
	case WindowNone:
		return 0, true
	case WindowMinute:
		return 1, true
	case WindowHour:
		return 60, true
	case WindowDay, WindowMonth:
		return 1440, true
	}
	return 0, false
}

// Bounds of a query.
const (
	// MaxWindows bounds the windows of a range (a week of minutes).
	MaxWindows = 7 * 24 * 60
	// MaxRange bounds a range.
	MaxRange = 366 * 24 * time.Hour
	// MaxRows bounds the rows of an answer.
	MaxRows = 100_000
)

// GroupSubject is the group-by key of the actor that consumed.
const GroupSubject = "subject"

// Query asks for one meter's usage in one tenant over [From, To), in
// windows of Zone.
type Query struct {
	// TenantID is the tenant; "" is the caller's own (services must name
	// one).
	TenantID string
	Meter    string
	From, To time.Time
	Window   Window
	// GroupBy holds "subject" and dimensions of the meter.
	GroupBy []string
	// Subject keeps one actor's usage; it is also whose usage the
	// policies are asked about (Usage::"<subject>", else Usage::"tenant").
	Subject string
	// Filter keeps the usage whose dimension (a key, one of the meter's)
	// has one of the values; every dimension named must match.
	Filter map[string][]string
	// Zone is where hours, days and months begin; nil is UTC.
	Zone *time.Location
}

// Bounds of a query's filter.
const (
	// MaxFilterValues bounds the values of all filters together.
	MaxFilterValues = 32
)

// Row is one window of one group.
type Row struct {
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	Value       float64   `json:"value"`
	// Subject is set when grouping by subject.
	Subject *string `json:"subject,omitempty"`
	// GroupBy holds the values of the dimensions grouped by ("" when an
	// event did not have the field).
	GroupBy map[string]string `json:"group_by,omitempty"`
}

// Answer is a query's answer.
type Answer struct {
	TenantID    string      `json:"tenant_id"`
	Meter       string      `json:"meter"`
	Aggregation Aggregation `json:"aggregation"`
	From        time.Time   `json:"from"`
	To          time.Time   `json:"to"`
	Window      Window      `json:"window,omitempty"`
	// Zone is the tz the windows are in, when not UTC.
	Zone string `json:"tz,omitempty"`
	Rows []Row  `json:"data"`
}

func badQuery(field, format string, args ...any) error {
	return fault.Invalidf(field, CodeInvalidQuery, format, args...)
}

// Query answers q for ac when the policies permit ac to VIEW_USAGE of the
// subject, or of the tenant when q keeps no one subject.
func (s *Service) Query(ctx context.Context, ac identity.ActorContext, q Query) (Answer, error) {
	wm, ok := q.Window.minutes()
	if !ok {
		return Answer{}, badQuery("window", "window must be minute, hour, day or month")
	}
	if q.Meter == "" {
		return Answer{}, badQuery("meter", "meter is required")
	}
	if q.From.IsZero() || q.To.IsZero() {
		return Answer{}, badQuery("from", "from and to are required")
	}
	loc := q.Zone
	if loc == nil {
		loc = time.UTC
	}
	q.From, q.To = q.From.UTC(), q.To.UTC()
	if !q.From.Before(q.To) {
		return Answer{}, badQuery("to", "to must be after from")
	}
	if q.From.Unix() < 0 || q.To.Sub(q.From) > MaxRange {
		return Answer{}, badQuery("to", "a range lies after 1970 and spans at most %d days", MaxRange/(24*time.Hour))
	}
	if !q.Window.aligned(q.From, loc) || !q.Window.aligned(q.To, loc) {
		w := q.Window
		if w == WindowNone {
			w = WindowMinute
		}
		return Answer{}, badQuery("from", "from and to must be whole %ss in %s", w, loc)
	}
	if wm > 0 && (q.To.Unix()-q.From.Unix())/(wm*60) > MaxWindows {
		return Answer{}, badQuery("window", "at most %d windows; use a larger window or a shorter range", MaxWindows)
	}
	if err := checkFilter(q.Filter); err != nil {
		return Answer{}, err
	}
	parts, err := spans(q.From, q.To, loc)
	if err != nil {
		return Answer{}, err
	}
	tenantID, err := s.mayView(ctx, ac, q.TenantID, q.Subject)
	if err != nil {
		return Answer{}, err
	}
	ms, err := s.metersOf(ctx, tenantID)
	if err != nil {
		return Answer{}, err
	}
	m, ok := ms.Lookup(tenantID, q.Meter)
	if !ok {
		return Answer{}, fault.Invalidf("meter", CodeUnknownMeter, "no meter %q", truncate(q.Meter))
	}
	var dims []string
	bySubject := false
	for _, g := range q.GroupBy {
		switch {
		case g == GroupSubject:
			bySubject = true
		case slices.Contains(m.GroupBy, g) && !slices.Contains(dims, g):
			dims = append(dims, g)
		default:
			return Answer{}, badQuery("group_by", "meter %s groups by subject or %v, not %q", m.Name, m.GroupBy, truncate(g))
		}
	}
	for d := range q.Filter {
		if !slices.Contains(m.GroupBy, d) {
			return Answer{}, badQuery("filter", "meter %s filters on %v, not %q", m.Name, m.GroupBy, truncate(d))
		}
	}
	sq := StoreQuery{
		TenantID: tenantID, Meter: m.Name, Aggregation: m.Aggregation, WindowMinutes: wm,
		Subject: q.Subject, BySubject: bySubject, ByDims: len(dims) > 0 || len(q.Filter) > 0,
	}
	var all []Partial
	for _, sp := range parts {
		sq.FromMinute, sq.ToMinute, sq.OffsetMinutes = sp.from, sp.to, sp.offset
		sq.Hours = HourRange(sp.from, sp.to, wm, sp.offset)
		got, err := s.store.ReadUsage(ctx, sq)
		if err != nil {
			return Answer{}, err
		}
		for _, p := range got {
			keep, err := matches(p.Dims, q.Filter)
			if err != nil {
				return Answer{}, err
			}
			if !keep {
				continue
			}
			if wm == 0 {
				p.Window = q.From.Unix() / 60
			} else {
				p.Window = q.Window.windowStart(p.Window, sp.offset, loc)
			}
			all = append(all, p)
		}
	}
	sq.FromMinute, sq.ToMinute = q.From.Unix()/60, q.To.Unix()/60
	rows, err := merge(sq, m.Aggregation, dims, all)
	if err != nil {
		return Answer{}, err
	}
	if wm > 0 {
		for i := range rows {
			rows[i].WindowEnd = q.Window.windowEnd(rows[i].WindowStart, loc)
		}
	}
	return Answer{TenantID: tenantID, Meter: m.Name, Aggregation: m.Aggregation, From: q.From, To: q.To, Window: q.Window, Zone: zoneName(q.Zone), Rows: rows}, nil
}

// mayView asks the policies whether ac may VIEW_USAGE of subject, or of
// the tenant when subject is "", and returns the tenant asked about:
// tenantID, or the caller's own when "" (services must name one).
func (s *Service) mayView(ctx context.Context, ac identity.ActorContext, tenantID, subject string) (string, error) {
	if subject != "" && !validSubject(subject) {
		return "", badQuery("subject", `subject must be an actor id: "user:…", "agent:…" or "service:…"`)
	}
	if s.authz == nil {
		return "", fault.Forbiddenf(CodeViewDenied, "usage queries are not enabled")
	}
	resource := "tenant"
	if subject != "" {
		resource = subject
	}
	if tenantID == "" && ac.ActorType != identity.ActorService {
		tenantID = ac.TenantID
	}
	d, err := s.authz.Authorize(ctx, ac, tenantID, policy.Request{
		Principal: ac.ActorID, Action: "VIEW_USAGE", Resource: policy.ResourceRef{Type: policy.ResourceUsage, ID: resource},
	})
	if err != nil {
		return "", err
	}
	if !d.Permitted() {
		return "", fault.Forbiddenf(CodeViewDenied, "the policies do not permit viewing this usage (%s); an actor views its own usage with subject=<its actor id>", strings.Join(d.Reasons, ", "))
	}
	return tenantID, nil
}

// group accumulates one row.
type group struct {
	row       Row
	latestAt  int64
	latestKey string
	uniques   map[string]struct{}
	started   bool
}

// merge folds partials into rows: the store aggregates per full dimension
// set, and a query may group by fewer dimensions, so partials of one row
// are combined here by the meter's aggregation.
func merge(q StoreQuery, agg Aggregation, dims []string, parts []Partial) ([]Row, error) {
	groups := map[string]*group{}
	var order []string
	// A month by model is thousands of partials over a handful of
	// dimension sets: each set is parsed once.
	parsed := map[string]map[string]string{}
	for _, p := range parts {
		var all map[string]string
		if len(dims) > 0 {
			var ok bool
			if all, ok = parsed[p.Dims]; !ok {
				var err error
				if all, err = parseDims(p.Dims); err != nil {
					return nil, err
				}
				parsed[p.Dims] = all
			}
		}
		key := groupKey(p.Window, q.BySubject, p.Subject, dims, all)
		g := groups[key]
		if g == nil {
			var kv map[string]string
			if len(dims) > 0 {
				kv = make(map[string]string, len(dims))
				for _, d := range dims {
					kv[d] = all[d]
				}
			}
			if len(groups) == MaxRows {
				return nil, fault.Invalidf("", CodeResultTooLarge, "the answer would have more than %d rows; narrow the range, window or groups", MaxRows)
			}
			start := time.Unix(p.Window*60, 0).UTC()
			end := time.Unix((p.Window+q.WindowMinutes)*60, 0).UTC()
			if q.WindowMinutes == 0 {
				end = time.Unix(q.ToMinute*60, 0).UTC()
			}
			g = &group{row: Row{WindowStart: start, WindowEnd: end, GroupBy: kv}}
			if q.BySubject {
				subj := p.Subject
				g.row.Subject = &subj
			}
			groups[key] = g
			order = append(order, key)
		}
		switch agg {
		case Sum, Count:
			g.row.Value += p.Value
		case Max:
			if !g.started || p.Value > g.row.Value {
				g.row.Value = p.Value
			}
		case Latest:
			if !g.started || p.LatestAt > g.latestAt || (p.LatestAt == g.latestAt && p.LatestKey > g.latestKey) {
				g.row.Value, g.latestAt, g.latestKey = p.Value, p.LatestAt, p.LatestKey
			}
		case UniqueCount:
			if g.uniques == nil {
				g.uniques = map[string]struct{}{}
			}
			g.uniques[p.Unique] = struct{}{}
			g.row.Value = float64(len(g.uniques))
		}
		g.started = true
	}
	slices.Sort(order)
	rows := make([]Row, len(order))
	for i, k := range order {
		rows[i] = groups[k].row
	}
	return rows, nil
}

const zeros = "00000000000000000000"

// groupKey orders rows by window, then subject, then dimension values.
func groupKey(window int64, bySubject bool, subject string, dims []string, kv map[string]string) string {
	var b strings.Builder
	// Zero-padded to 20 digits, so that keys sort by window; without fmt,
	// which cost a fifth of a month's merge.
	if w := strconv.FormatInt(window, 10); window >= 0 && len(w) <= 20 {
		b.WriteString(zeros[:20-len(w)])
		b.WriteString(w)
	} else {
		fmt.Fprintf(&b, "%020d", window)
	}
	if bySubject {
		b.WriteString("\x00" + subject)
	}
	for _, d := range dims {
		b.WriteString("\x00" + kv[d])
	}
	return b.String()
}
