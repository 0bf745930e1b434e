package ifmatch_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/ifmatchtest"
)

func fakeServer(t *testing.T) *ifmatchtest.Server {
	srv := ifmatchtest.NewServer()
	t.Cleanup(srv.Close)
	return srv
}

// concurrentAppend runs n goroutines that each make sure their entry is in
// the "entries" list of obj, through update; it returns the final list.
func concurrentAppend(t *testing.T, n int, update func(ctx context.Context, me string) error) {
	t.Helper()
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(me string) {
			defer wg.Done()
			if err := update(ctxT(t), me); err != nil {
				t.Errorf("%s: %v", me, err)
			}
		}(fmt.Sprintf("w%d", i))
	}
	wg.Wait()
}

// addEntry is an idempotent mutation of a JSON object: make sure me is in
// obj["entries"].
func addEntry(obj map[string]any, me string) {
	list, _ := obj["entries"].([]any)
	for _, e := range list {
		if e == me {
			return
		}
	}
	obj["entries"] = append(list, me)
}

func checkEntries(t *testing.T, obj map[string]any, n int) {
	t.Helper()
	list, _ := obj["entries"].([]any)
	seen := map[any]bool{}
	for _, e := range list {
		seen[e] = true
	}
	if len(list) != n || len(seen) != n {
		t.Fatalf("%d entries (%d distinct), want %d: %v", len(list), len(seen), n, list)
	}
}

var fastLoop = []ifmatch.UpdateOption{ifmatch.MaxAttempts(500), ifmatch.BackoffBounds(time.Millisecond, 10*time.Millisecond)}

func TestWorkerCRUDAndLoop(t *testing.T) {
	t.Parallel()
	srv := fakeServer(t)
	wsSID := srv.AddWorkspace()
	ws := srv.Client().Workspace(wsSID)
	ctx := ctxT(t)
	wk, err := ws.CreateWorker(ctx, ifmatch.WorkerCreate{FriendlyName: "alice", Attributes: map[string]any{"skills": []any{"en"}, "capacity": 2}})
	if err != nil {
		t.Fatal(err)
	}
	if wk.ETag != `"0"` || wk.FriendlyName != "alice" || wk.Attributes["capacity"] != json.Number("2") {
		t.Fatalf("created %+v", wk)
	}
	if _, err := ws.CreateWorker(ctx, ifmatch.WorkerCreate{}); !errors.Is(err, ifmatch.ErrInvalidArgument) {
		t.Errorf("worker without FriendlyName: %v", err)
	}
	concurrentAppend(t, 12, func(ctx context.Context, me string) error {
		_, err := srv.Client().Workspace(wsSID).UpdateWorker(ctx, wk.SID, func(w *ifmatch.Worker) error {
			addEntry(w.Attributes, me)
			return nil
		}, fastLoop...)
		return err
	})
	attrs, _, _ := srv.WorkerAttributes(wsSID, wk.SID)
	checkEntries(t, attrs, 12)
	if attrs["capacity"] != json.Number("2") {
		t.Errorf("untouched attribute changed: %v", attrs)
	}

	// Activity and name; a read-only field is refused.
	w2, err := ws.UpdateWorker(ctx, wk.SID, func(w *ifmatch.Worker) error {
		w.ActivitySID = "WA" + strings.Repeat("1", 32)
		w.FriendlyName = "alice b"
		return nil
	})
	if err != nil || !w2.Available || w2.FriendlyName != "alice b" {
		t.Fatalf("activity update: %+v %v", w2, err)
	}
	_, err = ws.UpdateWorker(ctx, wk.SID, func(w *ifmatch.Worker) error { w.Available = false; return nil })
	if !errors.Is(err, ifmatch.ErrInvalidArgument) || !strings.Contains(err.Error(), "Worker.Available") {
		t.Errorf("read-only Available: %v", err)
	}
	var n int
	for w, err := range ws.ListWorkers(ctx, &ifmatch.WorkerListParams{PageSize: 1}) {
		if err != nil || w.SID != wk.SID {
			t.Fatalf("list: %v %v", w, err)
		}
		n++
	}
	if n != 1 {
		t.Errorf("listed %d workers", n)
	}
	if _, err := ws.UpdateWorkerIf(ctx, wk.SID, `"0"`, ifmatch.WorkerUpdate{FriendlyName: "x"}); !errors.Is(err, ifmatch.ErrPreconditionFailed) {
		t.Errorf("stale UpdateWorkerIf: %v", err)
	}
	if err := ws.DeleteWorkerIf(ctx, wk.SID, `"0"`); !errors.Is(err, ifmatch.ErrPreconditionFailed) {
		t.Errorf("stale delete: %v", err)
	}
	if err := ws.DeleteWorkerIf(ctx, wk.SID, w2.ETag); err != nil {
		t.Errorf("delete: %v", err)
	}
	if _, err := ws.FetchWorker(ctx, wk.SID); !errors.Is(err, ifmatch.ErrNotFound) {
		t.Errorf("fetch after delete: %v", err)
	}
}

func TestReservations(t *testing.T) {
	t.Parallel()
	srv := fakeServer(t)
	wsSID := srv.AddWorkspace()
	task := srv.AddTask(wsSID, nil)
	worker := srv.AddWorker(wsSID, "bob", nil)
	res := srv.AddReservation(wsSID, task, worker)
	ws := srv.Client().Workspace(wsSID)
	ctx := ctxT(t)

	r, err := ws.FetchTaskReservation(ctx, task, res)
	if err != nil || r.ReservationStatus != ifmatch.ReservationPending || r.WorkerName != "bob" || r.ETag != `"0"` {
		t.Fatalf("fetch: %+v %v", r, err)
	}
	// Invalid statuses and moves are refused before any request.
	before := srv.Count("")
	if _, err := ws.UpdateTaskReservationIf(ctx, task, res, r.ETag, ifmatch.ReservationUpdate{ReservationStatus: "timeout"}); !errors.Is(err, ifmatch.ErrInvalidArgument) {
		t.Errorf("timeout is TaskRouter's to set: %v", err)
	}
	if _, err := ws.UpdateTaskReservationIf(ctx, task, res, r.ETag, ifmatch.ReservationUpdate{ReservationStatus: "bogus"}); !errors.Is(err, ifmatch.ErrInvalidArgument) {
		t.Errorf("bogus status: %v", err)
	}
	if _, err := ws.UpdateTaskReservationIf(ctx, task, res, r.ETag, ifmatch.ReservationUpdate{Params: map[string][]string{"Nope": {"1"}}}); !errors.Is(err, ifmatch.ErrInvalidArgument) {
		t.Errorf("unknown param: %v", err)
	}
	_, err = ws.UpdateTaskReservation(ctx, task, res, func(r *ifmatch.Reservation) error {
		r.ReservationStatus = ifmatch.ReservationCompleted // pending → completed is not a move
		return nil
	})
	if !errors.Is(err, ifmatch.ErrInvalidArgument) || !strings.Contains(err.Error(), "pending to completed") {
		t.Errorf("bad move: %v", err)
	}
	if srv.Count("") != before+1 { // only the loop's GET
		t.Errorf("%d requests sent for invalid input", srv.Count("")-before)
	}

	// Accept from the worker's side, conditionally; then wrap from the task's.
	r2, err := ws.UpdateWorkerReservationIf(ctx, worker, res, r.ETag, ifmatch.ReservationUpdate{ReservationStatus: ifmatch.ReservationAccepted})
	if err != nil || r2.ReservationStatus != ifmatch.ReservationAccepted {
		t.Fatalf("accept: %+v %v", r2, err)
	}
	if _, err := ws.UpdateTaskReservationIf(ctx, task, res, r.ETag, ifmatch.ReservationUpdate{ReservationStatus: ifmatch.ReservationRejected}); !errors.Is(err, ifmatch.ErrPreconditionFailed) {
		t.Errorf("stale reject: %v", err)
	}
	var res3 ifmatch.OperationResult
	r3, err := ws.UpdateTaskReservation(ctx, task, res, func(r *ifmatch.Reservation) error {
		if r.ReservationStatus == ifmatch.ReservationAccepted {
			r.ReservationStatus = ifmatch.ReservationWrapping
		}
		return nil
	}, ifmatch.ReportResult(&res3))
	if err != nil || r3.ReservationStatus != ifmatch.ReservationWrapping || res3 != ifmatch.Updated {
		t.Fatalf("wrap: %+v %v %s", r3, err, res3)
	}
	if st, _, _ := srv.ReservationStatus(res); st != "wrapping" {
		t.Errorf("server status %s", st)
	}
	var listed int
	for r, err := range ws.ListWorkerReservations(ctx, worker, &ifmatch.ReservationListParams{ReservationStatus: ifmatch.ReservationWrapping}) {
		if err != nil || r.SID != res {
			t.Fatalf("list: %v %v", r, err)
		}
		listed++
	}
	if listed != 1 {
		t.Errorf("listed %d", listed)
	}
	for _, err := range ws.ListWorkerReservations(ctx, worker, &ifmatch.ReservationListParams{WorkerSID: worker}) {
		if !errors.Is(err, ifmatch.ErrInvalidArgument) {
			t.Errorf("WorkerSID filter on a worker's list: %v", err)
		}
	}
}

func TestSyncDocuments(t *testing.T) {
	t.Parallel()
	srv := fakeServer(t)
	svcSID := srv.AddSyncService()
	svc := srv.Client().SyncService(svcSID)
	ctx := ctxT(t)
	doc, err := svc.CreateDocument(ctx, "shared-state", ifmatch.SyncWrite{Data: map[string]any{"id": json.Number("1234567890123456789")}, TTL: ifmatch.TTL(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if doc.Revision != "0" || doc.ETag != `"0"` || doc.DateExpires.IsZero() {
		t.Fatalf("created %+v", doc)
	}
	concurrentAppend(t, 12, func(ctx context.Context, me string) error {
		_, err := srv.Client().SyncService(svcSID).UpdateDocument(ctx, "shared-state", func(d *ifmatch.Document) error {
			addEntry(d.Data, me)
			return nil
		}, fastLoop...)
		return err
	})
	data, rev, _ := srv.DocumentData(svcSID, doc.SID)
	checkEntries(t, data, 12)
	if data["id"] != json.Number("1234567890123456789") {
		t.Errorf("id changed: %v", data["id"])
	}
	d2, err := svc.FetchDocument(ctx, doc.SID)
	if err != nil || d2.Revision != fmt.Sprint(rev) {
		t.Fatalf("fetch by SID: %+v %v", d2, err)
	}
	_, err = svc.UpdateDocumentIf(ctx, "shared-state", `"0"`, ifmatch.SyncWrite{Data: map[string]any{}})
	var ae *ifmatch.APIError
	if !errors.As(err, &ae) || ae.Status != 412 || ae.Code != 54103 {
		t.Errorf("stale document write: %v", err)
	}
	big := map[string]any{"blob": strings.Repeat("x", ifmatch.MaxSyncDataBytes)}
	before := srv.Count("")
	if _, err := svc.UpdateDocumentIf(ctx, "shared-state", d2.ETag, ifmatch.SyncWrite{Data: big}); !errors.Is(err, ifmatch.ErrInvalidArgument) || !strings.Contains(err.Error(), "16384") {
		t.Errorf("oversized data: %v", err)
	}
	_, err = svc.UpdateDocument(ctx, "shared-state", func(d *ifmatch.Document) error { d.Data = big; return nil })
	if !errors.Is(err, ifmatch.ErrInvalidArgument) {
		t.Errorf("oversized data in the loop: %v", err)
	}
	if _, err := svc.UpdateDocumentIf(ctx, doc.SID, d2.ETag, ifmatch.SyncWrite{ItemTTL: ifmatch.TTL(time.Second)}); !errors.Is(err, ifmatch.ErrInvalidArgument) {
		t.Errorf("ItemTTL on a document: %v", err)
	}
	if srv.Count("")-before != 1 {
		t.Errorf("%d requests for refused input, want only the loop's GET", srv.Count("")-before)
	}
	for _, bad := range []string{"", ".", "..", "a\nb", strings.Repeat("x", 321)} {
		if _, err := svc.FetchDocument(ctx, bad); !errors.Is(err, ifmatch.ErrInvalidArgument) {
			t.Errorf("document name %q: %v", bad, err)
		}
	}
	var n int
	for _, err := range svc.ListDocuments(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1 {
		t.Errorf("listed %d documents", n)
	}
	if err := svc.DeleteDocument(ctx, "shared-state"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.FetchDocument(ctx, "shared-state"); !errors.Is(err, ifmatch.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
}

func TestSyncListAndMapItems(t *testing.T) {
	t.Parallel()
	srv := fakeServer(t)
	svcSID := srv.AddSyncService()
	srv.AddSyncList(svcSID, "queue")
	srv.AddSyncMap(svcSID, "agents")
	svc := srv.Client().SyncService(svcSID)
	ctx := ctxT(t)

	item, err := svc.CreateListItem(ctx, "queue", ifmatch.SyncWrite{Data: map[string]any{"n": 0}, ItemTTL: ifmatch.TTL(time.Minute)})
	if err != nil || item.Index != 0 {
		t.Fatalf("create list item: %+v %v", item, err)
	}
	concurrentAppend(t, 10, func(ctx context.Context, me string) error {
		_, err := srv.Client().SyncService(svcSID).UpdateListItem(ctx, "queue", 0, func(it *ifmatch.ListItem) error {
			addEntry(it.Data, me)
			return nil
		}, fastLoop...)
		return err
	})
	data, _, _ := srv.ListItemData(svcSID, "queue", 0)
	checkEntries(t, data, 10)
	_, err = svc.UpdateListItemIf(ctx, "queue", 0, `"0"`, ifmatch.SyncWrite{Data: map[string]any{}})
	var ae *ifmatch.APIError
	if !errors.As(err, &ae) || ae.Code != 54155 {
		t.Errorf("stale list item write: %v", err)
	}
	if err := svc.DeleteListItemIf(ctx, "queue", 0, `"0"`); !errors.Is(err, ifmatch.ErrPreconditionFailed) {
		t.Errorf("stale list item delete: %v", err)
	}

	key := "agent/42 ?#%" // needs escaping in a path
	if _, err := svc.CreateMapItem(ctx, "agents", key, ifmatch.SyncWrite{Data: map[string]any{"state": "idle"}}); err != nil {
		t.Fatal(err)
	}
	concurrentAppend(t, 10, func(ctx context.Context, me string) error {
		_, err := srv.Client().SyncService(svcSID).UpdateMapItem(ctx, "agents", key, func(it *ifmatch.MapItem) error {
			addEntry(it.Data, me)
			return nil
		}, fastLoop...)
		return err
	})
	data, rev, ok := srv.MapItemData(svcSID, "agents", key)
	if !ok {
		t.Fatal("map item missing")
	}
	checkEntries(t, data, 10)
	it, err := svc.FetchMapItem(ctx, "agents", key)
	if err != nil || it.Key != key || it.Data["state"] != "idle" {
		t.Fatalf("fetch map item: %+v %v", it, err)
	}
	if err := svc.DeleteMapItemIf(ctx, "agents", key, fmt.Sprintf(`"%d"`, rev)); err != nil {
		t.Errorf("delete map item: %v", err)
	}
	for _, bad := range []string{"", "..", "."} {
		if _, err := svc.FetchMapItem(ctx, "agents", bad); !errors.Is(err, ifmatch.ErrInvalidArgument) {
			t.Errorf("key %q: %v", bad, err)
		}
	}
	if _, err := svc.FetchListItem(ctx, "queue", -1); !errors.Is(err, ifmatch.ErrInvalidArgument) {
		t.Errorf("negative index: %v", err)
	}
}

type routing struct {
	Skills   []string `json:"skills"`
	Priority int      `json:"priority,omitempty"`
}

func TestTypedHelpersPreserveUnknownFields(t *testing.T) {
	t.Parallel()
	srv := fakeServer(t)
	wsSID := srv.AddWorkspace()
	taskSID := srv.AddTask(wsSID, map[string]any{"skills": []any{"en"}, "priority": 3, "crm_id": json.Number("98765432109876543210")})
	ws := srv.Client().Workspace(wsSID)
	r, task, err := ifmatch.UpdateTaskAttributes(ctxT(t), ws, taskSID, func(r *routing) error {
		r.Skills = append(r.Skills, "fr")
		r.Priority = 0 // omitempty: the key goes away
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Skills) != 2 || task.ETag != `"1"` {
		t.Fatalf("typed result %+v %s", r, task.ETag)
	}
	attrs, _, _ := srv.TaskAttributes(wsSID, taskSID)
	if attrs["crm_id"] != json.Number("98765432109876543210") {
		t.Errorf("unknown field lost or changed: %v", attrs)
	}
	if _, ok := attrs["priority"]; ok {
		t.Errorf("omitted field kept: %v", attrs)
	}

	wk := srv.AddWorker(wsSID, "w", map[string]any{"skills": []any{}, "other": true})
	if _, _, err := ifmatch.UpdateWorkerAttributes(ctxT(t), ws, wk, func(r *routing) error {
		r.Skills = []string{"de"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	wattrs, _, _ := srv.WorkerAttributes(wsSID, wk)
	if wattrs["other"] != true || len(wattrs["skills"].([]any)) != 1 {
		t.Errorf("worker attrs %v", wattrs)
	}

	svcSID := srv.AddSyncService()
	srv.AddDocument(svcSID, "cfg", map[string]any{"keep": "me"})
	srv.AddSyncMap(svcSID, "m")
	srv.AddMapItem(svcSID, "m", "k", map[string]any{"keep": 1})
	srv.AddSyncList(svcSID, "l")
	srv.AddListItem(svcSID, "l", map[string]any{"keep": 2})
	svc := srv.Client().SyncService(svcSID)
	set := func(r *routing) error { r.Skills = []string{"x"}; return nil }
	if _, _, err := ifmatch.UpdateDocumentData(ctxT(t), svc, "cfg", set); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ifmatch.UpdateMapItemData(ctxT(t), svc, "m", "k", set); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ifmatch.UpdateListItemData(ctxT(t), svc, "l", 0, set); err != nil {
		t.Fatal(err)
	}
	doc, _, _ := srv.DocumentData(svcSID, "cfg")
	mi, _, _ := srv.MapItemData(svcSID, "m", "k")
	li, _, _ := srv.ListItemData(svcSID, "l", 0)
	for loc, d := range map[string]map[string]any{"document": doc, "map item": mi, "list item": li} {
		if d["keep"] == nil || len(d["skills"].([]any)) != 1 {
			t.Errorf("%v: %v", loc, d)
		}
	}
	// A type that does not fit the stored JSON is a clear error, nothing written.
	_, _, err = ifmatch.UpdateTaskAttributes(ctxT(t), ws, taskSID, func(p *struct {
		Skills int `json:"skills"`
	}) error {
		return nil
	})
	if !errors.Is(err, ifmatch.ErrMutatorAborted) || !errors.Is(err, ifmatch.ErrBadResponse) {
		t.Errorf("mismatched type: %v", err)
	}
}

// Sync lists take at most 100 items a page (Twilio's spec), TaskRouter
// lists 1000: a larger size is refused before any request.
func TestSyncPageSizeLimit(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	svc := c.SyncService("IS0123456789abcdef0123456789abcdef")
	var err error
	for _, err = range svc.ListDocuments(ctxT(t), &ifmatch.SyncListParams{PageSize: 101}) {
		break
	}
	if !errors.Is(err, ifmatch.ErrInvalidArgument) || !strings.Contains(err.Error(), "1-100") {
		t.Fatalf("PageSize 101: err = %v, want ErrInvalidArgument naming 1-100", err)
	}
	if n := len(m.log()); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
}
