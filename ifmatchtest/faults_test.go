package ifmatchtest_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/ifmatchtest"
)

// TestETagStyles: every resource with an ETag spells it in the fake's style,
// a fresh ETag is accepted in If-Match, a stale one gets 412, and opaque
// decimal ETags are not ordered.
func TestETagStyles(t *testing.T) {
	t.Parallel()
	shape := map[ifmatchtest.ETagStyle]*regexp.Regexp{
		ifmatchtest.QuotedIntETags: regexp.MustCompile(`^"[0-9]+"$`),
		ifmatchtest.BareIntETags:   regexp.MustCompile(`^[0-9]+$`),
		ifmatchtest.HexETags:       regexp.MustCompile(`^"[0-9a-f]{16}"$`),
		ifmatchtest.DecimalETags:   regexp.MustCompile(`^"[0-9]{1,10}"$`),
	}
	for _, style := range ifmatchtest.ETagStyles {
		t.Run(style.String(), func(t *testing.T) {
			t.Parallel()
			srv := newServer(t, ifmatchtest.WithETagStyle(style))
			ws := srv.AddWorkspace()
			task := srv.AddTask(ws, nil)
			wk := srv.AddWorker(ws, "w", nil)
			wr := srv.AddReservation(ws, task, wk)
			svc := srv.AddSyncService()
			doc := srv.AddDocument(svc, "", nil)
			srv.AddSyncList(svc, "l")
			idx := srv.AddListItem(svc, "l", nil)
			srv.AddSyncMap(svc, "m")
			srv.AddMapItem(svc, "m", "k", nil)
			data := url.Values{"Data": {"{}"}}
			for _, tc := range []struct {
				path string
				form url.Values
			}{
				{"/v1/Workspaces/" + ws + "/Tasks/" + task, url.Values{"Priority": {"1"}}},
				{"/v1/Workspaces/" + ws + "/Workers/" + wk, url.Values{"Attributes": {"{}"}}},
				{"/v1/Workspaces/" + ws + "/Tasks/" + task + "/Reservations/" + wr, url.Values{}},
				{"/v1/Services/" + svc + "/Documents/" + doc, data},
				{"/v1/Services/" + svc + "/Lists/l/Items/" + strconv.Itoa(idx), data},
				{"/v1/Services/" + svc + "/Maps/m/Items/k", data},
			} {
				code, e0, body := raw(t, srv, "GET", tc.path, "", nil)
				if code != 200 || !shape[style].MatchString(e0) {
					t.Fatalf("GET %s: %d, ETag %s", tc.path, code, e0)
				}
				if rev, ok := body["revision"]; ok && rev != strings.Trim(e0, `"`) {
					t.Errorf("GET %s: revision %v, ETag %s", tc.path, rev, e0)
				}
				seen := map[string]bool{e0: true}
				prev := e0
				for i := 0; i < 3; i++ {
					code, e, _ := raw(t, srv, "POST", tc.path, prev, tc.form)
					if code != 200 || !shape[style].MatchString(e) || seen[e] {
						t.Fatalf("POST %s If-Match %s: %d, ETag %s (seen: %v)", tc.path, prev, code, e, seen)
					}
					seen[e] = true
					prev = e
				}
				if code, _, _ := raw(t, srv, "POST", tc.path, e0, tc.form); code != 412 {
					t.Fatalf("POST %s with the stale ETag %s: %d, want 412", tc.path, e0, code)
				}
				if code, _, _ := raw(t, srv, "POST", tc.path, "W/"+prev, tc.form); code != 412 {
					t.Fatalf("POST %s with a weak If-Match: %d, want 412", tc.path, code)
				}
			}
			if style != ifmatchtest.DecimalETags {
				return
			}
			// Opaque digits: some later version must read as a smaller number.
			p := "/v1/Workspaces/" + ws + "/Tasks/" + task
			_, e, _ := raw(t, srv, "GET", p, "", nil)
			for i := 0; i < 64; i++ {
				_, next, _ := raw(t, srv, "POST", p, e, url.Values{"Priority": {"2"}})
				a, _ := strconv.ParseUint(strings.Trim(e, `"`), 10, 64)
				b, _ := strconv.ParseUint(strings.Trim(next, `"`), 10, 64)
				if b < a {
					return
				}
				e = next
			}
			t.Fatal("64 versions in increasing numeric order: decimal ETags look ordered")
		})
	}
}

func taskPath(ws, sid string) string { return "/v1/Workspaces/" + ws + "/Tasks/" + sid }

// TestCommitThenError: the write is applied, the answer is the error status
// with Twilio's JSON body, and the commit log says so.
func TestCommitThenError(t *testing.T) {
	t.Parallel()
	for _, k := range []ifmatchtest.FaultKind{ifmatchtest.CommitThen500, ifmatchtest.CommitThen502,
		ifmatchtest.CommitThen503, ifmatchtest.CommitThen504} {
		srv := newServer(t)
		ws := srv.AddWorkspace()
		sid := srv.AddTask(ws, nil)
		srv.Inject(ifmatchtest.Fault{Kind: k, Method: "POST", Count: 1})
		code, etag, body := raw(t, srv, "POST", taskPath(ws, sid), `"0"`, url.Values{"Priority": {"3"}})
		want, _ := strconv.Atoi(strings.TrimPrefix(string(k), "commit-then-"))
		if code != want || etag != "" || body["status"] != float64(want) || body["code"] != 20500.0 {
			t.Fatalf("%s: %d, ETag %q, body %v", k, code, etag, body)
		}
		if _, v, _ := srv.TaskAttributes(ws, sid); v != 1 {
			t.Fatalf("%s: version %d, want 1 (the write applied)", k, v)
		}
		if c := srv.Commits(); len(c) != 1 || c[0].Fault != k || c[0].Before != 0 || c[0].After != 1 ||
			c[0].AfterETag != `"1"` || c[0].IfMatch != `"0"` || c[0].Late {
			t.Fatalf("%s: commits %+v", k, c)
		}
	}
}

// TestLateCommit: a 503 at once; the write lands later if its If-Match still
// matches, and never if another write got in first.
func TestLateCommit(t *testing.T) {
	t.Parallel()
	t.Run("lands", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t)
		ws := srv.AddWorkspace()
		sid := srv.AddTask(ws, nil)
		srv.Inject(ifmatchtest.Fault{Kind: ifmatchtest.LateCommit, Method: "POST", Count: 1, Latency: 5 * time.Millisecond})
		if code, _, body := raw(t, srv, "POST", taskPath(ws, sid), `"0"`, url.Values{"Priority": {"3"}}); code != 503 || body["code"] != 20500.0 {
			t.Fatalf("late commit answered %d %v, want 503", code, body)
		}
		srv.Settle()
		if _, v, _ := srv.TaskAttributes(ws, sid); v != 1 {
			t.Fatalf("version %d after Settle, want 1", v)
		}
		if c := srv.Commits(); len(c) != 1 || !c[0].Late || c[0].Fault != ifmatchtest.LateCommit {
			t.Fatalf("commits %+v", c)
		}
		if r := srv.Requests(); len(r) != 1 || r[0].Status != 503 || r[0].Fault != ifmatchtest.LateCommit {
			t.Fatalf("requests %+v", r)
		}
	})
	t.Run("superseded", func(t *testing.T) {
		t.Parallel()
		srv := newServer(t)
		ws := srv.AddWorkspace()
		sid := srv.AddTask(ws, nil)
		// The other write below only has to come within the generous 500 ms;
		// Settle, not the delay, synchronises the assertions.
		srv.Inject(ifmatchtest.Fault{Kind: ifmatchtest.LateCommit, Method: "POST", Count: 1, Latency: 500 * time.Millisecond})
		if code, _, _ := raw(t, srv, "POST", taskPath(ws, sid), `"0"`, url.Values{"Priority": {"3"}}); code != 503 {
			t.Fatalf("late commit answered %d", code)
		}
		if code, _, _ := raw(t, srv, "POST", taskPath(ws, sid), `"0"`, url.Values{"Priority": {"4"}}); code != 200 {
			t.Fatalf("other write: %d", code)
		}
		srv.Settle()
		if c := srv.Commits(); len(c) != 1 || c[0].Late {
			t.Fatalf("the late write applied over a newer version: commits %+v", c)
		}
	})
}

// TestCommitThenStall: the write is applied and the answer never comes
// before the client gives up; with Latency it comes late.
func TestCommitThenStall(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	ws := srv.AddWorkspace()
	sid := srv.AddTask(ws, nil)
	srv.Inject(ifmatchtest.Fault{Kind: ifmatchtest.CommitThenStall, Method: "POST", Count: 1})
	c := srv.Client(ifmatch.WithHTTPClient(&http.Client{Timeout: 50 * time.Millisecond}), ifmatch.WithoutTransportRetry())
	_, err := c.Workspace(ws).UpdateTaskIf(ctxT(t), sid, `"0"`, ifmatch.TaskUpdate{Reason: "x"})
	if err == nil {
		t.Fatal("a stalled answer returned no error")
	}
	if _, v, _ := srv.TaskAttributes(ws, sid); v != 1 {
		t.Fatalf("version %d, want 1: the write applies before the stall", v)
	}
	srv.Inject(ifmatchtest.Fault{Kind: ifmatchtest.CommitThenStall, Method: "POST", Count: 1, Latency: 10 * time.Millisecond})
	if code, etag, _ := raw(t, srv, "POST", taskPath(ws, sid), `"1"`, url.Values{"Priority": {"2"}}); code != 200 || etag != `"2"` {
		t.Fatalf("stall with Latency: %d %s, want the normal answer", code, etag)
	}
	if cs := srv.Commits(); len(cs) != 2 || cs[0].Fault != ifmatchtest.CommitThenStall {
		t.Fatalf("commits %+v", cs)
	}
}

// TestNoAndWeakETag: a 2xx answer to a GET or a POST without its ETag, or
// with a weak one.
func TestNoAndWeakETag(t *testing.T) {
	t.Parallel()
	for _, style := range ifmatchtest.ETagStyles {
		srv := newServer(t, ifmatchtest.WithETagStyle(style))
		ws := srv.AddWorkspace()
		sid := srv.AddTask(ws, nil)
		_, e0, _ := raw(t, srv, "GET", taskPath(ws, sid), "", nil)
		srv.Inject(ifmatchtest.Fault{Kind: ifmatchtest.NoETag, Count: 2})
		if code, e, _ := raw(t, srv, "GET", taskPath(ws, sid), "", nil); code != 200 || e != "" {
			t.Fatalf("%v NoETag GET: %d %q", style, code, e)
		}
		if code, e, _ := raw(t, srv, "POST", taskPath(ws, sid), e0, url.Values{"Priority": {"1"}}); code != 200 || e != "" {
			t.Fatalf("%v NoETag POST: %d %q", style, code, e)
		}
		srv.Inject(ifmatchtest.Fault{Kind: ifmatchtest.WeakETag, Count: 2})
		code, weak, _ := raw(t, srv, "GET", taskPath(ws, sid), "", nil)
		if code != 200 || !strings.HasPrefix(weak, `W/"`) || !strings.HasSuffix(weak, `"`) {
			t.Fatalf("%v WeakETag GET: %d %q", style, code, weak)
		}
		strong := strings.TrimPrefix(weak, "W/")
		if style == ifmatchtest.BareIntETags {
			strong = strings.Trim(strong, `"`)
		}
		if code, e, _ := raw(t, srv, "POST", taskPath(ws, sid), strong, url.Values{"Priority": {"2"}}); code != 200 || !strings.HasPrefix(e, "W/") {
			t.Fatalf("%v WeakETag POST: %d %q", style, code, e)
		}
		if _, v, _ := srv.TaskAttributes(ws, sid); v != 2 {
			t.Fatalf("%v: version %d, want 2", style, v)
		}
	}
}

// TestCallTagging: every request of a call, transport retries included,
// carries the call's tag, and so does its commit.
func TestCallTagging(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	ws := srv.AddWorkspace()
	sid := srv.AddTask(ws, map[string]any{"n": 0})
	srv.Inject(ifmatchtest.Fault{Kind: ifmatchtest.Fail503, Method: "GET", Count: 1})    // retried by the transport
	srv.Inject(ifmatchtest.Fault{Kind: ifmatchtest.RateLimit, Method: "POST", Count: 1}) // retried by the transport
	c := srv.Client()
	ctx := ifmatchtest.WithCall(ctxT(t), "call-1")
	if _, err := c.Workspace(ws).UpdateTask(ctx, sid, func(tk *ifmatch.Task) error {
		tk.Attributes["n"] = 1
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Workspace(ws).FetchTask(ctxT(t), sid); err != nil { // untagged
		t.Fatal(err)
	}
	reqs := srv.Requests()
	if len(reqs) != 5 {
		t.Fatalf("%d requests, want GET 503, GET, POST 429, POST, GET: %+v", len(reqs), reqs)
	}
	for _, r := range reqs[:4] {
		if r.Call != "call-1" {
			t.Fatalf("request %s %d has call %q, want call-1", r.Method, r.Status, r.Call)
		}
	}
	if reqs[4].Call != "" {
		t.Fatalf("untagged request has call %q", reqs[4].Call)
	}
	if cs := srv.Commits(); len(cs) != 1 || cs[0].Call != "call-1" || cs[0].Method != "POST" {
		t.Fatalf("commits %+v", cs)
	}

	// Another header name, through the httpmock client.
	f := ifmatchtest.NewFake(ifmatchtest.WithCallHeader("X-Trace"))
	ws = f.AddWorkspace()
	sid = f.AddTask(ws, nil)
	mc, _ := f.MockClient(t)
	if _, err := mc.Workspace(ws).UpdateTaskIf(ifmatchtest.WithCall(context.Background(), "m"), sid, `"0"`,
		ifmatch.TaskUpdate{Reason: "r"}); err != nil {
		t.Fatal(err)
	}
	if cs := f.Commits(); len(cs) != 1 || cs[0].Call != "m" {
		t.Fatalf("mock client commits %+v", cs)
	}
}
