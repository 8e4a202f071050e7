package app_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tollgate/tollgate/app"
	"github.com/tollgate/tollgate/config"
	"github.com/tollgate/tollgate/identity"
	"github.com/tollgate/tollgate/serviceaccount"
	"github.com/tollgate/tollgate/store"
	"github.com/tollgate/tollgate/store/sqlite/sqlitetest"
)

// TestFleetSharesLimits runs two replicas on one store and one Redis and
// hammers POST /v1/ratelimit/check on both from many goroutines: together
// they admit exactly what each limit allows, never a request more.
func TestFleetSharesLimits(t *testing.T) {
	redisURL := os.Getenv("TOLLGATE_TEST_REDIS_URL")
	if redisURL == "" {
		t.Skip("TOLLGATE_TEST_REDIS_URL is not set; the fleet test needs a real Redis")
	}
	prefix := "tgfleet-" + randomHex(6)
	t.Cleanup(func() { deleteRedisKeys(t, redisURL, prefix) })

	st := sqlitetest.Open(t)
	masterKey := make([]byte, 32)
	_, _ = rand.Read(masterKey)
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.Argon2MemoryKiB, cfg.Argon2Iterations = 64, 1
	cfg.Issuer = "http://tollgate.test"
	cfg.RedisURL, cfg.RedisPrefix = redisURL, prefix
	// A window and a long-period GCRA: nothing refills while the test runs,
	// so "at most the limit" is exact.
	cfg.RateLimits = "window=500/1h sliding_window, bucket=100/1h burst=50"
	one := startReplica(t, cfg, st, masterKey)
	two := startReplica(t, cfg, st, masterKey)

	admin, err := one.app.Identity.CreateUser(context.Background(), identity.NewUser{Email: "root@example.com", PlatformAdmin: true})
	if err != nil {
		t.Fatal(err)
	}
	svc, secret, err := one.app.Services.Register(context.Background(),
		identity.ActorContext{ActorID: admin.ActorID(), Credential: identity.CredentialSession},
		serviceaccount.NewService{Name: "fleet", Scopes: []string{serviceaccount.ScopeRateLimitCheck}, Tenants: []string{identity.Everything}})
	if err != nil {
		t.Fatal(err)
	}
	tok := clientToken(t, one.url, svc.ID, secret)

	for _, tc := range []struct {
		limit string
		want  int64
	}{
		{"window", 500},
		{"bucket", 50},
	} {
		t.Run(tc.limit, func(t *testing.T) {
			const workers, perWorker = 32, 40 // 1,280 checks, well over either limit
			var allowed, denied atomic.Int64
			var wg sync.WaitGroup
			for w := range workers {
				target := []string{one.url, two.url}[w%2]
				wg.Go(func() {
					for range perWorker {
						ok, err := check(target, tok, tc.limit, "tenant-7/user:93")
						if err != nil {
							t.Error(err)
							return
						}
						if ok {
							allowed.Add(1)
						} else {
							denied.Add(1)
						}
					}
				})
			}
			wg.Wait()
			if got := allowed.Load(); got != tc.want {
				t.Errorf("two replicas admitted %d of %d checks under %q, want exactly %d", got, allowed.Load()+denied.Load(), tc.limit, tc.want)
			}
		})
	}
}

type replica struct {
	app *app.App
	url string
}

func startReplica(t *testing.T, cfg config.Config, st store.Store, masterKey []byte) replica {
	t.Helper()
	a, err := app.New(context.Background(), cfg, st, masterKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Close(context.Background()); err != nil {
			t.Errorf("closing the app: %v", err)
		}
	})
	hs := httptest.NewServer(a.API)
	t.Cleanup(hs.Close)
	return replica{app: a, url: hs.URL}
}

func clientToken(t *testing.T, base, id, secret string) string {
	t.Helper()
	req, err := http.NewRequest("POST", base+"/oauth/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.AccessToken == "" {
		t.Fatalf("client credentials grant: status %d, err %v", resp.StatusCode, err)
	}
	return body.AccessToken
}

func check(base, tok, name, key string) (bool, error) {
	payload, _ := json.Marshal(map[string]string{"name": name, "key": key})
	req, err := http.NewRequest("POST", base+"/v1/ratelimit/check", bytes.NewReader(payload))
	if err != nil {
		return false, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	var out struct {
		Allowed   bool `json:"allowed"`
		Unchecked bool `json:"unchecked"`
	}
	if resp.StatusCode != http.StatusOK {
		return false, &statusError{resp.StatusCode}
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return false, err
	}
	if out.Unchecked {
		return false, errUnchecked
	}
	return out.Allowed, nil
}

type statusError struct{ status int }

func (e *statusError) Error() string { return "check answered " + http.StatusText(e.status) }

var errUnchecked = &statusError{http.StatusServiceUnavailable}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// deleteRedisKeys removes what the test left; the keys also expire.
func deleteRedisKeys(t *testing.T, redisURL, prefix string) {
	opts, err := goredis.ParseURL(redisURL)
	if err != nil {
		t.Error(err)
		return
	}
	c := goredis.NewClient(opts)
	defer c.Close()
	ctx := context.Background()
	iter := c.Scan(ctx, 0, "{"+prefix+":*", 100).Iterator()
	for iter.Next(ctx) {
		c.Del(ctx, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Error(err)
	}
}
