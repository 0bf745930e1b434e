package ifmatchtest_test

import (
	"context"
	"testing"

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
	for _, style := range ifmatchtest.ETagStyles {
		for _, shared := range []bool{false, true} {
			for _, res := range append(oracleResources[:len(oracleResources):len(oracleResources)], resWorker) {
				for _, mode := range []soakMode{modeKey, modeKeyMarkers} {
					c := oracleCell{style: style, shared: shared, mode: mode, res: res}
					t.Run(c.name(), func(t *testing.T) {
						t.Parallel()
						runOracleCell(t, c, *soakFor)
					})
				}
			}
		}
	}
}

// TestAdv3OracleDuplicatedPOST is the oracle soak with writes delivered
// twice (CommitThen412: a proxy retried a POST whose first copy committed)
// on top of the usual faults, in the modes that can tell: CommitMarkers,
// with or without an IdempotencyKey. Without markers nobody can tell such a
// 412 from a conflict: a plain loop applies its mutation again, and an
// Idempotent() or IdempotencyKey call, harmless as its re-run is, may end
// in ErrConflict or a plain context error although its write landed (a
// known limit: 412 is a refusal unless markers say otherwise).
func TestAdv3OracleDuplicatedPOST(t *testing.T) {
	t.Parallel()
	dup := []ifmatchtest.Fault{{Kind: ifmatchtest.CommitThen412, Method: "POST", Rate: 0.05}}
	for _, style := range ifmatchtest.ETagStyles {
		for _, shared := range []bool{false, true} {
			for _, res := range append(oracleResources[:len(oracleResources):len(oracleResources)], resWorker) {
				for _, mode := range []soakMode{modeMarkers, modeKeyMarkers} {
					c := oracleCell{style: style, shared: shared, mode: mode, res: res, extra: dup}
					t.Run(c.name(), func(t *testing.T) {
						t.Parallel()
						runOracleCell(t, c, *soakFor)
					})
				}
			}
		}
	}
}
