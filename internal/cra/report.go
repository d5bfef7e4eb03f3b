package cra

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/staff"
)

// Malicious says whether a malicious act is suspected, as the early
// warning asks.
const (
	Suspected    = "suspected"
	NotSuspected = "not-suspected"
	Unknown      = "unknown"
)

// Report is one matter reported under Article 14: an actively exploited
// vulnerability (a case) or a severe incident on a product.
type Report struct {
	ID        int64
	Kind      Kind
	CaseID    int64 // 0 for an incident not tied to a case
	ProductID int64
	AwareAt   time.Time
	Malicious string
	// Summary is the incident's description as staff declared it; a
	// vulnerability's comes from its case.
	Summary string
	// MitigationAt is when a mitigating measure was published ahead of the
	// fix, if one was; zero otherwise.
	MitigationAt time.Time
	OpenedBy     string
	CreatedAt    time.Time
	Stages       map[Stage]StageRecord
}

// StageRecord is what staff did with one stage's report.
type StageRecord struct {
	Draft       *Draft // nil until edited: the draft is generated from the case
	EditedBy    string
	ApprovedBy  string
	ApprovedAt  time.Time
	SubmittedAt time.Time
	SubmittedBy string
	Channel     string // e.g. "ENISA single reporting platform"
	Reference   string // the platform's reference number
}

// Submitted reports whether the stage went to the CSIRT.
func (r StageRecord) Submitted() bool { return !r.SubmittedAt.IsZero() }

// Approved reports whether the stage's draft is approved.
func (r StageRecord) Approved() bool { return !r.ApprovedAt.IsZero() }

// Draft is the content of one stage's report. Each stage fills the
// fields the regulation asks of it and nothing more.
type Draft struct {
	Product      string   `json:"product"`
	Versions     []string `json:"versions,omitempty"`
	MemberStates []string `json:"member_states,omitempty"` // where the product is made available
	Malicious    string   `json:"malicious_act,omitempty"` // early warning
	Severity     string   `json:"severity,omitempty"`
	// Notification.
	Nature           string `json:"general_nature,omitempty"`
	MeasuresTaken    string `json:"corrective_measures_taken,omitempty"`
	MeasuresForUsers string `json:"measures_users_can_take,omitempty"`
	Sensitivity      string `json:"sensitivity,omitempty"`
	// Final report.
	Description string `json:"description,omitempty"`
	Impact      string `json:"impact,omitempty"`
	Actor       string `json:"threat_actor,omitempty"`
	Update      string `json:"security_update,omitempty"`
}

// Store keeps reports. Changes write their audit entry with them.
type Store interface {
	// CreateReport inserts r (a case has one report at most:
	// patchday.ErrConflict).
	CreateReport(ctx context.Context, r *Report, e audit.Entry) error
	ReportByID(ctx context.Context, id int64) (Report, error)
	ReportOfCase(ctx context.Context, caseID int64) (Report, error)
	ListReports(ctx context.Context) ([]Report, error)
	// SaveStage stores one stage's record whole.
	SaveStage(ctx context.Context, reportID int64, s Stage, rec StageRecord, e audit.Entry) error
	SetMitigation(ctx context.Context, reportID int64, at time.Time, e audit.Entry) error
	// MarkCRAReminder records a reminder as sent, reporting false if it
	// was before.
	MarkCRAReminder(ctx context.Context, reportID int64, s Stage, point string, at time.Time) (bool, error)
	CRARemindersSent(ctx context.Context, reportID int64) (map[string]bool, error) // "stage/point"
}

// Case is what a report reads of its case.
type Case struct {
	ID, ProductID int64
	Ref, Title    string
	Product       string
	Versions      []string
	CVSSRating    string
	CVSSVector    string
	CWE           string // "CWE-787 Out-of-bounds Write"
	Assignee      string // e-mail, "" for nobody
	// Published is when the release carrying the fix was published; zero
	// until then. Advisories lists the published advisories and the
	// release's date, for the final report.
	Published  time.Time
	Advisories []string
	Workaround string
}

// Sources is what reports read of cases, products and releases.
type Sources interface {
	CaseForReport(ctx context.Context, caseID int64) (Case, error)
	ProductName(ctx context.Context, productID int64) (string, error)
}

// Organisation is the manufacturer, from configuration.
type Organisation struct {
	Name         string              `json:"name"`
	MemberState  string              `json:"main_establishment"` // ISO 3166 code of an EU Member State
	CSIRT        string              `json:"coordinating_csirt"`
	Contact      string              `json:"contact"`
	TimeZone     *time.Location      `json:"-"`
	MemberStates map[string][]string `json:"-"` // product name → Member States where it is made available
	Points       []Point             `json:"-"` // reminder points
}

// Service opens reports, keeps their drafts and clocks, and reminds.
type Service struct {
	store Store
	src   Sources
	org   Organisation
	now   func() time.Time
}

// NewService returns a Service; now may be nil.
func NewService(s Store, src Sources, org Organisation, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	if org.TimeZone == nil {
		org.TimeZone = time.UTC
	}
	return &Service{store: s, src: src, org: org, now: now}
}

// Organisation returns the configured manufacturer.
func (s *Service) Organisation() Organisation { return s.org }

// Actor is a staff member acting on reports.
type Actor struct {
	Email string
	Roles staff.Roles
	From  string
}

func (a Actor) audit() audit.Actor { return audit.Actor{Who: a.Email, From: a.From} }

func (a Actor) may() error {
	if a.Roles.Has(staff.RoleTriager) || a.Roles.Has(staff.RoleReleaseManager) {
		return nil
	}
	return patchday.Errorf(patchday.ErrForbidden, "only a triager or a release manager may handle regulatory reports")
}

// OpenForCase starts the clocks of an actively exploited vulnerability:
// the case flag "attacks observed" asks when the organisation became
// aware, and the clocks count from that moment. A case already reported
// is patchday.ErrConflict.
func (s *Service) OpenForCase(ctx context.Context, a Actor, caseID int64, aware time.Time, malicious string) (Report, error) {
	if err := a.may(); err != nil {
		return Report{}, err
	}
	c, err := s.src.CaseForReport(ctx, caseID)
	if err != nil {
		return Report{}, err
	}
	if c.ProductID == 0 {
		return Report{}, patchday.Errorf(patchday.ErrConflict, "case %s names no product of ours; set its affected versions first: the report names the product", c.Ref)
	}
	r := Report{Kind: ExploitedVulnerability, CaseID: c.ID, ProductID: c.ProductID, AwareAt: aware, Malicious: malicious}
	if err := s.open(ctx, a, &r, "case:"+c.Ref); err != nil {
		return Report{}, err
	}
	return r, nil
}

// OpenIncident starts the clocks of a severe incident on a product.
func (s *Service) OpenIncident(ctx context.Context, a Actor, productID int64, aware time.Time, malicious, summary string) (Report, error) {
	if err := a.may(); err != nil {
		return Report{}, err
	}
	summary = strings.TrimSpace(summary)
	if summary == "" || utf8.RuneCountInString(summary) > 5000 {
		return Report{}, &patchday.Error{Kind: patchday.ErrInvalid, Message: "the incident was not declared",
			Fields: map[string]string{"summary": "describe the incident and its effect on the product's security (up to 5,000 characters)"}}
	}
	r := Report{Kind: SevereIncident, ProductID: productID, AwareAt: aware, Malicious: malicious, Summary: summary}
	if err := s.open(ctx, a, &r, fmt.Sprintf("product:%d", productID)); err != nil {
		return Report{}, err
	}
	return r, nil
}

func (s *Service) open(ctx context.Context, a Actor, r *Report, subject string) error {
	now := s.now().UTC()
	p := patchday.Problems{}
	if r.AwareAt.IsZero() {
		p.Add("aware_at", "say when the organisation became aware")
	} else if r.AwareAt.After(now.Add(time.Minute)) {
		p.Add("aware_at", "awareness cannot be in the future")
	}
	if r.Malicious == "" {
		r.Malicious = Unknown
	}
	if !slices.Contains([]string{Suspected, NotSuspected, Unknown}, r.Malicious) {
		p.Add("malicious", "say whether a malicious act is suspected: suspected, not-suspected or unknown")
	}
	if err := p.Err("the reporting clocks were not started"); err != nil {
		return err
	}
	r.AwareAt, r.OpenedBy, r.CreatedAt = r.AwareAt.UTC(), a.Email, now
	e := audit.New(a.audit(), now, "cra.open", subject, fmt.Sprintf("%s; aware since %s", r.Kind, r.AwareAt.Format(time.RFC3339)))
	if err := s.store.CreateReport(ctx, r, e); errors.Is(err, patchday.ErrConflict) {
		return patchday.Errorf(patchday.ErrConflict, "its reporting clocks are already running")
	} else if err != nil {
		return err
	}
	return nil
}

// View is a report with what it is about, its clocks and its drafts.
type View struct {
	Report
	Case    Case // zero for an incident without a case
	Product string
	Clocks  []Clock
	Drafts  map[Stage]Draft
}

// Clock returns the clock of a stage.
func (v View) Clock(s Stage) Clock {
	for _, c := range v.Clocks {
		if c.Stage == s {
			return c
		}
	}
	return Clock{Stage: s}
}

// Next is the running clock due first, if any.
func (v View) Next() (Clock, bool) {
	var best Clock
	found := false
	for _, c := range v.Clocks {
		if c.Running() && (!found || c.Due.Before(best.Due)) {
			best, found = c, true
		}
	}
	return best, found
}

// Get returns one report, computed.
func (s *Service) Get(ctx context.Context, id int64) (View, error) {
	r, err := s.store.ReportByID(ctx, id)
	if errors.Is(err, patchday.ErrNotFound) {
		return View{}, patchday.Errorf(patchday.ErrNotFound, "there is no regulatory report %d", id)
	} else if err != nil {
		return View{}, err
	}
	return s.view(ctx, r)
}

// OfCase returns a case's report (patchday.ErrNotFound if none).
func (s *Service) OfCase(ctx context.Context, caseID int64) (View, error) {
	r, err := s.store.ReportOfCase(ctx, caseID)
	if err != nil {
		return View{}, err
	}
	return s.view(ctx, r)
}

// List returns every report, computed, those with the nearest running
// deadline first.
func (s *Service) List(ctx context.Context) ([]View, error) {
	rs, err := s.store.ListReports(ctx)
	if err != nil {
		return nil, err
	}
	var out []View
	for _, r := range rs {
		v, err := s.view(ctx, r)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	slices.SortStableFunc(out, func(a, b View) int {
		ca, oka := a.Next()
		cb, okb := b.Next()
		switch {
		case oka && okb:
			return ca.Due.Compare(cb.Due)
		case oka:
			return -1
		case okb:
			return 1
		}
		return b.CreatedAt.Compare(a.CreatedAt)
	})
	return out, nil
}

func (s *Service) view(ctx context.Context, r Report) (View, error) {
	v := View{Report: r, Drafts: map[Stage]Draft{}}
	var err error
	if r.CaseID != 0 {
		if v.Case, err = s.src.CaseForReport(ctx, r.CaseID); err != nil {
			return View{}, err
		}
	}
	if v.Product, err = s.src.ProductName(ctx, r.ProductID); err != nil {
		return View{}, err
	}
	f := Facts{Kind: r.Kind, AwareAt: r.AwareAt, Submitted: map[Stage]time.Time{}}
	for st, rec := range r.Stages {
		f.Submitted[st] = rec.SubmittedAt
	}
	f.MeasureAt = r.MitigationAt
	if p := v.Case.Published; !p.IsZero() && (f.MeasureAt.IsZero() || p.Before(f.MeasureAt)) {
		f.MeasureAt = p
	}
	v.Clocks = Clocks(f, s.org.TimeZone)
	for _, st := range Stages {
		if d := r.Stages[st].Draft; d != nil {
			v.Drafts[st] = *d
		} else {
			v.Drafts[st] = s.generate(v, st)
		}
	}
	return v, nil
}

// generate drafts a stage from the case: each stage carries what the
// regulation asks of it, so an early warning says nothing of how the
// vulnerability works.
func (s *Service) generate(v View, st Stage) Draft {
	d := Draft{Product: v.Product, MemberStates: s.org.MemberStates[v.Product], Versions: v.Case.Versions}
	if v.Case.CVSSRating != "" {
		d.Severity = v.Case.CVSSRating
		if st != EarlyWarning {
			d.Severity += " (" + v.Case.CVSSVector + ")"
		}
	}
	switch st {
	case EarlyWarning:
		d.Malicious = v.Malicious
		d.Versions = nil // the product is enough at this stage
	case Notification:
		if v.Kind == ExploitedVulnerability {
			d.Nature = "Actively exploited vulnerability"
			if v.Case.CWE != "" {
				d.Nature += ": " + v.Case.CWE
			}
			d.MeasuresTaken = "A fix is being built and independently tested for every affected version."
		} else {
			d.Nature = "Severe incident having an impact on the security of the product"
			d.MeasuresTaken = "Investigation and containment under way."
		}
		d.MeasuresForUsers = v.Case.Workaround
		d.Sensitivity = "Confidential: not for disclosure before the security update is published."
	case FinalReport:
		d.Description = v.Summary
		if v.Kind == ExploitedVulnerability {
			d.Description = v.Case.Title
			d.Impact = "Severity " + d.Severity
			if !v.Case.Published.IsZero() {
				d.Update = fmt.Sprintf("Security update published %s; advisories %s.",
					v.Case.Published.In(s.org.TimeZone).Format("2 January 2006 15:04 MST"), strings.Join(v.Case.Advisories, ", "))
			}
		}
		d.Actor = "Not known."
		if v.Malicious == Suspected {
			d.Actor = "A malicious act is suspected; what is known of the actor: "
		}
	}
	return d
}

func (s *Service) stage(ctx context.Context, id int64, stage string) (View, Stage, StageRecord, error) {
	st := Stage(stage)
	if !slices.Contains(Stages, st) {
		return View{}, "", StageRecord{}, patchday.Errorf(patchday.ErrNotFound, "there is no stage %q (early-warning, notification, final-report)", stage)
	}
	v, err := s.Get(ctx, id)
	if err != nil {
		return View{}, "", StageRecord{}, err
	}
	return v, st, v.Stages[st], nil
}

// EditDraft saves a stage's draft as staff wrote it. A submitted stage
// is history and does not change; editing an approved draft withdraws
// the approval.
func (s *Service) EditDraft(ctx context.Context, a Actor, id int64, stage string, d Draft) error {
	if err := a.may(); err != nil {
		return err
	}
	v, st, rec, err := s.stage(ctx, id, stage)
	if err != nil {
		return err
	}
	if rec.Submitted() {
		return patchday.Errorf(patchday.ErrConflict, "the %s was submitted; it is kept as sent", strings.ToLower(st.Title()))
	}
	d = clean(d)
	p := patchday.Problems{}
	if d.Product == "" {
		p.Add("product", "name the product")
	}
	for _, m := range d.MemberStates {
		if err := CheckMemberState(m); err != nil {
			p.Add("member_states", err.Error())
		}
	}
	if d.Malicious != "" && !slices.Contains([]string{Suspected, NotSuspected, Unknown}, d.Malicious) {
		p.Add("malicious", "a malicious act is suspected, not-suspected or unknown")
	}
	for _, f := range []string{d.Nature, d.MeasuresTaken, d.MeasuresForUsers, d.Sensitivity, d.Description, d.Impact, d.Actor, d.Update} {
		if utf8.RuneCountInString(f) > 20000 {
			p.Add(string(st), "a field of the draft is over 20,000 characters")
		}
	}
	if err := p.Err("the draft was not saved"); err != nil {
		return err
	}
	rec.Draft, rec.EditedBy, rec.ApprovedBy, rec.ApprovedAt = &d, a.Email, "", time.Time{}
	now := s.now().UTC()
	return s.store.SaveStage(ctx, v.ID, st, rec, audit.New(a.audit(), now, "cra.edit", fmt.Sprintf("cra:%d", v.ID), string(st)))
}

func clean(d Draft) Draft {
	for _, p := range []*string{&d.Product, &d.Malicious, &d.Severity, &d.Nature, &d.MeasuresTaken, &d.MeasuresForUsers, &d.Sensitivity,
		&d.Description, &d.Impact, &d.Actor, &d.Update} {
		*p = strings.TrimSpace(*p)
	}
	return d
}

// Approve approves a stage's draft as it stands (generated or edited):
// a release manager's call, and the condition for recording its
// submission.
func (s *Service) Approve(ctx context.Context, a Actor, id int64, stage string) error {
	if !a.Roles.Has(staff.RoleReleaseManager) {
		return patchday.Errorf(patchday.ErrForbidden, "only a release manager may approve a regulatory report")
	}
	v, st, rec, err := s.stage(ctx, id, stage)
	if err != nil {
		return err
	}
	if rec.Submitted() {
		return patchday.Errorf(patchday.ErrConflict, "the %s was submitted already", strings.ToLower(st.Title()))
	}
	if !v.Clock(st).Started() {
		return patchday.Errorf(patchday.ErrConflict, "the %s clock has not started: it %s", strings.ToLower(st.Title()), v.Clock(st).Waiting)
	}
	d := v.Drafts[st]
	now := s.now().UTC()
	rec.Draft, rec.ApprovedBy, rec.ApprovedAt = &d, a.Email, now
	return s.store.SaveStage(ctx, v.ID, st, rec, audit.New(a.audit(), now, "cra.approve", fmt.Sprintf("cra:%d", v.ID), string(st)))
}

// Submit records that an approved stage went to the CSIRT — when, by
// which channel, with what reference — and so stops its clock.
func (s *Service) Submit(ctx context.Context, a Actor, id int64, stage string, at time.Time, channel, reference string) error {
	if err := a.may(); err != nil {
		return err
	}
	v, st, rec, err := s.stage(ctx, id, stage)
	if err != nil {
		return err
	}
	if rec.Submitted() {
		return patchday.Errorf(patchday.ErrConflict, "the %s was submitted already, on %s", strings.ToLower(st.Title()), rec.SubmittedAt.Format(time.RFC3339))
	}
	if !rec.Approved() {
		return patchday.Errorf(patchday.ErrConflict, "approve the %s before recording its submission", strings.ToLower(st.Title()))
	}
	now := s.now().UTC()
	p := patchday.Problems{}
	channel, reference = strings.TrimSpace(channel), strings.TrimSpace(reference)
	if at.IsZero() {
		at = now
	}
	if at.After(now.Add(time.Minute)) || at.Before(v.AwareAt) {
		p.Add("submitted_at", "the submission time is between awareness and now")
	}
	if channel == "" || len(channel) > 200 {
		p.Add("channel", "say how it was submitted, e.g. ENISA single reporting platform")
	}
	if reference == "" || len(reference) > 200 {
		p.Add("reference", "give the reference number the platform or CSIRT returned")
	}
	if err := p.Err("the submission was not recorded"); err != nil {
		return err
	}
	rec.SubmittedAt, rec.SubmittedBy, rec.Channel, rec.Reference = at.UTC(), a.Email, channel, reference
	e := audit.New(a.audit(), now, "cra.submit", fmt.Sprintf("cra:%d", v.ID), fmt.Sprintf("%s via %s, ref %s", st, channel, reference))
	return s.store.SaveStage(ctx, v.ID, st, rec, e)
}

// RecordMitigation records that a mitigating measure was made available
// before the fix: it starts a vulnerability's final-report clock.
func (s *Service) RecordMitigation(ctx context.Context, a Actor, id int64, at time.Time) error {
	if err := a.may(); err != nil {
		return err
	}
	v, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	if at.IsZero() {
		at = now
	}
	if at.After(now.Add(time.Minute)) || at.Before(v.AwareAt) {
		return &patchday.Error{Kind: patchday.ErrInvalid, Message: "the mitigation was not recorded",
			Fields: map[string]string{"mitigation_at": "the mitigation was published between awareness and now"}}
	}
	return s.store.SetMitigation(ctx, v.ID, at.UTC(), audit.New(a.audit(), now, "cra.mitigation", fmt.Sprintf("cra:%d", v.ID), at.UTC().Format(time.RFC3339)))
}

// Reminder warns the people who must act that a deadline nears or has
// passed.
type Reminder struct {
	Report View
	Stage  Stage
	Point  string // a reminder point, or Overdue
	Left   time.Duration
	To     []string
}

// People names who is reminded besides a case's assignee.
type People interface {
	ReleaseManagers(ctx context.Context) ([]string, error)
}

// Sweep sends the reminders that are due: at each configured point of
// every running clock, and when a deadline passes, to the case's assignee
// and the release managers. A reminder is marked sent only once it went
// out, so a failed one is tried again at the next sweep. Callers hold a
// lease so one server sweeps at a time.
func (s *Service) Sweep(ctx context.Context, people People, send func(context.Context, Reminder) error) (int, error) {
	vs, err := s.List(ctx)
	if err != nil {
		return 0, err
	}
	managers, err := people.ReleaseManagers(ctx)
	if err != nil {
		return 0, err
	}
	now := s.now().UTC()
	n := 0
	for _, v := range vs {
		sent, err := s.store.CRARemindersSent(ctx, v.ID)
		if err != nil {
			return n, err
		}
		for _, d := range Reminders(v.Clocks, s.org.Points, now, func(st Stage, p string) bool { return sent[string(st)+"/"+p] }) {
			to := slices.Clone(managers)
			if a := v.Case.Assignee; a != "" && !slices.Contains(to, a) {
				to = append([]string{a}, to...)
			}
			if err := send(ctx, Reminder{Report: v, Stage: d.Stage, Point: d.Point, Left: d.Left, To: to}); err != nil {
				return n, fmt.Errorf("reminder for regulatory report %d (%s): %w", v.ID, d.Stage, err)
			}
			for _, p := range d.Covers {
				if _, err := s.store.MarkCRAReminder(ctx, v.ID, d.Stage, p, now); err != nil {
					return n, err
				}
			}
			n++
		}
	}
	return n, nil
}
