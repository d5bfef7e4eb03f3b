package sim

import (
	"time"
)

// Bound is what no rollout of the same content under the same rules can
// beat: no failures, every batch delivered in the first cycle that may
// carry it (monthly, or out-of-band for critical patches), a machine
// taken down only for what needs it — Drain, the installs that stop the
// service, the restart its batch needs (none, a service restart or a
// reboot), Check — and leases packed back to back without windows.
type Bound struct {
	OutageMinutes           float64 // zero when every group has a spare; else each such group is out while its machines are down, all at once
	CapacityMinutesLost     float64
	InterruptionsPerMachine float64
	CycleDuration           time.Duration // mean over monthly cycles of ⌈machines down in the group / MaxUnavailable⌉ × the down time, the slowest group
	Cycles                  int
	OutOfBandDuration       time.Duration // the same over out-of-band cycles
	OutOfBandCycles         int
}

// LowerBound computes the Bound of cfg and trace.
func LowerBound(cfg Config, trace []Patch) (Bound, error) {
	s, err := newSim(cfg, trace, S4)
	if err != nil {
		return Bound{}, err
	}
	cfg = s.cfg
	// Cycles in start order: the out-of-band ones newSim planned, and
	// the monthly ones until every patch is covered.
	oob := s.cycles
	var monthly []*cycle
	for pt := nextPatchTuesday(cfg.Start); len(monthly) == 0 || monthly[len(monthly)-1].coverEnd < int32(s.P); pt = nextPatchTuesday(pt.Add(time.Hour)) {
		off := pt.Sub(cfg.Start)
		monthly = append(monthly, &cycle{start: s.nextOpen(off+s.lead, nil), coverEnd: s.coverEnd(off)})
	}
	batches := map[*cycle][]int32{}
	var order []*cycle
	first := func(cs []*cycle, i int32) *cycle {
		for _, c := range cs {
			if c.coverEnd > i {
				return c
			}
		}
		return nil
	}
	for i := range int32(s.P) {
		c := first(monthly, i)
		if s.patches[i].Critical {
			if o := first(oob, i); o != nil && (c == nil || o.start < c.start) {
				c = o
			}
		}
		if _, ok := batches[c]; !ok {
			order = append(order, c)
		}
		batches[c] = append(batches[c], i)
	}
	var b Bound
	var cycleSum, oobSum time.Duration
	machines := 0
	for _, g := range cfg.Groups {
		machines += g.Machines
	}
	for _, c := range order {
		d, level := s.downFor(batches[c])
		if d == 0 && level == 0 {
			continue
		}
		var longest time.Duration
		for _, g := range cfg.Groups {
			b.CapacityMinutesLost += float64(g.Machines) * d.Minutes()
			if level > 0 {
				b.InterruptionsPerMachine += float64(g.Machines)
			}
			if g.Spare == 0 {
				b.OutageMinutes += d.Minutes()
			}
			waves := (g.Machines + cfg.MaxUnavailable - 1) / cfg.MaxUnavailable
			longest = max(longest, time.Duration(waves)*d)
		}
		if c.oob {
			b.OutOfBandCycles++
			oobSum += longest
		} else {
			b.Cycles++
			cycleSum += longest
		}
	}
	if machines > 0 {
		b.InterruptionsPerMachine /= float64(machines)
	}
	if b.Cycles > 0 {
		b.CycleDuration = cycleSum / time.Duration(b.Cycles)
	}
	if b.OutOfBandCycles > 0 {
		b.OutOfBandDuration = oobSum / time.Duration(b.OutOfBandCycles)
	}
	return b, nil
}

// downFor is how long a machine must be down for batch, and the restart
// it needs, under S4's rules.
func (s *sim) downFor(batch []int32) (time.Duration, int) {
	T := s.cfg.Times
	var installs time.Duration
	level := 0
	for _, p := range batch {
		level = max(level, int(s.need[p]))
		if s.cfg.DrainAllInstalls || s.patches[p].StopsService {
			installs += s.patches[p].Install
		}
	}
	if level == 0 && !s.cfg.DrainAllInstalls {
		return 0, 0
	}
	d := T.Drain + installs + T.Check
	switch level {
	case 2:
		d += T.Boot + T.WarmUp
	case 1:
		d += T.WarmUp
	}
	return d, level
}
