package config

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestWriteRedacted(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(c *Config)
		want    []string // lines or fragments of the output
		notWant []string
	}{
		{
			name: "defaults",
			want: []string{
				"listen: 127.0.0.1:9200\n",
				`master_key: "" # read from or generated into tollgate-data/master.key` + "\n",
				`database_url: "" # sqlite://tollgate-data/tollgate.db` + "\n",
				`issuer: "" # http://127.0.0.1:9200` + "\n",
				"auto_migrate: true\n",
				"access_token_ttl: 15m\n",
				"refresh_token_ttl: 720h\n",
				"max_body_bytes: 1048576\n",
				"argon2_parallelism: 1\n",
				"signing_algorithm: EdDSA\n",
			},
		},
		{
			name: "secrets set",
			mutate: func(c *Config) {
				c.MasterKey = testMasterKey
				c.DatabaseURL = "postgres://tollgate:hunter2@db.internal:5432/tollgate?sslmode=verify-full"
				c.MetricsToken = "scrape-secret-0123456789"
			},
			want: []string{
				`master_key: "<redacted>"` + "\n",
				`metrics_token: "<redacted>"` + "\n",
				"database_url: postgres://tollgate:<redacted>@db.internal:5432/tollgate?sslmode=verify-full\n",
			},
			notWant: []string{testMasterKey, "hunter2", "scrape-secret"},
		},
		{
			name: "password in query and with special characters",
			mutate: func(c *Config) {
				c.MasterKey = testMasterKey
				c.DatabaseURL = "postgresql://u:p@ss/w?rd#1@db/t?password=hunter2&sslmode=disable"
			},
			want:    []string{"database_url: postgresql://u:<redacted>@db/t?password=<redacted>&sslmode=disable"},
			notWant: []string{"ss/w", "rd#1", "hunter2"},
		},
		{
			name:   "strings that look like other types are quoted",
			mutate: func(c *Config) { c.Audience = "true"; c.DataDir = "123" },
			want:   []string{`audience: "true"` + "\n", `data_dir: "123"` + "\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Defaults()
			if tt.mutate != nil {
				tt.mutate(&c)
			}
			var buf bytes.Buffer
			if err := c.WriteRedacted(&buf); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output does not contain %q:\n%s", w, out)
				}
			}
			for _, secret := range tt.notWant {
				if strings.Contains(out, secret) {
					t.Errorf("output leaks %q:\n%s", secret, out)
				}
			}
			for _, f := range Fields() {
				if !strings.Contains(out, "\n"+f.YAML+": ") {
					t.Errorf("output lacks key %s", f.YAML)
				}
			}
		})
	}
}

// TestWriteRedactedRoundTrip: what --print-config prints loads back into the
// same configuration (secrets aside), so it can be saved as a config file.
func TestWriteRedactedRoundTrip(t *testing.T) {
	c := Defaults()
	c.Listen = "[::1]:9443"
	c.DataDir = "/var/lib/tollgate data"
	c.DatabaseURL = "sqlite:///var/lib/tollgate/t.db"
	c.AutoMigrate = false
	c.LogFormat = "json"
	c.LogLevel = "debug"
	c.ShutdownTimeout = 90 * time.Second
	c.MaxBodyBytes = 4096
	c.Issuer = "https://auth.example.com/"
	c.Audience = "yes" // a YAML 1.1 boolean, must stay a string
	c.AccessTokenTTL = 90 * time.Minute
	c.RefreshTokenTTL = 36*time.Hour + 30*time.Second
	c.SigningAlgorithm = "ES256"
	c.Argon2MemoryKiB = 65536
	c.Argon2Iterations = 3
	c.Argon2Parallelism = 255
	c.HashConcurrency = 2
	c.RedisURL = "redis://127.0.0.1:6379/2"
	c.RedisPrefix = "tg-test"
	c.RateLimitIP = "50/1m"
	c.RateLimitTenant = "off"
	c.RateLimitLogin = "3/1m burst=2 fail=open"
	c.RateLimits = "messages=60/1m burst=10, exports=5/1h sliding_window fail=closed"
	c.TokenCacheSize = 1
	c.KeyRefreshInterval = 5 * time.Second
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	if err := c.WriteRedacted(&buf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "printed.yaml")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := load([]string{"--config", path}, nil)
	if err != nil {
		t.Fatalf("loading printed config: %v\n%s", err, buf.String())
	}
	if !reflect.DeepEqual(got, c) {
		t.Errorf("round trip:\n got %+v\nwant %+v\n%s", got, c, buf.String())
	}
}

// TestConfigPrintingRedacts: a Config handed to fmt or slog by mistake does
// not leak secrets.
func TestConfigPrintingRedacts(t *testing.T) {
	c := Defaults()
	c.MasterKey = testMasterKey
	c.DatabaseURL = "postgres://u:hunter2@db/t"

	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "config", c)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "config", c)

	for name, out := range map[string]string{
		"%v":   fmt.Sprintf("%v", c),
		"%+v":  fmt.Sprintf("%+v", c),
		"%#v":  fmt.Sprintf("%#v", c),
		"%s":   fmt.Sprintf("%s", c), //lint:ignore S1025 the %s verb is what is under test
		"slog": logged.String(),
	} {
		if strings.Contains(out, testMasterKey) || strings.Contains(out, "hunter2") {
			t.Errorf("%s leaks a secret: %s", name, out)
		}
		if !strings.Contains(out, "<redacted>") {
			t.Errorf("%s shows no redaction: %s", name, out)
		}
	}
}
