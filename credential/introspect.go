package credential

import (
	"context"

	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

// Introspect answers, for a service that cannot verify credentials itself,
// whether raw is an active credential and whose it is (RFC 7662). Only
// services and platform admins may ask. A credential that is refused for
// any reason is simply inactive (ok false), so the answer never says why;
// only a store or policy failure is an error. A service learns nothing of
// the credentials of tenants it does not serve: they too are inactive to
// it (RFC 7662 §4 lets the server answer so).
func (r *Resolver) Introspect(ctx context.Context, asker identity.ActorContext, raw string) (ac identity.ActorContext, ok bool, err error) {
	if err := r.MayIntrospect(ctx, asker); err != nil {
		return identity.ActorContext{}, false, err
	}
	if raw == "" {
		return identity.ActorContext{}, false, fault.Invalidf("token", CodeTokenRequired, "token is required")
	}
	ac, err = r.Resolve(ctx, raw)
	if err != nil {
		if k := fault.KindOf(err); k == fault.Internal || k == fault.Unavailable {
			return identity.ActorContext{}, false, err
		}
		return identity.ActorContext{}, false, nil
	}
	if asker.ActorType == identity.ActorService && ac.TenantID != "" && !asker.Serves(ac.TenantID) {
		return identity.ActorContext{}, false, nil
	}
	return ac, true, nil
}

// MayIntrospect refuses askers that may not Introspect, so that their
// requests are refused before their bodies are read.
func (r *Resolver) MayIntrospect(ctx context.Context, asker identity.ActorContext) error {
	if asker.ActorType != identity.ActorService && !r.d.Rights.IsPlatformAdmin(ctx, asker.Caller()) {
		return fault.Forbiddenf(CodeIntrospectionNotAllowed, "only services and platform admins may introspect credentials")
	}
	return nil
}
