package stream_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tollgate/tollgate/store/postgres"
	"github.com/tollgate/tollgate/store/postgres/pgtest"
	"github.com/tollgate/tollgate/usage"
	"github.com/tollgate/tollgate/usage/stream"
)

// childEnv carries a replica's configuration to a re-executed test binary,
// which then runs only the consumer (see TestMain).
const childEnv = "TOLLGATE_TEST_USAGE_REPLICA"

type childConfig struct {
	NATS, DSN, Stream, Subjects, Consumer string
	Batch                                 int
	AckWait, MaxAge, DuplicateWindow      time.Duration
}

func TestMain(m *testing.M) {
	if cfg := os.Getenv(childEnv); cfg != "" {
		runReplica(cfg)
		return
	}
	os.Exit(m.Run())
}

// runReplica is a replica's process: it records the stream into the
// store and prints a line after each recorded batch, until it is killed.
func runReplica(cfg string) {
	var c childConfig
	if err := json.Unmarshal([]byte(cfg), &c); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx := context.Background()
	st, err := postgres.Open(ctx, c.DSN)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	svc := usage.NewService(usage.Deps{Store: st}, usage.Options{})
	out := make(chan string, 64)
	cons, err := stream.Connect(ctx, c.NATS, svc, stream.Options{
		Stream: c.Stream, Subjects: c.Subjects, Consumer: c.Consumer, Batch: c.Batch,
		AckWait: c.AckWait, MaxAge: c.MaxAge, DuplicateWindow: c.DuplicateWindow,
		Log:      slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Recorded: func(r usage.Result) { out <- fmt.Sprintf("recorded %d %d", r.Accepted, r.Duplicates) },
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Println("ready")
	go cons.Run(ctx)
	for line := range out {
		fmt.Println(line)
	}
}

// replica is a consumer running in a process of its own, so that it can
// be killed as a crash would.
type replica struct {
	cmd     *exec.Cmd
	batches chan struct{}
	exited  chan struct{}
}

func (f *fixture) startReplica(t *testing.T, dsn string) *replica {
	t.Helper()
	o := f.opts
	cfg, _ := json.Marshal(childConfig{NATS: f.url, DSN: dsn, Stream: o.Stream, Subjects: o.Subjects, Consumer: o.Consumer,
		Batch: o.Batch, AckWait: o.AckWait, MaxAge: o.MaxAge, DuplicateWindow: o.DuplicateWindow})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(cfg))
	cmd.Stderr = t.Output()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &replica{cmd: cmd, batches: make(chan struct{}, 1<<16), exited: make(chan struct{})}
	ready := make(chan struct{})
	go func() {
		defer close(r.exited)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if sc.Text() == "ready" {
				close(ready)
				continue
			}
			r.batches <- struct{}{}
		}
		_ = cmd.Wait()
	}()
	t.Cleanup(r.kill)
	select {
	case <-ready:
	case <-r.exited:
		t.Fatal("the replica exited before it was ready")
	case <-time.After(30 * time.Second):
		t.Fatal("the replica was not ready within 30s")
	}
	return r
}

// kill SIGKILLs the replica: no deferred function, drain or
// acknowledgement of its runs.
func (r *replica) kill() {
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.exited
}

// publishWithDuplicates publishes n events, every tenth a copy of an
// earlier one under a message id of its own (which the stream's window
// cannot catch), and returns the sum of the unique events' tokens. Each
// event's tokens differ, so an event lost or counted twice shows.
func (f *fixture) publishWithDuplicates(t *testing.T, from, n int) float64 {
	t.Helper()
	want := 0.0
	for i := from; i < from+n; i++ {
		j := i
		if i%10 == 9 {
			j = i - 9
		} else {
			want += float64(j + 1)
		}
		if _, err := f.js.PublishAsync(f.subject+".llm", event(fmt.Sprintf("e%06d", j), "svc", j+1)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-f.js.PublishAsyncComplete():
	case <-time.After(60 * time.Second):
		t.Fatal("publishes not acknowledged within 60s")
	}
	return want
}

// newPostgresFixture is a fixture on a fresh schema of the shared server,
// and the schema's URL for replicas in other processes.
func newPostgresFixture(t *testing.T) (*fixture, string) {
	t.Helper()
	natsURL(t)
	base := pgtest.URL(t)
	dsn, err := pgtest.WithSearchPath(base, pgtest.NewSchema(t, base))
	if err != nil {
		t.Fatal(err)
	}
	return newFixture(t, pgtest.OpenAt(t, dsn)), dsn
}

// TestReplicaKilledMidway: two replica processes on one durable consumer;
// one is SIGKILLed while it records, a fresh one takes its place. Every
// unique event counts once: the killed replica's unacknowledged messages
// are redelivered, and those it recorded without acknowledging are
// duplicates to the store.
func TestReplicaKilledMidway(t *testing.T) {
	f, dsn := newPostgresFixture(t)
	f.opts.Batch = 100
	f.opts.AckWait = 2 * time.Second
	// Create the stream and the consumer, then publish before any replica
	// runs, so that there is a backlog to be killed in the middle of.
	_ = f.connect(t).Close()
	const n = 20000
	want := f.publishWithDuplicates(t, 0, n)

	a := f.startReplica(t, dsn)
	_ = f.startReplica(t, dsn)
	for range 5 {
		select {
		case <-a.batches:
		case <-time.After(60 * time.Second):
			t.Fatal("replica a recorded nothing within 60s")
		}
	}
	a.kill()
	if got := f.total(t); got >= want {
		t.Fatalf("everything was recorded (%v) before the kill: nothing was tested", got)
	}
	_ = f.startReplica(t, dsn)
	f.drained(t)
	if got := f.total(t); got != want {
		t.Fatalf("total %v, want %v", got, want)
	}
}

// failing counts the recorder's failed transactions.
type failing struct {
	next     stream.Recorder
	failures atomic.Int64
}

func (r *failing) Record(ctx context.Context, batch []usage.Decoded) (usage.Result, error) {
	res, err := r.next.Record(ctx, batch)
	if err != nil {
		r.failures.Add(1)
	}
	return res, err
}

// TestDatabaseDownDuringIngestion: a private PostgreSQL stopped while
// events arrive. The consumer retries with backoff, acknowledges and
// terminates nothing meanwhile, and after the server is back every unique
// event counts exactly once.
func TestDatabaseDownDuringIngestion(t *testing.T) {
	natsURL(t)
	pg := pgtest.StartPrivate(t)
	ctx := context.Background()
	st := pgtest.OpenAt(t, pg.URL)
	f := newFixture(t, st)
	f.opts.Batch = 100
	rec := &failing{next: f.svc}
	c, err := stream.Connect(ctx, f.url, rec, f.opts)
	if err != nil {
		t.Fatal(err)
	}
	f.run(t, c)

	const n = 2000
	want := f.publishWithDuplicates(t, 0, n)
	f.drained(t)
	if got := f.total(t); got != want {
		t.Fatalf("before the outage: total %v, want %v", got, want)
	}

	pg.Stop(t)
	// Events of their own and copies of those already recorded.
	want += f.publishWithDuplicates(t, n, n)
	f.publishWithDuplicates(t, 0, n/2)
	waitFailures := func(k int64) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for rec.failures.Load() < k {
			if time.Now().After(deadline) {
				t.Fatalf("%d failed transactions within 60s, want %d", rec.failures.Load(), k)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFailures(2)
	before := f.consumerInfo(t)
	waitFailures(rec.failures.Load() + 3)
	during := f.consumerInfo(t)
	if during.AckFloor.Stream != before.AckFloor.Stream {
		t.Fatalf("acknowledged while the database was down: ack floor %d, then %d", before.AckFloor.Stream, during.AckFloor.Stream)
	}
	if unacked := during.NumPending + uint64(during.NumAckPending); unacked != n+n/2 {
		t.Fatalf("%d messages pending or unacknowledged while the database was down, want %d", unacked, n+n/2)
	}
	if got := c.Terminated(); got != 0 {
		t.Fatalf("terminated %d messages because the database was down", got)
	}

	pg.Start(t)
	f.drained(t)
	if got := f.total(t); got != want {
		t.Fatalf("after the outage: total %v, want %v", got, want)
	}
	if got := c.Terminated(); got != 0 {
		t.Fatalf("terminated %d messages", got)
	}
}

func (f *fixture) consumerInfo(t *testing.T) *jetstream.ConsumerInfo {
	t.Helper()
	cons, err := f.js.Consumer(t.Context(), f.opts.Stream, f.opts.Consumer)
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return info
}
