package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/store"
)

// check fails t when got differs from want. Times compare by instant and
// must come back in UTC; a nil slice equals an empty one, since backends
// need not agree on which they return.
func check(t *testing.T, what string, got, want any) {
	t.Helper()
	var b strings.Builder
	walk(&b, what, reflect.ValueOf(got), reflect.ValueOf(want))
	if b.Len() > 0 {
		t.Errorf("%s mismatch:\n%s", what, b.String())
	}
}

var timeType = reflect.TypeFor[time.Time]()

func walk(b *strings.Builder, path string, got, want reflect.Value) {
	if got.Type() == timeType {
		g, w := got.Interface().(time.Time), want.Interface().(time.Time)
		switch {
		case !g.Equal(w):
			fmt.Fprintf(b, "  %s: got %s, want %s\n", path, g.Format(time.RFC3339Nano), w.Format(time.RFC3339Nano))
		case g.Location() != time.UTC:
			fmt.Fprintf(b, "  %s: got location %s, want UTC\n", path, g.Location())
		}
		return
	}
	switch got.Kind() {
	case reflect.Struct:
		for i := range got.NumField() {
			walk(b, path+"."+got.Type().Field(i).Name, got.Field(i), want.Field(i))
		}
	case reflect.Pointer:
		switch {
		case got.IsNil() && want.IsNil():
		case got.IsNil() || want.IsNil():
			fmt.Fprintf(b, "  %s: got nil=%t, want nil=%t\n", path, got.IsNil(), want.IsNil())
		default:
			walk(b, path, got.Elem(), want.Elem())
		}
	case reflect.Slice:
		if got.Type().Elem().Kind() == reflect.Uint8 {
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				fmt.Fprintf(b, "  %s: got %x, want %x\n", path, got.Bytes(), want.Bytes())
			}
			return
		}
		if got.Len() != want.Len() {
			fmt.Fprintf(b, "  %s: got %d items %v, want %d items %v\n", path, got.Len(), got, want.Len(), want)
			return
		}
		for i := range got.Len() {
			walk(b, fmt.Sprintf("%s[%d]", path, i), got.Index(i), want.Index(i))
		}
	default:
		if !reflect.DeepEqual(got.Interface(), want.Interface()) {
			fmt.Fprintf(b, "  %s: got %#v, want %#v\n", path, got.Interface(), want.Interface())
		}
	}
}

// wantFault fails t unless err is a *fault.Error of kind with code.
func wantFault(t *testing.T, err error, kind fault.Kind, code fault.Code) {
	t.Helper()
	var fe *fault.Error
	if !errors.As(err, &fe) {
		t.Fatalf("err = %v (%T), want %s %q", err, err, kind, code)
	}
	if fe.Kind != kind || fe.Code != code {
		t.Fatalf("err = %v, want %s %q", err, kind, code)
	}
	// The way callers match: by code.
	if !errors.Is(err, &fault.Error{Code: code}) {
		t.Fatalf("errors.Is(%v, code %q) = false", err, code)
	}
}

func wantNotFound(t *testing.T, err error, code fault.Code) {
	t.Helper()
	wantFault(t, err, fault.NotFound, code)
}

func wantConflict(t *testing.T, err error, code fault.Code) {
	t.Helper()
	wantFault(t, err, fault.Conflict, code)
}

// must fails t on a non-nil err.
func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

// ok returns v once t has checked that err is nil; it reads as
// ok(s.GetTenant(ctx, id))(t).
func ok[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

// race runs n goroutines released at once: ready(i) prepares the i-th
// before the start and returns what it runs after it. Every store given is
// warmed up first, so that the goroutines race instead of queueing for
// connections. It returns when all have run.
func race(t *testing.T, n int, ready func(i int) func(), stores ...store.Store) {
	t.Helper()
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		run := ready(i)
		wg.Go(func() {
			<-start
			run()
		})
	}
	for _, s := range stores {
		warmUp(t, s)
	}
	close(start)
	wg.Wait()
}

// warmUp opens connections before a race: a pooled backend would otherwise
// spend the race dialling, serving the first goroutines one by one on the
// idle connection it has.
func warmUp(t *testing.T, s store.Store) {
	t.Helper()
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if err := s.Ping(t.Context()); err != nil {
				t.Errorf("ping: %v", err)
			}
		})
	}
	wg.Wait()
}
