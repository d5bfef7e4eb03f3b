package staff

import "time"

// Sign-in throttling: the first few failures cost nothing (people mistype),
// then each further attempt must wait twice as long as the one before, up to
// a cap. Attempts are refused, not delayed, while the wait runs, so a guessing
// attacker cannot tie up server goroutines either.
const (
	freeFailures = 3
	firstWait    = 2 * time.Second
	maxWait      = 15 * time.Minute
)

// SignInWait returns how long after the last failure the next attempt must
// wait, given the number of consecutive failures so far.
func SignInWait(failures int) time.Duration {
	if failures < freeFailures {
		return 0
	}
	wait := firstWait
	for range failures - freeFailures {
		wait *= 2
		if wait >= maxWait {
			return maxWait
		}
	}
	return wait
}
