package ifmatch

import (
	"math"
	"testing"
	"time"
)

// hazardWait solves ∫ alpha·a³ da = e from age on: at age 0 the wait is
// (4e/alpha)^¼; it shrinks as the call ages and as alpha grows.
func TestHazardWait(t *testing.T) {
	if got, want := hazardWait(0, 0.05, 1), math.Pow(4/0.05, 0.25); math.Abs(got-want) > 1e-9 {
		t.Errorf("at age 0: %v round trips, want %v", got, want)
	}
	prev := math.Inf(1)
	for _, age := range []float64{0, 1, 3, 10, 30, 100} {
		w := hazardWait(age, 0.05, 1)
		if !(w < prev) || w <= 0 {
			t.Errorf("age %v: wait %v after %v; want positive and shorter with age", age, w, prev)
		}
		if got := (math.Pow(age+w, 4) - math.Pow(age, 4)) * 0.05 / 4; math.Abs(got-1) > 1e-6 {
			t.Errorf("age %v: the hazard integrates to %v over the wait, want 1", age, got)
		}
		prev = w
	}
	if hazardWait(5, 0.5, 1) >= hazardWait(5, 0.05, 1) {
		t.Error("a larger alpha does not shorten the wait")
	}
}

func TestFairBeforeCache(t *testing.T) {
	cb := &conflictBackoff{}
	// Uncontended, a call right after the Client's last call waits until a
	// quarter of a round trip has passed since, and writes from the cache.
	b := &fairBackoff{st: fairState{rtt: 4 * time.Hour, at: time.Now().Add(-3 * time.Millisecond)}, cb: cb, max: 5 * time.Hour}
	if wait, read := b.beforeCache(); read || wait > time.Hour-3*time.Millisecond || wait < 59*time.Minute {
		t.Errorf("recent write: wait %v, read %t; want just under an hour (a quarter of the round trip) and false", wait, read)
	}
	b = &fairBackoff{st: fairState{rtt: 2 * time.Millisecond, at: time.Now()}, cb: cb, max: time.Second}
	if wait, read := b.beforeCache(); read || wait != 0 {
		t.Errorf("2 ms round trips: wait %v, read %t; want 0 (a half-millisecond yield is not taken) and false", wait, read)
	}
	b = &fairBackoff{st: fairState{rtt: time.Millisecond, at: time.Now().Add(-time.Hour)}, cb: cb, max: time.Second}
	if wait, read := b.beforeCache(); read || wait != 0 {
		t.Errorf("old write: wait %v, read %t; want 0 and false", wait, read)
	}
	if wait, read := (&fairBackoff{cb: cb, max: time.Second}).beforeCache(); read || wait != 0 {
		t.Errorf("nothing known: wait %v, read %t; want 0 and false", wait, read)
	}
	// Contended: it defers (at most max) and reads.
	b = &fairBackoff{st: fairState{alpha: fairFirst, rtt: 10 * time.Millisecond}, start: time.Now(), cb: cb, max: 40 * time.Millisecond}
	longest := time.Duration(0)
	for i := 0; i < 100; i++ {
		wait, read := b.beforeCache()
		if !read || wait < 0 || wait > 40*time.Millisecond {
			t.Fatalf("contended: wait %v, read %t; want within [0, 40ms] and true", wait, read)
		}
		longest = max(longest, wait)
	}
	if longest < 10*time.Millisecond { // the median is (4·ln2/alpha)^¼ ≈ 2.4 round trips
		t.Errorf("contended: 100 waits, none a round trip long (%v): the rate is not scaled to the round trip", longest)
	}
}

// What a Client learned is kept per resource and forgotten after
// fairExpireRTT round trips without a call.
func TestFairStateExpires(t *testing.T) {
	c := &Client{fair: newBoundedMap[fairState](4)}
	now := time.Now()
	c.fair.put("fresh", fairState{alpha: 1, rtt: time.Millisecond, at: now.Add(-100 * time.Millisecond)})
	c.fair.put("stale", fairState{alpha: 1, rtt: time.Millisecond, at: now.Add(-300 * time.Millisecond)})
	if st := fairStateAt(c, "fresh", now); st.alpha != 1 {
		t.Errorf("fresh: %+v, want alpha 1", st)
	}
	if st := fairStateAt(c, "stale", now); st != (fairState{}) {
		t.Errorf("stale: %+v, want forgotten", st)
	}
}

func TestFairRemember(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name       string
		alpha      float64
		waited, ok bool
		want       float64
	}{
		{"no contention known", 0, false, true, 0},
		{"failed call: unchanged", 0.5, true, false, 0.5},
		{"won after waiting", 0.5, true, true, 0.5 * fairUp},
		{"won at once", 0.5, false, true, 0.5 * fairUp * fairUp},
		{"won at once, contention gone", 3.9, false, true, 0},
	} {
		b := &fairBackoff{st: fairState{alpha: tc.alpha, rtt: time.Millisecond}, cb: &conflictBackoff{}, waited: tc.waited}
		st := b.remember(tc.ok, now)
		if math.Abs(st.alpha-tc.want) > 1e-12 || !st.at.Equal(now) || st.rtt != time.Millisecond {
			t.Errorf("%s: %+v, want alpha %v at now", tc.name, st, tc.want)
		}
	}
}

// However many writes a call had refused, alpha stays at or above
// fairMinAlpha and every wait within the maximum: no overflow of
// time.Duration, no negative or NaN wait.
func TestFairWaitBounded(t *testing.T) {
	b := &fairBackoff{st: fairState{rtt: 100 * time.Millisecond}, start: time.Now().Add(-time.Hour), cb: &conflictBackoff{}, max: time.Second}
	for i := 0; i < 5000; i++ {
		if w := b.NextBackOff(); w < 0 || w > time.Second {
			t.Fatalf("refusal %d: wait %v, want within [0, 1s]", i, w)
		}
	}
	if b.st.alpha != fairMinAlpha {
		t.Errorf("alpha %v after 5000 refusals, want %v", b.st.alpha, fairMinAlpha)
	}
	b = &fairBackoff{st: fairState{alpha: 1e-300, rtt: time.Hour}, start: time.Now(), cb: &conflictBackoff{}, max: MaxBackoffBound}
	if w := b.wait(b.st.alpha); w != MaxBackoffBound {
		t.Errorf("a wait beyond any Duration: %v, want the maximum %v", w, MaxBackoffBound)
	}
}
