package ifmatch_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/ifmatchtest"
)

// incr is a non-idempotent mutator: it adds one to attribute "n".
func incr(attrs map[string]any) error {
	n, _ := attrs["n"].(json.Number).Int64()
	attrs["n"] = n + 1
	return nil
}

// One event delivered three times at once, to two separate clients (as two
// processes would) and twice to one of them, with lost answers and 502s
// injected on writes: the increment is applied exactly once per event.
func TestIdempotencyKeyConcurrentDeliveriesUnderFaults(t *testing.T) {
	t.Parallel()
	srv := ifmatchtest.NewServer(ifmatchtest.WithSeed(12))
	t.Cleanup(srv.Close)
	wsSID := srv.AddWorkspace()
	taskSID := srv.AddTask(wsSID, map[string]any{"n": 0})
	srv.Inject(ifmatchtest.Fault{Kind: ifmatchtest.DropAfterCommit, Method: http.MethodPost, Rate: 0.3})
	srv.Inject(ifmatchtest.Fault{Kind: ifmatchtest.Fail502, Method: http.MethodPost, Rate: 0.1})
	srv.Inject(ifmatchtest.Fault{Kind: ifmatchtest.CommitThen502, Method: http.MethodPost, Rate: 0.1})
	srv.Inject(ifmatchtest.Fault{Kind: ifmatchtest.LateCommit, Method: http.MethodPost, Rate: 0.05, Latency: 3 * time.Millisecond})
	clients := []ifmatch.Workspace{srv.Client().Workspace(wsSID), srv.Client().Workspace(wsSID)}
	const events = 25
	for e := 0; e < events; e++ {
		key := fmt.Sprintf("EV%032d", e)
		var wg sync.WaitGroup
		results := make([]ifmatch.OperationResult, 3)
		errs := make([]error, 3)
		for d := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[d] = clients[d%2].UpdateTask(ctxT(t), taskSID, func(t *ifmatch.Task) error {
					if _, ok := t.Attributes[ifmatch.IdempotencyKeysField]; ok {
						return errors.New("the key history reached the mutator")
					}
					return incr(t.Attributes)
				}, ifmatch.IdempotencyKey(key), ifmatch.ReportResult(&results[d]))
			}()
		}
		wg.Wait()
		updated := 0
		for d := range results {
			if errs[d] != nil {
				t.Fatalf("event %d, delivery %d: %v", e, d, errs[d])
			}
			if results[d] == ifmatch.Updated {
				updated++
			} else if results[d] != ifmatch.AlreadyApplied {
				t.Errorf("event %d, delivery %d: result %q", e, d, results[d])
			}
		}
		if updated == 0 {
			t.Errorf("event %d: no delivery reports the update: %v", e, results)
		}
	}
	srv.ClearFaults()
	srv.Settle() // late commits land (or not) before the count
	dropped := 0
	for _, r := range srv.Requests() {
		if r.Fault == ifmatchtest.DropAfterCommit {
			dropped++
		}
	}
	if dropped == 0 { // at a 30 % rate over 75+ writes: about 1e-12
		t.Fatal("no answer was dropped: the faults did not apply")
	}
	attrs, _, _ := srv.TaskAttributes(wsSID, taskSID)
	if attrs["n"] != json.Number(fmt.Sprint(events)) {
		t.Fatalf("n = %v after %d events delivered 3 times each", attrs["n"], events)
	}
	// A late redelivery of each event, without faults: nothing written.
	posts := srv.Count(http.MethodPost)
	for e := 0; e < events; e++ {
		var res ifmatch.OperationResult
		task, err := clients[e%2].UpdateTask(ctxT(t), taskSID, func(t *ifmatch.Task) error { return incr(t.Attributes) },
			ifmatch.IdempotencyKey(fmt.Sprintf("EV%032d", e)), ifmatch.ReportResult(&res), ifmatch.FreshRead())
		if err != nil || res != ifmatch.AlreadyApplied {
			t.Fatalf("redelivery %d: %q %v", e, res, err)
		}
		if _, ok := task.Attributes[ifmatch.IdempotencyKeysField]; ok || task.Attributes["n"] != json.Number(fmt.Sprint(events)) {
			t.Fatalf("returned attributes %v", task.Attributes)
		}
	}
	if n := srv.Count(http.MethodPost); n != posts {
		t.Errorf("redeliveries wrote %d times", n-posts)
	}
}

func TestIdempotencyKeySemantics(t *testing.T) {
	t.Parallel()
	srv := fakeServer(t)
	wsSID := srv.AddWorkspace()
	taskSID := srv.AddTask(wsSID, map[string]any{"n": 0})
	ws := srv.Client().Workspace(wsSID)

	// A mutator that changes nothing records nothing.
	var res ifmatch.OperationResult
	if _, err := ws.UpdateTask(ctxT(t), taskSID, func(*ifmatch.Task) error { return nil },
		ifmatch.IdempotencyKey("noop"), ifmatch.ReportResult(&res)); err != nil || res != ifmatch.Unchanged {
		t.Fatalf("no-op: %q %v", res, err)
	}
	if srv.Count(http.MethodPost) != 0 {
		t.Fatal("a no-op wrote")
	}
	// A failing mutator records nothing either.
	boom := errors.New("boom")
	if _, err := ws.UpdateTask(ctxT(t), taskSID, func(*ifmatch.Task) error { return boom },
		ifmatch.IdempotencyKey("k0")); !errors.Is(err, boom) || !errors.Is(err, ifmatch.ErrMutatorAborted) {
		t.Fatalf("failing mutator: %v", err)
	}
	// The history keeps the last MaxIdempotencyKeys keys.
	for i := 0; i <= ifmatch.MaxIdempotencyKeys; i++ {
		if _, err := ws.UpdateTask(ctxT(t), taskSID, func(t *ifmatch.Task) error { return incr(t.Attributes) },
			ifmatch.IdempotencyKey(fmt.Sprint("k", i))); err != nil {
			t.Fatal(err)
		}
	}
	attrs, _, _ := srv.TaskAttributes(wsSID, taskSID)
	hist := attrs[ifmatch.IdempotencyKeysField].([]any)
	if len(hist) != ifmatch.MaxIdempotencyKeys || hist[0] != "k1" {
		t.Fatalf("history has %d keys, first %v", len(hist), hist[0])
	}
	// k1 is still remembered; k0 has been pushed out and would apply again.
	if _, err := ws.UpdateTask(ctxT(t), taskSID, func(t *ifmatch.Task) error { return incr(t.Attributes) },
		ifmatch.IdempotencyKey("k1"), ifmatch.ReportResult(&res)); err != nil || res != ifmatch.AlreadyApplied {
		t.Fatalf("k1: %q %v", res, err)
	}
	// Plain calls see the history as an attribute; typed helpers preserve it.
	type counter struct {
		N int `json:"n"`
	}
	if _, _, err := ifmatch.UpdateTaskAttributes(ctxT(t), ws, taskSID, func(c *counter) error { c.N = 100; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := ws.UpdateTask(ctxT(t), taskSID, func(t *ifmatch.Task) error { return incr(t.Attributes) },
		ifmatch.IdempotencyKey("k2"), ifmatch.ReportResult(&res)); err != nil || res != ifmatch.AlreadyApplied {
		t.Fatalf("k2 after a typed write: %q %v", res, err)
	}

	// Bad keys and resources without JSON are refused before any request.
	for _, key := range []string{"", strings.Repeat("x", ifmatch.MaxIdempotencyKeyLen+1), "\xff"} {
		if _, err := ws.UpdateTask(ctxT(t), taskSID, func(*ifmatch.Task) error { return nil },
			ifmatch.IdempotencyKey(key)); !errors.Is(err, ifmatch.ErrInvalidArgument) {
			t.Errorf("key %q: %v", key, err)
		}
	}
	wk := srv.AddWorker(wsSID, "w", nil)
	rsv := srv.AddReservation(wsSID, taskSID, wk)
	if _, err := ws.UpdateTaskReservation(ctxT(t), taskSID, rsv, func(r *ifmatch.Reservation) error {
		r.ReservationStatus = ifmatch.ReservationAccepted
		return nil
	}, ifmatch.IdempotencyKey("r")); !errors.Is(err, ifmatch.ErrInvalidArgument) {
		t.Errorf("reservation: %v", err)
	}
}

// Sync data keeps the history too.
func TestIdempotencyKeySync(t *testing.T) {
	t.Parallel()
	srv := fakeServer(t)
	svcSID := srv.AddSyncService()
	srv.AddDocument(svcSID, "counter", map[string]any{"n": 0})
	svc := srv.Client().SyncService(svcSID)
	for i := 0; i < 3; i++ {
		var res ifmatch.OperationResult
		doc, err := svc.UpdateDocument(ctxT(t), "counter", func(d *ifmatch.Document) error { return incr(d.Data) },
			ifmatch.IdempotencyKey("evt-1"), ifmatch.ReportResult(&res))
		want := ifmatch.Updated
		if i > 0 {
			want = ifmatch.AlreadyApplied
		}
		if err != nil || res != want || doc.Data["n"] != json.Number("1") || len(doc.Data) != 1 {
			t.Fatalf("delivery %d: %q %v %v", i, res, doc, err)
		}
	}
}
