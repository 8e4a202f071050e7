package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// The population issue 16 names: 100 tenants of 100 users, 10 channels a
// tenant, and 10,000 requests.
const (
	numTenants        = 100
	usersPerTenant    = 100
	adminsPerTenant   = 5
	channelsPerTenant = 10
	membersPerChannel = 15
	numRequests       = 10_000
)

// workload is the generated data and requests, in logical terms: users are
// indexes until Tollgate gives them actor ids (actorIDs, filled by load).
type workload struct {
	tenants  []tenant
	requests []request
	// actorIDs[u] is user u's actor id in Tollgate ("user:<id>").
	actorIDs []string
}

type tenant struct {
	slug string
	id   string // Tollgate's, filled by load
	// users are the tenant's user indexes; the first is its owner.
	users    []int
	roles    map[int][]string // by user index: owner, admin or member
	channels []channel
}

type channel struct {
	id string
	// visibility is "public", "private" or "" (absent).
	visibility string
	members    []int // user indexes; a few are other tenants' users (guests)
	managers   []int
	roles      []string
}

type request struct {
	tenant    int
	principal int
	action    string
	channel   string
}

// decision is a reference answer: permit or deny and the ids of the
// policies that decided, sorted.
type decision struct {
	Decision string   `json:"decision"`
	Reasons  []string `json:"reasons"`
}

func userEmail(u int) string { return fmt.Sprintf("u%05d@bench.test", u) }

// generate makes the workload from seed: the same seed, the same data.
func generate(seed uint64) *workload {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	w := &workload{}
	for t := range numTenants {
		tn := tenant{slug: fmt.Sprintf("bench-%03d", t), roles: map[int][]string{}}
		for i := range usersPerTenant {
			u := t*usersPerTenant + i
			tn.users = append(tn.users, u)
			switch {
			case i == 0:
				tn.roles[u] = []string{"owner"}
			case i <= adminsPerTenant:
				tn.roles[u] = []string{"admin"}
			default:
				tn.roles[u] = []string{"member"}
			}
		}
		for c := range channelsPerTenant {
			ch := channel{id: fmt.Sprintf("channel-%02d", c)}
			switch c % 10 {
			case 0, 1, 2, 3:
				ch.visibility = "public"
			case 4, 5, 6, 7:
				ch.visibility = "private"
			}
			for _, i := range rng.Perm(usersPerTenant)[:membersPerChannel] {
				ch.members = append(ch.members, tn.users[i])
			}
			if rng.IntN(5) == 0 { // a guest from another tenant
				ch.members = append(ch.members, rng.IntN(numTenants*usersPerTenant))
			}
			ch.managers = []int{tn.users[rng.IntN(usersPerTenant)]}
			if rng.IntN(5) == 0 {
				ch.roles = []string{"admin"}
			}
			tn.channels = append(tn.channels, ch)
		}
		w.tenants = append(w.tenants, tn)
	}
	actions := []string{"READ", "READ", "READ", "SEND_MESSAGE", "SEND_MESSAGE", "MANAGE"}
	// Services mostly ask about people in the channel: 60 % of the
	// principals are its members, 30 % anyone of the tenant, 10 % anyone.
	for range numRequests {
		t := rng.IntN(numTenants)
		ch := w.tenants[t].channels[rng.IntN(channelsPerTenant)]
		r := request{tenant: t, action: actions[rng.IntN(len(actions))], channel: ch.id}
		switch n := rng.IntN(10); {
		case n < 6:
			r.principal = ch.members[rng.IntN(len(ch.members))]
		case n < 9:
			r.principal = w.tenants[t].users[rng.IntN(usersPerTenant)]
		default:
			r.principal = rng.IntN(numTenants * usersPerTenant)
		}
		if rng.IntN(50) == 0 {
			r.channel = "unregistered"
		}
		w.requests = append(w.requests, r)
	}
	return w
}

// impliedRoles: an owner is an admin and a member, an admin a member.
func impliedRoles(roles []string) []string {
	var out []string
	for _, r := range roles {
		switch r {
		case "owner":
			out = append(out, "owner", "admin", "member")
		case "admin":
			out = append(out, "admin", "member")
		default:
			out = append(out, r)
		}
	}
	return out
}

// reference decides r as Tollgate's shipped channel defaults say in
// words (docs/policy.md), written here without either engine, so that
// both are checked against a third party.
func (w *workload) reference(r request) decision {
	tn := &w.tenants[r.tenant]
	i := slices.IndexFunc(tn.channels, func(c channel) bool { return c.id == r.channel })
	if i < 0 {
		return decision{"deny", []string{"default_deny"}}
	}
	ch := tn.channels[i]
	roles := impliedRoles(tn.roles[r.principal]) // none for an outsider
	readOrSend := r.action == "READ" || r.action == "SEND_MESSAGE"
	var reasons []string
	if readOrSend && slices.Contains(ch.members, r.principal) {
		reasons = append(reasons, "channel_member")
	}
	if readOrSend && slices.ContainsFunc(ch.roles, func(role string) bool { return slices.Contains(roles, role) }) {
		reasons = append(reasons, "channel_role")
	}
	if slices.Contains(ch.managers, r.principal) {
		reasons = append(reasons, "channel_manager")
	}
	if r.action == "READ" && ch.visibility == "public" && slices.Contains(roles, "member") {
		reasons = append(reasons, "channel_public")
	}
	if r.action == "MANAGE" && slices.Contains(roles, "admin") {
		reasons = append(reasons, "channel_admin")
	}
	if len(reasons) == 0 {
		return decision{"deny", []string{"default_deny"}}
	}
	slices.Sort(reasons)
	return decision{"permit", reasons}
}
