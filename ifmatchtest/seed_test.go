package ifmatchtest_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/ifmatchtest"
	"github.com/jarcoal/httpmock"
)

func TestAddTaskOptionsAndSetters(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	ws := srv.AddWorkspace()
	queue, flow := ifmatchtest.NewSID("WQ"), ifmatchtest.NewSID("WW")
	sid := srv.AddTask(ws, nil, ifmatchtest.TaskPriority(5), ifmatchtest.TaskStatus(ifmatch.TaskAssigned),
		ifmatchtest.TaskQueue(queue), ifmatchtest.TaskWorkflow(flow), ifmatchtest.TaskChannel("voice"),
		ifmatchtest.TaskTimeout(60), ifmatchtest.TaskReason("seeded"))
	api := srv.Client().Workspace(ws)
	task, err := api.FetchTask(ctxT(t), sid)
	if err != nil {
		t.Fatal(err)
	}
	if task.Priority != 5 || task.AssignmentStatus != ifmatch.TaskAssigned || task.TaskQueueSID != queue ||
		task.WorkflowSID != flow || task.TaskChannelUniqueName != "voice" || task.Timeout != 60 || task.Reason != "seeded" ||
		task.ETag != `"0"` {
		t.Errorf("seeded %+v", task)
	}
	if !srv.SetTask(ws, sid, ifmatchtest.TaskPriority(1)) {
		t.Fatal("SetTask")
	}
	task, _ = api.FetchTask(ctxT(t), sid)
	if task.Priority != 1 || task.ETag != `"1"` {
		t.Errorf("after SetTask %d %s", task.Priority, task.ETag)
	}

	// Another writer on a Worker: the next conditional write with the old ETag fails.
	wk := srv.AddWorker(ws, "w", map[string]any{"a": 1})
	w, _ := api.FetchWorker(ctxT(t), wk)
	if !srv.SetWorkerAttributes(ws, wk, map[string]any{"a": 2}) || srv.SetWorkerAttributes(ws, ifmatchtest.NewSID("WK"), nil) {
		t.Fatal("SetWorkerAttributes")
	}
	if _, err := api.UpdateWorkerIf(ctxT(t), wk, w.ETag, ifmatch.WorkerUpdate{FriendlyName: "x"}); !errors.Is(err, ifmatch.ErrPreconditionFailed) {
		t.Errorf("stale worker write: %v", err)
	}
	if a, v, _ := srv.WorkerAttributes(ws, wk); a["a"] != json.Number("2") || v != 1 {
		t.Errorf("worker %v %d", a, v)
	}

	// Sync data, typed.
	svc := srv.AddSyncService()
	srv.AddDocument(svc, "doc", map[string]any{"v": 1})
	srv.AddSyncList(svc, "l")
	srv.AddListItem(svc, "l", map[string]any{"v": 1})
	srv.AddSyncMap(svc, "m")
	srv.AddMapItem(svc, "m", "k", map[string]any{"v": 1})
	for _, c := range []struct {
		kind          ifmatchtest.SyncKind
		container, id string
		get           func() (map[string]any, int, bool)
	}{
		{ifmatchtest.SyncDocument, "", "doc", func() (map[string]any, int, bool) { return srv.DocumentData(svc, "doc") }},
		{ifmatchtest.SyncListItem, "l", "0", func() (map[string]any, int, bool) { return srv.ListItemData(svc, "l", 0) }},
		{ifmatchtest.SyncMapItem, "m", "k", func() (map[string]any, int, bool) { return srv.MapItemData(svc, "m", "k") }},
	} {
		if !srv.SetSyncData(svc, c.kind, c.container, c.id, map[string]any{"v": 2}) {
			t.Fatalf("%s: SetSyncData", c.kind)
		}
		if d, rev, ok := c.get(); !ok || d["v"] != json.Number("2") || rev != 1 {
			t.Errorf("%s: %v %d %v", c.kind, d, rev, ok)
		}
	}
	if srv.SetSyncData(svc, ifmatchtest.SyncDocument, "", "nope", nil) {
		t.Error("SetSyncData of a missing Document")
	}
	d, err := srv.Client().SyncService(svc).FetchDocument(ctxT(t), "doc")
	if err != nil || d.ETag != `"1"` {
		t.Errorf("document after SetSyncData: %v %v", d, err)
	}
}

// The URL helpers name what a MockClient requests: a responder registered
// for one of them wins over the fake.
func TestMockURLs(t *testing.T) {
	t.Parallel()
	fake := ifmatchtest.NewFake()
	ws := fake.AddWorkspace()
	sid := fake.AddTask(ws, nil)
	wk := fake.AddWorker(ws, "w", nil)
	svc := fake.AddSyncService()
	fake.AddDocument(svc, "my doc", nil)
	fake.AddSyncList(svc, "l")
	fake.AddListItem(svc, "l", nil)
	fake.AddSyncMap(svc, "m")
	fake.AddMapItem(svc, "m", "a/b", nil)
	client, transport := fake.MockClient(t, ifmatch.WithoutTransportRetry())
	urls := []string{ifmatchtest.TaskURL(ws, sid), ifmatchtest.WorkerURL(ws, wk), ifmatchtest.DocumentURL(svc, "my doc"),
		ifmatchtest.ListItemURL(svc, "l", 0), ifmatchtest.MapItemURL(svc, "m", "a/b")}
	for _, u := range urls {
		transport.RegisterResponder(http.MethodGet, u, httpmock.NewStringResponder(http.StatusTeapot, `{"code":1,"message":"mine"}`))
	}
	api, sync := client.Workspace(ws), client.SyncService(svc)
	calls := []func() error{
		func() error { _, err := api.FetchTask(ctxT(t), sid); return err },
		func() error { _, err := api.FetchWorker(ctxT(t), wk); return err },
		func() error { _, err := sync.FetchDocument(ctxT(t), "my doc"); return err },
		func() error { _, err := sync.FetchListItem(ctxT(t), "l", 0); return err },
		func() error { _, err := sync.FetchMapItem(ctxT(t), "m", "a/b"); return err },
	}
	for i, call := range calls {
		var ae *ifmatch.APIError
		if err := call(); !errors.As(err, &ae) || ae.Status != http.StatusTeapot {
			t.Errorf("%s: %v (the responder did not match)", urls[i], err)
		}
	}
	if want := ifmatchtest.MockBaseURL + "/v1/Workspaces/" + ws + "/Workers/" + wk + "/Reservations/WR1"; ifmatchtest.WorkerReservationURL(ws, wk, "WR1") != want {
		t.Error(ifmatchtest.WorkerReservationURL(ws, wk, "WR1"))
	}
}

// Nil attributes given to the setters are stored as {}, as Twilio holds a
// resource's attributes: a Task read back has an empty object, not null.
func TestSettersStoreNilAttributesAsEmptyObject(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	ws := srv.AddWorkspace()
	task := srv.AddTask(ws, map[string]any{"a": 1})
	worker := srv.AddWorker(ws, "w", map[string]any{"a": 1})
	if !srv.SetTaskAttributes(ws, task, nil) || !srv.SetWorkerAttributes(ws, worker, nil) {
		t.Fatal("setters did not find the seeded resources")
	}
	for name, get := range map[string]func() (map[string]any, int, bool){
		"task":   func() (map[string]any, int, bool) { return srv.TaskAttributes(ws, task) },
		"worker": func() (map[string]any, int, bool) { return srv.WorkerAttributes(ws, worker) },
	} {
		if a, v, ok := get(); !ok || a == nil || len(a) != 0 || v != 1 {
			t.Errorf("%s: attributes %#v (nil: %t), version %d", name, a, a == nil, v)
		}
	}
	got, err := srv.Client().Workspace(ws).FetchTask(ctxT(t), task)
	if err != nil || got.Attributes == nil || len(got.Attributes) != 0 {
		t.Errorf("fetched attributes %#v, %v", got.Attributes, err)
	}
}
