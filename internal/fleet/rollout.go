package fleet

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/patchday/patchday"
)

// Bucket places a computer in one of 10,000 buckets for a rollout:
// deterministic, so a computer stays in its wave across check-ins, and
// salted with the rollout's id, so that the same machines are not always
// the first to get every update.
func Bucket(computer, rollout string) int {
	h := sha256.Sum256([]byte(rollout + "\x00" + computer))
	return int(binary.BigEndian.Uint64(h[:8]) % 10000)
}

// Policy is how a group takes an update: in waves, with a brake that stops
// the rollout when installs fail.
type Policy struct {
	Waves           []float64     `json:"waves"`             // cumulative percent of the group per wave, strictly ascending, each in (0,100], last == 100
	Bake            time.Duration `json:"bake"`              // minimum time between the start of one wave and the next
	MaxUnavailable  int           `json:"max_unavailable"`   // restart leases held at once in the group, ≥ 1
	BrakeFailures   int           `json:"brake_failures"`    // unacknowledged failures (errors + timeouts) that trip the brake, ≥ 1
	BrakeRate       float64       `json:"brake_rate"`        // or this fraction of unacknowledged results failing, in (0,1], once at least BrakeMinResults results
	BrakeMinResults int           `json:"brake_min_results"` // results since the last acknowledgement before BrakeRate applies, ≥ 1
	InstallTimeout  time.Duration `json:"install_timeout"`   // an install that has begun and reports nothing in this long counts as a timeout
	Cooldown        time.Duration `json:"cooldown"`          // a new update is offered to the group only this long after the server first saw it
}

// DefaultPolicy is a cautious rollout: 1%, 10%, 50%, then everyone, a day
// apart, one restart at a time, braking on 3 failures or a 5% failure rate.
func DefaultPolicy() Policy {
	return Policy{
		Waves:           []float64{1, 10, 50, 100},
		Bake:            24 * time.Hour,
		MaxUnavailable:  1,
		BrakeFailures:   3,
		BrakeRate:       0.05,
		BrakeMinResults: 20,
		InstallTimeout:  2 * time.Hour,
	}
}

// maxWaves bounds a policy's waves.
const maxWaves = 100

// Validate reports every problem at once, by JSON field name.
func (p Policy) Validate() error {
	e := patchday.Problems{}
	const waves = "give cumulative percentages of the group, ascending and ending at 100, e.g. [1, 10, 50, 100]"
	switch {
	case len(p.Waves) == 0 || len(p.Waves) > maxWaves:
		e.Add("waves", fmt.Sprintf("give 1 to %d waves: %s", maxWaves, waves))
	case p.Waves[len(p.Waves)-1] != 100:
		e.Add("waves", "the last wave is 100, the whole group: "+waves)
	}
	for i, w := range p.Waves {
		switch {
		case !(w > 0 && w <= 100):
			e.Add("waves", fmt.Sprintf("%v is not a percentage above 0 and up to 100: %s", w, waves))
		case i > 0 && !(w > p.Waves[i-1]):
			e.Add("waves", fmt.Sprintf("%v does not grow on %v: %s", w, p.Waves[i-1], waves))
		}
	}
	if p.Bake < 0 {
		e.Add("bake", `the bake time cannot be negative; e.g. "24h", or "0" to go on at once`)
	}
	if p.MaxUnavailable < 1 {
		e.Add("max_unavailable", "at least 1 computer must be allowed to restart at a time, e.g. 1")
	}
	if p.BrakeFailures < 1 {
		e.Add("brake_failures", "give the number of failures that stops the rollout, at least 1, e.g. 3")
	}
	if !(p.BrakeRate > 0 && p.BrakeRate <= 1) {
		e.Add("brake_rate", "give the failing fraction that stops the rollout, above 0 and up to 1, e.g. 0.05 for 5%")
	}
	if p.BrakeMinResults < 1 {
		e.Add("brake_min_results", "give how many results the failure rate needs before it counts, at least 1, e.g. 20")
	}
	if p.InstallTimeout <= 0 {
		e.Add("install_timeout", `give how long an install may run before it counts as failed, e.g. "2h"`)
	}
	if p.Cooldown < 0 {
		e.Add("cooldown", `the cooldown cannot be negative; e.g. "72h", or "0" to offer updates at once`)
	}
	return e.Err("the rollout policy is not valid")
}

// InWave reports whether a computer in bucket takes part in wave (0 is the
// first; waves past the last are the last). Waves are cumulative, so a
// computer in one wave is in every later one.
func (p Policy) InWave(bucket, wave int) bool {
	if len(p.Waves) == 0 {
		return false
	}
	wave = min(max(wave, 0), len(p.Waves)-1)
	return float64(bucket) < p.Waves[wave]*100
}

// policyJSON is Policy's JSON form, with durations as text.
type policyJSON struct {
	Waves           []float64 `json:"waves"`
	Bake            string    `json:"bake"`
	MaxUnavailable  int       `json:"max_unavailable"`
	BrakeFailures   int       `json:"brake_failures"`
	BrakeRate       float64   `json:"brake_rate"`
	BrakeMinResults int       `json:"brake_min_results"`
	InstallTimeout  string    `json:"install_timeout"`
	Cooldown        string    `json:"cooldown"`
}

// MarshalJSON writes durations as text such as "24h" or "3d".
func (p Policy) MarshalJSON() ([]byte, error) {
	return json.Marshal(policyJSON{
		Waves: p.Waves, Bake: FormatDuration(p.Bake), MaxUnavailable: p.MaxUnavailable,
		BrakeFailures: p.BrakeFailures, BrakeRate: p.BrakeRate, BrakeMinResults: p.BrakeMinResults,
		InstallTimeout: FormatDuration(p.InstallTimeout), Cooldown: FormatDuration(p.Cooldown),
	})
}

// UnmarshalJSON reads durations as text ("24h", "90m", "3d") and refuses
// unknown fields. Fields left out keep their value, so decoding into
// DefaultPolicy() fills in the defaults. It does not validate: call
// Validate.
func (p *Policy) UnmarshalJSON(b []byte) error {
	j := policyJSON{
		Waves: p.Waves, Bake: FormatDuration(p.Bake), MaxUnavailable: p.MaxUnavailable,
		BrakeFailures: p.BrakeFailures, BrakeRate: p.BrakeRate, BrakeMinResults: p.BrakeMinResults,
		InstallTimeout: FormatDuration(p.InstallTimeout), Cooldown: FormatDuration(p.Cooldown),
	}
	if err := strictJSON(b, &j); err != nil {
		return jsonProblem(err, "the rollout policy is not valid", `{"waves": [1, 10, 50, 100], "bake": "24h"}`)
	}
	e := patchday.Problems{}
	q := Policy{Waves: j.Waves, MaxUnavailable: j.MaxUnavailable, BrakeFailures: j.BrakeFailures,
		BrakeRate: j.BrakeRate, BrakeMinResults: j.BrakeMinResults}
	for _, f := range []struct {
		name string
		text string
		to   *time.Duration
	}{{"bake", j.Bake, &q.Bake}, {"install_timeout", j.InstallTimeout, &q.InstallTimeout}, {"cooldown", j.Cooldown, &q.Cooldown}} {
		var err error
		if *f.to, err = ParseDuration(f.text); err != nil {
			e.Add(f.name, patchday.Summary(err))
		}
	}
	if err := e.Err("the rollout policy is not valid"); err != nil {
		return err
	}
	*p = q
	return nil
}

// Outcome is how one install ended.
type Outcome int

// The outcomes of an install. The zero Outcome is none of them, so that a
// forgotten value is not counted as a success.
const (
	OutcomeSucceeded Outcome = iota + 1
	OutcomeFailed            // the install reported an error or rolled back
	OutcomeTimedOut          // the install began and reported nothing within the policy's InstallTimeout
)

// String names the outcome.
func (o Outcome) String() string {
	switch o {
	case OutcomeSucceeded:
		return "succeeded"
	case OutcomeFailed:
		return "failed"
	case OutcomeTimedOut:
		return "timed out"
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// Rollout is the progress of one approval (an update for a group): its
// wave, and counters kept current as results arrive.
type Rollout struct {
	Wave      int       // current wave, 0 being the first
	WaveSince time.Time // when the current wave started; zero before the rollout starts

	Succeeded, Failed, TimedOut int

	AckedFailures int // Failed+TimedOut at the last acknowledgement
	AckedResults  int // Succeeded+Failed+TimedOut at the last acknowledgement

	Braked      bool
	BrakedAt    time.Time
	BrakeReason string
}

// Record counts an install's outcome and trips the brake when the failures
// since the last acknowledgement reach BrakeFailures, or when there are at
// least BrakeMinResults results since then and the failing fraction of them
// reaches BrakeRate. It reports whether this outcome tripped the brake. A
// braked rollout stays braked, whatever else is recorded, until
// Acknowledge. An unknown outcome is ignored.
func (p Policy) Record(r *Rollout, o Outcome, now time.Time) (tripped bool) {
	switch o {
	case OutcomeSucceeded:
		r.Succeeded++
	case OutcomeFailed:
		r.Failed++
	case OutcomeTimedOut:
		r.TimedOut++
	default:
		return false
	}
	if r.Braked {
		return false
	}
	failures := r.Failed + r.TimedOut - r.AckedFailures
	results := r.Succeeded + r.Failed + r.TimedOut - r.AckedResults
	var reason string
	switch {
	case p.BrakeFailures > 0 && failures >= p.BrakeFailures:
		if r.AckedFailures == 0 {
			reason = fmt.Sprintf("%s (%s, %s) since the last acknowledgement; the limit is %d",
				plural(failures, "failure"), plural(r.Failed, "error"), plural(r.TimedOut, "timeout"), p.BrakeFailures)
		} else {
			reason = fmt.Sprintf("%s since the last acknowledgement (%s and %s in all); the limit is %d",
				plural(failures, "failure"), plural(r.Failed, "error"), plural(r.TimedOut, "timeout"), p.BrakeFailures)
		}
	case p.BrakeRate > 0 && results >= max(p.BrakeMinResults, 1) && float64(failures)/float64(results) >= p.BrakeRate:
		reason = fmt.Sprintf("%d of %s since the last acknowledgement failed (%s); the limit is %s",
			failures, plural(results, "result"), percent(float64(failures)/float64(results)), percent(p.BrakeRate))
	default:
		return false
	}
	r.Braked, r.BrakedAt, r.BrakeReason = true, now, reason
	return true
}

// Acknowledge records that someone looked at the failures: it releases the
// brake and counts failures afresh from the current totals. The current
// wave bakes again from now, so the next wave waits a full Bake after the
// problem was dealt with.
func (r *Rollout) Acknowledge(now time.Time) {
	r.Braked, r.BrakedAt, r.BrakeReason = false, time.Time{}, ""
	r.AckedFailures = r.Failed + r.TimedOut
	r.AckedResults = r.Succeeded + r.Failed + r.TimedOut
	if !r.WaveSince.IsZero() {
		r.WaveSince = now
	}
}

// Advance moves the rollout to the next wave when it is not braked, not at
// the last wave, and the current wave has baked for Bake; it reports
// whether it moved. A rollout with a zero WaveSince starts now, in its
// current wave.
func (p Policy) Advance(r *Rollout, now time.Time) bool {
	if r.WaveSince.IsZero() {
		r.WaveSince = now
		return false
	}
	if r.Braked || r.Wave >= len(p.Waves)-1 || now.Before(r.WaveSince.Add(p.Bake)) {
		return false
	}
	r.Wave++
	r.WaveSince = now
	return true
}

// Offered reports whether the update of rollout r is offered to computer.
// A braked rollout offers nothing: no install starts, not even on computers
// of earlier waves that have not installed it yet.
func (p Policy) Offered(r Rollout, computer, rollout string) bool {
	return !r.Braked && p.InWave(Bucket(computer, rollout), r.Wave)
}

// plural writes a count and a noun, e.g. "1 error", "2 errors".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// percent writes a fraction as a percentage with at most one decimal,
// e.g. "0.8%", "2%".
func percent(f float64) string {
	return strconv.FormatFloat(math.Round(f*1000)/10, 'f', -1, 64) + "%"
}

// maxDays is the most days a time.Duration holds.
const maxDays = math.MaxInt64 / int64(24*time.Hour)

// ParseDuration reads a duration as typed in rules and policies: Go's
// notation ("72h", "90m", "1h30m"), days of 24 hours elapsed ("3d",
// "1d12h"), or "0". Negative durations are refused.
func ParseDuration(s string) (time.Duration, error) {
	bad := func(why string) error {
		return patchday.Errorf(patchday.ErrInvalid, "%q is not a duration%s: write it like \"72h\", \"90m\" or \"3d\"", s, why)
	}
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, bad("")
	}
	if t[0] == '-' {
		return 0, bad(" (it is negative)")
	}
	var days int64
	if head, rest, ok := strings.Cut(t, "d"); ok {
		n, err := strconv.ParseInt(head, 10, 64)
		if err != nil || head == "" || head[0] < '0' || head[0] > '9' || n > maxDays {
			return 0, bad("")
		}
		days, t = n, rest
		if t == "" {
			t = "0"
		}
	}
	d, err := time.ParseDuration(t)
	switch {
	case err != nil:
		return 0, bad("")
	case d < 0 || t[0] == '-':
		return 0, bad(" (it is negative)")
	case days > 0 && (t[0] == '+' || d > time.Duration(math.MaxInt64-days*int64(24*time.Hour))):
		return 0, bad("")
	}
	return time.Duration(days)*24*time.Hour + d, nil
}

// FormatDuration writes a duration the way ParseDuration reads it, briefly:
// "0", "3d", "1d12h", "4h", "1h30m", "90s".
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	var b strings.Builder
	if d < 0 {
		b.WriteByte('-')
		if d == math.MinInt64 {
			return d.String()
		}
		d = -d
	}
	const day = 24 * time.Hour
	if d >= day {
		fmt.Fprintf(&b, "%dd", d/day)
		if d %= day; d == 0 {
			return b.String()
		}
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	b.WriteString(s)
	return b.String()
}

// strictJSON decodes exactly one JSON value into v, refusing unknown fields
// and anything after the value.
func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err == nil {
		return fmt.Errorf("unexpected data after the value")
	}
	return nil
}

// jsonProblem turns a decoding error into an ErrInvalid naming the field
// when it can.
func jsonProblem(err error, message, example string) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return &patchday.Error{Kind: patchday.ErrInvalid, Message: message,
			Fields: map[string]string{te.Field: fmt.Sprintf("expected %s, not a JSON %s; e.g. %s", te.Type, te.Value, example)}}
	}
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name, _ := strconv.Unquote(f)
		return &patchday.Error{Kind: patchday.ErrInvalid, Message: message,
			Fields: map[string]string{name: fmt.Sprintf("unknown field %s; e.g. %s", f, example)}}
	}
	return patchday.Errorf(patchday.ErrInvalid, "%s: %v; write it like %s", message, err, example)
}
