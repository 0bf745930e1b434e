package ifmatchtest_test

import (
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/ifmatchtest"
)

var soakFor = flag.Duration("soak", 0, "run the fault soak for this long instead of its bounded CI size")

type soakStats struct {
	ok, unknown, conflict, other int
	byErr                        map[string]int
}

// runSoak has w writers (half with their own client, half sharing one)
// increment a counter on one Task through the fake while it injects faults on
// about 20% of requests. It returns what the calls returned and the final
// counter.
func runSoak(t *testing.T, w, k int, dur time.Duration, seed uint64, markers bool) (soakStats, int) {
	// A 2 ms round trip and a 40 ms per-try timeout: the ratio of a real
	// deployment (say 100 ms and 2 s), which bounds how many writes can land
	// while one writer waits out a stall.
	srv := ifmatchtest.NewServer(ifmatchtest.WithSeed(seed), ifmatchtest.WithLatency(2*time.Millisecond))
	defer srv.Close()
	ws := srv.AddWorkspace()
	sid := srv.AddTask(ws, map[string]any{"n": 0})
	for _, f := range []ifmatchtest.Fault{
		{Kind: ifmatchtest.Fail500, Rate: 0.03},
		{Kind: ifmatchtest.Fail502, Rate: 0.03},
		{Kind: ifmatchtest.Fail503, Rate: 0.02, RetryAfter: time.Second},
		{Kind: ifmatchtest.RateLimit, Rate: 0.02, RetryAfter: time.Second},
		{Kind: ifmatchtest.DropAfterCommit, Method: "POST", Rate: 0.04},
		{Kind: ifmatchtest.TruncateAfterCommit, Rate: 0.02},
		{Kind: ifmatchtest.Stall, Rate: 0.01},
		{Kind: ifmatchtest.Slow, Rate: 0.03, Latency: 5 * time.Millisecond},
	} {
		srv.Inject(f)
	}
	// A per-try timeout shorter than a stall: stalls end as timeouts.
	hc := &http.Client{Timeout: 40 * time.Millisecond}
	opts := []ifmatch.UpdateOption{ifmatch.MaxAttempts(1000), ifmatch.MaxElapsed(time.Minute),
		ifmatch.BackoffBounds(time.Millisecond, 20*time.Millisecond)}
	if markers {
		opts = append(opts, ifmatch.CommitMarkers(""))
	}
	shared := srv.Client(ifmatch.WithHTTPClient(hc))
	clients := []*ifmatch.Client{shared}
	st := soakStats{byErr: map[string]int{}}
	var mu sync.Mutex
	deadline := time.Now().Add(dur)
	var wg sync.WaitGroup
	for i := 0; i < w; i++ {
		c := shared
		if i%2 == 0 {
			c = srv.Client(ifmatch.WithHTTPClient(hc))
			clients = append(clients, c)
		}
		wg.Add(1)
		go func(c *ifmatch.Client) {
			defer wg.Done()
			for j := 0; j < k || time.Now().Before(deadline); j++ {
				_, err := c.Workspace(ws).UpdateTask(ctxT(t), sid, func(tk *ifmatch.Task) error {
					n, err := tk.Attributes["n"].(json.Number).Int64()
					tk.Attributes["n"] = n + 1
					return err
				}, opts...)
				mu.Lock()
				switch {
				case err == nil:
					st.ok++
				case errors.Is(err, ifmatch.ErrOutcomeUnknown):
					st.unknown++
				case errors.Is(err, ifmatch.ErrConflict):
					st.conflict++
				default:
					st.other++
					st.byErr[err.Error()]++
					var ae *ifmatch.APIError
					if !errors.As(err, &ae) && !strings.Contains(err.Error(), "ifmatch:") {
						t.Errorf("untyped error: %v", err)
					}
				}
				mu.Unlock()
			}
		}(c)
	}
	wg.Wait()
	attrs, _, _ := srv.TaskAttributes(ws, sid)
	n, _ := attrs["n"].(json.Number).Int64()
	for _, c := range clients {
		c.CloseIdleConnections()
	}
	faults := 0
	for _, r := range srv.Requests() {
		if r.Fault != "" {
			faults++
		}
	}
	t.Logf("markers=%v: %d requests, %d faults injected; calls: %d ok, %d unknown, %d conflict, %d other %v; counter %d",
		markers, srv.Count(""), faults, st.ok, st.unknown, st.conflict, st.other, st.byErr, n)
	if faults == 0 {
		t.Fatal("no fault injected: the soak proves nothing")
	}
	return st, int(n)
}

// TestFaultSoak: under ~20% injected faults, no update is lost and none is
// applied twice. With commit markers, every call's outcome is known.
func TestFaultSoak(t *testing.T) {
	t.Parallel()
	for _, markers := range []bool{false, true} {
		st, n := runSoak(t, 12, 10, *soakFor, 42, markers)
		if n < st.ok || n > st.ok+st.unknown {
			t.Fatalf("markers=%v: counter %d, %d successes, %d unknown: an update was lost or applied twice", markers, n, st.ok, st.unknown)
		}
		if markers && (st.unknown != 0 || n != st.ok) {
			t.Fatalf("with markers: %d unknown, counter %d != successes %d", st.unknown, n, st.ok)
		}
	}
	// Leaked goroutines are caught by goleak in TestMain.
}
