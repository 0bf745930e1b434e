package main

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"sync"
)

var writers = []int{4, 16, 64}

// point is one strategy's medians over the seeds, per W.
type point struct {
	name                      string
	rpc, wall, p99, p999, cap [3]float64
}

func med(xs []float64) float64 { slices.Sort(xs); return xs[len(xs)/2] }

// capture is the share of commits by the writer of the commit before.
func capture(owners []int) float64 {
	n := 0
	for i := 1; i < len(owners); i++ {
		if owners[i] == owners[i-1] {
			n++
		}
	}
	return float64(n) / float64(max(len(owners)-1, 1))
}

func measure(s Strategy, p params, seeds int) point {
	pt := point{name: s.Name}
	serial := float64(256 * p.rtt)
	for i, W := range writers {
		var cols [5][]float64
		for seed := range seeds {
			r := Run(s, p, W, 256/W, uint64(seed))
			cols[0] = append(cols[0], float64(r.Reqs)/float64(r.Commits))
			cols[1] = append(cols[1], float64(r.Wall)/serial)
			cols[2] = append(cols[2], float64(r.Pct(0.99))/1000)
			cols[3] = append(cols[3], float64(r.Pct(0.999))/1000)
			cols[4] = append(cols[4], capture(r.Owners))
		}
		pt.rpc[i], pt.wall[i], pt.p99[i], pt.p999[i], pt.cap[i] = med(cols[0]), med(cols[1]), med(cols[2]), med(cols[3]), med(cols[4])
	}
	return pt
}

// measureAll measures ss on both cores.
func measureAll(ss []Strategy, p params, seeds int) []point {
	pts := make([]point, len(ss))
	sem := make(chan bool, 2)
	var wg sync.WaitGroup
	for i, s := range ss {
		wg.Add(1)
		sem <- true
		go func() {
			defer wg.Done()
			pts[i] = measure(s, p, seeds)
			<-sem
		}()
	}
	wg.Wait()
	return pts
}

func (pt point) String() string {
	f := func(x [3]float64, format string) string {
		return fmt.Sprintf(format+" / "+format+" / "+format, x[0], x[1], x[2])
	}
	return fmt.Sprintf("| %s | %s | %s | %s | %s |", pt.name, f(pt.rpc, "%.2f"), f(pt.wall, "%.2f"), f(pt.p99, "%.0f"), f(pt.cap, "%.2f"))
}

// within reports whether pt meets issue 14's request and wall budgets at W
// index i.
func (pt point) within(i int) bool { return pt.rpc[i] <= 3 && pt.wall[i] <= 2.5 }

func main() {
	seeds := flag.Int("seeds", 5, "runs per cell (medians are reported)")
	sweep := flag.String("sweep", "", "sweep a family of designs (yield, aging, rest, turns, hybrid, fair, relay, or all) and print its frontier")
	top := flag.Int("top", 5, "how many of the lowest worst-case p99 to print")
	flag.Parse()
	p := calibrated
	header := "| strategy | requests per commit | wall / serial | p99 (ms) | capture |\n| --- | --- | --- | --- | --- |"
	base := measureAll(baselines(), p, *seeds)
	fmt.Printf("Model: %d µs + up to %d µs per request, %d µs of CPU per request on 2 cores; W = 4 / 16 / 64, 256 updates; medians of %d seeds.\n\n%s\n", p.rtt, p.jitter, p.cpu, *seeds, header)
	for _, pt := range base {
		fmt.Println(pt)
	}
	if *sweep == "" {
		return
	}
	var ss []Strategy
	for _, name := range slices.Sorted(maps.Keys(families)) {
		if *sweep == "all" || *sweep == name {
			ss = append(ss, families[name]()...)
		}
	}
	if len(ss) == 0 {
		fmt.Fprintf(os.Stderr, "sim: no family %q\n", *sweep)
		os.Exit(2)
	}
	frontier(base, measureAll(ss, p, *seeds), header, *top)
}

// frontier prints, per W, the design with the lowest p99 within the budgets,
// and the designs with the lowest worst-case p99 relative to no backoff's.
func frontier(base, pts []point, header string, top int) {
	nb := base[0]
	fmt.Printf("\n%d designs. Lowest p99 within 3 requests per commit and 2.5× serial, per W:\n\n%s\n", len(pts), header)
	for i, W := range writers {
		var best *point
		for j := range pts {
			if pts[j].within(i) && (best == nil || pts[j].p99[i] < best.p99[i]) {
				best = &pts[j]
			}
		}
		if best == nil {
			fmt.Printf("| W=%d: none within budget | | | | |\n", W)
			continue
		}
		b := *best
		b.name = fmt.Sprintf("W=%d: %s (p99 %.0f; no backoff %.0f)", W, b.name, b.p99[i], nb.p99[i])
		fmt.Println(b)
	}
	score := func(pt point) float64 {
		return max(pt.p99[0]/nb.p99[0], pt.p99[1]/nb.p99[1], pt.p99[2]/nb.p99[2])
	}
	slices.SortStableFunc(pts, func(a, b point) int { return cmpFloat(score(a), score(b)) })
	fmt.Printf("\nLowest p99 relative to no backoff's, at the worst W (whatever the requests):\n\n%s\n", header)
	for _, pt := range pts[:min(top, len(pts))] {
		fmt.Println(pt)
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
