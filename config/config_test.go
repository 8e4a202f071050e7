package config

import (
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestFieldTable keeps the table honest: one entry per Config field, bound to
// that field, with names derived mechanically from the YAML key.
func TestFieldTable(t *testing.T) {
	typ := reflect.TypeFor[Config]()
	if got, want := len(fields), typ.NumField(); got != want {
		t.Errorf("%d table entries for %d Config fields", got, want)
	}
	snake := regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	seen := map[string]bool{}
	for _, f := range Fields() {
		if seen[f.Name] {
			t.Errorf("%s described twice", f.Name)
		}
		seen[f.Name] = true

		var c Config
		sf := reflect.ValueOf(&c).Elem().FieldByName(f.Name)
		if !sf.IsValid() {
			t.Errorf("%s: no such Config field", f.Name)
			continue
		}
		if got := reflect.ValueOf(fieldsByKey[f.YAML].bind(&c).addr()).Pointer(); got != sf.Addr().Pointer() {
			t.Errorf("%s: bound to the wrong Config field", f.YAML)
		}

		if !snake.MatchString(f.YAML) {
			t.Errorf("YAML key %q is not lower_snake", f.YAML)
		}
		if want := "TOLLGATE_" + strings.ToUpper(f.YAML); f.Env != want {
			t.Errorf("%s: env %q, want %q", f.YAML, f.Env, want)
		}
		wantFlag := strings.ReplaceAll(f.YAML, "_", "-")
		if f.Secret {
			wantFlag = ""
		}
		if f.Flag != wantFlag {
			t.Errorf("%s: flag %q, want %q", f.YAML, f.Flag, wantFlag)
		}
		if f.Help == "" {
			t.Errorf("%s: no help", f.YAML)
		}
		// Go name and YAML key say the same words.
		if !strings.EqualFold(f.Name, strings.ReplaceAll(f.YAML, "_", "")) {
			t.Errorf("Go name %s does not match YAML key %s", f.Name, f.YAML)
		}
	}
}

// TestDefaults checks the defaults the brief promises, and that each default
// prints back exactly as written in the table.
func TestDefaults(t *testing.T) {
	got := Defaults()
	want := Config{
		Listen: "127.0.0.1:9200", DataDir: "./tollgate-data", DatabaseURL: "", MasterKey: "",
		AutoMigrate: true, LogFormat: "auto", LogLevel: "info", AccessLogPercent: 5, AccessLogSlow: 100 * time.Millisecond,
		ShutdownTimeout: 15 * time.Second, MaxBodyBytes: 1048576,
		Issuer: "", Audience: "tollgate",
		AccessTokenTTL: 15 * time.Minute, RefreshTokenTTL: 720 * time.Hour, SessionAbsoluteLifetime: 720 * time.Hour,
		SigningAlgorithm: "EdDSA",
		Argon2MemoryKiB:  19456, Argon2Iterations: 2, Argon2Parallelism: 1, HashConcurrency: 0, HashWorker: true,
		NATSPrefix: "tollgate", APIKeyEnvironment: "live", APIKeyCacheTTL: 30 * time.Second,
		UsageMaxFutureSkew: 5 * time.Minute, UsageStream: "TOLLGATE_USAGE", UsageSubjects: "usage.>", UsageConsumer: "tollgate-usage",
		UsageStreamMaxAge: 168 * time.Hour, UsageDuplicateWindow: 2 * time.Minute, UsageFetchBatch: 1000,
		RedisPrefix: "tollgate", RateLimitIP: "100/1m sliding_window", RateLimitTenant: "1000/1m sliding_window",
		RateLimitActor: "600/1m burst=100", RateLimitService: "off", RateLimitLogin: "10/1m burst=20 fail=closed",
		RateLimitLoginAccount: "50/1h burst=100 fail=closed", RateLimitLoginAccountIP: "5/15m fail=closed",
		RateLimitToken: "120/1m burst=30 fail=closed", PolicySnapshotTTL: 5 * time.Minute, PolicyMaxStaleness: 2 * time.Second, DecisionLogPermitPercent: 1,
		AuditDecisions: true, AuditFlushInterval: time.Second, AuditQueueSize: 8192, AuditDigestInterval: time.Hour,
		AuditRetentionDays: 400,
		AuditForward:       true, AuditStream: "TOLLGATE_AUDIT", AuditSubjectPrefix: "audit", AuditStreamMaxAge: 168 * time.Hour,
		AuditDuplicateWindow: 10 * time.Minute,
		WebhookTimeout:       10 * time.Second, WebhookConcurrency: 64, WebhookDisableAfter: 120 * time.Hour,
		MaxTenantsPerUser: 20, MaxAgentsPerTenant: 1000, MaxAPIKeysPerActor: 100, MaxResourcesPerTenant: 100000,
		SMTPFrom: "Tollgate <noreply@localhost>", MailMaxAttempts: 8, InvitationTTL: 168 * time.Hour, TenantDeletionGrace: 168 * time.Hour, PasswordResetTTL: time.Hour,
		Signup: "off", SignupVerificationTTL: 24 * time.Hour,
		WebAuthnRPName: "Tollgate",
		TokenCacheSize: 10000, KeyRefreshInterval: 30 * time.Second,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Defaults:\n got %+v\nwant %+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("defaults invalid: %v", err)
	}
	for i := range fields {
		f := &fields[i]
		if s := f.bind(&got).get(); s != f.def {
			t.Errorf("%s: default formats as %q, want %q", f.key, s, f.def)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   string // "" for valid
	}{
		{"defaults", func(c *Config) {}, ""},
		{"log format", func(c *Config) { c.LogFormat = "JSON" }, `log_format: invalid value "JSON"`},
		{"log level", func(c *Config) { c.LogLevel = "trace" }, `log_level: invalid value "trace"`},
		{"algorithm", func(c *Config) { c.SigningAlgorithm = "HS256" }, `signing_algorithm: invalid value "HS256"`},
		{"zero access ttl", func(c *Config) { c.AccessTokenTTL = 0 }, "access_token_ttl: must be greater than 0"},
		{"negative refresh ttl", func(c *Config) { c.RefreshTokenTTL = -time.Hour }, "refresh_token_ttl: must be greater than 0"},
		{"access over refresh", func(c *Config) { c.AccessTokenTTL = 721 * time.Hour },
			"access_token_ttl must not be longer than refresh_token_ttl: 721h > 720h"},
		{"access equal to refresh", func(c *Config) { c.AccessTokenTTL = c.RefreshTokenTTL }, ""},
		{"small body", func(c *Config) { c.MaxBodyBytes = 1023 }, "max_body_bytes: must be at least 1024, got 1023"},
		{"smallest body", func(c *Config) { c.MaxBodyBytes = 1024 }, ""},
		{"negative shutdown", func(c *Config) { c.ShutdownTimeout = -time.Second }, "shutdown_timeout: must be at least"},
		{"zero shutdown", func(c *Config) { c.ShutdownTimeout = 0 }, ""},
		{"zero iterations", func(c *Config) { c.Argon2Iterations = 0 }, "argon2_iterations: must be at least 1"},
		{"zero parallelism", func(c *Config) { c.Argon2Parallelism = 0 }, "argon2_parallelism: must be at least 1"},
		{"memory per lane", func(c *Config) { c.Argon2MemoryKiB, c.Argon2Parallelism = 63, 8 },
			"argon2_memory_kib must be at least 8 × argon2_parallelism: 63 < 8 × 8"},
		{"negative hash concurrency", func(c *Config) { c.HashConcurrency = -1 }, "hash_concurrency: must be at least 0"},
		{"empty cache", func(c *Config) { c.TokenCacheSize = 0 }, "token_cache_size: must be at least 1, got 0"},
		{"bad tier spec", func(c *Config) { c.RateLimitTenant = "1000 per minute" }, "rate_limit_tenant: "},
		{"bad tier option", func(c *Config) { c.RateLimitLogin = "10/1m fail=sometimes" }, "rate_limit_login: fail must be open or closed"},
		{"named limit without spec", func(c *Config) { c.RateLimits = "messages" }, `rate_limits: "messages" is not name=spec`},
		{"named limit on a tier", func(c *Config) { c.RateLimits = "tenant=5/1m" }, `rate_limits: "tenant" is one of Tollgate's own tiers`},
		{"named limit twice", func(c *Config) { c.RateLimits = "a=5/1m, a=6/1m" }, `rate_limits: limit "a" is defined twice`},
		{"named limit bad spec", func(c *Config) { c.RateLimits = "a=5/1m, b=0/1m" }, `rate_limits: limit "b": rate must be between 1`},
		{"gateway routes", func(c *Config) { c.GatewayRoutes = "/etc/tollgate/routes.yaml" }, ""},
		{"gateway routes with spaces", func(c *Config) { c.GatewayRoutes = " routes.yaml" }, "gateway_routes: must be a file path without surrounding spaces"},
		{"a schema extension", func(c *Config) { c.PolicySchemaExtension = "/etc/tollgate/schema.cedarschema" }, ""},
		{"a schema extension with spaces", func(c *Config) { c.PolicySchemaExtension = "schema.cedarschema " }, "policy_schema_extension: must be a file path without surrounding spaces"},
		{"bad redis url", func(c *Config) { c.RedisURL = "http://x" }, "redis_url: invalid Redis URL"},
		{"bad redis prefix", func(c *Config) { c.RedisPrefix = "a b" }, "redis_prefix: invalid Redis prefix"},
		{"zero refresh interval", func(c *Config) { c.KeyRefreshInterval = 0 }, "key_refresh_interval: must be greater than 0"},
		{"metrics addr", func(c *Config) { c.MetricsAddr = "127.0.0.1:9201" }, ""},
		{"bad metrics addr", func(c *Config) { c.MetricsAddr = "9201" }, "metrics_addr: invalid listen address"},
		{"metrics addr is listen", func(c *Config) { c.MetricsAddr = c.Listen }, "metrics_addr must differ from listen"},
		{"both on free ports", func(c *Config) { c.Listen, c.MetricsAddr = "127.0.0.1:0", "127.0.0.1:0" }, ""},
		{"metrics token", func(c *Config) { c.MetricsToken = "0123456789abcdef" }, ""},
		{"short metrics token", func(c *Config) { c.MetricsToken = "short" }, "metrics_token: must be at least 16 characters, got 5"},
		{"metrics token with space", func(c *Config) { c.MetricsToken = "0123456789 abcdef" }, "metrics_token: must not contain spaces"},
		{"empty listen", func(c *Config) { c.Listen = "" }, "listen: invalid listen address"},
		{"empty audience", func(c *Config) { c.Audience = "" }, "audience: must not be empty"},
		{"issuer with query", func(c *Config) { c.Issuer = "https://a.example/?x=1" }, "issuer: invalid issuer"},
		{"issuer with path", func(c *Config) { c.Issuer = "https://a.example/tenant" }, ""},
		// The master key's format and its requirement on PostgreSQL are
		// token.ParseMasterKey's and serve's business, not Validate's.
		{"postgres without master key", func(c *Config) { c.DatabaseURL = "postgresql://db/tollgate" }, ""},
		{"sqlite", func(c *Config) { c.DatabaseURL = "sqlite:///var/lib/t.db" }, ""},
		{"unsupported database", func(c *Config) { c.DatabaseURL = "mysql://db/t" }, "database_url: unsupported database URL"},
		{"several problems", func(c *Config) { c.LogLevel, c.Audience = "x", "" }, "log_level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Defaults()
			tt.mutate(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tt.want != "" && err == nil:
				t.Errorf("Validate succeeded, want %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Errorf("Validate: %q\ndoes not contain %q", err, tt.want)
			}
		})
	}
}

func TestDatabaseURL(t *testing.T) {
	tests := []struct {
		dataDir, url string
		effective    string
		sqlite       bool
		path         string
		postgres     bool
	}{
		{"./tollgate-data", "", "sqlite://tollgate-data/tollgate.db", true, "tollgate-data/tollgate.db", false},
		{"/var/lib/tollgate", "", "sqlite:///var/lib/tollgate/tollgate.db", true, "/var/lib/tollgate/tollgate.db", false},
		{"/var/lib/tollgate/", "", "sqlite:///var/lib/tollgate/tollgate.db", true, "/var/lib/tollgate/tollgate.db", false},
		{"d", "sqlite:///abs/path.db", "sqlite:///abs/path.db", true, "/abs/path.db", false},
		{"d", "sqlite://relative/path.db", "sqlite://relative/path.db", true, "relative/path.db", false},
		{"d", "sqlite:relative/path.db", "sqlite:relative/path.db", true, "relative/path.db", false},
		{"d", "sqlite:/abs/path.db", "sqlite:/abs/path.db", true, "/abs/path.db", false},
		{"d", "SQLite:///Abs/Path.db", "SQLite:///Abs/Path.db", true, "/Abs/Path.db", false},
		{"d", "postgres://u:p@db:5432/t", "postgres://u:p@db:5432/t", false, "", true},
		{"d", "postgresql://db/t?sslmode=require", "postgresql://db/t?sslmode=require", false, "", true},
		{"d", "POSTGRES://db/t", "POSTGRES://db/t", false, "", true},
		{"d", "postgres:db", "postgres:db", false, "", false},
		{"d", "sqlite3:///x.db", "sqlite3:///x.db", false, "", false},
		{"d", "mysql://db/t", "mysql://db/t", false, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			c := Config{DataDir: tt.dataDir, DatabaseURL: tt.url}
			if got := c.EffectiveDatabaseURL(); got != tt.effective {
				t.Errorf("EffectiveDatabaseURL = %q, want %q", got, tt.effective)
			}
			if got := c.IsSQLite(); got != tt.sqlite {
				t.Errorf("IsSQLite = %v, want %v", got, tt.sqlite)
			}
			if got := c.SQLitePath(); got != tt.path {
				t.Errorf("SQLitePath = %q, want %q", got, tt.path)
			}
			if got := c.IsPostgres(); got != tt.postgres {
				t.Errorf("IsPostgres = %v, want %v", got, tt.postgres)
			}
		})
	}
}

func TestEffectiveIssuer(t *testing.T) {
	tests := []struct{ listen, issuer, want string }{
		{"127.0.0.1:9200", "", "http://127.0.0.1:9200"},
		{"localhost:80", "", "http://localhost:80"},
		{":9200", "", "http://localhost:9200"},
		{"0.0.0.0:9200", "", "http://localhost:9200"},
		{"[::]:9200", "", "http://localhost:9200"},
		{"[::1]:9200", "", "http://[::1]:9200"},
		{"auth.internal:9200", "", "http://auth.internal:9200"},
		{":9200", "https://auth.example.com", "https://auth.example.com"},
	}
	for _, tt := range tests {
		c := Config{Listen: tt.listen, Issuer: tt.issuer}
		if got := c.EffectiveIssuer(); got != tt.want {
			t.Errorf("EffectiveIssuer(listen %q, issuer %q) = %q, want %q", tt.listen, tt.issuer, got, tt.want)
		}
	}
}

func TestEffectiveHashConcurrency(t *testing.T) {
	if got := (Config{}).EffectiveHashConcurrency(); got != runtime.GOMAXPROCS(0) {
		t.Errorf("0 → %d, want GOMAXPROCS %d", got, runtime.GOMAXPROCS(0))
	}
	if got := (Config{HashConcurrency: 3}).EffectiveHashConcurrency(); got != 3 {
		t.Errorf("3 → %d", got)
	}
}

func TestMasterKeyFile(t *testing.T) {
	if got := (Config{DataDir: "./tollgate-data"}).MasterKeyFile(); got != "tollgate-data/master.key" {
		t.Errorf("MasterKeyFile = %q", got)
	}
}
