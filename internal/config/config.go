// Package config is where patchday reads its configuration: command-line
// flags, each with a PATCHDAY_* environment override. Nothing else reads
// flags or the environment; the rest of the program receives values.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/patchday/patchday/internal/envflag"

	"github.com/patchday/patchday/internal/catalog"
	"github.com/patchday/patchday/internal/cra"
	"github.com/patchday/patchday/internal/staff"
	"github.com/patchday/patchday/internal/tufrepo"
)

// The environment overrides live in package envflag, which the agent
// shares; these names keep the operator CLI's callers short.
const EnvPrefix = envflag.Prefix

var (
	EnvName     = envflag.Name
	DescribeEnv = envflag.Describe
	BindEnv     = envflag.Bind
)

// problems joins every problem found into one error, or returns nil.
func problems(errs []string) error {
	if len(errs) == 0 {
		return nil
	}
	return errors.New(strings.Join(errs, "; "))
}

// Store says where patchday keeps its data.
type Store struct {
	// Data is the data directory: the SQLite file (unless DB is set) and
	// the content-addressed blobs.
	Data string
	// DB is a postgres:// URL; empty means SQLite in Data.
	DB string
}

// Flags registers --data and --db.
func (c *Store) Flags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Data, "data", "./patchday-data", "data directory: the embedded SQLite database and the content-addressed blobs")
	fs.StringVar(&c.DB, "db", "", "PostgreSQL URL (postgres://user@host:5432/db); empty uses SQLite in --data")
}

// Validate checks the values before anything is opened.
func (c Store) Validate() error {
	var errs []string
	if strings.TrimSpace(c.Data) == "" {
		errs = append(errs, "--data: a data directory is required")
	}
	if c.DB != "" {
		u, err := url.Parse(c.DB)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
			errs = append(errs, fmt.Sprintf("--db: %q is not a PostgreSQL URL; write postgres://user@host:5432/dbname, or leave --db empty for the embedded SQLite in --data", redact(c.DB)))
		}
	}
	return problems(errs)
}

// redact hides a password in a URL before it is shown. A value it cannot
// take apart may still hold one (after a bad port or escape, in an opaque
// URL, or in the keyword=value form), so that is not shown at all.
func redact(s string) string {
	const hidden = "(not shown)"
	u, err := url.Parse(s)
	if err != nil || u.Opaque != "" || (u.Scheme == "" && strings.Contains(s, "=")) {
		return hidden
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return hidden
	}
	_, inUser := u.User.Password()
	if !inUser && !q.Has("password") {
		return s // as written, which u.String() may not be
	}
	if inUser {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// Serve is the configuration of `patchday serve`.
type Serve struct {
	Store
	HTTP            string
	DebugHTTP       string // pprof listener, off when empty
	AdminEmail      string
	SessionTTL      time.Duration
	ShutdownTimeout time.Duration
	// Intake limits: files per report, their total size, reports per
	// address per hour.
	MaxAttachments     int
	MaxAttachmentBytes int64
	ReportsPerHour     int
	// PublicURL is where researchers reach this server, for links in mail
	// and security.txt; empty means the address each request came to.
	PublicURL string
	// SecurityAddress receives reports by e-mail; it is also the Contact
	// in security.txt.
	SecurityAddress string
	// PolicyURL and AcknowledgmentsURL are published in security.txt.
	PolicyURL          string
	AcknowledgmentsURL string
	Languages          string
	// The vendor, as named in advisories; a CNA also gives its CVE
	// organisation id to publish CVE records.
	VendorName   string
	CNAOrgID     string
	CNAShortName string
	// SMTP intake: off unless SMTP is set.
	SMTP         string
	SMTPDomain   string
	SMTPMaxBytes int64
	SMTPCert     string
	SMTPKey      string
	// SweepInterval is how often time-driven case handling runs (SLA
	// reminders, closing unanswered cases).
	SweepInterval time.Duration
	// ReleaseRule is the release train's RFC 5545 recurrence; ForceRule
	// allows one that lands Friday to Monday.
	ReleaseRule string
	ForceRule   bool
	// VerifyDays is how long researchers have to verify a fix before a
	// release manager may proceed without them.
	VerifyDays int
	// NoticeDays is how many business days before a release subscribers
	// and the calendar learn its products and highest severity.
	NoticeDays int
	// Outbound mail through a relay: off unless Relay is set.
	Relay         string
	RelayUser     string
	RelayPassword string
	// PGPKey is a file holding the armored OpenPGP private key that
	// researchers encrypt reports to; its public key is published, and
	// mail encrypted to it decrypted. Off unless set.
	PGPKey        string
	PGPPassphrase string
	// EU Cyber Resilience Act reporting: the manufacturer and its clocks.
	CRAOrg         string
	CRAMemberState string
	CRACSIRT       string
	CRAContact     string
	CRATimeZone    string
	CRAReminders   string
	CRAMarkets     string
	// The signed catalog: the directory of TUF keys and root versions,
	// how many earlier versions get a direct delta, and how long each
	// online role's metadata stays valid.
	TUFKeys         string
	CatalogDeltas   int
	TargetsExpiry   time.Duration
	SnapshotExpiry  time.Duration
	TimestampExpiry time.Duration
	Upstream
	Fleet
}

// Upstream is the vendor (or customer) server a customer (or downstream)
// server mirrors: its URL, the root metadata trusted to start, what
// content to fetch, and how often.
type Upstream struct {
	Upstream        string
	UpstreamRoot    string
	UpstreamContent string // all | approved
	SyncInterval    time.Duration
}

// Flags registers the upstream flags.
func (c *Upstream) Flags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Upstream, "upstream", "", "URL of the server whose signed catalog this one mirrors, e.g. https://updates.vendor.example (off when empty: this server signs its own)")
	fs.StringVar(&c.UpstreamRoot, "upstream-root", "", "the upstream's TUF root metadata to trust (a root.json from the vendor, obtained out of band); needed with --upstream")
	fs.StringVar(&c.UpstreamContent, "upstream-content", "all", "which payloads and deltas to fetch: all, or approved (only updates approved for some group)")
	fs.DurationVar(&c.SyncInterval, "sync-interval", time.Hour, "how often to sync from --upstream")
}

// Validate checks the upstream settings.
func (c Upstream) Validate() []string {
	var errs []string
	if c.Upstream == "" {
		return nil
	}
	if p, err := url.Parse(c.Upstream); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
		errs = append(errs, fmt.Sprintf("--upstream: %q is not an http(s) URL", c.Upstream))
	}
	if c.UpstreamRoot == "" {
		errs = append(errs, "--upstream-root: give the upstream's root.json (the vendor publishes it; fetch 1.root.json from its /tuf/ and check it out of band)")
	}
	if c.UpstreamContent != "all" && c.UpstreamContent != "approved" {
		errs = append(errs, fmt.Sprintf("--upstream-content: %q is not all or approved", c.UpstreamContent))
	}
	if c.SyncInterval < time.Minute {
		errs = append(errs, "--sync-interval: must be at least 1m")
	}
	return errs
}

// Fleet tunes the update service for enrolled computers.
type Fleet struct {
	CheckinInterval time.Duration
	EventRetention  time.Duration
	RetireAfter     time.Duration
	FleetWriters    int
}

// Flags registers the fleet flags.
func (c *Fleet) Flags(fs *pflag.FlagSet) {
	fs.DurationVar(&c.CheckinInterval, "checkin-interval", time.Hour, "how often agents check in (they add jitter)")
	fs.DurationVar(&c.EventRetention, "event-retention", 90*24*time.Hour, "how long computers' reported events are kept")
	fs.DurationVar(&c.RetireAfter, "retire-after", 0, "retire computers not seen for this long, e.g. 720h (0: only by hand)")
	fs.IntVar(&c.FleetWriters, "fleet-writers", 0, "check-in batches written at once (0: 1 on SQLite, 4 on PostgreSQL)")
}

// Validate checks the fleet settings.
func (c Fleet) Validate() []string {
	var errs []string
	if c.CheckinInterval < time.Minute || c.CheckinInterval > 7*24*time.Hour {
		errs = append(errs, "--checkin-interval: must be from 1m to 168h")
	}
	if c.EventRetention < 24*time.Hour {
		errs = append(errs, "--event-retention: must be at least 24h")
	}
	if c.RetireAfter != 0 && c.RetireAfter < 24*time.Hour {
		errs = append(errs, "--retire-after: must be 0 or at least 24h")
	}
	if c.FleetWriters < 0 || c.FleetWriters > 64 {
		errs = append(errs, "--fleet-writers: must be from 0 to 64")
	}
	return errs
}

// Flags registers the serve flags.
func (c *Serve) Flags(fs *pflag.FlagSet) {
	c.Store.Flags(fs)
	fs.StringVar(&c.HTTP, "http", "127.0.0.1:8080", "address to serve HTTP on (host:port; port 0 picks a free one)")
	fs.StringVar(&c.DebugHTTP, "debug-http", "", "address for Go's profiler (/debug/pprof/), e.g. 127.0.0.1:6060; off when empty, keep it off the network")
	fs.StringVar(&c.AdminEmail, "admin-email", "admin@localhost", "e-mail of the admin account created on first start, when there is no account")
	fs.DurationVar(&c.SessionTTL, "session-ttl", staff.DefaultSessionTTL, "how long a staff sign-in lasts")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", 30*time.Second, "how long to let in-flight requests finish on SIGINT/SIGTERM")
	fs.IntVar(&c.MaxAttachments, "max-attachments", 10, "files a researcher may attach to one report")
	fs.Int64Var(&c.MaxAttachmentBytes, "max-attachment-bytes", 50<<20, "total size of the files attached to one report, in bytes")
	fs.IntVar(&c.ReportsPerHour, "reports-per-hour", 10, "reports one address may send per hour (0: no limit)")
	fs.StringVar(&c.PublicURL, "public-url", "", "the URL researchers reach this server at, e.g. https://security.example.com (default: the address of each request)")
	fs.StringVar(&c.SecurityAddress, "security-address", "", "the e-mail address that takes vulnerability reports, e.g. security@example.com")
	fs.StringVar(&c.PolicyURL, "security-policy", "", "URL of the vulnerability disclosure policy, for security.txt")
	fs.StringVar(&c.AcknowledgmentsURL, "security-acknowledgments", "", "URL of the page that thanks researchers, for security.txt")
	fs.StringVar(&c.Languages, "security-languages", "en", "languages reports may be written in, comma-separated, for security.txt")
	fs.StringVar(&c.VendorName, "vendor-name", "", "the vendor's name in advisories (default: patchday)")
	fs.StringVar(&c.CNAOrgID, "cna-org-id", "", "the CVE Program organisation UUID, if the vendor is a CNA: enables CVE JSON 5 records")
	fs.StringVar(&c.CNAShortName, "cna-short-name", "", "the CNA's short name in CVE records")
	fs.StringVar(&c.SMTP, "smtp", "", "address for the SMTP intake listener, e.g. :25 (off when empty; needs --security-address)")
	fs.StringVar(&c.SMTPDomain, "smtp-domain", "localhost", "host name the SMTP listener greets with")
	fs.Int64Var(&c.SMTPMaxBytes, "smtp-max-bytes", 60<<20, "largest e-mail accepted, in bytes (larger ones get 552)")
	fs.StringVar(&c.SMTPCert, "smtp-cert", "", "PEM certificate for STARTTLS on the SMTP listener (with --smtp-key)")
	fs.StringVar(&c.SMTPKey, "smtp-key", "", "PEM private key for STARTTLS on the SMTP listener")
	fs.StringVar(&c.ReleaseRule, "release-rule", "DTSTART:20260113T170000Z\nRRULE:FREQ=MONTHLY;BYDAY=+2TU",
		"the release train as an RFC 5545 rule (DTSTART and RRULE lines; \\n or a real newline between them); default: the second Tuesday, 17:00 UTC")
	fs.BoolVar(&c.ForceRule, "release-rule-force", false, "allow a train rule that lands Friday to Monday")
	fs.IntVar(&c.VerifyDays, "verify-days", 14, "days a researcher has to verify a fix before a release manager may proceed without them")
	fs.IntVar(&c.NoticeDays, "notice-days", 3, "business days before a release that subscribers and the calendar learn its products and highest severity")
	fs.DurationVar(&c.SweepInterval, "sweep-interval", time.Minute, "how often SLA reminders and the 30-day close of unanswered cases run")
	fs.StringVar(&c.Relay, "smtp-relay", "", "host:port of the SMTP relay for outbound mail (acknowledgements, messages to researchers); off when empty")
	fs.StringVar(&c.RelayUser, "smtp-relay-user", "", "user name for the relay (AUTH PLAIN, only over STARTTLS)")
	fs.StringVar(&c.RelayPassword, "smtp-relay-password", "", "password for the relay; prefer the environment variable to the flag")
	fs.StringVar(&c.PGPKey, "pgp-key", "", "file with the armored OpenPGP private key reports are encrypted to (gpg --armor --export-secret-keys KEYID): e-mail to it is decrypted, and its public key published at /.well-known/pgp-key.asc")
	fs.StringVar(&c.CRAOrg, "cra-org", "", "the manufacturer's legal name in EU Cyber Resilience Act reports (default: --vendor-name)")
	fs.StringVar(&c.CRAMemberState, "cra-member-state", "", "ISO code of the EU Member State of the manufacturer's main establishment, e.g. DE")
	fs.StringVar(&c.CRACSIRT, "cra-csirt", "", "the CSIRT designated as coordinator for the manufacturer, e.g. CERT-Bund")
	fs.StringVar(&c.CRAContact, "cra-contact", "", "who the CSIRT contacts about reports (name, e-mail, telephone)")
	fs.StringVar(&c.CRATimeZone, "cra-timezone", "UTC", "the organisation's time zone (IANA name, e.g. Europe/Berlin): awareness times are read and day-based deadlines counted in it")
	fs.StringVar(&c.CRAReminders, "cra-reminders", "50%,2h", "when to remind before each reporting deadline: percentages of the clock and times before it")
	fs.StringVar(&c.CRAMarkets, "cra-markets", "", "Member States where each product is made available, e.g. \"Gateway=DE,FR,NL;Agent=all\"")
	fs.StringVar(&c.TUFKeys, "tuf-keys", "", "directory with the catalog's online TUF keys (snapshot, timestamp, and targets if signed online) and every N.root.json (default: <data>/tuf-keys, created with all keys on first start)")
	fs.IntVar(&c.CatalogDeltas, "catalog-deltas", catalog.DefaultDeltas, "how many earlier versions of a product get a direct delta to each new one (0: none)")
	fs.DurationVar(&c.TargetsExpiry, "tuf-targets-expiry", tufrepo.DefaultExpiry.Targets, "how long signed targets stay valid (re-signed at half, if the server holds the targets keys)")
	fs.DurationVar(&c.SnapshotExpiry, "tuf-snapshot-expiry", tufrepo.DefaultExpiry.Snapshot, "how long a signed snapshot stays valid (re-signed at half)")
	fs.DurationVar(&c.TimestampExpiry, "tuf-timestamp-expiry", tufrepo.DefaultExpiry.Timestamp, "how long a signed timestamp stays valid (re-signed at half)")
	c.Upstream.Flags(fs)
	c.Fleet.Flags(fs)
	fs.StringVar(&c.PGPPassphrase, "pgp-passphrase", "", "passphrase of --pgp-key, if it is protected; prefer the environment variable to the flag, which others on the host can see")
}

// Validate checks every serve setting and reports all problems at once.
func (c Serve) Validate() error {
	var errs []string
	if err := c.Store.Validate(); err != nil {
		errs = append(errs, err.Error())
	}
	if _, port, err := net.SplitHostPort(c.HTTP); err != nil || port == "" {
		errs = append(errs, fmt.Sprintf("--http: %q is not host:port (e.g. 127.0.0.1:8080)", c.HTTP))
	}
	if _, err := staff.NormalizeEmail(c.AdminEmail); err != nil {
		errs = append(errs, "--admin-email: "+err.Error())
	}
	if c.SessionTTL < time.Minute {
		errs = append(errs, "--session-ttl: must be at least 1m")
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, "--shutdown-timeout: must be positive")
	}
	if c.NoticeDays < 1 || c.NoticeDays > 20 {
		errs = append(errs, "--notice-days: must be from 1 to 20 (business days before a release)")
	}
	if _, err := time.LoadLocation(c.CRATimeZone); err != nil || c.CRATimeZone == "" || c.CRATimeZone == "Local" {
		errs = append(errs, fmt.Sprintf("--cra-timezone: %q is not an IANA time zone name (e.g. Europe/Berlin)", c.CRATimeZone))
	}
	if _, err := cra.ParsePoints(c.CRAReminders); err != nil {
		errs = append(errs, "--cra-reminders: "+err.Error())
	}
	if _, err := cra.ParseMarkets(c.CRAMarkets); err != nil {
		errs = append(errs, "--cra-markets: "+err.Error())
	}
	if c.CRAMemberState != "" {
		if err := cra.CheckMemberState(strings.ToUpper(c.CRAMemberState)); err != nil {
			errs = append(errs, "--cra-member-state: "+err.Error())
		}
	}
	if c.VerifyDays < 1 || c.VerifyDays > 365 {
		errs = append(errs, "--verify-days: must be from 1 to 365")
	}
	errs = append(errs, c.Upstream.Validate()...)
	errs = append(errs, c.Fleet.Validate()...)
	if c.CatalogDeltas < 0 || c.CatalogDeltas > 32 {
		errs = append(errs, "--catalog-deltas: must be from 0 to 32")
	}
	for _, e := range []struct {
		flag string
		d    time.Duration
	}{{"--tuf-targets-expiry", c.TargetsExpiry}, {"--tuf-snapshot-expiry", c.SnapshotExpiry}, {"--tuf-timestamp-expiry", c.TimestampExpiry}} {
		if e.d < 2*c.SweepInterval || e.d < time.Minute {
			errs = append(errs, e.flag+": must be at least 1m and twice --sweep-interval, so it is re-signed in time")
		}
	}
	if c.SweepInterval < time.Second {
		errs = append(errs, "--sweep-interval: must be at least 1s")
	}
	if c.MaxAttachments < 0 || c.MaxAttachments > 1000 {
		errs = append(errs, "--max-attachments: must be from 0 to 1000")
	}
	if c.MaxAttachmentBytes < 0 || c.MaxAttachmentBytes > 1<<40 {
		errs = append(errs, "--max-attachment-bytes: must be from 0 to 1 TiB")
	}
	if c.ReportsPerHour < 0 {
		errs = append(errs, "--reports-per-hour: must not be negative")
	}
	for _, u := range []struct{ flag, v string }{{"--public-url", c.PublicURL}, {"--security-policy", c.PolicyURL}, {"--security-acknowledgments", c.AcknowledgmentsURL}} {
		if u.v == "" {
			continue
		}
		if p, err := url.Parse(u.v); err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			errs = append(errs, fmt.Sprintf("%s: %q is not an http(s) URL", u.flag, u.v))
		}
	}
	if c.SMTP != "" {
		if _, port, err := net.SplitHostPort(c.SMTP); err != nil || port == "" {
			errs = append(errs, fmt.Sprintf("--smtp: %q is not host:port (e.g. :25)", c.SMTP))
		}
		if c.SecurityAddress == "" {
			errs = append(errs, "--smtp: also set --security-address, the address the listener accepts mail for")
		}
	}
	if c.Relay != "" {
		if _, port, err := net.SplitHostPort(c.Relay); err != nil || port == "" {
			errs = append(errs, fmt.Sprintf("--smtp-relay: %q is not host:port (e.g. mail.example.com:587)", c.Relay))
		}
		if c.SecurityAddress == "" {
			errs = append(errs, "--smtp-relay: also set --security-address, the address mail is sent from")
		}
		if c.PublicURL == "" {
			errs = append(errs, "--smtp-relay: also set --public-url, so mailed links point where researchers can reach")
		}
	}
	if (c.SMTPCert == "") != (c.SMTPKey == "") {
		errs = append(errs, "--smtp-cert and --smtp-key: give both or neither")
	}
	if c.SMTPMaxBytes < 1<<10 {
		errs = append(errs, "--smtp-max-bytes: must be at least 1024")
	}
	if c.PGPPassphrase != "" && c.PGPKey == "" {
		errs = append(errs, "--pgp-passphrase: also set --pgp-key, the key file it unlocks")
	}
	if c.SecurityAddress != "" {
		if _, err := staff.NormalizeEmail(c.SecurityAddress); err != nil {
			errs = append(errs, "--security-address: "+err.Error())
		}
	}
	return problems(errs)
}

// Log is the logging configuration shared by every command.
type Log struct {
	Level  string
	Format string
}

// Flags registers --log-level and --log-format.
func (c *Log) Flags(fs *pflag.FlagSet) {
	fs.StringVar(&c.Level, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&c.Format, "log-format", "text", "log format: text or json")
}

// Validate checks the logging settings.
func (c Log) Validate() error {
	var errs []string
	switch c.Level {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Sprintf("--log-level: %q is not one of debug, info, warn, error", c.Level))
	}
	if c.Format != "text" && c.Format != "json" {
		errs = append(errs, fmt.Sprintf("--log-format: %q is not text or json", c.Format))
	}
	return problems(errs)
}
