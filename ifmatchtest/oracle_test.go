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
// ifmatchtest.WithCall), appends its own token to a list in one resource's
// JSON object (a Task's attributes, or the data of a Sync Document by unique
// name, a Document by SID, a Map item or a List item: see oracleResource),
// and afterwards its answer is checked against the fake's final state and
// commit log:
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
//	go test -run 'TestOracleSoak/.*/.*/.*/map-item' -soak 5m -v ./ifmatchtest/
//
// Cells are named style/clients/mode/resource. Without -soak each cell runs
// a few small rounds (until the fake has injected 10 faults), and of the
// Sync cells only a quarter run (see oracleCell.quick), so that the run
// stays short; -soak runs them all (give -parallel 64 or so, or narrow with
// -run: cells run GOMAXPROCS at a time by default, each for the whole
// -soak duration).

type soakMode string

const (
	modeDefault    soakMode = "default"    // a non-idempotent append, no markers
	modeIdempotent soakMode = "idempotent" // append if absent, Idempotent()
	modeMarkers    soakMode = "markers"    // a non-idempotent append, CommitMarkers("")
	modeFair       soakMode = "fair"       // a non-idempotent append, Fair()
)

// oracleResource names the kind of resource a cell's writers append to.
// They reach the same update loop through different plumbing: a Task's
// attributes are merged, Sync data is replaced whole (commit markers kept in
// it) and its revision is its ETag; paths made of SIDs are served from the
// Client's ETag cache, paths with a unique name or a Map key never are.
type oracleResource string

const (
	resTask     oracleResource = "task"      // a TaskRouter Task's attributes
	resDocName  oracleResource = "doc-name"  // a Sync Document addressed by unique name
	resDocSID   oracleResource = "doc-sid"   // a Sync Document addressed by SID
	resMapItem  oracleResource = "map-item"  // a Map item by key, in a Map by unique name
	resListItem oracleResource = "list-item" // a List item by index, in a List by SID
)

// oracleResources lists every resource, in the order cells are made.
var oracleResources = []oracleResource{resTask, resDocName, resDocSID, resMapItem, resListItem}

type oracleCell struct {
	style  ifmatchtest.ETagStyle
	shared bool
	mode   soakMode
	res    oracleResource
	extra  []ifmatchtest.Fault // injected before oracleFaults (see TestAdv3OracleDuplicatedPOST)
}

func (c oracleCell) name() string {
	clients := "separate"
	if c.shared {
		clients = "shared"
	}
	return c.style.String() + "/" + clients + "/" + string(c.mode) + "/" + string(c.res)
}

// seed is the cell's fault seed: the one Task cells had before the resource
// was part of the name, moved along for each other resource.
func (c oracleCell) seed() uint64 {
	base := uint64(len(c.name())-len(c.res)-1)*7919 + uint64(c.style)*31
	return base + uint64(slices.Index(oracleResources, c.res))*104729
}

var oracleModes = []soakMode{modeDefault, modeIdempotent, modeMarkers, modeFair}

// quick reports whether the cell runs without -soak: every Task cell, and
// the Sync cells of a Latin square, in which each Sync resource meets every
// ETag style and every mode once with separate clients and once with a
// shared one.
func (c oracleCell) quick() bool {
	if c.res == resTask {
		return true
	}
	shared := 0
	if c.shared {
		shared = 2
	}
	sq := (int(c.style) + slices.Index(oracleModes, c.mode) + shared) % 4
	return oracleResources[1+sq] == c.res
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
			for _, mode := range oracleModes {
				for _, res := range oracleResources {
					c := oracleCell{style: style, shared: shared, mode: mode, res: res}
					t.Run(c.name(), func(t *testing.T) {
						if *soakFor == 0 && !c.quick() {
							t.Skip("a Sync cell off the quick run's Latin square: runs with -soak")
						}
						t.Parallel()
						runOracleCell(t, c, *soakFor)
					})
				}
			}
		}
	}
}

// server is the cell's fake: its ETag style, a 1 ms round trip, the
// oracle's faults and the cell's extra ones.
func (c oracleCell) server(seed uint64) *ifmatchtest.Server {
	srv := ifmatchtest.NewServer(ifmatchtest.WithSeed(seed), ifmatchtest.WithLatency(time.Millisecond),
		ifmatchtest.WithETagStyle(c.style))
	for _, f := range append(c.extra[:len(c.extra):len(c.extra)], oracleFaults()...) {
		srv.Inject(f)
	}
	return srv
}

// runOracleCell runs rounds of calls on fresh resources for at least dur
// (a few small rounds when dur is 0) and checks every call.
func runOracleCell(t *testing.T, c oracleCell, dur time.Duration) {
	seed := c.seed()
	srv := c.server(seed)
	defer srv.Close()
	home := newOracleHome(srv)
	// Rounds of 36 calls in CI; longer rounds in a long soak, so that more
	// writes land on one resource than the commit markers' history keeps.
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
		name := fmt.Sprintf("r%d", round)
		target := home.target(c.res, name)
		res := runOracleRound(srv, c, target, name, writers, perWriter, seed+uint64(round))
		srv.Settle() // pending late commits land (or not) before the state is read
		for _, r := range srv.Requests() {
			if r.Fault != "" {
				faults++
			}
		}
		violations = append(violations, checkOracle(c, res, target.log(), srv.Commits(), srv.Requests())...)
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
	if len(violations) > 0 {
		t.Error(describeViolations(c, violations, calls))
	}
}

// describeViolations counts violations by class and shows two of each.
func describeViolations(c oracleCell, violations []oracleViolation, calls int) string {
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
	return b.String()
}

// oracleUpdate runs one call's update loop on a round's resource, with
// change applied to its JSON object (attributes or data).
type oracleUpdate func(ctx context.Context, cl *ifmatch.Client, change func(map[string]any),
	opts []ifmatch.UpdateOption) error

// oracleTarget is one round's fresh resource: update writes it, log reads
// the list in its final state from the fake.
type oracleTarget struct {
	update oracleUpdate
	log    func() []any
	// recreate, for a resource addressed by a name, deletes it and creates
	// it again under the same name with an empty log, as another writer
	// would (see TestOracleRecreate); nil for the others.
	recreate func(ctx context.Context, cl *ifmatch.Client)
}

// oracleMap is the unique name of the Map whose items map-item cells write.
const oracleMap = "oracle-map"

// oracleHome holds what a cell's rounds share: a workspace, and a Sync
// service with a Map named oracleMap and a List known by its SID.
type oracleHome struct {
	srv           *ifmatchtest.Server
	ws, svc, list string
}

// newOracleHome makes a cell's workspace, Sync service, Map and List.
func newOracleHome(srv *ifmatchtest.Server) oracleHome {
	svc := srv.AddSyncService()
	srv.AddSyncMap(svc, oracleMap)
	return oracleHome{srv: srv, ws: srv.AddWorkspace(), svc: svc, list: srv.AddSyncList(svc, "")}
}

// target makes round's resource of kind res, its log empty.
func (h oracleHome) target(res oracleResource, round string) oracleTarget {
	seed := map[string]any{"log": []any{}}
	switch res {
	case resDocName:
		h.srv.AddDocument(h.svc, "oracle-"+round, seed)
		t := h.documentTarget("oracle-" + round)
		t.recreate = func(ctx context.Context, cl *ifmatch.Client) {
			s := cl.SyncService(h.svc)
			_ = s.DeleteDocument(ctx, "oracle-"+round)
			_, _ = s.CreateDocument(ctx, "oracle-"+round, ifmatch.SyncWrite{Data: map[string]any{"log": []any{}}})
		}
		return t
	case resDocSID:
		return h.documentTarget(h.srv.AddDocument(h.svc, "", seed))
	case resMapItem:
		h.srv.AddMapItem(h.svc, oracleMap, round, seed)
		t := h.mapItemTarget(round)
		t.recreate = func(ctx context.Context, cl *ifmatch.Client) {
			s := cl.SyncService(h.svc)
			_ = s.DeleteMapItem(ctx, oracleMap, round)
			_, _ = s.CreateMapItem(ctx, oracleMap, round, ifmatch.SyncWrite{Data: map[string]any{"log": []any{}}})
		}
		return t
	case resListItem:
		return h.listItemTarget(h.srv.AddListItem(h.svc, h.list, seed))
	case resWorker:
		return h.workerTarget(h.srv.AddWorker(h.ws, "oracle-"+round, seed))
	}
	return h.taskTarget(h.srv.AddTask(h.ws, seed))
}

// taskTarget writes the attributes of Task sid.
func (h oracleHome) taskTarget(sid string) oracleTarget {
	return oracleTarget{
		update: func(ctx context.Context, cl *ifmatch.Client, change func(map[string]any), opts []ifmatch.UpdateOption) error {
			_, err := cl.Workspace(h.ws).UpdateTask(ctx, sid, func(tk *ifmatch.Task) error {
				change(tk.Attributes)
				return nil
			}, opts...)
			return err
		},
		log: func() []any { a, _, _ := h.srv.TaskAttributes(h.ws, sid); return logOf(a) },
	}
}

// documentTarget writes the Document doc (its SID or unique name).
func (h oracleHome) documentTarget(doc string) oracleTarget {
	return oracleTarget{
		update: func(ctx context.Context, cl *ifmatch.Client, change func(map[string]any), opts []ifmatch.UpdateOption) error {
			_, err := cl.SyncService(h.svc).UpdateDocument(ctx, doc, func(d *ifmatch.Document) error {
				change(d.Data)
				return nil
			}, opts...)
			return err
		},
		log: func() []any { d, _, _ := h.srv.DocumentData(h.svc, doc); return logOf(d) },
	}
}

// mapItemTarget writes item key of the Map named oracleMap.
func (h oracleHome) mapItemTarget(key string) oracleTarget {
	return oracleTarget{
		update: func(ctx context.Context, cl *ifmatch.Client, change func(map[string]any), opts []ifmatch.UpdateOption) error {
			_, err := cl.SyncService(h.svc).UpdateMapItem(ctx, oracleMap, key, func(i *ifmatch.MapItem) error {
				change(i.Data)
				return nil
			}, opts...)
			return err
		},
		log: func() []any { d, _, _ := h.srv.MapItemData(h.svc, oracleMap, key); return logOf(d) },
	}
}

// listItemTarget writes item index of the List, by the List's SID.
func (h oracleHome) listItemTarget(index int) oracleTarget {
	return oracleTarget{
		update: func(ctx context.Context, cl *ifmatch.Client, change func(map[string]any), opts []ifmatch.UpdateOption) error {
			_, err := cl.SyncService(h.svc).UpdateListItem(ctx, h.list, index, func(i *ifmatch.ListItem) error {
				change(i.Data)
				return nil
			}, opts...)
			return err
		},
		log: func() []any { d, _, _ := h.srv.ListItemData(h.svc, h.list, index); return logOf(d) },
	}
}

// logOf returns the list under "log" in a resource's JSON object.
func logOf(obj map[string]any) []any {
	log, _ := obj["log"].([]any)
	return log
}

// oracleOptions are a cell's update options, but for MaxAttempts.
func oracleOptions(mode soakMode) []ifmatch.UpdateOption {
	opts := []ifmatch.UpdateOption{ifmatch.MaxElapsed(5 * time.Second),
		ifmatch.BackoffBounds(time.Millisecond, 20*time.Millisecond)}
	switch mode {
	case modeIdempotent:
		opts = append(opts, ifmatch.Idempotent())
	case modeMarkers:
		opts = append(opts, ifmatch.CommitMarkers(""))
	case modeFair:
		opts = append(opts, ifmatch.Fair())
	case modeFairMarkers:
		opts = append(opts, ifmatch.Fair(), ifmatch.CommitMarkers(""))
	case modeIdemMarkers:
		opts = append(opts, ifmatch.Idempotent(), ifmatch.CommitMarkers(""))
	}
	return opts
}

// runOracleRound runs writers goroutines of perWriter calls each on target
// and returns every call's claim.
func runOracleRound(srv *ifmatchtest.Server, c oracleCell, target oracleTarget, round string,
	writers, perWriter int, seed uint64) []oracleCall {
	// A per-try timeout (40 ms) shorter than a stall, and per-call deadlines
	// from 2 ms (many calls end mid-request) to 1 s.
	newClient := func() *ifmatch.Client {
		hc := &http.Client{Transport: srv.CallTransport(nil), Timeout: 40 * time.Millisecond}
		return srv.Client(ifmatch.WithHTTPClient(hc))
	}
	opts := oracleOptions(c.mode)
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
				out[w*perWriter+j] = oracleCallOnce(cl, target, c.mode, fmt.Sprintf("%s-w%d-c%d", round, w, j), opts, rng)
			}
		}(w, cl, rng)
	}
	wg.Wait()
	for _, cl := range clients {
		cl.CloseIdleConnections()
	}
	return out
}

// oracleCallOnce makes one tagged call appending tag to target's log, with
// a random deadline and attempt budget, and returns its claim.
func oracleCallOnce(cl *ifmatch.Client, target oracleTarget, mode soakMode, tag string,
	opts []ifmatch.UpdateOption, rng *rand.Rand) oracleCall {
	call := oracleCall{tag: tag, deadline: time.Second, attempts: 50}
	if rng.IntN(2) == 0 {
		call.deadline = time.Duration(2+rng.IntN(60)) * time.Millisecond
	}
	if rng.IntN(4) == 0 { // some calls run out of attempts, ending on their last write
		call.attempts = 1 + rng.IntN(2)
	}
	ctx, cancel := context.WithTimeout(ifmatchtest.WithCall(context.Background(), call.tag), call.deadline)
	defer cancel()
	call.start = time.Now()
	opts = append(opts[:len(opts):len(opts)], ifmatch.MaxAttempts(call.attempts))
	switch mode {
	case modeKey:
		opts = append(opts, ifmatch.IdempotencyKey(call.tag))
	case modeKeyMarkers:
		opts = append(opts, ifmatch.IdempotencyKey(call.tag), ifmatch.CommitMarkers(""))
	}
	call.err = target.update(ctx, cl, appendToken(call.tag, mode), opts)
	call.took = time.Since(call.start)
	return call
}

// appendToken is a call's change: append its token to the object's "log";
// in idempotent mode, only if it is not there yet.
func appendToken(token string, mode soakMode) func(map[string]any) {
	return func(obj map[string]any) {
		log := logOf(obj)
		if (mode == modeIdempotent || mode == modeIdemMarkers) && slices.Contains(log, any(token)) {
			return
		}
		obj["log"] = append(slices.Clip(log), token)
	}
}

// checkOracle compares each call's claim with the final log and the logs of
// the fake.
func checkOracle(c oracleCell, calls []oracleCall, log []any,
	commits []ifmatchtest.Commit, reqs []ifmatchtest.Request) []oracleViolation {
	applied := map[string]int{}
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
