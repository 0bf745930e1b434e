package ifmatch_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/ifmatchtest"
)

// Twilio refuses a unique name that matches its SID pattern
// [A-Z]{2}[a-f0-9]{32} (error 54302), so "ET" and 32 upper-case hex digits
// is a legal unique name, and Twilio looks it up as one. ifmatch's own
// validSID accepts upper-case hex, so identityOf took the name for a SID
// and refused the Document's real answer (another sid, the unique_name
// asked for) as naming another resource.
func TestAdv4DocumentNamedLikeUpperCaseSID(t *testing.T) {
	t.Parallel()
	srv := ifmatchtest.NewServer()
	t.Cleanup(srv.Close)
	svc := srv.AddSyncService()
	name := "ET" + strings.Repeat("ABCDEF0123456789", 2)
	sid := srv.AddDocument(svc, name, map[string]any{"n": 1})
	s := srv.Client().SyncService(svc)
	d, err := s.FetchDocument(ctxT(t), name)
	if err != nil || d.SID != sid || d.UniqueName != name {
		t.Fatalf("FetchDocument(%q) = %+v, %v; want the Document %s", name, d, err, sid)
	}
	if _, err := s.UpdateDocument(ctxT(t), name, func(d *ifmatch.Document) error { d.Data["n"] = 2; return nil }); err != nil {
		t.Fatalf("UpdateDocument: %v", err)
	}
	if data, _, _ := srv.DocumentData(svc, sid); fmt.Sprint(data["n"]) != "2" {
		t.Fatalf("data = %v, want n 2", data)
	}
}

// A 2xx answer to a write whose body names another resource is not about
// the resource written: its ETag header is that other resource's version
// (Twilio's ETags are per-resource integers). The loop returned it as the
// written version and cached it, so the next call wrote from its cached
// copy with If-Match: that number, which the written resource reached later
// through another writer's changes: the write matched, and erased them.
func TestAdv4ForeignAnswerETagNotTrusted(t *testing.T) {
	t.Parallel()
	fake := ifmatchtest.NewFake()
	ws := fake.AddWorkspace()
	mine := fake.AddTask(ws, map[string]any{"n": 0})
	other := fake.AddTask(ws, map[string]any{})
	for i := 0; i < 3; i++ {
		fake.SetTaskAttributes(ws, other, map[string]any{"i": i}) // other at version 3
	}
	var swapped atomic.Bool
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || !swapped.CompareAndSwap(false, true) {
			fake.ServeHTTP(w, r)
			return
		}
		fake.ServeHTTP(httptest.NewRecorder(), r) // commits: mine at version 1
		get := httptest.NewRequest(http.MethodGet, strings.Replace(r.URL.Path, mine, other, 1), nil)
		get.Header = r.Header.Clone()
		fake.ServeHTTP(w, get) // answers: other, ETag "3"
	}))
	t.Cleanup(proxy.Close)
	c, err := ifmatch.NewClient(ifmatchtest.AccountSID, ifmatchtest.AuthToken, ifmatch.WithBaseURL(proxy.URL))
	if err != nil {
		t.Fatal(err)
	}
	w := c.Workspace(ws)
	got, err := w.UpdateTask(ctxT(t), mine, func(t *ifmatch.Task) error { t.Attributes["a"] = 1; return nil })
	if err != nil {
		t.Fatal(err)
	}
	_, v1, _ := fake.TaskAttributes(ws, mine)
	if got.ETag != "" && got.ETag != fmt.Sprintf("%q", fmt.Sprint(v1)) {
		t.Errorf("the write produced version %d, but the result says ETag %s (the other Task's)", v1, got.ETag)
	}
	fake.SetTaskAttributes(ws, mine, map[string]any{"n": 0, "a": 1, "b": 1})
	fake.SetTaskAttributes(ws, mine, map[string]any{"n": 0, "a": 1, "b": 2}) // mine at version 3
	if _, err := w.UpdateTask(ctxT(t), mine, func(t *ifmatch.Task) error { t.Attributes["c"] = 1; return nil }); err != nil {
		t.Fatal(err)
	}
	if attrs, _, _ := fake.TaskAttributes(ws, mine); fmt.Sprint(attrs["b"]) != "2" {
		t.Fatalf("attributes %v: another writer's b=2 was erased by a write from a stale copy", attrs)
	}
}
