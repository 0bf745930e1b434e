package ifmatchtest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/ifmatchtest"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}

func newServer(t *testing.T, opts ...ifmatchtest.Option) *ifmatchtest.Server {
	srv := ifmatchtest.NewServer(opts...)
	t.Cleanup(srv.Close)
	return srv
}

// raw sends a request with the test credentials and returns status, ETag
// and the decoded JSON body.
func raw(t *testing.T, srv *ifmatchtest.Server, method, path, ifMatch string, form url.Values) (int, string, map[string]any) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, srv.URL+path, body)
	req.SetBasicAuth(ifmatchtest.AccountSID, ifmatchtest.AuthToken)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if ifMatch != "" {
		req.Header.Set("If-Match", ifMatch)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, resp.Header.Get("ETag"), m
}

func TestFakeVersioning(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	ws := srv.AddWorkspace()
	sid := srv.AddTask(ws, map[string]any{"a": 1})
	p := "/v1/Workspaces/" + ws + "/Tasks/" + sid
	code, etag, body := raw(t, srv, "GET", p, "", nil)
	if code != 200 || etag != `"0"` || body["attributes"] != `{"a":1}` || body["sid"] != sid {
		t.Fatalf("GET: %d %s %v", code, etag, body)
	}
	code, etag, _ = raw(t, srv, "POST", p, `"0"`, url.Values{"Priority": {"3"}})
	if code != 200 || etag != `"1"` {
		t.Fatalf("conditional POST: %d %s", code, etag)
	}
	code, _, body = raw(t, srv, "POST", p, `"0"`, url.Values{"Priority": {"4"}})
	if code != 412 || body["code"] != 20412.0 || body["status"] != 412.0 {
		t.Fatalf("stale POST: %d %v", code, body)
	}
	code, etag, _ = raw(t, srv, "POST", p, "", url.Values{"Priority": {"5"}})
	if code != 200 || etag != `"2"` {
		t.Fatalf("unconditional POST (last write wins): %d %s", code, etag)
	}
	if code, _, _ = raw(t, srv, "DELETE", p, `"1"`, nil); code != 412 {
		t.Fatalf("stale DELETE: %d", code)
	}
	if code, _, _ = raw(t, srv, "DELETE", p, `"2"`, nil); code != 204 {
		t.Fatalf("DELETE: %d", code)
	}
	if code, _, body = raw(t, srv, "GET", p, "", nil); code != 404 || body["code"] != 20404.0 {
		t.Fatalf("GET after delete: %d %v", code, body)
	}
}

func TestFakeErrors(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	ws := srv.AddWorkspace()
	sid := srv.AddTask(ws, nil)
	p := "/v1/Workspaces/" + ws + "/Tasks/" + sid
	for _, tc := range []struct {
		form  url.Values
		field string
	}{
		{url.Values{"Attributes": {"not json"}}, "Attributes"},
		{url.Values{"Attributes": {"[1]"}}, "Attributes"},
		{url.Values{"Priority": {"high"}}, "Priority"},
		{url.Values{"AssignmentStatus": {"done"}}, "AssignmentStatus"},
	} {
		code, _, body := raw(t, srv, "POST", p, "", tc.form)
		if code != 400 || !strings.Contains(fmt.Sprint(body["message"]), tc.field) {
			t.Errorf("%v: %d %v", tc.form, code, body)
		}
	}
	if _, v, _ := srv.TaskAttributes(ws, sid); v != 0 {
		t.Errorf("rejected writes changed the version to %d", v)
	}
	for _, bad := range []string{"/v1/Workspaces/" + ws + "/Tasks/WT123", "/v1/Workspaces/WSxyz/Tasks/" + sid, "/v1/Nothing"} {
		if code, _, _ := raw(t, srv, "GET", bad, "", nil); code != 404 {
			t.Errorf("%s: %d, want 404", bad, code)
		}
	}
	req, _ := http.NewRequest("GET", srv.URL+p, nil)
	req.SetBasicAuth(ifmatchtest.AccountSID, "wrong")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("wrong token: %d", resp.StatusCode)
	}
	// API key credentials are accepted.
	key, secret := srv.AddAPIKey()
	c := srv.Client(ifmatch.WithAPIKey(key, secret))
	if _, err := c.Workspace(ws).FetchTask(ctxT(t), sid); err != nil {
		t.Errorf("API key: %v", err)
	}
	bad := srv.Client(ifmatch.WithAPIKey(key, "nope"))
	if _, err := bad.Workspace(ws).FetchTask(ctxT(t), sid); !errors.Is(err, ifmatch.ErrUnauthorized) {
		t.Errorf("bad API secret: %v", err)
	}
}

func TestFakeCreateListDelete(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	ws := srv.AddWorkspace()
	w := srv.Client().Workspace(ws)
	ctx := ctxT(t)
	prio := 2
	var sids []string
	for i := 0; i < 5; i++ {
		tk, err := w.CreateTask(ctx, ifmatch.TaskCreate{Attributes: map[string]any{"i": i}, Priority: &prio})
		if err != nil {
			t.Fatal(err)
		}
		if tk.ETag != `"0"` || tk.Priority != 2 {
			t.Fatalf("created %+v", tk)
		}
		sids = append(sids, tk.SID)
	}
	var listed []string
	for tk, err := range w.ListTasks(ctx, &ifmatch.TaskListParams{PageSize: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		if tk.Attributes != nil {
			t.Errorf("listed task has attributes %v; Twilio sends null in lists", tk.Attributes)
		}
		listed = append(listed, tk.SID)
	}
	if len(listed) != 5 {
		t.Fatalf("listed %d tasks over pages, want 5", len(listed))
	}
	if n := srv.Count("GET"); n != 3 {
		t.Errorf("%d list pages fetched, want 3", n)
	}
	if err := w.DeleteTaskIf(ctx, sids[0], `"9"`); !errors.Is(err, ifmatch.ErrPreconditionFailed) {
		t.Errorf("stale delete: %v", err)
	}
	if err := w.DeleteTaskIf(ctx, sids[0], `"0"`); err != nil {
		t.Errorf("delete: %v", err)
	}
	if err := w.DeleteTask(ctx, sids[0]); !errors.Is(err, ifmatch.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
}

func TestFakeFaults(t *testing.T) {
	t.Parallel()
	t.Run("drop after commit", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t)
		ws := srv.AddWorkspace()
		sid := srv.AddTask(ws, nil)
		srv.Inject(ifmatchtest.Fault{Kind: ifmatchtest.DropAfterCommit, Method: "POST", Count: 1})
		_, err := srv.Client().Workspace(ws).UpdateTaskIf(ctxT(t), sid, `"0"`, ifmatch.TaskUpdate{Reason: "x"})
		if err == nil {
			t.Fatal("no error from a dropped connection")
		}
		if _, v, _ := srv.TaskAttributes(ws, sid); v != 1 {
			t.Fatalf("version %d: the write must have committed", v)
		}
		if n := srv.Count("POST"); n != 1 {
			t.Fatalf("%d POSTs: an ambiguous POST must not be retried by the transport", n)
		}
	})
	t.Run("503 with Retry-After then success", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t)
		ws := srv.AddWorkspace()
		sid := srv.AddTask(ws, nil)
		srv.Inject(ifmatchtest.Fault{Kind: ifmatchtest.Fail503, Method: "GET", Count: 2, RetryAfter: time.Second})
		if _, err := srv.Client().Workspace(ws).FetchTask(ctxT(t), sid); err != nil {
			t.Fatal(err)
		}
		if got := srv.CountStatus(503); got != 2 {
			t.Fatalf("%d 503s, want 2", got)
		}
	})
	t.Run("truncated body after commit", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t)
		ws := srv.AddWorkspace()
		sid := srv.AddTask(ws, nil)
		srv.Inject(ifmatchtest.Fault{Kind: ifmatchtest.TruncateAfterCommit, Method: "POST", Count: 1})
		task, err := srv.Client().Workspace(ws).UpdateTask(ctxT(t), sid, func(tk *ifmatch.Task) error {
			tk.Attributes["n"] = 1
			return nil
		})
		if err != nil || task.ETag != `"1"` {
			t.Fatalf("task %v err %v: a committed write with a cut body is read back", task, err)
		}
	})
	t.Run("stall until the client gives up", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t)
		ws := srv.AddWorkspace()
		sid := srv.AddTask(ws, nil)
		srv.Inject(ifmatchtest.Fault{Kind: ifmatchtest.Stall, Method: "GET", Count: 1})
		c := srv.Client(ifmatch.WithHTTPClient(&http.Client{Timeout: 50 * time.Millisecond}))
		if _, err := c.Workspace(ws).FetchTask(ctxT(t), sid); err != nil {
			t.Fatalf("the retried GET should succeed: %v", err)
		}
		stalls := 0
		for _, r := range srv.Requests() {
			if r.Fault == ifmatchtest.Stall {
				stalls++
			}
		}
		// The stalled GET and at least one retry (a loaded machine may time
		// out a retry too; the transport tries again).
		if n := srv.Count("GET"); stalls != 1 || n < 2 {
			t.Fatalf("%d GETs with %d stalls, want the stalled one and its retry", n, stalls)
		}
	})
	t.Run("html 502", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t)
		ws := srv.AddWorkspace()
		sid := srv.AddTask(ws, nil)
		srv.Inject(ifmatchtest.Fault{Kind: ifmatchtest.HTMLError, Method: "GET", Count: 10})
		_, err := srv.Client().Workspace(ws).FetchTask(ctxT(t), sid)
		var ae *ifmatch.APIError
		if !errors.As(err, &ae) || ae.Status != 502 || !strings.Contains(ae.Message, "Bad Gateway") {
			t.Fatalf("err = %v", err)
		}
	})
}

// The httpmock flavour of the fake behaves like the server.
func TestMockClient(t *testing.T) {
	t.Parallel()
	f := ifmatchtest.NewFake()
	ws := f.AddWorkspace()
	sid := f.AddTask(ws, nil)
	c, mt := f.MockClient(t, ifmatch.WithUpdateDefaults(ifmatch.Backoff(func() backoff.BackOff { return &backoff.ZeroBackOff{} })))
	f.Inject(ifmatchtest.Fault{Kind: ifmatchtest.Fail503, Method: "GET", Count: 1})
	other := 0
	_, err := c.Workspace(ws).UpdateTask(ctxT(t), sid, func(tk *ifmatch.Task) error {
		if other == 0 {
			other++
			f.SetTaskAttributes(ws, sid, map[string]any{"other": true}) // a concurrent writer
		}
		tk.Attributes["mine"] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	attrs, v, _ := f.TaskAttributes(ws, sid)
	if attrs["other"] != true || attrs["mine"] != true || v != 2 {
		t.Fatalf("attrs %v version %d: both writes must survive", attrs, v)
	}
	if n := mt.GetTotalCallCount(); n != 5 {
		t.Errorf("%d calls (GET 503, GET, POST 412, GET, POST), want 5", n)
	}
}

// N goroutines each make sure their own entry is in a list attribute, with
// after-commit connection drops injected: every entry lands exactly once.
func TestConcurrentIdempotentUpdatesWithDrops(t *testing.T) {
	t.Parallel()
	srv := newServer(t, ifmatchtest.WithSeed(7))
	ws := srv.AddWorkspace()
	sid := srv.AddTask(ws, map[string]any{"entries": []any{}})
	srv.Inject(ifmatchtest.Fault{Kind: ifmatchtest.DropAfterCommit, Method: "POST", Rate: 0.2})
	const n = 24
	shared := srv.Client()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := shared
			if i%2 == 0 {
				c = srv.Client() // as a separate process would
			}
			me := fmt.Sprintf("w%d", i)
			_, err := c.Workspace(ws).UpdateTask(ctxT(t), sid, func(tk *ifmatch.Task) error {
				list, _ := tk.Attributes["entries"].([]any)
				for _, e := range list {
					if e == me {
						return nil
					}
				}
				tk.Attributes["entries"] = append(list, me)
				return nil
			}, ifmatch.Idempotent(), ifmatch.MaxAttempts(1000), ifmatch.BackoffBounds(time.Millisecond, 20*time.Millisecond))
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("update: %v", err)
		}
	}
	attrs, _, _ := srv.TaskAttributes(ws, sid)
	list := attrs["entries"].([]any)
	seen := map[any]int{}
	for _, e := range list {
		seen[e]++
	}
	if len(list) != n || len(seen) != n {
		t.Fatalf("%d entries, %d distinct, want %d: %v", len(list), len(seen), n, list)
	}
	drops := 0
	for _, r := range srv.Requests() {
		if r.Fault == ifmatchtest.DropAfterCommit {
			drops++
		}
	}
	if drops == 0 {
		t.Fatal("no drop was injected: the test proves nothing")
	}
}

// A non-idempotent increment under drops: without markers some calls end in
// ErrOutcomeUnknown, but nothing is ever applied twice: the counter is at
// least the successes and at most successes + unknowns.
func TestConcurrentIncrementUnderDropsNeverDoubleApplies(t *testing.T) {
	t.Parallel()
	srv := newServer(t, ifmatchtest.WithSeed(11))
	ws := srv.AddWorkspace()
	sid := srv.AddTask(ws, map[string]any{"n": 0})
	srv.Inject(ifmatchtest.Fault{Kind: ifmatchtest.DropAfterCommit, Method: "POST", Rate: 0.25})
	const n = 24
	var mu sync.Mutex
	ok, unknown := 0, 0
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := srv.Client().Workspace(ws).UpdateTask(ctxT(t), sid, func(tk *ifmatch.Task) error {
				v, _ := tk.Attributes["n"].(json.Number).Int64()
				tk.Attributes["n"] = v + 1
				return nil
			}, ifmatch.MaxAttempts(1000), ifmatch.BackoffBounds(time.Millisecond, 20*time.Millisecond))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, ifmatch.ErrOutcomeUnknown):
				unknown++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}()
	}
	wg.Wait()
	attrs, _, _ := srv.TaskAttributes(ws, sid)
	got, _ := attrs["n"].(json.Number).Int64()
	if int(got) < ok || int(got) > ok+unknown {
		t.Fatalf("counter %d, successes %d, unknown %d: an update was lost or applied twice", got, ok, unknown)
	}
	if unknown == 0 {
		t.Log("no ambiguous outcome this run")
	}
}

// The httpmock flavour serves Workers and Sync too, with conflicts.
func TestMockClientWorkersAndSync(t *testing.T) {
	t.Parallel()
	f := ifmatchtest.NewFake()
	ws := f.AddWorkspace()
	wk := f.AddWorker(ws, "w", map[string]any{"skills": []any{}})
	svc := f.AddSyncService()
	doc := f.AddDocument(svc, "cfg", map[string]any{"v": 1})
	f.AddSyncMap(svc, "m")
	f.AddMapItem(svc, "m", "k", map[string]any{"v": 1})
	c, mt := f.MockClient(t)
	raced := false
	if _, err := c.Workspace(ws).UpdateWorker(ctxT(t), wk, func(w *ifmatch.Worker) error {
		if !raced {
			raced = true
			f.Inject(ifmatchtest.Fault{Kind: ifmatchtest.Fail503, Method: "GET", Count: 1})
		}
		w.Attributes["skills"] = []any{"en"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SyncService(svc).UpdateDocument(ctxT(t), doc, func(d *ifmatch.Document) error {
		d.Data["v"] = 2
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SyncService(svc).UpdateMapItemIf(ctxT(t), "m", "k", `"9"`, ifmatch.SyncWrite{Data: map[string]any{}}); !errors.Is(err, ifmatch.ErrPreconditionFailed) {
		t.Fatalf("stale map item write: %v", err)
	}
	if d, rev, _ := f.DocumentData(svc, doc); d["v"] != json.Number("2") || rev != 1 {
		t.Errorf("document %v rev %d", d, rev)
	}
	if a, _, _ := f.WorkerAttributes(ws, wk); len(a["skills"].([]any)) != 1 {
		t.Errorf("worker %v", a)
	}
	// worker GET, POST; doc GET answered 503 (injected by the first
	// mutator) and retried by the transport, GET, POST; map POST.
	if n := mt.GetTotalCallCount(); n != 6 {
		t.Errorf("%d calls, want 6", n)
	}
}

// TestFakeRefusesWhatTwilioRefuses: requests the spec does not allow, sent
// raw, get Twilio's 400 and change nothing.
func TestFakeRefusesWhatTwilioRefuses(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	ws, svc := srv.AddWorkspace(), srv.AddSyncService()
	task, wk := srv.AddTask(ws, nil), srv.AddWorker(ws, "w", nil)
	res := srv.AddReservation(ws, task, wk)
	srv.AddListItem(svc, "l", map[string]any{"i": 0})
	srv.AddMapItem(svc, "m", "k", map[string]any{"i": 0})
	sb := "/v1/Services/" + svc
	for _, tc := range []struct {
		name, path string
		form       url.Values
		want       string
	}{
		{"malformed WorkerActivitySid", "/v1/Workspaces/" + ws + "/Tasks/" + task + "/Reservations/" + res,
			url.Values{"ReservationStatus": {"rejected"}, "WorkerActivitySid": {"../x"}}, "WorkerActivitySid"},
		{"status TaskRouter sets", "/v1/Workspaces/" + ws + "/Workers/" + wk + "/Reservations/" + res,
			url.Values{"ReservationStatus": {"canceled"}}, "ReservationStatus"},
		{"CollectionTtl alone", sb + "/Lists/l/Items/0", url.Values{"CollectionTtl": {"60"}}, "CollectionTtl"},
		{"Ttl over a year", sb + "/Maps/m/Items/k", url.Values{"Ttl": {"31536001"}}, "Ttl"},
		{"ItemTtl over a year", sb + "/Maps/m/Items", url.Values{"Key": {"k2"}, "Data": {"{}"}, "ItemTtl": {"99999999"}}, "ItemTtl"},
		{"Key over 320 characters", sb + "/Maps/m/Items", url.Values{"Key": {strings.Repeat("é", 321)}, "Data": {"{}"}}, "320 characters"},
		{"UniqueName over 320 characters", sb + "/Documents", url.Values{"UniqueName": {strings.Repeat("日", 321)}}, "320 characters"},
		{"collection Ttl over a year", sb + "/Lists/l", url.Values{"Ttl": {"31536001"}}, "Ttl"},
	} {
		code, _, body := raw(t, srv, "POST", tc.path, "", tc.form)
		if msg, _ := body["message"].(string); code != 400 || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: %d %v, want 400 naming %s", tc.name, code, body, tc.want)
		}
	}
	if st, v, _ := srv.ReservationStatus(res); st != "pending" || v != 0 {
		t.Errorf("reservation changed: %s v%d", st, v)
	}
	// Ttl and ItemTtl both: Twilio uses ItemTtl and ignores Ttl.
	code, _, body := raw(t, srv, "POST", sb+"/Maps/m/Items/k", "", url.Values{"Ttl": {"60"}, "ItemTtl": {"31536000"}})
	exp, _ := time.Parse(time.RFC3339, fmt.Sprint(body["date_expires"]))
	if code != 200 || time.Until(exp) < 364*24*time.Hour {
		t.Errorf("Ttl with ItemTtl: %d, expires %v", code, body["date_expires"])
	}
}

// fatalRecorder records Fatal instead of ending the test.
type fatalRecorder struct{ msgs []string }

func (r *fatalRecorder) Fatal(args ...any) { r.msgs = append(r.msgs, fmt.Sprint(args...)) }

// MockClient refuses what would make it lie: an ifmatch.WithHTTPClient
// (which would send requests to the network) and an option the Client
// refuses fail the test through t.Fatal, or panic when t is nil; and it
// never changes a Server.
func TestMockClientRefusals(t *testing.T) {
	t.Parallel()
	f := ifmatchtest.NewFake()
	var rec fatalRecorder
	c, mt := f.MockClient(&rec, ifmatch.WithHTTPClient(&http.Client{Timeout: time.Second}))
	if c != nil || mt != nil || len(rec.msgs) != 1 || !strings.Contains(rec.msgs[0], "WithHTTPClient") ||
		!strings.Contains(rec.msgs[0], "MockTransport") {
		t.Errorf("WithHTTPClient: %v %v %q", c, mt, rec.msgs)
	}
	rec.msgs = nil
	if c, _ := f.MockClient(&rec, ifmatch.WithRegion("ie1")); c != nil || len(rec.msgs) != 1 ||
		!strings.Contains(rec.msgs[0], "ifmatchtest: MockClient: ") {
		t.Errorf("bad option: %v %q", c, rec.msgs)
	}
	func() {
		defer func() {
			if p := fmt.Sprint(recover()); !strings.Contains(p, "WithHTTPClient") {
				t.Errorf("nil t: panic %q", p)
			}
		}()
		f.MockClient(nil, ifmatch.WithHTTPClient(http.DefaultClient))
	}()

	srv := newServer(t)
	ws := srv.AddWorkspace()
	sid := srv.AddTask(ws, nil)
	before := srv.URL
	mc, _ := srv.MockClient(t)
	if _, err := mc.Workspace(ws).FetchTask(ctxT(t), sid); err != nil {
		t.Fatal(err)
	}
	task, err := srv.Client().Workspace(ws).FetchTask(ctxT(t), sid)
	if err != nil || srv.URL != before || !strings.HasPrefix(task.URL, before+"/") {
		t.Errorf("a Server's Fake after MockClient: URL %s (was %s), task %v, %v", srv.URL, before, task, err)
	}
}

// MockTransport serves a client built with the test's own *http.Client.
func TestMockTransportOwnHTTPClient(t *testing.T) {
	t.Parallel()
	f := ifmatchtest.NewFake()
	ws := f.AddWorkspace()
	sid := f.AddTask(ws, nil)
	mt := f.MockTransport(t)
	hc := &http.Client{Transport: f.CallTransport(mt), Timeout: time.Second}
	c, err := ifmatch.NewClient(ifmatchtest.AccountSID, ifmatchtest.AuthToken,
		ifmatch.WithBaseURL(ifmatchtest.MockBaseURL), ifmatch.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	task, err := c.Workspace(ws).FetchTask(ctxT(t), sid)
	if err != nil || task.URL != ifmatchtest.TaskURL(ws, sid) || mt.GetTotalCallCount() != 1 {
		t.Fatalf("%v %v, %d calls", task, err, mt.GetTotalCallCount())
	}
}

// CommitMarkers as a Client default applies to resources with attributes
// or data and is left out of reservation updates, which still run.
func TestDefaultCommitMarkersSpareReservations(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	ws := srv.AddWorkspace()
	task, wk := srv.AddTask(ws, nil), srv.AddWorker(ws, "w", nil)
	r := srv.AddReservation(ws, task, wk)
	c := srv.Client(ifmatch.WithUpdateDefaults(ifmatch.CommitMarkers("")))
	got, err := c.Workspace(ws).UpdateTaskReservation(ctxT(t), task, r, func(r *ifmatch.Reservation) error {
		r.ReservationStatus = ifmatch.ReservationAccepted
		return nil
	})
	if err != nil || got.ReservationStatus != ifmatch.ReservationAccepted {
		t.Fatalf("%v %v", got, err)
	}
}
