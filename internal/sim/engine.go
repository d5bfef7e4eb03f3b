package sim

import (
	"container/heap"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// What an event does.
type evKind uint8

const (
	evStep     evKind = iota // machine a: its current step ended
	evRelease                // patch a released
	evArrive                 // S0: patches a..b-1 reach every machine
	evRetry                  // S0: machine a tries patch b again
	evPT                     // patch Tuesday: plan the monthly cycle
	evCycle                  // cycle a starts in every group
	evWake                   // group a: a window opened, look for work
	evFollowUp               // group a: out-of-band follow-up
)

type event struct {
	at   time.Duration // since Config.Start
	seq  uint64
	kind evKind
	a, b int32
}

// eventQueue is a min-heap by time, then by scheduling order.
type eventQueue []event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(event)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// Per machine×patch state: failures so far in the low bits, then flags.
const (
	stFailures = 0x0f
	stActive   = 0x40
	stGaveUp   = 0x80
	stResolved = stActive | stGaveUp
)

// Step kinds.
const (
	kInstall uint8 = iota
	kPrep          // download or stage
	kDrain
	kBoot
	kWarm // the service warming up after a reboot
	kSvc  // a service restart
	kCheck
	kRollback
)

type step struct {
	d    time.Duration
	kind uint8
	down bool  // the machine is unavailable during the step
	act  bool  // at its end, the turn's successful patches are active
	p    int32 // the patch an install installs
}

// turn is one machine's work in one cycle (in S0: for one patch): an
// online phase (the machine serves), then a down phase.
type turn struct {
	p       *pass // nil in S0
	cyc     int32
	batch   []int32
	fail    []bool
	nfail   int
	online  []step
	down    []step
	phase   uint8 // 0 online, 1 waiting for a lease, 2 down
	i       int
	nominal time.Duration // the down phase without rollback
	leased  bool
}

type machine struct {
	g          int32
	busy, down bool
	low        int32 // patches before low are resolved
	t          *turn
	s0q        []int32 // S0: patches waiting, in order
}

// cycle is a monthly or out-of-band cycle (in S0: a release instant).
type cycle struct {
	oob         bool
	start       time.Duration
	coverEnd    int32 // covers patches[:coverEnd] (only critical ones if oob)
	extra       *span // emergency window
	used        bool
	first, last time.Duration
}

// pass is one group's rollout of one cycle.
type pass struct {
	cyc                   int32
	oob                   bool
	queue                 []int32
	qi                    int
	deferred              []int32 // busy when their turn came
	limit                 int     // machines this wave may start; -1: no limit
	dispatched, inflight  int
	attempted, failed     int
	brake, paused, closed bool
}

type group struct {
	idx        int32
	lo, hi     int32
	demand     int
	down       int
	last       time.Duration
	outage     time.Duration
	capacity   float64 // machine-minutes
	monthly    *pass
	oob        *pass
	critCycle  int32 // the latest cycle that carried critical patches (out-of-band or monthly), -1 if none
	leased     int
	leaseQ     []int32 // waiting for a lease; out-of-band turns first
	wakeAt     time.Duration
	followUpAt time.Duration
}

type sim struct {
	cfg       Config
	strat     Strategy
	startNano int64
	end       time.Duration
	limit     time.Duration // the run is cut off here
	lead      time.Duration // staging before a cycle's window

	patches []Patch
	rel     []time.Duration
	need    []int8
	s0cyc   []int32

	machines []machine
	groups   []group
	st       []uint8
	P        int

	q   eventQueue
	seq uint64
	now time.Duration

	cycles []*cycle
	nextPT time.Time

	released, unresolved   int
	reboots, svc           int
	failures, rollbacks    int
	gaveUp, maxDown        int
	brakes                 int
	expAll, expCrit        []time.Duration
	windows                map[time.Duration]struct{}
	offDays                map[int64]struct{}
	lastWork               time.Duration
	progressDay, totalDays int
}

// maxPairs bounds machines × patches.
const maxPairs = 200_000_000

// Run simulates strategy s on cfg with trace (patches released outside
// [Start, End) are ignored) and reports what it cost. progress, if not
// nil, is called with simulated days done and in all as the run advances.
func Run(cfg Config, trace []Patch, s Strategy, progress func(done, total int)) (Result, error) {
	sm, err := newSim(cfg, trace, s)
	if err != nil {
		return Result{}, err
	}
	sm.run(progress)
	return sm.result(), nil
}

func newSim(cfg Config, trace []Patch, strat Strategy) (*sim, error) {
	if strat < S0 || strat > S4 {
		return nil, fmt.Errorf("sim: unknown strategy %d", int(strat))
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	s := &sim{cfg: cfg, strat: strat, startNano: cfg.Start.UnixNano(), end: cfg.End.Sub(cfg.Start),
		windows: map[time.Duration]struct{}{}, offDays: map[int64]struct{}{}}
	s.limit = s.end + 400*day
	if strat >= S2 {
		s.lead = cfg.Times.Download + cfg.Times.Stage
	}
	patches, err := inHorizon(cfg, trace)
	if err != nil {
		return nil, err
	}
	s.patches = patches
	s.P = len(patches)
	s.rel = make([]time.Duration, s.P)
	s.need = make([]int8, s.P)
	for i := range patches {
		s.rel[i] = patches[i].Released.Sub(cfg.Start)
		s.need[i] = int8(patches[i].need())
	}
	n := 0
	for gi, g := range cfg.Groups {
		s.groups = append(s.groups, group{idx: int32(gi), lo: int32(n), hi: int32(n + g.Machines), demand: g.Machines - g.Spare,
			critCycle: -1, wakeAt: -1, followUpAt: -1})
		for range g.Machines {
			s.machines = append(s.machines, machine{g: int32(gi)})
		}
		n += g.Machines
	}
	if n*s.P > maxPairs {
		return nil, fmt.Errorf("sim: %d machines × %d patches is too many pairs (at most %d)", n, s.P, maxPairs)
	}
	s.st = make([]uint8, n*s.P)
	s.totalDays = int((s.end + day - 1) / day)
	s.schedule()
	return s, nil
}

// inHorizon validates the trace and keeps the patches released in
// [Start, End), in release order.
func inHorizon(cfg Config, trace []Patch) ([]Patch, error) {
	var errs []string
	var out []Patch
	for i := range trace {
		for _, e := range checkPatch(&trace[i]) {
			errs = append(errs, fmt.Sprintf("patch %d (%q): %s", i, trace[i].ID, e))
		}
		r := trace[i].Released
		if !r.Before(cfg.Start) && r.Before(cfg.End) {
			out = append(out, trace[i])
		}
	}
	if len(errs) > 0 {
		return nil, errors.New("sim: trace: " + strings.Join(errs, "; "))
	}
	slices.SortStableFunc(out, func(a, b Patch) int { return a.Released.Compare(b.Released) })
	return out, nil
}

func (s *sim) push(at time.Duration, k evKind, a, b int32) {
	s.seq++
	heap.Push(&s.q, event{at: at, seq: s.seq, kind: k, a: a, b: b})
}

// coverEnd is the number of patches released at or before t.
func (s *sim) coverEnd(t time.Duration) int32 {
	i, _ := slices.BinarySearchFunc(s.rel, t+1, func(r, t time.Duration) int { return compare(r, t) })
	return int32(i)
}

func compare(a, b time.Duration) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// schedule puts the run's first events on the queue.
func (s *sim) schedule() {
	for i := range s.P {
		s.push(s.rel[i], evRelease, int32(i), 0)
	}
	if s.strat == S0 {
		s.s0cyc = make([]int32, s.P)
		for i := 0; i < s.P; {
			j := i
			for j < s.P && s.rel[j] == s.rel[i] {
				s.s0cyc[j] = int32(len(s.cycles))
				j++
			}
			s.cycles = append(s.cycles, &cycle{start: s.rel[i] + s.cfg.Times.Download, coverEnd: int32(j)})
			s.push(s.rel[i]+s.cfg.Times.Download, evArrive, int32(i), int32(j))
			i = j
		}
		return
	}
	// Out-of-band cycles: one per critical release the monthly cycle
	// would reach later, merged when they share a start.
	var last *cycle
	for i := range s.P {
		if !s.patches[i].Critical {
			continue
		}
		r := s.rel[i]
		w, extra := s.outOfBandStart(r)
		if w >= s.monthlyStart(s.patches[i].Released) {
			continue // the monthly batch carries it no later
		}
		if last != nil && last.start == w {
			last.coverEnd = s.coverEnd(r)
			continue
		}
		last = &cycle{oob: true, start: w, coverEnd: s.coverEnd(r), extra: extra}
		s.cycles = append(s.cycles, last)
		s.push(w, evCycle, int32(len(s.cycles)-1), 0)
	}
	s.nextPT = nextPatchTuesday(s.cfg.Start)
	s.push(s.nextPT.Sub(s.cfg.Start), evPT, 0, 0)
}

// outOfBandStart is when an out-of-band cycle for a critical patch
// released at r starts: the first window after release (and staging), or
// an emergency window at r+OutOfBand if none opens sooner.
func (s *sim) outOfBandStart(r time.Duration) (time.Duration, *span) {
	w := s.nextOpen(r+s.lead, nil)
	if w-r <= s.cfg.OutOfBand {
		return w, nil
	}
	w = max(r+s.cfg.OutOfBand, r+s.lead)
	return w, &span{w, w + s.cfg.Windows[0].Length}
}

// monthlyStart is when the monthly cycle carrying a patch released at t
// starts.
func (s *sim) monthlyStart(t time.Time) time.Duration {
	return s.nextOpen(nextPatchTuesday(t).Sub(s.cfg.Start)+s.lead, nil)
}

func (s *sim) run(progress func(done, total int)) {
	for len(s.q) > 0 {
		ev := heap.Pop(&s.q).(event)
		if ev.at > s.limit {
			break
		}
		s.now = ev.at
		if progress != nil && s.now >= 0 {
			if d := int(s.now / day); d > s.progressDay {
				s.progressDay = d
				progress(min(d, s.totalDays), s.totalDays)
			}
		}
		s.handle(ev)
	}
	for i := range s.groups {
		s.accrue(&s.groups[i])
	}
	if progress != nil {
		progress(s.totalDays, s.totalDays)
	}
}

func (s *sim) handle(ev event) {
	switch ev.kind {
	case evStep:
		s.stepEnd(ev.a)
	case evRelease:
		s.released++
		s.unresolved += len(s.machines)
	case evArrive:
		for m := range s.machines {
			mm := &s.machines[m]
			for p := ev.a; p < ev.b; p++ {
				mm.s0q = append(mm.s0q, p)
			}
			if !mm.busy {
				s.s0Next(int32(m))
			}
		}
	case evRetry:
		mm := &s.machines[ev.a]
		mm.s0q = append(mm.s0q, ev.b|retryBit)
		if !mm.busy {
			s.s0Next(ev.a)
		}
	case evPT:
		pt := s.nextPT
		c := &cycle{start: s.nextOpen(pt.Sub(s.cfg.Start)+s.lead, nil), coverEnd: s.coverEnd(pt.Sub(s.cfg.Start))}
		s.cycles = append(s.cycles, c)
		s.push(c.start, evCycle, int32(len(s.cycles)-1), 0)
		s.nextPT = nextPatchTuesday(pt.Add(time.Hour))
		if next := s.nextPT.Sub(s.cfg.Start); next < s.end || s.unresolved > 0 || s.released < s.P {
			s.push(next, evPT, 0, 0)
		}
	case evCycle:
		c := s.cycles[ev.a]
		for gi := range s.groups {
			g := &s.groups[gi]
			p := s.newPass(g, ev.a, c.oob)
			if c.oob {
				g.oob = p
			} else {
				g.monthly = p
			}
			if s.carriesCritical(c, g) {
				g.critCycle = ev.a
			}
			s.dispatch(g)
		}
	case evWake:
		g := &s.groups[ev.a]
		if g.wakeAt == s.now {
			g.wakeAt = -1
		}
		s.dispatch(g)
	case evFollowUp:
		g := &s.groups[ev.a]
		if g.followUpAt == s.now {
			g.followUpAt = -1
		}
		if g.critCycle < 0 {
			break
		}
		if p := g.oob; p != nil && !p.closed && !p.paused {
			// The pass still runs: put the machines that missed a
			// critical patch back in its queue.
			for m := g.lo; m < g.hi; m++ {
				if !s.machines[m].busy && s.lacks(m, g.critCycle) && !slices.Contains(p.queue[p.qi:], m) && !slices.Contains(p.deferred, m) {
					p.queue = append(p.queue, m)
				}
			}
			s.dispatch(g)
		} else if s.lacksCritical(g) {
			g.oob = s.newPass(g, g.critCycle, true)
			s.dispatch(g)
		}
	}
}

// carriesCritical reports whether cycle c covers a critical patch beyond
// those of the group's latest cycle that carried one.
func (s *sim) carriesCritical(c *cycle, g *group) bool {
	from := int32(0)
	if g.critCycle >= 0 {
		from = s.cycles[g.critCycle].coverEnd
	}
	for i := from; i < c.coverEnd; i++ {
		if s.patches[i].Critical {
			return true
		}
	}
	return false
}

// newPass starts a group's pass of cycle c; an oob pass installs only
// critical patches and goes first.
func (s *sim) newPass(g *group, c int32, oob bool) *pass {
	p := &pass{cyc: c, oob: oob, limit: -1}
	p.queue = make([]int32, 0, g.hi-g.lo)
	for m := g.lo; m < g.hi; m++ {
		p.queue = append(p.queue, m)
	}
	if s.strat >= S3 {
		p.limit = int(math.Ceil(s.cfg.Canary * float64(g.hi-g.lo)))
		p.brake = true
	}
	return p
}

// active is the pass a group works on: out-of-band first.
func (g *group) active() *pass {
	if g.oob != nil && !g.oob.closed {
		return g.oob
	}
	if g.monthly != nil && !g.monthly.closed {
		return g.monthly
	}
	return nil
}

// dispatch starts what the group's active pass may start now.
func (s *sim) dispatch(g *group) {
	for {
		p := g.active()
		if p == nil || p.paused {
			break
		}
		if p.limit >= 0 && p.inflight == 0 && (p.dispatched >= p.limit || (p.qi == len(p.queue) && len(p.deferred) == 0)) {
			// The canary wave is done: check the brake before the rest.
			p.limit = -1
			if s.braked(p) {
				s.pause(g, p)
			}
			continue
		}
		if p.qi == len(p.queue) && len(p.deferred) == 0 && p.inflight == 0 {
			p.closed = true
			s.passDone(g)
			continue
		}
		if p.qi == len(p.queue) || (p.limit >= 0 && p.dispatched >= p.limit) {
			break // waiting for machines to finish
		}
		_, in, next := s.windowAt(s.now, s.cycles[p.cyc].extra)
		if !in {
			s.wake(g, next)
			break
		}
		for (p.limit < 0 || p.dispatched < p.limit) && p.qi < len(p.queue) {
			m := p.queue[p.qi]
			p.qi++
			if s.machines[m].busy {
				if !p.oob || !s.preempt(m) {
					p.deferred = append(p.deferred, m)
					continue
				}
			}
			if s.startTurn(m, p) {
				p.dispatched++
				p.inflight++
			}
		}
	}
	s.grantLeases(g)
}

// braked applies the product's brake rule to a pass: BrakeFailures
// failures, or a failing fraction of at least BrakeRate once there are
// BrakeMinResults results.
func (s *sim) braked(p *pass) bool {
	if !p.brake || s.cfg.NoBrake {
		return false
	}
	return p.failed >= s.cfg.BrakeFailures ||
		(p.attempted >= s.cfg.BrakeMinResults && float64(p.failed) >= s.cfg.BrakeRate*float64(p.attempted))
}

// pause stops a braked pass: no more leases or waves; machines waiting for
// a lease drop their turn.
func (s *sim) pause(g *group, p *pass) {
	p.paused = true
	s.brakes++
	kept := g.leaseQ[:0]
	for _, m := range g.leaseQ {
		if s.machines[m].t.p == p {
			s.abandon(m)
		} else {
			kept = append(kept, m)
		}
	}
	g.leaseQ = kept
	if g.critCycle >= 0 && s.lacksCritical(g) {
		s.followUp(g) // critical patches do not wait for the acknowledgement
	}
}

// passDone: a group that still lacks a covered critical patch gets a
// follow-up in its next window.
func (s *sim) passDone(g *group) {
	if g.critCycle >= 0 && s.lacksCritical(g) {
		s.followUp(g)
	}
}

func (s *sim) followUp(g *group) {
	_, _, next := s.windowAt(s.now, nil)
	if g.followUpAt > s.now && g.followUpAt <= next {
		return
	}
	g.followUpAt = next
	s.push(next, evFollowUp, g.idx, 0)
}

func (s *sim) lacksCritical(g *group) bool {
	for m := g.lo; m < g.hi; m++ {
		if s.lacks(m, g.critCycle) {
			return true
		}
	}
	return false
}

// lacks reports whether machine m misses a critical patch cycle c covers.
func (s *sim) lacks(m, c int32) bool {
	base := int(m) * s.P
	for i := s.machines[m].low; i < s.cycles[c].coverEnd; i++ {
		if s.patches[i].Critical && s.st[base+int(i)]&stResolved == 0 {
			return true
		}
	}
	return false
}

// queueLease queues a machine for a lease: behind the other out-of-band
// turns if oob, else at the end.
func (g *group) queueLease(m int32, oob bool, s *sim) {
	i := len(g.leaseQ)
	if oob {
		i = 0
		for i < len(g.leaseQ) && s.machines[g.leaseQ[i]].t.p.oob {
			i++
		}
	}
	g.leaseQ = slices.Insert(g.leaseQ, i, m)
}

func (s *sim) wake(g *group, at time.Duration) {
	if g.wakeAt > s.now && g.wakeAt <= at {
		return
	}
	g.wakeAt = at
	s.push(at, evWake, g.idx, 0)
}

// grantLeases starts down phases in S3/S4, at most MaxUnavailable at once,
// inside windows.
func (s *sim) grantLeases(g *group) {
	for g.leased < s.cfg.MaxUnavailable && len(g.leaseQ) > 0 {
		m := g.leaseQ[0]
		t := s.machines[m].t
		w, in, next := s.windowAt(s.now, s.cycles[t.cyc].extra)
		if !in || (s.now+t.nominal > w.end && t.nominal <= w.end-w.start) {
			s.wake(g, next)
			return
		}
		g.leaseQ = g.leaseQ[1:]
		g.leased++
		t.leased = true
		s.startPhase(m, 2)
	}
}

// collect is what machine m installs in cycle c.
func (s *sim) collect(m int32, c *cycle, critOnly bool) []int32 {
	mm := &s.machines[m]
	base := int(m) * s.P
	for int(mm.low) < s.P && s.st[base+int(mm.low)]&stResolved != 0 {
		mm.low++
	}
	var batch []int32
	for i := mm.low; i < c.coverEnd; i++ {
		if s.st[base+int(i)]&stResolved != 0 || (critOnly && !s.patches[i].Critical) {
			continue
		}
		batch = append(batch, i)
	}
	return batch
}

func (s *sim) startTurn(m int32, p *pass) bool {
	batch := s.collect(m, s.cycles[p.cyc], p.oob)
	if len(batch) == 0 {
		return false
	}
	t := &turn{p: p, cyc: p.cyc, batch: batch}
	s.begin(m, t)
	return true
}

// retryBit marks a patch in an S0 queue as a retry.
const retryBit = 1 << 30

// s0Next starts the next patch waiting on an idle S0 machine.
func (s *sim) s0Next(m int32) {
	mm := &s.machines[m]
	for len(mm.s0q) > 0 {
		p := mm.s0q[0]
		mm.s0q = mm.s0q[1:]
		retry := p&retryBit != 0
		p &^= retryBit
		if s.st[int(m)*s.P+int(p)]&stResolved != 0 {
			continue
		}
		t := &turn{cyc: s.s0cyc[p], batch: []int32{p}}
		if retry {
			t.cyc = -1 // a retry belongs to no release's cycle
		}
		s.begin(m, t)
		return
	}
	mm.s0q = nil
}

func (s *sim) begin(m int32, t *turn) {
	t.fail = make([]bool, len(t.batch))
	for i, p := range t.batch {
		f := s.st[int(m)*s.P+int(p)] & stFailures
		if draw(s.cfg.Seed, m, p, f) < s.patches[p].FailProb {
			t.fail[i] = true
			t.nfail++
		}
	}
	s.plan(t)
	if t.nfail > 0 {
		if s.strat == S0 {
			s.rollbacks += t.nfail
		} else {
			s.rollbacks++
		}
	}
	mm := &s.machines[m]
	mm.busy = true
	mm.t = t
	s.startPhase(m, 0)
}

func (s *sim) startPhase(m int32, phase uint8) {
	t := s.machines[m].t
	t.phase = phase
	t.i = 0
	steps := t.online
	if phase == 2 {
		steps = t.down
	}
	if len(steps) == 0 {
		s.phaseEnd(m)
		return
	}
	for _, st := range steps {
		if st.kind == kInstall {
			s.noteInstall(t)
			break
		}
	}
	s.beginStep(m)
}

func (s *sim) steps(t *turn) []step {
	if t.phase == 2 {
		return t.down
	}
	return t.online
}

func (s *sim) beginStep(m int32) {
	t := s.machines[m].t
	st := s.steps(t)[t.i]
	s.setDown(m, st.down)
	switch st.kind {
	case kBoot:
		s.reboots++
	case kSvc:
		s.svc++
	}
	s.push(s.now+st.d, evStep, m, 0)
}

func (s *sim) stepEnd(m int32) {
	t := s.machines[m].t
	steps := s.steps(t)
	if steps[t.i].act {
		s.activate(m, t)
	}
	t.i++
	if t.i < len(steps) {
		s.beginStep(m)
		return
	}
	s.phaseEnd(m)
}

func (s *sim) phaseEnd(m int32) {
	mm := &s.machines[m]
	t := mm.t
	g := &s.groups[mm.g]
	if t.phase == 2 {
		if t.leased {
			g.leased--
			t.leased = false
		}
		s.turnEnd(m)
		return
	}
	if t.p != nil && t.p.paused {
		s.abandon(m)
		s.dispatch(g)
		return
	}
	switch {
	case len(t.down) == 0:
		s.turnEnd(m)
	case s.strat >= S3:
		t.phase = 1
		g.queueLease(m, t.p.oob, s)
		if op := g.oob; op != nil && !op.closed && !op.paused && !t.p.oob && slices.Contains(op.deferred, m) {
			// An out-of-band pass waits for this machine: it goes first.
			s.preempt(m)
			s.undefer(g, m)
			s.dispatch(g)
			return
		}
		s.grantLeases(g)
	default:
		s.startPhase(m, 2)
	}
}

func (s *sim) turnEnd(m int32) {
	mm := &s.machines[m]
	t := mm.t
	s.setDown(m, false)
	base := int(m) * s.P
	for i, p := range t.batch {
		if !t.fail[i] {
			continue
		}
		s.failures++
		s.st[base+int(p)]++
		if int(s.st[base+int(p)]&stFailures) >= MaxAttempts {
			s.st[base+int(p)] |= stGaveUp
			s.gaveUp++
			s.unresolved--
		} else if s.strat == S0 {
			s.push(s.now+S0Retry, evRetry, m, p)
		}
	}
	if t.cyc >= 0 {
		c := s.cycles[t.cyc]
		c.last = max(c.last, s.now)
	}
	s.lastWork = s.now
	mm.busy = false
	mm.t = nil
	if s.strat == S0 {
		s.s0Next(m)
		return
	}
	p := t.p
	p.inflight--
	p.attempted += len(t.batch)
	p.failed += t.nfail
	g := &s.groups[mm.g]
	if t.nfail > 0 && g.critCycle >= 0 && s.lacks(m, g.critCycle) {
		s.followUp(g) // retry in the next window, not the next cycle
	}
	if p.limit < 0 && !p.paused && s.braked(p) {
		s.pause(g, p)
	}
	s.undefer(g, m)
	s.dispatch(g)
}

// preempt takes back the turn of a machine that installed a monthly
// batch online and waits for its lease, so that an out-of-band pass can
// have it at once; it installs the monthly batch again (online, at no
// capacity cost) when the monthly pass comes back to it.
func (s *sim) preempt(m int32) bool {
	mm := &s.machines[m]
	t := mm.t
	if t == nil || t.p == nil || t.p.oob || t.phase != 1 {
		return false
	}
	g := &s.groups[mm.g]
	if i := slices.Index(g.leaseQ, m); i >= 0 {
		g.leaseQ = slices.Delete(g.leaseQ, i, i+1)
	}
	old := t.p
	old.inflight--
	mm.busy = false
	mm.t = nil
	if old == g.monthly && !old.closed && !old.paused {
		old.dispatched--
		if old.qi > 0 {
			old.qi--
			old.queue[old.qi] = m
		} else {
			old.queue = slices.Insert(old.queue, 0, m)
		}
	}
	return true
}

// abandon drops a turn that had not reached its down phase.
func (s *sim) abandon(m int32) {
	mm := &s.machines[m]
	t := mm.t
	t.p.inflight--
	c := s.cycles[t.cyc]
	c.last = max(c.last, s.now)
	mm.busy = false
	mm.t = nil
	s.undefer(&s.groups[mm.g], m)
}

// undefer puts a machine that was busy when its turn came back at the
// head of its pass's queue.
func (s *sim) undefer(g *group, m int32) {
	for _, p := range []*pass{g.oob, g.monthly} {
		if p == nil || p.closed {
			continue
		}
		if i := slices.Index(p.deferred, m); i >= 0 {
			p.deferred = slices.Delete(p.deferred, i, i+1)
			if p.qi > 0 {
				p.qi--
				p.queue[p.qi] = m
			} else {
				p.queue = slices.Insert(p.queue, 0, m)
			}
		}
	}
}

func (s *sim) activate(m int32, t *turn) {
	base := int(m) * s.P
	for i, p := range t.batch {
		if t.fail[i] {
			continue
		}
		s.st[base+int(p)] |= stActive
		s.unresolved--
		d := s.now - s.rel[p]
		s.expAll = append(s.expAll, d)
		if s.patches[p].Critical {
			s.expCrit = append(s.expCrit, d)
		}
	}
}

// noteInstall records an install starting, for its cycle and for the
// count of maintenance windows used (emergency windows are off-window).
func (s *sim) noteInstall(t *turn) {
	if t.cyc >= 0 {
		c := s.cycles[t.cyc]
		if !c.used {
			c.used = true
			c.first = s.now
		}
	}
	w, in, _ := s.windowAt(s.now, nil)
	if in {
		s.windows[w.start] = struct{}{}
	} else {
		s.offDays[floorDiv(s.startNano+int64(s.now), int64(day))] = struct{}{}
	}
}

func (s *sim) setDown(m int32, v bool) {
	mm := &s.machines[m]
	if mm.down == v {
		return
	}
	g := &s.groups[mm.g]
	s.accrue(g)
	mm.down = v
	if v {
		g.down++
		s.maxDown = max(s.maxDown, g.down)
	} else {
		g.down--
	}
}

// accrue adds the group's unavailability since its last change.
func (s *sim) accrue(g *group) {
	dt := s.now - g.last
	if dt > 0 {
		g.capacity += dt.Minutes() * float64(g.down)
		if int(g.hi-g.lo)-g.down < g.demand {
			g.outage += dt
		}
	}
	g.last = s.now
}

func (s *sim) result() Result {
	r := Result{Strategy: s.strat, Machines: len(s.machines), Patches: s.P,
		Reboots: s.reboots, ServiceRestarts: s.svc, WindowsUsed: len(s.windows), OffWindowDays: len(s.offDays),
		Failures: s.failures, Rollbacks: s.rollbacks, GaveUp: s.gaveUp, Brakes: s.brakes, Unfinished: s.unresolved, MaxDown: s.maxDown,
		Ended: s.cfg.Start.Add(s.lastWork)}
	for i := range s.groups {
		r.OutageMinutes += s.groups[i].outage.Minutes()
		r.CapacityMinutesLost += s.groups[i].capacity
	}
	if len(s.machines) > 0 {
		r.InterruptionsPerMachine = float64(s.reboots+s.svc) / float64(len(s.machines))
	}
	r.Exposure = summarize(s.expAll)
	r.CriticalExposure = summarize(s.expCrit)
	var sum, oobSum time.Duration
	for _, c := range s.cycles {
		switch {
		case !c.used:
		case c.oob:
			r.OutOfBandCycles++
			oobSum += c.last - c.first
		default:
			r.Cycles++
			sum += c.last - c.first
		}
	}
	if r.Cycles > 0 {
		r.CycleDuration = sum / time.Duration(r.Cycles)
	}
	if r.OutOfBandCycles > 0 {
		r.OutOfBandDuration = oobSum / time.Duration(r.OutOfBandCycles)
	}
	return r
}

// draw is the deterministic uniform draw in [0,1) for machine m's attempt
// at patch p: the same in every strategy.
func draw(seed int64, m, p int32, attempt uint8) float64 {
	x := splitmix(uint64(seed))
	x = splitmix(x ^ uint64(uint32(m)))
	x = splitmix(x ^ uint64(uint32(p))<<20)
	x = splitmix(x ^ uint64(attempt)<<52)
	return float64(x>>11) / (1 << 53)
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
