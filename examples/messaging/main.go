// Command messaging is an example service of the ecosystem: in-memory
// channels and messages, authenticated by Tollgate through sdk/authn and
// authorized by Tollgate's policies through sdk/pep, as an outside service
// would import them.
//
//	PUT   /channels/{id}           create a channel {name, members, visibility}; the caller must
//	                               hold MANAGE_TENANT on its tenant (tenant admins and owners)
//	GET   /channels/{id}           the channel without its messages: MANAGE on the channel
//	PATCH /channels/{id}           change {name?, members?, visibility?}: MANAGE on the channel
//	POST  /channels/{id}/messages  send {text}: SEND_MESSAGE on the channel
//	GET   /channels/{id}/messages  read: READ on the channel
//	GET   /healthz                 "ok", unauthenticated
//
// Channels are registered in Tollgate's resource registry
// (PUT /v1/tenants/{tenant}/resources/channel/{id}) with their members, their
// visibility ("public" or "private", private unless the creator says) and
// the creator as their only manager, so that the default policies
// (channel_member, channel_manager, channel_public, channel_admin) decide
// who may do what: members read and send, every member of the tenant reads
// a public channel, and tenant admins manage every channel — see its
// settings, change them — without reading a private one's messages.
// The registry is written with the service's own client-credentials token;
// the service must therefore be registered with the scopes authz:check (to
// ask) and authz:write (to register), for the tenants it serves.
//
// Configuration, from the environment: TOLLGATE_URL (default
// http://127.0.0.1:9200), TOLLGATE_CLIENT_ID and TOLLGATE_CLIENT_SECRET
// (required), TOLLGATE_ISSUER, TOLLGATE_AUDIENCE (default "tollgate"),
// TOLLGATE_NATS_URL and TOLLGATE_NATS_PREFIX (optional, for instant
// revocation), LISTEN (default 127.0.0.1:8091). Its first line on stdout is
// "listening on http://<address>".
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/tollgate/tollgate/examples/internal/seedsvc"
	"github.com/tollgate/tollgate/sdk/authn"
	"github.com/tollgate/tollgate/sdk/pep"
)

func main() {
	err := seedsvc.Serve(context.Background(), "messaging", "127.0.0.1:8091", os.Getenv, os.Stdout, os.Stderr,
		func(a *authn.Authenticator, pdp *pep.Client, reg *seedsvc.Registry) http.Handler {
			s := &server{Server: seedsvc.Server{PDP: pdp}, registry: reg, channels: map[key]*channel{}}
			return s.routes(a.Middleware)
		})
	if err != nil {
		fmt.Fprintln(os.Stderr, "messaging:", err)
		os.Exit(1)
	}
}

// key names a channel: ids are unique within a tenant only.
type key struct{ tenant, id string }

type channel struct {
	Name       string    `json:"name"`
	Members    []string  `json:"members"`
	Managers   []string  `json:"managers"`
	Visibility string    `json:"visibility"`
	Messages   []message `json:"-"`
}

type message struct {
	ID         int       `json:"id"`
	Author     string    `json:"author"`
	OnBehalfOf string    `json:"on_behalf_of,omitempty"`
	Text       string    `json:"text"`
	SentAt     time.Time `json:"sent_at"`
}

type server struct {
	seedsvc.Server
	registry *seedsvc.Registry
	// writes serializes changes to channels, so that the registry and
	// channels agree; mu guards channels and their messages.
	writes   sync.Mutex
	mu       sync.Mutex
	channels map[key]*channel
}

// routes serves /healthz openly and the API behind authenticate
// (authn's Middleware; tests put an actor in the context themselves).
func (s *server) routes(authenticate func(http.Handler) http.Handler) http.Handler {
	channelFromPath := func(r *http.Request) (pep.Resource, error) {
		return pep.Resource{Type: "channel", ID: r.PathValue("id")}, nil
	}
	api := http.NewServeMux()
	api.HandleFunc("PUT /channels/{id}", s.createChannel)
	api.Handle("GET /channels/{id}", s.PDP.Require("MANAGE", channelFromPath)(http.HandlerFunc(s.getChannel)))
	api.Handle("PATCH /channels/{id}", s.PDP.Require("MANAGE", channelFromPath)(http.HandlerFunc(s.patchChannel)))
	api.Handle("POST /channels/{id}/messages", s.PDP.Require("SEND_MESSAGE", channelFromPath)(http.HandlerFunc(s.sendMessage)))
	api.Handle("GET /channels/{id}/messages", s.PDP.Require("READ", channelFromPath)(http.HandlerFunc(s.readMessages)))
	root := http.NewServeMux()
	root.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	root.Handle("/", authenticate(api))
	return root
}

// createChannel registers a new channel. Creating is a tenant-level act (the
// channel does not exist yet, so no policy about it can decide), so the
// caller must hold MANAGE_TENANT on the tenant; the creator becomes the
// channel's manager.
func (s *server) createChannel(w http.ResponseWriter, r *http.Request) {
	ac, _ := authn.FromContext(r.Context())
	if ac.TenantID == "" {
		seedsvc.WriteProblem(w, http.StatusForbidden, "tenant_not_selected", "switch to a tenant first", nil)
		return
	}
	if !s.Check(w, r, "MANAGE_TENANT", pep.Resource{Type: "tenant", ID: ac.TenantID}) {
		return
	}
	var in struct {
		Name       string   `json:"name"`
		Members    []string `json:"members"`
		Visibility string   `json:"visibility"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&in); err != nil {
		seedsvc.WriteProblem(w, http.StatusBadRequest, "invalid_body", err.Error(), nil)
		return
	}
	k := key{ac.TenantID, r.PathValue("id")}
	s.writes.Lock()
	defer s.writes.Unlock()
	s.mu.Lock()
	_, exists := s.channels[k]
	s.mu.Unlock()
	if exists {
		seedsvc.WriteProblem(w, http.StatusConflict, "channel_exists", "the channel exists; PATCH it", nil)
		return
	}
	if in.Visibility == "" {
		in.Visibility = "private"
	}
	ch := &channel{Name: in.Name, Members: seedsvc.NonNil(in.Members), Managers: []string{ac.ActorID}, Visibility: in.Visibility}
	if !s.register(w, r, k, ch) {
		return
	}
	s.mu.Lock()
	s.channels[k] = ch
	s.mu.Unlock()
	seedsvc.WriteJSON(w, http.StatusCreated, ch)
}

func (s *server) patchChannel(w http.ResponseWriter, r *http.Request) {
	ac, _ := authn.FromContext(r.Context())
	var in struct {
		Name       *string  `json:"name"`
		Members    []string `json:"members"`
		Visibility *string  `json:"visibility"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&in); err != nil {
		seedsvc.WriteProblem(w, http.StatusBadRequest, "invalid_body", err.Error(), nil)
		return
	}
	k := key{ac.TenantID, r.PathValue("id")}
	s.writes.Lock()
	defer s.writes.Unlock()
	s.mu.Lock()
	old, ok := s.channels[k]
	var next channel
	if ok {
		next = channel{Name: old.Name, Members: old.Members, Managers: old.Managers, Visibility: old.Visibility}
	}
	s.mu.Unlock()
	if !ok {
		seedsvc.WriteProblem(w, http.StatusNotFound, "channel_not_found", "no such channel here", nil)
		return
	}
	if in.Name != nil {
		next.Name = *in.Name
	}
	if in.Members != nil {
		next.Members = in.Members
	}
	if in.Visibility != nil {
		next.Visibility = *in.Visibility
	}
	if !s.register(w, r, k, &next) {
		return
	}
	s.mu.Lock()
	old.Name, old.Members, old.Visibility = next.Name, next.Members, next.Visibility
	s.mu.Unlock()
	seedsvc.WriteJSON(w, http.StatusOK, next)
}

// getChannel shows a channel's settings, not its messages: what a tenant
// admin may see of a private channel it is not a member of.
func (s *server) getChannel(w http.ResponseWriter, r *http.Request) {
	ac, _ := authn.FromContext(r.Context())
	s.mu.Lock()
	ch, ok := s.channels[key{ac.TenantID, r.PathValue("id")}]
	var out channel
	if ok {
		out = channel{Name: ch.Name, Members: ch.Members, Managers: ch.Managers, Visibility: ch.Visibility}
	}
	s.mu.Unlock()
	if !ok {
		seedsvc.WriteProblem(w, http.StatusNotFound, "channel_not_found", "no such channel here", nil)
		return
	}
	seedsvc.WriteJSON(w, http.StatusOK, out)
}

func (s *server) sendMessage(w http.ResponseWriter, r *http.Request) {
	ac, _ := authn.FromContext(r.Context())
	var in struct {
		Text string `json:"text"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&in); err != nil || in.Text == "" {
		seedsvc.WriteProblem(w, http.StatusBadRequest, "invalid_body", "a message needs a text", nil)
		return
	}
	s.mu.Lock()
	ch, ok := s.channels[key{ac.TenantID, r.PathValue("id")}]
	var m message
	if ok {
		m = message{ID: len(ch.Messages) + 1, Author: ac.ActorID, OnBehalfOf: ac.OnBehalfOf, Text: in.Text, SentAt: time.Now().UTC()}
		ch.Messages = append(ch.Messages, m)
	}
	s.mu.Unlock()
	if !ok {
		seedsvc.WriteProblem(w, http.StatusNotFound, "channel_not_found", "no such channel here", nil)
		return
	}
	seedsvc.WriteJSON(w, http.StatusCreated, m)
}

func (s *server) readMessages(w http.ResponseWriter, r *http.Request) {
	ac, _ := authn.FromContext(r.Context())
	s.mu.Lock()
	ch, ok := s.channels[key{ac.TenantID, r.PathValue("id")}]
	var out []message
	if ok {
		out = append([]message{}, ch.Messages...)
	}
	s.mu.Unlock()
	if !ok {
		seedsvc.WriteProblem(w, http.StatusNotFound, "channel_not_found", "no such channel here", nil)
		return
	}
	seedsvc.WriteJSON(w, http.StatusOK, map[string]any{"messages": nonNilMessages(out)})
}

// register writes the channel to Tollgate's resource registry, which
// refuses a visibility other than public or private.
func (s *server) register(w http.ResponseWriter, r *http.Request, k key, ch *channel) bool {
	attrs := map[string]any{"members": seedsvc.NonNil(ch.Members), "managers": seedsvc.NonNil(ch.Managers), "visibility": ch.Visibility}
	err := s.registry.Put(r.Context(), k.tenant, "channel", k.id, attrs)
	if err != nil {
		seedsvc.WriteRegistryProblem(w, "channel", err)
		return false
	}
	return true
}

func nonNilMessages(m []message) []message {
	if m == nil {
		return []message{}
	}
	return m
}
