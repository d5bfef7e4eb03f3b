// Package postmortem keeps the lesson of every fixed vulnerability: what
// went wrong, why earlier checks missed it, the secure-coding tenet it
// teaches and what the organisation will do about it. A released case
// cannot close without a complete one. The tenets are a list the
// organisation edits; each release gets a briefing drawn from its
// post-mortems and advisories. Nothing here speaks HTTP or SQL.
package postmortem

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/audit"
	"github.com/patchday/patchday/internal/cwe"
)

// Method is a way a flaw was found.
type Method struct {
	Key   string `json:"key"`
	Title string `json:"title"`
}

// Methods are the answers to "how was it found", in the order forms offer
// them. Training reports count by these, so they are a fixed list rather
// than free text that would split one method into many spellings.
var Methods = []Method{
	{"external-researcher", "Reported by an outside researcher"},
	{"customer", "Reported by a customer"},
	{"code-review", "Internal code review"},
	{"internal-testing", "Internal testing or QA"},
	{"fuzzing", "Fuzzing"},
	{"static-analysis", "Static analysis"},
	{"penetration-test", "Penetration test or audit"},
	{"exploited", "Exploitation seen in the wild"},
	{"other", "Other"},
}

// MethodTitle names a method key; unknown keys are returned as they are.
func MethodTitle(key string) string {
	for _, m := range Methods {
		if m.Key == key {
			return m.Title
		}
	}
	return key
}

// Tenet is one secure-coding principle a post-mortem can teach.
type Tenet struct {
	ID          int64  `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description"`
	// Retired tenets stay on the post-mortems that cite them and in the
	// reports, but new post-mortems cannot pick them.
	Retired   bool      `json:"retired"`
	CreatedAt time.Time `json:"created_at"`
}

// Action is one follow-up a post-mortem commits someone to.
type Action struct {
	What  string    `json:"what"`
	Owner string    `json:"owner"`
	Due   time.Time `json:"due"` // a date (midnight UTC)
	Done  bool      `json:"done"`
}

// PostMortem is the lesson of one case.
type PostMortem struct {
	CaseID            int64
	RootCause         string // in plain words
	CWE               int
	Component         string
	Team              string
	IntroducedVersion string // the version that brought the flaw
	IntroducedCommit  string // and/or the commit
	HowFound          string // a Methods key
	WhyMissed         string // why earlier checks did not catch it
	TenetID           int64
	Actions           []Action
	Author            string // who wrote it first
	EditedBy          string // who saved the latest revision
	Revision          int    // 1 for the first save, counting up
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// Comment is a reviewer's remark on a post-mortem.
type Comment struct {
	ID     int64
	CaseID int64
	Author string
	Body   string
	At     time.Time
}

// Limits on what a post-mortem holds; longer input is refused, not cut.
const (
	maxText    = 20000 // root cause, why missed, comments
	maxName    = 200   // component, team, version, commit, owner
	maxActions = 50
)

// Draft is what an author submits: a post-mortem's fields as typed, CWE
// and dates still text. Parse checks it.
type Draft struct {
	RootCause         string        `json:"root_cause"`
	CWE               string        `json:"cwe"` // "CWE-787", "787"
	Component         string        `json:"component"`
	Team              string        `json:"team"`
	IntroducedVersion string        `json:"introduced_version"`
	IntroducedCommit  string        `json:"introduced_commit"`
	HowFound          string        `json:"how_found"`
	WhyMissed         string        `json:"why_missed"`
	TenetID           int64         `json:"tenet"`
	Actions           []DraftAction `json:"actions"`
	// Revision is the revision the author edited (0 for a new one): a
	// save over someone else's newer revision is refused, not merged.
	Revision int `json:"revision"`
}

// DraftAction is a follow-up as typed; Due is YYYY-MM-DD.
type DraftAction struct {
	What  string `json:"what"`
	Owner string `json:"owner"`
	Due   string `json:"due"`
	Done  bool   `json:"done"`
}

// parse checks a draft against the tenet list and fills pm's fields. A
// draft may be incomplete (authors save as they go); what it does say
// must be well-formed. Problems are keyed by form field: "cwe",
// "actions.2.due".
func (d Draft) parse(tenets []Tenet, current int64, pm *PostMortem) error {
	p := patchday.Problems{}
	text := func(field, v string, limit int) string {
		v = strings.TrimSpace(v)
		switch {
		case !utf8.ValidString(v):
			p.Add(field, "is not valid UTF-8")
		case utf8.RuneCountInString(v) > limit:
			p.Add(field, fmt.Sprintf("is longer than %d characters", limit))
		case limit == maxName && strings.ContainsAny(v, "\r\n"):
			p.Add(field, "must be one line")
		}
		return v
	}
	pm.RootCause = text("root_cause", d.RootCause, maxText)
	pm.Component = text("component", d.Component, maxName)
	pm.Team = text("team", d.Team, maxName)
	pm.IntroducedVersion = text("introduced_version", d.IntroducedVersion, maxName)
	pm.IntroducedCommit = text("introduced_commit", d.IntroducedCommit, maxName)
	pm.WhyMissed = text("why_missed", d.WhyMissed, maxText)
	pm.CWE = 0
	if c := strings.TrimSpace(d.CWE); c != "" {
		id, err := cwe.Parse(c)
		if err != nil {
			p.Add("cwe", patchday.Summary(err))
		} else if _, ok := cwe.Lookup(id); !ok {
			p.Add("cwe", fmt.Sprintf("CWE-%d is not a current weakness in CWE %s; pick a weakness, not a category or view", id, cwe.Version()))
		} else {
			pm.CWE = id
		}
	}
	pm.HowFound = strings.TrimSpace(d.HowFound)
	if pm.HowFound != "" && !slices.ContainsFunc(Methods, func(m Method) bool { return m.Key == pm.HowFound }) {
		keys := make([]string, len(Methods))
		for i, m := range Methods {
			keys[i] = m.Key
		}
		p.Add("how_found", fmt.Sprintf("%q is not one of %s", pm.HowFound, strings.Join(keys, ", ")))
	}
	pm.TenetID = d.TenetID
	if d.TenetID != 0 {
		i := slices.IndexFunc(tenets, func(t Tenet) bool { return t.ID == d.TenetID })
		switch {
		case i < 0:
			p.Add("tenet", fmt.Sprintf("there is no tenet %d", d.TenetID))
		case tenets[i].Retired && d.TenetID != current:
			p.Add("tenet", fmt.Sprintf("%q is retired; pick a current tenet", tenets[i].Title))
		}
	}
	pm.Actions = nil
	if len(d.Actions) > maxActions {
		p.Add("actions", fmt.Sprintf("has %d follow-up actions; at most %d", len(d.Actions), maxActions))
	}
	for i, a := range d.Actions {
		at := fmt.Sprintf("actions.%d.", i)
		act := Action{What: text(at+"what", a.What, maxName*5), Owner: text(at+"owner", a.Owner, maxName), Done: a.Done}
		due := strings.TrimSpace(a.Due)
		if act.What == "" && act.Owner == "" && due == "" {
			continue // an empty row of the form
		}
		if act.What == "" {
			p.Add(at+"what", "say what is to be done")
		}
		if act.Owner == "" {
			p.Add(at+"owner", "name who owns it")
		}
		if due == "" {
			p.Add(at+"due", "give a due date")
		} else if t, err := time.Parse(time.DateOnly, due); err != nil {
			p.Add(at+"due", fmt.Sprintf("%q is not a date like 2026-12-31", due))
		} else {
			act.Due = t
		}
		pm.Actions = append(pm.Actions, act)
	}
	return p.Err("the post-mortem was not saved")
}

// Missing lists what a post-mortem still lacks to be complete, as field
// names with what is wanted; empty when it is complete.
func (pm PostMortem) Missing() []Gap {
	var out []Gap
	need := func(field, what string, ok bool) {
		if !ok {
			out = append(out, Gap{field, what})
		}
	}
	need("root_cause", "the root cause in plain words", pm.RootCause != "")
	need("cwe", "the CWE", pm.CWE != 0)
	need("component", "the component", pm.Component != "")
	need("team", "the team", pm.Team != "")
	need("introduced_version", "the version or commit that introduced the flaw", pm.IntroducedVersion != "" || pm.IntroducedCommit != "")
	need("how_found", "how it was found", pm.HowFound != "")
	need("why_missed", "why earlier checks missed it", pm.WhyMissed != "")
	need("tenet", "the secure-coding tenet it teaches", pm.TenetID != 0)
	need("actions", "at least one follow-up action with an owner and a due date", len(pm.Actions) > 0)
	return out
}

// Gap is one thing a post-mortem lacks.
type Gap struct {
	Field string `json:"field"`
	What  string `json:"what"`
}

// Complete reports whether nothing is missing.
func (pm PostMortem) Complete() bool { return pm.Revision > 0 && len(pm.Missing()) == 0 }

// Briefing is the monthly briefing of one release: what was fixed, why
// it happened and what to do differently, generated from the release's
// post-mortems and advisories and edited before it is shared.
type Briefing struct {
	ReleaseID int64          `json:"release"`
	Title     string         `json:"title"`
	Intro     string         `json:"intro"`
	Items     []BriefingItem `json:"items"`
	Takeaways string         `json:"takeaways"`
	// EditedBy is empty while the briefing is generated afresh on every
	// view; once someone saves it, it is their text that is kept.
	EditedBy string    `json:"edited_by,omitempty"`
	EditedAt time.Time `json:"edited_at,omitzero"`
	SharedBy string    `json:"shared_by,omitempty"`
	SharedAt time.Time `json:"shared_at,omitzero"`
}

// Shared reports whether the briefing was shared (and is now fixed).
func (b Briefing) Shared() bool { return !b.SharedAt.IsZero() }

// BriefingItem is one fixed vulnerability in a briefing.
type BriefingItem struct {
	Case        string `json:"case"`     // ref
	Advisory    string `json:"advisory"` // PDSA ref(s), CVE ids
	Heading     string `json:"heading"`
	Fixed       string `json:"fixed"`       // what was fixed
	Why         string `json:"why"`         // why it happened
	Differently string `json:"differently"` // what to do differently
}

// Store keeps post-mortems, tenets, comments and briefings. Changes write
// their audit entry with them.
type Store interface {
	// ListTenets returns every tenet, retired ones too, by id.
	ListTenets(ctx context.Context) ([]Tenet, error)
	// CreateTenet inserts t and sets its id; a title in use (ignoring
	// case) is patchday.ErrConflict.
	CreateTenet(ctx context.Context, t *Tenet, e audit.Entry) error
	// UpdateTenet stores t's title, description and retirement; a missing
	// tenet is ErrNotFound, a title in use by another is ErrConflict.
	UpdateTenet(ctx context.Context, t Tenet, e audit.Entry) error
	// PostMortemOf returns a case's post-mortem, ErrNotFound if none.
	PostMortemOf(ctx context.Context, caseID int64) (PostMortem, error)
	// SavePostMortem stores pm whole if the stored revision is
	// pm.Revision-1 (none stored for revision 1), else ErrConflict.
	SavePostMortem(ctx context.Context, pm PostMortem, e audit.Entry) error
	// ListPostMortems returns every post-mortem, by case id.
	ListPostMortems(ctx context.Context) ([]PostMortem, error)
	// AddPostMortemComment inserts c and sets its id.
	AddPostMortemComment(ctx context.Context, c *Comment, e audit.Entry) error
	// PostMortemComments returns a case's comments, oldest first.
	PostMortemComments(ctx context.Context, caseID int64) ([]Comment, error)
	// BriefingOf returns a release's saved briefing, ErrNotFound if none.
	BriefingOf(ctx context.Context, releaseID int64) (Briefing, error)
	// SaveBriefing inserts or replaces a release's briefing; replacing a
	// shared one is ErrConflict (checked in the same statement, so an edit
	// racing a share cannot undo it).
	SaveBriefing(ctx context.Context, b Briefing, e audit.Entry) error
}
