package ifmatch

import (
	"cmp"
	"math"
	"math/rand/v2"
	"time"
)

// Fair makes the update loop share a contended resource fairly among
// separate clients (processes that cannot coalesce), for the lowest tail
// latency at the cost of requests. By default the loop spends as few requests
// as it can: a writer that just won writes its next update from its cache at
// once, so under sustained contention the resource stays with it while the
// others wait. Under Fair:
//
//   - a call that lost retries at a rate that grows with its age (the time
//     since it began, cubed, in round trips), so the calls that have waited
//     longest retry most often (an old call retries as often as immediate
//     retry would, never more: one read and one write at a time); each wait
//     is within the backoff maximum ([BackoffBounds]); a write refused
//     because the Client's cached copy was stale counts as a conflict;
//   - the rate's scale is the Client's own for the resource, lowered by each
//     refused write and raised by each success, so it follows the
//     contention from call to call, and is forgotten once calls stop
//     meeting any (a write that got no answer and, read back, did not land
//     is a fault, not contention: it teaches nothing);
//   - a call that follows its Client's own win on a contended resource
//     first waits as a loser would (its age starts at zero, so it defers to
//     the calls that have waited longer), then reads instead of writing
//     from its cache;
//   - otherwise, a call that starts right after the end of its Client's
//     last call on the resource waits until a quarter of a round trip has
//     passed since, before writing from its cache, so that a writer which
//     never lost cannot keep the resource by writing back to back (other
//     processes' losses are invisible to it). The round trip is the
//     shortest a write of the Client's took; a yield under a millisecond
//     (round trips under 4 ms) is not taken.
//
// The deferral and the wait before writing from the cache need the
// Client's cache ([WithoutETagCache], [FreshRead] and [RunUpdate] have
// none). Unlike a retry's wait, neither is given up early for [MaxElapsed]:
// its deadline ends them with context.DeadlineExceeded, nothing sent.
//
// Uncontended, Fair costs no request; it costs at most a quarter of a
// round trip of waiting, and only to calls that follow their Client's own
// call that closely. After contention, a call defers and reads until one's read shows
// that nobody else wrote since the Client's own last write (or successes
// raise the rate's scale past the point where it is forgotten): the
// contention is then forgotten at once. What a Client learned of a
// resource is also forgotten after 256 round trips without a call. Contended,
// in bench/ (separate clients, 2 ms round trips, W writers), its p99
// latency per update was below every hand-written loop's at W = 4, 16 and
// 64 in most runs (a third to a half below at W = 4 and 16), for about 4,
// 9 and 32 requests per update against the default's 1.1, 1.5 and 2.6 and
// immediate retry's 5.5, 14 and 39 (BENCHMARKS.md). Twilio throttles
// accounts that send too many requests, so Fair is not the default; within
// one process, share one Client (its calls coalesce) before reaching for
// Fair.
//
// Under Fair, the attempt budget is [FairMaxAttempts] unless [MaxAttempts]
// is given; [MaxElapsed] and the context bound the call as always. Fair
// and [Backoff] both choose the conflict backoff: the one given later wins,
// so a call's own Backoff overrides a Client's default Fair, and the other
// way round.
func Fair() UpdateOption { return func(u *updateConfig) { u.fair, u.newBackoff = true, nil } }

// FairMaxAttempts is the attempt budget of a call under [Fair] when
// [MaxAttempts] is not given: a call that has waited long retries often, and
// [MaxElapsed] bounds it.
const FairMaxAttempts = 1000

// Tuning of [Fair], chosen with the design model in bench/sim
// (BENCHMARKS.md): the hazard of a retry is alpha·age^fairPower (age in
// round trips); alpha starts at fairFirst at a Client's first conflict on a
// resource, is multiplied by fairDown at each refused write and by fairUp at
// each success after waiting (fairUp² after one without), never below
// fairMinAlpha (a Client that met heavy contention defers its next calls by
// about 40 round trips at most, not for ever), and is forgotten above
// fairForget.
const (
	fairPower    = 3
	fairFirst    = 0.05
	fairDown     = 0.85
	fairUp       = 1.1
	fairMinAlpha = 1e-6
	fairForget   = 4
	// fairExpireRTT is how long, in round trips, a Client remembers a
	// resource's contention without a call.
	fairExpireRTT = 256
	// fairYieldDiv: a call within a round trip of its Client's last call
	// waits out a quarter of the round trip before writing from the cache
	// (measured against a whole one: the same tail, a third less wall time
	// for a writer alone; BENCHMARKS.md).
	fairYieldDiv = 4
	// fairMinYield: a shorter yield is not taken (round trips under 4 ms:
	// loopback, tests), since a timer cannot keep it; measured, it cost
	// a writer alone 1.5 ms per call on loopback, and the 2 ms bench little.
	fairMinYield = time.Millisecond
)

// fairState is what a Client keeps of a resource under [Fair].
type fairState struct {
	alpha float64       // the scale of the retry rate; 0: no contention known
	rtt   time.Duration // the shortest write round trip seen; 0: none yet
	at    time.Time     // when the last call ended
}

// fairStateAt returns what c remembers of the resource key under Fair, as
// of now: nothing once it expired.
func fairStateAt(c *Client, key string, now time.Time) fairState {
	st, ok := c.fair.get(key)
	if !ok || now.Sub(st.at) > fairExpireRTT*max(st.rtt, time.Millisecond) {
		return fairState{}
	}
	return st
}

// fairBackoff is the conflict backoff of [Fair].
type fairBackoff struct {
	st     fairState
	start  time.Time        // when the call began: its age counts from here
	cb     *conflictBackoff // observes the round trips of refused writes
	won    time.Duration    // the shortest round trip of a write of this call that landed
	max    time.Duration
	waited bool
	fault  bool // the next wait follows an unanswered write, the resource still at its base: a fault, not contention
}

// observeWin notes the round trip of a write that landed: a Client that
// never loses must know the round trip it yields (see [Fair]).
func (b *fairBackoff) observeWin(d time.Duration) {
	if d > 0 && (b.won == 0 || d < b.won) {
		b.won = d
	}
}

// NextBackOff returns the wait after a refused write, or after an
// unanswered one (see fault), which teaches nothing of contention.
func (b *fairBackoff) NextBackOff() time.Duration {
	if b.fault {
		b.fault = false
		return b.wait(cmp.Or(b.st.alpha, fairFirst))
	}
	if b.st.alpha == 0 {
		b.st.alpha = fairFirst
	} else {
		b.st.alpha = max(b.st.alpha*fairDown, fairMinAlpha)
	}
	b.waited = true
	return b.wait(b.st.alpha)
}

// calm forgets the contention: a deferred call's read showed that nobody
// else wrote since the Client's own last write.
func (b *fairBackoff) calm() { b.st.alpha = 0 }

// Reset does nothing: the rate follows the call's age, not its attempts.
func (b *fairBackoff) Reset() {}

// beforeCache returns how long a call must wait before it may write from
// its cache, and whether it must read instead (see [Fair]).
func (b *fairBackoff) beforeCache() (time.Duration, bool) {
	if b.st.alpha > 0 {
		return b.wait(b.st.alpha), true
	}
	if b.st.at.IsZero() {
		return 0, false
	}
	if y := b.seen()/fairYieldDiv - time.Since(b.st.at); y >= fairMinYield {
		return y, false
	}
	return 0, false // a timer cannot keep a shorter wait: it would last a millisecond or more
}

// wait draws the time to the next retry, at most the backoff maximum. The
// draw is capped before it becomes a Duration: with a tiny alpha it can pass
// the largest one (or be +Inf), and converting that is undefined.
func (b *fairBackoff) wait(alpha float64) time.Duration {
	rtt := b.rtt()
	age := float64(time.Since(b.start)) / float64(rtt)
	d := hazardWait(age, alpha, rand.ExpFloat64()) * float64(rtt)
	if !(d < float64(b.max)) { // NaN too
		return b.max
	}
	return max(time.Duration(d), 0)
}

// rtt is the round trip the rate is scaled to: the shortest seen by this
// call or remembered, at least a millisecond.
func (b *fairBackoff) rtt() time.Duration { return max(b.seen(), time.Millisecond) }

// seen returns the shortest write round trip seen by this call or
// remembered, 0 if none.
func (b *fairBackoff) seen() time.Duration {
	r := b.st.rtt
	for _, c := range []time.Duration{b.cb.rtt, b.won} {
		if c > 0 && (r == 0 || c < r) {
			r = c
		}
	}
	return r
}

// hazardWait returns the time (in round trips) from age to the next event of
// a process whose rate at age a is alpha·a^fairPower, given e, a draw of the
// exponential distribution: it solves ∫ alpha·a^p da = e from age on.
func hazardWait(age, alpha, e float64) float64 {
	const p = float64(fairPower)
	return math.Pow(math.Pow(age, p+1)+(p+1)*e/alpha, 1/(p+1)) - age
}

// remember returns the state to keep after the call (ok: it succeeded).
func (b *fairBackoff) remember(ok bool, now time.Time) fairState {
	st := b.st
	st.rtt, st.at = b.seen(), now
	switch {
	case st.alpha == 0 || !ok:
	case b.waited:
		st.alpha *= fairUp
	case st.alpha*fairUp*fairUp > fairForget:
		st.alpha = 0 // no conflict for a while: contention is gone
	default:
		st.alpha *= fairUp * fairUp
	}
	return st
}
