// Command contention shows what ifmatch is for. W writers each increment a
// counter attribute K times on one TaskRouter Task, first naively (GET, then
// POST without If-Match: last write wins), then with ifmatch's UpdateTask, as
// separate clients (as separate processes would), as separate clients under
// ifmatch.Fair (tail latency first), and sharing one client. It
// prints a side-by-side table and exits non-zero if UpdateTask lost or
// double-applied an update.
//
// By default it runs on the embedded fake Twilio (package ifmatchtest) with a
// simulated round trip; no network and no credentials are needed:
//
//	go run ./examples/contention
//	go run ./examples/contention -writers 64 -k 4 -latency 2ms -faults 0.1
//	go run ./examples/contention -metrics   # then the metric totals of each UpdateTask run
//
// -metrics counts with a small ifmatch.Observer of its own (metrics.go), under
// the names the otelifmatch module exports: this example is in the root
// module, which does not depend on OpenTelemetry.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/ifmatchtest"
)

// result is one run: a row of the table.
type result struct {
	name        string
	expected    int
	final       int
	ok, unknown int
	failed      int
	requests    int
	conflicts   int
	lat         []time.Duration
	wall        time.Duration
}

func main() {
	writers := flag.Int("writers", 16, "concurrent writers (W)")
	k := flag.Int("k", 16, "increments per writer (K)")
	latency := flag.Duration("latency", 5*time.Millisecond, "simulated server latency per request")
	faults := flag.Float64("faults", 0, "fraction of requests hit by an injected fault (0-0.5): 502/503/429 before commit, connection dropped after commit")
	seed := flag.Uint64("seed", 1, "seed of the fault injection: it fixes which requests, in the order they reach the server, get a fault; "+
		"that order depends on goroutine scheduling and timing, so counts still vary from run to run")
	markers := flag.Bool("markers", true, "UpdateTask with commit markers: a lost answer is settled by a read, so under faults almost every outcome is known (unknown only when the marker history cannot tell, see README)")
	showMetrics := flag.Bool("metrics", false, "after the table, print the metric totals of each UpdateTask run (conflicts, attempts histogram…), as otelifmatch would export them")
	flag.Parse()
	if *writers < 1 || *k < 1 || *faults < 0 || *faults > 0.5 || *latency < 0 {
		fmt.Fprintln(os.Stderr, "contention: need -writers >= 1, -k >= 1, 0 <= -faults <= 0.5, -latency >= 0")
		os.Exit(2)
	}
	fmt.Printf("ifmatch contention demo: %d writers x %d increments of one Task's counter, %s simulated latency, faults %.0f%%\n\n",
		*writers, *k, *latency, *faults*100)

	var results []result
	var all []*metrics
	for _, mode := range modes {
		srv := newServer(*latency, *seed, *faults)
		m := newMetrics()
		results = append(results, run(srv, mode, *writers, *k, *markers, m))
		srv.Close()
		if !strings.HasPrefix(mode, "naive") {
			all = append(all, m)
		}
	}
	progress("")
	print(results)
	if *showMetrics {
		for i, m := range all {
			m.print(os.Stdout, results[i+1].name)
		}
	}
	if !checkResults(results[1:]) {
		os.Exit(1)
	}
	explain(results[0])
}

// modes are the ways the demo's writers update the counter, one run and one
// table row each: naive first.
var modes = []string{"naive (last write wins)", "UpdateTask, separate clients", "UpdateTask, separate clients, Fair", "UpdateTask, shared client"}

// newServer starts a fake Twilio with the simulated latency; for faults > 0,
// that fraction of requests fails, a quarter each with 502, 503 and 429
// before commit and a dropped connection after commit.
func newServer(latency time.Duration, seed uint64, faults float64) *ifmatchtest.Server {
	srv := ifmatchtest.NewServer(ifmatchtest.WithLatency(latency), ifmatchtest.WithSeed(seed))
	if faults > 0 {
		each := faults / 4
		for _, kind := range []ifmatchtest.FaultKind{ifmatchtest.Fail502, ifmatchtest.Fail503, ifmatchtest.RateLimit, ifmatchtest.DropAfterCommit} {
			srv.Inject(ifmatchtest.Fault{Kind: kind, Rate: each, RetryAfter: 0})
		}
	}
	return srv
}

// checkResults reports whether every UpdateTask run's final count lies
// between its ok calls and its ok + unknown calls, printing each that does
// not.
func checkResults(rs []result) bool {
	good := true
	for _, r := range rs {
		if r.final < r.ok || r.final > r.ok+r.unknown {
			fmt.Printf("\nFAIL: %s: final %d outside [%d successes, %d successes+unknown]: an update was lost or applied twice\n",
				r.name, r.final, r.ok, r.ok+r.unknown)
			good = false
		}
	}
	return good
}

// explain prints what the table shows, with the increments the naive run
// lost.
func explain(naive result) {
	fmt.Printf("\nUpdateTask lost nothing and applied nothing twice: every final count lies between its ok calls and its\n"+
		"ok + unknown calls (unknown: ErrOutcomeUnknown, the increment may or may not have landed; failed: any other\n"+
		"error, not applied). The naive writers lost %d of the %d increments the server acknowledged.\n",
		max(naive.ok-naive.final, 0), naive.ok)
	fmt.Println("Why separate clients take longer than naive: naive never waits because it never checks; its wall time is")
	fmt.Println("that of overwriting the other writers' increments. Separate clients take turns on one Task: each lost race")
	fmt.Println("costs a 412, a backoff and a re-read, and p99 shows the unlucky writers. Fair hands the Task round: a")
	fmt.Println("shorter p99 for more requests. One shared client queues its goroutines and writes their increments")
	fmt.Println("together: the fastest and cheapest way from one process.")
}

// progress shows a one-line progress report on a terminal; it writes
// nothing when stderr is a file or a pipe ("" clears the line).
func progress(s string) {
	if fi, err := os.Stderr.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return
	}
	fmt.Fprint(os.Stderr, "\r\033[K"+s)
}

// ms formats a duration in milliseconds, the one unit of the table.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
}

// run has w writers increment the counter of a new Task k times each, in
// mode, and returns the run's row of the table.
func run(srv *ifmatchtest.Server, mode string, w, k int, markers bool, m *metrics) result {
	var opts []ifmatch.UpdateOption
	if markers {
		opts = append(opts, ifmatch.CommitMarkers(""))
	}
	if strings.HasSuffix(mode, "Fair") {
		opts = append(opts, ifmatch.Fair())
	}
	ws := srv.AddWorkspace()
	sid := srv.AddTask(ws, map[string]any{"counter": 0})
	r := result{name: mode, expected: w * k}
	shared := srv.Client(ifmatch.WithObserver(m))
	var mu sync.Mutex
	var done atomic.Int64
	stop := showProgress(mode, &done, w*k)
	ctx := context.Background()
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < w; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := shared
			if !strings.HasSuffix(mode, "shared client") {
				c = srv.Client(ifmatch.WithObserver(m))
			}
			task := c.Workspace(ws)
			for j := 0; j < k; j++ {
				t0 := time.Now()
				err := incrementIn(ctx, mode, task, sid, opts)
				d := time.Since(t0)
				done.Add(1)
				mu.Lock()
				r.tally(d, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	stop()
	r.wall = time.Since(start)
	attrs, _, _ := srv.TaskAttributes(ws, sid)
	n, _ := attrs["counter"].(json.Number).Int64()
	r.final = int(n)
	r.requests = srv.Count("")
	r.conflicts = srv.CountStatus(412)
	return r
}

// showProgress reports done of total calls of mode every 200 ms until the
// function it returns is called.
func showProgress(mode string, done *atomic.Int64, total int) (stop func()) {
	ch := make(chan struct{})
	go func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ch:
				return
			case <-t.C:
				progress(fmt.Sprintf("%s: %d/%d", mode, done.Load(), total))
			}
		}
	}()
	return func() { close(ch) }
}

// incrementIn increments the Task's counter once, as mode does.
func incrementIn(ctx context.Context, mode string, task ifmatch.Workspace, sid string, opts []ifmatch.UpdateOption) error {
	if strings.HasPrefix(mode, "naive") {
		return naiveIncrement(ctx, task, sid)
	}
	_, err := task.UpdateTask(ctx, sid, increment, opts...)
	return err
}

// tally counts one call that took d and ended in err.
func (r *result) tally(d time.Duration, err error) {
	r.lat = append(r.lat, d)
	switch {
	case err == nil:
		r.ok++
	case errors.Is(err, ifmatch.ErrOutcomeUnknown):
		r.unknown++
	default:
		r.failed++
	}
}

// increment is deliberately non-idempotent: the case ifmatch must never apply
// twice.
func increment(t *ifmatch.Task) error {
	n, err := t.Attributes["counter"].(json.Number).Int64()
	if err != nil {
		return err
	}
	t.Attributes["counter"] = n + 1
	return nil
}

// naiveIncrement is what code without If-Match does: read, then write blind.
func naiveIncrement(ctx context.Context, w ifmatch.Workspace, sid string) error {
	t, err := w.FetchTask(ctx, sid)
	if err != nil {
		return err
	}
	if err := increment(t); err != nil {
		return err
	}
	_, err = w.UpdateTaskLastWriteWins(ctx, sid, ifmatch.TaskUpdate{Attributes: t.Attributes})
	return err
}

func pct(lat []time.Duration, p float64) time.Duration {
	if len(lat) == 0 {
		return 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	return s[int(p*float64(len(s)-1))]
}

func print(rs []result) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "strategy\texpected\tfinal\tlost\tok\tunknown\tfailed\trequests\treq/update\t412s\tp50\tp99\twall\t")
	for _, r := range rs {
		lost := r.ok - r.final
		if lost < 0 {
			lost = 0
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.2f\t%d\t%s\t%s\t%s\t\n", r.name, r.expected, r.final, lost,
			r.ok, r.unknown, r.failed, r.requests, float64(r.requests)/float64(r.expected), r.conflicts,
			ms(pct(r.lat, 0.5)), ms(pct(r.lat, 0.99)), ms(r.wall))
	}
	tw.Flush()
}
