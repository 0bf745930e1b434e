// Command bench runs the contention grid of BENCHMARKS.md: every retry
// strategy against the fake Twilio with a simulated round trip, W writers
// sharing a fixed number of increments of one Task's counter, repeated and
// interleaved, and prints the medians as markdown tables (and an SVG chart
// with -svg).
//
//	cd bench && go run . -reps 7 -svg ../docs/contention.svg
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ifmatch-go/ifmatch/ifmatchtest"
)

type result struct {
	failed, commits, requests int
	wall                      time.Duration
}

func main() {
	reps := flag.Int("reps", 3, "repetitions of each cell (medians are reported)")
	total := flag.Int("total", 256, "increments per run, shared among the writers")
	latency := flag.Duration("latency", 2*time.Millisecond, "simulated round trip of one request")
	ws := flag.String("w", "1,4,16,64", "writer counts")
	only := flag.String("only", "", "run only strategies whose name contains this")
	svg := flag.String("svg", "", "write the chart to this file")
	trace := flag.Bool("trace", false, "instead of the grid, show where the requests and the time of each run go (-reps runs per W in -w and strategy matching -only)")
	flag.Parse()
	var writers []int
	for _, s := range strings.Split(*ws, ",") {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || *total%n != 0 {
			fmt.Fprintf(os.Stderr, "bench: bad writer count %q (must divide -total)\n", s)
			os.Exit(2)
		}
		writers = append(writers, n)
	}
	var strats []strategy
	for _, s := range strategies() {
		if strings.Contains(s.name, *only) {
			strats = append(strats, s)
		}
	}
	if *trace {
		for _, w := range writers {
			for _, s := range strats {
				for rep := 0; rep < *reps; rep++ {
					run(s, w, *total/w, *latency, func(reqs []ifmatchtest.Request) {
						printTrace(os.Stdout, fmt.Sprintf("%s, W=%d", s.name, w), *latency, reqs)
					})
				}
			}
		}
		return
	}
	results := map[string]map[int][]result{}
	for _, s := range strats {
		results[s.name] = map[int][]result{}
	}
	for rep := 0; rep < *reps; rep++ {
		for _, w := range writers {
			for _, s := range strats { // interleaved: a noisy moment hits every strategy alike
				r := run(s, w, *total/w, *latency, nil)
				results[s.name][w] = append(results[s.name][w], r)
				fmt.Fprintf(os.Stderr, "\r\033[Krep %d/%d W=%d %s", rep+1, *reps, w, s.name)
			}
		}
	}
	fmt.Fprint(os.Stderr, "\r\033[K")
	serial := func(w int) time.Duration { return time.Duration(*total) * *latency }
	fmt.Printf("Machine: %s/%s, %d CPUs, %s. %d increments per run, %s simulated round trip, medians of %d runs.\n\n",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), *total, *latency, *reps)
	type row struct {
		name   string
		failed []float64
		rpc    []float64
		ratio  []float64
	}
	var rows []row
	for _, s := range strats {
		r := row{name: s.name}
		for _, w := range writers {
			rs := results[s.name][w]
			r.failed = append(r.failed, median(rs, func(x result) float64 { return 100 * float64(x.failed) / float64(*total) }))
			r.rpc = append(r.rpc, median(rs, func(x result) float64 { return float64(x.requests) / float64(max(x.commits, 1)) }))
			r.ratio = append(r.ratio, median(rs, func(x result) float64 { return float64(x.wall) / float64(serial(w)) }))
		}
		rows = append(rows, r)
	}
	for _, tab := range []struct {
		title string
		get   func(row) []float64
		f     string
	}{
		{"Failed or lost operations (%)", func(r row) []float64 { return r.failed }, "%.0f"},
		{"Requests per commit", func(r row) []float64 { return r.rpc }, "%.2f"},
		{"Wall time / serial bound (W·K × one round trip)", func(r row) []float64 { return r.ratio }, "%.2f"},
	} {
		fmt.Printf("### %s\n\n| strategy |", tab.title)
		for _, w := range writers {
			fmt.Printf(" W=%d |", w)
		}
		fmt.Printf("\n| --- |%s\n", strings.Repeat(" ---: |", len(writers)))
		for _, r := range rows {
			fmt.Printf("| %s |", r.name)
			for _, v := range tab.get(r) {
				fmt.Printf(" "+tab.f+" |", v)
			}
			fmt.Println()
		}
		fmt.Println()
	}
	if *svg != "" {
		var series []seriesData
		for _, r := range rows {
			series = append(series, seriesData{name: r.name, rpc: r.rpc, ratio: r.ratio})
		}
		if err := os.WriteFile(*svg, []byte(chart(writers, series)), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
	}
}

func median(rs []result, f func(result) float64) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// run has w writers each increment the counter k times with strategy s;
// inspect, if not nil, sees the server's request log.
func run(s strategy, w, k int, latency time.Duration, inspect func([]ifmatchtest.Request)) result {
	srv := ifmatchtest.NewServer(ifmatchtest.WithLatency(latency))
	defer srv.Close()
	ws := srv.AddWorkspace()
	sid := srv.AddTask(ws, map[string]any{"n": 0})
	var shared func(context.Context) error
	if s.shared {
		shared = s.newWriter(srv, ws, sid)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var mu sync.Mutex
	var res result
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < w; i++ {
		inc := shared
		if inc == nil {
			inc = s.newWriter(srv, ws, sid)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < k; j++ {
				if err := inc(ctx); err != nil {
					mu.Lock()
					res.failed++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	res.wall = time.Since(start)
	attrs, _, _ := srv.TaskAttributes(ws, sid)
	n, _ := attrs["n"].(json.Number).Int64()
	res.commits = int(n)
	res.requests = srv.Count("")
	if inspect != nil {
		inspect(srv.Requests())
	}
	// Lost updates count as failed operations: they were acknowledged but
	// are not in the final state.
	if lost := w*k - res.failed - res.commits; lost > 0 {
		res.failed += lost
	}
	return res
}
