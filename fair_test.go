package ifmatch_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/ifmatchtest"
)

func TestFairOptionsResolved(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		opts     []ifmatch.UpdateOption
		attempts int
	}{
		{"Fair alone: its budget", []ifmatch.UpdateOption{ifmatch.Fair()}, ifmatch.FairMaxAttempts},
		{"MaxAttempts after Fair", []ifmatch.UpdateOption{ifmatch.Fair(), ifmatch.MaxAttempts(5)}, 5},
		{"MaxAttempts before Fair", []ifmatch.UpdateOption{ifmatch.MaxAttempts(5), ifmatch.Fair()}, 5},
	} {
		o, err := ifmatch.ResolveOptions(tc.opts...)
		if err != nil || !o.Fair || o.MaxAttempts != tc.attempts {
			t.Errorf("%s: Fair %t, MaxAttempts %d, err %v; want true, %d, nil", tc.name, o.Fair, o.MaxAttempts, err, tc.attempts)
		}
	}
	o, err := ifmatch.ResolveOptions()
	if err != nil || o.Fair || o.MaxAttempts != ifmatch.DefaultMaxAttempts {
		t.Errorf("no options: Fair %t, MaxAttempts %d, err %v", o.Fair, o.MaxAttempts, err)
	}
}

// Fair and Backoff both choose the conflict backoff: the one given later
// wins, with the attempt budget that goes with it.
func TestFairAndBackoffLaterWins(t *testing.T) {
	t.Parallel()
	zero := ifmatch.Backoff(func() backoff.BackOff { return &backoff.ZeroBackOff{} })
	o, err := ifmatch.ResolveOptions(ifmatch.Fair(), zero)
	if err != nil || o.Fair || o.Backoff == nil || o.MaxAttempts != ifmatch.DefaultMaxAttempts {
		t.Errorf("Fair, Backoff: Fair %t, Backoff set %t, MaxAttempts %d, err %v; want the Backoff's", o.Fair, o.Backoff != nil, o.MaxAttempts, err)
	}
	o, err = ifmatch.ResolveOptions(zero, ifmatch.Fair())
	if err != nil || !o.Fair || o.Backoff != nil || o.MaxAttempts != ifmatch.FairMaxAttempts {
		t.Errorf("Backoff, Fair: Fair %t, Backoff set %t, MaxAttempts %d, err %v; want Fair's", o.Fair, o.Backoff != nil, o.MaxAttempts, err)
	}
}

// Uncontended, Fair costs no request: one read, then every call writes from
// the Client's cache, as by default.
func TestFairUncontendedCostsNoRequest(t *testing.T) {
	t.Parallel()
	r := newFairRig(t)
	for i := 0; i < 5; i++ {
		if err := r.update(t, r.a, fmt.Sprint("a", i), fairIncr); err != nil {
			t.Fatal(err)
		}
	}
	if g, p := r.srv.Count(http.MethodGet), r.srv.Count(http.MethodPost); g != 1 || p != 5 {
		t.Errorf("%d GETs and %d POSTs, want 1 and 5", g, p)
	}
	if v := r.version(t); v != 5 {
		t.Errorf("version %d, want 5", v)
	}
}

// callRequests returns the method and status of each request of call.
func callRequests(srv *ifmatchtest.Server, call string) []string {
	var out []string
	for _, r := range srv.Requests() {
		if r.Call == call {
			out = append(out, r.Method+" "+http.StatusText(r.Status))
		}
	}
	return out
}

// Once a Fair client meets contention, a stale cached copy counts as a
// conflict (its refused write is followed by a wait, where the default
// re-reads and writes at once), and its next call after its own win reads
// before writing instead of writing from its cache; when that read shows
// nobody else wrote, the contention is forgotten and the call after writes
// from the cache again.
func TestFairContendedReadsBeforeWriting(t *testing.T) {
	t.Parallel()
	for _, fair := range []bool{false, true} {
		srv := ifmatchtest.NewServer()
		t.Cleanup(srv.Close)
		ws := srv.AddWorkspace()
		sid := srv.AddTask(ws, map[string]any{"n": 0})
		var opts []ifmatch.Option
		if fair {
			opts = append(opts, ifmatch.WithUpdateDefaults(ifmatch.Fair()))
		}
		a := srv.Client(opts...).Workspace(ws)
		other := srv.Client().Workspace(ws)
		var waits []time.Duration
		update := func(w ifmatch.Workspace, call string) {
			t.Helper()
			_, err := w.UpdateTask(ifmatchtest.WithCall(ctxT(t), call), sid, func(t *ifmatch.Task) error { return incr(t.Attributes) },
				ifmatch.OnAttempt(func(a ifmatch.AttemptInfo) { waits = append(waits, a.Wait) }))
			if err != nil {
				t.Fatalf("%s: %v", call, err)
			}
		}
		update(a, "a1")
		update(other, "other") // a's cached copy is now stale
		waits = nil
		update(a, "a2")
		update(a, "a3") // under Fair its read shows a2's write: nobody else wrote, contention forgotten
		update(a, "a4")
		got2, got3, got4 := callRequests(srv, "a2"), callRequests(srv, "a3"), callRequests(srv, "a4")
		want2 := []string{"POST Precondition Failed", "GET OK", "POST OK"}
		if !slices.Equal(got2, want2) {
			t.Errorf("fair %t: a2 sent %v, want %v", fair, got2, want2)
		}
		if len(waits) == 0 || (waits[0] > 0) != fair {
			t.Errorf("fair %t: a2's refused write was followed by a wait of %v", fair, waits)
		}
		want3 := []string{"POST OK"}
		if fair {
			want3 = []string{"GET OK", "POST OK"}
		}
		if !slices.Equal(got3, want3) {
			t.Errorf("fair %t: a3 sent %v, want %v", fair, got3, want3)
		}
		if want4 := []string{"POST OK"}; !slices.Equal(got4, want4) {
			t.Errorf("fair %t: a4 sent %v, want %v (a3 saw nobody else write)", fair, got4, want4)
		}
	}
}

// A call whose context ends while Fair defers it has written nothing: a
// plain context error, not ErrOutcomeUnknown, and no write of it.
func TestFairDeadlineWhileDeferring(t *testing.T) {
	t.Parallel()
	r := newFairRig(t, ifmatchtest.WithLatency(2*time.Millisecond))
	r.contended(t) // a2 meets a conflict: a knows of contention
	ctx, cancel := context.WithTimeout(ifmatchtest.WithCall(ctxT(t), "a3"), time.Millisecond)
	defer cancel()
	_, err := r.a.UpdateTask(ctx, r.sid, fairIncr)
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ifmatch.ErrOutcomeUnknown) {
		t.Errorf("a3: %v, want a plain deadline error", err)
	}
	for _, req := range callRequests(r.srv, "a3") {
		if req != "GET OK" {
			t.Errorf("a3 sent %s; it should write nothing", req)
		}
	}
}
