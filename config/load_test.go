package config

import (
	"flag"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoadPrecedence(t *testing.T) {
	// The file sets one setting of each type; the environment overrides some of
	// them; flags override fewer still. Each setting must end up with the value
	// of the highest source that set it.
	file := lines(
		"listen: 10.0.0.1:1000",      // string: file only
		"data_dir: /file/data",       // string: file < env
		"log_level: warn",            // enum: file < env < flag
		"access_token_ttl: 20m",      // duration: file < env < flag
		"refresh_token_ttl: 48h",     // duration: file only
		"auto_migrate: false",        // bool: file < env
		"max_body_bytes: 2048",       // int64: file < flag
		"argon2_parallelism: 2",      // uint8: file < env
		"argon2_memory_kib: 65536",   // uint32: file only
		"hash_concurrency: 3",        // int: file < env < flag
		"master_key: "+testMasterKey, // secret: file only
	)

	tests := []struct {
		name string
		file string // "" for no file
		env  map[string]string
		args []string
		want func(c *Config) // applied to Defaults()
	}{
		{
			name: "defaults only",
			want: func(c *Config) {},
		},
		{
			name: "file over defaults",
			file: file,
			want: func(c *Config) {
				c.Listen = "10.0.0.1:1000"
				c.DataDir = "/file/data"
				c.LogLevel = "warn"
				c.AccessTokenTTL = 20 * time.Minute
				c.RefreshTokenTTL = 48 * time.Hour
				c.AutoMigrate = false
				c.MaxBodyBytes = 2048
				c.Argon2Parallelism = 2
				c.Argon2MemoryKiB = 65536
				c.HashConcurrency = 3
				c.MasterKey = testMasterKey
			},
		},
		{
			name: "env over file",
			file: file,
			env: map[string]string{
				"TOLLGATE_DATA_DIR":           "/env/data",
				"TOLLGATE_LOG_LEVEL":          "error",
				"TOLLGATE_ACCESS_TOKEN_TTL":   "30m",
				"TOLLGATE_AUTO_MIGRATE":       "true",
				"TOLLGATE_ARGON2_PARALLELISM": "4",
				"TOLLGATE_HASH_CONCURRENCY":   "5",
			},
			want: func(c *Config) {
				c.Listen = "10.0.0.1:1000"
				c.DataDir = "/env/data"
				c.LogLevel = "error"
				c.AccessTokenTTL = 30 * time.Minute
				c.RefreshTokenTTL = 48 * time.Hour
				c.AutoMigrate = true
				c.MaxBodyBytes = 2048
				c.Argon2Parallelism = 4
				c.Argon2MemoryKiB = 65536
				c.HashConcurrency = 5
				c.MasterKey = testMasterKey
			},
		},
		{
			name: "flags over env over file",
			file: file,
			env: map[string]string{
				"TOLLGATE_DATA_DIR":           "/env/data",
				"TOLLGATE_LOG_LEVEL":          "error",
				"TOLLGATE_ACCESS_TOKEN_TTL":   "30m",
				"TOLLGATE_AUTO_MIGRATE":       "true",
				"TOLLGATE_ARGON2_PARALLELISM": "4",
				"TOLLGATE_HASH_CONCURRENCY":   "5",
			},
			args: []string{"--log-level=debug", "--access-token-ttl", "5m", "--max-body-bytes=4096", "-hash-concurrency=7"},
			want: func(c *Config) {
				c.Listen = "10.0.0.1:1000"
				c.DataDir = "/env/data"
				c.LogLevel = "debug"
				c.AccessTokenTTL = 5 * time.Minute
				c.RefreshTokenTTL = 48 * time.Hour
				c.AutoMigrate = true
				c.MaxBodyBytes = 4096
				c.Argon2Parallelism = 4
				c.Argon2MemoryKiB = 65536
				c.HashConcurrency = 7
				c.MasterKey = testMasterKey
			},
		},
		{
			name: "unset flags do not override env with their defaults",
			env: map[string]string{
				"TOLLGATE_LISTEN":           "0.0.0.0:8080",
				"TOLLGATE_ACCESS_TOKEN_TTL": "1h",
				"TOLLGATE_AUTO_MIGRATE":     "false",
				"TOLLGATE_TOKEN_CACHE_SIZE": "5",
			},
			args: []string{"--log-format=json"},
			want: func(c *Config) {
				c.Listen = "0.0.0.0:8080"
				c.AccessTokenTTL = time.Hour
				c.AutoMigrate = false
				c.TokenCacheSize = 5
				c.LogFormat = "json"
			},
		},
		{
			name: "unset flags do not override the file",
			file: lines("signing_algorithm: ES256", "audience: api"),
			args: []string{"--listen=:9300"},
			want: func(c *Config) {
				c.SigningAlgorithm = "ES256"
				c.Audience = "api"
				c.Listen = ":9300"
			},
		},
		{
			name: "flag set to its default value still overrides env",
			env:  map[string]string{"TOLLGATE_ACCESS_TOKEN_TTL": "1h"},
			args: []string{"--access-token-ttl=15m"},
			want: func(c *Config) { c.AccessTokenTTL = 15 * time.Minute },
		},
		{
			name: "bare boolean flag means true",
			env:  map[string]string{"TOLLGATE_AUTO_MIGRATE": "false"},
			args: []string{"--auto-migrate"},
			want: func(c *Config) { c.AutoMigrate = true },
		},
		{
			name: "empty env value counts as set for strings",
			file: lines("database_url: sqlite:///file/tollgate.db", "issuer: https://file.example"),
			env:  map[string]string{"TOLLGATE_DATABASE_URL": "", "TOLLGATE_ISSUER": ""},
			want: func(c *Config) {},
		},
		{
			name: "choices are case-insensitive and canonicalised",
			env: map[string]string{
				"TOLLGATE_LOG_LEVEL":         "DEBUG",
				"TOLLGATE_SIGNING_ALGORITHM": "es256",
			},
			args: []string{"--log-format=JSON"},
			want: func(c *Config) {
				c.LogLevel = "debug"
				c.SigningAlgorithm = "ES256"
				c.LogFormat = "json"
			},
		},
		{
			name: "master key from env over file",
			file: lines("master_key: " + testMasterKey),
			env:  map[string]string{"TOLLGATE_MASTER_KEY": "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="},
			want: func(c *Config) { c.MasterKey = "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=" },
		},
		{
			name: "postgres with master key",
			env: map[string]string{
				"TOLLGATE_DATABASE_URL": "postgres://u:pw@db:5432/tollgate",
				"TOLLGATE_MASTER_KEY":   testMasterKey,
			},
			want: func(c *Config) {
				c.DatabaseURL = "postgres://u:pw@db:5432/tollgate"
				c.MasterKey = testMasterKey
			},
		},
		{
			name: "empty and comment-only files change nothing",
			file: "# nothing here\n",
			want: func(c *Config) {},
		},
		{
			name: "null value is the empty string",
			file: lines("database_url:", "issuer: ~"),
			want: func(c *Config) {},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range tt.env {
				env[k] = v
			}
			args := tt.args
			if tt.file != "" {
				args = append([]string{"--config", writeYAML(t, tt.file)}, args...)
			}
			got, err := load(args, env)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			want := Defaults()
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Load:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestLoadConfigPath(t *testing.T) {
	fromEnv := writeYAML(t, "audience: from-env-file\n")
	fromFlag := writeYAML(t, "audience: from-flag-file\n")

	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no file", nil, nil, "tollgate"},
		{"TOLLGATE_CONFIG", map[string]string{"TOLLGATE_CONFIG": fromEnv}, nil, "from-env-file"},
		{"--config", nil, []string{"--config", fromFlag}, "from-flag-file"},
		{"--config over TOLLGATE_CONFIG", map[string]string{"TOLLGATE_CONFIG": fromEnv}, []string{"--config=" + fromFlag}, "from-flag-file"},
		{"empty TOLLGATE_CONFIG means no file", map[string]string{"TOLLGATE_CONFIG": ""}, nil, "tollgate"},
		{"env setting over file named by env", map[string]string{"TOLLGATE_CONFIG": fromEnv, "TOLLGATE_AUDIENCE": "env"}, nil, "env"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(tt.args, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if c.Audience != tt.want {
				t.Errorf("Audience = %q, want %q", c.Audience, tt.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	const yamlName = "tollgate.yaml"
	tests := []struct {
		name     string
		file     string
		env      map[string]string
		args     []string
		parseErr bool     // the error comes from fs.Parse, not Load
		want     []string // substrings of the error, in any order
		notWant  []string // secrets that must not appear
	}{
		// File problems.
		{name: "unknown yaml key", file: lines("listen: :9200", "listn: :9300"),
			want: []string{yamlName + ":2: unknown setting \"listn\""}},
		{name: "flag spelling in yaml", file: lines("access-token-ttl: 1h"),
			want: []string{`unknown setting "access-token-ttl" (did you mean "access_token_ttl"?)`}},
		{name: "env spelling in yaml", file: lines("TOLLGATE_LOG_LEVEL: debug"),
			want: []string{`unknown setting "TOLLGATE_LOG_LEVEL" (did you mean "log_level"?)`}},
		{name: "master key has no flag, but has a yaml key", file: lines("master-key: x"),
			want: []string{`did you mean "master_key"?`}},
		{name: "key set twice", file: lines("listen: :1", "audience: a", "listen: :2"),
			want: []string{yamlName + ":3: listen is set twice (first on line 1)"}},
		{name: "list value", file: lines("listen:", "  - :1", "  - :2"),
			want: []string{yamlName + ":2: listen: want a single value"}},
		{name: "top level is not a mapping", file: lines("- listen", "- audience"),
			want: []string{yamlName + ":1: want a mapping"}},
		{name: "yaml syntax error", file: "listen: [\n",
			want: []string{"config file", yamlName}},
		{name: "two documents", file: lines("listen: :1", "---", "listen: :2"),
			want: []string{"want a single YAML document"}},
		{name: "missing file", args: []string{"--config", "/nonexistent/tollgate.yaml"},
			want: []string{"config file", "/nonexistent/tollgate.yaml"}},
		{name: "missing file from env", env: map[string]string{"TOLLGATE_CONFIG": "/nonexistent/env.yaml"},
			want: []string{"/nonexistent/env.yaml"}},

		// Bad values, named by source and setting.
		{name: "env bad duration", env: map[string]string{"TOLLGATE_ACCESS_TOKEN_TTL": "15x"},
			want: []string{`TOLLGATE_ACCESS_TOKEN_TTL: invalid duration "15x"`}},
		{name: "env duration without unit", env: map[string]string{"TOLLGATE_SHUTDOWN_TIMEOUT": "30"},
			want: []string{`TOLLGATE_SHUTDOWN_TIMEOUT: invalid duration "30" (missing unit, e.g. "30s")`}},
		{name: "env bad integer", env: map[string]string{"TOLLGATE_MAX_BODY_BYTES": "1MiB"},
			want: []string{`TOLLGATE_MAX_BODY_BYTES: invalid integer "1MiB"`}},
		{name: "env empty integer", env: map[string]string{"TOLLGATE_TOKEN_CACHE_SIZE": ""},
			want: []string{`TOLLGATE_TOKEN_CACHE_SIZE: invalid integer ""`}},
		{name: "env bad boolean", env: map[string]string{"TOLLGATE_AUTO_MIGRATE": "maybe"},
			want: []string{`TOLLGATE_AUTO_MIGRATE: invalid boolean "maybe"`}},
		{name: "env bad log format", env: map[string]string{"TOLLGATE_LOG_FORMAT": "xml"},
			want: []string{`TOLLGATE_LOG_FORMAT: invalid value "xml" (want one of auto, json, text)`}},
		{name: "env body too small", env: map[string]string{"TOLLGATE_MAX_BODY_BYTES": "512"},
			want: []string{"TOLLGATE_MAX_BODY_BYTES: must be at least 1024, got 512"}},
		{name: "env negative uint", env: map[string]string{"TOLLGATE_ARGON2_ITERATIONS": "-1"},
			want: []string{`TOLLGATE_ARGON2_ITERATIONS: invalid integer "-1"`}},
		{name: "env bad rate limit", env: map[string]string{"TOLLGATE_RATE_LIMIT_LOGIN": "0/1m"},
			want: []string{"TOLLGATE_RATE_LIMIT_LOGIN: rate must be between 1 and"}},
		{name: "env bad listen", env: map[string]string{"TOLLGATE_LISTEN": "9200"},
			want: []string{`TOLLGATE_LISTEN: invalid listen address "9200"`}},
		{name: "env bad listen port", env: map[string]string{"TOLLGATE_LISTEN": "localhost:99999"},
			want: []string{`TOLLGATE_LISTEN: invalid listen address "localhost:99999": port`}},
		{name: "env bad issuer", env: map[string]string{"TOLLGATE_ISSUER": "auth.example.com"},
			want: []string{`TOLLGATE_ISSUER: invalid issuer "auth.example.com"`}},
		{name: "env empty data dir", env: map[string]string{"TOLLGATE_DATA_DIR": ""},
			want: []string{"TOLLGATE_DATA_DIR: must not be empty"}},
		{name: "file bad level", file: lines("audience: x", "log_level: verbose"),
			want: []string{yamlName + `:2: log_level: invalid value "verbose" (want one of debug, info, warn, error)`}},
		{name: "file bad algorithm", file: lines("signing_algorithm: RS256"),
			want: []string{yamlName + `:1: signing_algorithm: invalid value "RS256"`}},
		{name: "file zero ttl", file: lines("access_token_ttl: 0s"),
			want: []string{yamlName + `:1: access_token_ttl: must be greater than 0, got "0s"`}},
		{name: "file negative window", file: lines("api_key_cache_ttl: -1h"),
			want: []string{`api_key_cache_ttl: must be between`}},
		{name: "file bad rate limit", file: lines("rate_limit_ip: 100/minute"),
			want: []string{yamlName + `:1: rate_limit_ip: period "minute" is not a duration`}},
		{name: "file integer as duration", file: lines("key_refresh_interval: 30"),
			want: []string{yamlName + `:1: key_refresh_interval: invalid duration "30" (missing unit`}},
		{name: "file null integer", file: lines("max_body_bytes:"),
			want: []string{yamlName + `:1: max_body_bytes: invalid integer ""`}},
		{name: "file memory above cap", file: lines("argon2_memory_kib: 8388608"),
			want: []string{"argon2_memory_kib: must be between 8 and 4194304, got 8388608"}},
		{name: "flag bad duration", args: []string{"--refresh-token-ttl=-1h"}, parseErr: true,
			want: []string{`invalid value "-1h" for flag -refresh-token-ttl: must be greater than 0, got "-1h"`}},
		{name: "flag out of range", args: []string{"--argon2-parallelism=300"}, parseErr: true,
			want: []string{`invalid value "300" for flag -argon2-parallelism: invalid integer "300": out of range (0 to 255)`}},
		{name: "flag bad bool", args: []string{"--auto-migrate=sometimes"}, parseErr: true,
			want: []string{`invalid boolean value "sometimes" for -auto-migrate`}},
		{name: "master key has no flag", args: []string{"--master-key=" + testMasterKey}, parseErr: true,
			want: []string{"flag provided but not defined: -master-key"}},

		// Several problems are reported together.
		{name: "all bad values at once",
			env:  map[string]string{"TOLLGATE_ACCESS_TOKEN_TTL": "soon", "TOLLGATE_LOG_LEVEL": "loud"},
			want: []string{"TOLLGATE_ACCESS_TOKEN_TTL", "TOLLGATE_LOG_LEVEL"}},

		// Combinations name every setting involved and where it came from.
		{name: "access ttl longer than refresh ttl",
			env:  map[string]string{"TOLLGATE_ACCESS_TOKEN_TTL": "2h"},
			args: []string{"--refresh-token-ttl=1h"},
			want: []string{"access_token_ttl (from TOLLGATE_ACCESS_TOKEN_TTL) must not be longer than refresh_token_ttl (from --refresh-token-ttl): 2h > 1h"}},
		{name: "access ttl longer than default refresh ttl", file: lines("access_token_ttl: 1000h"),
			want: []string{"access_token_ttl (from ", yamlName + ":1) must not be longer than refresh_token_ttl: 1000h > 720h"}},
		{name: "named limits from the environment",
			env:  map[string]string{"TOLLGATE_RATE_LIMITS": "ip=5/1m"},
			want: []string{`TOLLGATE_RATE_LIMITS: "ip" is one of Tollgate's own tiers`}},
		{name: "argon2 memory below 8 per lane", file: lines("argon2_memory_kib: 16", "argon2_parallelism: 4"),
			want: []string{"argon2_memory_kib (from ", "must be at least 8 × argon2_parallelism (from "}},

		// Database URLs.
		{name: "unsupported database",
			env:     map[string]string{"TOLLGATE_DATABASE_URL": "mysql://u:hunter2@db/tollgate"},
			want:    []string{`TOLLGATE_DATABASE_URL: unsupported database URL "mysql://u:<redacted>@db/tollgate"`},
			notWant: []string{"hunter2"}},
		{name: "unparseable postgres URL",
			env:     map[string]string{"TOLLGATE_DATABASE_URL": "postgres://u:hun%zzter2@db/tollgate", "TOLLGATE_MASTER_KEY": testMasterKey},
			want:    []string{"TOLLGATE_DATABASE_URL: invalid PostgreSQL URL"},
			notWant: []string{"hun%zzter2", "zzter2"}},
		{name: "sqlite without path", args: []string{"--database-url=sqlite://"},
			parseErr: true, want: []string{"missing file path"}},
		{name: "sqlite with query", file: lines("database_url: sqlite:///var/tollgate.db?_pragma=foreign_keys(1)"),
			want: []string{"database_url: invalid SQLite URL", "query parameters are not supported"}},

		{name: "bad value next to a master key", // errors name settings, never echo the key
			env:     map[string]string{"TOLLGATE_MASTER_KEY": testMasterKey, "TOLLGATE_LOG_LEVEL": "loud"},
			want:    []string{"TOLLGATE_LOG_LEVEL"},
			notWant: []string{testMasterKey}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if tt.file != "" {
				args = append([]string{"--config", writeYAML(t, tt.file)}, args...)
			}
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			l := Register(fs)
			err := fs.Parse(args)
			if (err != nil) != tt.parseErr {
				t.Fatalf("Parse error = %v, want error: %v", err, tt.parseErr)
			}
			if err == nil {
				var c Config
				c, err = l.Load(envMap(tt.env))
				if err == nil {
					t.Fatalf("Load succeeded with %+v, want an error", c)
				}
				if !reflect.DeepEqual(c, Config{}) {
					t.Errorf("Load returned a Config with its error: %+v", c)
				}
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
			for _, secret := range tt.notWant {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q\nleaks %q", err, secret)
				}
			}
		})
	}
}

func TestLoadBeforeParse(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	l := Register(fs)
	if _, err := l.Load(envMap(nil)); err == nil {
		t.Fatal("Load before Parse succeeded")
	}
}

func TestLoadNilGetenv(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	l := Register(fs)
	if err := fs.Parse([]string{"--listen=:1"}); err != nil {
		t.Fatal(err)
	}
	c, err := l.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != ":1" {
		t.Errorf("Listen = %q", c.Listen)
	}
}

func TestRegister(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	Register(fs)
	if fs.Lookup("config") == nil {
		t.Error("no --config flag")
	}
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	for _, f := range Fields() {
		fl := fs.Lookup(strings.ReplaceAll(f.YAML, "_", "-"))
		if f.Secret {
			if fl != nil {
				t.Errorf("secret %s has a flag", f.YAML)
			}
			continue
		}
		if fl == nil {
			t.Errorf("%s: no flag --%s", f.YAML, f.Flag)
			continue
		}
		if fl.DefValue != f.Default {
			t.Errorf("--%s: DefValue %q, want %q", f.Flag, fl.DefValue, f.Default)
		}
		if !strings.Contains(fl.Usage, f.Env) {
			t.Errorf("--%s: usage %q does not name %s", f.Flag, fl.Usage, f.Env)
		}
		n--
	}
	if n != 1 { // --config
		t.Errorf("%d flags besides the settings, want 1 (--config)", n)
	}

	// Commands register on their own FlagSets, independently.
	fs2 := flag.NewFlagSet("other", flag.ContinueOnError)
	Register(fs2)
	if err := fs2.Parse([]string{"--listen=:2"}); err != nil {
		t.Fatal(err)
	}
	if fs.Lookup("listen").Value.String() == ":2" {
		t.Error("parsing one FlagSet changed another")
	}
}
