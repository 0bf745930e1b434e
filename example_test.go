package ifmatch_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"

	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/ifmatchtest"
)

// The update loop: read, change, write with If-Match, and on a conflict read
// again and re-apply, until the write lands.
func ExampleWorkspace_UpdateTask() {
	srv := ifmatchtest.NewServer() // a fake Twilio; use ifmatch.NewClient(...) for the real one
	defer srv.Close()
	wsSID := srv.AddWorkspace()
	taskSID := srv.AddTask(wsSID, map[string]any{"foo": "bar"})

	client := srv.Client()
	task, err := client.Workspace(wsSID).UpdateTask(context.Background(), taskSID, func(t *ifmatch.Task) error {
		t.Attributes["foo"] = "bar-SFO"
		return nil
	})
	if err != nil {
		fmt.Println("update failed:", err)
		return
	}
	fmt.Println(task.Attributes["foo"], task.ETag)
	// Output: bar-SFO "1"
}

// One conditional write, no loop: it lands only if the Task is still at the
// version read.
func ExampleWorkspace_UpdateTaskIf() {
	srv := ifmatchtest.NewServer()
	defer srv.Close()
	wsSID := srv.AddWorkspace()
	taskSID := srv.AddTask(wsSID, nil)
	ws := srv.Client().Workspace(wsSID)
	ctx := context.Background()

	task, _ := ws.FetchTask(ctx, taskSID)
	prio := 10
	updated, err := ws.UpdateTaskIf(ctx, taskSID, task.ETag, ifmatch.TaskUpdate{Priority: &prio})
	fmt.Println(updated.Priority, updated.ETag, err)

	// The ETag we hold is now stale.
	_, err = ws.UpdateTaskIf(ctx, taskSID, task.ETag, ifmatch.TaskUpdate{Priority: &prio})
	fmt.Println(errors.Is(err, ifmatch.ErrPreconditionFailed))
	// Output:
	// 10 "1" <nil>
	// true
}

// Errors are typed: test them with errors.Is and errors.As.
func ExampleAPIError() {
	srv := ifmatchtest.NewServer()
	defer srv.Close()
	ws := srv.Client().Workspace(srv.AddWorkspace())

	_, err := ws.FetchTask(context.Background(), "WT00000000000000000000000000000000")
	var apiErr *ifmatch.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.Status, apiErr.Code, errors.Is(err, ifmatch.ErrNotFound))
	}
	// Output: 404 20404 true
}

// When the loop gives up under contention, the error is ErrConflict and still
// carries the last 412.
func ExampleConflictError() {
	srv := ifmatchtest.NewServer()
	defer srv.Close()
	wsSID := srv.AddWorkspace()
	taskSID := srv.AddTask(wsSID, nil)
	ws := srv.Client().Workspace(wsSID)

	_, err := ws.UpdateTask(context.Background(), taskSID, func(t *ifmatch.Task) error {
		srv.SetTaskAttributes(wsSID, taskSID, map[string]any{"other": "writer"}) // someone always wins the race
		t.Priority = 1
		return nil
	}, ifmatch.MaxAttempts(3))
	var ce *ifmatch.ConflictError
	var apiErr *ifmatch.APIError
	fmt.Println(errors.Is(err, ifmatch.ErrConflict), errors.As(err, &ce) && ce.Attempts == 3,
		errors.As(err, &apiErr) && apiErr.Status == 412)
	// Output: true true true
}

// Testing code that uses ifmatch with the fake behind httpmock: no listener,
// and the client's own retry layer still runs.
func Example_testing() {
	fake := ifmatchtest.NewFake()
	wsSID := fake.AddWorkspace()
	taskSID := fake.AddTask(wsSID, map[string]any{"n": 1})
	// A transient 503 on the first read: the transport retries it.
	fake.Inject(ifmatchtest.Fault{Kind: ifmatchtest.Fail503, Method: "GET", Count: 1})

	client, transport := fake.MockClient(nil) // in a test: fake.MockClient(t)
	_, err := client.Workspace(wsSID).UpdateTask(context.Background(), taskSID, func(t *ifmatch.Task) error {
		t.Attributes["n"] = 2
		return nil
	})
	attrs, version, _ := fake.TaskAttributes(wsSID, taskSID)
	fmt.Println(err, attrs["n"], version, transport.GetTotalCallCount())
	// Output: <nil> 2 1 3
}

// routeToVIP is code under test: it depends on ifmatch.TaskAPI, not on the
// concrete Workspace, so a unit test can hand it a stub.
func routeToVIP(ctx context.Context, tasks ifmatch.TaskAPI, sid string) error {
	_, err := tasks.UpdateTask(ctx, sid, func(t *ifmatch.Task) error {
		t.Priority = 100
		t.Attributes["vip"] = true
		return nil
	})
	return err
}

// stubTasks answers UpdateTask (and an empty ListTasks) from memory; the
// other methods are unused. A stub keeps the promises code under test may
// rely on: options checked and ReportResult filled (ResolveOptions), the
// mutator given a copy whose Attributes are never nil, and its error wrapped
// in ErrMutatorAborted, as the Client does. For the whole contract (retries,
// IdempotencyKey...), use ifmatchtest.NewMemoryWorkspace or ifmatch.RunUpdate.
type stubTasks struct {
	ifmatch.TaskAPI // nil: calling an unimplemented method panics, which a test wants
	task            ifmatch.Task
}

func (s *stubTasks) UpdateTask(_ context.Context, _ string, fn ifmatch.TaskMutator, opts ...ifmatch.UpdateOption) (*ifmatch.Task, error) {
	o, err := ifmatch.ResolveOptions(opts...)
	if err != nil {
		return nil, err
	}
	t := s.task.Clone()
	if t.Attributes == nil {
		t.Attributes = map[string]any{} // never nil in a mutator: t.Attributes["k"] = v must not panic
	}
	if err := fn(t); err != nil {
		return nil, fmt.Errorf("%w: %w", ifmatch.ErrMutatorAborted, err)
	}
	s.task = *t
	o.Report(ifmatch.Updated)
	return t.Clone(), nil
}

func (s *stubTasks) ListTasks(context.Context, *ifmatch.TaskListParams) iter.Seq2[*ifmatch.Task, error] {
	return func(func(*ifmatch.Task, error) bool) {}
}

// The lightest way to test code that uses ifmatch: a stub of ifmatch.TaskAPI.
func Example_stub() {
	stub := &stubTasks{}
	err := routeToVIP(context.Background(), stub, "WT00000000000000000000000000000000")
	fmt.Println(err, stub.task.Priority, stub.task.Attributes["vip"])
	// Output: <nil> 100 true
}

// Workers take the same loop: here two systems each own part of a Worker's
// attributes, and neither erases the other's.
func ExampleWorkspace_UpdateWorker() {
	srv := ifmatchtest.NewServer()
	defer srv.Close()
	wsSID := srv.AddWorkspace()
	workerSID := srv.AddWorker(wsSID, "alice", map[string]any{"skills": []any{"en"}})
	ws := srv.Client().Workspace(wsSID)

	w, err := ws.UpdateWorker(context.Background(), workerSID, func(w *ifmatch.Worker) error {
		w.Attributes["capacity"] = 3
		return nil
	})
	fmt.Println(w.Attributes["skills"], w.Attributes["capacity"], w.ETag, err)
	// Output: [en] 3 "1" <nil>
}

// Accept a reservation only if it is still pending.
func ExampleWorkspace_UpdateTaskReservation() {
	srv := ifmatchtest.NewServer()
	defer srv.Close()
	wsSID := srv.AddWorkspace()
	taskSID := srv.AddTask(wsSID, nil)
	resSID := srv.AddReservation(wsSID, taskSID, srv.AddWorker(wsSID, "bob", nil))
	ws := srv.Client().Workspace(wsSID)

	r, err := ws.UpdateTaskReservation(context.Background(), taskSID, resSID, func(r *ifmatch.Reservation) error {
		if r.ReservationStatus != ifmatch.ReservationPending {
			return errors.New("too late")
		}
		r.ReservationStatus = ifmatch.ReservationAccepted
		return nil
	})
	fmt.Println(r.ReservationStatus, err)
	// Output: accepted <nil>
}

// Sync Documents, List Items and Map Items are shared state by design.
func ExampleSyncService_UpdateDocument() {
	srv := ifmatchtest.NewServer()
	defer srv.Close()
	svcSID := srv.AddSyncService()
	srv.AddDocument(svcSID, "queue-stats", map[string]any{"waiting": 4})
	svc := srv.Client().SyncService(svcSID)

	doc, err := svc.UpdateDocument(context.Background(), "queue-stats", func(d *ifmatch.Document) error {
		d.Data["waiting"] = 5
		return nil
	})
	fmt.Println(doc.Data["waiting"], doc.Revision, err)
	// Output: 5 1 <nil>
}

type skills struct {
	Languages []string `json:"languages"`
}

// Keep a struct in the attributes: fields the struct does not know survive.
func ExampleUpdateTaskAttributes() {
	srv := ifmatchtest.NewServer()
	defer srv.Close()
	wsSID := srv.AddWorkspace()
	taskSID := srv.AddTask(wsSID, map[string]any{"languages": []any{"en"}, "crm_id": 12345678901234567})
	ws := srv.Client().Workspace(wsSID)

	s, task, err := ifmatch.UpdateTaskAttributes(context.Background(), ws, taskSID, func(s *skills) error {
		s.Languages = append(s.Languages, "fr")
		return nil
	})
	fmt.Println(s.Languages, task.Attributes["crm_id"], err)
	// Output: [en fr] 12345678901234567 <nil>
}

// countOnce adds one to a counter in a Sync Map item, once per event, and
// creates the item on first use. A create takes no IdempotencyKey, so the
// item is created empty and the count always goes through the keyed update:
// a redelivered event is never counted twice, and a concurrent create that
// lost (ErrAlreadyExists) just goes on to the update.
func countOnce(ctx context.Context, sync ifmatch.SyncAPI, m, key, event string) (*ifmatch.MapItem, error) {
	for range 2 {
		item, err := sync.UpdateMapItem(ctx, m, key, func(it *ifmatch.MapItem) error {
			n, _ := it.Data["count"].(json.Number) // absent at first
			c, _ := n.Int64()
			it.Data["count"] = c + 1
			return nil
		}, ifmatch.IdempotencyKey(event))
		if !errors.Is(err, ifmatch.ErrNotFound) {
			return item, err
		}
		_, err = sync.CreateMapItem(ctx, m, key, ifmatch.SyncWrite{Data: map[string]any{}})
		if err != nil && !errors.Is(err, ifmatch.ErrAlreadyExists) {
			return nil, err // the Map itself is missing, say
		}
	}
	return nil, fmt.Errorf("map item %s deleted as fast as it was created", key)
}

// A counter in a Sync Map item that may not exist yet, counted once per
// event (create if missing, then a keyed update).
func ExampleSyncService_UpdateMapItem() {
	srv := ifmatchtest.NewServer()
	defer srv.Close()
	svcSID := srv.AddSyncService()
	srv.AddSyncMap(svcSID, "escalations")
	svc := srv.Client().SyncService(svcSID)

	for _, event := range []string{"EV1", "EV2", "EV1"} { // EV1 is delivered twice
		item, err := countOnce(context.Background(), svc, "escalations", "support", event)
		fmt.Println(event, item.Data["count"], err)
	}
	// Output:
	// EV1 1 <nil>
	// EV2 2 <nil>
	// EV1 2 <nil>
}
