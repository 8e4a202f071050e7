package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/sync/errgroup"
)

// loader puts the workload into a running Tollgate the way an operator
// and a service would: users and tenants with the tollgate CLI (the API
// creates neither), members, channels and a service through the API.
type loader struct {
	base string // Tollgate's URL
	bin  string // the tollgate binary, run with the server's environment
	// email and password sign in the platform admin lib.sh bootstrapped.
	email, password string
	client          *http.Client
	token           string
}

var (
	createdUser   = regexp.MustCompile(`^created user (user:\S+) `)
	createdTenant = regexp.MustCompile(`^created tenant (\S+) `)
)

func (l *loader) load(ctx context.Context, w *workload, dir string) error {
	if err := l.users(ctx, w); err != nil {
		return err
	}
	if err := l.tenants(ctx, w); err != nil {
		return err
	}
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := l.call(ctx, "POST", "/v1/auth/login", map[string]string{"email": l.email, "password": l.password}, &out); err != nil {
		return err
	}
	l.token = out.AccessToken
	if err := l.members(ctx, w); err != nil {
		return err
	}
	if err := l.channels(ctx, w); err != nil {
		return err
	}
	if err := w.writeFiles(dir); err != nil {
		return err
	}
	tok, err := l.service(ctx)
	if err != nil {
		return err
	}
	return writeFile(dir, fileServiceToken, tok)
}

// users creates every user with the CLI, four at a time. They never sign
// in: their password hash is of a random secret nobody keeps.
func (l *loader) users(ctx context.Context, w *workload) error {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	hash, err := bcrypt.GenerateFromPassword([]byte(fmt.Sprintf("%x", secret)), bcrypt.MinCost)
	if err != nil {
		return err
	}
	w.actorIDs = make([]string, numTenants*usersPerTenant)
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for u := range w.actorIDs {
		g.Go(func() error {
			id, err := l.cli(ctx, createdUser, "admin", "user", "create", "--email", userEmail(u), "--password-hash", string(hash))
			w.actorIDs[u] = id
			return err
		})
	}
	return g.Wait()
}

// tenants creates every tenant owned by its first user.
func (l *loader) tenants(ctx context.Context, w *workload) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i := range w.tenants {
		tn := &w.tenants[i]
		g.Go(func() error {
			id, err := l.cli(ctx, createdTenant, "admin", "tenant", "create", "--slug", tn.slug, "--owner", userEmail(tn.users[0]))
			tn.id = id
			return err
		})
	}
	return g.Wait()
}

func (l *loader) cli(ctx context.Context, re *regexp.Regexp, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, l.bin, args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("tollgate %s: %w: %s", strings.Join(args[:3], " "), err, out)
	}
	m := re.FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("tollgate %s: unexpected output %q", strings.Join(args[:3], " "), out)
	}
	return string(m[1]), nil
}

// members adds every user but the owner to its tenant with its role.
func (l *loader) members(ctx context.Context, w *workload) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, tn := range w.tenants {
		for _, u := range tn.users[1:] {
			g.Go(func() error {
				return l.call(ctx, "POST", "/v1/tenants/"+tn.id+"/members", map[string]any{"actor_id": w.actorIDs[u], "roles": tn.roles[u]}, nil)
			})
		}
	}
	return g.Wait()
}

// channels registers each tenant's channels in one batch.
func (l *loader) channels(ctx context.Context, w *workload) error {
	for _, tn := range w.tenants {
		rs := make([]map[string]any, len(tn.channels))
		for i, ch := range tn.channels {
			rs[i] = map[string]any{"type": "channel", "id": ch.id, "attrs": w.attrs(ch)}
		}
		if err := l.call(ctx, "POST", "/v1/tenants/"+tn.id+"/resources:batch", map[string]any{"resources": rs}, nil); err != nil {
			return err
		}
	}
	return nil
}

// service registers a service asking in every tenant, as a messaging
// service would, and returns its access token.
func (l *loader) service(ctx context.Context) (string, error) {
	var svc struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := l.call(ctx, "POST", "/v1/services", map[string]any{"name": "bench-opa", "scopes": []string{"authz:check"}, "tenants": []string{"*"}}, &svc); err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", l.base+"/oauth/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(svc.ClientID, svc.ClientSecret)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := l.do(req, &tok); err != nil {
		return "", err
	}
	return tok.AccessToken, nil
}

func (l *loader) call(ctx context.Context, method, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, l.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if l.token != "" {
		req.Header.Set("Authorization", "Bearer "+l.token)
	}
	return l.do(req, out)
}

func (l *loader) do(req *http.Request, out any) error {
	ctx, cancel := context.WithTimeout(req.Context(), 30*time.Second)
	defer cancel()
	resp, err := l.client.Do(req.WithContext(ctx))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", req.Method, req.URL.Path, resp.StatusCode, b)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}
