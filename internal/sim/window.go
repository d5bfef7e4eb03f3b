package sim

import "time"

// PatchTuesday is the second Tuesday of the month at 17:00 UTC.
func PatchTuesday(year int, month time.Month) time.Time {
	first := time.Date(year, month, 1, 17, 0, 0, 0, time.UTC)
	off := (int(time.Tuesday) - int(first.Weekday()) + 7) % 7
	return first.AddDate(0, 0, off+7)
}

// nextPatchTuesday is the first patch Tuesday at or after t.
func nextPatchTuesday(t time.Time) time.Time {
	t = t.UTC()
	pt := PatchTuesday(t.Year(), t.Month())
	if pt.Before(t) {
		n := time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC)
		pt = PatchTuesday(n.Year(), n.Month())
	}
	return pt
}

// span is an interval of simulated time, [start, end).
type span struct{ start, end time.Duration }

const day = 24 * time.Hour

// windowAt finds the maintenance window containing t (offset from the
// start of the run), also considering extra (an emergency window, may be
// nil): cur and in. next is the earliest window start after t.
func (s *sim) windowAt(t time.Duration, extra *span) (cur span, in bool, next time.Duration) {
	abs := s.startNano + int64(t)
	d0 := floorDiv(abs, int64(day))
	next = 1<<63 - 1
	for d := d0 - 1; d <= d0+8; d++ {
		wd := time.Weekday(((d+4)%7 + 7) % 7) // 1970-01-01 was a Thursday
		midnight := time.Duration(d*int64(day) - s.startNano)
		for _, w := range s.cfg.Windows {
			if !w.Daily && w.Weekday != wd {
				continue
			}
			ws := midnight + w.Start
			we := ws + w.Length
			if ws <= t && t < we {
				if !in || we > cur.end {
					cur, in = span{ws, we}, true
				}
			} else if ws > t && ws < next {
				next = ws
			}
		}
	}
	if extra != nil {
		if extra.start <= t && t < extra.end {
			if !in || extra.end > cur.end {
				cur, in = *extra, true
			}
		} else if extra.start > t && extra.start < next {
			next = extra.start
		}
	}
	return cur, in, next
}

// nextOpen is t if t is inside a window, else the next window's start.
func (s *sim) nextOpen(t time.Duration, extra *span) time.Duration {
	_, in, next := s.windowAt(t, extra)
	if in {
		return t
	}
	return next
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
