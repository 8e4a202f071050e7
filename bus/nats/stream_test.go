package nats

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestEnsureStream(t *testing.T) {
	nc, err := natsgo.Connect(serverURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	prefix := randomPrefix()
	spec := StreamSpec{Name: strings.ToUpper(prefix), Description: "test", Subjects: prefix + ".>", MaxAge: time.Hour, DuplicateWindow: time.Minute}
	t.Cleanup(func() { _ = js.DeleteStream(context.Background(), spec.Name) })

	t.Run("replicas starting together make one stream", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Go(func() { _, errs[i] = EnsureStream(t.Context(), js, spec) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("replica %d: %v", i, err)
			}
		}
		cfg := must(js.Stream(t.Context(), spec.Name))(t).CachedInfo().Config
		if cfg.MaxAge != spec.MaxAge || cfg.Duplicates != spec.DuplicateWindow || cfg.Retention != jetstream.LimitsPolicy || cfg.Storage != jetstream.FileStorage {
			t.Fatalf("config %+v", cfg)
		}
	})
	t.Run("an existing stream keeps the operator's limits", func(t *testing.T) {
		other := spec
		other.MaxAge = 2 * time.Hour
		st := must(EnsureStream(t.Context(), js, other))(t)
		if got := st.CachedInfo().Config.MaxAge; got != spec.MaxAge {
			t.Fatalf("max age %v, want the existing %v", got, spec.MaxAge)
		}
	})
	t.Run("a stream that does not capture the subjects is refused", func(t *testing.T) {
		other := spec
		other.Subjects = prefix + "x.>"
		if _, err := EnsureStream(t.Context(), js, other); err == nil || !strings.Contains(err.Error(), "does not capture") {
			t.Fatalf("err %v", err)
		}
	})
}

func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}
