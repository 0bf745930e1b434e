package ifmatchtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/ifmatchtest"
)

// resWorker is a TaskRouter Worker's attributes: not among oracleResources
// (the main soak's cells), run by TestAdv3OracleWorker.
const resWorker oracleResource = "worker"

// workerTarget writes the attributes of Worker sid.
func (h oracleHome) workerTarget(sid string) oracleTarget {
	return oracleTarget{
		update: func(ctx context.Context, cl *ifmatch.Client, change func(map[string]any), opts []ifmatch.UpdateOption) error {
			_, err := cl.Workspace(h.ws).UpdateWorker(ctx, sid, func(w *ifmatch.Worker) error {
				change(w.Attributes)
				return nil
			}, opts...)
			return err
		},
		log: func() []any { a, _, _ := h.srv.WorkerAttributes(h.ws, sid); return logOf(a) },
	}
}

// TestAdv3OracleWorker is the oracle soak on a Worker's attributes (the
// main soak covers Tasks and Sync only): every ETag style, separate and
// shared clients, every mode.
func TestAdv3OracleWorker(t *testing.T) {
	t.Parallel()
	for _, style := range ifmatchtest.ETagStyles {
		for _, shared := range []bool{false, true} {
			for _, mode := range oracleModes {
				c := oracleCell{style: style, shared: shared, mode: mode, res: resWorker}
				t.Run(c.name(), func(t *testing.T) {
					t.Parallel()
					runOracleCell(t, c, *soakFor)
				})
			}
		}
	}
}

// modeKey: a non-idempotent append under IdempotencyKey(the call's tag)
// (see oracleCallOnce); run by TestAdv3OracleIdempotencyKey.
const modeKey soakMode = "key"

// modeKeyMarkers: modeKey with CommitMarkers too.
const modeKeyMarkers soakMode = "key+markers"

// TestAdv3OracleIdempotencyKey is the oracle soak of calls made with an
// IdempotencyKey (each call its own key, its mutator a plain append): on
// every resource, every ETag style, separate and shared clients, with and
// without CommitMarkers.
func TestAdv3OracleIdempotencyKey(t *testing.T) {
	t.Parallel()
	forEveryCell(t, []soakMode{modeKey, modeKeyMarkers}, nil, runOracleCell)
}

// TestAdv3OracleDuplicatedPOST is the oracle soak with writes delivered
// twice (CommitThen412: a proxy retried a POST whose first copy committed)
// and reads served stale (StaleRead) on top of the usual faults, in the
// modes that can tell: CommitMarkers, with or without an IdempotencyKey.
// Without markers nobody can tell such a
// 412 from a conflict: a plain loop applies its mutation again, and an
// Idempotent() or IdempotencyKey call, harmless as its re-run is, may end
// in ErrConflict or a plain context error although its write landed (a
// known limit: 412 is a refusal unless markers say otherwise).
func TestAdv3OracleDuplicatedPOST(t *testing.T) {
	t.Parallel()
	dup := dupFaults(0.1)
	forEveryCell(t, []soakMode{modeMarkers, modeKeyMarkers}, dup, runOracleCell)
}

// TestAdv3OracleStaleReads is the oracle soak with reads served stale
// (StaleRead: a GET answered as an earlier GET of the same URL was, at an
// older version) on top of the usual faults, in every mode: a conditional
// write built on a stale read is refused, and no read-back may take a stale
// version for proof.
func TestAdv3OracleStaleReads(t *testing.T) {
	t.Parallel()
	stale := []ifmatchtest.Fault{{Kind: ifmatchtest.StaleRead, Method: "GET", Rate: 0.15}}
	forEveryCell(t, append(oracleModes[:len(oracleModes):len(oracleModes)], modeKey, modeKeyMarkers), stale, runOracleCell)
}

// StaleRead serves the answer a URL had before its current version, and
// only on GET.
func TestAdv3StaleReadFault(t *testing.T) {
	srv := ifmatchtest.NewServer()
	defer srv.Close()
	ws := srv.AddWorkspace()
	sid := srv.AddTask(ws, map[string]any{"n": 0})
	c := srv.Client(ifmatch.WithoutCoalescing(), ifmatch.WithoutETagCache())
	ctx := context.Background()
	first, err := c.Workspace(ws).FetchTask(ctx, sid)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Workspace(ws).UpdateTask(ctx, sid, func(tk *ifmatch.Task) error { tk.Attributes["n"] = 1; return nil }); err != nil {
		t.Fatal(err)
	}
	srv.Inject(ifmatchtest.Fault{Kind: ifmatchtest.StaleRead, Count: 1})
	got, err := c.Workspace(ws).FetchTask(ctx, sid) // the current version is not served yet: no older answer
	if err != nil || got.ETag == first.ETag {
		t.Fatalf("before the current version was served: %v, ETag %s", err, got.ETag)
	}
	srv.Inject(ifmatchtest.Fault{Kind: ifmatchtest.StaleRead, Count: 1})
	stale, err := c.Workspace(ws).FetchTask(ctx, sid)
	if err != nil || stale.ETag != first.ETag || stale.Attributes["n"] != first.Attributes["n"] {
		t.Fatalf("stale read: %v, ETag %s (want %s), attributes %v", err, stale.ETag, first.ETag, stale.Attributes)
	}
}

// quarter skips, without -soak, the cells whose ETag style is not the one
// picked for their mode and resource: each style still meets each mode and
// resource across the run, and the run stays short.
func quarter(t *testing.T, c oracleCell) {
	if *soakFor > 0 {
		return
	}
	pick := len(c.mode) + len(c.res) + map[bool]int{true: 1}[c.shared]
	if int(c.style) != pick%len(ifmatchtest.ETagStyles) {
		t.Skip("adv3: runs with -soak (one ETag style in four without it)")
	}
}

// forEveryCell runs run (runOracleCell or a variant) in a parallel subtest
// per cell: every ETag style, separate and shared clients, every resource
// of the main soak and a Worker, every mode in modes, with the extra faults;
// without -soak a quarter of the cells run (see quarter).
func forEveryCell(t *testing.T, modes []soakMode, extra []ifmatchtest.Fault, run func(*testing.T, oracleCell, time.Duration)) {
	for _, style := range ifmatchtest.ETagStyles {
		for _, shared := range []bool{false, true} {
			for _, res := range append(oracleResources[:len(oracleResources):len(oracleResources)], resWorker) {
				for _, mode := range modes {
					c := oracleCell{style: style, shared: shared, mode: mode, res: res, extra: extra}
					t.Run(c.name(), func(t *testing.T) {
						quarter(t, c)
						t.Parallel()
						run(t, c, *soakFor)
					})
				}
			}
		}
	}
}

// dupFaults are writes delivered twice (CommitThen412, 5% of POSTs) and
// reads served stale (StaleRead, at staleRate of GETs).
func dupFaults(staleRate float64) []ifmatchtest.Fault {
	return []ifmatchtest.Fault{{Kind: ifmatchtest.CommitThen412, Method: "POST", Rate: 0.05},
		{Kind: ifmatchtest.StaleRead, Method: "GET", Rate: staleRate}}
}
