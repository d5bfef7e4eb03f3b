package fleet

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/patchday/patchday"
)

// Classifications and severities a rule may name.
var (
	classifications = []string{"security", "critical", "feature", "mitigation"}
	severities      = []string{"none", "low", "medium", "high", "critical"}
)

const (
	// maxRules bounds a rule set.
	maxRules = 100
	// maxRuleName bounds a rule's name.
	maxRuleName = 64
	// exampleRules is the rule set shown in messages.
	exampleRules = `[{"name": "pilot-at-once", "classifications": ["security"], "group": "pilot"}]`
)

// Rule approves updates automatically: updates it matches are approved for
// Group once After has passed since the update was first seen, or since it
// was approved for the group named in Since, and that group's rollout went
// well enough. So "security, critical → pilot at once; broad after 3 days
// if pilot failures < 2%" is two rules. Durations are elapsed time: "3d" is
// 72 hours, whatever the clocks do meanwhile.
type Rule struct {
	Name            string        `json:"name"`
	Classifications []string      `json:"classifications,omitempty"`  // empty = any; among security, critical, feature, mitigation
	Severities      []string      `json:"severities,omitempty"`       // empty = any; among none, low, medium, high, critical
	Products        []string      `json:"products,omitempty"`         // empty = any
	Group           string        `json:"group"`                      // the group the rule approves for
	Action          string        `json:"action,omitempty"`           // install (default) or remove
	After           time.Duration `json:"after,omitempty"`            // "0", "72h", "3d"
	Since           string        `json:"since,omitempty"`            // "" or "release": when this server first saw the update; or a group: when the update was approved for it
	MaxFailureRate  *float64      `json:"max_failure_rate,omitempty"` // only with a group in Since: its rollout's failing fraction must be below this (0.02 = 2%)
	MinSucceeded    int           `json:"min_succeeded,omitempty"`    // only with a group in Since: at least this many successful installs there first
	Deadline        time.Duration `json:"deadline,omitempty"`         // the approval's deadline is the approval time plus this; 0 = no deadline
}

// ruleJSON is Rule's JSON form, with durations as text.
type ruleJSON struct {
	Name            string   `json:"name"`
	Classifications []string `json:"classifications,omitempty"`
	Severities      []string `json:"severities,omitempty"`
	Products        []string `json:"products,omitempty"`
	Group           string   `json:"group"`
	Action          string   `json:"action,omitempty"`
	After           string   `json:"after,omitempty"`
	Since           string   `json:"since,omitempty"`
	MaxFailureRate  *float64 `json:"max_failure_rate,omitempty"`
	MinSucceeded    int      `json:"min_succeeded,omitempty"`
	Deadline        string   `json:"deadline,omitempty"`
}

// MarshalJSON writes durations as text such as "72h" or "3d".
func (r Rule) MarshalJSON() ([]byte, error) {
	j := ruleJSON{Name: r.Name, Classifications: r.Classifications, Severities: r.Severities, Products: r.Products,
		Group: r.Group, Action: r.Action, Since: r.Since, MaxFailureRate: r.MaxFailureRate, MinSucceeded: r.MinSucceeded}
	if r.After != 0 {
		j.After = FormatDuration(r.After)
	}
	if r.Deadline != 0 {
		j.Deadline = FormatDuration(r.Deadline)
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads durations as text ("72h", "3d") and refuses unknown
// fields. It does not validate: ParseRules does.
func (r *Rule) UnmarshalJSON(b []byte) error {
	var j ruleJSON
	if err := strictJSON(b, &j); err != nil {
		return jsonProblem(err, "the rule is not valid", `{"name": "broad-after-pilot", "group": "broad", "after": "3d", "since": "pilot"}`)
	}
	// An empty list means any, as a missing one does: keep one form.
	none := func(s []string) []string {
		if len(s) == 0 {
			return nil
		}
		return s
	}
	q := Rule{Name: j.Name, Classifications: none(j.Classifications), Severities: none(j.Severities), Products: none(j.Products),
		Group: j.Group, Action: j.Action, Since: j.Since, MaxFailureRate: j.MaxFailureRate, MinSucceeded: j.MinSucceeded}
	e := patchday.Problems{}
	for _, f := range []struct {
		name, text string
		to         *time.Duration
	}{{"after", j.After, &q.After}, {"deadline", j.Deadline, &q.Deadline}} {
		if f.text == "" {
			continue
		}
		var err error
		if *f.to, err = ParseDuration(f.text); err != nil {
			e.Add(f.name, patchday.Summary(err))
		}
	}
	if err := e.Err("the rule is not valid"); err != nil {
		return err
	}
	*r = q
	return nil
}

// sinceGroup reports whether the rule waits for another group's approval.
func (r Rule) sinceGroup() bool { return r.Since != "" && r.Since != "release" }

// Validate reports every problem with the rule at once, by JSON field name.
func (r Rule) Validate() error {
	e := patchday.Problems{}
	switch {
	case strings.TrimSpace(r.Name) == "":
		e.Add("name", `give the rule a name, e.g. "pilot-at-once"`)
	case len(r.Name) > maxRuleName || strings.IndexFunc(r.Name, unicode.IsControl) >= 0:
		e.Add("name", fmt.Sprintf(`a rule's name is at most %d characters on one line, e.g. "pilot-at-once"`, maxRuleName))
	}
	for _, c := range r.Classifications {
		if !slices.Contains(classifications, c) {
			e.Add("classifications", fmt.Sprintf("%q is not a classification: use %s", c, strings.Join(classifications, ", ")))
		}
	}
	for _, s := range r.Severities {
		if !slices.Contains(severities, s) {
			e.Add("severities", fmt.Sprintf("%q is not a severity: use %s", s, strings.Join(severities, ", ")))
		}
	}
	for _, p := range r.Products {
		if strings.TrimSpace(p) == "" {
			e.Add("products", `a product is named, e.g. ["agent"]; leave the list out to match any product`)
		}
	}
	if r.Group == "" {
		e.Add("group", `give the group the rule approves for, e.g. "pilot"`)
	} else if err := ValidateGroupName(r.Group); err != nil {
		e.Add("group", patchday.Summary(err))
	}
	if r.Action != "" && r.Action != "install" && r.Action != "remove" {
		e.Add("action", fmt.Sprintf(`%q is not an action: use "install" (the default) or "remove"`, r.Action))
	}
	if r.After < 0 {
		e.Add("after", `the wait cannot be negative; e.g. "72h", "3d", or "0" for at once`)
	}
	if r.Deadline < 0 {
		e.Add("deadline", `the deadline cannot be negative; e.g. "7d", or "0" for none`)
	}
	if r.sinceGroup() {
		if err := ValidateGroupName(r.Since); err != nil {
			e.Add("since", `give "release" (when this server first saw the update) or a group, e.g. "pilot"`)
		} else if r.Since == r.Group {
			e.Add("since", fmt.Sprintf(`a rule cannot wait for its own group %q: name the group it follows, e.g. "pilot", or "release"`, r.Group))
		}
	}
	if f := r.MaxFailureRate; f != nil {
		switch {
		case !r.sinceGroup():
			e.Add("max_failure_rate", `a failure rate is measured in the group named in since, e.g. "since": "pilot"`)
		case !(*f > 0 && *f <= 1) || math.IsNaN(*f):
			e.Add("max_failure_rate", "give the failing fraction to stay below, above 0 and up to 1, e.g. 0.02 for 2%")
		}
	}
	switch {
	case r.MinSucceeded < 0:
		e.Add("min_succeeded", "give how many installs must succeed first, e.g. 20")
	case r.MinSucceeded > 0 && !r.sinceGroup():
		e.Add("min_succeeded", `successful installs are counted in the group named in since, e.g. "since": "pilot"`)
	}
	return e.Err(fmt.Sprintf("the rule %q is not valid", r.Name))
}

// ParseRules reads a rule set: a JSON array of rules, strictly (no unknown
// fields, nothing after the array). Names must be unique, and no rules may
// wait on each other in a circle. Every problem is reported at once, keyed
// "rules[i].field".
func ParseRules(b []byte) ([]Rule, error) {
	var raws []json.RawMessage
	if t := bytes.TrimSpace(b); len(t) == 0 || t[0] != '[' {
		return nil, patchday.Errorf(patchday.ErrInvalid, "give the rules as a JSON array, e.g. %s", exampleRules)
	}
	if err := strictJSON(b, &raws); err != nil {
		return nil, patchday.Errorf(patchday.ErrInvalid, "the rules are not a JSON array (%v); e.g. %s", err, exampleRules)
	}
	if len(raws) > maxRules {
		return nil, patchday.Errorf(patchday.ErrInvalid, "give at most %d rules, not %d", maxRules, len(raws))
	}
	e := patchday.Problems{}
	add := func(i int, name, field, problem string) {
		key := fmt.Sprintf("rules[%d]", i)
		if field != "" {
			key += "." + field
		}
		who := "in the unnamed rule"
		if name != "" {
			who = fmt.Sprintf("in rule %q", name)
		}
		e.Add(key, who+", "+problem)
	}
	rules := make([]Rule, len(raws))
	seen := map[string]int{}
	for i, raw := range raws {
		r := &rules[i]
		err := r.UnmarshalJSON(raw)
		if err == nil {
			err = r.Validate()
		}
		if err != nil {
			if r.Name == "" {
				var n struct{ Name string }
				_ = json.Unmarshal(raw, &n)
				r.Name = n.Name
			}
			fields := patchday.FieldErrors(err)
			if len(fields) == 0 {
				add(i, r.Name, "", patchday.Summary(err))
			}
			for f, problem := range fields {
				add(i, r.Name, f, problem)
			}
		}
		if r.Name == "" {
			continue
		}
		if j, ok := seen[r.Name]; ok {
			add(i, r.Name, "name", fmt.Sprintf("the name is taken by rules[%d]: give each rule its own name", j))
		} else {
			seen[r.Name] = i
		}
	}
	if len(e) == 0 {
		if i, path := circle(rules); i >= 0 {
			add(i, rules[i].Name, "since", fmt.Sprintf("the rules wait on each other in a circle (%s, where → reads \"waits for\"); one group must follow the release instead, e.g. \"since\": \"release\"",
				strings.Join(path, " → ")))
		}
	}
	if err := e.Err("the rules are not valid"); err != nil {
		return nil, err
	}
	return rules, nil
}

// circle finds groups that wait for each other's approval through the
// rules' Since. It returns the index of a rule closing the circle and the
// circle's groups, or -1.
func circle(rules []Rule) (int, []string) {
	waits := map[string][]string{}
	for _, r := range rules {
		if r.sinceGroup() && r.Since != r.Group && !slices.Contains(waits[r.Group], r.Since) {
			waits[r.Group] = append(waits[r.Group], r.Since)
		}
	}
	groups := make([]string, 0, len(waits))
	for g, s := range waits {
		slices.Sort(s)
		groups = append(groups, g)
	}
	slices.Sort(groups)
	const (
		unseen = iota
		visiting
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(g string) []string
	visit = func(g string) []string {
		state[g] = visiting
		stack = append(stack, g)
		for _, s := range waits[g] {
			switch state[s] {
			case visiting:
				i := slices.Index(stack, s)
				return append(slices.Clone(stack[i:]), s)
			case unseen:
				if c := visit(s); c != nil {
					return c
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[g] = done
		return nil
	}
	for _, g := range groups {
		if state[g] != unseen {
			continue
		}
		if c := visit(g); c != nil {
			from, to := c[len(c)-2], c[len(c)-1]
			for i, r := range rules {
				if r.Group == from && r.Since == to {
					return i, c
				}
			}
		}
	}
	return -1, nil
}

// Candidate is an update as rules see it.
type Candidate struct {
	Classification, Severity, Product string
	FirstSeen                         time.Time // when this server first saw the update
}

// Basis is what a rule with a group in Since needs to know about that
// group's approval and rollout of the update.
type Basis struct {
	SinceApproved     time.Time // zero if the update is not approved for the Since group yet
	Succeeded, Failed int       // installs in the Since group's rollout; Failed includes timeouts
}

// Decision is what a rule says about an update.
type Decision struct {
	Approve  bool
	At       time.Time // when the rule allows the approval; zero if that is not known yet
	Deadline time.Time // the approval's deadline; zero = none
	Why      string    // one line for the audit log and the UI
}

// Matches reports whether the rule is about the candidate.
func (r Rule) Matches(c Candidate) bool {
	in := func(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }
	return in(r.Classifications, c.Classification) && in(r.Severities, c.Severity) && in(r.Products, c.Product)
}

// Decide says whether the rule approves the candidate now: when it matches,
// After has passed since the update was first seen (or approved for the
// Since group), and that group has MinSucceeded successful installs and a
// failing fraction below MaxFailureRate. An approval's deadline is now plus
// Deadline. Durations are elapsed time: "3d" after 09:00 on the Friday
// before a DST change is 10:00 or 08:00 by the clock on Monday.
func (r Rule) Decide(c Candidate, b Basis, now time.Time) Decision {
	no := func(at time.Time, format string, args ...any) Decision {
		return Decision{At: at, Why: fmt.Sprintf("rule %q: ", r.Name) + fmt.Sprintf(format, args...)}
	}
	what := c.Classification
	if what == "" {
		what = "unclassified"
	}
	if c.Severity != "" {
		what += " (" + c.Severity + ")"
	}
	if !r.Matches(c) {
		return no(time.Time{}, "does not match %s update of %q", what, c.Product)
	}
	basis, since := c.FirstSeen, "first seen"
	if r.sinceGroup() {
		if b.SinceApproved.IsZero() {
			return no(time.Time{}, "%s, waiting for approval for %s", what, r.Since)
		}
		basis, since = b.SinceApproved, "approved for "+r.Since
	} else if basis.IsZero() {
		return no(time.Time{}, "%s, not seen by this server yet", what)
	}
	at := basis.Add(r.After)
	if now.Before(at) {
		return no(at, "%s, %s %s ago; waits until %s (%s after)", what, since, ago(now.Sub(basis)), at.Format("2006-01-02 15:04 MST"), FormatDuration(r.After))
	}
	why := fmt.Sprintf("%s, %s %s ago", what, since, ago(now.Sub(basis)))
	if r.sinceGroup() {
		if r.MinSucceeded > 0 {
			if b.Succeeded < r.MinSucceeded {
				return no(at, "%s, only %d of the %d successful installs required in %s", why, b.Succeeded, r.MinSucceeded, r.Since)
			}
			why += fmt.Sprintf(", %d succeeded (at least %d)", b.Succeeded, r.MinSucceeded)
		}
		if r.MaxFailureRate != nil {
			results := b.Succeeded + b.Failed
			if results == 0 {
				return no(at, "%s, no install results in %s yet to judge its failure rate by", why, r.Since)
			}
			rate := float64(b.Failed) / float64(results)
			if rate >= *r.MaxFailureRate {
				return no(at, "%s, %d of %d failed (%s, not below %s)", why, b.Failed, results, percent(rate), percent(*r.MaxFailureRate))
			}
			why += fmt.Sprintf(", %d of %d failed (%s < %s)", b.Failed, results, percent(rate), percent(*r.MaxFailureRate))
		}
	}
	d := Decision{Approve: true, At: at, Why: fmt.Sprintf("rule %q: %s", r.Name, why)}
	if r.Deadline > 0 {
		d.Deadline = now.Add(r.Deadline)
	}
	return d
}

// ago writes an elapsed time briefly: "45s", "3d", "1d2h30m".
func ago(d time.Duration) string {
	if d < time.Minute {
		return max(d, 0).Truncate(time.Second).String()
	}
	return FormatDuration(d.Truncate(time.Minute))
}
