package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/patchday/patchday/internal/sim"
)

// simOptions are the flags of 'patchday sim downtime'.
type simOptions struct {
	machines, groups, spare int
	months, perMonth        int
	trace                   string
	restart                 string
	failProb                float64
	rollback                time.Duration
	maxUnavailable          int
	window                  string
	seed                    int64
	strategies              string
	format                  string
	start                   string
	canary, brakeRate       float64
	brakeFailures, brakeMin int
	noBrake                 bool
	outOfBand               time.Duration
	drainAll                bool
	times                   sim.Times
}

func simCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Simulate how patch strategies cost a fleet downtime",
	}
	var o simOptions
	down := &cobra.Command{
		Use:   "downtime",
		Short: "Compare fleet downtime: per-patch installs (S0) against monthly, staged, rolling batches (S1–S4)",
		Long: `Run a discrete-event simulation of a fleet of redundancy groups taking
the same patches under five strategies, and print for each the service
outage, the machine capacity lost, restarts per machine, maintenance
windows used, critical-patch exposure, cycle length and failures, with a
lower bound and S4's cut against S0.

S0 installs and restarts per patch as it arrives; S1 takes a monthly batch
with one reboot, all machines at once in the window; S2 stages downloads
ahead of it; S3 rolls per group with --max-unavailable, a canary wave and a
failure brake; S4 also skips restarts nothing needs. Critical patches go
out of band within --out-of-band. The patch trace is generated
(--trace generated, --patches-per-month a month) or read from a JSON file
(an array of {id, released, install_seconds, stops_service, restart,
fail_prob, rollback_seconds, critical}). The same flags and --seed give the
same figures. See the internal/sim package for the model.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDowntime(e, o)
		},
	}
	f := down.Flags()
	f.IntVar(&o.machines, "machines", 1000, "machines in the fleet")
	f.IntVar(&o.groups, "groups", 50, "redundancy groups the machines are split into, each serving one service")
	f.IntVar(&o.spare, "spare", 1, "machines each group can lose without an outage")
	f.IntVar(&o.months, "months", 6, "months of patches simulated")
	f.IntVar(&o.perMonth, "patches-per-month", 12, "patches a month in a generated trace")
	f.StringVar(&o.trace, "trace", "generated", "'generated', a JSON trace file, or 'debian:DIR' for the real updates in Debian changelogs under DIR/<product>/<version>/ (e.g. debian:../shared/testdata/releases)")
	f.StringVar(&o.restart, "restart", "libssl3=reboot", "with a debian: trace, the restart each product's updates need, product=none|service|reboot, comma-separated (others: a service restart)")
	f.Float64Var(&o.failProb, "fail-prob", 0.005, "with a debian: trace, each install's failure probability")
	f.DurationVar(&o.rollback, "rollback", time.Minute, "with a debian: trace, the time a failed install takes to roll back")
	f.IntVar(&o.maxUnavailable, "max-unavailable", 1, "machines of a group down at once when rolling (S3, S4)")
	f.StringVar(&o.window, "window", "02:00-05:00", "maintenance window in UTC, daily or on one day: '02:00-05:00', 'sat 22:00-04:00'")
	f.Int64Var(&o.seed, "seed", 1, "seed of the generated trace and of install failures")
	f.StringVar(&o.strategies, "strategies", "S0,S1,S2,S3,S4", "strategies to simulate, comma-separated")
	f.StringVar(&o.format, "format", "text", "output: text or json")
	f.StringVar(&o.start, "start", "", "first day simulated, YYYY-MM-DD (default 2026-01-01, or the month of a trace file's first patch)")
	f.Float64Var(&o.canary, "canary", sim.DefaultCanary, "fraction of each group in the first wave (S3, S4)")
	f.IntVar(&o.brakeFailures, "brake-failures", sim.DefaultBrakeFailures, "failed installs in a group's cycle that pause its rollout (S3, S4), as the fleet's default policy")
	f.Float64Var(&o.brakeRate, "brake-rate", sim.DefaultBrakeRate, "or this failing fraction of its installs (S3, S4)")
	f.IntVar(&o.brakeMin, "brake-min-results", sim.DefaultBrakeMinResults, "once the cycle has this many installs (S3, S4)")
	f.BoolVar(&o.noBrake, "no-brake", false, "never pause a rollout (S3, S4)")
	f.DurationVar(&o.outOfBand, "out-of-band", sim.DefaultOutOfBand, "delay within which critical patches are installed outside the monthly batch (S1–S4)")
	f.BoolVar(&o.drainAll, "drain-all-installs", false, "S3 and S4 install everything drained, not only what stops the service")
	d := sim.DefaultTimes()
	f.DurationVar(&o.times.Boot, "boot", d.Boot, "time a reboot takes until the OS is up")
	f.DurationVar(&o.times.Drain, "drain", d.Drain, "time to drain a machine out of its service's rotation")
	f.DurationVar(&o.times.WarmUp, "warm-up", d.WarmUp, "time the service takes to start and warm up (also a service restart's length)")
	f.DurationVar(&o.times.Check, "check", d.Check, "time of the health check before putting a machine back")
	f.DurationVar(&o.times.Download, "download", d.Download, "time to download a batch")
	f.DurationVar(&o.times.Stage, "stage", d.Stage, "time to stage a downloaded batch")
	cmd.AddCommand(down)
	return cmd
}

// brakeRule says the brake in words.
func (o simOptions) brakeRule() string {
	if o.noBrake {
		return "off"
	}
	return fmt.Sprintf("%d failures or %g%% of %d+ installs", o.brakeFailures, o.brakeRate*100, o.brakeMin)
}

// simRun is the scenario the flags describe.
type simRun struct {
	cfg        sim.Config
	trace      []sim.Patch
	strategies []sim.Strategy
	ignored    int // trace patches outside the horizon
}

func (o simOptions) scenario() (simRun, error) {
	var errs []string
	bad := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	var r simRun
	if o.machines < 1 || o.machines > 1_000_000 {
		bad("--machines %d: want 1 to 1000000", o.machines)
	}
	if o.groups < 1 || o.groups > o.machines {
		bad("--groups %d: want 1 to --machines", o.groups)
	} else if smallest := o.machines / o.groups; o.spare < 0 || o.spare >= smallest {
		bad("--spare %d: want 0 to %d (groups have %d machines or more)", o.spare, smallest-1, smallest)
	}
	if o.months < 1 || o.months > 120 {
		bad("--months %d: want 1 to 120", o.months)
	}
	if o.trace == "generated" && (o.perMonth < 1 || o.perMonth > 1000) {
		bad("--patches-per-month %d: want 1 to 1000", o.perMonth)
	}
	if o.maxUnavailable < 1 {
		bad("--max-unavailable %d: want at least 1", o.maxUnavailable)
	}
	if !(o.canary > 0 && o.canary <= 1) {
		bad("--canary %v: want a fraction in (0,1]", o.canary)
	}
	if o.brakeFailures < 1 {
		bad("--brake-failures %d: want at least 1", o.brakeFailures)
	}
	if !(o.brakeRate > 0 && o.brakeRate <= 1) {
		bad("--brake-rate %v: want a fraction in (0,1]", o.brakeRate)
	}
	if o.brakeMin < 1 {
		bad("--brake-min-results %d: want at least 1", o.brakeMin)
	}
	if o.outOfBand <= 0 || o.outOfBand > 31*24*time.Hour {
		bad("--out-of-band %v: want more than 0 and at most 744h", o.outOfBand)
	}
	for _, t := range []struct {
		name string
		d    time.Duration
	}{{"boot", o.times.Boot}, {"drain", o.times.Drain}, {"warm-up", o.times.WarmUp}, {"check", o.times.Check}, {"download", o.times.Download}, {"stage", o.times.Stage}} {
		if t.d < 0 || t.d > 24*time.Hour {
			bad("--%s %v: want 0 to 24h", t.name, t.d)
		}
	}
	w, err := parseWindow(o.window)
	if err != nil {
		bad("--window %q: %v", o.window, err)
	}
	seen := map[sim.Strategy]bool{}
	for _, s := range strings.Split(o.strategies, ",") {
		st, err := sim.ParseStrategy(strings.TrimSpace(s))
		if err != nil {
			bad("--strategies: %v", err)
			continue
		}
		if !seen[st] {
			seen[st] = true
			r.strategies = append(r.strategies, st)
		}
	}
	if o.format != "text" && o.format != "json" {
		bad("--format %q: want text or json", o.format)
	}
	var start time.Time
	if o.start != "" {
		start, err = time.Parse("2006-01-02", o.start)
		if err != nil {
			bad("--start %q: want a date such as 2026-01-01", o.start)
		}
	}
	if len(errs) > 0 {
		return r, usageError{errors.New(strings.Join(errs, "\n"))}
	}

	if o.trace == "generated" {
		if start.IsZero() {
			start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		r.trace = sim.Generate(o.seed, o.months, o.perMonth, start)
	} else if dir, ok := strings.CutPrefix(o.trace, "debian:"); ok {
		if start.IsZero() {
			return r, usageError{errors.New("--trace debian: give --start and --months: the changelogs go back years")}
		}
		restart := map[string]string{}
		for _, kv := range strings.Split(o.restart, ",") {
			if kv = strings.TrimSpace(kv); kv == "" {
				continue
			}
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return r, usageError{fmt.Errorf("--restart %q: want product=none|service|reboot", kv)}
			}
			restart[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
		r.trace, err = sim.DebianTrace(os.DirFS(dir), sim.DebianOptions{From: start, To: start.AddDate(0, o.months, 0),
			Restart: restart, FailProb: o.failProb, Rollback: o.rollback})
		if err != nil {
			return r, fmt.Errorf("--trace %s: %w", o.trace, err)
		}
		if len(r.trace) == 0 {
			return r, fmt.Errorf("--trace %s: no update released between %s and %s", o.trace, start.Format(time.DateOnly), start.AddDate(0, o.months, 0).Format(time.DateOnly))
		}
	} else {
		r.trace, err = readTraceFile(o.trace)
		if err != nil {
			return r, err
		}
		if len(r.trace) == 0 {
			return r, fmt.Errorf("--trace %s: no patches", o.trace)
		}
		if start.IsZero() {
			first := r.trace[0].Released
			for _, p := range r.trace {
				if p.Released.Before(first) {
					first = p.Released
				}
			}
			start = time.Date(first.Year(), first.Month(), 1, 0, 0, 0, 0, time.UTC)
		}
	}
	end := start.AddDate(0, o.months, 0)
	for _, p := range r.trace {
		if p.Released.Before(start) || !p.Released.Before(end) {
			r.ignored++
		}
	}
	if r.ignored == len(r.trace) {
		return r, fmt.Errorf("no patch released between %s and %s", start.Format(time.DateOnly), end.Format(time.DateOnly))
	}
	r.cfg = sim.Config{
		Windows: []sim.Window{w}, Times: o.times, MaxUnavailable: o.maxUnavailable,
		Canary: o.canary, BrakeFailures: o.brakeFailures, BrakeRate: o.brakeRate, BrakeMinResults: o.brakeMin, NoBrake: o.noBrake,
		OutOfBand: o.outOfBand, DrainAllInstalls: o.drainAll,
		Start: start, End: end, Seed: o.seed,
	}
	for i := range o.groups {
		n := o.machines / o.groups
		if i < o.machines%o.groups {
			n++
		}
		r.cfg.Groups = append(r.cfg.Groups, sim.Group{Name: fmt.Sprintf("g%03d", i+1), Machines: n, Spare: o.spare})
	}
	if err := r.cfg.Validate(); err != nil {
		return r, usageError{err}
	}
	return r, nil
}

func readTraceFile(name string) ([]sim.Patch, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("--trace: %w", err)
	}
	defer f.Close()
	t, err := sim.ReadTrace(f)
	if err != nil {
		return nil, fmt.Errorf("--trace %s: %w", name, err)
	}
	return t, nil
}

// parseWindow reads "[DAY ]HH:MM-HH:MM", DAY a weekday's first three
// letters or "daily"; the end may be past midnight.
func parseWindow(s string) (sim.Window, error) {
	w := sim.Window{Daily: true}
	s = strings.TrimSpace(s)
	if day, rest, ok := strings.Cut(s, " "); ok {
		s = strings.TrimSpace(rest)
		if !strings.EqualFold(day, "daily") {
			found := false
			for d := time.Sunday; d <= time.Saturday; d++ {
				if strings.EqualFold(day, d.String()[:3]) || strings.EqualFold(day, d.String()) {
					w.Daily, w.Weekday, found = false, d, true
				}
			}
			if !found {
				return w, fmt.Errorf("%q is not a weekday (mon … sun) or daily", day)
			}
		}
	}
	from, to, ok := strings.Cut(s, "-")
	if !ok {
		return w, errors.New("want HH:MM-HH:MM, e.g. 02:00-05:00")
	}
	a, err := parseClock(from)
	if err != nil {
		return w, err
	}
	b, err := parseClock(to)
	if err != nil {
		return w, err
	}
	if a == 24*time.Hour {
		return w, errors.New("a window starts before 24:00")
	}
	if a == b {
		return w, errors.New("the window is empty")
	}
	w.Start, w.Length = a, b-a
	if w.Length < 0 {
		w.Length += 24 * time.Hour
	}
	return w, nil
}

func parseClock(s string) (time.Duration, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(m) != 2 || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("%q is not a time of day HH:MM", s)
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, nil
}

func runDowntime(e *env, o simOptions) error {
	r, err := o.scenario()
	if err != nil {
		return err
	}
	if r.ignored > 0 {
		fmt.Fprintf(e.stderr, "%d patches released outside %s to %s ignored\n", r.ignored,
			r.cfg.Start.Format(time.DateOnly), r.cfg.End.Format(time.DateOnly))
	}
	results, err := runStrategies(r, e.stderr)
	if err != nil {
		return err
	}
	bound, err := sim.LowerBound(r.cfg, r.trace)
	if err != nil {
		return err
	}
	rep := newSimReport(o, r, results, bound)
	if o.format == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.text(e.stdout)
}

// runStrategies runs the strategies side by side, one per CPU, showing
// their progress together on w.
func runStrategies(r simRun, w io.Writer) ([]sim.Result, error) {
	results := make([]sim.Result, len(r.strategies))
	errs := make([]error, len(r.strategies))
	days := int((r.cfg.End.Sub(r.cfg.Start) + 24*time.Hour - 1) / (24 * time.Hour))
	var (
		mu   sync.Mutex
		done = make([]int, len(r.strategies))
		bar  = newProgressBar(w, fmt.Sprintf("simulating %d strategies", len(r.strategies)))
	)
	show := func(i, d, t int) {
		mu.Lock()
		defer mu.Unlock()
		done[i] = min(d, t, days)
		sd := 0
		for _, x := range done {
			sd += x
		}
		bar.Set(100 * sd / max(days*len(done), 1))
	}
	sem := make(chan struct{}, max(runtime.GOMAXPROCS(0), 1))
	var wg sync.WaitGroup
	for i, s := range r.strategies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i], errs[i] = sim.Run(r.cfg, r.trace, s, func(d, t int) { show(i, d, t) })
		}()
	}
	wg.Wait()
	bar.Done()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return results, nil
}

// simReport is the command's output; JSON carries the same as the table.
type simReport struct {
	Scenario   simScenario  `json:"scenario"`
	Results    []simResult  `json:"results"`
	LowerBound simBound     `json:"lower_bound"`
	S4VsS0     *simCompared `json:"s4_vs_s0"` // null unless both ran
}

type simScenario struct {
	Machines          int     `json:"machines"`
	Groups            int     `json:"groups"`
	Spare             int     `json:"spare"`
	Start             string  `json:"start"`
	End               string  `json:"end"`
	Patches           int     `json:"patches"`
	CriticalPatches   int     `json:"critical_patches"`
	Trace             string  `json:"trace"`
	Window            string  `json:"window"`
	MaxUnavailable    int     `json:"max_unavailable"`
	Canary            float64 `json:"canary"`
	Brake             string  `json:"brake"`
	OutOfBandHours    float64 `json:"out_of_band_hours"`
	DrainAllInstalls  bool    `json:"drain_all_installs"`
	Seed              int64   `json:"seed"`
	BootMinutes       float64 `json:"boot_minutes"`
	DrainMinutes      float64 `json:"drain_minutes"`
	WarmUpMinutes     float64 `json:"warm_up_minutes"`
	CheckMinutes      float64 `json:"check_minutes"`
	DownloadMinutes   float64 `json:"download_minutes"`
	StageMinutes      float64 `json:"stage_minutes"`
	IgnoredOutOfRange int     `json:"ignored_patches"`
}

type simExposure struct {
	N         int     `json:"n"`
	MeanHours float64 `json:"mean_hours"`
	P95Hours  float64 `json:"p95_hours"`
	MaxHours  float64 `json:"max_hours"`
}

type simResult struct {
	Strategy                string      `json:"strategy"`
	Description             string      `json:"description"`
	OutageMinutes           float64     `json:"outage_minutes"`
	CapacityMinutesLost     float64     `json:"capacity_minutes_lost"`
	InterruptionsPerMachine float64     `json:"interruptions_per_machine"`
	Reboots                 int         `json:"reboots"`
	ServiceRestarts         int         `json:"service_restarts"`
	WindowsUsed             int         `json:"windows_used"`
	OffWindowDays           int         `json:"off_window_days"`
	CriticalExposure        simExposure `json:"critical_exposure"`
	Exposure                simExposure `json:"exposure"`
	CycleHours              float64     `json:"cycle_hours"`
	Cycles                  int         `json:"cycles"`
	OutOfBandCycleHours     float64     `json:"out_of_band_cycle_hours"`
	OutOfBandCycles         int         `json:"out_of_band_cycles"`
	Failures                int         `json:"failures"`
	Rollbacks               int         `json:"rollbacks"`
	GaveUp                  int         `json:"gave_up"`
	Unfinished              int         `json:"unfinished"`
	Brakes                  int         `json:"brakes"`
	MaxDownInGroup          int         `json:"max_down_in_group"`
	Ended                   string      `json:"ended"`
}

type simBound struct {
	OutageMinutes           float64 `json:"outage_minutes"`
	CapacityMinutesLost     float64 `json:"capacity_minutes_lost"`
	InterruptionsPerMachine float64 `json:"interruptions_per_machine"`
	CycleHours              float64 `json:"cycle_hours"`
	Cycles                  int     `json:"cycles"`
	OutOfBandCycleHours     float64 `json:"out_of_band_cycle_hours"`
	OutOfBandCycles         int     `json:"out_of_band_cycles"`
}

type simCompared struct {
	CapacityCutPercent float64 `json:"capacity_cut_percent"`
	OutageCutPercent   float64 `json:"outage_cut_percent"`
}

func hours(d time.Duration) float64 { return round2(d.Hours()) }

func round2(x float64) float64 { return math.Round(x*100) / 100 }

func newSimReport(o simOptions, r simRun, results []sim.Result, b sim.Bound) simReport {
	crit := 0
	for _, p := range r.trace {
		if p.Critical && !p.Released.Before(r.cfg.Start) && p.Released.Before(r.cfg.End) {
			crit++
		}
	}
	rep := simReport{
		Scenario: simScenario{
			Machines: o.machines, Groups: o.groups, Spare: o.spare,
			Start: r.cfg.Start.Format(time.DateOnly), End: r.cfg.End.Format(time.DateOnly),
			Patches: len(r.trace) - r.ignored, CriticalPatches: crit, Trace: o.trace, Window: r.cfg.Windows[0].String(),
			MaxUnavailable: o.maxUnavailable, Canary: o.canary, Brake: o.brakeRule(), OutOfBandHours: o.outOfBand.Hours(),
			DrainAllInstalls: o.drainAll, Seed: o.seed,
			BootMinutes: o.times.Boot.Minutes(), DrainMinutes: o.times.Drain.Minutes(), WarmUpMinutes: o.times.WarmUp.Minutes(),
			CheckMinutes: o.times.Check.Minutes(), DownloadMinutes: o.times.Download.Minutes(), StageMinutes: o.times.Stage.Minutes(),
			IgnoredOutOfRange: r.ignored,
		},
		LowerBound: simBound{OutageMinutes: round2(b.OutageMinutes), CapacityMinutesLost: round2(b.CapacityMinutesLost),
			InterruptionsPerMachine: round2(b.InterruptionsPerMachine), CycleHours: hours(b.CycleDuration), Cycles: b.Cycles,
			OutOfBandCycleHours: hours(b.OutOfBandDuration), OutOfBandCycles: b.OutOfBandCycles},
	}
	exp := func(e sim.Exposure) simExposure {
		return simExposure{N: e.N, MeanHours: hours(e.Mean), P95Hours: hours(e.P95), MaxHours: hours(e.Max)}
	}
	var s0, s4 *sim.Result
	for i, x := range results {
		switch x.Strategy {
		case sim.S0:
			s0 = &results[i]
		case sim.S4:
			s4 = &results[i]
		}
		rep.Results = append(rep.Results, simResult{
			Strategy: x.Strategy.String(), Description: x.Strategy.Description(),
			OutageMinutes: round2(x.OutageMinutes), CapacityMinutesLost: round2(x.CapacityMinutesLost),
			InterruptionsPerMachine: round2(x.InterruptionsPerMachine), Reboots: x.Reboots, ServiceRestarts: x.ServiceRestarts,
			WindowsUsed: x.WindowsUsed, OffWindowDays: x.OffWindowDays,
			CriticalExposure: exp(x.CriticalExposure), Exposure: exp(x.Exposure),
			CycleHours: hours(x.CycleDuration), Cycles: x.Cycles,
			OutOfBandCycleHours: hours(x.OutOfBandDuration), OutOfBandCycles: x.OutOfBandCycles, Failures: x.Failures, Rollbacks: x.Rollbacks,
			GaveUp: x.GaveUp, Unfinished: x.Unfinished, Brakes: x.Brakes, MaxDownInGroup: x.MaxDown,
			Ended: x.Ended.Format(time.RFC3339),
		})
	}
	if s0 != nil && s4 != nil {
		rep.S4VsS0 = &simCompared{CapacityCutPercent: cut(s4.CapacityMinutesLost, s0.CapacityMinutesLost),
			OutageCutPercent: cut(s4.OutageMinutes, s0.OutageMinutes)}
	}
	return rep
}

// cut is how much lower x is than base, in percent (negative if higher).
func cut(x, base float64) float64 {
	if base == 0 {
		return 0
	}
	return round2(100 * (base - x) / base)
}

func (rep simReport) text(w io.Writer) error {
	sc := rep.Scenario
	fmt.Fprintf(w, "Fleet downtime: %d machines in %d groups (%d spare each), %s to %s, %d patches (%d critical, trace %s),\n",
		sc.Machines, sc.Groups, sc.Spare, sc.Start, sc.End, sc.Patches, sc.CriticalPatches, sc.Trace)
	fmt.Fprintf(w, "window %s UTC, max unavailable %d, canary %g, brake %s, out of band %gh, seed %d\n\n",
		sc.Window, sc.MaxUnavailable, sc.Canary, sc.Brake, sc.OutOfBandHours, sc.Seed)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "strategy\toutage min\tcapacity-min lost\tinterruptions/machine\twindows used\toff-window days\tcritical exposure h mean/p95/max\texposure h mean\tcycle h\toob cycle h\tfailures\tbrakes\t")
	for _, x := range rep.Results {
		ce := x.CriticalExposure
		oob := "-"
		if x.OutOfBandCycles > 0 {
			oob = fmt.Sprintf("%.1f", x.OutOfBandCycleHours)
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.2f\t%d\t%d\t%.1f/%.1f/%.1f\t%.1f\t%.1f\t%s\t%d\t%d\t\n",
			x.Strategy, x.OutageMinutes, x.CapacityMinutesLost, x.InterruptionsPerMachine, x.WindowsUsed, x.OffWindowDays,
			ce.MeanHours, ce.P95Hours, ce.MaxHours, x.Exposure.MeanHours, x.CycleHours, oob, x.Failures, x.Brakes)
	}
	b := rep.LowerBound
	fmt.Fprintf(tw, "bound\t%.0f\t%.0f\t%.2f\t-\t-\t-\t-\t%.1f\t%.1f\t-\t-\t\n", b.OutageMinutes, b.CapacityMinutesLost, b.InterruptionsPerMachine, b.CycleHours, b.OutOfBandCycleHours)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if c := rep.S4VsS0; c != nil {
		fmt.Fprintf(w, "S4 vs S0: downtime %s by capacity-minutes lost, %s by outage minutes\n\n", signed(-c.CapacityCutPercent), signed(-c.OutageCutPercent))
	}
	for _, x := range rep.Results {
		fmt.Fprintf(w, "%s     %s\n", x.Strategy, x.Description)
	}
	fmt.Fprintln(w, "bound  least downtime to deliver each batch in its first cycle under S4's rules: no failures, down once per batch")
	fmt.Fprintln(w, "       for what it needs, leases back to back; a strategy whose braked groups take two months at once can go under it")
	for _, x := range rep.Results {
		if x.GaveUp > 0 || x.Unfinished > 0 {
			fmt.Fprintf(w, "%s: %d machine×patch pairs given up after %d failures, %d unfinished when the run was cut off\n", x.Strategy, x.GaveUp, sim.MaxAttempts, x.Unfinished)
		}
	}
	return nil
}

// signed writes a percentage change with its sign: −32%, +5%.
func signed(pct float64) string {
	switch {
	case pct < 0:
		return fmt.Sprintf("−%.0f%%", -pct)
	case pct > 0:
		return fmt.Sprintf("+%.0f%%", pct)
	}
	return "0%"
}
