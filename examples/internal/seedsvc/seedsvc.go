// Package seedsvc is the plumbing the seed's example services (messaging,
// toolcore, agent-runtime) share: configuration from the environment,
// startup with sdk/authn and sdk/pep, the resource-registry client, JSON
// and problem responses. It is kept out of each program so that what
// differs between them is only their own routes.
package seedsvc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tollgate/tollgate/bus"
	"github.com/tollgate/tollgate/bus/nats"
	"github.com/tollgate/tollgate/sdk/authn"
	"github.com/tollgate/tollgate/sdk/pep"
)

// Serve reads the configuration from the environment, connects to
// Tollgate and serves routes until SIGINT or SIGTERM.
func Serve(ctx context.Context, name, defaultListen string, getenv func(string) string, stdout, stderr io.Writer,
	routes func(*authn.Authenticator, *pep.Client, *Registry) http.Handler) error {
	envOr := func(key, def string) string {
		if v := getenv(key); v != "" {
			return v
		}
		return def
	}
	tgURL := strings.TrimRight(envOr("TOLLGATE_URL", "http://127.0.0.1:9200"), "/")
	clientID, secret := getenv("TOLLGATE_CLIENT_ID"), getenv("TOLLGATE_CLIENT_SECRET")
	if clientID == "" || secret == "" {
		return errors.New("TOLLGATE_CLIENT_ID and TOLLGATE_CLIENT_SECRET are required")
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	var events bus.Bus
	if u := getenv("TOLLGATE_NATS_URL"); u != "" {
		nb, err := nats.Connect(ctx, u, nats.Options{Prefix: envOr("TOLLGATE_NATS_PREFIX", nats.DefaultPrefix), Name: name, Log: log})
		if err != nil {
			return err
		}
		defer nb.Close()
		events = nb
	}
	a, err := authn.New(ctx, authn.Config{
		URL: tgURL, Issuer: getenv("TOLLGATE_ISSUER"), Audience: envOr("TOLLGATE_AUDIENCE", "tollgate"),
		ClientID: clientID, ClientSecret: secret, Events: events, Log: log,
	})
	if err != nil {
		return err
	}
	defer a.Close()
	pdp, err := pep.New(ctx, pep.Config{URL: tgURL, ClientID: clientID, ClientSecret: secret, Events: events, Log: log})
	if err != nil {
		return err
	}
	defer pdp.Close()

	handler := routes(a, pdp, NewRegistry(tgURL, clientID, secret))
	ln, err := net.Listen("tcp", envOr("LISTEN", defaultListen))
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 10 * time.Second, IdleTimeout: 60 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Server is what a service's handlers share: the PDP they ask.
type Server struct {
	PDP *pep.Client
}

// Check asks the PDP and answers the request itself unless it is a permit.
func (s *Server) Check(w http.ResponseWriter, r *http.Request, action string, res pep.Resource) bool {
	err := s.PDP.Check(r.Context(), action, res)
	var denied *pep.DeniedError
	switch {
	case err == nil:
		return true
	case errors.As(err, &denied):
		WriteProblem(w, http.StatusForbidden, pep.CodePermissionDenied, "the policy does not permit "+action, NonNil(denied.Decision.Reasons))
	case errors.Is(err, pep.ErrUnavailable):
		WriteProblem(w, http.StatusServiceUnavailable, pep.CodeUnavailable, "the request cannot be authorized now; retry later", nil)
	default:
		WriteProblem(w, http.StatusInternalServerError, "internal_error", "", nil)
	}
	return false
}

// Registry writes resources to Tollgate's resource registry with the
// service's own client-credentials token, fetched from /oauth/token and
// kept until shortly before it expires.
type Registry struct {
	url, clientID, secret string
	mu                    sync.Mutex
	token                 string
	expires               time.Time
}

// NewRegistry returns a client of the resource registry of the Tollgate at
// tollgateURL, authenticated as the service clientID with secret.
func NewRegistry(tollgateURL, clientID, secret string) *Registry {
	return &Registry{url: tollgateURL, clientID: clientID, secret: secret}
}

var httpClient = &http.Client{Timeout: 5 * time.Second}

func (g *Registry) accessToken(ctx context.Context) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.token != "" && time.Now().Before(g.expires) {
		return g.token, nil
	}
	req, err := http.NewRequestWithContext(ctx, "POST", g.url+"/oauth/token", strings.NewReader("grant_type=client_credentials"))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(g.clientID), url.QueryEscape(g.secret))
	res, err := httpClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("token endpoint: status %d", res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || out.AccessToken == "" {
		return "", fmt.Errorf("token endpoint: bad answer (%v)", err)
	}
	g.token, g.expires = out.AccessToken, time.Now().Add(time.Duration(out.ExpiresIn)*time.Second*3/4)
	return g.token, nil
}

// Put registers the resource typ/id of tenant with attrs, replacing it.
func (g *Registry) Put(ctx context.Context, tenant, typ, id string, attrs map[string]any) error {
	tok, err := g.accessToken(ctx)
	if err != nil {
		return err
	}
	body, err := json.Marshal(map[string]any{"attrs": attrs})
	if err != nil {
		return err
	}
	u := g.url + "/v1/tenants/" + url.PathEscape(tenant) + "/resources/" + typ + "/" + url.PathEscape(id)
	req, err := http.NewRequestWithContext(ctx, "PUT", u, strings.NewReader(string(body)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := httpClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusUnauthorized {
		g.mu.Lock()
		g.token = "" // fetch a new one next time
		g.mu.Unlock()
	}
	if res.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return &registryError{status: res.StatusCode, body: strings.TrimSpace(string(msg))}
	}
	return nil
}

// registryError is the registry's refusal of a write.
type registryError struct {
	status int
	body   string
}

func (e *registryError) Error() string {
	return fmt.Sprintf("registry: status %d: %s", e.status, e.body)
}

// WriteRegistryProblem answers a failed registration: 400 for a resource
// the registry refuses (a malformed id or attribute), 503 otherwise — the
// service itself misconfigured (401, 403) or Tollgate unavailable.
func WriteRegistryProblem(w http.ResponseWriter, what string, err error) {
	var re *registryError
	if errors.As(err, &re) && re.status >= 400 && re.status < 500 && re.status != http.StatusUnauthorized && re.status != http.StatusForbidden {
		WriteProblem(w, http.StatusBadRequest, "invalid_resource", "the registry refused the "+what+": "+re.body, nil)
		return
	}
	WriteProblem(w, http.StatusServiceUnavailable, "registry_unavailable", "the "+what+" could not be registered now; retry later", nil)
}

// NonNil returns s, or an empty slice for nil, so that it encodes as [].
func NonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// WriteJSON answers with status and v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// WriteProblem answers with an RFC 9457 problem+json: status, code,
// detail and the policies' reasons.
func WriteProblem(w http.ResponseWriter, status int, code, detail string, reasons []string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"title": http.StatusText(status), "status": status, "code": code, "detail": detail, "reasons": reasons,
	})
}
