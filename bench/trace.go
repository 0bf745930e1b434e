package main

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ifmatch-go/ifmatch/ifmatchtest"
)

// printTrace shows where one run's requests and time went: the requests by
// kind, then for each eighth of the commits, how long it took and how many
// writes were refused (412) meanwhile. Under contention the first eighth
// carries the cost of writers who all start at once, and the last the cost
// of the few writers still waiting.
func printTrace(w io.Writer, name string, latency time.Duration, reqs []ifmatchtest.Request) {
	slices.SortFunc(reqs, func(a, b ifmatchtest.Request) int { return a.At.Compare(b.At) })
	var commits, refused []time.Time
	reads := 0
	for _, r := range reqs {
		switch {
		case r.Method == http.MethodGet:
			reads++
		case r.Status == http.StatusPreconditionFailed:
			refused = append(refused, r.At)
		case r.Status < 300:
			commits = append(commits, r.At)
		}
	}
	if len(commits) == 0 {
		fmt.Fprintf(w, "%s: no commits\n", name)
		return
	}
	start := reqs[0].At
	rtts := func(d time.Duration) float64 { return float64(d) / float64(latency) }
	fmt.Fprintf(w, "%s: %d requests for %d commits (%.2f per commit): %d GET, %d POST committed, %d POST refused (412); last commit after %.0f round trips\n",
		name, len(reqs), len(commits), float64(len(reqs))/float64(len(commits)), reads, len(commits), len(refused), rtts(commits[len(commits)-1].Sub(start)))
	n := len(commits)
	from := start
	for q := 1; q <= 8; q++ {
		to := commits[q*n/8-1]
		k := 0
		for _, t := range refused {
			if t.After(from) && !t.After(to) {
				k++
			}
		}
		fmt.Fprintf(w, "  commits %3d-%3d: %5.0f round trips, %3d refused writes\n", (q-1)*n/8+1, q*n/8, rtts(to.Sub(from)), k)
		from = to
	}
}

// printLatency prints one run's latency figures, in round trips.
func printLatency(w io.Writer, r result, latency time.Duration) {
	rtts := func(d time.Duration) float64 { return float64(d) / float64(latency) }
	fmt.Fprintf(w, "  per update: p50 %.1f, p99 %.0f, max %.0f round trips; fairness %.1f; wall %.2f× serial; %d failed\n",
		rtts(r.pct(0.5)), rtts(r.pct(0.99)), rtts(r.pct(1)), r.fairness, float64(r.wall)/float64(time.Duration(len(r.lat))*latency), r.failed)
}

// printCauses measures the suspected causes of a long tail from the request
// log of a run whose calls were tagged "w<writer>.<call>":
//
//   - capture: how often the writer of a commit also made the one before
//     (1/W if the resource passed around fairly), and how many commits were
//     writes from a warm ETag cache (no read in their call);
//   - for the slowest 1% of calls (at least 3): their requests, the share of
//     their time spent asleep, the share of it slept after the last other
//     commit of each wait (the crowd gone, the resource idle: waits chosen
//     while crowded), and who won the versions they lost (warm-cache writes
//     or not).
func printCauses(w io.Writer, latency time.Duration, writers int, reqs []ifmatchtest.Request) {
	calls, commits, warm := traceCalls(latency, reqs)
	if len(calls) == 0 || len(commits) == 0 {
		return
	}
	printCapture(w, writers, commits, warm)
	printSlowest(w, latency, calls, commits, warm)
}

// traceCall is one tagged call of a run: its requests and its time.
type traceCall struct {
	name  string
	reqs  []ifmatchtest.Request
	start time.Time
	dur   time.Duration
}

// traceCalls groups a run's tagged requests by call, and returns its
// commits and the calls whose commit had no read before it (warm).
func traceCalls(latency time.Duration, reqs []ifmatchtest.Request) (calls map[string]*traceCall,
	commits []ifmatchtest.Request, warm map[string]bool) {
	calls, warm = map[string]*traceCall{}, map[string]bool{}
	for _, r := range reqs {
		if r.Call == "" {
			continue
		}
		c := calls[r.Call]
		if c == nil {
			c = &traceCall{name: r.Call}
			calls[r.Call] = c
		}
		c.reqs = append(c.reqs, r)
		if r.Method == http.MethodPost && r.Status < 300 && r.Status != 0 {
			commits = append(commits, r)
		}
	}
	for _, c := range calls {
		c.start = c.reqs[0].At.Add(-latency)
		c.dur = c.reqs[len(c.reqs)-1].At.Sub(c.start)
		if c.reqs[0].Method == http.MethodPost && c.reqs[0].Status < 300 {
			warm[c.name] = true
		}
	}
	return calls, commits, warm
}

// printCapture prints how often the writer of a commit also made the one
// before, and how many commits were warm-cache writes.
func printCapture(w io.Writer, writers int, commits []ifmatchtest.Request, warm map[string]bool) {
	writer := func(call string) string { return strings.SplitN(call, ".", 2)[0] }
	same, run, longest, nwarm := 0, 1, 1, 0
	for i, cm := range commits {
		if warm[cm.Call] {
			nwarm++
		}
		if i > 0 && writer(cm.Call) == writer(commits[i-1].Call) {
			same++
			run++
			longest = max(longest, run)
		} else {
			run = 1
		}
	}
	fmt.Fprintf(w, "  capture: %.0f%% of commits by the writer of the commit before (fair: %.0f%%), longest run %d; %.0f%% of commits were a warm-cache write at once\n",
		100*float64(same)/float64(max(len(commits)-1, 1)), 100/float64(writers), longest, 100*float64(nwarm)/float64(len(commits)))
}

// printSlowest prints where the slowest 1% of calls (at least 3) spent
// their requests and their time.
func printSlowest(w io.Writer, latency time.Duration, calls map[string]*traceCall, commits []ifmatchtest.Request, warm map[string]bool) {
	all := make([]*traceCall, 0, len(calls))
	for _, c := range calls {
		all = append(all, c)
	}
	slices.SortFunc(all, func(a, b *traceCall) int { return int(b.dur - a.dur) })
	n := max(3, (len(all)+99)/100)
	var dur, asleep, idle time.Duration
	var lost, lostToWarm, reads, refused, throttled int
	for _, c := range all[:min(n, len(all))] {
		dur += c.dur
		for i, r := range c.reqs {
			switch {
			case r.Status == http.StatusTooManyRequests:
				throttled++
			case r.Method == http.MethodGet:
				reads++
			case r.Status == http.StatusPreconditionFailed:
				refused++
				// who took the version this write was based on?
				for _, cm := range commits {
					if cm.At.Before(r.At) && cm.IfMatch == r.IfMatch {
						lost++
						if warm[cm.Call] {
							lostToWarm++
						}
						break
					}
				}
			}
			if i == 0 {
				continue
			}
			s, d := sleptBetween(c, c.reqs[i-1].At, r.At.Add(-latency), commits)
			asleep, idle = asleep+s, idle+d
		}
	}
	rtts := func(d time.Duration) float64 { return float64(d) / float64(latency) }
	fmt.Fprintf(w, "  slowest %d calls: mean %.0f round trips, %.1f reads, %.1f refused writes, %.1f throttled each; %.0f%% of their time asleep, %.0f%% asleep after the last other commit of a wait; %d of %d lost versions taken by a warm-cache write\n",
		n, rtts(dur)/float64(n), float64(reads)/float64(n), float64(refused)/float64(n), float64(throttled)/float64(n),
		100*float64(asleep)/float64(dur), 100*float64(idle)/float64(dur), lostToWarm, lost)
}

// sleptBetween returns a call's sleep between two of its requests and the
// part of it after the last commit by another call (the resource idle).
func sleptBetween(c *traceCall, from, to time.Time, commits []ifmatchtest.Request) (asleep, idle time.Duration) {
	if !to.After(from) {
		return 0, 0
	}
	last := from
	for _, cm := range commits {
		if cm.At.After(from) && cm.At.Before(to) && cm.Call != c.name {
			last = cm.At
		}
	}
	return to.Sub(from), to.Sub(last)
}
