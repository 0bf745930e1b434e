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
