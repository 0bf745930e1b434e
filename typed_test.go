package ifmatch_test

import (
	"encoding/json"
	"net/http"
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
