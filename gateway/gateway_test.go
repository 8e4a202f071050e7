package gateway

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tollgate/tollgate/policy"
)

var testActions = []string{"SEND_MESSAGE", "READ", "MANAGE", "EXECUTE_TOOL"}

const sample = `
routes:
  - {method: POST, path: "/channels/{id}/messages", action: SEND_MESSAGE, resource: {type: channel, id: "{id}"}}
  - {method: GET,  path: "/channels/{id}/messages", action: READ,         resource: {type: channel, id: "{id}"}}
  - {method: PATCH, path: "/channels/{id}", action: MANAGE, resource: {type: channel, id: "{id}"}}
  - {method: POST, path: "/tools/{ns}/{name}/invoke", action: EXECUTE_TOOL, resource: {type: tool, id: "{ns}.{name}"}}
  - {method: GET, path: "/files/{rest...}", action: READ, resource: {type: channel, id: "files"}}
  - {method: GET, path: "/exact/{$}", action: READ, resource: {type: channel, id: "exact"}}
`

func TestMatch(t *testing.T) {
	tab, err := Parse("routes.yaml", []byte(sample), testActions)
	if err != nil {
		t.Fatal(err)
	}
	if tab.Len() != 6 {
		t.Fatalf("len = %d", tab.Len())
	}
	for _, c := range []struct {
		method, uri string
		ok          bool
		action      string
		res         policy.ResourceRef
		index       int
	}{
		{"POST", "/channels/c1/messages", true, "SEND_MESSAGE", policy.ResourceRef{Type: "channel", ID: "c1"}, 0},
		{"POST", "/channels/c1/messages?x=1&y=/../", true, "SEND_MESSAGE", policy.ResourceRef{Type: "channel", ID: "c1"}, 0},
		{"GET", "/channels/c%201/messages", true, "READ", policy.ResourceRef{Type: "channel", ID: "c 1"}, 1},
		{"HEAD", "/channels/c1/messages", true, "READ", policy.ResourceRef{Type: "channel", ID: "c1"}, 1},
		{"PATCH", "/channels/c1", true, "MANAGE", policy.ResourceRef{Type: "channel", ID: "c1"}, 2},
		{"POST", "/tools/web/search/invoke", true, "EXECUTE_TOOL", policy.ResourceRef{Type: "tool", ID: "web.search"}, 3},
		{"GET", "/files/a/b/c", true, "READ", policy.ResourceRef{Type: "channel", ID: "files"}, 4},
		{"GET", "/exact/", true, "READ", policy.ResourceRef{Type: "channel", ID: "exact"}, 5},
		// Fail closed.
		{"GET", "/exact/more", false, "", policy.ResourceRef{}, 0},
		{"DELETE", "/channels/c1", false, "", policy.ResourceRef{}, 0},
		{"GET", "/channels/c1", false, "", policy.ResourceRef{}, 0},
		{"GET", "/nothing", false, "", policy.ResourceRef{}, 0},
		{"GET", "/channels/c1/../c2/messages", false, "", policy.ResourceRef{}, 0},
		{"GET", "/channels/%2e%2e/messages", false, "", policy.ResourceRef{}, 0},
		{"GET", "/channels/a%2Fb/messages", false, "", policy.ResourceRef{}, 0},
		{"GET", "//channels/c1/messages", false, "", policy.ResourceRef{}, 0},
		{"GET", "/channels//messages", false, "", policy.ResourceRef{}, 0},
		{"GET", "http://evil/channels/c1/messages", false, "", policy.ResourceRef{}, 0},
		{"GET", "channels/c1/messages", false, "", policy.ResourceRef{}, 0},
		{"get", "/channels/c1/messages", false, "", policy.ResourceRef{}, 0},
		{"GET", "", false, "", policy.ResourceRef{}, 0},
		{"GET", "/files/" + strings.Repeat("a", MaxURILen), false, "", policy.ResourceRef{}, 0},
	} {
		m, ok := tab.Match(c.method, c.uri)
		if ok != c.ok {
			t.Errorf("%s %s: ok = %v, want %v (%+v)", c.method, c.uri, ok, c.ok, m)
			continue
		}
		if ok && (m.Action != c.action || m.Resource != c.res || m.Index != c.index) {
			t.Errorf("%s %s: got %+v", c.method, c.uri, m)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ name, text, want string }{
		{"empty", "", "empty file"},
		{"no routes", "routes: []", "no routes"},
		{"unknown key", "routes:\n  - {method: GET, path: /a, action: READ, resource: {type: channel, id: x}, extra: 1}", "field extra not found"},
		{"unknown action", `routes: [{method: GET, path: /a, action: FLY, resource: {type: channel, id: x}}]`, `routes[0] (GET /a): unknown action "FLY"; known actions: EXECUTE_TOOL, MANAGE, READ, SEND_MESSAGE`},
		{"bad type", `routes: [{method: GET, path: /a, action: READ, resource: {type: dog, id: x}}]`, `unknown resource type "dog"; known types: channel, tool, agent, usage, tenant`},
		{"missing placeholder", `routes: [{method: GET, path: "/a/{id}", action: READ, resource: {type: channel, id: "{cid}"}}]`, `uses {cid}, which the path does not have`},
		{"empty id", `routes: [{method: GET, path: /a, action: READ, resource: {type: channel}}]`, "resource id is empty"},
		{"unbalanced", `routes: [{method: GET, path: "/a/{id}", action: READ, resource: {type: channel, id: "{id"}}]`, "unbalanced braces"},
		{"bad method", `routes: [{method: get, path: /a, action: READ, resource: {type: channel, id: x}}]`, "want an upper-case HTTP method"},
		{"bad path", `routes: [{method: GET, path: a, action: READ, resource: {type: channel, id: x}}]`, "want a path starting with /"},
		{"bad pattern", `routes: [{method: GET, path: "/a/{x", action: READ, resource: {type: channel, id: x}}]`, "routes[0]"},
		{"duplicate", "routes:\n  - {method: GET, path: /a, action: READ, resource: {type: channel, id: x}}\n  - {method: GET, path: /a, action: MANAGE, resource: {type: channel, id: y}}", `routes[1] (GET /a): duplicate pattern "GET /a", also routes[0]`},
		{"conflict", "routes:\n  - {method: GET, path: \"/a/{x}\", action: READ, resource: {type: channel, id: x}}\n  - {method: GET, path: \"/a/{y}\", action: READ, resource: {type: channel, id: y}}", "routes[1]"},
		{"not yaml", "{", "gateway routes f.yaml"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(c.text), testActions)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "f.yaml") {
				t.Fatalf("err = %v, want it to name f.yaml and say %q", err, c.want)
			}
		})
	}
}

func TestLoadJSON(t *testing.T) {
	p := filepath.Join(t.TempDir(), "routes.json")
	text := `{"routes": [{"method": "GET", "path": "/c/{id}", "action": "READ", "resource": {"type": "channel", "id": "{id}"}}]}`
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	tab, err := Load(p, testActions)
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := tab.Match("GET", "/c/9"); !ok || m.Resource.ID != "9" || tab.Source() != p {
		t.Fatalf("got %+v %v", m, ok)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml"), testActions); err == nil {
		t.Fatal("a missing file loaded")
	}
	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, []byte("#"+strings.Repeat("x", MaxFileBytes)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big, testActions); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("big file: %v", err)
	}
}

func TestDefaultActions(t *testing.T) {
	c, err := policy.NewCompiler()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse("routes.yaml", []byte(sample), c.Actions()); err != nil {
		t.Fatalf("the sample does not validate against the shipped schema: %v", err)
	}
}

// FuzzParseRoutes checks that Parse never panics, and that a table it
// accepts matches without panicking and only to routes it holds.
func FuzzParseRoutes(f *testing.F) {
	f.Add([]byte(sample), "GET", "/channels/x/messages")
	f.Add([]byte(`{"routes":[{"method":"GET","path":"/{a...}","action":"READ","resource":{"type":"channel","id":"{a}"}}]}`), "GET", "/a/b")
	f.Add([]byte("routes:\n  - {method: GET, path: \"/a/{x}/{$}\", action: READ, resource: {type: tool, id: \"t{x}\"}}"), "GET", "/a/1/")
	f.Fuzz(func(t *testing.T, data []byte, method, uri string) {
		tab, err := Parse("fuzz.yaml", data, testActions)
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		m, ok := tab.Match(method, uri)
		if !ok {
			return
		}
		if m.Index < 0 || m.Index >= tab.Len() {
			t.Fatalf("index %d of %d", m.Index, tab.Len())
		}
		rt := tab.routes[m.Index]
		if m.Action != rt.Action || m.Resource.Type != rt.Resource.Type || m.Pattern != rt.Method+" "+rt.Path {
			t.Fatalf("match %+v does not follow route %+v", m, rt)
		}
	})
}
