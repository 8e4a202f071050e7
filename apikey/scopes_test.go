package apikey_test

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/tollgate/tollgate/apikey"
	"github.com/tollgate/tollgate/cursor"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/identity"
)

// scopedSet is a world where the admin holds keys of several scopes, the
// admin's agent holds a wide key, and the owner holds an owners:write key.
type scopedSet struct {
	*world
	t                                                 *testing.T
	wide, narrow, reader, writer, agentWide, ownerKey apikey.Key
}

func newScopedSet(t *testing.T) *scopedSet {
	t.Helper()
	w := newWorld(t)
	ss := &scopedSet{world: w, t: t}
	ss.wide, _ = w.create(t, w.adminS, apikey.NewKey{Name: "deploy", Scopes: []string{"apikeys:write", "members:write", "tenant:read"}})
	ss.narrow, _ = w.create(t, w.adminS, apikey.NewKey{Name: "ci", Scopes: []string{"tenant:read"}})
	ss.reader, _ = w.create(t, w.adminS, apikey.NewKey{Name: "audit", Scopes: []string{"apikeys:read", "tenant:read"}})
	ss.writer, _ = w.create(t, w.adminS, apikey.NewKey{Name: "rotator", Scopes: []string{"apikeys:write", "tenant:read"}})
	ss.agentWide, _ = w.create(t, w.adminS, apikey.NewKey{Name: "agent's", ActorID: w.adminsAgent.ActorID(), Scopes: []string{"apikeys:write", "members:write", "tenant:read"}})
	ss.ownerKey, _ = w.create(t, w.ownerS, apikey.NewKey{Name: "owner's", Scopes: []string{"owners:write", "tenant:read"}})
	w.events.Take()
	return ss
}

// delegated is the admin's agent acting for the admin with a token
// exchanged with its wide key, narrowed to scopes.
func (ss *scopedSet) delegated(scopes ...string) identity.ActorContext {
	return identity.ActorContext{
		ActorID: ss.adminsAgent.ActorID(), ActorType: identity.ActorAgent, TenantID: ss.tenantA,
		Credential: identity.CredentialDelegation, CredentialID: ss.agentWide.ID, OnBehalfOf: ss.admin.ActorID(),
		Scopes: scopes, Permissions: scopes,
	}
}

// TestBoundedCredentialsActOnTheirHoldersKeysOnlyWithTheirScopes walks the
// acts on a key by a person's session, their keys and their agent's
// delegated tokens: a key or delegated token gets no owner's shortcut, and
// no rotation hands out a secret wider than the caller's credential.
func TestBoundedCredentialsActOnTheirHoldersKeysOnlyWithTheirScopes(t *testing.T) {
	type op int
	const (
		get op = iota
		revoke
		rotate
		setRateLimit
	)
	ops := map[op]string{get: "get", revoke: "revoke", rotate: "rotate", setRateLimit: "set rate limit"}
	notFound, denied, exceeds, adminOnly := "api_key_not_found", "permission_denied", "scope_exceeds_rights", "platform_admin_required"
	for _, c := range []struct {
		name   string
		caller func(ss *scopedSet) identity.ActorContext
		op     op
		key    func(ss *scopedSet) apikey.Key
		code   string // "" allowed
	}{
		// A tenant:read key of the admin.
		{"narrow key reads itself", narrowS, get, narrowK, ""},
		{"narrow key reads its holder's other key", narrowS, get, wideK, notFound},
		{"narrow key revokes its holder's other key", narrowS, revoke, wideK, denied},
		{"narrow key revokes itself", narrowS, revoke, narrowK, denied},
		{"narrow key rotates its holder's wider key", narrowS, rotate, wideK, denied},
		{"narrow key rotates itself", narrowS, rotate, narrowK, denied},
		{"narrow key rotates its holder's agent's key", narrowS, rotate, agentWideK, denied},
		{"narrow key sets its holder's other key's limit", narrowS, setRateLimit, wideK, adminOnly},
		{"narrow key sets another's key's limit", narrowS, setRateLimit, ownerK, notFound},
		// Keys with apikeys:read or apikeys:write.
		{"apikeys:read key reads its holder's other key", readerS, get, wideK, ""},
		{"apikeys:read key reads the owner's key", readerS, get, ownerK, ""},
		{"apikeys:read key revokes its holder's other key", readerS, revoke, wideK, denied},
		{"apikeys:write key reads its holder's other key", writerS, get, wideK, notFound},
		{"apikeys:write key revokes its holder's other key", writerS, revoke, wideK, ""},
		{"apikeys:write key rotates itself", writerS, rotate, writerK, ""},
		{"apikeys:write key rotates a narrower key", writerS, rotate, narrowK, ""},
		{"apikeys:write key rotates a wider key", writerS, rotate, wideK, exceeds},
		{"apikeys:write key rotates the owner's key", writerS, rotate, ownerK, notFound},
		// The admin's agent, delegated by the admin.
		{"tenant:read delegated token reads its agent's key", delegatedS("tenant:read"), get, agentWideK, notFound},
		{"tenant:read delegated token revokes its agent's key", delegatedS("tenant:read"), revoke, agentWideK, denied},
		{"tenant:read delegated token rotates its agent's key", delegatedS("tenant:read"), rotate, agentWideK, denied},
		{"tenant:read delegated token sets its agent's key's limit", delegatedS("tenant:read"), setRateLimit, agentWideK, adminOnly},
		{"apikeys:write delegated token rotates its agent's wider key", delegatedS("apikeys:write", "tenant:read"), rotate, agentWideK, exceeds},
		{"delegated token as wide as the key rotates it", delegatedS("apikeys:write", "members:write", "tenant:read"), rotate, agentWideK, ""},
		// People in their own sessions.
		{"the admin rotates their own key", adminS, rotate, wideK, ""},
		{"the admin rotates their agent's key", adminS, rotate, agentWideK, ""},
		{"the admin revokes their own key", adminS, revoke, wideK, ""},
		{"the admin rotates the owner's owners:write key", adminS, rotate, ownerK, exceeds},
		{"the admin revokes the owner's key", adminS, revoke, ownerK, ""},
		{"the owner rotates the admin's key", ownerS, rotate, wideK, ""},
	} {
		t.Run(c.name+" ("+ops[c.op]+")", func(t *testing.T) {
			ss := newScopedSet(t)
			ac, k := c.caller(ss), c.key(ss)
			var err error
			var raw string
			switch c.op {
			case get:
				_, err = ss.keys.Get(ss.ctx, ac, k.ID)
			case revoke:
				err = ss.keys.Revoke(ss.ctx, ac, k.ID)
			case rotate:
				_, raw, err = ss.keys.Rotate(ss.ctx, ac, k.ID, time.Minute)
			case setRateLimit:
				_, err = ss.keys.SetRateLimit(ss.ctx, ac, k.ID, "5/1m")
			}
			got := ss.stored(t, k.ID)
			if c.code == "" {
				must(t, err)
				return
			}
			kind := fault.Forbidden
			if c.code == notFound {
				kind = fault.NotFound
			}
			wantFault(t, err, kind, c.code, "")
			if raw != "" || !bytes.Equal(got.Hash, k.Hash) || got.RevokedAt != nil || got.RateLimit != "" {
				t.Fatalf("a refused %s changed the key or handed out a secret: %+v", ops[c.op], got)
			}
			if ev := ss.events.Take(); len(ev) != 0 {
				t.Fatalf("a refused %s announced %v", ops[c.op], ev)
			}
		})
	}
}

// TestListShowsABoundedCredentialWithoutApikeysReadOnlyItself: in their
// session people list their own keys and their agents'; a key without
// apikeys:read lists only itself, and a delegated token without it none.
func TestListShowsABoundedCredentialWithoutApikeysReadOnlyItself(t *testing.T) {
	ss := newScopedSet(t)
	must(t, ss.keys.Revoke(ss.ctx, ss.adminS, ss.writer.ID))
	sorted := func(ids ...string) []string { return slices.Sorted(slices.Values(ids)) }
	adminsLive := sorted(ss.wide.ID, ss.narrow.ID, ss.reader.ID)
	for _, c := range []struct {
		name           string
		caller         identity.ActorContext
		actorID        string
		includeRevoked bool
		after          string
		want           []string
	}{
		{"the admin's session", ss.adminS, ss.admin.ActorID(), false, "", adminsLive},
		{"the admin's apikeys:read key", ss.keyCaller(t, ss.reader), ss.admin.ActorID(), false, "", adminsLive},
		{"the narrow key", ss.keyCaller(t, ss.narrow), "", false, "", []string{ss.narrow.ID}},
		{"the narrow key, by its holder", ss.keyCaller(t, ss.narrow), ss.admin.ActorID(), false, "", []string{ss.narrow.ID}},
		{"the narrow key, by another holder", ss.keyCaller(t, ss.narrow), ss.owner.ActorID(), false, "", nil},
		{"the narrow key, after itself", ss.keyCaller(t, ss.narrow), "", false, ss.narrow.ID, nil},
		{"the narrow key, before itself", ss.keyCaller(t, ss.narrow), "", false, "0", []string{ss.narrow.ID}},
		{"a tenant:read delegated token", ss.delegated("tenant:read"), "", true, "", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			list, err := ss.keys.List(ss.ctx, c.caller, ss.tenantA, c.actorID, c.includeRevoked, cursor.Page{After: c.after})
			must(t, err)
			var got []string
			for _, k := range list {
				got = append(got, k.ID)
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("listed %v, want %v", got, c.want)
			}
		})
	}
}

func narrowS(ss *scopedSet) identity.ActorContext { return ss.keyCaller(ss.t, ss.narrow) }
func readerS(ss *scopedSet) identity.ActorContext { return ss.keyCaller(ss.t, ss.reader) }
func writerS(ss *scopedSet) identity.ActorContext { return ss.keyCaller(ss.t, ss.writer) }
func adminS(ss *scopedSet) identity.ActorContext  { return ss.adminS }
func ownerS(ss *scopedSet) identity.ActorContext  { return ss.ownerS }
func delegatedS(scopes ...string) func(ss *scopedSet) identity.ActorContext {
	return func(ss *scopedSet) identity.ActorContext { return ss.delegated(scopes...) }
}

func narrowK(ss *scopedSet) apikey.Key    { return ss.narrow }
func wideK(ss *scopedSet) apikey.Key      { return ss.wide }
func writerK(ss *scopedSet) apikey.Key    { return ss.writer }
func agentWideK(ss *scopedSet) apikey.Key { return ss.agentWide }
func ownerK(ss *scopedSet) apikey.Key     { return ss.ownerKey }
