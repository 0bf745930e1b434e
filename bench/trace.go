package main

import (
	"fmt"
	"io"
	"net/http"
	"slices"
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
