package ifmatchtest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/ifmatchtest"
)

// contractEnv is one implementation of TaskAPI, WorkerAPI and SyncAPI, with
// the seeding and inspection the contract tests need.
type contractEnv struct {
	tasks          ifmatch.TaskAPI
	workers        ifmatch.WorkerAPI
	sync           ifmatch.SyncAPI
	addTask        func(attrs map[string]any, opts ...ifmatchtest.TaskOption) string
	addWorker      func(name string, attrs map[string]any) string
	addReservation func(task, worker string) string
	addDocument    func(name string, data map[string]any) string
	addListItem    func(list string, data map[string]any) int // creates the list
	addMapItem     func(m, key string, data map[string]any)   // creates the map
	setTaskAttrs   func(sid string, attrs map[string]any)
	writes         func() int // writes that reached the store, or at least were sent
	sent           func() int // requests sent (the in-memory ones: writes)
}

// contractEnvs are the implementations under contract: the real Client
// against the fake server, and the in-memory ones.
var contractEnvs = map[string]func(t *testing.T) *contractEnv{
	"client+fake server": func(t *testing.T) *contractEnv {
		srv := newServer(t)
		ws, svc := srv.AddWorkspace(), srv.AddSyncService()
		c := srv.Client()
		return &contractEnv{
			tasks: c.Workspace(ws), workers: c.Workspace(ws), sync: c.SyncService(svc),
			addTask:        func(a map[string]any, o ...ifmatchtest.TaskOption) string { return srv.AddTask(ws, a, o...) },
			addWorker:      func(n string, a map[string]any) string { return srv.AddWorker(ws, n, a) },
			addReservation: func(task, worker string) string { return srv.AddReservation(ws, task, worker) },
			addDocument:    func(n string, d map[string]any) string { return srv.AddDocument(svc, n, d) },
			addListItem:    func(l string, d map[string]any) int { return srv.AddListItem(svc, l, d) },
			addMapItem:     func(m, k string, d map[string]any) { srv.AddMapItem(svc, m, k, d) },
			setTaskAttrs:   func(sid string, a map[string]any) { srv.SetTaskAttributes(ws, sid, a) },
			writes:         func() int { return srv.Count(http.MethodPost) + srv.Count(http.MethodDelete) },
			sent:           func() int { return srv.Count("") },
		}
	},
	"in-memory": func(t *testing.T) *contractEnv {
		ws, s := ifmatchtest.NewMemoryWorkspace(), ifmatchtest.NewMemorySync()
		return &contractEnv{
			tasks: ws, workers: ws, sync: s,
			addTask: ws.AddTask, addWorker: ws.AddWorker, addReservation: ws.AddReservation,
			addDocument: s.AddDocument, addListItem: s.AddListItem, addMapItem: s.AddMapItem,
			setTaskAttrs: func(sid string, a map[string]any) { ws.SetTaskAttributes(sid, a) },
			writes:       func() int { return ws.Writes() + s.Writes() },
			sent:         func() int { return ws.Writes() + s.Writes() },
		}
	},
}

const big = json.Number("1234567890123456789012")

var noWait = ifmatch.Backoff(func() backoff.BackOff { return &backoff.ZeroBackOff{} })

// contractCases is the shared contract of ifmatch's TaskAPI, WorkerAPI and
// SyncAPI: every case runs against every implementation.
var contractCases = []struct {
	name string
	run  func(t *testing.T, e *contractEnv)
}{
	{"fetch hands out deep copies with exact numbers", func(t *testing.T, e *contractEnv) {
		sid := e.addTask(map[string]any{"id": big, "nested": map[string]any{"a": 1}})
		t1, err := e.tasks.FetchTask(ctxT(t), sid)
		if err != nil {
			t.Fatal(err)
		}
		if t1.Attributes["id"] != big || t1.ETag != `"0"` {
			t.Fatalf("fetched %v %s", t1.Attributes, t1.ETag)
		}
		t1.Attributes["nested"].(map[string]any)["a"] = 2
		t2, _ := e.tasks.FetchTask(ctxT(t), sid)
		if t2.Attributes["nested"].(map[string]any)["a"] != json.Number("1") {
			t.Errorf("a change to a fetched Task leaked into the store: %v", t2.Attributes)
		}
	}},
	{"update: Updated, new ETag, exact numbers, mutator gets a copy", func(t *testing.T, e *contractEnv) {
		sid := e.addTask(map[string]any{"id": big, "n": 1}, ifmatchtest.TaskPriority(3))
		var kept *ifmatch.Task
		var res ifmatch.OperationResult
		var attempts []ifmatch.AttemptInfo
		task, err := e.tasks.UpdateTask(ctxT(t), sid, func(t *ifmatch.Task) error {
			kept = t
			t.Attributes["n"] = 2
			t.Priority++
			return nil
		}, ifmatch.ReportResult(&res), ifmatch.OnAttempt(func(a ifmatch.AttemptInfo) { attempts = append(attempts, a) }))
		if err != nil {
			t.Fatal(err)
		}
		if res != ifmatch.Updated || task.ETag != `"1"` || task.Priority != 4 || task.Attributes["n"] != json.Number("2") ||
			task.Attributes["id"] != big {
			t.Errorf("%q %s %d %v", res, task.ETag, task.Priority, task.Attributes)
		}
		if len(attempts) != 1 || attempts[0].Status != 200 || attempts[0].ETag != `"0"` {
			t.Errorf("OnAttempt saw %+v", attempts)
		}
		kept.Attributes["n"] = 99
		if t2, _ := e.tasks.FetchTask(ctxT(t), sid); t2.Attributes["n"] != json.Number("2") {
			t.Errorf("the mutator's Task is shared with the store: %v", t2.Attributes)
		}
	}},
	{"a mutator that changes nothing writes nothing", func(t *testing.T, e *contractEnv) {
		sid := e.addTask(map[string]any{"n": 1})
		before := e.writes()
		var res ifmatch.OperationResult
		task, err := e.tasks.UpdateTask(ctxT(t), sid, func(t *ifmatch.Task) error {
			t.Attributes["n"] = 1 // the same value
			return nil
		}, ifmatch.ReportResult(&res))
		if err != nil || res != ifmatch.Unchanged || task.ETag != `"0"` || e.writes() != before {
			t.Errorf("%q %v %v, %d writes", res, task, err, e.writes()-before)
		}
	}},
	{"mutator errors are wrapped, nothing written", func(t *testing.T, e *contractEnv) {
		sid := e.addTask(nil)
		before := e.writes()
		mine := errors.New("not allowed")
		_, err := e.tasks.UpdateTask(ctxT(t), sid, func(t *ifmatch.Task) error { t.Priority = 9; return mine })
		if !errors.Is(err, ifmatch.ErrMutatorAborted) || !errors.Is(err, mine) || e.writes() != before {
			t.Errorf("%v, %d writes", err, e.writes()-before)
		}
	}},
	{"read-only fields are refused", func(t *testing.T, e *contractEnv) {
		sid := e.addTask(nil)
		_, err := e.tasks.UpdateTask(ctxT(t), sid, func(t *ifmatch.Task) error { t.WorkflowSID = "WW" + sid[2:]; return nil })
		if !errors.Is(err, ifmatch.ErrInvalidArgument) {
			t.Errorf("%v", err)
		}
	}},
	{"not found and malformed SIDs", func(t *testing.T, e *contractEnv) {
		missing := "WT" + "0123456789abcdef0123456789abcdef"
		if _, err := e.tasks.FetchTask(ctxT(t), missing); !errors.Is(err, ifmatch.ErrNotFound) {
			t.Errorf("fetch: %v", err)
		}
		if _, err := e.tasks.UpdateTask(ctxT(t), missing, func(*ifmatch.Task) error { return nil }); !errors.Is(err, ifmatch.ErrNotFound) {
			t.Errorf("update: %v", err)
		}
		if _, err := e.workers.FetchWorker(ctxT(t), "WK0123456789abcdef0123456789abcdef"); !errors.Is(err, ifmatch.ErrNotFound) {
			t.Errorf("worker: %v", err)
		}
		if _, err := e.sync.FetchDocument(ctxT(t), "nope"); !errors.Is(err, ifmatch.ErrNotFound) {
			t.Errorf("document: %v", err)
		}
		if _, err := e.tasks.FetchTask(ctxT(t), "../WT"); !errors.Is(err, ifmatch.ErrInvalidArgument) {
			t.Errorf("malformed: %v", err)
		}
		if err := e.tasks.DeleteTask(ctxT(t), missing); !errors.Is(err, ifmatch.ErrNotFound) {
			t.Errorf("delete: %v", err)
		}
		if ifmatch.HTTPStatus(func() error { _, err := e.tasks.FetchTask(ctxT(t), missing); return err }()) != 404 {
			t.Error("HTTPStatus of a missing Task is not 404")
		}
	}},
	{"one conditional write: an ETag that cannot be an If-Match is refused before sending", func(t *testing.T, e *contractEnv) {
		task, worker := e.addTask(map[string]any{"n": 1}), e.addWorker("w", nil)
		doc := e.addDocument("d", map[string]any{"n": 1})
		p := 7
		for _, tc := range []struct {
			etag     string
			unusable bool // also ErrNoETag: what a list's resources carry
		}{{"", true}, {`W/"0"`, true}, {"*", true}, {`"0"` + "\r\nX-Evil: 1", false}, {"\x01", false}, {`"0 1"`, false}} {
			before := e.writes()
			_, errT := e.tasks.UpdateTaskIf(ctxT(t), task, tc.etag, ifmatch.TaskUpdate{Priority: &p})
			errD := e.tasks.DeleteTaskIf(ctxT(t), task, tc.etag)
			_, errW := e.workers.UpdateWorkerIf(ctxT(t), worker, tc.etag, ifmatch.WorkerUpdate{FriendlyName: "x"})
			_, errS := e.sync.UpdateDocumentIf(ctxT(t), doc, tc.etag, ifmatch.SyncWrite{Data: map[string]any{"n": 2}})
			for i, err := range []error{errT, errD, errW, errS} {
				if !errors.Is(err, ifmatch.ErrInvalidArgument) || errors.Is(err, ifmatch.ErrOutcomeUnknown) ||
					errors.Is(err, ifmatch.ErrNoETag) != tc.unusable || strings.ContainsAny(err.Error(), "\r\n") {
					t.Errorf("ETag %q, write %d: %v; want ErrInvalidArgument (ErrNoETag: %v), no raw CR/LF", tc.etag, i, err, tc.unusable)
				}
			}
			if n := e.writes() - before; n != 0 {
				t.Errorf("ETag %q: %d writes sent, want 0", tc.etag, n)
			}
		}
		// quoted and bare forms of the current ETag both match
		if _, err := e.tasks.UpdateTaskIf(ctxT(t), task, "0", ifmatch.TaskUpdate{Priority: &p}); err != nil {
			t.Errorf("bare ETag 0: %v", err)
		}
		if _, err := e.tasks.UpdateTaskIf(ctxT(t), task, `"1"`, ifmatch.TaskUpdate{Priority: &p}); err != nil {
			t.Errorf(`quoted ETag "1": %v`, err)
		}
	}},
	{"one conditional write: stale ETag is a 412, not a conflict", func(t *testing.T, e *contractEnv) {
		sid := e.addTask(nil)
		p := 7
		task, err := e.tasks.UpdateTaskIf(ctxT(t), sid, `"0"`, ifmatch.TaskUpdate{Priority: &p})
		if err != nil || task.Priority != 7 || task.ETag != `"1"` {
			t.Fatalf("%v %v", task, err)
		}
		_, err = e.tasks.UpdateTaskIf(ctxT(t), sid, `"0"`, ifmatch.TaskUpdate{Priority: &p})
		if !errors.Is(err, ifmatch.ErrPreconditionFailed) || errors.Is(err, ifmatch.ErrConflict) {
			t.Errorf("stale: %v", err)
		}
		if _, err := e.tasks.UpdateTaskIf(ctxT(t), sid, `"1"`, ifmatch.TaskUpdate{}); !errors.Is(err, ifmatch.ErrInvalidArgument) {
			t.Errorf("empty update: %v", err)
		}
		if _, err := e.tasks.UpdateTaskIf(ctxT(t), sid, "", ifmatch.TaskUpdate{Priority: &p}); !errors.Is(err, ifmatch.ErrNoETag) {
			t.Errorf("no ETag: %v", err)
		}
		if err := e.tasks.DeleteTaskIf(ctxT(t), sid, `"0"`); !errors.Is(err, ifmatch.ErrPreconditionFailed) {
			t.Errorf("stale delete: %v", err)
		}
		if err := e.tasks.DeleteTaskIf(ctxT(t), sid, `"1"`); err != nil {
			t.Errorf("delete: %v", err)
		}
		if _, err := e.tasks.FetchTask(ctxT(t), sid); !errors.Is(err, ifmatch.ErrNotFound) {
			t.Errorf("deleted: %v", err)
		}
	}},
	{"the loop gives up with ErrConflict after MaxAttempts", func(t *testing.T, e *contractEnv) {
		sid := e.addTask(nil)
		n := 0
		_, err := e.tasks.UpdateTask(ctxT(t), sid, func(t *ifmatch.Task) error {
			n++
			e.setTaskAttrs(sid, map[string]any{"other": n}) // another writer always wins
			t.Priority = 1
			return nil
		}, ifmatch.MaxAttempts(3), noWait)
		var ce *ifmatch.ConflictError
		if !errors.Is(err, ifmatch.ErrConflict) || !errors.As(err, &ce) || ce.Attempts != 3 ||
			!errors.Is(err, ifmatch.ErrPreconditionFailed) {
			t.Errorf("%v", err)
		}
	}},
	{"a conflict is retried with the mutator on the new version", func(t *testing.T, e *contractEnv) {
		sid := e.addTask(map[string]any{"n": 0})
		first := true
		task, err := e.tasks.UpdateTask(ctxT(t), sid, func(t *ifmatch.Task) error {
			if first {
				first = false
				e.setTaskAttrs(sid, map[string]any{"n": 10})
			}
			n, _ := t.Attributes["n"].(json.Number).Int64()
			t.Attributes["n"] = n + 1
			return nil
		}, noWait)
		if err != nil || task.Attributes["n"] != json.Number("11") || task.ETag != `"2"` {
			t.Errorf("%v %v", task, err)
		}
	}},
	{"IdempotencyKey: applied once, key hidden", func(t *testing.T, e *contractEnv) {
		sid := e.addTask(map[string]any{"n": 0})
		for i, want := range []ifmatch.OperationResult{ifmatch.Updated, ifmatch.AlreadyApplied} {
			var res ifmatch.OperationResult
			task, err := e.tasks.UpdateTask(ctxT(t), sid, func(t *ifmatch.Task) error {
				n, _ := t.Attributes["n"].(json.Number).Int64()
				t.Attributes["n"] = n + 1
				return nil
			}, ifmatch.IdempotencyKey("EV1"), ifmatch.ReportResult(&res))
			if err != nil || res != want || task.Attributes["n"] != json.Number("1") || len(task.Attributes) != 1 {
				t.Errorf("delivery %d: %q %v %v", i, res, task, err)
			}
		}
	}},
	{"CommitMarkers are hidden from the returned value", func(t *testing.T, e *contractEnv) {
		sid := e.addTask(nil)
		task, err := e.tasks.UpdateTask(ctxT(t), sid, func(t *ifmatch.Task) error { t.Attributes["x"] = 1; return nil },
			ifmatch.CommitMarkers(""))
		if err != nil || len(task.Attributes) != 1 {
			t.Errorf("%v %v", task, err)
		}
	}},
	{"invalid options are refused", func(t *testing.T, e *contractEnv) {
		sid := e.addTask(nil)
		if _, err := e.tasks.UpdateTask(ctxT(t), sid, func(*ifmatch.Task) error { return nil }, ifmatch.MaxAttempts(0)); !errors.Is(err, ifmatch.ErrInvalidArgument) {
			t.Errorf("%v", err)
		}
	}},
	{"merge patch and typed helpers through the interfaces", func(t *testing.T, e *contractEnv) {
		sid := e.addTask(map[string]any{"a": 1, "b": map[string]any{"c": 1}})
		task, err := ifmatch.MergeTaskAttributes(ctxT(t), e.tasks, sid, map[string]any{"a": nil, "b": map[string]any{"d": 2}})
		if err != nil || task.Attributes["a"] != nil || len(task.Attributes["b"].(map[string]any)) != 2 {
			t.Errorf("%v %v", task, err)
		}
		wk := e.addWorker("w", map[string]any{"x": 1})
		before := e.writes()
		var res ifmatch.OperationResult
		_, w, err := ifmatch.UpdateWorkerAttributes(ctxT(t), e.workers, wk, func(p *struct {
			Skills []string `json:"skills"`
		}) error {
			return nil
		}, ifmatch.ReportResult(&res))
		if err != nil || res != ifmatch.Unchanged || e.writes() != before || len(w.Attributes) != 1 {
			t.Errorf("typed no-op: %q %v %v", res, w, err)
		}
	}},
	{"list Tasks: filters, no attributes or ETag", func(t *testing.T, e *contractEnv) {
		e.addTask(map[string]any{"a": 1}, ifmatchtest.TaskPriority(5))
		want := e.addTask(nil, ifmatchtest.TaskPriority(5), ifmatchtest.TaskStatus(ifmatch.TaskAssigned))
		e.addTask(nil, ifmatchtest.TaskStatus(ifmatch.TaskAssigned))
		var got []*ifmatch.Task
		for task, err := range e.tasks.ListTasks(ctxT(t), &ifmatch.TaskListParams{Priority: ptr(5),
			AssignmentStatus: []ifmatch.TaskStatus{ifmatch.TaskAssigned}}) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, task)
		}
		if len(got) != 1 || got[0].SID != want || got[0].Attributes != nil || got[0].ETag != "" {
			t.Errorf("listed %+v", got)
		}
		for _, err := range e.tasks.ListTasks(ctxT(t), &ifmatch.TaskListParams{PageSize: 5000}) {
			if !errors.Is(err, ifmatch.ErrInvalidArgument) {
				t.Errorf("bad page size: %v", err)
			}
		}
	}},
	{"workers: create, update the loop and once", func(t *testing.T, e *contractEnv) {
		w, err := e.workers.CreateWorker(ctxT(t), ifmatch.WorkerCreate{FriendlyName: "alice", Attributes: map[string]any{"id": big}})
		if err != nil || w.ETag != `"0"` || w.Attributes["id"] != big {
			t.Fatalf("%v %v", w, err)
		}
		if _, err := e.workers.CreateWorker(ctxT(t), ifmatch.WorkerCreate{}); !errors.Is(err, ifmatch.ErrInvalidArgument) {
			t.Errorf("nameless: %v", err)
		}
		w, err = e.workers.UpdateWorker(ctxT(t), w.SID, func(w *ifmatch.Worker) error { w.FriendlyName = "bob"; return nil })
		if err != nil || w.FriendlyName != "bob" || w.ETag != `"1"` {
			t.Fatalf("%v %v", w, err)
		}
		w, err = e.workers.UpdateWorkerIf(ctxT(t), w.SID, `"1"`, ifmatch.WorkerUpdate{Attributes: map[string]any{"k": 1}})
		if err != nil || w.ETag != `"2"` || w.Attributes["k"] != json.Number("1") {
			t.Fatalf("%v %v", w, err)
		}
	}},
	{"reservations: CommitMarkers and IdempotencyKey refused before any request", func(t *testing.T, e *contractEnv) {
		task, wk := e.addTask(nil), e.addWorker("w", nil)
		r := e.addReservation(task, wk)
		accept := func(r *ifmatch.Reservation) error { r.ReservationStatus = ifmatch.ReservationAccepted; return nil }
		sent := e.sent()
		for name, opt := range map[string]ifmatch.UpdateOption{"CommitMarkers": ifmatch.CommitMarkers(""),
			"IdempotencyKey": ifmatch.IdempotencyKey("EV1")} {
			if _, err := e.workers.UpdateTaskReservation(ctxT(t), task, r, accept, opt); !errors.Is(err, ifmatch.ErrInvalidArgument) {
				t.Errorf("task path, %s: %v", name, err)
			}
			if _, err := e.workers.UpdateWorkerReservation(ctxT(t), wk, r, accept, opt); !errors.Is(err, ifmatch.ErrInvalidArgument) {
				t.Errorf("worker path, %s: %v", name, err)
			}
		}
		if n := e.sent() - sent; n != 0 {
			t.Errorf("%d requests sent", n)
		}
		if got, err := e.workers.FetchTaskReservation(ctxT(t), task, r); err != nil || got.ReservationStatus != ifmatch.ReservationPending {
			t.Errorf("%v %v", got, err)
		}
	}},
	{"reservations: moves checked", func(t *testing.T, e *contractEnv) {
		task, wk := e.addTask(nil), e.addWorker("w", nil)
		r := e.addReservation(task, wk)
		if _, err := e.workers.UpdateTaskReservation(ctxT(t), task, r, func(r *ifmatch.Reservation) error {
			r.ReservationStatus = ifmatch.ReservationCompleted
			return nil
		}); !errors.Is(err, ifmatch.ErrInvalidArgument) {
			t.Errorf("pending → completed: %v", err)
		}
		got, err := e.workers.UpdateWorkerReservation(ctxT(t), wk, r, func(r *ifmatch.Reservation) error {
			r.ReservationStatus = ifmatch.ReservationAccepted
			return nil
		})
		if err != nil || got.ReservationStatus != ifmatch.ReservationAccepted || got.ETag != `"1"` {
			t.Fatalf("%v %v", got, err)
		}
		got, err = e.workers.FetchTaskReservation(ctxT(t), task, r)
		if err != nil || got.ReservationStatus != ifmatch.ReservationAccepted || got.WorkerSID != wk {
			t.Fatalf("%v %v", got, err)
		}
		n := 0
		for r, err := range e.workers.ListWorkerReservations(ctxT(t), wk, nil) {
			if err != nil || r.TaskSID != task {
				t.Fatal(r, err)
			}
			n++
		}
		if n != 1 {
			t.Errorf("listed %d reservations", n)
		}
	}},
	{"sync documents: 409, 412 with Sync's code, data limit", func(t *testing.T, e *contractEnv) {
		e.addDocument("cfg", map[string]any{"v": 1})
		if _, err := e.sync.CreateDocument(ctxT(t), "cfg", ifmatch.SyncWrite{}); !errors.Is(err, ifmatch.ErrAlreadyExists) {
			t.Errorf("duplicate: %v", err)
		}
		d, err := e.sync.UpdateDocument(ctxT(t), "cfg", func(d *ifmatch.Document) error { d.Data["v"] = big; return nil })
		if err != nil || d.Data["v"] != big || d.ETag != `"1"` || d.Revision != "1" {
			t.Fatalf("%v %v", d, err)
		}
		_, err = e.sync.UpdateDocumentIf(ctxT(t), "cfg", `"0"`, ifmatch.SyncWrite{Data: map[string]any{}})
		var ae *ifmatch.APIError
		if !errors.As(err, &ae) || ae.Status != 412 || ae.Code != 54103 {
			t.Errorf("stale: %v", err)
		}
		huge := map[string]any{"s": string(make([]byte, ifmatch.MaxSyncDataBytes))}
		if _, err := e.sync.UpdateDocument(ctxT(t), "cfg", func(d *ifmatch.Document) error { d.Data = huge; return nil }); !errors.Is(err, ifmatch.ErrInvalidArgument) {
			t.Errorf("huge: %v", err)
		}
		d, err = ifmatch.MergeDocumentData(ctxT(t), e.sync, "cfg", map[string]any{"w": 2})
		if err != nil || len(d.Data) != 2 {
			t.Errorf("merge: %v %v", d, err)
		}
	}},
	{"a list item index is never reused, not even the last one's", func(t *testing.T, e *contractEnv) {
		e.addListItem("q", map[string]any{"i": 0})
		it, err := e.sync.CreateListItem(ctxT(t), "q", ifmatch.SyncWrite{Data: map[string]any{"i": 1}})
		if err != nil || it.Index != 1 {
			t.Fatalf("%v %v", it, err)
		}
		if err := e.sync.DeleteListItem(ctxT(t), "q", 1); err != nil {
			t.Fatal(err)
		}
		it, err = e.sync.CreateListItem(ctxT(t), "q", ifmatch.SyncWrite{Data: map[string]any{"i": 2}})
		if err != nil || it.Index != 2 {
			t.Fatalf("create after deleting the last item (index 1): %v %v, want index 2", it, err)
		}
		if got := e.addListItem("q", nil); got != 3 {
			t.Errorf("seeded after: index %d, want 3", got)
		}
	}},
	{"sync list and map items", func(t *testing.T, e *contractEnv) {
		e.addListItem("q", map[string]any{"i": 0})
		it, err := e.sync.CreateListItem(ctxT(t), "q", ifmatch.SyncWrite{Data: map[string]any{"i": 1}})
		if err != nil || it.Index != 1 {
			t.Fatalf("%v %v", it, err)
		}
		var idx []int
		for it, err := range e.sync.ListListItems(ctxT(t), "q", &ifmatch.SyncListParams{Order: "desc"}) {
			if err != nil {
				t.Fatal(err)
			}
			idx = append(idx, it.Index)
		}
		if len(idx) != 2 || idx[0] != 1 {
			t.Errorf("listed %v", idx)
		}
		_, err = e.sync.UpdateListItemIf(ctxT(t), "q", 0, `"5"`, ifmatch.SyncWrite{Data: map[string]any{}})
		var ae *ifmatch.APIError
		if !errors.As(err, &ae) || ae.Status != 412 || ae.Code != 54155 {
			t.Errorf("stale list item: %v", err)
		}
		e.addMapItem("m", "k", map[string]any{"n": 1})
		if _, err := e.sync.CreateMapItem(ctxT(t), "m", "k", ifmatch.SyncWrite{Data: map[string]any{}}); !errors.Is(err, ifmatch.ErrAlreadyExists) {
			t.Errorf("duplicate key: %v", err)
		}
		mi, err := e.sync.UpdateMapItem(ctxT(t), "m", "k", func(i *ifmatch.MapItem) error { i.Data["n"] = 2; return nil })
		if err != nil || mi.Data["n"] != json.Number("2") || mi.ETag != `"1"` {
			t.Fatalf("%v %v", mi, err)
		}
		if _, err := e.sync.UpdateMapItemIf(ctxT(t), "m", "k", `"0"`, ifmatch.SyncWrite{Data: map[string]any{}}); !errors.As(err, &ae) || ae.Code != 54205 {
			t.Errorf("stale map item: %v", err)
		}
		if err := e.sync.DeleteMapItemIf(ctxT(t), "m", "k", `"0"`); !errors.Is(err, ifmatch.ErrPreconditionFailed) {
			t.Errorf("stale delete: %v", err)
		}
		if err := e.sync.DeleteMapItem(ctxT(t), "m", "k"); err != nil {
			t.Error(err)
		}
		if _, err := e.sync.FetchMapItem(ctxT(t), "m", "k"); !errors.Is(err, ifmatch.ErrNotFound) {
			t.Errorf("deleted: %v", err)
		}
	}},
	{"list Tasks: name, routing-target and add-on filters and Ordering as the fake applies them", func(t *testing.T, e *contractEnv) {
		now := time.Now().UTC().Truncate(time.Second)
		rt := ifmatchtest.NewSID("WK")
		create := func(prio int, vst time.Time, target string) string {
			task, err := e.tasks.CreateTask(ctxT(t), ifmatch.TaskCreate{Priority: ptr(prio), VirtualStartTime: vst, RoutingTarget: target})
			if err != nil {
				t.Fatal(err)
			}
			return task.SID
		}
		t1 := create(1, now.Add(-2*time.Hour), rt)
		t2 := create(3, now.Add(-time.Hour), "")
		t3 := create(2, now.Add(-3*time.Hour), "")
		all := []string{t1, t2, t3}
		for _, c := range []struct {
			p       ifmatch.TaskListParams
			want    []string
			ordered bool
		}{
			{ifmatch.TaskListParams{WorkflowName: "Default Workflow"}, all, false},
			{ifmatch.TaskListParams{WorkflowName: "Other Workflow"}, nil, false},
			{ifmatch.TaskListParams{TaskQueueName: "Default Queue"}, all, false},
			{ifmatch.TaskListParams{TaskQueueName: "Other Queue"}, nil, false},
			{ifmatch.TaskListParams{RoutingTarget: rt}, []string{t1}, false},
			{ifmatch.TaskListParams{HasAddons: ptr(true)}, nil, false},
			{ifmatch.TaskListParams{HasAddons: ptr(false)}, all, false},
			{ifmatch.TaskListParams{Ordering: "Priority:desc"}, []string{t2, t3, t1}, true},
			{ifmatch.TaskListParams{Ordering: "VirtualStartTime:asc"}, []string{t3, t1, t2}, true},
			{ifmatch.TaskListParams{Ordering: "Priority:asc,DateCreated:desc"}, []string{t1, t3, t2}, true},
		} {
			var got []string
			for task, err := range e.tasks.ListTasks(ctxT(t), &c.p) {
				if err != nil {
					t.Fatalf("%+v: %v", c.p, err)
				}
				got = append(got, task.SID)
			}
			if !c.ordered {
				slices.Sort(got)
				c.want = slices.Sorted(slices.Values(c.want))
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("%+v: listed %v, want %v", c.p, got, c.want)
			}
		}
	}},
	{"list Tasks and Workers: a filter the fake refuses is a 400 naming it", func(t *testing.T, e *contractEnv) {
		e.addTask(nil)
		e.addWorker("w", nil)
		check := func(name string, seq func(func(error) bool)) {
			t.Helper()
			n := 0
			for err := range seq {
				n++
				var ae *ifmatch.APIError
				if !errors.As(err, &ae) || ae.Status != 400 || ae.Code != 20001 || !strings.Contains(ae.Message, name) {
					t.Errorf("%s: %v, want a 400 (code 20001) naming it", name, err)
				}
				if errors.Is(err, ifmatch.ErrInvalidArgument) || errors.Is(err, ifmatch.ErrNotFound) {
					t.Errorf("%s: %v matches a sentinel", name, err)
				}
			}
			if n != 1 {
				t.Errorf("%s: %d results, want one error", name, n)
			}
		}
		tasks := func(p ifmatch.TaskListParams) func(func(error) bool) {
			return func(yield func(error) bool) {
				for _, err := range e.tasks.ListTasks(ctxT(t), &p) {
					if !yield(err) {
						return
					}
				}
			}
		}
		workers := func(p ifmatch.WorkerListParams) func(func(error) bool) {
			return func(yield func(error) bool) {
				for _, err := range e.workers.ListWorkers(ctxT(t), &p) {
					if !yield(err) {
						return
					}
				}
			}
		}
		check("EvaluateTaskAttributes", tasks(ifmatch.TaskListParams{EvaluateTaskAttributes: "x == 1"}))
		check("Ordering", tasks(ifmatch.TaskListParams{Ordering: "bogus"}))
		check("Ordering", tasks(ifmatch.TaskListParams{Ordering: "Priority:up"}))
		check("TargetWorkersExpression", workers(ifmatch.WorkerListParams{TargetWorkersExpression: "x == 1"}))
		check("TaskQueueSid", workers(ifmatch.WorkerListParams{TaskQueueSID: ifmatchtest.NewSID("WQ")}))
		check("TaskQueueName", workers(ifmatch.WorkerListParams{TaskQueueName: "q"}))
		check("Ordering", workers(ifmatch.WorkerListParams{Ordering: "bogus"}))
		for _, err := range e.workers.ListWorkers(ctxT(t), &ifmatch.WorkerListParams{Ordering: "DateStatusChanged:desc"}) {
			if err != nil {
				t.Errorf("Workers Ordering DateStatusChanged:desc: %v", err)
			}
		}
	}},
	{"list page sizes are checked as the Client checks them", func(t *testing.T, e *contractEnv) {
		task, worker := e.addTask(nil), e.addWorker("w", nil)
		e.addDocument("d", nil)
		e.addListItem("l", nil)
		e.addMapItem("m", "k", nil)
		for _, c := range []struct {
			name  string
			limit int
			list  func(n int) error
		}{
			{"ListDocuments", 100, func(n int) error {
				for _, err := range e.sync.ListDocuments(ctxT(t), &ifmatch.SyncListParams{PageSize: n}) {
					return err
				}
				return nil
			}},
			{"ListListItems", 100, func(n int) error {
				for _, err := range e.sync.ListListItems(ctxT(t), "l", &ifmatch.SyncListParams{PageSize: n}) {
					return err
				}
				return nil
			}},
			{"ListMapItems", 100, func(n int) error {
				for _, err := range e.sync.ListMapItems(ctxT(t), "m", &ifmatch.SyncListParams{PageSize: n}) {
					return err
				}
				return nil
			}},
			{"ListTasks", 1000, func(n int) error {
				for _, err := range e.tasks.ListTasks(ctxT(t), &ifmatch.TaskListParams{PageSize: n}) {
					return err
				}
				return nil
			}},
			{"ListWorkers", 1000, func(n int) error {
				for _, err := range e.workers.ListWorkers(ctxT(t), &ifmatch.WorkerListParams{PageSize: n}) {
					return err
				}
				return nil
			}},
			{"ListTaskReservations", 1000, func(n int) error {
				for _, err := range e.workers.ListTaskReservations(ctxT(t), task, &ifmatch.ReservationListParams{PageSize: n}) {
					return err
				}
				return nil
			}},
			{"ListWorkerReservations", 1000, func(n int) error {
				for _, err := range e.workers.ListWorkerReservations(ctxT(t), worker, &ifmatch.ReservationListParams{PageSize: n}) {
					return err
				}
				return nil
			}},
		} {
			if err := c.list(c.limit); err != nil {
				t.Errorf("%s PageSize %d: %v", c.name, c.limit, err)
			}
			for _, n := range []int{c.limit + 1, 500, -1} {
				if n <= c.limit && n > 0 {
					continue
				}
				err := c.list(n)
				if !errors.Is(err, ifmatch.ErrInvalidArgument) || !strings.Contains(fmt.Sprint(err), "1-"+strconv.Itoa(c.limit)) {
					t.Errorf("%s PageSize %d: %v, want ErrInvalidArgument naming 1-%d", c.name, n, err, c.limit)
				}
			}
		}
	}},
	{"spec refusals before any request", specRefusals},
	{"a cancelled context ends every call with its error, nothing sent", cancelledContext},
	{"seeding an item creates its missing List or Map", func(t *testing.T, e *contractEnv) {
		if i := e.addListItem("new-list", map[string]any{"i": 0}); i != 0 {
			t.Errorf("first index %d", i)
		}
		if i := e.addListItem("new-list", map[string]any{"i": 1}); i != 1 {
			t.Errorf("second index %d", i)
		}
		var idx []int
		for it, err := range e.sync.ListListItems(ctxT(t), "new-list", nil) {
			if err != nil {
				t.Fatal(err)
			}
			idx = append(idx, it.Index)
		}
		if !slices.Equal(idx, []int{0, 1}) {
			t.Errorf("listed %v", idx)
		}
		e.addMapItem("new-map", "k", map[string]any{"n": 1})
		if mi, err := e.sync.FetchMapItem(ctxT(t), "new-map", "k"); err != nil || mi.Data["n"] != json.Number("1") {
			t.Errorf("seeded map item: %v %v", mi, err)
		}
	}},
}

// specRefusals are inputs the spec does not allow: each is an
// ErrInvalidArgument naming the field, before any request (a loop may read;
// it never writes), from the Client and the in-memory stubs alike.
func specRefusals(t *testing.T, e *contractEnv) {
	task, wk := e.addTask(nil), e.addWorker("w", nil)
	r := e.addReservation(task, wk)
	e.addListItem("l", map[string]any{"i": 0})
	e.addMapItem("m", "k", map[string]any{"i": 0})
	ctx, ws, sy := ctxT(t), e.workers, e.sync
	year, hour := 365*24*time.Hour, ifmatch.TTL(time.Hour)
	resv := func(p url.Values) ifmatch.ReservationUpdate { return ifmatch.ReservationUpdate{Params: p} }
	for _, c := range []struct {
		name, want string
		loop       bool // reads allowed
		call       func() error
	}{
		{"Params bypassing the status and SID checks", "use the field ReservationUpdate.ReservationStatus", false, func() error {
			_, err := ws.UpdateTaskReservationIf(ctx, task, r, `"0"`, resv(url.Values{"ReservationStatus": {"canceled"}, "WorkerActivitySid": {"../x"}}))
			return err
		}},
		{"Params naming a typed field also given", "ReservationUpdate.ReservationStatus", false, func() error {
			_, err := ws.UpdateTaskReservationIf(ctx, task, r, `"0"`, ifmatch.ReservationUpdate{ReservationStatus: ifmatch.ReservationAccepted,
				Params: url.Values{"ReservationStatus": {"rejected"}}})
			return err
		}},
		{"Params WorkerActivitySid", "ReservationUpdate.WorkerActivitySID", false, func() error {
			_, err := ws.UpdateWorkerReservationIf(ctx, wk, r, `"0"`, resv(url.Values{"WorkerActivitySid": {"../x"}}))
			return err
		}},
		{"Params Instruction", "ReservationUpdate.Instruction", false, func() error {
			_, err := ws.UpdateTaskReservationIf(ctx, task, r, `"0"`, resv(url.Values{"Instruction": {"dequeue"}}))
			return err
		}},
		{"Params PostWorkActivitySid", "ReservationUpdate.PostWorkActivitySID", false, func() error {
			_, err := ws.UpdateTaskReservationIf(ctx, task, r, `"0"`, resv(url.Values{"PostWorkActivitySid": {"WA" + strings.Repeat("1", 32)}}))
			return err
		}},
		{"Supervisor on the Worker path", `"Supervisor"`, false, func() error {
			_, err := ws.UpdateWorkerReservationIf(ctx, wk, r, `"0"`, ifmatch.ReservationUpdate{Instruction: "supervise",
				Params: url.Values{"Supervisor": {"client:bob"}}})
			return err
		}},
		{"SupervisorMode on the Worker path", `"SupervisorMode"`, false, func() error {
			_, err := ws.UpdateWorkerReservationIf(ctx, wk, r, `"0"`, resv(url.Values{"SupervisorMode": {"monitor"}}))
			return err
		}},
		{"CollectionTTL alone on a List item", "CollectionTTL", false, func() error {
			_, err := sy.UpdateListItemIf(ctx, "l", 0, `"0"`, ifmatch.SyncWrite{CollectionTTL: hour})
			return err
		}},
		{"CollectionTTL alone on a Map item", "CollectionTTL", false, func() error {
			_, err := sy.UpdateMapItemIf(ctx, "m", "k", `"0"`, ifmatch.SyncWrite{CollectionTTL: hour})
			return err
		}},
		{"TTL with ItemTTL", "SyncWrite.TTL and SyncWrite.ItemTTL", false, func() error {
			_, err := sy.UpdateMapItemIf(ctx, "m", "k", `"0"`, ifmatch.SyncWrite{TTL: ifmatch.TTL(time.Minute), ItemTTL: hour})
			return err
		}},
		{"TTL over a year", "SyncWrite.TTL", false, func() error {
			_, err := sy.CreateDocument(ctx, "d", ifmatch.SyncWrite{TTL: ifmatch.TTL(year + time.Second)})
			return err
		}},
		{"ItemTTL over a year", "SyncWrite.ItemTTL", false, func() error {
			_, err := sy.CreateMapItem(ctx, "m", "k2", ifmatch.SyncWrite{Data: map[string]any{}, ItemTTL: ifmatch.TTL(10 * year)})
			return err
		}},
		{"CollectionTTL over a year", "SyncWrite.CollectionTTL", false, func() error {
			_, err := sy.CreateListItem(ctx, "l", ifmatch.SyncWrite{Data: map[string]any{}, CollectionTTL: ifmatch.TTL(2 * year)})
			return err
		}},
		{"a key of 321 characters", "1-320 characters", false, func() error {
			_, err := sy.CreateMapItem(ctx, "m", strings.Repeat("é", 321), ifmatch.SyncWrite{Data: map[string]any{}})
			return err
		}},
		{"a mutator clearing ActivitySID", "Worker.ActivitySID cannot be cleared", true, func() error {
			_, err := ws.UpdateWorker(ctx, wk, func(w *ifmatch.Worker) error {
				w.ActivitySID, w.Attributes["k"] = "", 1
				return nil
			})
			return err
		}},
	} {
		sent, writes := e.sent(), e.writes()
		err := c.call()
		if !errors.Is(err, ifmatch.ErrInvalidArgument) || !strings.Contains(fmt.Sprint(err), c.want) {
			t.Errorf("%s: %v, want ErrInvalidArgument naming %s", c.name, err, c.want)
		}
		if e.writes() != writes || !c.loop && e.sent() != sent {
			t.Errorf("%s: %d requests (%d writes) sent for invalid input", c.name, e.sent()-sent, e.writes()-writes)
		}
	}
	// What the spec allows still goes through.
	if _, err := ws.UpdateTaskReservationIf(ctx, task, r, `"0"`, ifmatch.ReservationUpdate{Instruction: "supervise",
		Params: url.Values{"Supervisor": {"client:bob"}, "SupervisorMode": {"monitor"}}}); err != nil {
		t.Errorf("Supervisor on the Task path: %v", err)
	}
	if _, err := sy.UpdateListItemIf(ctx, "l", 0, `"0"`, ifmatch.SyncWrite{Data: map[string]any{"i": 1}, ItemTTL: ifmatch.TTL(year),
		CollectionTTL: ifmatch.TTL(year)}); err != nil {
		t.Errorf("CollectionTTL with Data, TTLs of one year: %v", err)
	}
	if _, err := sy.CreateMapItem(ctx, "m", strings.Repeat("é", 320), ifmatch.SyncWrite{Data: map[string]any{}}); err != nil {
		t.Errorf("a key of 320 characters (640 bytes): %v", err)
	}
}

// cancelledContext calls every method of the three interfaces with a
// context cancelled beforehand, on resources that exist: each ends with
// context.Canceled and nothing is written or sent.
func cancelledContext(t *testing.T, e *contractEnv) {
	task := e.addTask(map[string]any{"n": 1})
	worker := e.addWorker("w", nil)
	resv := e.addReservation(task, worker)
	doc := e.addDocument("d", map[string]any{"n": 1})
	idx := e.addListItem("l", map[string]any{"n": 1})
	e.addMapItem("m", "k", map[string]any{"n": 1})
	sent := e.sent()
	ctx, cancel := context.WithCancel(ctxT(t))
	cancel()
	p, data := ptr(5), ifmatch.SyncWrite{Data: map[string]any{"n": 2}}
	first := func(seq iter.Seq2[any, error]) error {
		for _, err := range seq {
			return err
		}
		return nil
	}
	calls := map[string]func() error{
		"FetchTask":  func() error { _, err := e.tasks.FetchTask(ctx, task); return err },
		"CreateTask": func() error { _, err := e.tasks.CreateTask(ctx, ifmatch.TaskCreate{}); return err },
		"ListTasks":  func() error { return first(anySeq(e.tasks.ListTasks(ctx, nil))) },
		"UpdateTask": func() error {
			_, err := e.tasks.UpdateTask(ctx, task, func(t *ifmatch.Task) error { t.Priority = 5; return nil })
			return err
		},
		"UpdateTaskIf": func() error {
			_, err := e.tasks.UpdateTaskIf(ctx, task, `"0"`, ifmatch.TaskUpdate{Priority: p})
			return err
		},
		"UpdateTaskLastWriteWins": func() error {
			_, err := e.tasks.UpdateTaskLastWriteWins(ctx, task, ifmatch.TaskUpdate{Priority: p})
			return err
		},
		"DeleteTask":   func() error { return e.tasks.DeleteTask(ctx, task) },
		"DeleteTaskIf": func() error { return e.tasks.DeleteTaskIf(ctx, task, `"0"`) },
		"FetchWorker":  func() error { _, err := e.workers.FetchWorker(ctx, worker); return err },
		"CreateWorker": func() error {
			_, err := e.workers.CreateWorker(ctx, ifmatch.WorkerCreate{FriendlyName: "x"})
			return err
		},
		"ListWorkers": func() error { return first(anySeq(e.workers.ListWorkers(ctx, nil))) },
		"UpdateWorker": func() error {
			_, err := e.workers.UpdateWorker(ctx, worker, func(w *ifmatch.Worker) error { w.Attributes["n"] = 2; return nil })
			return err
		},
		"UpdateWorkerIf": func() error {
			_, err := e.workers.UpdateWorkerIf(ctx, worker, `"0"`, ifmatch.WorkerUpdate{FriendlyName: "y"})
			return err
		},
		"UpdateWorkerLastWriteWins": func() error {
			_, err := e.workers.UpdateWorkerLastWriteWins(ctx, worker, ifmatch.WorkerUpdate{FriendlyName: "y"})
			return err
		},
		"DeleteWorker":           func() error { return e.workers.DeleteWorker(ctx, worker) },
		"DeleteWorkerIf":         func() error { return e.workers.DeleteWorkerIf(ctx, worker, `"0"`) },
		"FetchTaskReservation":   func() error { _, err := e.workers.FetchTaskReservation(ctx, task, resv); return err },
		"ListTaskReservations":   func() error { return first(anySeq(e.workers.ListTaskReservations(ctx, task, nil))) },
		"FetchWorkerReservation": func() error { _, err := e.workers.FetchWorkerReservation(ctx, worker, resv); return err },
		"ListWorkerReservations": func() error { return first(anySeq(e.workers.ListWorkerReservations(ctx, worker, nil))) },
		"UpdateTaskReservation": func() error {
			_, err := e.workers.UpdateTaskReservation(ctx, task, resv, func(r *ifmatch.Reservation) error {
				r.ReservationStatus = ifmatch.ReservationAccepted
				return nil
			})
			return err
		},
		"UpdateTaskReservationIf": func() error {
			_, err := e.workers.UpdateTaskReservationIf(ctx, task, resv, `"0"`, ifmatch.ReservationUpdate{ReservationStatus: ifmatch.ReservationAccepted})
			return err
		},
		"UpdateWorkerReservation": func() error {
			_, err := e.workers.UpdateWorkerReservation(ctx, worker, resv, func(r *ifmatch.Reservation) error {
				r.ReservationStatus = ifmatch.ReservationAccepted
				return nil
			})
			return err
		},
		"UpdateWorkerReservationIf": func() error {
			_, err := e.workers.UpdateWorkerReservationIf(ctx, worker, resv, `"0"`, ifmatch.ReservationUpdate{ReservationStatus: ifmatch.ReservationAccepted})
			return err
		},
		"FetchDocument":  func() error { _, err := e.sync.FetchDocument(ctx, doc); return err },
		"CreateDocument": func() error { _, err := e.sync.CreateDocument(ctx, "d2", data); return err },
		"ListDocuments":  func() error { return first(anySeq(e.sync.ListDocuments(ctx, nil))) },
		"UpdateDocument": func() error {
			_, err := e.sync.UpdateDocument(ctx, doc, func(d *ifmatch.Document) error { d.Data["n"] = 2; return nil })
			return err
		},
		"UpdateDocumentIf": func() error { _, err := e.sync.UpdateDocumentIf(ctx, doc, `"0"`, data); return err },
		"DeleteDocument":   func() error { return e.sync.DeleteDocument(ctx, doc) },
		"FetchListItem":    func() error { _, err := e.sync.FetchListItem(ctx, "l", idx); return err },
		"CreateListItem":   func() error { _, err := e.sync.CreateListItem(ctx, "l", data); return err },
		"ListListItems":    func() error { return first(anySeq(e.sync.ListListItems(ctx, "l", nil))) },
		"UpdateListItem": func() error {
			_, err := e.sync.UpdateListItem(ctx, "l", idx, func(i *ifmatch.ListItem) error { i.Data["n"] = 2; return nil })
			return err
		},
		"UpdateListItemIf": func() error { _, err := e.sync.UpdateListItemIf(ctx, "l", idx, `"0"`, data); return err },
		"DeleteListItem":   func() error { return e.sync.DeleteListItem(ctx, "l", idx) },
		"DeleteListItemIf": func() error { return e.sync.DeleteListItemIf(ctx, "l", idx, `"0"`) },
		"FetchMapItem":     func() error { _, err := e.sync.FetchMapItem(ctx, "m", "k"); return err },
		"CreateMapItem":    func() error { _, err := e.sync.CreateMapItem(ctx, "m", "k2", data); return err },
		"ListMapItems":     func() error { return first(anySeq(e.sync.ListMapItems(ctx, "m", nil))) },
		"UpdateMapItem": func() error {
			_, err := e.sync.UpdateMapItem(ctx, "m", "k", func(i *ifmatch.MapItem) error { i.Data["n"] = 2; return nil })
			return err
		},
		"UpdateMapItemIf": func() error { _, err := e.sync.UpdateMapItemIf(ctx, "m", "k", `"0"`, data); return err },
		"DeleteMapItem":   func() error { return e.sync.DeleteMapItem(ctx, "m", "k") },
		"DeleteMapItemIf": func() error { return e.sync.DeleteMapItemIf(ctx, "m", "k", `"0"`) },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: %v, want context.Canceled", name, err)
		}
	}
	if n := e.sent() - sent; n != 0 {
		t.Errorf("%d requests or writes with a cancelled context", n)
	}
}

// anySeq erases the item type of a list's iterator.
func anySeq[T any](seq iter.Seq2[*T, error]) iter.Seq2[any, error] {
	return func(yield func(any, error) bool) {
		for v, err := range seq {
			if !yield(v, err) {
				return
			}
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestContract runs the shared contract table against the real Client with
// the fake server and against the in-memory implementations.
func TestContract(t *testing.T) {
	t.Parallel()
	for envName, newEnv := range contractEnvs {
		t.Run(envName, func(t *testing.T) {
			t.Parallel()
			for _, c := range contractCases {
				t.Run(c.name, func(t *testing.T) { c.run(t, newEnv(t)) })
			}
		})
	}
}
