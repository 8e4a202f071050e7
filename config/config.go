// Package config resolves Tollgate's settings from, in increasing precedence,
// built-in defaults, an optional YAML file, TOLLGATE_* environment variables and
// the command-line flags the user set explicitly.
//
// Every setting is described once, in the table in fields.go. Its flag name
// (--kebab-case), environment variable (TOLLGATE_UPPER_SNAKE) and YAML key
// (lower_snake) are all derived from that one entry, so the three sources, the
// printed configuration and docs/configuration.md cannot drift apart.
//
// A command creates its own flag.FlagSet, calls Register, parses its arguments
// and then calls Loader.Load:
//
//	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
//	loader := config.Register(fs)
//	if err := fs.Parse(args); err != nil { ... }
//	cfg, err := loader.Load(os.LookupEnv)
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// Config is the resolved configuration of one Tollgate process. The zero value
// is not useful; obtain one from Loader.Load or Defaults.
type Config struct {
	Listen string
	// MetricsAddr is a separate listener for /metrics; "" serves it on
	// Listen.
	MetricsAddr string
	// MetricsToken is the bearer token /metrics requires; "" requires none.
	// A secret, like MasterKey.
	MetricsToken string
	DataDir      string
	DatabaseURL  string // "" means sqlite://<DataDir>/tollgate.db; see EffectiveDatabaseURL
	// MasterKey seals signing private keys at rest. It is a secret: it has no
	// flag (arguments are visible in ps) and is redacted whenever it is printed.
	// Its format (base64 or hex of 32 bytes) belongs to token.ParseMasterKey,
	// which is also where it is required on PostgreSQL: Validate does not
	// demand it, so that "tollgate migrate" can run without the key.
	MasterKey   string
	AutoMigrate bool
	LogFormat   string // "auto", "json" or "text"
	LogLevel    string // "debug", "info", "warn" or "error"
	// The access log writes every refused, failed or slow request and
	// AccessLogPercent percent of the others.
	AccessLogPercent int
	AccessLogSlow    time.Duration
	ShutdownTimeout  time.Duration
	MaxBodyBytes     int64
	Issuer           string // "" means derived from Listen; see EffectiveIssuer
	Audience         string
	AccessTokenTTL   time.Duration
	RefreshTokenTTL  time.Duration
	// SessionAbsoluteLifetime ends a session however often it is refreshed.
	SessionAbsoluteLifetime time.Duration
	SigningAlgorithm        string // "EdDSA" or "ES256"
	Argon2MemoryKiB         uint32
	Argon2Iterations        uint32
	Argon2Parallelism       uint8
	HashConcurrency         int  // 0 means GOMAXPROCS; see EffectiveHashConcurrency
	HashWorker              bool // serve hashes passwords in a low-priority child process

	TrustedProxies string // parsed by clientip.Parse
	NATSURL        string // "" means the in-process bus
	NATSPrefix     string
	// Usage engine: the future skew events may have, and the JetStream
	// stream and consumer it records from when NATSURL is set.
	UsageMaxFutureSkew   time.Duration
	UsageStream          string
	UsageSubjects        string
	UsageConsumer        string
	UsageStreamMaxAge    time.Duration
	UsageDuplicateWindow time.Duration
	UsageFetchBatch      int
	// Meters is a JSON array of installation-wide meters every tenant has
	// besides the shipped ones; see ParseMeters and UsageMeters.
	Meters string

	APIKeyEnvironment   string // "live" or "test"
	APIKeyCacheTTL      time.Duration
	RotationGracePeriod time.Duration

	RedisURL    string // "" means in-process rate-limit counters
	RedisPrefix string
	// Rate-limit policy specs (ratelimit.ParsePolicy) of Tollgate's tiers,
	// and the named limits services check (ParseNamedLimits).
	RateLimitIP             string
	RateLimitTenant         string
	RateLimitActor          string
	RateLimitService        string
	RateLimitLogin          string
	RateLimitLoginAccount   string
	RateLimitLoginAccountIP string
	RateLimitToken          string
	RateLimits              string

	PolicySnapshotTTL        time.Duration
	PolicyMaxStaleness       time.Duration
	DecisionLogPermitPercent int
	// AuditDecisions sends the decision log to the audit log.
	AuditDecisions bool
	// DecisionLogLines keeps the decision log's structured log lines
	// besides the audit events.
	DecisionLogLines bool
	// The audit log's queue and digests.
	AuditFlushInterval  time.Duration
	AuditQueueSize      int
	AuditDigestInterval time.Duration
	// AuditRetentionDays is how long audit events are kept, unless a
	// tenant has a retention of its own (tollgate audit retention).
	AuditRetentionDays int
	// Publishing the audit log to NATS when NATSURL is set: whether, the
	// JetStream stream, its subject prefix and limits.
	AuditForward         bool
	AuditStream          string
	AuditSubjectPrefix   string
	AuditStreamMaxAge    time.Duration
	AuditDuplicateWindow time.Duration
	// Webhooks: the networks deliveries may reach besides the public
	// internet, one attempt's time limit, how many are in flight, and how
	// long an endpoint may fail before it is disabled.
	WebhookAllowedNetworks string
	WebhookTimeout         time.Duration
	WebhookConcurrency     int
	WebhookDisableAfter    time.Duration
	// GatewayRoutes is the route table file of /v1/gateway/auth; ""
	// disables the endpoint.
	GatewayRoutes string
	// PolicySchemaExtension is a Cedar schema fragment file applied to
	// every tenant's schema, under the tenant's own extension; "" is none.
	PolicySchemaExtension string

	// Limits on what one user or tenant may create; 0 is no limit.
	MaxTenantsPerUser     int
	MaxAgentsPerTenant    int
	MaxAPIKeysPerActor    int
	MaxResourcesPerTenant int

	TokenCacheSize     int
	KeyRefreshInterval time.Duration

	// Email: the SMTP server ("" writes messages to the log and keeps
	// them for tollgate admin outbox), the sender, template overrides, and
	// where the links in messages lead.
	SMTPURL          string
	SMTPFrom         string
	MailTemplatesDir string
	MailMaxAttempts  int
	LinkBaseURL      string // "" means EffectiveIssuer; see EffectiveLinkBaseURL
	InvitationTTL    time.Duration
	PasswordResetTTL time.Duration
	// TenantDeletionGrace is how long a scheduled tenant deletion waits
	// before erasure.
	TenantDeletionGrace time.Duration
	// Signup is open, invite_only or off; SignupVerificationTTL is how
	// long its emailed link works.
	Signup                string
	SignupVerificationTTL time.Duration

	// Passkeys: the WebAuthn relying party id, its name as
	// authenticators show it, and the comma-separated web origins that
	// may run ceremonies; see EffectiveWebAuthn.
	WebAuthnRPID    string
	WebAuthnRPName  string
	WebAuthnOrigins string
}

// MasterKeyFileName is the file in the data directory that holds the master
// key on the embedded (SQLite) deployment when none is configured.
const MasterKeyFileName = "master.key"

// Defaults returns the built-in defaults, before any file, environment
// variable or flag is applied.
func Defaults() Config {
	var c Config
	for i := range fields {
		f := &fields[i]
		if err := f.bind(&c).set(f.def); err != nil {
			// The table is static; TestDefaults keeps this unreachable.
			panic(fmt.Sprintf("config: default of %s: %v", f.key, err))
		}
	}
	return c
}

// Validate reports every invalid setting and every invalid combination of
// settings, naming the settings by their YAML keys. Loader.Load runs the same
// checks but names the source (file line, environment variable or flag) that
// supplied each value.
func (c Config) Validate() error {
	return c.validate(nil)
}

// validate runs the per-setting checks and then the cross-setting ones.
// origins maps a YAML key to the source that last set it ("" or missing for
// the built-in default).
func (c Config) validate(origins map[string]string) error {
	var errs []error
	for i := range fields {
		f := &fields[i]
		if err := f.bind(&c).check(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.label(origins), err))
		}
	}
	if len(errs) > 0 {
		// Cross-setting checks on values that are already invalid only add noise.
		return errors.Join(errs...)
	}

	// describe names a setting together with where its value came from, so an
	// operator can tell which of two sources to fix.
	describe := func(key string) string {
		if src := origins[key]; src != "" {
			return fmt.Sprintf("%s (from %s)", key, src)
		}
		return key
	}
	if c.AccessTokenTTL > c.RefreshTokenTTL {
		errs = append(errs, fmt.Errorf("%s must not be longer than %s: %s > %s",
			describe("access_token_ttl"), describe("refresh_token_ttl"),
			formatDuration(c.AccessTokenTTL), formatDuration(c.RefreshTokenTTL)))
	}
	if c.MetricsAddr != "" && c.MetricsAddr == c.Listen && !strings.HasSuffix(c.Listen, ":0") {
		errs = append(errs, fmt.Errorf("%s must differ from %s (leave it empty to serve /metrics on the main listener)",
			describe("metrics_addr"), describe("listen")))
	}
	if err := c.checkWebAuthn(describe); err != nil {
		errs = append(errs, err)
	}
	// Argon2 (RFC 9106, section 3.1) requires at least 8 KiB per lane.
	if uint64(c.Argon2MemoryKiB) < 8*uint64(c.Argon2Parallelism) {
		errs = append(errs, fmt.Errorf("%s must be at least 8 × %s: %d < 8 × %d",
			describe("argon2_memory_kib"), describe("argon2_parallelism"),
			c.Argon2MemoryKiB, c.Argon2Parallelism))
	}
	return errors.Join(errs...)
}

// EffectiveDatabaseURL returns DatabaseURL, or when it is empty the embedded
// default sqlite://<DataDir>/tollgate.db.
func (c Config) EffectiveDatabaseURL() string {
	if c.DatabaseURL != "" {
		return c.DatabaseURL
	}
	return "sqlite://" + filepath.ToSlash(filepath.Join(c.DataDir, "tollgate.db"))
}

// IsSQLite reports whether the effective database is an embedded SQLite file.
func (c Config) IsSQLite() bool {
	_, ok := sqlitePath(c.EffectiveDatabaseURL())
	return ok
}

// SQLitePath returns the file path of the effective SQLite database, or "" if
// the database is not SQLite. See sqlitePath for the accepted URL forms.
func (c Config) SQLitePath() string {
	p, _ := sqlitePath(c.EffectiveDatabaseURL())
	return p
}

// IsPostgres reports whether the effective database URL is a PostgreSQL URL
// (postgres:// or postgresql://).
func (c Config) IsPostgres() bool {
	return isPostgresURL(c.EffectiveDatabaseURL())
}

// MasterKeyFile is where the embedded deployment reads or generates the master
// key when MasterKey is empty: <DataDir>/master.key.
func (c Config) MasterKeyFile() string {
	return filepath.Join(c.DataDir, MasterKeyFileName)
}

// EffectiveIssuer returns Issuer, or when it is empty "http://" + Listen. A
// listen address without a host or with an unspecified one (":9200",
// "0.0.0.0:9200", "[::]:9200") is not a usable URL host, so "localhost" stands
// in for it. Production deployments should set Issuer to their public URL.
func (c Config) EffectiveIssuer() string {
	if c.Issuer != "" {
		return c.Issuer
	}
	host, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		return "http://" + c.Listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// EffectiveLinkBaseURL returns LinkBaseURL, or EffectiveIssuer when it is
// empty: the base of the links in invitation and reset emails.
func (c Config) EffectiveLinkBaseURL() string {
	if c.LinkBaseURL != "" {
		return strings.TrimRight(c.LinkBaseURL, "/")
	}
	return strings.TrimRight(c.EffectiveIssuer(), "/")
}

// EffectiveHashConcurrency returns HashConcurrency, or GOMAXPROCS when it is 0.
func (c Config) EffectiveHashConcurrency() int {
	if c.HashConcurrency > 0 {
		return c.HashConcurrency
	}
	return runtime.GOMAXPROCS(0)
}

// String renders the configuration with secrets redacted, so that a Config
// passed to fmt or a logger by mistake does not leak them.
func (c Config) String() string {
	var b strings.Builder
	b.WriteString("{")
	for i := range fields {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s:%s", fields[i].key, fields[i].display(&c))
	}
	b.WriteString("}")
	return b.String()
}

// GoString keeps %#v from printing secrets.
func (c Config) GoString() string { return "config.Config" + c.String() }

// LogValue keeps slog from printing secrets.
func (c Config) LogValue() slog.Value {
	attrs := make([]slog.Attr, len(fields))
	for i := range fields {
		attrs[i] = slog.String(fields[i].key, fields[i].display(&c))
	}
	return slog.GroupValue(attrs...)
}
