package ifmatch

import (
	"math"
	"testing"
	"time"
)

// Numerical edges of Fair's wait: a tiny (even subnormal) alpha makes the
// draw pass the largest time.Duration or +Inf; a huge alpha or a huge age
// makes it vanish. Every wait stays within [0, max].
func TestFairAdvWaitEdges(t *testing.T) {
	for _, tc := range []struct {
		name  string
		alpha float64
		age   time.Duration
		rtt   time.Duration
	}{
		{"alpha 1e-60", 1e-60, 0, time.Millisecond},
		{"alpha subnormal", math.SmallestNonzeroFloat64, 0, time.Millisecond},
		{"alpha tiny, long round trip", 1e-40, 0, time.Hour},
		{"alpha huge", 1e300, 0, time.Millisecond},
		{"old call", fairFirst, 24 * time.Hour, time.Millisecond},
	} {
		b := &fairBackoff{st: fairState{alpha: tc.alpha, rtt: tc.rtt}, start: time.Now().Add(-tc.age),
			cb: &conflictBackoff{}, max: time.Second}
		for i := 0; i < 50; i++ {
			if w := b.wait(b.st.alpha); w < 0 || w > time.Second {
				t.Fatalf("%s: wait %v, want within [0, 1s]", tc.name, w)
			}
		}
	}
	if w := (&fairBackoff{st: fairState{alpha: 1e-60, rtt: time.Millisecond}, start: time.Now(), cb: &conflictBackoff{},
		max: time.Second}).wait(1e-60); w != time.Second {
		t.Errorf("alpha 1e-60: wait %v, want the maximum", w)
	}
}

// A Client remembers only round trips it saw (the 1 ms floor is not one, so
// a later, longer round trip is learned); with none seen, its state expires
// after fairExpireRTT floors.
func TestFairAdvRememberedRoundTrip(t *testing.T) {
	now := time.Now()
	b := &fairBackoff{cb: &conflictBackoff{}, max: time.Second}
	if st := b.remember(true, now); st.rtt != 0 {
		t.Errorf("nothing seen: remembered rtt %v, want 0", st.rtt)
	}
	b = &fairBackoff{st: fairState{rtt: 50 * time.Millisecond}, cb: &conflictBackoff{rtt: 30 * time.Millisecond}, max: time.Second}
	b.observeWin(40 * time.Millisecond)
	if st := b.remember(true, now); st.rtt != 30*time.Millisecond {
		t.Errorf("remembered rtt %v, want the shortest seen, 30ms", st.rtt)
	}
	c := &Client{fair: newBoundedMap[fairState](4)}
	c.fair.put("k", fairState{alpha: 1, at: now.Add(-200 * time.Millisecond)})
	if st := fairStateAt(c, "k", now); st.alpha != 1 {
		t.Errorf("no round trip seen, 200ms ago: %+v, want kept", st)
	}
	if st := fairStateAt(c, "k", now.Add(100*time.Millisecond)); st != (fairState{}) {
		t.Errorf("no round trip seen, 300ms ago: %+v, want forgotten", st)
	}
}

// A wait after an unanswered write that did not land teaches nothing of
// contention: alpha is left alone and the call does not count as having
// waited.
func TestFairAdvFaultWaitLeavesAlpha(t *testing.T) {
	for _, alpha := range []float64{0, 0.5} {
		b := &fairBackoff{st: fairState{alpha: alpha}, start: time.Now(), cb: &conflictBackoff{}, max: time.Second, fault: true}
		if w := b.NextBackOff(); w < 0 || w > time.Second || b.st.alpha != alpha || b.waited || b.fault {
			t.Errorf("alpha %v: wait %v, then alpha %v, waited %t, fault %t; want alpha kept, not waited", alpha, w, b.st.alpha, b.waited, b.fault)
		}
		if b.NextBackOff(); b.st.alpha == alpha || !b.waited {
			t.Errorf("alpha %v: a refused write after it left alpha %v", alpha, b.st.alpha)
		}
	}
}
