package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
)

// The files load writes into its folder for the script, wrk and check.
const (
	fileOPAData        = "opa-data.json"   // OPA's data document, {"tenants": …}
	fileTollgateBodies = "tollgate.bodies" // POST /v1/authorize bodies, one a line
	fileOPABodies      = "opa.bodies"      // POST /v1/data/… bodies, one a line
	fileExpected       = "expected.json"   // the reference decisions, in order
	fileServiceToken   = "service.token"   // a token with authz:check in every tenant
)

// ask is one question as Tollgate's API takes it; OPA gets it as input.
type ask struct {
	TenantID  string   `json:"tenant_id"`
	Principal string   `json:"principal"`
	Action    string   `json:"action"`
	Resource  resource `json:"resource"`
}

type resource struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

func (w *workload) ask(r request) ask {
	return ask{TenantID: w.tenants[r.tenant].id, Principal: w.actorIDs[r.principal], Action: r.action, Resource: resource{"channel", r.channel}}
}

func (w *workload) actors(us []int) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = w.actorIDs[u]
	}
	return out
}

// attrs are a channel's attributes as both engines hold them: absent
// visibility and roles are left out, not empty.
func (w *workload) attrs(ch channel) map[string]any {
	a := map[string]any{"members": w.actors(ch.members), "managers": w.actors(ch.managers)}
	if ch.visibility != "" {
		a["visibility"] = ch.visibility
	}
	if len(ch.roles) > 0 {
		a["roles"] = ch.roles
	}
	return a
}

// opaData is the data document OPA evaluates on: per tenant its status,
// members with their roles as granted (the policy adds the implied ones,
// as Tollgate's snapshot does) and channels with their attributes.
func (w *workload) opaData() map[string]any {
	tenants := map[string]any{}
	for _, tn := range w.tenants {
		members := map[string]any{}
		for _, u := range tn.users {
			members[w.actorIDs[u]] = map[string]any{"roles": tn.roles[u], "status": "active"}
		}
		channels := map[string]any{}
		for _, ch := range tn.channels {
			channels[ch.id] = w.attrs(ch)
		}
		tenants[tn.id] = map[string]any{"status": "active", "members": members, "channels": channels}
	}
	return map[string]any{"tenants": tenants}
}

// writeFiles writes the data document, the request bodies and the
// reference decisions into dir.
func (w *workload) writeFiles(dir string) error {
	if err := writeJSON(filepath.Join(dir, fileOPAData), w.opaData()); err != nil {
		return err
	}
	expected := make([]decision, len(w.requests))
	for i, r := range w.requests {
		expected[i] = w.reference(r)
	}
	if err := writeJSON(filepath.Join(dir, fileExpected), expected); err != nil {
		return err
	}
	return writeLines(filepath.Join(dir, fileTollgateBodies), filepath.Join(dir, fileOPABodies), w)
}

func writeLines(tollgatePath, opaPath string, w *workload) error {
	tf, err := os.Create(tollgatePath)
	if err != nil {
		return err
	}
	defer tf.Close()
	of, err := os.Create(opaPath)
	if err != nil {
		return err
	}
	defer of.Close()
	tb, ob := bufio.NewWriter(tf), bufio.NewWriter(of)
	te, oe := json.NewEncoder(tb), json.NewEncoder(ob)
	for _, r := range w.requests {
		a := w.ask(r)
		if err := te.Encode(a); err != nil {
			return err
		}
		if err := oe.Encode(map[string]any{"input": a}); err != nil {
			return err
		}
	}
	if err := tb.Flush(); err != nil {
		return err
	}
	if err := ob.Flush(); err != nil {
		return err
	}
	if err := tf.Close(); err != nil {
		return err
	}
	return of.Close()
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
