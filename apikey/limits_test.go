package apikey_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tollgate/tollgate/apikey"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

func TestCreateKeyLimit(t *testing.T) {
	const limit = 2
	cases := []struct {
		name string
		// setup makes keys before the member makes hers, up to the limit.
		setup func(t *testing.T, w *world)
	}{
		{"holder reaches the limit", func(*testing.T, *world) {}},
		{"revoked keys do not count", func(t *testing.T, w *world) {
			k, _ := w.create(t, w.memberS, apikey.NewKey{})
			must(t, w.keys.Revoke(w.ctx, w.memberS, k.ID))
		}},
		{"expired keys do not count", func(t *testing.T, w *world) {
			exp := w.clock.Now().Add(time.Hour)
			w.create(t, w.memberS, apikey.NewKey{ExpiresAt: &exp})
			w.clock.Advance(2 * time.Hour)
		}},
		{"another holder's keys do not count", func(t *testing.T, w *world) {
			w.create(t, w.adminS, apikey.NewKey{})
			w.create(t, w.adminS, apikey.NewKey{})
		}},
		{"another tenant's keys do not count", func(t *testing.T, w *world) {
			w.create(t, w.outBS, apikey.NewKey{TenantID: w.tenantB})
			w.create(t, w.outBS, apikey.NewKey{TenantID: w.tenantB})
		}},
		{"the member's agent's keys do not count", func(t *testing.T, w *world) {
			w.create(t, w.memberS, apikey.NewKey{ActorID: w.agent.ActorID()})
			w.create(t, w.memberS, apikey.NewKey{ActorID: w.agent.ActorID()})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorldWith(t, apikey.Options{MaxKeysPerActor: limit})
			tc.setup(t, w)
			for range limit {
				w.create(t, w.memberS, apikey.NewKey{})
			}
			_, _, err := w.keys.Create(w.ctx, w.memberS, apikey.NewKey{TenantID: w.tenantA, Name: "one too many"})
			wantFault(t, err, fault.Conflict, string(identity.CodeLimitReached), "")
			var fe *fault.Error
			if errors.As(err, &fe); !strings.Contains(fe.Detail, "max_api_keys_per_actor is 2") {
				t.Errorf("detail %q does not name the limit", fe.Detail)
			}
		})
	}
}

func TestCreateKeyNoLimit(t *testing.T) {
	w := newWorldWith(t, apikey.Options{MaxKeysPerActor: 0})
	for range 5 {
		w.create(t, w.memberS, apikey.NewKey{})
	}
}

func TestCreateKeyLimitPerAgent(t *testing.T) {
	w := newWorldWith(t, apikey.Options{MaxKeysPerActor: 1})
	w.create(t, w.memberS, apikey.NewKey{ActorID: w.agent.ActorID()})
	_, _, err := w.keys.Create(w.ctx, w.memberS, apikey.NewKey{TenantID: w.tenantA, Name: "k", ActorID: w.agent.ActorID()})
	wantFault(t, err, fault.Conflict, string(identity.CodeLimitReached), "")
}
