package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/policy"
	"github.com/tollgate/tollgate/store"
)

func testPolicySetConcurrentAddOneWins(t *testing.T, s store.Store) {
	ctx := t.Context()
	newTenant(t, s, "t1", "user:alice")
	const writers, rounds = 8, 4
	for round := range int64(rounds) {
		errs := make([]error, writers)
		race(t, writers, func(i int) func() {
			ps := policySet("t1", fmt.Sprintf("// round %d writer %d", round, i), time.Duration(i)*time.Second)
			return func() { errs[i] = s.AddPolicySet(ctx, ps, round) }
		}, s)

		winner := oneWinner(t, round, errs, policy.CodePolicyVersionConflict)
		want := storedSet(policySet("t1", fmt.Sprintf("// round %d writer %d", round, winner), time.Duration(winner)*time.Second), round+1)
		check(t, fmt.Sprintf("round %d current", round), ok(s.CurrentPolicySet(ctx, "t1"))(t), want)
	}
	check(t, "versions", versionsOf(ok(s.ListPolicySetVersions(ctx, "t1", cursor.Page{}))(t)), []int64{4, 3, 2, 1})
}

func testPolicySetConcurrentTenantsNoConflict(t *testing.T, s store.Store) {
	ctx := t.Context()
	// Writers of different tenants never conflict.
	const n = 8
	for i := range n {
		newTenant(t, s, fmt.Sprintf("t%d", i), "user:alice")
	}
	errs := make([]error, n)
	race(t, n, func(i int) func() {
		return func() {
			for v := range int64(3) {
				if err := s.AddPolicySet(ctx, policySet(fmt.Sprintf("t%d", i), "// x", 0), v); err != nil {
					errs[i] = err
					return
				}
			}
		}
	}, s)
	for i, err := range errs {
		if err != nil {
			t.Errorf("tenant t%d: %v", i, err)
		}
		if v := ok(s.CurrentPolicySet(ctx, fmt.Sprintf("t%d", i)))(t).Version; v != 3 {
			t.Errorf("tenant t%d: version %d, want 3", i, v)
		}
	}
}

// oneWinner returns the index of the one writer of a concurrent round
// whose write succeeded, failing the test unless every other one failed
// with a Conflict of code.
func oneWinner(t *testing.T, round int64, errs []error, code fault.Code) int {
	t.Helper()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Errorf("round %d: writers %d and %d both succeeded", round, winner, i)
			}
			winner = i
		case fault.KindOf(err) == fault.Conflict && errors.Is(err, &fault.Error{Code: code}):
		default:
			t.Errorf("round %d writer %d: unexpected error %v", round, i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("round %d: no writer succeeded: %v", round, errs)
	}
	return winner
}
