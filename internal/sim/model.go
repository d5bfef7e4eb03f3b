package sim

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Group is a redundancy group: Machines machines serving one service,
// which needs Machines − Spare of them up.
type Group struct {
	Name     string
	Machines int
	Spare    int
}

// Window is a maintenance window: every day (Daily) or on Weekday, from
// Start after midnight UTC for Length. A window may run past midnight.
type Window struct {
	Weekday time.Weekday
	Daily   bool
	Start   time.Duration
	Length  time.Duration
}

// DefaultWindow is daily 02:00–05:00 UTC.
func DefaultWindow() Window {
	return Window{Daily: true, Start: 2 * time.Hour, Length: 3 * time.Hour}
}

func (w Window) String() string {
	day := "daily"
	if !w.Daily {
		day = w.Weekday.String()[:3]
	}
	end := (w.Start + w.Length) % (24 * time.Hour)
	return fmt.Sprintf("%s %s–%s", day, clock(w.Start), clock(end))
}

func clock(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// The restart a patch needs.
const (
	RestartNone    = "none"
	RestartService = "service"
	RestartReboot  = "reboot"
)

// Patch is one update in a trace.
type Patch struct {
	ID           string
	Released     time.Time
	Install      time.Duration
	StopsService bool
	Restart      string // RestartNone, RestartService or RestartReboot
	FailProb     float64
	Rollback     time.Duration
	Critical     bool
}

// need is the restart a patch needs, as a level: 0 none, 1 service,
// 2 reboot. A patch that stops the service needs the service back.
func (p *Patch) need() int {
	n := 0
	switch p.Restart {
	case RestartService:
		n = 1
	case RestartReboot:
		n = 2
	}
	if p.StopsService && n < 1 {
		n = 1
	}
	return n
}

// Times are the fixed durations of the steps around installs.
type Times struct {
	Download time.Duration // fetching the updates
	Stage    time.Duration // unpacking and checking them before installing
	Drain    time.Duration // taking the machine out of its service's rotation
	Boot     time.Duration // a reboot until the OS is up
	WarmUp   time.Duration // the service starting and warming up (also a service restart's length)
	Check    time.Duration // the health check before putting it back
}

// DefaultTimes are the command's defaults.
func DefaultTimes() Times {
	return Times{Download: 10 * time.Minute, Stage: 5 * time.Minute, Drain: 2 * time.Minute,
		Boot: 3 * time.Minute, WarmUp: 2 * time.Minute, Check: time.Minute}
}

// Config is a scenario. Zero MaxUnavailable, Canary, BrakeFailures,
// BrakeRate, BrakeMinResults and OutOfBand, and nil Windows, take their
// defaults (1, 0.1, 3, 0.05, 20, 48h, daily 02:00–05:00); the brake's are
// those of the product's default rollout policy (fleet.DefaultPolicy).
// Canary 1 puts the whole group in the first wave (no canary); NoBrake
// never brakes. Times are taken as given: zero is zero.
type Config struct {
	Groups           []Group
	Windows          []Window
	Times            Times
	MaxUnavailable   int     // machines of a group down at once in S3/S4
	Canary           float64 // fraction of each group in the first wave, in (0,1]
	BrakeFailures    int     // failed installs in a group's cycle that pause it, ≥ 1
	BrakeRate        float64 // or this failing fraction of its installs, in (0,1],
	BrakeMinResults  int     // once it has at least this many, ≥ 1
	NoBrake          bool    // never pause
	OutOfBand        time.Duration
	DrainAllInstalls bool // S3/S4 install everything in the down phase, not only what stops the service
	Start, End       time.Time
	Seed             int64
}

// Defaults of Config.
const (
	DefaultMaxUnavailable  = 1
	DefaultCanary          = 0.1
	DefaultBrakeFailures   = 3
	DefaultBrakeRate       = 0.05
	DefaultBrakeMinResults = 20
	DefaultOutOfBand       = 48 * time.Hour
)

// MaxAttempts is how many times a machine tries a patch before giving it
// up.
const MaxAttempts = 3

// S0Retry is how long S0 waits before retrying a failed patch.
const S0Retry = 24 * time.Hour

// maxMachines bounds a scenario, to keep memory in check.
const maxMachines = 1_000_000

func (c Config) withDefaults() Config {
	if c.MaxUnavailable == 0 {
		c.MaxUnavailable = DefaultMaxUnavailable
	}
	if c.Canary == 0 {
		c.Canary = DefaultCanary
	}
	if c.BrakeFailures == 0 {
		c.BrakeFailures = DefaultBrakeFailures
	}
	if c.BrakeRate == 0 {
		c.BrakeRate = DefaultBrakeRate
	}
	if c.BrakeMinResults == 0 {
		c.BrakeMinResults = DefaultBrakeMinResults
	}
	if c.OutOfBand == 0 {
		c.OutOfBand = DefaultOutOfBand
	}
	if len(c.Windows) == 0 {
		c.Windows = []Window{DefaultWindow()}
	}
	return c
}

// Validate reports every problem of the configuration (after defaults).
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []string
	add := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	if len(c.Groups) == 0 {
		add("groups: give at least one group")
	}
	total := 0
	for i, g := range c.Groups {
		if g.Machines < 1 {
			add("group %d (%q): machines %d, want at least 1", i, g.Name, g.Machines)
		}
		if g.Spare < 0 || (g.Machines >= 1 && g.Spare >= g.Machines) {
			add("group %d (%q): spare %d, want 0 to %d", i, g.Name, g.Spare, g.Machines-1)
		}
		if g.Machines > 0 {
			total += g.Machines
		}
	}
	if total > maxMachines {
		add("groups: %d machines in all, at most %d", total, maxMachines)
	}
	for i, w := range c.Windows {
		if w.Start < 0 || w.Start >= 24*time.Hour {
			add("window %d: start %v, want within a day", i, w.Start)
		}
		if w.Length <= 0 || w.Length > 24*time.Hour {
			add("window %d: length %v, want more than 0 and at most 24h", i, w.Length)
		}
		if !w.Daily && (w.Weekday < time.Sunday || w.Weekday > time.Saturday) {
			add("window %d: weekday %d", i, w.Weekday)
		}
	}
	for _, t := range []struct {
		name string
		d    time.Duration
	}{{"download", c.Times.Download}, {"stage", c.Times.Stage}, {"drain", c.Times.Drain}, {"boot", c.Times.Boot}, {"warm-up", c.Times.WarmUp}, {"check", c.Times.Check}} {
		if t.d < 0 || t.d > 24*time.Hour {
			add("times: %s %v, want 0 to 24h", t.name, t.d)
		}
	}
	if c.MaxUnavailable < 1 {
		add("max unavailable %d, want at least 1", c.MaxUnavailable)
	}
	if !(c.Canary > 0 && c.Canary <= 1) {
		add("canary %v, want a fraction in (0,1]", c.Canary)
	}
	if c.BrakeFailures < 1 {
		add("brake failures %d, want at least 1", c.BrakeFailures)
	}
	if !(c.BrakeRate > 0 && c.BrakeRate <= 1) {
		add("brake rate %v, want a fraction in (0,1]", c.BrakeRate)
	}
	if c.BrakeMinResults < 1 {
		add("brake min results %d, want at least 1", c.BrakeMinResults)
	}
	if c.OutOfBand < 0 || c.OutOfBand > 31*24*time.Hour {
		add("out of band %v, want 0 to 31 days", c.OutOfBand)
	}
	if c.Start.IsZero() || c.End.IsZero() || !c.End.After(c.Start) {
		add("horizon: want a start before the end, got %s to %s", c.Start.Format(time.RFC3339), c.End.Format(time.RFC3339))
	} else if c.End.Sub(c.Start) > 10*366*24*time.Hour {
		add("horizon: %s, at most 10 years", c.End.Sub(c.Start))
	}
	if len(errs) > 0 {
		return errors.New("sim: " + strings.Join(errs, "; "))
	}
	return nil
}

// checkPatch names the problems of one patch's values.
func checkPatch(p *Patch) []string {
	var errs []string
	if p.ID == "" {
		errs = append(errs, "id: missing")
	}
	switch p.Restart {
	case RestartNone, RestartService, RestartReboot:
	default:
		errs = append(errs, fmt.Sprintf("restart: %q, want none, service or reboot", p.Restart))
	}
	if p.Install < 0 || p.Install > maxStep {
		errs = append(errs, fmt.Sprintf("install: %v, want 0 to %v", p.Install, maxStep))
	}
	if p.Rollback < 0 || p.Rollback > maxStep {
		errs = append(errs, fmt.Sprintf("rollback: %v, want 0 to %v", p.Rollback, maxStep))
	}
	if !(p.FailProb >= 0 && p.FailProb <= 1) {
		errs = append(errs, fmt.Sprintf("fail_prob: %v, want 0 to 1", p.FailProb))
	}
	return errs
}

// maxStep bounds a patch's install and rollback times.
const maxStep = 24 * time.Hour

// Strategy is a way to deliver patches.
type Strategy int

// The strategies compared.
const (
	S0 Strategy = iota // per patch as it arrives
	S1                 // monthly batch, one restart
	S2                 // S1, staged ahead of the window
	S3                 // S2, rolling with max-unavailable, canary and brake
	S4                 // S3, skipping restarts nothing needs
)

// Strategies lists every strategy in order.
var Strategies = []Strategy{S0, S1, S2, S3, S4}

func (s Strategy) String() string {
	if s < S0 || s > S4 {
		return fmt.Sprintf("Strategy(%d)", int(s))
	}
	return fmt.Sprintf("S%d", int(s))
}

// Description says in a few words what the strategy does.
func (s Strategy) Description() string {
	switch s {
	case S0:
		return "per patch as it arrives: install and restart at once, every machine, any hour"
	case S1:
		return "monthly batch, one restart: all machines at once in the window, downloading in it"
	case S2:
		return "S1 with downloads staged ahead of the window"
	case S3:
		return "S2 rolling per group: max-unavailable, canary wave, failure brake, drain and check"
	case S4:
		return "S3 skipping restarts nothing needs: service restart or none when enough"
	}
	return ""
}

// ParseStrategy reads "S0"…"S4" (any case).
func ParseStrategy(s string) (Strategy, error) {
	for _, st := range Strategies {
		if strings.EqualFold(s, st.String()) {
			return st, nil
		}
	}
	return 0, fmt.Errorf("unknown strategy %q, want S0, S1, S2, S3 or S4", s)
}

// Exposure summarises release-to-active times.
type Exposure struct {
	N    int // machine×patch pairs measured
	Mean time.Duration
	P95  time.Duration
	Max  time.Duration
}

func summarize(ds []time.Duration) Exposure {
	if len(ds) == 0 {
		return Exposure{}
	}
	slices.Sort(ds)
	var sum float64
	for _, d := range ds {
		sum += float64(d)
	}
	i := int(math.Ceil(0.95*float64(len(ds)))) - 1
	return Exposure{N: len(ds), Mean: time.Duration(sum / float64(len(ds))), P95: ds[i], Max: ds[len(ds)-1]}
}

// Result is what one strategy cost.
type Result struct {
	Strategy                Strategy
	Machines                int
	Patches                 int // patches released in [Start, End)
	OutageMinutes           float64
	CapacityMinutesLost     float64
	InterruptionsPerMachine float64
	Reboots                 int
	ServiceRestarts         int
	WindowsUsed             int
	OffWindowDays           int
	CriticalExposure        Exposure
	Exposure                Exposure      // all patches
	CycleDuration           time.Duration // mean over monthly cycles (S0: release instants) in which anything was installed
	Cycles                  int
	OutOfBandDuration       time.Duration // mean over out-of-band cycles, follow-ups included
	OutOfBandCycles         int
	Failures                int // failed patch installs
	Rollbacks               int // rollbacks (one per machine turn with failures; per patch in S0)
	GaveUp                  int // machine×patch pairs given up after MaxAttempts failures
	Unfinished              int // machine×patch pairs neither active nor given up when the run was cut off
	Brakes                  int // times a group's rollout was paused by the brake
	MaxDown                 int // most machines of one group unavailable at once
	Ended                   time.Time
}
