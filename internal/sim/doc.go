// Package sim is a discrete-event simulator of fleet downtime under patch
// strategies. It exists to check, with numbers anyone can re-run, the
// claim behind patchday's rollout design: that a monthly batch with at
// most one restart, downloads staged ahead of the maintenance window,
// rolling with max-unavailable, a canary wave, a failure brake and
// skipping restarts nothing needs cost far less downtime than installing
// and restarting per patch as it arrives — at equal patch content and
// with bounded exposure for critical patches, so that no strategy wins by
// merely delaying patches.
//
// The package is pure: no clock, no goroutines, and no files but the
// fs.FS DebianTrace is handed. The same Config, trace and strategy give
// the same Result.
//
// A trace is generated (Generate), read from JSON (ReadTrace), or built
// from the real updates Debian released, as their changelogs record them
// (DebianTrace): one patch per stable or security upload, its date, its
// urgency (high or above is critical) and the restart its package needs.
//
// # The model
//
// The fleet is a set of redundancy groups. A group of Machines machines
// serves one service, which needs Machines − Spare of them up; while fewer
// are up, the service is out. Time is continuous; the simulation is an
// event queue (container/heap) of machine state changes, ordered by time
// and then by the order they were scheduled in, so interactions — leases
// held under max-unavailable, a window that ends mid-rollout, the brake,
// an out-of-band cycle arriving during a monthly one — emerge instead of
// being computed in closed form.
//
// A patch has an install time, may stop the service while it installs,
// needs no restart, a service restart or a reboot, fails with a
// probability and takes a rollback time when it does. A patch that stops
// the service needs at least a service restart to bring it back. An
// install's outcome is drawn from a hash of (seed, machine, patch,
// attempt), so every strategy sees the same draws and ends with the same
// patches on the same machines: only the delivery differs. Failures are
// found at the end of the machine's restart (a health check would find
// them there); the failed patches are rolled back — the machine is
// unavailable for their rollback times and takes its restart again if
// one was taken — and retried later. After MaxAttempts failures a machine
// gives a patch up (Result.GaveUp).
//
// Monthly cycles start on patch Tuesday, the second Tuesday of each month
// at 17:00 UTC. A monthly cycle gives each machine every patch released up
// to its patch Tuesday that it does not have yet: the batch released since
// the previous cycle, plus what it missed (failures, a braked group).
// Failed installs and braked groups wait for the next monthly cycle: the
// acknowledgement of a brake is modelled as one cycle later.
//
// Critical patches do not wait for the monthly batch in S1–S4 when it
// would reach them later: such a critical release starts an out-of-band
// cycle with the same machinery, covering only critical patches, in the
// first window after release (for
// S2–S4, after Download+Stage); if no window opens within OutOfBand of
// release, an emergency window of the first window's length opens at
// release+OutOfBand (installs in it count as off-window). In a group, an
// out-of-band cycle goes before a monthly one: it is served first for
// leases, and a machine that installed its monthly batch online but has
// not taken its down phase gives up its monthly turn to it (and installs
// the batch again later, online). When an out-of-band install fails, or
// the brake pauses an out-of-band cycle, the group's machines still
// missing a critical patch get it in a follow-up in the group's next
// window — that is the acknowledgement for critical patches.
//
// The simulation runs past Config.End until every patch released in
// [Start, End) is active or given up on every machine, so all strategies
// deliver the same content; metrics cover the whole run, and Result.Ended
// says when it ended. A run is cut off 400 days after End (a group whose
// brake trips every cycle never finishes); Result.Unfinished counts what
// was left.
//
// # Strategies
//
// S0, per patch as it arrives: every machine installs each patch at
// release+Download, all machines at once, at any hour, one patch at a time
// per machine. It is unavailable during an install that stops the
// service, then restarts for that patch alone: a reboot makes it
// unavailable for Boot+WarmUp, a service restart (or bringing a stopped
// service back) for WarmUp. No drain, no check, no coordination. A failed
// patch is retried a day later (the updater's next daily check).
//
// S1, monthly batch, one restart: in the first window after patch
// Tuesday, every machine of every group at once downloads, stages and
// installs its batch in release order. It is unavailable from the first
// install that stops the service to the end of the batch, then reboots
// once (Boot+WarmUp) if anything in the batch needs any restart.
//
// S2 is S1 with Download and Stage done before the window (the cycle
// starts in the first window at least Download+Stage after patch
// Tuesday): they neither make machines unavailable nor take window time.
// S1 and S2 therefore lose the same capacity; S2 ends its cycles sooner.
//
// S3 is S2 rolling per group. The first wave, the canary, is
// ceil(Canary×Machines) machines with something to install; the rest
// start only once the canary has finished and the brake has not tripped.
// The machines of a wave install what does not stop the service while
// they still serve (staged updates apply online), then each takes one of
// the group's MaxUnavailable leases for its down phase: Drain, the
// installs that stop the service, one reboot (Boot, WarmUp) if anything
// needs any restart, Check. Every S3 machine drains and checks, even when
// nothing needs a restart. With Config.DrainAllInstalls every install
// happens in the down phase (the literal "drain, then install" reading),
// for S3 and S4.
//
// S4 is S3, but a machine leaves service only if it must: no down phase at
// all when its batch needs no restart and nothing stops the service, and a
// service restart (WarmUp) instead of a reboot when that is all it needs.
//
// In S3 and S4, installs start only inside a window; a down phase starts
// only inside a window and only if its nominal length (without rollbacks)
// fits before the window ends, or if it is longer than a whole window;
// otherwise it waits for the next window, so a rollout that outlasts its
// window continues in the next one. The brake is the product's rule
// (fleet.Policy.Record, with its defaults): BrakeFailures failed patch
// installs in the group's current cycle, or a failing fraction of at
// least BrakeRate once BrakeMinResults installs have been attempted. It
// is checked when the canary has finished and after every machine after
// it; once tripped the group's cycle pauses: no more waves or leases, and the
// machines waiting for a lease drop their turn (their online installs are
// done again next time, at no capacity cost).
//
// # Metrics
//
// OutageMinutes sums, over groups, the time during which fewer than
// Machines−Spare machines were up. CapacityMinutesLost sums the time each
// machine was unavailable. InterruptionsPerMachine is (reboots + service
// restarts) per machine, rollback restarts included. WindowsUsed counts
// the distinct maintenance windows in which an install started,
// OffWindowDays the distinct UTC days on which one started outside every
// window. Exposure is, per machine and patch, the time from release to
// the end of the restart that made the patch active (to the end of the
// install when none was needed); given-up pairs are left out.
// CycleDuration is the mean, over monthly cycles in which anything was
// installed, of the time from the cycle's first install to its last
// machine done (for S0, over release instants, retries left out);
// OutOfBandDuration the same over out-of-band cycles, follow-ups
// included.
//
// LowerBound is the least a rollout of the same content under S4's rules
// can cost if it delivers every batch in the first cycle that may carry it:
// no failures, each machine down once per batch for exactly what it needs,
// leases back to back without windows. A strategy that delays batches —
// a braked group taking two months at once — can go below it; that is the
// delay the exposure figures show.
package sim
