package ifmatchtest_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/ifmatchtest"
)

// The oracle soak: every call of every writer is tagged (see
// ifmatchtest.WithCall), appends its own token to a list in one Task's
// attributes, and afterwards its answer is checked against the fake's final
// state and commit log:
//
//   - nil error: its token is in the final list exactly once (and, with
//     separate clients, exactly one commit carries its tag);
//   - ErrOutcomeUnknown: its token is there at most once (at most one commit);
//   - any other error: its token is absent (no commit carries its tag).
//
// With one shared client, coalescing sends several callers' mutations in one
// write under one caller's tag, so only the final state is checked there.
//
// Run long with, for example:
//
//	go test -run 'TestOracleSoak' -soak 1m -v ./ifmatchtest/
//	go test -run 'TestOracleSoak/decimal/separate/markers' -soak 5m -v ./ifmatchtest/

type soakMode string

const (
	modeDefault    soakMode = "default"    // a non-idempotent append, no markers
	modeIdempotent soakMode = "idempotent" // append if absent, Idempotent()
	modeMarkers    soakMode = "markers"    // a non-idempotent append, CommitMarkers("")
	modeFair       soakMode = "fair"       // a non-idempotent append, Fair()
)

type oracleCell struct {
	style  ifmatchtest.ETagStyle
	shared bool
	mode   soakMode
}

func (c oracleCell) name() string {
	clients := "separate"
	if c.shared {
		clients = "shared"
	}
	return c.style.String() + "/" + clients + "/" + string(c.mode)
}

// oracleFaults is the full fault mix: before-commit errors, after-commit
// drops and errors, late commits, stalls, missing and weak ETags. About a
// quarter of requests get one.
func oracleFaults() []ifmatchtest.Fault {
	return []ifmatchtest.Fault{
		{Kind: ifmatchtest.Fail500, Rate: 0.015},
		{Kind: ifmatchtest.Fail502, Rate: 0.015},
		{Kind: ifmatchtest.Fail503, Rate: 0.01, RetryAfter: time.Second},
		{Kind: ifmatchtest.RateLimit, Rate: 0.01, RetryAfter: time.Second},
		{Kind: ifmatchtest.HTMLError, Rate: 0.01},
		{Kind: ifmatchtest.DropAfterCommit, Method: "POST", Rate: 0.03},
		{Kind: ifmatchtest.TruncateAfterCommit, Rate: 0.015},
		{Kind: ifmatchtest.CommitThen500, Method: "POST", Rate: 0.01},
		{Kind: ifmatchtest.CommitThen502, Method: "POST", Rate: 0.01},
		{Kind: ifmatchtest.CommitThen503, Method: "POST", Rate: 0.01},
		{Kind: ifmatchtest.CommitThen504, Method: "POST", Rate: 0.01},
		{Kind: ifmatchtest.LateCommit, Method: "POST", Rate: 0.03, Latency: 8 * time.Millisecond},
		{Kind: ifmatchtest.CommitThenStall, Method: "POST", Rate: 0.01},
		{Kind: ifmatchtest.Stall, Rate: 0.005},
		{Kind: ifmatchtest.NoETag, Rate: 0.015},
		{Kind: ifmatchtest.WeakETag, Rate: 0.015},
		{Kind: ifmatchtest.Slow, Rate: 0.02, Latency: 5 * time.Millisecond},
	}
}

// oracleCall is one call's claim.
type oracleCall struct {
	tag      string
	deadline time.Duration
	attempts int
	err      error
	start    time.Time
	took     time.Duration
}

// oracleViolation is a call whose answer contradicts what happened.
type oracleViolation struct {
	class   string
	call    oracleCall
	applied int
	commits []ifmatchtest.Commit
	reqs    []ifmatchtest.Request
}

func TestOracleSoak(t *testing.T) {
	t.Parallel()
	for _, style := range ifmatchtest.ETagStyles {
		for _, shared := range []bool{false, true} {
			for _, mode := range []soakMode{modeDefault, modeIdempotent, modeMarkers, modeFair} {
				c := oracleCell{style: style, shared: shared, mode: mode}
				t.Run(c.name(), func(t *testing.T) {
					t.Parallel()
					runOracleCell(t, c, *soakFor)
				})
			}
		}
	}
}

// runOracleCell runs rounds of calls on fresh Tasks for at least dur (one
// round when dur is 0) and checks every call.
func runOracleCell(t *testing.T, c oracleCell, dur time.Duration) {
	seed := uint64(len(c.name()))*7919 + uint64(c.style)*31
	srv := ifmatchtest.NewServer(ifmatchtest.WithSeed(seed), ifmatchtest.WithLatency(time.Millisecond),
		ifmatchtest.WithETagStyle(c.style))
	defer srv.Close()
	for _, f := range oracleFaults() {
		srv.Inject(f)
	}
	ws := srv.AddWorkspace()
	// Rounds of 36 calls in CI; longer rounds in a long soak, so that more
	// writes land on one Task than the commit markers' history keeps.
	writers, perWriter := 6, 6
	if dur > 0 {
		writers, perWriter = 12, 8
	}
	var violations []oracleViolation
	stats := map[string]int{}
	calls, faults, rounds := 0, 0, 0
	end := time.Now().Add(dur)
	// At least enough rounds that 10 faults were injected (a shared client
	// coalesces, so it sends few requests).
	for round := 0; round == 0 || faults < 10 && round < 50 || time.Now().Before(end); round++ {
		rounds++
		sid := srv.AddTask(ws, map[string]any{"log": []any{}})
		res := runOracleRound(t, srv, c, ws, sid, fmt.Sprintf("r%d", round), writers, perWriter, seed+uint64(round))
		srv.Settle() // pending late commits land (or not) before the state is read
		attrs, _, _ := srv.TaskAttributes(ws, sid)
		for _, r := range srv.Requests() {
			if r.Fault != "" {
				faults++
			}
		}
		violations = append(violations, checkOracle(c, res, attrs, srv.Commits(), srv.Requests())...)
		for _, r := range res {
			stats[errClass(r.err)]++
		}
		calls += len(res)
		srv.ResetLog()
	}
	t.Logf("%s: %d rounds, %d calls, %d faults injected; outcomes %v; %d violations",
		c.name(), rounds, calls, faults, stats, len(violations))
	if faults == 0 {
		t.Fatal("no fault injected: the soak proves nothing")
	}
	if len(violations) == 0 {
		return
	}
	classes := map[string]int{}
	for _, v := range violations {
		classes[v.class]++
	}
	keys := make([]string, 0, len(classes))
	for k := range classes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d violations of %d calls:\n", c.name(), len(violations), calls)
	for _, k := range keys {
		fmt.Fprintf(&b, "  %4d × %s\n", classes[k], k)
	}
	shown := map[string]int{}
	for _, v := range violations {
		if shown[v.class]++; shown[v.class] > 2 {
			continue
		}
		b.WriteString(v.String())
	}
	t.Error(b.String())
}

// runOracleRound runs writers goroutines of perWriter calls each on Task
// sid and returns every call's claim.
func runOracleRound(t *testing.T, srv *ifmatchtest.Server, c oracleCell, ws, sid, round string,
	writers, perWriter int, seed uint64) []oracleCall {
	// A per-try timeout (40 ms) shorter than a stall, and per-call deadlines
	// from 2 ms (many calls end mid-request) to 1 s.
	newClient := func() *ifmatch.Client {
		hc := &http.Client{Transport: srv.CallTransport(nil), Timeout: 40 * time.Millisecond}
		return srv.Client(ifmatch.WithHTTPClient(hc))
	}
	opts := []ifmatch.UpdateOption{ifmatch.MaxElapsed(5 * time.Second),
		ifmatch.BackoffBounds(time.Millisecond, 20*time.Millisecond)}
	switch c.mode {
	case modeIdempotent:
		opts = append(opts, ifmatch.Idempotent())
	case modeMarkers:
		opts = append(opts, ifmatch.CommitMarkers(""))
	case modeFair:
		opts = append(opts, ifmatch.Fair())
	}
	shared := newClient()
	clients := []*ifmatch.Client{shared}
	out := make([]oracleCall, writers*perWriter)
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		cl := shared
		if !c.shared {
			cl = newClient()
			clients = append(clients, cl)
		}
		rng := rand.New(rand.NewPCG(seed, uint64(w)))
		wg.Add(1)
		go func(w int, cl *ifmatch.Client, rng *rand.Rand) {
			defer wg.Done()
			for j := 0; j < perWriter; j++ {
				call := oracleCall{tag: fmt.Sprintf("%s-w%d-c%d", round, w, j), deadline: time.Second, attempts: 50}
				if rng.IntN(2) == 0 {
					call.deadline = time.Duration(2+rng.IntN(60)) * time.Millisecond
				}
				if rng.IntN(4) == 0 { // some calls run out of attempts, ending on their last write
					call.attempts = 1 + rng.IntN(2)
				}
				ctx, cancel := context.WithTimeout(ifmatchtest.WithCall(context.Background(), call.tag), call.deadline)
				call.start = time.Now()
				_, call.err = cl.Workspace(ws).UpdateTask(ctx, sid, appendToken(call.tag, c.mode),
					append(opts[:len(opts):len(opts)], ifmatch.MaxAttempts(call.attempts))...)
				call.took = time.Since(call.start)
				cancel()
				out[w*perWriter+j] = call
			}
		}(w, cl, rng)
	}
	wg.Wait()
	for _, cl := range clients {
		cl.CloseIdleConnections()
	}
	return out
}

// appendToken is a call's mutation: append its token to attributes.log;
// in idempotent mode, only if it is not there yet.
func appendToken(token string, mode soakMode) ifmatch.TaskMutator {
	return func(tk *ifmatch.Task) error {
		log, _ := tk.Attributes["log"].([]any)
		if mode == modeIdempotent && slices.Contains(log, any(token)) {
			return nil
		}
		tk.Attributes["log"] = append(slices.Clip(log), token)
		return nil
	}
}

// checkOracle compares each call's claim with the final state and the logs.
func checkOracle(c oracleCell, calls []oracleCall, attrs map[string]any,
	commits []ifmatchtest.Commit, reqs []ifmatchtest.Request) []oracleViolation {
	applied := map[string]int{}
	log, _ := attrs["log"].([]any)
	for _, tok := range log {
		s, _ := tok.(string)
		applied[s]++
	}
	byCall := map[string][]ifmatchtest.Commit{}
	for _, cm := range commits {
		byCall[cm.Call] = append(byCall[cm.Call], cm)
	}
	reqsBy := map[string][]ifmatchtest.Request{}
	for _, r := range reqs {
		reqsBy[r.Call] = append(reqsBy[r.Call], r)
	}
	var out []oracleViolation
	known := map[string]bool{}
	for _, call := range calls {
		known[call.tag] = true
		n, cs := applied[call.tag], byCall[call.tag]
		tagged := len(cs)
		if c.shared {
			tagged = -1 // coalesced writes carry one caller's tag for several mutations
		}
		class := ""
		switch {
		case call.err == nil && n != 1:
			class = fmt.Sprintf("success, applied %d times", n)
		case call.err == nil && tagged >= 0 && tagged != 1:
			class = fmt.Sprintf("success, %d commits carry its tag", tagged)
		case errors.Is(call.err, ifmatch.ErrOutcomeUnknown) && n > 1:
			class = fmt.Sprintf("ErrOutcomeUnknown, applied %d times", n)
		case errors.Is(call.err, ifmatch.ErrOutcomeUnknown) && tagged > 1:
			class = fmt.Sprintf("ErrOutcomeUnknown, %d commits carry its tag", tagged)
		case call.err != nil && !errors.Is(call.err, ifmatch.ErrOutcomeUnknown) && n != 0:
			class = fmt.Sprintf("error %s, yet applied %d times", errClass(call.err), n)
		case call.err != nil && !errors.Is(call.err, ifmatch.ErrOutcomeUnknown) && tagged > 0:
			class = fmt.Sprintf("error %s, yet %d commits carry its tag", errClass(call.err), tagged)
		}
		if class == "" && call.took > call.deadline+2*time.Second {
			class = "call outlived its deadline by more than 2s"
		}
		if class != "" {
			out = append(out, oracleViolation{class: class, call: call, applied: n, commits: cs, reqs: reqsBy[call.tag]})
		}
	}
	for tok, n := range applied {
		if !known[tok] {
			out = append(out, oracleViolation{class: "a token no call wrote", call: oracleCall{tag: tok}, applied: n})
		}
	}
	return out
}

// errClass names an error for the outcome statistics and violation classes.
func errClass(err error) string {
	var ae *ifmatch.APIError
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ifmatch.ErrOutcomeUnknown):
		return "unknown"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline"
	case errors.Is(err, context.Canceled):
		return "canceled" // the soak never cancels: a shared round's context leaked into a caller's answer
	case errors.Is(err, ifmatch.ErrConflict):
		return "conflict"
	case errors.Is(err, ifmatch.ErrNoETag):
		return "no-etag"
	case errors.As(err, &ae):
		return fmt.Sprintf("api-%d", ae.Status)
	}
	return "other"
}

// String prints a violation with everything its call did, times relative to
// the call's start.
func (v oracleViolation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "--- %s: call %s (deadline %v, MaxAttempts %d, returned after %v)\n    err: %v\n    token in final state %d times\n",
		v.class, v.call.tag, v.call.deadline, v.call.attempts, v.call.took.Round(time.Microsecond), v.call.err, v.applied)
	rel := func(at time.Time) string { return at.Sub(v.call.start).Round(10 * time.Microsecond).String() }
	for _, r := range v.reqs {
		fmt.Fprintf(&b, "    request %+8s %-6s If-Match %-20s -> %3d  fault %s\n", rel(r.At), r.Method, r.IfMatch, r.Status, r.Fault)
	}
	for _, cm := range v.commits {
		fmt.Fprintf(&b, "    commit  %+8s %-6s %s -> %s (v%d -> v%d) fault %s late %v\n", rel(cm.At), cm.Method,
			cm.BeforeETag, cm.AfterETag, cm.Before, cm.After, cm.Fault, cm.Late)
	}
	return b.String()
}
