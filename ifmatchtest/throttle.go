package ifmatchtest

import (
	"net/http"
	"strconv"
	"time"
)

// Throttled is the [Request.Fault] of a request the fake refused with 429
// because the account had too many requests in flight (see
// [WithConcurrencyLimit]). It is not a fault to inject.
const Throttled FaultKind = "throttled"

// throttle is the account's concurrency cap; nil when off.
type throttle struct {
	limit      int
	retryAfter time.Duration
	inFlight   int // requests of the account being served; under Fake.mu
}

// WithConcurrencyLimit makes the fake throttle as Twilio does under a flood:
// at most n requests of the account (the fake serves one account, whatever
// its credentials) are served at once, each for its whole simulated round
// trip ([WithLatency]). A request arriving while n are in flight takes no
// slot and is answered, after the round trip, 429 with Twilio's code 20429
// and, when retryAfter > 0, a Retry-After header of retryAfter in whole
// seconds, rounded up (the header has no finer unit). Such requests are in
// the request log with status 429 and Fault [Throttled]; they never reach the
// resource. n < 1 turns the limit off.
func WithConcurrencyLimit(n int, retryAfter time.Duration) Option {
	return func(f *Fake) {
		if n < 1 {
			f.throttle = nil
			return
		}
		f.throttle = &throttle{limit: n, retryAfter: retryAfter}
	}
}

// admit takes one of the account's slots for a request, reporting false
// when all are taken; release gives it back. Called with f.mu held.
func (f *Fake) admit() bool {
	t := f.throttle
	if t == nil {
		return true
	}
	if t.inFlight >= t.limit {
		return false
	}
	t.inFlight++
	return true
}

func (f *Fake) release() {
	f.mu.Lock()
	if f.throttle != nil && f.throttle.inFlight > 0 {
		f.throttle.inFlight--
	}
	f.mu.Unlock()
}

// writeThrottled answers a request refused for want of a slot.
func (f *Fake) writeThrottled(w http.ResponseWriter, retryAfter time.Duration) {
	if retryAfter > 0 {
		secs := (retryAfter + time.Second - 1) / time.Second
		w.Header().Set("Retry-After", strconv.FormatInt(int64(secs), 10))
	}
	writeError(w, http.StatusTooManyRequests, 20429, "Too Many Requests: the account has too many concurrent requests")
}
