// Package gateway maps the method and path of a request a proxy forwards
// (nginx auth_request, Traefik ForwardAuth, Envoy ext_authz) to the action
// and resource a policy decision is asked about. The route table comes from
// a YAML or JSON file; matching uses net/http's ServeMux patterns, so a
// route's path means exactly what it would mean to a Go server.
package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/tollgate/tollgate/policy"
)

// Bounds on a route table.
const (
	// MaxFileBytes is the largest route file read.
	MaxFileBytes = 1 << 20
	// MaxRoutes is the most routes a table holds.
	MaxRoutes = 10_000
	// MaxURILen is the longest original URI matched; longer ones match
	// nothing (and so are denied).
	MaxURILen = 8 << 10
)

// ResourceTypes are the resource types a route may name.
var ResourceTypes = []string{
	policy.ResourceChannel, policy.ResourceTool, policy.ResourceAgent, policy.ResourceUsage, policy.ResourceTenant,
}

// Route is one entry of the file.
type Route struct {
	Method   string         `yaml:"method" json:"method"`
	Path     string         `yaml:"path" json:"path"`
	Action   string         `yaml:"action" json:"action"`
	Resource RouteResource  `yaml:"resource" json:"resource"`
	names    map[string]int // wildcard names of Path
}

// RouteResource is the resource a route asks about; ID may hold {name}
// placeholders of the path's wildcards.
type RouteResource struct {
	Type string `yaml:"type" json:"type"`
	ID   string `yaml:"id" json:"id"`
}

type file struct {
	Routes []Route `yaml:"routes"`
}

// Match is what a request maps to.
type Match struct {
	// Index is the route's position in the file, from 0.
	Index int
	// Pattern is the route's ServeMux pattern, "METHOD /path".
	Pattern  string
	Action   string
	Resource policy.ResourceRef
}

// Table is a validated route table. It is safe for concurrent use.
type Table struct {
	source string
	routes []Route
	mux    *http.ServeMux
}

// Len is the number of routes.
func (t *Table) Len() int { return len(t.routes) }

// Source names the file the table was loaded from.
func (t *Table) Source() string { return t.source }

// Load reads and validates the route file at path. actions are the action
// names policies know (policy.Compiler.Actions).
func Load(path string, actions []string) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gateway routes: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("gateway routes %s: %w", path, err)
	}
	return Parse(path, data, actions)
}

// wildcardRE finds the {name}, {name...} and {$} segments of a pattern,
// and the {name} placeholders of a resource id.
var wildcardRE = regexp.MustCompile(`\{([^{}]*)\}`)

// methodRE is an HTTP method token as route files write them.
var methodRE = regexp.MustCompile(`^[A-Z]{1,20}$`)

// Parse validates a route file's content; name labels errors. YAML and
// JSON (a subset of YAML) are both accepted; unknown keys are refused.
func Parse(name string, data []byte, actions []string) (*Table, error) {
	errorf := func(format string, args ...any) error {
		return fmt.Errorf("gateway routes %s: %s", name, fmt.Sprintf(format, args...))
	}
	if len(data) > MaxFileBytes {
		return nil, errorf("larger than %d bytes", MaxFileBytes)
	}
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errorf("empty file: want a top-level routes list")
		}
		return nil, errorf("%v", err)
	}
	if len(f.Routes) == 0 {
		return nil, errorf("no routes: want a top-level routes list with at least one route")
	}
	if len(f.Routes) > MaxRoutes {
		return nil, errorf("%d routes; at most %d", len(f.Routes), MaxRoutes)
	}
	known := slices.Sorted(slices.Values(actions))
	t := &Table{source: name, routes: f.Routes, mux: http.NewServeMux()}
	seen := map[string]int{}
	for i := range t.routes {
		rt := &t.routes[i]
		at := func(format string, args ...any) error {
			return errorf("routes[%d] (%s %s): %s", i, rt.Method, rt.Path, fmt.Sprintf(format, args...))
		}
		if !methodRE.MatchString(rt.Method) {
			return nil, at("method %q: want an upper-case HTTP method such as GET or POST", rt.Method)
		}
		if !strings.HasPrefix(rt.Path, "/") || strings.ContainsAny(rt.Path, " \t\r\n") {
			return nil, at("path %q: want a path starting with / and without spaces", rt.Path)
		}
		if !slices.Contains(known, rt.Action) {
			return nil, at("unknown action %q; known actions: %s", rt.Action, strings.Join(known, ", "))
		}
		if !slices.Contains(ResourceTypes, rt.Resource.Type) {
			return nil, at("unknown resource type %q; known types: %s", rt.Resource.Type, strings.Join(ResourceTypes, ", "))
		}
		if rt.Resource.ID == "" {
			return nil, at("resource id is empty: want a literal id or {name} placeholders of the path")
		}
		if len(rt.Resource.ID) > policy.MaxIDLen {
			return nil, at("resource id longer than %d bytes", policy.MaxIDLen)
		}
		rt.names = map[string]int{}
		for _, m := range wildcardRE.FindAllStringSubmatch(rt.Path, -1) {
			n := strings.TrimSuffix(m[1], "...")
			if n != "$" {
				rt.names[n]++
			}
		}
		if strings.Count(rt.Resource.ID, "{") != strings.Count(rt.Resource.ID, "}") ||
			len(wildcardRE.FindAllString(rt.Resource.ID, -1)) != strings.Count(rt.Resource.ID, "{") {
			return nil, at("resource id %q: unbalanced braces", rt.Resource.ID)
		}
		for _, m := range wildcardRE.FindAllStringSubmatch(rt.Resource.ID, -1) {
			if _, ok := rt.names[m[1]]; !ok {
				return nil, at("resource id %q uses {%s}, which the path does not have", rt.Resource.ID, m[1])
			}
		}
		pattern := rt.Method + " " + rt.Path
		if j, ok := seen[pattern]; ok {
			return nil, at("duplicate pattern %q, also routes[%d]", pattern, j)
		}
		seen[pattern] = i
		if err := register(t.mux, pattern, i); err != nil {
			return nil, at("%v", err)
		}
	}
	return t, nil
}

type captureKey struct{}

// capture is where a route's handler records that it matched.
type capture struct {
	index  int
	values map[string]string
	t      *Table
}

// register adds pattern to mux; ServeMux panics on a malformed or
// conflicting pattern, which becomes an error.
func register(mux *http.ServeMux, pattern string, index int) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	mux.HandleFunc(pattern, func(_ http.ResponseWriter, r *http.Request) {
		c, _ := r.Context().Value(captureKey{}).(*capture)
		if c == nil {
			return
		}
		c.index = index
		c.values = map[string]string{}
		for n := range c.t.routes[index].names {
			c.values[n] = r.PathValue(n)
		}
	})
	return nil
}

// discard is a ResponseWriter that keeps nothing: a redirect or 405 the
// mux would answer means no route matched.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header {
	if d.h == nil {
		d.h = http.Header{}
	}
	return d.h
}
func (*discard) Write(b []byte) (int, error) { return len(b), nil }
func (*discard) WriteHeader(int)             {}

// Match maps an original method and request URI (a path, optionally with
// a query, which is ignored) to a route. It fails closed: a URI that is
// not a clean absolute path — with . or .. segments, encoded slashes or
// backslashes, or repeated slashes — matches nothing, since a proxy or an
// upstream could read it differently.
func (t *Table) Match(method, uri string) (Match, bool) {
	if t == nil || len(uri) > MaxURILen || !methodRE.MatchString(method) {
		return Match{}, false
	}
	u, err := url.ParseRequestURI(uri)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
		return Match{}, false
	}
	raw := u.EscapedPath()
	lower := strings.ToLower(raw)
	if strings.Contains(lower, "%2f") || strings.Contains(lower, "%5c") || strings.Contains(raw, `\`) {
		return Match{}, false
	}
	for _, seg := range strings.Split(u.Path, "/")[1:] {
		if seg == "." || seg == ".." {
			return Match{}, false
		}
	}
	if strings.Contains(u.Path, "//") {
		return Match{}, false
	}
	c := &capture{index: -1, t: t}
	req := &http.Request{
		Method: method, URL: &url.URL{Path: u.Path, RawPath: u.RawPath}, Host: "gateway.invalid",
		Header: http.Header{}, RequestURI: raw,
	}
	req = req.WithContext(context.WithValue(context.Background(), captureKey{}, c))
	t.mux.ServeHTTP(&discard{}, req)
	if c.index < 0 {
		return Match{}, false
	}
	rt := t.routes[c.index]
	id := wildcardRE.ReplaceAllStringFunc(rt.Resource.ID, func(s string) string {
		return c.values[s[1:len(s)-1]]
	})
	return Match{
		Index: c.index, Pattern: rt.Method + " " + rt.Path, Action: rt.Action,
		Resource: policy.ResourceRef{Type: rt.Resource.Type, ID: id},
	}, true
}
