package main

import (
	"reflect"
	"testing"
)

// The model is deterministic: a seed gives one run, however the writers'
// goroutines are scheduled (64 writers start at once and tie often).
func TestRunDeterministic(t *testing.T) {
	for _, s := range []Strategy{{"default", ifmatchDefault}, {"no backoff", noBackoff}} {
		for _, w := range []int{4, 64} {
			a := Run(s, calibrated, w, 256/w, 7)
			for i := 0; i < 5; i++ {
				if b := Run(s, calibrated, w, 256/w, 7); !reflect.DeepEqual(a, b) {
					t.Fatalf("%s, W=%d: two runs of seed 7 differ: %d vs %d requests, %d vs %d µs", s.Name, w, a.Reqs, b.Reqs, a.Wall, b.Wall)
				}
			}
		}
	}
}

// Every design makes exactly W·K commits (the model's server applies only
// writes whose If-Match is current) and answers every update.
func TestEveryDesignCommitsEveryUpdate(t *testing.T) {
	ss := baselines()
	for _, f := range families {
		all := f()
		ss = append(ss, all[0], all[len(all)-1])
	}
	for _, s := range ss {
		r := Run(s, calibrated, 4, 8, 1)
		if r.Commits != 32 || len(r.Lat) != 32 || len(r.Owners) != 32 {
			t.Errorf("%s: %d commits, %d latencies, %d owners; want 32 of each", s.Name, r.Commits, len(r.Lat), len(r.Owners))
		}
		if r.Reqs < r.Commits {
			t.Errorf("%s: %d requests for %d commits", s.Name, r.Reqs, r.Commits)
		}
	}
}

// The model reproduces what the real grid shows at W=4 (BENCHMARKS.md):
// ifmatch's default is captured by the writer with the warm cache and needs
// about one request per commit; no backoff needs several and passes the
// resource around.
func TestModelShowsCapture(t *testing.T) {
	def := Run(Strategy{"default", ifmatchDefault}, calibrated, 4, 64, 1)
	if c := capture(def.Owners); c < 0.8 {
		t.Errorf("default: capture %.2f, want >= 0.8", c)
	}
	if rpc := float64(def.Reqs) / float64(def.Commits); rpc > 1.5 {
		t.Errorf("default: %.2f requests per commit, want <= 1.5", rpc)
	}
	nb := Run(Strategy{"no backoff", noBackoff}, calibrated, 4, 64, 1)
	if c := capture(nb.Owners); c > 0.6 {
		t.Errorf("no backoff: capture %.2f, want <= 0.6", c)
	}
	if rpc := float64(nb.Reqs) / float64(nb.Commits); rpc < 4 {
		t.Errorf("no backoff: %.2f requests per commit, want >= 4", rpc)
	}
}
