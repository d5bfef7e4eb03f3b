package intake

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/product"
	"github.com/patchday/patchday/internal/secret"
)

// LinkPrefix starts every private case link's secret.
const LinkPrefix = "pdr_"

// Case is the unit of handling; intake opens it in state "received".
type Case struct {
	ID        int64
	Ref       string // PD-YYYY-NNNN, never reused
	Year      int
	Number    int
	Title     string
	State     string
	ProductID int64
	CreatedAt time.Time
}

// StateReceived is the state of a case nobody has looked at yet.
const StateReceived = "received"

// FormatRef writes a case id: PD-2026-0042 (more digits past 9999).
func FormatRef(year, number int) string {
	return fmt.Sprintf("PD-%04d-%04d", year, number)
}

// Store keeps cases, their reports and their threads.
type Store interface {
	MessageStore
	// CreateCase takes the next number of c.Year, sets c.ID, c.Number and
	// c.Ref, and stores the case, its first report and the hash of its
	// private link, with e (its Subject set to the case's ref), in one
	// transaction: all of it or nothing.
	CreateCase(ctx context.Context, c *Case, r Report, linkHash string, e audit.Entry) error
	// ListCases returns every case, newest first.
	ListCases(ctx context.Context) ([]Case, error)
	// CaseByRef returns the case with this id (PD-YYYY-NNNN).
	CaseByRef(ctx context.Context, ref string) (Case, error)
	// CaseByLink returns the case whose private link has this hash.
	CaseByLink(ctx context.Context, linkHash string) (Case, error)
	// CaseReports returns a case's reports, oldest first.
	CaseReports(ctx context.Context, caseID int64) ([]Report, error)
	// SetCredit changes how the case's reporter is credited (on its first
	// report), with e.
	SetCredit(ctx context.Context, caseID int64, c Credit, e audit.Entry) error
	// ProductByName finds the known product a report names.
	ProductByName(ctx context.Context, name string) (product.Product, error)
	// ReportTimesFrom returns when reports from this address arrived since.
	ReportTimesFrom(ctx context.Context, from string, since time.Time) ([]time.Time, error)
}

// RateLimit bounds reports per sending address without shutting out new
// reporters: a handful an hour is far more than a person writes.
type RateLimit struct {
	Reports int
	Per     time.Duration
}

// DefaultRateLimit allows ten reports an hour from one address.
var DefaultRateLimit = RateLimit{Reports: 10, Per: time.Hour}

// Receipt is what the researcher gets back: the case id and the private
// link's secret, shown once.
type Receipt struct {
	Ref  string
	Link string
}

// Service receives reports.
type Service struct {
	store  Store
	checks Checks
	limits Limits
	rate   RateLimit
	now    func() time.Time
	mail   Mail
	// answered is told when the reporter writes on a case.
	answered func(ctx context.Context, ref string) error
}

// OnReporterMessage registers what happens when a reporter writes on a
// case (case handling returns a case waiting on them to triage).
func (s *Service) OnReporterMessage(fn func(ctx context.Context, ref string) error) { s.answered = fn }

// UseMail makes the service e-mail researchers: acknowledgements of new
// reports, and the team's messages.
func (s *Service) UseMail(m Mail) { s.mail = m }

// NewService returns a Service; now may be nil for time.Now.
func NewService(s Store, c Checks, lim Limits, rate RateLimit, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: s, checks: c, limits: lim, rate: rate, now: now}
}

// Limits returns the limits reports are held to, for the form to state.
func (s *Service) Limits() Limits { return s.limits }

// Submit validates a submission and, if it is acceptable, opens a case
// for it. It returns only after the case is committed.
func (s *Service) Submit(ctx context.Context, sub Submission, src Source, from string) (Receipt, error) {
	now := s.now().UTC()
	if err := s.checkRate(ctx, from, now); err != nil {
		return Receipt{}, err
	}
	r, err := Validate(sub, s.checks, s.limits, now)
	if err != nil {
		return Receipt{}, err
	}
	return s.submit(ctx, r, src, from)
}

// submit opens a case for a validated report.
func (s *Service) submit(ctx context.Context, r Report, src Source, from string) (Receipt, error) {
	now := s.now().UTC()
	r.Source, r.From, r.ReceivedAt = src, from, now
	switch p, err := s.store.ProductByName(ctx, r.Product); {
	case err == nil:
		r.ProductID = p.ID
	case !errors.Is(err, patchday.ErrNotFound): // not found: "other"
		return Receipt{}, err
	}
	link, hash := secret.New(LinkPrefix)
	c := Case{Year: now.Year(), Title: r.Title, State: StateReceived, ProductID: r.ProductID, CreatedAt: now}
	e := audit.New(audit.Actor{Who: "reporter", From: from}, now, "case.create", "case", "report received by "+string(src))
	if err := s.store.CreateCase(ctx, &c, r, hash, e); err != nil {
		return Receipt{}, fmt.Errorf("store report: %w", err)
	}
	rc := Receipt{Ref: c.Ref, Link: link}
	s.acknowledge(ctx, r, rc)
	return rc, nil
}

func (s *Service) checkRate(ctx context.Context, from string, now time.Time) error {
	if s.rate.Reports <= 0 || from == "" {
		return nil
	}
	times, err := s.store.ReportTimesFrom(ctx, from, now.Add(-s.rate.Per))
	if err != nil {
		return err
	}
	if len(times) < s.rate.Reports {
		return nil
	}
	oldest := times[0]
	for _, t := range times {
		if t.Before(oldest) {
			oldest = t
		}
	}
	return patchday.Errorf(patchday.ErrTooManyRequests,
		"this address has sent %d reports in the last %s; please try again at %s (UTC). Nothing you typed was lost: it is still in the form.",
		len(times), s.rate.Per, oldest.Add(s.rate.Per).UTC().Format("15:04 on 2 January 2006"))
}

// List returns every case, newest first.
func (s *Service) List(ctx context.Context) ([]Case, error) { return s.store.ListCases(ctx) }

// Get returns a case and its reports by its id.
func (s *Service) Get(ctx context.Context, ref string) (Case, []Report, error) {
	c, err := s.store.CaseByRef(ctx, strings.ToUpper(strings.TrimSpace(ref)))
	if errors.Is(err, patchday.ErrNotFound) {
		return Case{}, nil, patchday.Errorf(patchday.ErrNotFound, "there is no case %s", ref)
	} else if err != nil {
		return Case{}, nil, err
	}
	rs, err := s.store.CaseReports(ctx, c.ID)
	return c, rs, err
}

// errNoCase is the answer to any link that does not open a case: it says
// nothing about whether such a case exists.
var errNoCase = patchday.Errorf(patchday.ErrNotFound, "this link does not open a case; check that you copied all of it")

// Open returns the case and reports behind a private link.
func (s *Service) Open(ctx context.Context, link string) (Case, []Report, error) {
	hash, err := secret.Parse(LinkPrefix, link)
	if err != nil {
		return Case{}, nil, errNoCase
	}
	c, err := s.store.CaseByLink(ctx, hash)
	if errors.Is(err, patchday.ErrNotFound) {
		return Case{}, nil, errNoCase
	} else if err != nil {
		return Case{}, nil, err
	}
	rs, err := s.store.CaseReports(ctx, c.ID)
	if err != nil {
		return Case{}, nil, err
	}
	return c, rs, nil
}
