package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tollgate/tollgate/clientip"
	"github.com/tollgate/tollgate/fault"
	"github.com/tollgate/tollgate/ratelimit"
	"github.com/tollgate/tollgate/webhook"
)

// EnvPrefix starts the name of every environment variable Tollgate reads.
const EnvPrefix = "TOLLGATE_"

// ConfigFileEnv names the environment variable that holds the path of the YAML
// configuration file; the --config flag takes precedence over it.
const ConfigFileEnv = EnvPrefix + "CONFIG"

// redacted replaces a secret that is set whenever a value is printed.
const redacted = "<redacted>"

// field describes one setting. key is its YAML key; the flag and environment
// variable names are derived from it.
type field struct {
	name   string // Go field name in Config
	key    string // lower_snake
	def    string // default, in the same syntax as a file, env or flag value
	help   string
	secret bool // no flag; redacted when printed
	// secretURL values may carry a password, removed when printed.
	secretURL bool
	// structured values may be written in the YAML file as a list or
	// mapping, read as their JSON.
	structured bool
	bind       func(*Config) setting
}

func (f *field) flagName() string {
	if f.secret {
		return ""
	}
	return strings.ReplaceAll(f.key, "_", "-")
}

func (f *field) envName() string { return EnvPrefix + strings.ToUpper(f.key) }

// label names the setting for an error: the source that set it when known,
// the YAML key otherwise.
func (f *field) label(origins map[string]string) string {
	switch src := origins[f.key]; {
	case src == "":
		return f.key
	case strings.HasPrefix(src, EnvPrefix), strings.HasPrefix(src, "--"):
		return src
	default: // file:line
		return src + ": " + f.key
	}
}

// display renders the value of the setting in c for people: secrets redacted,
// passwords removed from database URLs.
func (f *field) display(c *Config) string {
	v := f.bind(c).get()
	switch {
	case f.secret && v != "":
		return redacted
	case f.key == "database_url" || f.key == "nats_url" || f.secretURL:
		return RedactURL(v)
	}
	return v
}

// fields is the single description of every setting, in the order they are
// documented and printed. It is never modified.
var fields = []field{
	{name: "Listen", key: "listen", def: "127.0.0.1:9200",
		help: "Address (host:port) the HTTP server listens on",
		bind: func(c *Config) setting { return stringSetting(&c.Listen, checkListen) }},
	{name: "MetricsAddr", key: "metrics_addr", def: "",
		help: "Address (host:port) of a separate listener for /metrics, e.g. 127.0.0.1:9201; empty serves /metrics on the main listener",
		bind: func(c *Config) setting { return stringSetting(&c.MetricsAddr, checkMetricsAddr) }},
	{name: "MetricsToken", key: "metrics_token", def: "", secret: true,
		help: "Bearer token /metrics requires when set (at least 16 characters); empty leaves /metrics open",
		bind: func(c *Config) setting { return stringSetting(&c.MetricsToken, checkMetricsToken) }},
	{name: "DataDir", key: "data_dir", def: "./tollgate-data",
		help: "Directory for the embedded SQLite database and the generated master key",
		bind: func(c *Config) setting { return stringSetting(&c.DataDir, nonEmpty) }},
	{name: "DatabaseURL", key: "database_url", def: "",
		help: "Database URL: sqlite:PATH, sqlite://PATH or postgres://…; empty means sqlite://<data_dir>/tollgate.db",
		bind: func(c *Config) setting { return stringSetting(&c.DatabaseURL, checkDatabaseURL) }},
	{name: "MasterKey", key: "master_key", def: "", secret: true,
		help: "32 random bytes in base64 (or hex) that seal signing private keys; empty means <data_dir>/master.key on SQLite, required on PostgreSQL",
		bind: func(c *Config) setting { return stringSetting(&c.MasterKey, nil) }},
	{name: "AutoMigrate", key: "auto_migrate", def: "true",
		help: "Apply pending database migrations when the server starts",
		bind: func(c *Config) setting { return boolSetting(&c.AutoMigrate) }},
	{name: "LogFormat", key: "log_format", def: "auto",
		help: "Log format: auto (text on a terminal, json otherwise), json or text",
		bind: func(c *Config) setting { return enumSetting(&c.LogFormat, "auto", "json", "text") }},
	{name: "LogLevel", key: "log_level", def: "info",
		help: "Minimum log level: debug, info, warn or error",
		bind: func(c *Config) setting { return enumSetting(&c.LogLevel, "debug", "info", "warn", "error") }},
	{name: "AccessLogPercent", key: "access_log_percent", def: "5",
		help: "Percentage of fast, successful requests the access log writes at info (0 to 100); refused, failed and slow requests are always written",
		bind: func(c *Config) setting { return intSetting(&c.AccessLogPercent, between(0, 100)) }},
	{name: "AccessLogSlow", key: "access_log_slow", def: "100ms",
		help: "Duration from which a request is slow: the access log always writes it",
		bind: func(c *Config) setting { return durationSetting(&c.AccessLogSlow, positive) }},
	{name: "ShutdownTimeout", key: "shutdown_timeout", def: "15s",
		help: "How long the server waits for in-flight requests when shutting down",
		bind: func(c *Config) setting { return durationSetting(&c.ShutdownTimeout, atLeast[time.Duration](0)) }},
	{name: "MaxBodyBytes", key: "max_body_bytes", def: "1048576",
		help: "Largest accepted request body in bytes (at least 1024)",
		bind: func(c *Config) setting { return intSetting(&c.MaxBodyBytes, atLeast[int64](1024)) }},
	{name: "Issuer", key: "issuer", def: "",
		help: "Token issuer (iss claim), an http(s) URL; empty means http://<listen>",
		bind: func(c *Config) setting { return stringSetting(&c.Issuer, checkIssuer) }},
	{name: "Audience", key: "audience", def: "tollgate",
		help: "Token audience (aud claim)",
		bind: func(c *Config) setting { return stringSetting(&c.Audience, nonEmpty) }},
	{name: "AccessTokenTTL", key: "access_token_ttl", def: "15m",
		help: "Lifetime of access tokens; at most refresh_token_ttl",
		bind: func(c *Config) setting { return durationSetting(&c.AccessTokenTTL, positive) }},
	{name: "RefreshTokenTTL", key: "refresh_token_ttl", def: "720h",
		help: "Lifetime of refresh tokens",
		bind: func(c *Config) setting { return durationSetting(&c.RefreshTokenTTL, positive) }},
	{name: "SessionAbsoluteLifetime", key: "session_absolute_lifetime", def: "720h",
		help: "How long a session lasts after its sign-in however often it is refreshed",
		bind: func(c *Config) setting { return durationSetting(&c.SessionAbsoluteLifetime, positive) }},
	{name: "SigningAlgorithm", key: "signing_algorithm", def: "EdDSA",
		help: "Algorithm of token signing keys: EdDSA or ES256",
		bind: func(c *Config) setting { return enumSetting(&c.SigningAlgorithm, "EdDSA", "ES256") }},
	{name: "Argon2MemoryKiB", key: "argon2_memory_kib", def: "19456",
		help: "Argon2id memory per password hash in KiB (at most 4194304, i.e. 4 GiB)",
		bind: func(c *Config) setting { return uintSetting(&c.Argon2MemoryKiB, between[uint32](8, 4<<20)) }},
	{name: "Argon2Iterations", key: "argon2_iterations", def: "2",
		help: "Argon2id passes over memory (time cost)",
		bind: func(c *Config) setting { return uintSetting(&c.Argon2Iterations, atLeast[uint32](1)) }},
	{name: "Argon2Parallelism", key: "argon2_parallelism", def: "1",
		help: "Argon2id lanes per password hash",
		bind: func(c *Config) setting { return uintSetting(&c.Argon2Parallelism, atLeast[uint8](1)) }},
	{name: "HashConcurrency", key: "hash_concurrency", def: "0",
		help: "Password hashes computed at once, bounding memory use; 0 means GOMAXPROCS",
		bind: func(c *Config) setting { return intSetting(&c.HashConcurrency, atLeast(0)) }},
	{name: "HashWorker", key: "hash_worker", def: "true",
		help: "Compute password hashes in a child process at the lowest CPU priority, so login bursts take only CPU other requests leave idle",
		bind: func(c *Config) setting { return boolSetting(&c.HashWorker) }},
	{name: "TrustedProxies", key: "trusted_proxies", def: "",
		help: "Comma-separated IP addresses and CIDR prefixes of reverse proxies whose Forwarded / X-Forwarded-For headers name the client; empty trusts none and uses the socket address",
		bind: func(c *Config) setting { return stringSetting(&c.TrustedProxies, checkTrustedProxies) }},
	{name: "NATSURL", key: "nats_url", def: "",
		help: "NATS server URL(s) for the event bus between replicas, e.g. nats://127.0.0.1:4222; empty means an in-process bus (one replica)",
		bind: func(c *Config) setting { return stringSetting(&c.NATSURL, checkNATSURL) }},
	{name: "NATSPrefix", key: "nats_prefix", def: "tollgate",
		help: "Subject prefix on NATS, keeping installations that share a server apart",
		bind: func(c *Config) setting { return stringSetting(&c.NATSPrefix, checkPrefix("NATS")) }},
	{name: "UsageMaxFutureSkew", key: "usage_max_future_skew", def: "5m",
		help: "How far in the future a usage event's time may be (reporters' clock skew); later events are rejected with usage_event_in_future",
		bind: func(c *Config) setting {
			return durationSetting(&c.UsageMaxFutureSkew, between(time.Second, 24*time.Hour))
		}},
	{name: "UsageStream", key: "usage_stream", def: "TOLLGATE_USAGE",
		help: "Name of the JetStream stream of usage events, created or verified at start-up when nats_url is set",
		bind: func(c *Config) setting { return stringSetting(&c.UsageStream, checkStreamName) }},
	{name: "UsageSubjects", key: "usage_subjects", def: "usage.>",
		help: "Subject filter the usage stream captures, plain core-NATS publishes included; events on it are recorded",
		bind: func(c *Config) setting { return stringSetting(&c.UsageSubjects, checkSubjectFilter) }},
	{name: "UsageConsumer", key: "usage_consumer", def: "tollgate-usage",
		help: "Durable pull consumer of the usage stream, shared by every replica",
		bind: func(c *Config) setting { return stringSetting(&c.UsageConsumer, checkStreamName) }},
	{name: "UsageStreamMaxAge", key: "usage_stream_max_age", def: "168h",
		help: "How long the usage stream keeps messages (limits retention), recorded or not; the database is the record",
		bind: func(c *Config) setting {
			return durationSetting(&c.UsageStreamMaxAge, between(time.Hour, 365*24*time.Hour))
		}},
	{name: "UsageDuplicateWindow", key: "usage_duplicate_window", def: "2m",
		help: "The usage stream's duplicate_window: publishes with a Nats-Msg-Id seen within it are dropped by the broker (the database de-duplicates forever regardless)",
		bind: func(c *Config) setting {
			return durationSetting(&c.UsageDuplicateWindow, between(time.Second, 24*time.Hour))
		}},
	{name: "UsageFetchBatch", key: "usage_fetch_batch", def: "1000",
		help: "Messages a replica fetches from the usage stream and records in one transaction (1 to 1000)",
		bind: func(c *Config) setting { return intSetting(&c.UsageFetchBatch, between(1, 1000)) }},
	{name: "Meters", key: "meters", def: "", structured: true,
		help: "Meters every tenant has besides the shipped ones, a JSON array (in the file also a YAML list) of {name, event_type, aggregation, value_path, group_by}; at most 64, named apart from the shipped meters",
		bind: func(c *Config) setting { return stringSetting(&c.Meters, checkMeters) }},
	{name: "APIKeyEnvironment", key: "api_key_environment", def: "live",
		help: "Environment marker in new API keys and client secrets (tg_<env>_…): live or test",
		bind: func(c *Config) setting { return enumSetting(&c.APIKeyEnvironment, "live", "test") }},
	{name: "APIKeyCacheTTL", key: "api_key_cache_ttl", def: "30s",
		help: "How long a replica reuses an API key's record and its holder's rights without a store read; revocations on the bus apply at once regardless",
		bind: func(c *Config) setting { return durationSetting(&c.APIKeyCacheTTL, between(time.Second, time.Hour)) }},
	{name: "RotationGracePeriod", key: "rotation_grace_period", def: "0s",
		help: "How long a rotated-out API key or client secret keeps working when the rotate request does not say (at most 168h)",
		bind: func(c *Config) setting { return durationSetting(&c.RotationGracePeriod, between(0, 7*24*time.Hour)) }},
	{name: "RedisURL", key: "redis_url", def: "",
		help:      "Redis URL for rate-limit counters shared by all replicas, e.g. redis://127.0.0.1:6379/0 (rediss:// for TLS); empty keeps them in process (one replica)",
		secretURL: true,
		bind:      func(c *Config) setting { return stringSetting(&c.RedisURL, checkRedisURL) }},
	{name: "RedisPrefix", key: "redis_prefix", def: "tollgate",
		help: "Key prefix on Redis, keeping installations that share a server apart",
		bind: func(c *Config) setting { return stringSetting(&c.RedisPrefix, checkPrefix("Redis")) }},
	{name: "RateLimitIP", key: "rate_limit_ip", def: "100/1m sliding_window",
		help: "Requests without a valid credential, per client IP (a rate-limit spec: <rate>/<period> [gcra|sliding_window] [burst=<n>] [fail=open|closed], or off)",
		bind: func(c *Config) setting { return stringSetting(&c.RateLimitIP, checkTier(ratelimit.TierIP)) }},
	{name: "RateLimitTenant", key: "rate_limit_tenant", def: "1000/1m sliding_window",
		help: "Authenticated requests per tenant; a tenant's plan may override it",
		bind: func(c *Config) setting { return stringSetting(&c.RateLimitTenant, checkTier(ratelimit.TierTenant)) }},
	{name: "RateLimitActor", key: "rate_limit_actor", def: "600/1m burst=100",
		help: "Authenticated requests per API key, or per actor using a token; a tenant's plan or the key itself may override it",
		bind: func(c *Config) setting { return stringSetting(&c.RateLimitActor, checkTier(ratelimit.TierActor)) }},
	{name: "RateLimitService", key: "rate_limit_service", def: "off",
		help: "Requests per registered service (introspection, rate-limit checks); off by default because services call on every request they serve",
		bind: func(c *Config) setting { return stringSetting(&c.RateLimitService, checkTier(ratelimit.TierService)) }},
	{name: "RateLimitLogin", key: "rate_limit_login", def: "10/1m burst=20 fail=closed",
		help: "Failed sign-ins per client IP, whatever the account; successful ones count only against rate_limit_ip",
		bind: func(c *Config) setting { return stringSetting(&c.RateLimitLogin, checkTier(ratelimit.TierLogin)) }},
	{name: "RateLimitLoginAccount", key: "rate_limit_login_account", def: "50/1h burst=100 fail=closed",
		help: "Failed sign-ins per account from all client IPs together (a success does not reset it)",
		bind: func(c *Config) setting {
			return stringSetting(&c.RateLimitLoginAccount, checkTier(ratelimit.TierLoginAccount))
		}},
	{name: "RateLimitLoginAccountIP", key: "rate_limit_login_account_ip", def: "5/15m fail=closed",
		help: "Failed sign-ins per account and client IP; a successful sign-in from that IP resets it",
		bind: func(c *Config) setting {
			return stringSetting(&c.RateLimitLoginAccountIP, checkTier(ratelimit.TierLoginAccountIP))
		}},
	{name: "RateLimitToken", key: "rate_limit_token", def: "120/1m burst=30 fail=closed",
		help: "Requests to the OAuth token endpoint per client IP",
		bind: func(c *Config) setting { return stringSetting(&c.RateLimitToken, checkTier(ratelimit.TierToken)) }},
	{name: "RateLimits", key: "rate_limits", def: "",
		help: "Limits services check through POST /v1/ratelimit/check, comma-separated name=spec, e.g. \"messages=60/1m burst=10, exports=5/1h fail=closed\"",
		bind: func(c *Config) setting { return stringSetting(&c.RateLimits, checkNamedLimits) }},
	{name: "PolicySnapshotTTL", key: "policy_snapshot_ttl", def: "5m",
		help: "How long a tenant's policy snapshot is used before it is read whole again in the background (the safety net for a lost event)",
		bind: func(c *Config) setting {
			return durationSetting(&c.PolicySnapshotTTL, between(time.Second, 24*time.Hour))
		}},
	{name: "PolicyMaxStaleness", key: "policy_max_staleness", def: "2s",
		help: "How long a tenant's policy snapshot is still used while an announced change cannot be applied (the store is down) before its decisions fail closed",
		bind: func(c *Config) setting {
			return durationSetting(&c.PolicyMaxStaleness, between(100*time.Millisecond, 5*time.Minute))
		}},
	{name: "DecisionLogPermitPercent", key: "decision_log_permit_percent", def: "1",
		help: "Percentage of permits written to the decision log (0 to 100); every deny is written",
		bind: func(c *Config) setting { return intSetting(&c.DecisionLogPermitPercent, between(0, 100)) }},
	{name: "AuditDecisions", key: "audit_decisions", def: "true",
		help: "Record PDP decisions (every deny and decision_log_permit_percent of permits) as authz.decision audit events; false records none",
		bind: func(c *Config) setting { return boolSetting(&c.AuditDecisions) }},
	{name: "DecisionLogLines", key: "decision_log_lines", def: "false",
		help: "Also write each logged decision as a structured log line (\"decision\"), besides its authz.decision audit event",
		bind: func(c *Config) setting { return boolSetting(&c.DecisionLogLines) }},
	{name: "AuditFlushInterval", key: "audit_flush_interval", def: "1s",
		help: "Longest a queued audit event (decisions, sign-ins, token grants) waits before it is written: what a crash can lose",
		bind: func(c *Config) setting {
			return durationSetting(&c.AuditFlushInterval, between(10*time.Millisecond, time.Minute))
		}},
	{name: "AuditQueueSize", key: "audit_queue_size", def: "8192",
		help: "Audit events that may wait to be written; past it they are dropped and counted in tollgate_audit_events_dropped_total",
		bind: func(c *Config) setting { return intSetting(&c.AuditQueueSize, between(1, 1_000_000)) }},
	{name: "AuditDigestInterval", key: "audit_digest_interval", def: "1h",
		help: "How often serve signs a digest of every audit stream that moved",
		bind: func(c *Config) setting {
			return durationSetting(&c.AuditDigestInterval, between(time.Minute, 24*time.Hour))
		}},
	{name: "AuditRetentionDays", key: "audit_retention_days", def: "400",
		help: "Days audit events are kept before serve prunes them (leaving a signed anchor, so that the rest still verifies); a tenant may have its own (tollgate audit retention)",
		bind: func(c *Config) setting { return intSetting(&c.AuditRetentionDays, between(1, 36500)) }},
	{name: "AuditForward", key: "audit_forward", def: "true",
		help: "With nats_url set, publish every audit event to JetStream (audit_stream) on <audit_subject_prefix>.<tenant id> and <audit_subject_prefix>.platform, at least once",
		bind: func(c *Config) setting { return boolSetting(&c.AuditForward) }},
	{name: "AuditStream", key: "audit_stream", def: "TOLLGATE_AUDIT",
		help: "Name of the JetStream stream audit events are published to, created at start-up when missing",
		bind: func(c *Config) setting { return stringSetting(&c.AuditStream, checkStreamName) }},
	{name: "AuditSubjectPrefix", key: "audit_subject_prefix", def: "audit",
		help: "First token of the subjects audit events are published on; the stream captures <prefix>.>",
		bind: func(c *Config) setting { return stringSetting(&c.AuditSubjectPrefix, checkPrefix("NATS subject")) }},
	{name: "AuditStreamMaxAge", key: "audit_stream_max_age", def: "168h",
		help: "How long the audit stream keeps messages (limits retention), applied when it is created; the database is the record",
		bind: func(c *Config) setting {
			return durationSetting(&c.AuditStreamMaxAge, between(time.Hour, 365*24*time.Hour))
		}},
	{name: "AuditDuplicateWindow", key: "audit_duplicate_window", def: "10m",
		help: "The audit stream's duplicate_window, applied when it is created: a publish repeated after a crash within it (its Nats-Msg-Id is the event id) is dropped by the broker",
		bind: func(c *Config) setting {
			return durationSetting(&c.AuditDuplicateWindow, between(2*time.Minute, 24*time.Hour))
		}},
	{name: "WebhookAllowedNetworks", key: "webhook_allowed_networks", def: "",
		help: "Comma-separated IP addresses and CIDR prefixes that webhook deliveries may reach although they are internal (loopback, private, link-local, CGNAT, metadata); empty allows only public addresses",
		bind: func(c *Config) setting { return stringSetting(&c.WebhookAllowedNetworks, checkWebhookNetworks) }},
	{name: "WebhookTimeout", key: "webhook_timeout", def: "10s",
		help: "Longest one webhook delivery attempt may take: connecting, sending and the answer's headers",
		bind: func(c *Config) setting { return durationSetting(&c.WebhookTimeout, between(time.Second, time.Minute)) }},
	{name: "WebhookConcurrency", key: "webhook_concurrency", def: "64",
		help: "Webhook deliveries one replica has in flight at once",
		bind: func(c *Config) setting { return intSetting(&c.WebhookConcurrency, between(1, 1024)) }},
	{name: "WebhookDisableAfter", key: "webhook_disable_after", def: "120h",
		help: "How long a webhook endpoint may fail every attempt before it is disabled",
		bind: func(c *Config) setting {
			return durationSetting(&c.WebhookDisableAfter, between(time.Hour, 30*24*time.Hour))
		}},
	{name: "GatewayRoutes", key: "gateway_routes", def: "",
		help: "Route table file (YAML or JSON) of GET/POST /v1/gateway/auth, mapping a proxied request's method and path to an action and a resource; empty disables the endpoint",
		bind: func(c *Config) setting { return stringSetting(&c.GatewayRoutes, checkFilePath) }},
	{name: "PolicySchemaExtension", key: "policy_schema_extension", def: "",
		help: "Cedar schema fragment file extending every tenant's policy schema (entity types, attributes, actions, context attributes), under each tenant's own extension; empty is none",
		bind: func(c *Config) setting { return stringSetting(&c.PolicySchemaExtension, checkFilePath) }},
	{name: "MaxTenantsPerUser", key: "max_tenants_per_user", def: "20",
		help: "Tenants one user may own when creating another (409 limit_reached past it); 0 means no limit",
		bind: func(c *Config) setting { return intSetting(&c.MaxTenantsPerUser, atLeast(0)) }},
	{name: "MaxAgentsPerTenant", key: "max_agents_per_tenant", def: "1000",
		help: "Agents one tenant may have (409 limit_reached past it); 0 means no limit",
		bind: func(c *Config) setting { return intSetting(&c.MaxAgentsPerTenant, atLeast(0)) }},
	{name: "MaxAPIKeysPerActor", key: "max_api_keys_per_actor", def: "100",
		help: "Live (neither revoked nor expired) API keys one holder may have in one tenant (409 limit_reached past it); 0 means no limit",
		bind: func(c *Config) setting { return intSetting(&c.MaxAPIKeysPerActor, atLeast(0)) }},
	{name: "MaxResourcesPerTenant", key: "max_resources_per_tenant", def: "100000",
		help: "Registered resources one tenant may have (409 limit_reached past it); 0 means no limit",
		bind: func(c *Config) setting { return intSetting(&c.MaxResourcesPerTenant, atLeast(0)) }},
	{name: "TokenCacheSize", key: "token_cache_size", def: "10000",
		help: "Entries in the in-process cache of verified tokens",
		bind: func(c *Config) setting { return intSetting(&c.TokenCacheSize, atLeast(1)) }},
	{name: "KeyRefreshInterval", key: "key_refresh_interval", def: "30s",
		help: "How often the server reloads signing keys and revocations made by other processes",
		bind: func(c *Config) setting { return durationSetting(&c.KeyRefreshInterval, positive) }},
	{name: "SMTPURL", key: "smtp_url", def: "",
		help:      "SMTP server for email: smtp://user:pass@host:587 (STARTTLS required) or smtps://user:pass@host:465 (TLS from the start); empty writes each message to the log and keeps it for tollgate admin outbox (development only)",
		secretURL: true,
		bind:      func(c *Config) setting { return stringSetting(&c.SMTPURL, checkSMTPURL) }},
	{name: "SMTPFrom", key: "smtp_from", def: "Tollgate <noreply@localhost>",
		help: "Sender of email, an address with an optional name",
		bind: func(c *Config) setting { return stringSetting(&c.SMTPFrom, checkAddress) }},
	{name: "MailTemplatesDir", key: "mail_templates_dir", def: "",
		help: "Directory whose <kind>.txt and <kind>.html files replace the embedded email templates of the same name (invitation, password_reset); empty uses the embedded ones",
		bind: func(c *Config) setting { return stringSetting(&c.MailTemplatesDir, nil) }},
	{name: "MailMaxAttempts", key: "mail_max_attempts", def: "8",
		help: "Delivery attempts per email before it is marked failed (1 to 20); the waits between them double from 30s up to 1h",
		bind: func(c *Config) setting { return intSetting(&c.MailMaxAttempts, between(1, 20)) }},
	{name: "LinkBaseURL", key: "link_base_url", def: "",
		help: "Base URL of the links in emails (<base>/invitations/accept?token=…, <base>/password/reset?token=…), served by your front end; empty means the issuer",
		bind: func(c *Config) setting { return stringSetting(&c.LinkBaseURL, checkLinkBase) }},
	{name: "InvitationTTL", key: "invitation_ttl", def: "168h",
		help: "How long an invitation can be accepted (1h to 720h)",
		bind: func(c *Config) setting { return durationSetting(&c.InvitationTTL, between(time.Hour, 30*24*time.Hour)) }},
	{name: "TenantDeletionGrace", key: "tenant_deletion_grace", def: "168h",
		help: "How long a scheduled tenant deletion waits, cancellable, before its data is erased (1m to 2160h)",
		bind: func(c *Config) setting {
			return durationSetting(&c.TenantDeletionGrace, between(time.Minute, 90*24*time.Hour))
		}},
	{name: "PasswordResetTTL", key: "password_reset_ttl", def: "1h",
		help: "How long a password-reset link works (5m to 24h)",
		bind: func(c *Config) setting {
			return durationSetting(&c.PasswordResetTTL, between(5*time.Minute, 24*time.Hour))
		}},
	{name: "Signup", key: "signup", def: "off",
		help: "Self-service sign-up (POST /v1/auth/signup): open (anyone, after verifying their address), invite_only (addresses with a pending invitation) or off; invitations create accounts in every mode",
		bind: func(c *Config) setting { return enumSetting(&c.Signup, "open", "invite_only", "off") }},
	{name: "SignupVerificationTTL", key: "signup_verification_ttl", def: "24h",
		help: "How long a sign-up's verification link works (10m to 168h)",
		bind: func(c *Config) setting {
			return durationSetting(&c.SignupVerificationTTL, between(10*time.Minute, 7*24*time.Hour))
		}},
	{name: "WebAuthnRPID", key: "webauthn_rp_id", def: "",
		help: "WebAuthn relying party id passkeys are bound to: a domain name, the front end's or one above it (changing it orphans every passkey); empty means the link base URL's host, and passkeys are off when that is an IP address",
		bind: func(c *Config) setting { return stringSetting(&c.WebAuthnRPID, checkRPID) }},
	{name: "WebAuthnRPName", key: "webauthn_rp_name", def: "Tollgate",
		help: "Name of the service as authenticators show it beside a passkey",
		bind: func(c *Config) setting { return stringSetting(&c.WebAuthnRPName, nonEmpty) }},
	{name: "WebAuthnOrigins", key: "webauthn_origins", def: "",
		help: "Comma-separated web origins (https://host[:port]; http only on localhost) whose pages may run passkey ceremonies, each within webauthn_rp_id; empty means the link base URL's origin",
		bind: func(c *Config) setting { return stringSetting(&c.WebAuthnOrigins, checkOrigins) }},
}

// fieldsByKey indexes fields by YAML key. It is built once and never modified.
var fieldsByKey = func() map[string]*field {
	m := make(map[string]*field, len(fields))
	for i := range fields {
		m[fields[i].key] = &fields[i]
	}
	return m
}()

// FieldDoc describes one setting for documentation and tests.
type FieldDoc struct {
	Name    string // Go field name in Config, e.g. "AccessTokenTTL"
	Flag    string // flag name without dashes, e.g. "access-token-ttl"; "" for secrets
	Env     string // e.g. "TOLLGATE_ACCESS_TOKEN_TTL"
	YAML    string // e.g. "access_token_ttl"
	Default string // in the syntax the sources accept, e.g. "15m"; "" when empty
	Help    string
	Secret  bool
}

// Fields describes every setting, in documentation order.
func Fields() []FieldDoc {
	docs := make([]FieldDoc, len(fields))
	for i := range fields {
		f := &fields[i]
		docs[i] = FieldDoc{
			Name: f.name, Flag: f.flagName(), Env: f.envName(), YAML: f.key,
			Default: f.def, Help: f.help, Secret: f.secret,
		}
	}
	return docs
}

// setting is a typed view of one Config field: set parses and checks a value
// from any source, get formats it back in the same syntax, check re-checks the
// current value (for Validate on a Config built by hand).
type setting interface {
	set(s string) error
	get() string
	check() error
	isBool() bool
	yamlTag() string // how WriteRedacted tags the value
	addr() any       // the field's address, for tests
}

type typedSetting[T any] struct {
	p      *T
	parse  func(string) (T, error)
	format func(T) string
	valid  func(T) error // nil: every parsed value is valid
}

func (s typedSetting[T]) set(raw string) error {
	v, err := s.parse(raw)
	if err != nil {
		return err
	}
	if s.valid != nil {
		if err := s.valid(v); err != nil {
			return err
		}
	}
	*s.p = v
	return nil
}

func (s typedSetting[T]) get() string { return s.format(*s.p) }

func (s typedSetting[T]) check() error {
	if s.valid == nil {
		return nil
	}
	return s.valid(*s.p)
}

func (s typedSetting[T]) isBool() bool { _, ok := any(s.p).(*bool); return ok }

func (s typedSetting[T]) yamlTag() string {
	switch any(s.p).(type) {
	case *bool:
		return "!!bool"
	case *int, *int64, *uint8, *uint32:
		return "!!int"
	}
	return "!!str"
}

func (s typedSetting[T]) addr() any { return s.p }

func stringSetting(p *string, valid func(string) error) setting {
	return typedSetting[string]{p: p, valid: valid,
		parse:  func(s string) (string, error) { return s, nil },
		format: func(v string) string { return v }}
}

// enumSetting accepts one of choices, case-insensitively, and stores its
// canonical spelling.
func enumSetting(p *string, choices ...string) setting {
	want := func() string { return strings.Join(choices, ", ") }
	return typedSetting[string]{p: p,
		parse: func(s string) (string, error) {
			for _, c := range choices {
				if strings.EqualFold(s, c) {
					return c, nil
				}
			}
			return "", fmt.Errorf("invalid value %q (want one of %s)", s, want())
		},
		format: func(v string) string { return v },
		valid: func(v string) error {
			for _, c := range choices {
				if v == c {
					return nil
				}
			}
			return fmt.Errorf("invalid value %q (want one of %s)", v, want())
		}}
}

func boolSetting(p *bool) setting {
	return typedSetting[bool]{p: p,
		parse: func(s string) (bool, error) {
			v, err := strconv.ParseBool(s)
			if err != nil {
				return false, fmt.Errorf("invalid boolean %q (want true or false)", s)
			}
			return v, nil
		},
		format: strconv.FormatBool}
}

func durationSetting(p *time.Duration, valid func(time.Duration) error) setting {
	return typedSetting[time.Duration]{p: p, valid: valid,
		parse: func(s string) (time.Duration, error) {
			d, err := time.ParseDuration(s)
			if err != nil {
				if _, numErr := strconv.ParseFloat(s, 64); numErr == nil && s != "0" {
					return 0, fmt.Errorf("invalid duration %q (missing unit, e.g. %q)", s, s+"s")
				}
				return 0, fmt.Errorf("invalid duration %q", s)
			}
			return d, nil
		},
		format: formatDuration}
}

func intSetting[T int | int64](p *T, valid func(T) error) setting {
	var zero T
	bits := 64
	if _, isInt := any(zero).(int); isInt {
		bits = strconv.IntSize
	}
	return typedSetting[T]{p: p, valid: valid,
		parse: func(s string) (T, error) {
			v, err := strconv.ParseInt(s, 10, bits)
			if err != nil {
				if errors.Is(err, strconv.ErrRange) {
					return 0, fmt.Errorf("invalid integer %q: out of range", s)
				}
				return 0, fmt.Errorf("invalid integer %q", s)
			}
			return T(v), nil
		},
		format: func(v T) string { return strconv.FormatInt(int64(v), 10) }}
}

func uintSetting[T uint8 | uint32](p *T, valid func(T) error) setting {
	var zero T
	bits := 32
	if _, isUint8 := any(zero).(uint8); isUint8 {
		bits = 8
	}
	return typedSetting[T]{p: p, valid: valid,
		parse: func(s string) (T, error) {
			v, err := strconv.ParseUint(s, 10, bits)
			if err != nil {
				if errors.Is(err, strconv.ErrRange) {
					return 0, fmt.Errorf("invalid integer %q: out of range (0 to %d)", s, uint64(1)<<bits-1)
				}
				return 0, fmt.Errorf("invalid integer %q (want a whole number ≥ 0)", s)
			}
			return T(v), nil
		},
		format: func(v T) string { return strconv.FormatUint(uint64(v), 10) }}
}

// formatDuration is time.Duration.String without the trailing zero units
// ("15m" rather than "15m0s"); time.ParseDuration reads both.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// Checks. Their messages never repeat a secret's value.

type ordered interface {
	~int | ~int64 | ~uint8 | ~uint32
}

func atLeast[T ordered](lo T) func(T) error {
	return func(v T) error {
		if v < lo {
			return fmt.Errorf("must be at least %d, got %d", lo, v)
		}
		return nil
	}
}

func between[T ordered](lo, hi T) func(T) error {
	return func(v T) error {
		if v < lo || v > hi {
			return fmt.Errorf("must be between %d and %d, got %d", lo, hi, v)
		}
		return nil
	}
}

func positive(d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("must be greater than 0, got %q", formatDuration(d))
	}
	return nil
}

// checkFilePath accepts "" or a file path; the file itself is read and
// validated when the server starts (gateway_routes by package gateway,
// policy_schema_extension by package policy).
func checkFilePath(s string) error {
	if s != "" && (strings.TrimSpace(s) != s || strings.ContainsRune(s, 0)) {
		return errors.New("must be a file path without surrounding spaces")
	}
	return nil
}

func nonEmpty(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("must not be empty")
	}
	return nil
}

func checkListen(s string) error {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("invalid listen address %q (want host:port, e.g. \"127.0.0.1:9200\" or \":9200\")", s)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("invalid listen address %q: port must be a number from 0 to 65535", s)
	}
	return nil
}

func checkMetricsAddr(s string) error {
	if s == "" {
		return nil
	}
	return checkListen(s)
}

// minMetricsTokenLen keeps the metrics token out of guessing range.
const minMetricsTokenLen = 16

func checkMetricsToken(s string) error {
	if s == "" {
		return nil
	}
	if len(s) < minMetricsTokenLen {
		return fmt.Errorf("must be at least %d characters, got %d", minMetricsTokenLen, len(s))
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return errors.New("must not contain spaces or control characters")
		}
	}
	return nil
}

func checkIssuer(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("invalid issuer %q (want an absolute http or https URL)", s)
	}
	if u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(s, "?#") {
		return fmt.Errorf("invalid issuer %q: must not have a query or fragment", s)
	}
	if u.User != nil {
		return errors.New("invalid issuer: must not contain user information")
	}
	return nil
}

func checkDatabaseURL(s string) error {
	if s == "" {
		return nil
	}
	if isPostgresURL(s) {
		if _, err := url.Parse(s); err != nil {
			// url.Error repeats the URL, password included; say less.
			return fmt.Errorf("invalid PostgreSQL URL %q (percent-encode special characters in the user name and password)", RedactURL(s))
		}
		return nil
	}
	if hasSQLiteScheme(s) {
		p, ok := sqlitePath(s)
		if !ok || p == "" {
			return fmt.Errorf("invalid SQLite URL %q: missing file path (e.g. sqlite:///var/lib/tollgate/tollgate.db)", s)
		}
		if strings.ContainsAny(p, "?#") {
			return fmt.Errorf("invalid SQLite URL %q: query parameters are not supported", s)
		}
		return nil
	}
	return fmt.Errorf("unsupported database URL %q (want sqlite:PATH, sqlite://PATH, postgres://… or postgresql://…)", RedactURL(s))
}

func checkNATSURL(s string) error {
	for _, one := range strings.Split(s, ",") {
		if s == "" {
			return nil
		}
		u, err := url.Parse(strings.TrimSpace(one))
		if err != nil || (u.Scheme != "nats" && u.Scheme != "tls") || u.Host == "" {
			return fmt.Errorf("invalid NATS URL %q (want nats://host:port or tls://host:port, comma-separated)", RedactURL(one))
		}
	}
	return nil
}

// checkStreamName accepts a JetStream stream or consumer name: letters,
// digits, _ and -, which every server version allows.
func checkStreamName(s string) error {
	if s == "" || len(s) > 64 || strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-')
	}) >= 0 {
		return fmt.Errorf("invalid JetStream name %q (want 1-64 letters, digits, _ or -)", s)
	}
	return nil
}

// checkSubjectFilter accepts a NATS subject filter: dot-separated tokens,
// "*" for one token and ">" as the last.
func checkSubjectFilter(s string) error {
	tokens := strings.Split(s, ".")
	for i, tok := range tokens {
		if tok == "" || strings.ContainsAny(tok, " \t\r\n") || (tok != "*" && tok != ">" && strings.ContainsAny(tok, "*>")) || (tok == ">" && i != len(tokens)-1) {
			return fmt.Errorf("invalid NATS subject filter %q", s)
		}
	}
	return nil
}

// checkPrefix accepts a key or subject prefix on the named server.
func checkPrefix(server string) func(string) error {
	return func(s string) error {
		if s == "" || len(s) > 64 || strings.IndexFunc(s, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-')
		}) >= 0 {
			return fmt.Errorf("invalid %s prefix %q (want 1-64 letters, digits, _ or -)", server, s)
		}
		return nil
	}
}

func checkRedisURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		return fmt.Errorf("invalid Redis URL %q (want redis://[user:password@]host:port[/db] or rediss://…)", RedactURL(s))
	}
	return nil
}

// checkTier validates the spec of one of Tollgate's own tiers.
func checkTier(name string) func(string) error {
	return func(s string) error {
		_, err := ratelimit.ParsePolicy(name, s)
		return specError(err)
	}
}

func checkNamedLimits(s string) error {
	_, err := ParseNamedLimits(s)
	return err
}

// specError drops the fault wrapping: configuration errors are read by
// operators, not mapped to HTTP.
func specError(err error) error {
	var fe *fault.Error
	if errors.As(err, &fe) {
		return errors.New(fe.Detail)
	}
	return err
}

func checkWebhookNetworks(s string) error {
	_, err := webhook.ParseNetworks(s)
	return err
}

func checkTrustedProxies(s string) error {
	_, err := clientip.Parse(s)
	return err
}
