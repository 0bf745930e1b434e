package ifmatchtest_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/ifmatchtest"
)

// TestSyncContainers: Services, Lists and Maps are created (201), fetched
// by SID or unique name, listed, updated and deleted (with their items).
func TestSyncContainers(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	code, _, svc := raw(t, srv, "POST", "/v1/Services", "", url.Values{"FriendlyName": {"s"}})
	if code != 201 || svc["friendly_name"] != "s" {
		t.Fatalf("create service: %d %v", code, svc)
	}
	sb := "/v1/Services/" + svc["sid"].(string)
	if code, _, got := raw(t, srv, "POST", sb, "", url.Values{"ReachabilityDebouncingWindow": {"999"}}); code != 400 {
		t.Errorf("bad window: %d %v", code, got)
	}
	if code, _, got := raw(t, srv, "POST", sb, "", url.Values{"AclEnabled": {"true"}}); code != 200 || got["acl_enabled"] != true {
		t.Errorf("update service: %d %v", code, got)
	}
	for _, kind := range []string{"Lists", "Maps"} {
		code, _, c := raw(t, srv, "POST", sb+"/"+kind, "", url.Values{"UniqueName": {"c"}})
		if code != 201 || c["revision"] != "0" || c["unique_name"] != "c" {
			t.Fatalf("create %s: %d %v", kind, code, c)
		}
		if code, _, got := raw(t, srv, "POST", sb+"/"+kind, "", url.Values{"UniqueName": {"c"}}); code != 409 || got["code"] != 54301.0 {
			t.Errorf("duplicate %s: %d %v", kind, code, got)
		}
		sid := c["sid"].(string)
		if code, _, got := raw(t, srv, "GET", sb+"/"+kind+"/c", "", nil); code != 200 || got["sid"] != sid {
			t.Errorf("fetch %s by name: %d %v", kind, code, got)
		}
		if code, _, got := raw(t, srv, "POST", sb+"/"+kind+"/"+sid, "", url.Values{"Ttl": {"60"}}); code != 200 || got["revision"] != "1" || got["date_expires"] == nil {
			t.Errorf("update %s: %d %v", kind, code, got)
		}
		item := url.Values{"Data": {"{}"}, "Key": {"k"}}
		if kind == "Lists" {
			item.Del("Key")
		}
		if code, _, got := raw(t, srv, "POST", sb+"/"+kind+"/c/Items", "", item); code != 201 {
			t.Errorf("item in new %s: %d %v", kind, code, got)
		}
		if code, _, got := raw(t, srv, "GET", sb+"/"+kind, "", nil); code != 200 || listed(got, strings.ToLower(kind), "sid") != sid {
			t.Errorf("list %s: %d %v", kind, code, got)
		}
		if code, _, _ := raw(t, srv, "DELETE", sb+"/"+kind+"/"+sid, "", nil); code != 204 {
			t.Errorf("delete %s: %d", kind, code)
		}
		for _, p := range []string{sb + "/" + kind + "/" + sid, sb + "/" + kind + "/c", sb + "/" + kind + "/c/Items"} {
			if code, _, got := raw(t, srv, "GET", p, "", nil); code != 404 || got["code"] != 20404.0 {
				t.Errorf("GET %s after delete: %d %v", p, code, got)
			}
		}
	}
	if code, _, _ := raw(t, srv, "DELETE", sb, "", nil); code != 204 {
		t.Errorf("delete service: %d", code)
	}
	if code, _, _ := raw(t, srv, "GET", sb, "", nil); code != 404 {
		t.Errorf("service after delete: %d", code)
	}
}

// TestSmallShapes: Map Item conflicts answer 54205; 405s carry Twilio's
// JSON error; DeleteDocument ignores If-Match (the spec declares none);
// Workers' links are complete.
func TestSmallShapes(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	svc := srv.AddSyncService()
	srv.AddSyncMap(svc, "m")
	srv.AddMapItem(svc, "m", "k", nil)
	sb := "/v1/Services/" + svc
	if code, _, got := raw(t, srv, "POST", sb+"/Maps/m/Items/k", `"7"`, url.Values{"Data": {"{}"}}); code != 412 || got["code"] != 54205.0 {
		t.Errorf("stale Map Item: %d %v", code, got)
	}
	if code, _, got := raw(t, srv, "DELETE", sb+"/Maps/m/Items/k", `"7"`, nil); code != 412 || got["code"] != 54205.0 {
		t.Errorf("stale Map Item delete: %d %v", code, got)
	}
	doc := srv.AddDocument(svc, "", nil)
	if code, _, _ := raw(t, srv, "DELETE", sb+"/Documents/"+doc, `"7"`, nil); code != 204 {
		t.Errorf("DeleteDocument with a stale If-Match: %d", code)
	}
	ws := srv.AddWorkspace()
	for _, p := range []string{"/v1/Workspaces/" + ws + "/Tasks", sb + "/Maps/m/Items", "/v1/Services"} {
		if code, _, got := raw(t, srv, "DELETE", p, "", nil); code != 405 || got["code"] != 20004.0 || got["status"] != 405.0 {
			t.Errorf("DELETE %s: %d %v", p, code, got)
		}
	}
	wk := srv.AddWorker(ws, "w", nil)
	_, _, got := raw(t, srv, "GET", "/v1/Workspaces/"+ws+"/Workers/"+wk, "", nil)
	links, _ := got["links"].(map[string]any)
	for _, k := range []string{"activity", "workspace", "channels", "reservations", "statistics", "real_time_statistics",
		"cumulative_statistics", "worker_statistics", "worker_channels"} {
		if s, _ := links[k].(string); !strings.HasPrefix(s, srv.URL+"/v1/Workspaces/"+ws) {
			t.Errorf("links.%s = %q", k, s)
		}
	}
}

// TestSyncURLsUnderNewFake: with no listener, Sync url fields name
// sync.twilio.com and TaskRouter's taskrouter.twilio.com.
func TestSyncURLsUnderNewFake(t *testing.T) {
	t.Parallel()
	f := ifmatchtest.NewFake()
	svc := f.AddSyncService()
	doc := f.AddDocument(svc, "", nil)
	ws := f.AddWorkspace()
	task := f.AddTask(ws, nil)
	for path, want := range map[string]string{
		"/v1/Services/" + svc + "/Documents/" + doc: "https://sync.twilio.com/v1/Services/",
		"/v1/Services/" + svc + "/Documents":        "https://sync.twilio.com/v1/Services/",
		"/v1/Workspaces/" + ws + "/Tasks/" + task:   "https://taskrouter.twilio.com/v1/Workspaces/",
	} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.SetBasicAuth(ifmatchtest.AccountSID, ifmatchtest.AuthToken)
		rec := httptest.NewRecorder()
		f.ServeHTTP(rec, req)
		body := rec.Body.String()
		if rec.Code != 200 || !strings.Contains(body, `"url":"`+want) || strings.Contains(body, "taskrouter") != strings.Contains(want, "taskrouter") {
			t.Errorf("GET %s: %d %s", path, rec.Code, body)
		}
	}
}

// TestConcurrentListItemCreates: seeding (AddListItem) and creating through
// the API (CreateListItem) at once, from many goroutines, give every item its
// own index and lose none. Run it with -race.
func TestConcurrentListItemCreates(t *testing.T) {
	for rep := 0; rep < 20; rep++ {
		srv := newServer(t)
		svc := srv.AddSyncService()
		srv.AddSyncList(svc, "L")
		sy := srv.Client().SyncService(svc)
		const n = 8
		var mu sync.Mutex
		seen := map[int]int{}
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(2)
			go func() {
				defer wg.Done()
				idx := srv.AddListItem(svc, "L", map[string]any{"seed": i})
				mu.Lock()
				seen[idx]++
				mu.Unlock()
			}()
			go func() {
				defer wg.Done()
				it, err := sy.CreateListItem(ctxT(t), "L", ifmatch.SyncWrite{Data: map[string]any{"api": i}})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				seen[it.Index]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		for idx, k := range seen {
			if k > 1 {
				t.Fatalf("rep %d: index %d given to %d creates", rep, idx, k)
			}
		}
		stored := 0
		for idx := range seen {
			if _, _, ok := srv.ListItemData(svc, "L", idx); ok {
				stored++
			}
		}
		if len(seen) != 2*n || stored != 2*n {
			t.Fatalf("rep %d: %d distinct indexes, %d items stored, want %d", rep, len(seen), stored, 2*n)
		}
	}
}
