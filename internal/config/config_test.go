package config_test

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"

	"github.com/patchday/patchday/internal/config"
)

func TestEnvName(t *testing.T) {
	tests := []struct{ flag, want string }{
		{"db", "PATCHDAY_DB"},
		{"http", "PATCHDAY_HTTP"},
		{"session-ttl", "PATCHDAY_SESSION_TTL"},
		{"shutdown-timeout", "PATCHDAY_SHUTDOWN_TIMEOUT"},
		{"admin-email", "PATCHDAY_ADMIN_EMAIL"},
		{"log-level", "PATCHDAY_LOG_LEVEL"},
	}
	for _, tt := range tests {
		if got := config.EnvName(tt.flag); got != tt.want {
			t.Errorf("EnvName(%q) = %q, want %q", tt.flag, got, tt.want)
		}
	}
}

// defaults is what Serve.Flags sets when nothing is given.
var defaults = config.Serve{
	Store:           config.Store{Data: "./patchday-data"},
	HTTP:            "127.0.0.1:8080",
	AdminEmail:      "admin@localhost",
	SessionTTL:      12 * time.Hour,
	ShutdownTimeout: 30 * time.Second,
	MaxAttachments:  10, MaxAttachmentBytes: 50 << 20, ReportsPerHour: 10, Languages: "en",
	SMTPDomain: "localhost", SMTPMaxBytes: 60 << 20, SweepInterval: time.Minute, VerifyDays: 14, NoticeDays: 3, CRATimeZone: "UTC", CRAReminders: "50%,2h",
	ReleaseRule:   "DTSTART:20260113T170000Z\nRRULE:FREQ=MONTHLY;BYDAY=+2TU",
	CatalogDeltas: 3, TargetsExpiry: 90 * 24 * time.Hour, SnapshotExpiry: 7 * 24 * time.Hour, TimestampExpiry: 24 * time.Hour,
	Upstream: config.Upstream{UpstreamContent: "all", SyncInterval: time.Hour},
	Fleet:    config.Fleet{CheckinInterval: time.Hour, EventRetention: 90 * 24 * time.Hour},
}

// parseServe parses args into a Serve config, then applies env.
func parseServe(t *testing.T, args []string, env map[string]string) (config.Serve, error) {
	t.Helper()
	var c config.Serve
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.Flags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("Parse(%q): %v", args, err)
	}
	err := config.BindEnv(fs, func(k string) string { return env[k] })
	return c, err
}

func TestBindEnv(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want func(c *config.Serve)
	}{
		{name: "no env, no flags: defaults", want: func(*config.Serve) {}},
		{
			name: "env applies",
			env: map[string]string{
				"PATCHDAY_DATA": "/var/lib/patchday", "PATCHDAY_DB": "postgres://db/patchday", "PATCHDAY_HTTP": ":9000",
				"PATCHDAY_ADMIN_EMAIL": "root@example.com", "PATCHDAY_SESSION_TTL": "90m", "PATCHDAY_SHUTDOWN_TIMEOUT": "5s",
			},
			want: func(c *config.Serve) {
				c.Data, c.DB, c.HTTP, c.AdminEmail = "/var/lib/patchday", "postgres://db/patchday", ":9000", "root@example.com"
				c.SessionTTL, c.ShutdownTimeout = 90*time.Minute, 5*time.Second
			},
		},
		{
			name: "flag beats env",
			args: []string{"--session-ttl=2h", "--http", "0.0.0.0:80"},
			env:  map[string]string{"PATCHDAY_SESSION_TTL": "90m", "PATCHDAY_HTTP": ":9000", "PATCHDAY_SHUTDOWN_TIMEOUT": "5s"},
			want: func(c *config.Serve) {
				c.SessionTTL, c.HTTP, c.ShutdownTimeout = 2*time.Hour, "0.0.0.0:80", 5*time.Second
			},
		},
		{
			name: "flag given with its default value still beats env",
			args: []string{"--http=127.0.0.1:8080"},
			env:  map[string]string{"PATCHDAY_HTTP": ":9000"},
			want: func(*config.Serve) {},
		},
		{
			name: "the PGP passphrase from the environment",
			args: []string{"--pgp-key", "/etc/patchday/pgp.asc"},
			env:  map[string]string{"PATCHDAY_PGP_PASSPHRASE": "correct horse"},
			want: func(c *config.Serve) { c.PGPKey, c.PGPPassphrase = "/etc/patchday/pgp.asc", "correct horse" },
		},
		{
			name: "regulatory reporting from the environment",
			env:  map[string]string{"PATCHDAY_CRA_TIMEZONE": "Europe/Berlin", "PATCHDAY_CRA_MARKETS": "Gateway=DE,FR", "PATCHDAY_CRA_CSIRT": "CERT-Bund"},
			want: func(c *config.Serve) {
				c.CRATimeZone, c.CRAMarkets, c.CRACSIRT = "Europe/Berlin", "Gateway=DE,FR", "CERT-Bund"
			},
		},
		{
			name: "empty env is unset",
			env:  map[string]string{"PATCHDAY_DATA": "", "PATCHDAY_SESSION_TTL": ""},
			want: func(*config.Serve) {},
		},
		{
			name: "other variables are ignored",
			env:  map[string]string{"HTTP": ":1", "PATCHDAY_HTTP_ADDR": ":2", "patchday_http": ":3", "PATCHDAY_HELP": "true"},
			want: func(*config.Serve) {},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseServe(t, tt.args, tt.env)
			if err != nil {
				t.Fatalf("BindEnv: %v", err)
			}
			want := defaults
			tt.want(&want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("config mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBindEnvBadValues(t *testing.T) {
	_, err := parseServe(t, nil, map[string]string{
		"PATCHDAY_SESSION_TTL":      "banana",
		"PATCHDAY_SHUTDOWN_TIMEOUT": "10",
		"PATCHDAY_HTTP":             ":9000",
	})
	if err == nil {
		t.Fatal("BindEnv with bad durations: no error")
	}
	// Every bad variable is named, with its value; the good one is not.
	for _, want := range []string{`PATCHDAY_SESSION_TTL="banana"`, `PATCHDAY_SHUTDOWN_TIMEOUT="10"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("BindEnv error %q does not contain %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "PATCHDAY_HTTP") {
		t.Errorf("BindEnv error %q names a good variable", err)
	}
	// A bad value is not overridden by the flag: the flag was given, so the
	// environment is not read at all.
	if _, err := parseServe(t, []string{"--session-ttl=1h"}, map[string]string{"PATCHDAY_SESSION_TTL": "banana"}); err != nil {
		t.Errorf("BindEnv with the flag given: %v; the bad env value should be ignored", err)
	}
}

func TestDescribeEnv(t *testing.T) {
	var c config.Serve
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	c.Flags(fs)
	config.DescribeEnv(fs)
	config.DescribeEnv(fs) // twice: appended once
	fs.VisitAll(func(f *pflag.Flag) {
		want := " (env " + config.EnvName(f.Name) + ")"
		if !strings.HasSuffix(f.Usage, want) || strings.Count(f.Usage, "PATCHDAY_") != 1 {
			t.Errorf("--%s usage %q, want it to end with %q once", f.Name, f.Usage, want)
		}
	})
}

func TestStoreValidate(t *testing.T) {
	tests := []struct {
		name    string
		c       config.Store
		wantErr []string // substrings; nil means valid
		notIn   []string // substrings the message must not contain
	}{
		{name: "sqlite", c: config.Store{Data: "./data"}},
		{name: "postgres", c: config.Store{Data: "./data", DB: "postgres://patchday@db:5432/patchday"}},
		{name: "postgresql", c: config.Store{Data: "./data", DB: "postgresql://db/patchday?sslmode=require"}},
		{name: "postgres with password", c: config.Store{Data: "./data", DB: "postgres://u:pw@db/patchday"}},
		{name: "no data", c: config.Store{Data: ""}, wantErr: []string{"--data: a data directory is required"}},
		{name: "blank data", c: config.Store{Data: "  "}, wantErr: []string{"--data"}},
		{name: "mysql", c: config.Store{Data: "./data", DB: "mysql://x"}, wantErr: []string{`--db: "mysql://x" is not a PostgreSQL URL`}},
		{name: "no host", c: config.Store{Data: "./data", DB: "postgres://"}, wantErr: []string{`--db: "postgres://" is not a PostgreSQL URL`}},
		{name: "not a URL", c: config.Store{Data: "./data", DB: "not a url"}, wantErr: []string{`--db: "not a url" is not a PostgreSQL URL`}},
		{name: "path only", c: config.Store{Data: "./data", DB: "/var/lib/patchday.db"}, wantErr: []string{"--db"}},
		{name: "sqlite URL", c: config.Store{Data: "./data", DB: "sqlite:///tmp/x.db"}, wantErr: []string{"--db", "leave --db empty"}},
		{
			name:    "password redacted",
			c:       config.Store{Data: "./data", DB: "mysql://bob:s3cr3t@db/patchday"},
			wantErr: []string{"--db", "bob:xxxxx@db"},
			notIn:   []string{"s3cr3t"},
		},
		{
			name:    "password redacted when the URL does not parse",
			c:       config.Store{Data: "./data", DB: "postgres://bob:s3cr3t@db:54x32/patchday"},
			wantErr: []string{"--db", "not a PostgreSQL URL"},
			notIn:   []string{"s3cr3t"},
		},
		{
			name:    "password with a bad escape redacted",
			c:       config.Store{Data: "./data", DB: "postgres://bob:s3cr3t%zz@db/patchday"},
			wantErr: []string{"--db"},
			notIn:   []string{"s3cr3t"},
		},
		{
			name:    "password parameter redacted",
			c:       config.Store{Data: "./data", DB: "postgress://db/patchday?user=bob&password=s3cr3t"},
			wantErr: []string{"--db", "password=xxxxx"},
			notIn:   []string{"s3cr3t"},
		},
		{
			name:    "password parameter with a bad escape redacted",
			c:       config.Store{Data: "./data", DB: "postgress://db/patchday?password=s3cr3t%zz"},
			wantErr: []string{"--db"},
			notIn:   []string{"s3cr3t"},
		},
		{
			name:    "opaque URL redacted",
			c:       config.Store{Data: "./data", DB: "postgres:bob:s3cr3t@db/patchday"},
			wantErr: []string{"--db"},
			notIn:   []string{"s3cr3t"},
		},
		{
			name:    "keyword/value form redacted",
			c:       config.Store{Data: "./data", DB: "host=db user=bob password=s3cr3t dbname=patchday"},
			wantErr: []string{"--db", "not a PostgreSQL URL"},
			notIn:   []string{"s3cr3t"},
		},
		{
			name:    "every problem at once",
			c:       config.Store{Data: "", DB: "mysql://x"},
			wantErr: []string{"--data", "--db"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, "Store.Validate", tt.c.Validate(), tt.wantErr, tt.notIn)
		})
	}
}

func checkErr(t *testing.T, what string, err error, want, notIn []string) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Errorf("%s: %v, want nil", what, err)
		}
		return
	}
	if err == nil {
		t.Fatalf("%s: nil, want an error containing %q", what, want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: %q does not contain %q", what, err, w)
		}
	}
	for _, n := range notIn {
		if strings.Contains(err.Error(), n) {
			t.Errorf("%s: %q contains %q", what, err, n)
		}
	}
}

func TestServeValidate(t *testing.T) {
	tests := []struct {
		name    string
		change  func(c *config.Serve)
		wantErr []string
	}{
		{name: "defaults", change: func(*config.Serve) {}},
		{name: "any port", change: func(c *config.Serve) { c.HTTP = ":0" }},
		{name: "IPv6", change: func(c *config.Serve) { c.HTTP = "[::1]:8080" }},
		{name: "host name", change: func(c *config.Serve) { c.HTTP = "patchday.example.com:443" }},
		{name: "one-minute sessions", change: func(c *config.Serve) { c.SessionTTL = time.Minute }},
		{name: "no http", change: func(c *config.Serve) { c.HTTP = "" }, wantErr: []string{`--http: "" is not host:port`}},
		{name: "http without a port", change: func(c *config.Serve) { c.HTTP = "localhost" }, wantErr: []string{`--http: "localhost" is not host:port`}},
		{name: "http with an empty port", change: func(c *config.Serve) { c.HTTP = "localhost:" }, wantErr: []string{"--http"}},
		{name: "IPv6 without a port", change: func(c *config.Serve) { c.HTTP = "[::1]" }, wantErr: []string{"--http"}},
		{name: "bare IPv6", change: func(c *config.Serve) { c.HTTP = "::1" }, wantErr: []string{"--http"}},
		{name: "URL for http", change: func(c *config.Serve) { c.HTTP = "http://localhost:8080" }, wantErr: []string{"--http"}},
		{name: "bad admin", change: func(c *config.Serve) { c.AdminEmail = "Admin <a@x.org>" }, wantErr: []string{"--admin-email", "not a valid e-mail address"}},
		{name: "no admin", change: func(c *config.Serve) { c.AdminEmail = "" }, wantErr: []string{"--admin-email: e-mail is required"}},
		{name: "short sessions", change: func(c *config.Serve) { c.SessionTTL = 59 * time.Second }, wantErr: []string{"--session-ttl: must be at least 1m"}},
		{name: "negative sessions", change: func(c *config.Serve) { c.SessionTTL = -time.Hour }, wantErr: []string{"--session-ttl"}},
		{name: "no shutdown timeout", change: func(c *config.Serve) { c.ShutdownTimeout = 0 }, wantErr: []string{"--shutdown-timeout: must be positive"}},
		{name: "bad store", change: func(c *config.Serve) { c.DB = "mysql://x" }, wantErr: []string{"--db"}},
		{name: "a week's notice", change: func(c *config.Serve) { c.NoticeDays = 5 }},
		{name: "no notice", change: func(c *config.Serve) { c.NoticeDays = 0 }, wantErr: []string{"--notice-days: must be from 1 to 20"}},
		{name: "a month's notice", change: func(c *config.Serve) { c.NoticeDays = 21 }, wantErr: []string{"--notice-days"}},
		{name: "a reporting time zone", change: func(c *config.Serve) { c.CRATimeZone = "Europe/Berlin"; c.CRAMemberState = "de" }},
		{name: "a made-up time zone", change: func(c *config.Serve) { c.CRATimeZone = "Europe/Atlantis" }, wantErr: []string{"--cra-timezone"}},
		{name: "bad reminders", change: func(c *config.Serve) { c.CRAReminders = "soon" }, wantErr: []string{"--cra-reminders"}},
		{name: "bad markets", change: func(c *config.Serve) { c.CRAMarkets = "Gateway=UK" }, wantErr: []string{"--cra-markets"}},
		{name: "too many deltas", change: func(c *config.Serve) { c.CatalogDeltas = 33 }, wantErr: []string{"--catalog-deltas"}},
		{name: "timestamp outlived by the sweep", change: func(c *config.Serve) { c.TimestampExpiry = 90 * time.Second }, wantErr: []string{"--tuf-timestamp-expiry"}},
		{name: "not a Member State", change: func(c *config.Serve) { c.CRAMemberState = "CH" }, wantErr: []string{"--cra-member-state"}},
		{name: "PGP key", change: func(c *config.Serve) { c.PGPKey, c.PGPPassphrase = "/etc/patchday/pgp.asc", "secret" }},
		{name: "PGP passphrase without a key", change: func(c *config.Serve) { c.PGPPassphrase = "secret" }, wantErr: []string{"--pgp-passphrase: also set --pgp-key"}},
		{
			name: "every problem at once",
			change: func(c *config.Serve) {
				*c = config.Serve{Store: config.Store{DB: "mysql://x"}, HTTP: "localhost", AdminEmail: "nope", ShutdownTimeout: -1}
			},
			wantErr: []string{"--data", "--db", "--http", "--admin-email", "--session-ttl", "--shutdown-timeout"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := defaults
			tt.change(&c)
			checkErr(t, "Serve.Validate", c.Validate(), tt.wantErr, nil)
		})
	}
}

func TestLogValidate(t *testing.T) {
	tests := []struct {
		c       config.Log
		wantErr []string
	}{
		{config.Log{Level: "info", Format: "text"}, nil},
		{config.Log{Level: "debug", Format: "json"}, nil},
		{config.Log{Level: "warn", Format: "text"}, nil},
		{config.Log{Level: "error", Format: "json"}, nil},
		{config.Log{Level: "INFO", Format: "text"}, []string{`--log-level: "INFO" is not one of debug, info, warn, error`}},
		{config.Log{Level: "trace", Format: "text"}, []string{"--log-level"}},
		{config.Log{Level: "", Format: "text"}, []string{"--log-level"}},
		{config.Log{Level: "info", Format: "logfmt"}, []string{`--log-format: "logfmt" is not text or json`}},
		{config.Log{Level: "info", Format: ""}, []string{"--log-format"}},
	}
	for _, tt := range tests {
		checkErr(t, "Log.Validate("+tt.c.Level+", "+tt.c.Format+")", tt.c.Validate(), tt.wantErr, nil)
	}
}

func TestLogFlags(t *testing.T) {
	var c config.Log
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	c.Flags(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if err := config.BindEnv(fs, envMap{"PATCHDAY_LOG_FORMAT": "json"}.get); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(config.Log{Level: "info", Format: "json"}, c); diff != "" {
		t.Errorf("Log mismatch (-want +got):\n%s", diff)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate of the defaults: %v", err)
	}
}

func FuzzBindEnv(f *testing.F) {
	f.Add("./data", "postgres://db/x", ":8080", "a@x.org", "1h", "30s")
	f.Add("", "", "", "", "", "")
	f.Add("x", "y", "z", "w", "banana", "10")
	f.Add("\x00", "\n", "=", "%", "-1h", "9223372036854775807ns")
	f.Add("a", "b", "c", "d", "1.5h", "1e3s")
	f.Fuzz(func(t *testing.T, data, db, http, admin, ttl, shutdown string) {
		env := map[string]string{
			"PATCHDAY_DATA": data, "PATCHDAY_DB": db, "PATCHDAY_HTTP": http, "PATCHDAY_ADMIN_EMAIL": admin,
			"PATCHDAY_SESSION_TTL": ttl, "PATCHDAY_SHUTDOWN_TIMEOUT": shutdown,
		}
		var c config.Serve
		fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
		c.Flags(fs)
		if err := fs.Parse(nil); err != nil {
			t.Fatal(err)
		}
		err := config.BindEnv(fs, func(k string) string { return env[k] })

		// Strings are taken as they are; empty means unset.
		want := defaults
		for _, s := range []struct {
			v   string
			dst *string
		}{{data, &want.Data}, {db, &want.DB}, {http, &want.HTTP}, {admin, &want.AdminEmail}} {
			if s.v != "" {
				*s.dst = s.v
			}
		}
		// Durations are parsed; a bad one is an error naming its variable.
		var bad []string
		for _, d := range []struct {
			name, v string
			dst     *time.Duration
		}{{"PATCHDAY_SESSION_TTL", ttl, &want.SessionTTL}, {"PATCHDAY_SHUTDOWN_TIMEOUT", shutdown, &want.ShutdownTimeout}} {
			if d.v == "" {
				continue
			}
			if v, perr := time.ParseDuration(d.v); perr != nil {
				// pflag leaves 0 behind; the error is what counts.
				bad = append(bad, d.name)
				*d.dst = 0
			} else {
				*d.dst = v
			}
		}
		if (err != nil) != (len(bad) > 0) {
			t.Fatalf("BindEnv(%q) = %v; want an error exactly for bad durations %v", env, err, bad)
		}
		for _, name := range bad {
			if !strings.Contains(err.Error(), name+"=") {
				t.Fatalf("BindEnv error %q does not name %s", err, name)
			}
		}
		if diff := cmp.Diff(want, c); diff != "" {
			t.Fatalf("BindEnv(%q) mismatch (-want +got):\n%s", env, diff)
		}
		// Whatever the values, validating them does not panic.
		_ = c.Validate()
	})
}

type envMap map[string]string

func (m envMap) get(k string) string { return m[k] }
