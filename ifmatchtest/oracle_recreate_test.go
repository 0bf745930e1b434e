package ifmatchtest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/ifmatchtest"
)

// TestOracleRecreate is the oracle with chaos only Sync can produce: while
// the writers append, another writer deletes the Map item (or the Document
// named by a unique name) and creates it again, empty, under the same name.
// Its revisions start over, so the old one's ETags may match the new one.
//
// The final state no longer says what landed (a write that landed on an old
// incarnation and was then deleted is still applied), so each call's claim
// is checked against the commit log alone, with separate clients (a commit
// carries one call's tag and appends that call's token once), in the modes
// whose writes append unconditionally (default, markers, fair):
//
//   - any error but ErrOutcomeUnknown: no commit carries its tag;
//   - nil: at least one does;
//   - every token in the final state was written by some call.
//
// Exactly once (nil) and at most once (ErrOutcomeUnknown) do not hold under
// this chaos today: a read-back at the pending write's revision is taken as
// proof that the write did not land, but it may be a new incarnation at the
// same revision, and the resend lands again (see
// TestLostWriteThenRecreatedProbe in the root package). They are counted and
// logged, not failed. Even the weaker checks fail now and then (a refusal
// whose earlier write landed on the old incarnation), so the test runs only
// with -soak, as a probe of that known hazard.
func TestOracleRecreate(t *testing.T) {
	if *soakFor == 0 {
		t.Skip("known violations under recreation (see the doc comment): runs with -soak")
	}
	t.Parallel()
	for _, res := range []oracleResource{resMapItem, resDocName} {
		for _, mode := range []soakMode{modeDefault, modeMarkers, modeFair} {
			c := oracleCell{style: ifmatchtest.QuotedIntETags, mode: mode, res: res}
			t.Run(string(res)+"/"+string(mode), func(t *testing.T) {
				t.Parallel()
				runRecreateCell(t, c, *soakFor)
			})
		}
	}
}

// runRecreateCell runs rounds with a recreating writer for at least dur
// and checks every call.
func runRecreateCell(t *testing.T, c oracleCell, dur time.Duration) {
	srv := ifmatchtest.NewServer(ifmatchtest.WithSeed(c.seed()), ifmatchtest.WithLatency(time.Millisecond))
	defer srv.Close()
	for _, f := range oracleFaults() {
		srv.Inject(f)
	}
	home := newOracleHome(srv)
	stats := map[string]int{}
	calls, recreated := 0, 0
	end := time.Now().Add(dur)
	for round := 0; round == 0 || time.Now().Before(end); round++ {
		name := fmt.Sprintf("r%d", round)
		target := home.target(c.res, name)
		res, n := runRecreateRound(srv, c, target, name, c.seed()+uint64(round))
		srv.Settle()
		recreated += n
		for _, v := range checkRecreate(res, target.log(), srv.Commits(), stats) {
			t.Error(v)
		}
		calls += len(res)
		srv.ResetLog()
	}
	t.Logf("%s/%s: %d calls, %d recreations; %v", c.res, c.mode, calls, recreated, stats)
}

// runRecreateRound runs an oracle round while another client deletes and
// creates target again every 15 ms; it returns the calls' claims
// and how many times the target was recreated.
func runRecreateRound(srv *ifmatchtest.Server, c oracleCell, target oracleTarget, round string,
	seed uint64) ([]oracleCall, int) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	n := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		cl := srv.Client(ifmatch.WithHTTPClient(&http.Client{Transport: srv.CallTransport(nil), Timeout: 40 * time.Millisecond}))
		defer cl.CloseIdleConnections()
		tick := time.NewTicker(15 * time.Millisecond) // pacing, not synchronisation
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				ctx, cancel := context.WithTimeout(ifmatchtest.WithCall(context.Background(), "chaos"), time.Second)
				target.recreate(ctx, cl)
				cancel()
				n++
			}
		}
	}()
	res := runOracleRound(srv, c, target, round, 6, 6, seed)
	close(done)
	wg.Wait()
	return res, n
}

// checkRecreate checks what calls can claim under recreation (see
// TestOracleRecreate) and counts outcomes in stats, with "nil, applied N
// times" and "unknown, applied N times" for N > 1.
func checkRecreate(calls []oracleCall, log []any, commits []ifmatchtest.Commit, stats map[string]int) []string {
	tagged := map[string]int{}
	for _, cm := range commits {
		tagged[cm.Call]++
	}
	var out []string
	known := map[string]bool{}
	for _, call := range calls {
		known[call.tag] = true
		n, class := tagged[call.tag], errClass(call.err)
		stats[class]++
		switch {
		case call.err == nil && n == 0:
			out = append(out, fmt.Sprintf("call %s: success, yet no commit carries its tag", call.tag))
		case call.err != nil && !errors.Is(call.err, ifmatch.ErrOutcomeUnknown) && n > 0:
			out = append(out, fmt.Sprintf("call %s: error %v, yet %d commits carry its tag", call.tag, call.err, n))
		case n > 1:
			stats[fmt.Sprintf("%s, applied %d times", class, n)]++
		}
	}
	for _, tok := range log {
		if s, _ := tok.(string); !known[s] {
			out = append(out, fmt.Sprintf("token %v in the final state, written by no call", tok))
		}
	}
	return out
}
