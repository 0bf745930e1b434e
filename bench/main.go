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
	"math"
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
	lat                       []time.Duration // of every update call, sorted
	fairness                  float64         // slowest writer's mean latency / fastest's
}

// pct returns the p-quantile of the run's update latencies (nearest rank:
// with 256 updates, p99 is the 3rd slowest and p99.9 the slowest).
func (r result) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(r.lat)))) - 1
	return r.lat[min(max(i, 0), len(r.lat)-1)]
}

// config is what the flags ask for.
type config struct {
	reps, total int
	latency     time.Duration
	writers     []int
	strats      []strategy
	svg         string
	sc          scenario
}

func main() {
	cfg, trace := parseFlags()
	if trace {
		runTraces(cfg)
		return
	}
	rows := summarize(cfg, runGrid(cfg))
	printTables(cfg, rows)
	if cfg.svg != "" {
		writeChart(cfg, rows)
	}
}

// parseFlags reads the flags (exiting on bad ones) and reports whether
// -trace was given.
func parseFlags() (config, bool) {
	reps := flag.Int("reps", 3, "repetitions of each cell (medians are reported)")
	total := flag.Int("total", 256, "increments per run, shared among the writers")
	latency := flag.Duration("latency", 2*time.Millisecond, "simulated round trip of one request")
	ws := flag.String("w", "1,4,16,64", "writer counts")
	only := flag.String("only", "", "run only strategies whose name contains this (alternatives separated by |)")
	svg := flag.String("svg", "", "write the chart to this file")
	trace := flag.Bool("trace", false, "instead of the grid, show where the requests and the time of each run go (-reps runs per W in -w and strategy matching -only)")
	limit := flag.Int("throttle", 0, "throttling scenario: the fake serves at most this many requests of the account at once and answers 429 beyond (0: off)")
	retryAfter := flag.Duration("retry-after", time.Second, "with -throttle, the Retry-After of a 429 (sent in whole seconds, rounded up)")
	flag.Parse()
	honour429 = *limit > 0
	cfg := config{reps: *reps, total: *total, latency: *latency, svg: *svg,
		sc: scenario{latency: *latency, limit: *limit, retryAfter: *retryAfter}}
	for _, s := range strings.Split(*ws, ",") {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || *total%n != 0 {
			fmt.Fprintf(os.Stderr, "bench: bad writer count %q (must divide -total)\n", s)
			os.Exit(2)
		}
		cfg.writers = append(cfg.writers, n)
	}
	for _, s := range strategies() {
		if slices.ContainsFunc(strings.Split(*only, "|"), func(o string) bool { return strings.Contains(s.name, o) }) {
			cfg.strats = append(cfg.strats, s)
		}
	}
	return cfg, *trace
}

// runTraces prints, for each run, where its requests and time went.
func runTraces(cfg config) {
	for _, w := range cfg.writers {
		for _, s := range cfg.strats {
			for rep := 0; rep < cfg.reps; rep++ {
				r := run(s, w, cfg.total/w, cfg.sc, func(reqs []ifmatchtest.Request) {
					printTrace(os.Stdout, fmt.Sprintf("%s, W=%d", s.name, w), cfg.latency, reqs)
					printCauses(os.Stdout, cfg.latency, w, reqs)
				})
				printLatency(os.Stdout, r, cfg.latency)
			}
		}
	}
}

// runGrid runs every cell cfg.reps times, strategies interleaved, and
// returns the results by strategy name and W.
func runGrid(cfg config) map[string]map[int][]result {
	results := map[string]map[int][]result{}
	for _, s := range cfg.strats {
		results[s.name] = map[int][]result{}
	}
	for rep := 0; rep < cfg.reps; rep++ {
		for _, w := range cfg.writers {
			for _, s := range cfg.strats { // interleaved: a noisy moment hits every strategy alike
				r := run(s, w, cfg.total/w, cfg.sc, nil)
				results[s.name][w] = append(results[s.name][w], r)
				fmt.Fprintf(os.Stderr, "\r\033[Krep %d/%d W=%d %s", rep+1, cfg.reps, w, s.name)
			}
		}
	}
	fmt.Fprint(os.Stderr, "\r\033[K")
	return results
}

// summarize takes the medians of each strategy's results, per W.
func summarize(cfg config, results map[string]map[int][]result) []row {
	serial := time.Duration(cfg.total) * cfg.latency
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	var rows []row
	for _, s := range cfg.strats {
		r := row{name: s.name}
		for _, w := range cfg.writers {
			rs := results[s.name][w]
			r.failed = append(r.failed, median(rs, func(x result) float64 { return 100 * float64(x.failed) / float64(cfg.total) }))
			r.rpc = append(r.rpc, median(rs, func(x result) float64 { return float64(x.requests) / float64(max(x.commits, 1)) }))
			r.ratio = append(r.ratio, median(rs, func(x result) float64 { return float64(x.wall) / float64(serial) }))
			r.p50 = append(r.p50, median(rs, func(x result) float64 { return ms(x.pct(0.50)) }))
			r.p99 = append(r.p99, median(rs, func(x result) float64 { return ms(x.pct(0.99)) }))
			r.p999 = append(r.p999, median(rs, func(x result) float64 { return ms(x.pct(0.999)) }))
			r.fair = append(r.fair, median(rs, func(x result) float64 { return x.fairness }))
		}
		rows = append(rows, r)
	}
	return rows
}

// printTables prints the machine line and one markdown table per measure.
func printTables(cfg config, rows []row) {
	throttled := ""
	if cfg.sc.limit > 0 {
		throttled = fmt.Sprintf(" Throttled: at most %d requests in flight, 429 with Retry-After %s beyond.", cfg.sc.limit, cfg.sc.retryAfter)
	}
	fmt.Printf("Machine: %s/%s, %d CPUs, %s. %d increments per run, %s simulated round trip, medians of %d runs.%s\n\n",
		runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), cfg.total, cfg.latency, cfg.reps, throttled)
	for _, tab := range []struct {
		title string
		get   func(row) []float64
		f     string
	}{
		{"Failed or lost operations (%)", func(r row) []float64 { return r.failed }, "%.0f"},
		{"Requests per commit", func(r row) []float64 { return r.rpc }, "%.2f"},
		{"Wall time / serial bound (W·K × one round trip)", func(r row) []float64 { return r.ratio }, "%.2f"},
		{"p50 per update (ms)", func(r row) []float64 { return r.p50 }, "%.1f"},
		{"p99 per update (ms)", func(r row) []float64 { return r.p99 }, "%.0f"},
		{"p99.9 per update (ms)", func(r row) []float64 { return r.p999 }, "%.0f"},
		{"Fairness (slowest writer's mean latency / fastest's)", func(r row) []float64 { return r.fair }, "%.1f"},
	} {
		fmt.Printf("### %s\n\n| strategy |", tab.title)
		for _, w := range cfg.writers {
			fmt.Printf(" W=%d |", w)
		}
		fmt.Printf("\n| --- |%s\n", strings.Repeat(" ---: |", len(cfg.writers)))
		for _, r := range rows {
			fmt.Printf("| %s |", r.name)
			for _, v := range tab.get(r) {
				fmt.Printf(" "+tab.f+" |", v)
			}
			fmt.Println()
		}
		fmt.Println()
	}
}

// writeChart writes the SVG chart of rows to cfg.svg.
func writeChart(cfg config, rows []row) {
	var series []seriesData
	for _, r := range rows {
		series = append(series, seriesData{name: r.name, rpc: r.rpc, ratio: r.ratio, p99: r.p99, fair: r.fair})
	}
	if err := os.WriteFile(cfg.svg, []byte(chart(cfg.writers, series)), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// scenario is the server every run of the grid talks to.
type scenario struct {
	latency    time.Duration
	limit      int           // concurrency limit (WithConcurrencyLimit); 0: none
	retryAfter time.Duration // its Retry-After
}

type row struct {
	name                                     string
	failed, rpc, ratio, p50, p99, p999, fair []float64
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
func run(s strategy, w, k int, sc scenario, inspect func([]ifmatchtest.Request)) result {
	srv := sc.server()
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
	means := make([]time.Duration, w)
	start := time.Now()
	for i := 0; i < w; i++ {
		inc := shared
		if inc == nil {
			inc = s.newWriter(srv, ws, sid)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			lat, mean, failed := write(ctx, inc, i, k, inspect != nil)
			means[i] = mean
			mu.Lock()
			res.failed += failed
			res.lat = append(res.lat, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.wall = time.Since(start)
	slices.Sort(res.lat)
	res.fairness = float64(slices.Max(means)) / float64(max(slices.Min(means), 1))
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

// server starts the fake Twilio of sc.
func (sc scenario) server() *ifmatchtest.Server {
	opts := []ifmatchtest.Option{ifmatchtest.WithLatency(sc.latency)}
	if sc.limit > 0 {
		opts = append(opts, ifmatchtest.WithConcurrencyLimit(sc.limit, sc.retryAfter))
	}
	return ifmatchtest.NewServer(opts...)
}

// write is writer i: k increments with inc, each tagged with its call
// ("wI.J") when tag is set, for -trace. It returns their latencies, their
// mean and how many failed.
func write(ctx context.Context, inc func(context.Context) error, i, k int, tag bool) (lat []time.Duration, mean time.Duration, failed int) {
	var sum time.Duration
	lat = make([]time.Duration, 0, k)
	for j := 0; j < k; j++ {
		cctx := ctx
		if tag {
			cctx = ifmatchtest.WithCall(ctx, fmt.Sprintf("w%d.%d", i, j))
		}
		t0 := time.Now()
		err := inc(cctx)
		d := time.Since(t0)
		sum += d
		lat = append(lat, d)
		if err != nil {
			failed++
		}
	}
	return lat, sum / time.Duration(k), failed
}
