package ifmatch_test

// Adversarial tests of Fair (fair.go): its waits, its deferral and blind
// yield, its learned state, and the outcome guarantees under it.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/ifmatchtest"
)

// fairEvents is an Observer that records each call's events by the call's
// tag (ifmatchtest.WithCall) and runs hook, if set, on each, synchronously
// in the loop.
type fairEvents struct {
	ifmatch.NopObserver
	mu     sync.Mutex
	events map[string][]ifmatch.UpdateEvent
	hook   func(call string, e ifmatch.UpdateEvent)
}

func (o *fairEvents) UpdateEvent(ctx context.Context, _ ifmatch.UpdateCall, e ifmatch.UpdateEvent) {
	call := ifmatchtest.CallOf(ctx)
	o.mu.Lock()
	if o.events == nil {
		o.events = map[string][]ifmatch.UpdateEvent{}
	}
	o.events[call] = append(o.events[call], e)
	hook := o.hook
	o.mu.Unlock()
	if hook != nil {
		hook(call, e)
	}
}

// waits returns the Wait of each EventBackoff of call.
func (o *fairEvents) waits(call string) []time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []time.Duration
	for _, e := range o.events[call] {
		if e.Kind == ifmatch.EventBackoff {
			out = append(out, e.Wait)
		}
	}
	return out
}

func fairIncr(t *ifmatch.Task) error { return incr(t.Attributes) }

// Claim 1 (each wait within the backoff maximum) and claim 6: a call that
// keeps losing lowers alpha by fairDown per refused write; after ~700 of them
// (FairMaxAttempts is 1000) alpha is below 1e-51 and the drawn wait, in
// round trips, no longer fits a time.Duration. Every wait must still be
// within [0, max], and the call must end in a plain ErrConflict.
func TestFairAdvWaitWithinBoundWhenAlphaTiny(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("GET", taskURL, taskResp(200, `"1"`, `{"n":0}`, 0))
	m.on("POST", taskURL, errResp(412, 20143))
	const maxWait = time.Microsecond
	var waits []time.Duration
	_, err := c.Workspace(testWS).UpdateTask(ctxT(t), testTask, fairIncr, ifmatch.Fair(), ifmatch.MaxAttempts(800),
		ifmatch.BackoffBounds(0, maxWait), ifmatch.OnAttempt(func(a ifmatch.AttemptInfo) { waits = append(waits, a.Wait) }))
	var ce *ifmatch.ConflictError
	if !errors.As(err, &ce) || ce.Attempts != 800 || errors.Is(err, ifmatch.ErrOutcomeUnknown) {
		t.Fatalf("err = %v, want ErrConflict after 800 attempts", err)
	}
	for i, w := range waits {
		if w < 0 || w > maxWait {
			t.Fatalf("attempt %d: wait %v, want within [0, %v]", i+1, w, maxWait)
		}
	}
}

// Claim 3: a call within one round trip of its Client's last write waits out
// the rest of that round trip before writing from the cache. A Client that
// never lost a write must know the round trip too (it is the writer the
// yield is for): with 40 ms round trips, the next call waits well over a
// millisecond, and sends only its write (claim 5).
func TestFairAdvBlindYieldIsARoundTrip(t *testing.T) {
	t.Parallel()
	const rtt = 40 * time.Millisecond
	srv := ifmatchtest.NewServer(ifmatchtest.WithLatency(rtt))
	t.Cleanup(srv.Close)
	ws := srv.AddWorkspace()
	sid := srv.AddTask(ws, map[string]any{"n": 0})
	obs := &fairEvents{}
	w := srv.Client(ifmatch.WithObserver(obs), ifmatch.WithUpdateDefaults(ifmatch.Fair())).Workspace(ws)
	for _, call := range []string{"a1", "a2"} {
		if _, err := w.UpdateTask(ifmatchtest.WithCall(ctxT(t), call), sid, fairIncr); err != nil {
			t.Fatalf("%s: %v", call, err)
		}
	}
	if got := callRequests(srv, "a2"); !slices.Equal(got, []string{"POST OK"}) {
		t.Errorf("a2 sent %v, want one POST from the cache", got)
	}
	waits := obs.waits("a2")
	if len(waits) != 1 || waits[0] < rtt/2 || waits[0] > rtt+rtt/2 {
		t.Errorf("a2 waited %v before writing from the cache, want about one round trip (%v)", waits, rtt)
	}
}

// Claim 5 (uncontended, Fair costs no extra request) and claim 1 (alpha is
// lowered by refused writes): a write answered 503, settled by a read-back
// as not landed and sent again, is a server fault, not contention. The
// next call of the Client on the uncontended resource writes from its cache
// without a read.
func TestFairAdvServerFaultIsNotContention(t *testing.T) {
	t.Parallel()
	srv := ifmatchtest.NewServer()
	t.Cleanup(srv.Close)
	ws := srv.AddWorkspace()
	sid := srv.AddTask(ws, map[string]any{"n": 0})
	w := srv.Client(ifmatch.WithUpdateDefaults(ifmatch.Fair())).Workspace(ws)
	srv.Inject(ifmatchtest.Fault{Kind: ifmatchtest.Fail503, Method: http.MethodPost, Count: 1})
	if _, err := w.UpdateTask(ifmatchtest.WithCall(ctxT(t), "a1"), sid, fairIncr); err != nil {
		t.Fatal(err)
	}
	want1 := []string{"GET OK", "POST Service Unavailable", "GET OK", "POST OK"}
	if got := callRequests(srv, "a1"); !slices.Equal(got, want1) {
		t.Fatalf("a1 sent %v, want %v", got, want1)
	}
	for _, call := range []string{"a2", "a3"} {
		if _, err := w.UpdateTask(ifmatchtest.WithCall(ctxT(t), call), sid, fairIncr); err != nil {
			t.Fatal(err)
		}
		if got := callRequests(srv, call); !slices.Equal(got, []string{"POST OK"}) {
			t.Errorf("%s sent %v, want one POST from the cache: no contention was met", call, got)
		}
	}
	if attrs, version, _ := srv.TaskAttributes(ws, sid); version != 3 || fmt.Sprint(attrs["n"]) != "3" {
		t.Errorf("n = %v at version %d, want 3 at 3", attrs["n"], version)
	}
}
