package forward_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tollgate/tollgate/audit"
	"github.com/tollgate/tollgate/audit/forward"
	"github.com/tollgate/tollgate/ids"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/store/postgres/pgtest"
	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
)

const urlEnv = "TOLLGATE_TEST_NATS_URL"

// backends are the stores forwarded from; PostgreSQL joins when
// TOLLGATE_TEST_POSTGRES_URL is set.
var backends = []struct {
	name string
	open func(tb testing.TB) store.Store
}{
	{"sqlite", func(tb testing.TB) store.Store { return sqlitetest.Open(tb) }},
	{"postgres", func(tb testing.TB) store.Store { return pgtest.Open(tb) }},
}

// fixture is a JetStream stream and subject prefix of the test's own,
// deleted when it ends.
type fixture struct {
	url  string
	opts forward.Options
	js   jetstream.JetStream
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	url := os.Getenv(urlEnv)
	if url == "" {
		t.Skip(urlEnv + " not set: skipping JetStream tests")
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	f := &fixture{url: url, opts: forward.Options{
		Stream: "TEST_AUDIT_" + id, Prefix: "t" + id + ".audit", MaxAge: time.Hour, DuplicateWindow: time.Hour,
		Batch: 10, Lease: time.Minute,
	}}
	nc, err := natsgo.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	f.js, _ = jetstream.New(nc)
	t.Cleanup(func() {
		_ = f.js.DeleteStream(context.Background(), f.opts.Stream)
		nc.Close()
	})
	return f
}

func (f *fixture) connect(t *testing.T, st audit.ForwardStore, now time.Time) *forward.Forwarder {
	t.Helper()
	opts := f.opts
	opts.Now = func() time.Time { return now }
	fw, err := forward.Connect(t.Context(), f.url, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fw.Close() })
	return fw
}

// drain runs fw's rounds until nothing is left behind.
func drain(t *testing.T, fw *forward.Forwarder) {
	t.Helper()
	for range 100 {
		n, err := fw.RunOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	t.Fatal("the forwarder never caught up")
}

// published reads every message of the stream: per subject, the audit
// seqs in stream order.
func (f *fixture) published(t *testing.T) map[string][]int64 {
	t.Helper()
	ctx := t.Context()
	c, err := f.js.OrderedConsumer(ctx, f.opts.Stream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.js.Stream(ctx, f.opts.Stream)
	if err != nil {
		t.Fatal(err)
	}
	n := int(st.CachedInfo().State.Msgs)
	out := map[string][]int64{}
	for n > 0 {
		batch, err := c.Fetch(n, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			var line struct {
				Metadata struct {
					UID      string `json:"uid"`
					Sequence int64  `json:"sequence"`
				} `json:"metadata"`
			}
			if err := json.Unmarshal(m.Data(), &line); err != nil {
				t.Fatalf("%s: %v", m.Data(), err)
			}
			if got := m.Headers().Get(jetstream.MsgIDHeader); got != line.Metadata.UID {
				t.Fatalf("Nats-Msg-Id %q, event id %q", got, line.Metadata.UID)
			}
			out[m.Subject()] = append(out[m.Subject()], line.Metadata.Sequence)
			n--
		}
		if batch.Error() != nil {
			t.Fatal(batch.Error())
		}
	}
	return out
}

func events(tenant string, n int) []audit.Event {
	out := make([]audit.Event, n)
	for i := range out {
		out[i] = audit.Event{ID: ids.New(), TenantID: tenant, ActorID: "user:1", Action: audit.ActionMemberAdd,
			TargetType: "member", TargetID: fmt.Sprint("user:", i), Outcome: audit.Success}
	}
	return out
}

func seqs(from, to int64) []int64 {
	var out []int64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

// crashing is the real store, except that moving a cursor fails after
// the first move: a forwarder that published and died before recording it.
type crashing struct {
	audit.ForwardStore
	moves int
}

func (c *crashing) AdvanceAuditForward(ctx context.Context, owner, tenantID string, seq int64, now time.Time) (bool, error) {
	c.moves++
	if c.moves > 1 {
		return false, errors.New("crashed")
	}
	return c.ForwardStore.AdvanceAuditForward(ctx, owner, tenantID, seq, now)
}

// TestForwardRestartLeavesNoGap publishes two streams, kills the first
// forwarder after it published a batch it could not record, and lets a
// second one, started after the lease, finish: the broker holds every
// event once, in order.
func TestForwardRestartLeavesNoGap(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			f := newFixture(t)
			st := b.open(t)
			ctx := t.Context()
			if _, err := st.AppendAudit(ctx, append(events("t1", 25), events("", 3)...)); err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			first := f.connect(t, &crashing{ForwardStore: st}, now)
			if _, err := first.RunOnce(ctx); err == nil {
				t.Fatal("the crashing forwarder reported no error")
			}
			if _, err := first.RunOnce(ctx); err != nil {
				t.Fatalf("while its leases last, the crashed forwarder finds nothing to claim: %v", err)
			}
			if _, err := st.AppendAudit(ctx, events("t1", 5)); err != nil {
				t.Fatal(err)
			}
			second := f.connect(t, st, now.Add(2*f.opts.Lease))
			drain(t, second)
			got := f.published(t)
			want := map[string][]int64{
				f.opts.Prefix + ".t1":       seqs(1, 30),
				f.opts.Prefix + ".platform": seqs(1, 3),
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("published %v\nwant %v", got, want)
			}
		})
	}
}

func TestSubject(t *testing.T) {
	for _, c := range []struct{ tenant, want string }{
		{"", "audit.platform"},
		{"01jq4w8x3vabcdefghjkmnpqrs", "audit.01jq4w8x3vabcdefghjkmnpqrs"},
		{"t-1_A", "audit.t-1_A"},
		{"platform", "audit._706c6174666f726d"},
		{"a.b", "audit._612e62"},
		{"*", "audit._2a"},
		{">", "audit._3e"},
		{"_x", "audit._5f78"},
	} {
		if got := forward.Subject("audit", c.tenant); got != c.want {
			t.Errorf("Subject(%q) = %q, want %q", c.tenant, got, c.want)
		}
	}
}
