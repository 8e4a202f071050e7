package password

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/tollgate/tollgate/fault"
)

// workerEnv makes the test binary act as a hashing worker, the way the
// tollgate binary does for its hidden hash-worker command.
const workerEnv = "TOLLGATE_TEST_HASH_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) == "1" {
		if err := ServeWorker(os.Stdin, os.Stdout); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func newTestWorker(t *testing.T) *Worker {
	t.Helper()
	w := NewWorker(func() *exec.Cmd {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), workerEnv+"=1")
		return cmd
	}, nil)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func TestWorkerHashesAndVerifies(t *testing.T) {
	ctx := context.Background()
	w := newTestWorker(t)
	h, err := NewHasher(testParams, 4, WithWorker(w))
	if err != nil {
		t.Fatal(err)
	}
	legacy, _ := bcrypt.GenerateFromPassword([]byte("legacy secret"), 4)
	cases := []struct {
		name, plain, encoded string
		ok, rehash           bool
	}{
		{"argon2id right", "right horse battery", "", true, false},
		{"argon2id wrong", "wrong horse battery", "", false, false},
		{"bcrypt right", "legacy secret", string(legacy), true, true},
		{"bcrypt wrong", "legacy secrets", string(legacy), false, false},
	}
	own, err := h.Hash(ctx, "right horse battery")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			enc := c.encoded
			if enc == "" {
				enc = own
			}
			ok, rehash, err := h.Verify(ctx, c.plain, enc)
			if err != nil || ok != c.ok || rehash != c.rehash {
				t.Fatalf("Verify = %v, %v, %v; want %v, %v", ok, rehash, err, c.ok, c.rehash)
			}
		})
	}
	// A hash made in the worker verifies in process, and the reverse.
	local, _ := NewHasher(testParams, 1)
	if ok, _, err := local.Verify(ctx, "right horse battery", own); !ok || err != nil {
		t.Fatalf("worker hash does not verify locally: %v %v", ok, err)
	}
	// Many callers at once get their own answers.
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			plain := "right horse battery"
			if i%2 == 1 {
				plain = "wrong"
			}
			ok, _, err := h.Verify(ctx, plain, own)
			if err != nil || ok != (i%2 == 0) {
				t.Errorf("caller %d: %v %v", i, ok, err)
			}
		}(i)
	}
	wg.Wait()
}

func TestWorkerRestartsAfterCrash(t *testing.T) {
	ctx := context.Background()
	w := newTestWorker(t)
	h, _ := NewHasher(testParams, 1, WithWorker(w))
	enc, err := h.Hash(ctx, "before the crash")
	if err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	p := w.proc
	w.mu.Unlock()
	_ = p.cmd.Process.Kill()
	<-p.dead
	// The next call starts a new worker rather than failing for good.
	ok, _, err := h.Verify(ctx, "before the crash", enc)
	if err != nil || !ok {
		t.Fatalf("after crash: %v %v", ok, err)
	}
}

func TestWorkerThatCannotStart(t *testing.T) {
	w := NewWorker(func() *exec.Cmd { return exec.Command("/nonexistent/tollgate") }, nil)
	err := w.Start()
	if !errors.Is(err, &fault.Error{Code: "hasher_unavailable"}) {
		t.Fatalf("Start = %v", err)
	}
}
