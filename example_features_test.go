package ifmatch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"

	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/ifmatchtest"
)

// An event delivered twice (a retried webhook, a redelivered queue message),
// here concurrently to two separate clients as two processes would get it,
// is applied once: the event's ID goes with the change, in the same
// conditional write, and the second delivery finds it there.
func ExampleIdempotencyKey() {
	srv := ifmatchtest.NewServer()
	defer srv.Close()
	wsSID := srv.AddWorkspace()
	taskSID := srv.AddTask(wsSID, map[string]any{"escalations": 0})

	escalate := func(ws ifmatch.TaskAPI, eventID string) ifmatch.OperationResult {
		var res ifmatch.OperationResult
		_, err := ws.UpdateTask(context.Background(), taskSID, func(t *ifmatch.Task) error {
			n, _ := t.Attributes["escalations"].(json.Number).Int64()
			t.Attributes["escalations"] = n + 1 // not idempotent by itself
			t.Priority += 10
			return nil
		}, ifmatch.IdempotencyKey(eventID), ifmatch.ReportResult(&res))
		if err != nil {
			fmt.Println("error:", err)
		}
		return res
	}
	results := make([]ifmatch.OperationResult, 2)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = escalate(srv.Client().Workspace(wsSID), "EVa1b2c3")
		}()
	}
	wg.Wait()
	task, _ := srv.Client().Workspace(wsSID).FetchTask(context.Background(), taskSID)
	fmt.Println(task.Attributes["escalations"], task.Priority)
	fmt.Println(results[0] != results[1]) // one Updated, one AlreadyApplied
	fmt.Println(escalate(srv.Client().Workspace(wsSID), "EVa1b2c3"))
	// Output:
	// 1 10
	// true
	// already applied
}

// A merge patch (RFC 7386) deep-merges into the attributes: nil deletes a
// key, objects merge, anything else replaces. Two services patching
// different keys at once never erase each other's.
func ExampleMergeTaskAttributes() {
	srv := ifmatchtest.NewServer()
	defer srv.Close()
	wsSID := srv.AddWorkspace()
	taskSID := srv.AddTask(wsSID, map[string]any{
		"customer": map[string]any{"name": "Ada", "tier": "gold"},
		"draft":    true,
	})
	task, err := ifmatch.MergeTaskAttributes(context.Background(), srv.Client().Workspace(wsSID), taskSID, map[string]any{
		"customer": map[string]any{"tier": "platinum", "since": 2019},
		"draft":    nil,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	b, _ := json.Marshal(task.Attributes)
	fmt.Println(string(b))
	// Output: {"customer":{"name":"Ada","since":2019,"tier":"platinum"}}
}

// bumpPriority is code under test: it depends on ifmatch.TaskAPI and
// branches on the call's result.
func bumpPriority(ctx context.Context, tasks ifmatch.TaskAPI, sid, eventID string) (string, error) {
	var res ifmatch.OperationResult
	_, err := tasks.UpdateTask(ctx, sid, func(t *ifmatch.Task) error {
		t.Priority += 10
		return nil
	}, ifmatch.IdempotencyKey(eventID), ifmatch.ReportResult(&res))
	if err != nil {
		return "", err
	}
	if res == ifmatch.AlreadyApplied {
		return "duplicate event ignored", nil
	}
	return "escalated", nil
}

// The in-memory implementations of ifmatchtest stand in for a Workspace (or
// a SyncService) in unit tests, with no HTTP, and keep the Client's contract:
// every option, including ReportResult and IdempotencyKey, works as with a
// real Client.
func Example_inMemory() {
	ws := ifmatchtest.NewMemoryWorkspace()
	sid := ws.AddTask(nil, ifmatchtest.TaskPriority(5))
	ctx := context.Background()

	for range 2 {
		outcome, err := bumpPriority(ctx, ws, sid, "EV1")
		fmt.Println(outcome, err)
	}
	task, _ := ws.Task(sid)
	fmt.Println(task.Priority, task.ETag, ws.Writes())

	_, err := bumpPriority(ctx, ws, "WT00000000000000000000000000000000", "EV2")
	fmt.Println(ifmatch.HTTPStatus(err))
	// Output:
	// escalated <nil>
	// duplicate event ignored <nil>
	// 15 "1" 1
	// 404
}

// HTTPStatus turns any error of ifmatch into the status a service answers
// with; check your own mutator errors first when they deserve another one.
func ExampleHTTPStatus() {
	ws := ifmatchtest.NewMemoryWorkspace()
	sid := ws.AddTask(nil)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /tasks/{sid}/vip", func(w http.ResponseWriter, r *http.Request) {
		_, err := ws.UpdateTask(r.Context(), r.PathValue("sid"), func(t *ifmatch.Task) error {
			t.Priority = 100
			return nil
		})
		w.WriteHeader(ifmatch.HTTPStatus(err))
	})
	for _, target := range []string{sid, "WT00000000000000000000000000000000", "not-a-sid"} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/tasks/"+target+"/vip", nil))
		fmt.Println(rec.Code)
	}
	// Output:
	// 200
	// 404
	// 400
}

// Separate processes that keep updating one Task (here four clients, each
// as its own process would be) share it fairly under Fair: every update
// lands once, and no writer's updates wait for another's whole run. Fair
// spends requests for that (see [Fair]); within one process, share one
// Client instead.
func ExampleFair() {
	srv := ifmatchtest.NewServer()
	defer srv.Close()
	wsSID := srv.AddWorkspace()
	taskSID := srv.AddTask(wsSID, map[string]any{"n": 0})

	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		ws := srv.Client(ifmatch.WithUpdateDefaults(ifmatch.Fair())).Workspace(wsSID)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				_, err := ws.UpdateTask(context.Background(), taskSID, func(t *ifmatch.Task) error {
					n, _ := t.Attributes["n"].(json.Number).Int64()
					t.Attributes["n"] = n + 1
					return nil
				})
				if err != nil {
					fmt.Println("error:", err)
				}
			}
		}()
	}
	wg.Wait()
	attrs, _, _ := srv.TaskAttributes(wsSID, taskSID)
	fmt.Println("n =", attrs["n"])
	// Output: n = 40
}
