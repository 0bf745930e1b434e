package ifmatchtest_test

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// modeFairMarkers: a non-idempotent append under Fair() with CommitMarkers.
const modeFairMarkers soakMode = "fair+markers"

// modeIdemMarkers: append if absent, Idempotent() with CommitMarkers.
const modeIdemMarkers soakMode = "idempotent+markers"

// TestAdv4OracleDuplicatedPOSTMore is TestAdv3OracleDuplicatedPOST in the
// markers modes it left out: Fair() and Idempotent() with CommitMarkers.
func TestAdv4OracleDuplicatedPOSTMore(t *testing.T) {
	t.Parallel()
	dup := dupFaults(0.1)
	forEveryCell(t, []soakMode{modeFairMarkers, modeIdemMarkers}, dup, runOracleCell)
}

// TestAdv4OracleMixedWriters is the oracle soak of writers with
// CommitMarkers (with or without an IdempotencyKey) sharing each resource with writers without them (calls
// without CommitMarkers keep the marker history as it is), under writes
// delivered twice and reads served stale on top of the usual faults. Only
// the marked calls' claims are checked: without markers a write delivered
// twice is a conflict by design (see TestAdv3OracleDuplicatedPOST).
func TestAdv4OracleMixedWriters(t *testing.T) {
	t.Parallel()
	dup := dupFaults(0.15)
	forEveryCell(t, []soakMode{modeMarkers, modeKeyMarkers}, dup, runMixedCell)
}

// runMixedCell is runOracleCell with a second group of writers in
// idempotent mode, without markers, on the same resource at once.
func runMixedCell(t *testing.T, c oracleCell, dur time.Duration) {
	seed := c.seed()
	srv := c.server(seed)
	defer srv.Close()
	home := newOracleHome(srv)
	plain := c
	plain.mode = modeIdempotent
	var violations []oracleViolation
	stats := map[string]int{}
	calls := 0
	end := time.Now().Add(dur)
	for round := 0; round < 4 || time.Now().Before(end); round++ {
		name := fmt.Sprintf("r%d", round)
		target := home.target(c.res, name)
		var marked, unmarked []oracleCall
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			marked = runOracleRound(srv, c, target, name+"m", 4, 6, seed+uint64(round))
		}()
		go func() {
			defer wg.Done()
			unmarked = runOracleRound(srv, plain, target, name+"u", 3, 6, seed+uint64(round)+1<<32)
		}()
		wg.Wait()
		srv.Settle()
		skip := map[string]bool{}
		for _, u := range unmarked {
			skip[u.tag] = true
		}
		for _, v := range checkOracle(c, append(marked, unmarked...), target.log(), srv.Commits(), srv.Requests()) {
			if !skip[v.call.tag] {
				violations = append(violations, v)
			}
		}
		for _, r := range marked {
			stats[errClass(r.err)]++
		}
		calls += len(marked)
		srv.ResetLog()
	}
	t.Logf("%s: %d marked calls; outcomes %v; %d violations", c.name(), calls, stats, len(violations))
	if len(violations) > 0 {
		t.Error(describeViolations(c, violations, calls))
	}
}
