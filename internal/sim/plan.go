package sim

import "time"

// plan lays out a turn's steps for the strategy.
func (s *sim) plan(t *turn) {
	T := s.cfg.Times
	need, rollback := 0, time.Duration(0)
	for i, p := range t.batch {
		need = max(need, int(s.need[p]))
		if t.fail[i] {
			rollback += s.patches[p].Rollback
		}
	}
	install := func(p int32, down bool) step {
		return step{d: s.patches[p].Install, kind: kInstall, down: down, p: p}
	}
	// restart is the restart a turn takes: 0 none, 1 service, 2 reboot.
	restartSteps := func(level int) []step {
		switch level {
		case 2:
			return []step{{d: T.Boot, kind: kBoot, down: true}, {d: T.WarmUp, kind: kWarm, down: true}}
		case 1:
			return []step{{d: T.WarmUp, kind: kSvc, down: true}}
		}
		return nil
	}
	// actOnLast marks the last step of steps as the one that activates
	// the batch; it reports whether there was one.
	actOnLast := func(steps []step) bool {
		if len(steps) == 0 {
			return false
		}
		steps[len(steps)-1].act = true
		return true
	}
	lastInstall := func() {
		for _, ph := range [][]step{t.down, t.online} {
			for i := len(ph) - 1; i >= 0; i-- {
				if ph[i].kind == kInstall {
					ph[i].act = true
					return
				}
			}
		}
	}

	switch s.strat {
	case S0:
		p := t.batch[0]
		t.online = append(t.online, install(p, s.patches[p].StopsService))
		r := restartSteps(need)
		if !actOnLast(r) {
			t.online[0].act = true
		}
		t.online = append(t.online, r...)
		if t.nfail > 0 {
			t.online = append(t.online, step{d: rollback, kind: kRollback, down: true})
			t.online = append(t.online, restartSteps(need)...)
		}

	case S1, S2:
		if s.strat == S1 {
			if T.Download > 0 {
				t.online = append(t.online, step{d: T.Download, kind: kPrep})
			}
			if T.Stage > 0 {
				t.online = append(t.online, step{d: T.Stage, kind: kPrep})
			}
		}
		stopped := false
		for _, p := range t.batch {
			stopped = stopped || s.patches[p].StopsService
			if stopped {
				t.down = append(t.down, install(p, true))
			} else {
				t.online = append(t.online, install(p, false))
			}
		}
		level := 0
		if need > 0 {
			level = 2 // one reboot for any restart
		}
		r := restartSteps(level)
		if actOnLast(r) {
			t.down = append(t.down, r...)
		} else {
			lastInstall()
		}
		if t.nfail > 0 {
			t.down = append(t.down, step{d: rollback, kind: kRollback, down: true})
			t.down = append(t.down, restartSteps(level)...)
		}

	case S3, S4:
		var downInstalls []step
		for _, p := range t.batch {
			if s.cfg.DrainAllInstalls || s.patches[p].StopsService {
				downInstalls = append(downInstalls, install(p, true))
			} else {
				t.online = append(t.online, install(p, false))
			}
		}
		level := need
		if s.strat == S3 && need > 0 {
			level = 2
		}
		r := restartSteps(level)
		takeDown := s.strat == S3 || len(downInstalls) > 0 || level > 0 || t.nfail > 0
		if !takeDown {
			lastInstall()
			return
		}
		t.down = append(t.down, step{d: T.Drain, kind: kDrain, down: true})
		t.down = append(t.down, downInstalls...)
		hasRestart := actOnLast(r)
		t.down = append(t.down, r...)
		if !hasRestart {
			lastInstall()
		}
		t.down = append(t.down, step{d: T.Check, kind: kCheck, down: true})
		for _, st := range t.down {
			t.nominal += st.d
		}
		if t.nfail > 0 {
			t.down = append(t.down, step{d: rollback, kind: kRollback, down: true})
			t.down = append(t.down, restartSteps(level)...)
			t.down = append(t.down, step{d: T.Check, kind: kCheck, down: true})
		}
	}
}
