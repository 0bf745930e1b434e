package ifmatch_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/ifmatch-go/ifmatch"
)

type workerProfile struct {
	Skills []string `json:"skills"`
	Team   string   `json:"team"`
	Level  int      `json:"level"`
}

// A typed function that changes nothing writes nothing, even when the object
// lacks the struct's fields (issue #12, item 1).
func TestTypedNoOpWritesNothing(t *testing.T) {
	t.Parallel()
	srv := fakeServer(t)
	wsSID := srv.AddWorkspace()
	wk := srv.AddWorker(wsSID, "w", map[string]any{"other": "x"})
	ws := srv.Client().Workspace(wsSID)
	var res ifmatch.OperationResult
	p, w, err := ifmatch.UpdateWorkerAttributes(ctxT(t), ws, wk, func(p *workerProfile) error { return nil },
		ifmatch.ReportResult(&res))
	if err != nil {
		t.Fatal(err)
	}
	if res != ifmatch.Unchanged || srv.Count(http.MethodPost) != 0 || w.ETag != `"0"` || p.Team != "" {
		t.Errorf("no-op: result %q, %d POSTs, etag %s", res, srv.Count(http.MethodPost), w.ETag)
	}
	attrs, _, _ := srv.WorkerAttributes(wsSID, wk)
	if len(attrs) != 1 {
		t.Errorf("attributes gained keys: %v", attrs)
	}

	// Only the key the function changed is written.
	if _, _, err := ifmatch.UpdateWorkerAttributes(ctxT(t), ws, wk, func(p *workerProfile) error {
		p.Level = 2
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	attrs, _, _ = srv.WorkerAttributes(wsSID, wk)
	if len(attrs) != 2 || attrs["level"] != json.Number("2") || attrs["other"] != "x" {
		t.Errorf("after a one-field change: %v", attrs)
	}
}

type withAny struct {
	N     int            `json:"n"`
	ID    any            `json:"id"`
	Extra map[string]any `json:"extra"`
	List  []any          `json:"list"`
}

// Numbers in any, map[string]any and []any fields keep their exact value
// (issue #12, item 2).
func TestTypedBigNumbersInAnyFields(t *testing.T) {
	t.Parallel()
	srv := fakeServer(t)
	wsSID := srv.AddWorkspace()
	big := json.Number("1234567890123456789")
	taskSID := srv.AddTask(wsSID, map[string]any{"n": 1, "id": big,
		"extra": map[string]any{"crm": big}, "list": []any{big}})
	ws := srv.Client().Workspace(wsSID)
	v, _, err := ifmatch.UpdateTaskAttributes(ctxT(t), ws, taskSID, func(v *withAny) error {
		v.N++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	attrs, _, _ := srv.TaskAttributes(wsSID, taskSID)
	if attrs["id"] != big || attrs["extra"].(map[string]any)["crm"] != big || attrs["list"].([]any)[0] != big ||
		attrs["n"] != json.Number("2") {
		t.Errorf("stored %v", attrs)
	}
	if v.ID != big || v.Extra["crm"] != big || v.List[0] != big {
		t.Errorf("returned %+v", v)
	}
}

// One write changes a Task field and the typed attributes together; the
// helper takes the TaskAPI interface (issue #12, item 4).
func TestUpdateTaskWithAttributes(t *testing.T) {
	t.Parallel()
	srv := fakeServer(t)
	wsSID := srv.AddWorkspace()
	taskSID := srv.AddTask(wsSID, map[string]any{"keep": true})
	var api ifmatch.TaskAPI = srv.Client().Workspace(wsSID)
	type esc struct {
		Escalations []string `json:"escalations"`
	}
	task, a, err := ifmatch.UpdateTaskWithAttributes(ctxT(t), api, taskSID, func(t *ifmatch.Task, a *esc) error {
		t.Priority = 10
		a.Escalations = append(a.Escalations, "vip")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if task.Priority != 10 || len(a.Escalations) != 1 || task.ETag != `"1"` || srv.Count(http.MethodPost) != 1 {
		t.Errorf("task %d %s, attrs %+v, %d POSTs", task.Priority, task.ETag, a, srv.Count(http.MethodPost))
	}
	attrs, _, _ := srv.TaskAttributes(wsSID, taskSID)
	if attrs["keep"] != true || len(attrs["escalations"].([]any)) != 1 {
		t.Errorf("attrs %v", attrs)
	}
	wk := srv.AddWorker(wsSID, "w", nil)
	w, p, err := ifmatch.UpdateWorkerWithAttributes(ctxT(t), srv.Client().Workspace(wsSID), wk,
		func(w *ifmatch.Worker, p *workerProfile) error {
			w.FriendlyName = "renamed"
			p.Team = "blue"
			return nil
		})
	if err != nil || w.FriendlyName != "renamed" || p.Team != "blue" {
		t.Fatalf("worker: %v %+v %v", w, p, err)
	}
}

// The typed helpers refuse a nil function before sending anything, as the
// untyped loops do (they panicked after a GET).
func TestTypedNilFunction(t *testing.T) {
	t.Parallel()
	srv := fakeServer(t)
	wsSID, svc := srv.AddWorkspace(), srv.AddSyncService()
	task := srv.AddTask(wsSID, map[string]any{"n": 1})
	wk := srv.AddWorker(wsSID, "w", nil)
	doc := srv.AddDocument(svc, "d", map[string]any{"n": 1})
	srv.AddMapItem(svc, "m", "k", map[string]any{"n": 1})
	idx := srv.AddListItem(svc, "l", map[string]any{"n": 1})
	ws, sync := srv.Client().Workspace(wsSID), srv.Client().SyncService(svc)
	ctx := ctxT(t)
	errs := map[string]error{}
	_, _, errs["UpdateTaskAttributes"] = ifmatch.UpdateTaskAttributes[workerProfile](ctx, ws, task, nil)
	_, _, errs["UpdateTaskWithAttributes"] = ifmatch.UpdateTaskWithAttributes[workerProfile](ctx, ws, task, nil)
	_, _, errs["UpdateWorkerAttributes"] = ifmatch.UpdateWorkerAttributes[workerProfile](ctx, ws, wk, nil)
	_, _, errs["UpdateWorkerWithAttributes"] = ifmatch.UpdateWorkerWithAttributes[workerProfile](ctx, ws, wk, nil)
	_, _, errs["UpdateDocumentData"] = ifmatch.UpdateDocumentData[workerProfile](ctx, sync, doc, nil)
	_, _, errs["UpdateMapItemData"] = ifmatch.UpdateMapItemData[workerProfile](ctx, sync, "m", "k", nil)
	_, _, errs["UpdateListItemData"] = ifmatch.UpdateListItemData[workerProfile](ctx, sync, "l", idx, nil)
	for name, err := range errs {
		if !errors.Is(err, ifmatch.ErrInvalidArgument) {
			t.Errorf("%s(nil): %v, want ErrInvalidArgument", name, err)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent, want 0", n)
	}
}

// Stored data that does not fit T fails the call before fn runs, writes
// nothing, and says so with both sentinels (as the package doc says).
func TestTypedWrongShape(t *testing.T) {
	t.Parallel()
	srv := fakeServer(t)
	wsSID := srv.AddWorkspace()
	wk := srv.AddWorker(wsSID, "w", map[string]any{"level": "abc"})
	ran := false
	_, _, err := ifmatch.UpdateWorkerAttributes(ctxT(t), srv.Client().Workspace(wsSID), wk, func(p *workerProfile) error {
		ran = true
		return nil
	})
	if !errors.Is(err, ifmatch.ErrBadResponse) || !errors.Is(err, ifmatch.ErrMutatorAborted) || ran {
		t.Errorf("err = %v (fn ran: %v); want ErrBadResponse and ErrMutatorAborted, fn not run", err, ran)
	}
	if !strings.Contains(err.Error(), "workerProfile") || srv.Count(http.MethodPost) != 0 {
		t.Errorf("err = %v, %d POSTs; want the type named and no write", err, srv.Count(http.MethodPost))
	}
}
