package fleet_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/patchday/patchday"
	"github.com/patchday/patchday/internal/fleet"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// TestBucket pins Bucket's values (checked against an independent SHA-256
// computation): they decide which machines go first, so they must never
// change between releases.
func TestBucket(t *testing.T) {
	tests := []struct {
		computer, rollout string
		want              int
	}{
		{"pc-0001", "42", 4349},
		{"pc-0002", "42", 9712},
		{"pc-0001", "43", 2158},
		{"", "", 3192},
		{"web-01.example.com", "rollout-7", 4768},
	}
	for _, tt := range tests {
		for range 3 {
			if got := fleet.Bucket(tt.computer, tt.rollout); got != tt.want {
				t.Errorf("Bucket(%q, %q) = %d, want %d", tt.computer, tt.rollout, got, tt.want)
			}
		}
	}
}

// TestBucketUniform: 100,000 computers fall into ten ranges of buckets
// each within ±3% of a tenth.
func TestBucketUniform(t *testing.T) {
	const n = 100000
	var ranges [10]int
	for i := range n {
		ranges[fleet.Bucket(fmt.Sprintf("pc-%06d", i), "rollout-1")/1000]++
	}
	for i, c := range ranges {
		if math.Abs(float64(c)-n/10) > 0.03*n/10 {
			t.Errorf("buckets %d–%d hold %d computers, want %d ± 3%%", i*1000, i*1000+999, c, n/10)
		}
	}
}

// TestInWaveMonotone: a computer in a wave is in every later wave, and the
// share of computers in each wave matches its percentage.
func TestInWaveMonotone(t *testing.T) {
	p := fleet.DefaultPolicy()
	const n = 20000
	counts := make([]int, len(p.Waves)+1)
	for i := range n {
		b := fleet.Bucket(fmt.Sprintf("pc-%d", i), "r")
		in := false
		for wave := -1; wave <= len(p.Waves); wave++ {
			now := p.InWave(b, wave)
			if in && !now {
				t.Fatalf("bucket %d is in a wave before %d but not in it", b, wave)
			}
			in = now
		}
		for wave := range len(p.Waves) + 1 {
			if p.InWave(b, wave) {
				counts[wave]++
			}
		}
	}
	for wave, pct := range p.Waves {
		if got := 100 * float64(counts[wave]) / n; math.Abs(got-pct) > 0.5+pct*0.05 {
			t.Errorf("wave %d holds %.2f%% of computers, want about %v%%", wave, got, pct)
		}
	}
	if counts[len(p.Waves)] != n {
		t.Errorf("a wave past the last holds %d computers, want all %d", counts[len(p.Waves)], n)
	}
	tests := []struct {
		bucket, wave int
		want         bool
	}{
		{0, 0, true}, {99, 0, true}, {100, 0, false}, {999, 1, true}, {1000, 1, false},
		{9999, 3, true}, {9999, 2, false}, {100, -1, false}, {9999, 99, true},
	}
	for _, tt := range tests {
		if got := p.InWave(tt.bucket, tt.wave); got != tt.want {
			t.Errorf("InWave(%d, %d) = %v, want %v", tt.bucket, tt.wave, got, tt.want)
		}
	}
	if (fleet.Policy{}).InWave(0, 0) {
		t.Error("a policy without waves offers to bucket 0")
	}
}

func TestPolicyValidate(t *testing.T) {
	if err := fleet.DefaultPolicy().Validate(); err != nil {
		t.Errorf("DefaultPolicy: %v", err)
	}
	tests := []struct {
		name string
		edit func(p *fleet.Policy)
		want []string // fields with problems
	}{
		{"no waves", func(p *fleet.Policy) { p.Waves = nil }, []string{"waves"}},
		{"not ending at 100", func(p *fleet.Policy) { p.Waves = []float64{10, 50} }, []string{"waves"}},
		{"not ascending", func(p *fleet.Policy) { p.Waves = []float64{10, 10, 100} }, []string{"waves"}},
		{"zero", func(p *fleet.Policy) { p.Waves = []float64{0, 100} }, []string{"waves"}},
		{"NaN", func(p *fleet.Policy) { p.Waves = []float64{math.NaN(), 100} }, []string{"waves"}},
		{"everything", func(p *fleet.Policy) {
			*p = fleet.Policy{Waves: []float64{150}, Bake: -1, BrakeRate: 1.5, Cooldown: -time.Hour}
		}, []string{"bake", "brake_failures", "brake_min_results", "brake_rate", "cooldown", "install_timeout", "max_unavailable", "waves"}},
	}
	for _, tt := range tests {
		p := fleet.DefaultPolicy()
		tt.edit(&p)
		err := p.Validate()
		if !errors.Is(err, patchday.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", tt.name, err)
			continue
		}
		var got []string
		for f := range patchday.FieldErrors(err) {
			got = append(got, f)
		}
		if diff := cmp.Diff(tt.want, got, cmpSorted); diff != "" {
			t.Errorf("%s: fields (-want +got):\n%s", tt.name, diff)
		}
	}
}

var cmpSorted = cmp.Transformer("sort", func(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
})

func TestPolicyJSON(t *testing.T) {
	p := fleet.DefaultPolicy()
	p.Cooldown = 72 * time.Hour
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"waves":[1,10,50,100],"bake":"1d","max_unavailable":1,"brake_failures":3,"brake_rate":0.05,"brake_min_results":20,"install_timeout":"2h","cooldown":"3d"}`
	if string(b) != want {
		t.Errorf("Marshal = %s\nwant %s", b, want)
	}
	var got fleet.Policy
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}

	// Fields left out keep the defaults; durations take days.
	got = fleet.DefaultPolicy()
	if err := json.Unmarshal([]byte(`{"bake": "36h", "cooldown": "1d12h", "waves": [50, 100]}`), &got); err != nil {
		t.Fatal(err)
	}
	want2 := fleet.DefaultPolicy()
	want2.Bake, want2.Cooldown, want2.Waves = 36*time.Hour, 36*time.Hour, []float64{50, 100}
	if diff := cmp.Diff(want2, got); diff != "" {
		t.Errorf("partial (-want +got):\n%s", diff)
	}

	for _, tt := range []struct{ in, field string }{
		{`{"bake": 86400000000000}`, "bake"},
		{`{"bake": "1 day"}`, "bake"},
		{`{"cooldown": "-3d"}`, "cooldown"},
		{`{"brake": 3}`, "brake"},
	} {
		p := fleet.DefaultPolicy()
		err := json.Unmarshal([]byte(tt.in), &p)
		if fields := patchday.FieldErrors(err); fields[tt.field] == "" {
			t.Errorf("Unmarshal(%s): %v; want a problem with %s", tt.in, err, tt.field)
		}
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		text string // FormatDuration(want)
	}{
		{"0", 0, "0"},
		{"72h", 72 * time.Hour, "3d"},
		{"3d", 72 * time.Hour, "3d"},
		{"1d12h", 36 * time.Hour, "1d12h"},
		{"90m", 90 * time.Minute, "1h30m"},
		{"45s", 45 * time.Second, "45s"},
		{"1d30m", 24*time.Hour + 30*time.Minute, "1d30m"},
		{"2h0m0s", 2 * time.Hour, "2h"},
		{"0d", 0, "0"},
		{"106751d", 106751 * 24 * time.Hour, "106751d"},
	}
	for _, tt := range tests {
		got, err := fleet.ParseDuration(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
		if s := fleet.FormatDuration(tt.want); s != tt.text {
			t.Errorf("FormatDuration(%v) = %q, want %q", tt.want, s, tt.text)
		}
	}
	for _, in := range []string{"", "d", "3", "1.5d", "-1h", "-3d", "3d-1h", "+3d", "3 days", "106752d", "106751d24h", "3d3d"} {
		if d, err := fleet.ParseDuration(in); !errors.Is(err, patchday.ErrInvalid) || !strings.Contains(err.Error(), `"3d"`) {
			t.Errorf("ParseDuration(%q) = %v, %v; want ErrInvalid with an example", in, d, err)
		}
	}
}

// recorder records outcomes with a policy, minute by minute.
type recorder struct {
	p   fleet.Policy
	r   fleet.Rollout
	now time.Time
}

// record records the outcomes, "s" succeeded, "f" failed, "t" timed out,
// and returns a character per outcome: "!" where the brake tripped, "."
// elsewhere.
func (rec *recorder) record(outcomes string) string {
	var b strings.Builder
	for _, c := range outcomes {
		o := map[rune]fleet.Outcome{'s': fleet.OutcomeSucceeded, 'f': fleet.OutcomeFailed, 't': fleet.OutcomeTimedOut}[c]
		rec.now = rec.now.Add(time.Minute)
		if rec.p.Record(&rec.r, o, rec.now) {
			b.WriteByte('!')
		} else {
			b.WriteByte('.')
		}
	}
	return b.String()
}

func TestBrake(t *testing.T) {
	tests := []struct {
		name     string
		outcomes string
		want     string // "!" where it trips
		reason   string
	}{
		{"errors alone", "sfsfsf", ".....!", "3 failures (3 errors, 0 timeouts) since the last acknowledgement; the limit is 3"},
		{"timeouts alone", "ttt", "..!", "3 failures (0 errors, 3 timeouts) since the last acknowledgement; the limit is 3"},
		{"mixed", "ftf", "..!", "3 failures (2 errors, 1 timeout) since the last acknowledgement; the limit is 3"},
		{"stays tripped", "fffsssssfff", "..!........", "3 failures (3 errors, 0 timeouts) since the last acknowledgement; the limit is 3"},
		// 2 of 42 is 4.8%, under the rate limit.
		{"under both limits", strings.Repeat("s", 40) + "ff" + strings.Repeat("s", 20), strings.Repeat(".", 62), ""},
		// 2 of 20 is 10%, at least the 5% limit, once 20 results are in.
		{"by rate", strings.Repeat("s", 17) + "ff" + "s", strings.Repeat(".", 19) + "!", "2 of 20 results since the last acknowledgement failed (10%); the limit is 5%"},
	}
	for _, tt := range tests {
		p := fleet.DefaultPolicy()
		if tt.name == "by rate" {
			p.BrakeFailures = 10
		}
		rec := &recorder{p: p, now: t0}
		if got := rec.record(tt.outcomes); got != tt.want {
			t.Errorf("%s: %s trips at %s, want %s", tt.name, tt.outcomes, got, tt.want)
		}
		if rec.r.BrakeReason != tt.reason || rec.r.Braked != (tt.reason != "") {
			t.Errorf("%s: braked %v, %q; want %q", tt.name, rec.r.Braked, rec.r.BrakeReason, tt.reason)
		}
		if tt.reason != "" && !rec.r.BrakedAt.Equal(t0.Add(time.Duration(strings.Index(tt.want, "!")+1)*time.Minute)) {
			t.Errorf("%s: braked at %s", tt.name, rec.r.BrakedAt)
		}
	}
}

// TestAcknowledge: after an acknowledgement the brake counts from there.
func TestAcknowledge(t *testing.T) {
	rec := &recorder{p: fleet.DefaultPolicy(), now: t0}
	rec.p.Advance(&rec.r, t0)
	rec.record("fftss")
	if !rec.r.Braked {
		t.Fatal("not braked")
	}
	rec.r.Acknowledge(t0.Add(time.Hour))
	want := fleet.Rollout{WaveSince: t0.Add(time.Hour), Succeeded: 2, Failed: 2, TimedOut: 1, AckedFailures: 3, AckedResults: 5}
	if diff := cmp.Diff(want, rec.r); diff != "" {
		t.Errorf("acknowledged (-want +got):\n%s", diff)
	}
	if got := rec.record("ff"); got != ".." {
		t.Errorf("two failures after the acknowledgement trip at %s", got)
	}
	if got := rec.record("st"); got != ".!" {
		t.Errorf("the third failure after the acknowledgement trips at %s, want .!", got)
	}
	if want := "3 failures since the last acknowledgement (4 errors and 2 timeouts in all); the limit is 3"; rec.r.BrakeReason != want {
		t.Errorf("reason %q, want %q", rec.r.BrakeReason, want)
	}
	// The rate counts only results since the acknowledgement too: 6 of
	// the 27 results in all failed, but none of the 19 since.
	rec.r.Acknowledge(rec.now)
	rec.p.BrakeFailures = 100
	if got := rec.record(strings.Repeat("s", 19) + "f"); got != strings.Repeat(".", 19)+"!" {
		t.Errorf("1 of 20 since the acknowledgement (5%%) trips at %s, want the 20th", got)
	}
	if want := "1 of 20 results since the last acknowledgement failed (5%); the limit is 5%"; rec.r.BrakeReason != want {
		t.Errorf("reason %q, want %q", rec.r.BrakeReason, want)
	}
}

func TestUnknownOutcome(t *testing.T) {
	p, r := fleet.DefaultPolicy(), fleet.Rollout{}
	if p.Record(&r, fleet.Outcome(0), t0) || r != (fleet.Rollout{}) {
		t.Errorf("the zero Outcome was counted: %+v", r)
	}
	if got := fleet.OutcomeTimedOut.String(); got != "timed out" {
		t.Errorf("String = %q", got)
	}
}

func TestAdvance(t *testing.T) {
	p := fleet.DefaultPolicy()
	var r fleet.Rollout
	steps := []struct {
		at    time.Duration // after t0
		brake bool          // trip (true) before this step
		ack   bool          // acknowledge before this step
		moved bool
		wave  int
	}{
		{0, false, false, false, 0}, // starts the rollout
		{23 * time.Hour, false, false, false, 0},
		{24 * time.Hour, false, false, true, 1},
		{47 * time.Hour, false, false, false, 1},
		{49 * time.Hour, true, false, false, 1}, // braked
		{60 * time.Hour, false, true, false, 1}, // acknowledged at 60h: bakes again
		{83 * time.Hour, false, false, false, 1},
		{84 * time.Hour, false, false, true, 2},
		{200 * time.Hour, false, false, true, 3},
		{400 * time.Hour, false, false, false, 3}, // the last wave
	}
	for i, s := range steps {
		now := t0.Add(s.at)
		if s.brake {
			for range 3 {
				p.Record(&r, fleet.OutcomeFailed, now)
			}
		}
		if s.ack {
			r.Acknowledge(now)
		}
		if moved := p.Advance(&r, now); moved != s.moved || r.Wave != s.wave {
			t.Errorf("step %d at +%s: moved %v to wave %d, want %v to %d", i, s.at, moved, r.Wave, s.moved, s.wave)
		}
	}
	if !r.WaveSince.Equal(t0.Add(200 * time.Hour)) {
		t.Errorf("WaveSince = %s", r.WaveSince)
	}
}

// TestOffered: a braked rollout offers nothing, even to earlier waves.
func TestOffered(t *testing.T) {
	p := fleet.DefaultPolicy()
	r := fleet.Rollout{Wave: 1, WaveSince: t0}
	// pc-0001 is in bucket 4349 for rollout 42: the third wave (50%).
	if p.Offered(r, "pc-0001", "42") {
		t.Error("offered in wave 1")
	}
	r.Wave = 2
	if !p.Offered(r, "pc-0001", "42") {
		t.Error("not offered in wave 2")
	}
	r.Braked = true
	if p.Offered(r, "pc-0001", "42") {
		t.Error("offered while braked")
	}
}
