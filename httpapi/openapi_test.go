package httpapi

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// openAPIMethods are the operation keys of an OpenAPI path item.
var openAPIMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// openAPIDoc parses the embedded document generically.
func openAPIDoc(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(openapiDoc, &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	return doc
}

// openAPIOperation is one operation of the document.
type openAPIOperation struct {
	key  string // "GET /v1/tenants/{id}"
	path string
	item map[string]any // the path item, for path-level parameters
	op   map[string]any
}

func openAPIOperations(t *testing.T, doc map[string]any) map[string]openAPIOperation {
	t.Helper()
	paths, ok := doc["paths"].(map[string]any)
	if !ok {
		t.Fatal("openapi.json has no paths object")
	}
	ops := map[string]openAPIOperation{}
	for path, v := range paths {
		item, ok := v.(map[string]any)
		if !ok {
			t.Errorf("paths[%q] is not an object", path)
			continue
		}
		for _, m := range openAPIMethods {
			o, present := item[m]
			if !present {
				continue
			}
			op, ok := o.(map[string]any)
			if !ok {
				t.Errorf("%s %s: operation is not an object", strings.ToUpper(m), path)
				continue
			}
			key := strings.ToUpper(m) + " " + path
			ops[key] = openAPIOperation{key: key, path: path, item: item, op: op}
		}
	}
	return ops
}

// routePath turns a ServeMux pattern into an OpenAPI path template: "{x...}"
// becomes "{x}" and a trailing "{$}" is dropped.
func routePath(pattern string) string {
	p := strings.TrimSuffix(pattern, "{$}")
	return strings.ReplaceAll(p, "...}", "}")
}

func serverRoutes() map[string]route {
	out := map[string]route{}
	for _, rt := range (&Server{}).routes() {
		out[strings.ToUpper(rt.method)+" "+routePath(rt.pattern)] = rt
	}
	return out
}

func TestOpenAPIVersion(t *testing.T) {
	doc := openAPIDoc(t)
	v, _ := doc["openapi"].(string)
	if !strings.HasPrefix(v, "3.1") {
		t.Errorf("openapi = %q, want 3.1.x", v)
	}
	info, _ := doc["info"].(map[string]any)
	if info == nil || info["title"] == nil || info["version"] == nil {
		t.Error("info must have a title and a version")
	}
}

// TestOpenAPIMatchesRoutes fails for every route the document does not
// describe and every operation the server does not serve.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := openAPIDoc(t)
	ops := openAPIOperations(t, doc)
	routes := serverRoutes()
	if len(routes) == 0 {
		t.Fatal("the server has no routes")
	}
	var missing, extra []string
	for k := range routes {
		if _, ok := ops[k]; !ok {
			missing = append(missing, k)
		}
	}
	for k := range ops {
		if _, ok := routes[k]; !ok {
			extra = append(extra, k)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	for _, k := range missing {
		t.Errorf("route %s is not documented in openapi.json", k)
	}
	for _, k := range extra {
		t.Errorf("openapi.json documents %s, which no route serves", k)
	}
}

var operationIDRE = regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)

var pathParamRE = regexp.MustCompile(`\{([^}]+)\}`)

func TestOpenAPIOperations(t *testing.T) {
	doc := openAPIDoc(t)
	ops := openAPIOperations(t, doc)
	seen := map[string]string{}
	for _, k := range sortedKeys(ops) {
		o := ops[k]
		id, _ := o.op["operationId"].(string)
		switch {
		case id == "":
			t.Errorf("%s: no operationId", k)
		case !operationIDRE.MatchString(id):
			t.Errorf("%s: operationId %q is not camelCase", k, id)
		case seen[id] != "":
			t.Errorf("%s: operationId %q is also used by %s", k, id, seen[id])
		default:
			seen[id] = k
		}
		if s, _ := o.op["summary"].(string); s == "" {
			t.Errorf("%s: no summary", k)
		}
		if tags, _ := o.op["tags"].([]any); len(tags) == 0 {
			t.Errorf("%s: no tags", k)
		}
		responses, _ := o.op["responses"].(map[string]any)
		has2xx := false
		for code := range responses {
			if len(code) == 3 && code[0] == '2' {
				has2xx = true
			}
		}
		if !has2xx {
			t.Errorf("%s: no 2xx response", k)
		}
		checkPathParams(t, doc, o)
	}
}

// checkPathParams requires each {name} of the path to be declared as a path
// parameter on the operation or its path item, and nothing more.
func checkPathParams(t *testing.T, doc map[string]any, o openAPIOperation) {
	t.Helper()
	want := map[string]bool{}
	for _, m := range pathParamRE.FindAllStringSubmatch(o.path, -1) {
		want[m[1]] = true
	}
	got := map[string]bool{}
	for _, src := range []map[string]any{o.item, o.op} {
		list, _ := src["parameters"].([]any)
		for _, p := range list {
			pm, _ := p.(map[string]any)
			if r, ok := pm["$ref"].(string); ok {
				resolved, err := resolveRef(doc, r)
				if err != nil {
					continue // reported by TestOpenAPIRefsResolve
				}
				pm, _ = resolved.(map[string]any)
			}
			if pm["in"] != "path" {
				continue
			}
			name, _ := pm["name"].(string)
			got[name] = true
			if pm["required"] != true {
				t.Errorf("%s: path parameter %q must be required", o.key, name)
			}
		}
	}
	for n := range want {
		if !got[n] {
			t.Errorf("%s: path parameter %q is not declared", o.key, n)
		}
	}
	for n := range got {
		if !want[n] {
			t.Errorf("%s: declares path parameter %q, which the path does not have", o.key, n)
		}
	}
}

// TestOpenAPIRefsResolve walks the whole document and resolves every $ref.
func TestOpenAPIRefsResolve(t *testing.T) {
	doc := openAPIDoc(t)
	n := 0
	walkRefs(doc, "#", func(at, ref string) {
		n++
		if !strings.HasPrefix(ref, "#/components/") {
			t.Errorf("%s: $ref %q does not point into #/components", at, ref)
			return
		}
		if _, err := resolveRef(doc, ref); err != nil {
			t.Errorf("%s: $ref %q: %v", at, ref, err)
		}
	})
	if n == 0 {
		t.Error("openapi.json has no $ref at all; the walk is broken")
	}
}

// walkRefs calls fn with the JSON pointer of each "$ref" string value found.
func walkRefs(v any, at string, fn func(at, ref string)) {
	switch x := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(x) {
			child := at + "/" + escapePointer(k)
			if s, ok := x[k].(string); ok && k == "$ref" {
				fn(child, s)
				continue
			}
			walkRefs(x[k], child, fn)
		}
	case []any:
		for i, e := range x {
			walkRefs(e, fmt.Sprintf("%s/%d", at, i), fn)
		}
	}
}

// resolveRef follows a local JSON pointer reference (RFC 6901).
func resolveRef(doc map[string]any, ref string) (any, error) {
	frag, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, fmt.Errorf("only local references are supported")
	}
	frag, err := url.PathUnescape(frag)
	if err != nil {
		return nil, err
	}
	var cur any = doc
	if frag == "" {
		return cur, nil
	}
	for _, tok := range strings.Split(strings.TrimPrefix(frag, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%q is not an object", tok)
		}
		if cur, ok = m[tok]; !ok {
			return nil, fmt.Errorf("%q does not exist", tok)
		}
	}
	return cur, nil
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// TestOpenAPISecurity checks that public routes opt out of the global bearer
// requirement and that no other route does.
func TestOpenAPISecurity(t *testing.T) {
	doc := openAPIDoc(t)
	global, _ := doc["security"].([]any)
	if !hasBearer(global) {
		t.Error("the document's global security must require bearerAuth")
	}
	ops := openAPIOperations(t, doc)
	routes := serverRoutes()
	for _, k := range sortedKeys(routes) {
		rt := routes[k]
		o, ok := ops[k]
		if !ok {
			continue // reported by TestOpenAPIMatchesRoutes
		}
		sec, declared := o.op["security"]
		list, _ := sec.([]any)
		if rt.access.public() {
			if !declared || sec == nil || len(list) != 0 {
				t.Errorf("%s is public: its operation must have \"security\": []", k)
			}
			continue
		}
		if declared && !hasBearer(list) {
			t.Errorf("%s needs a credential: its operation must not override security to %v", k, sec)
		}
		for _, req := range list {
			if m, _ := req.(map[string]any); len(m) == 0 {
				t.Errorf("%s needs a credential: its security must not contain the anonymous requirement {}", k)
			}
		}
	}
}

// hasBearer reports whether a security requirement list includes bearerAuth.
func hasBearer(list []any) bool {
	for _, req := range list {
		if m, ok := req.(map[string]any); ok {
			if _, ok := m["bearerAuth"]; ok {
				return true
			}
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
