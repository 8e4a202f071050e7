package outbox_test

import (
	"context"
	"slices"
	"testing"

	"github.com/tollgate/tollgate/outbox"
)

type note string
type other int

func TestRecordsTravelByType(t *testing.T) {
	ctx := context.Background()
	if outbox.Pending[note](ctx) || outbox.Take[note](ctx) != nil {
		t.Fatal("an empty context carries records")
	}
	outbox.Restore(ctx, []note{"lost"}) // nothing to restore into: a no-op

	ctx = outbox.Add(ctx, note("a"))
	ctx = outbox.Add(ctx, note("b"), note("c"))
	ctx = outbox.Add(ctx, other(1))
	if !outbox.Pending[note](ctx) || !outbox.Pending[other](ctx) {
		t.Fatal("records added are not pending")
	}
	got := outbox.Take[note](ctx)
	if !slices.Equal(got, []note{"a", "b", "c"}) {
		t.Fatalf("took %v, want the act's records in order", got)
	}
	if outbox.Pending[note](ctx) || outbox.Take[note](ctx) != nil {
		t.Fatal("records are taken twice")
	}
	if !slices.Equal(outbox.Take[other](ctx), []other{1}) {
		t.Fatal("another type's records were lost")
	}

	// A failed transaction gives its records back, ahead of later ones.
	ctx = outbox.Add(ctx, note("d"))
	outbox.Restore(ctx, got)
	if got := outbox.Take[note](ctx); !slices.Equal(got, []note{"a", "b", "c", "d"}) {
		t.Fatalf("after restore took %v", got)
	}
}
