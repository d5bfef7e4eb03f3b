// Package web serves patchday over HTTP: the staff pages, the JSON API and
// the operational endpoints. Handlers return errors; one renderer turns
// them into statuses and pages (errors.go).
package web

import (
	"context"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/patchday/patchday/internal/advisory"
	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/blob"
	"github.com/patchday/patchday/internal/cases"
	"github.com/patchday/patchday/internal/catalog"
	"github.com/patchday/patchday/internal/cra"
	"github.com/patchday/patchday/internal/fixes"
	"github.com/patchday/patchday/internal/fleet"
	"github.com/patchday/patchday/internal/intake"
	"github.com/patchday/patchday/internal/postmortem"
	"github.com/patchday/patchday/internal/product"
	"github.com/patchday/patchday/internal/release"
	"github.com/patchday/patchday/internal/staff"
)

// Pinger reports whether the database answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Deps are what the server needs from the rest of patchday.
type Deps struct {
	Log      *slog.Logger
	Staff    *staff.Service
	Products *product.Service
	Intake   *intake.Service
	Cases    *cases.Service
	Fixes    *fixes.Service
	Releases *release.Service
	// PostMortems keeps post-mortems, tenets and release briefings.
	PostMortems *postmortem.Service
	// Catalog serves the signed update catalog; nil serves none.
	Catalog *catalog.Service
	// Fleet serves enrolled computers and their administrators; nil
	// serves none.
	Fleet *fleet.Service
	// MaxFixBytes bounds one uploaded fix build.
	MaxFixBytes int64
	Blobs       *blob.Store
	// Now is the clock for ages shown on pages; nil means time.Now.
	Now func() time.Time
	// Publisher names the vendor in advisories.
	Publisher advisory.Publisher
	// CRA runs the EU Cyber Resilience Act reporting clocks.
	CRA *cra.Service
	// CRAReminders says reminders of reporting deadlines are mailed (a
	// relay is configured).
	CRAReminders bool
	// Subscriptions sends notices and bulletins; nil takes none.
	Subscriptions *release.Subscriptions
	// Signer signs CSAF documents; nil publishes them unsigned.
	Signer Signer
	// Disclosure is what /.well-known/security.txt publishes, and the
	// OpenPGP key at /.well-known/pgp-key.asc.
	Disclosure Disclosure
	Audit      audit.Store
	DB         Pinger
	Engine     string // shown to admins: "sqlite" or "postgres"
	Version    string
	// Registry receives the HTTP metrics; Gatherer is served at /metrics.
	Registry prometheus.Registerer
	Gatherer prometheus.Gatherer
	// SessionTTL is how long the session cookie lives.
	SessionTTL time.Duration
	// NoticeDays is how many business days before a release its advance
	// notice goes out (products and highest severity); 0 means 3.
	NoticeDays int
}

// Server is patchday's HTTP handler.
type Server struct {
	Deps
	pages   map[string]*template.Template
	misses  *misses
	handler http.Handler
}

// NewServer returns the whole HTTP interface as one handler.
func NewServer(d Deps) (*Server, error) {
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.MaxFixBytes <= 0 {
		d.MaxFixBytes = 1 << 30
	}
	if d.NoticeDays <= 0 {
		d.NoticeDays = 3
	}
	s := &Server{Deps: d, pages: pages, misses: newMisses(20, time.Hour)}
	mux := http.NewServeMux()
	s.routes(mux)
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, errCrossOrigin)
	}))
	m, err := newMetrics(d.Registry)
	if err != nil {
		return nil, err
	}
	s.handler = m.wrap(securityHeaders(csrf.Handler(mux)))
	return s, nil
}

// ServeHTTP serves one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }
