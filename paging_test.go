package ifmatch_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ifmatch-go/ifmatch"
)

// pager serves a Task list under base path "/prefix": the first page
// links to next; later pages are served by the handler rest.
func pager(t *testing.T, next string, rest http.HandlerFunc) (*ifmatch.Client, *[]string) {
	t.Helper()
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.EscapedPath()+"?"+r.URL.RawQuery)
		mu.Unlock()
		if r.URL.RawQuery == "" {
			fmt.Fprintf(w, `{"tasks":[%s],"meta":{"next_page_url":%q}}`, taskBody(`{}`, 1), next)
			return
		}
		rest(w, r)
	}))
	t.Cleanup(srv.Close)
	c, err := ifmatch.NewClient(testAccount, canaryToken, ifmatch.WithBaseURL(srv.URL+"/prefix"), ifmatch.WithoutTransportRetry())
	if err != nil {
		t.Fatal(err)
	}
	return c, &seen
}

func collect(t *testing.T, c *ifmatch.Client) (n int, err error) {
	for task, e := range c.Workspace(testWS).ListTasks(ctxT(t), nil) {
		if e != nil {
			return n, e
		}
		if task == nil {
			t.Fatal("nil task without error")
		}
		n++
	}
	return n, nil
}

// No next_page_url a server sends can panic the client, or take the next
// request outside the API's path space (below the base URL's path).
func TestNextPageURLHostile(t *testing.T) {
	t.Parallel()
	tasks := "/v1/Workspaces/" + testWS + "/Tasks"
	for _, next := range []string{"%zz", ":x", "http://[::1", "https://h/%zz", "/v1/%zz?Page=1",
		"/../../admin?Page=1", tasks + "/../../../../admin?Page=1", "/v1/%2e%2e/%2E%2E/admin?Page=1",
		"https://taskrouter.twilio.com/..%2F..%2Fadmin?Page=1", "v1/relative?Page=1", "?Page=1"} {
		t.Run(next, func(t *testing.T) {
			t.Parallel()
			c, seen := pager(t, next, func(w http.ResponseWriter, r *http.Request) {
				t.Errorf("followed %q to %s", next, r.URL.EscapedPath())
				fmt.Fprint(w, `{"tasks":[],"meta":{}}`)
			})
			n, err := collect(t, c)
			if n != 1 || !errors.Is(err, ifmatch.ErrBadResponse) || !strings.Contains(err.Error(), "next_page_url") {
				t.Fatalf("got %d tasks, err %v; want 1 and ErrBadResponse naming next_page_url", n, err)
			}
			if len(*seen) != 1 {
				t.Fatalf("requests %v, want only the first page", *seen)
			}
		})
	}
}

// A next_page_url whose path has an escaped segment (%2F in a Map's name) is
// followed with the path exactly as escaped, below the base URL's path; the
// next page may name the Map by its SID instead.
func TestNextPageURLEscapedSegment(t *testing.T) {
	t.Parallel()
	items := "/v1/Services/" + idService + "/Maps/a%2Fb%20c/Items"
	for _, next := range []string{items, "/v1/Services/" + idService + "/Maps/" + idMap + "/Items"} {
		var seen []string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			seen = append(seen, r.URL.EscapedPath()+"?"+r.URL.RawQuery)
			link := "null"
			if len(seen) == 1 {
				link = fmt.Sprintf("%q", "https://sync.twilio.com"+next+"?PageToken=x%2By&Page=1")
			}
			fmt.Fprintf(w, `{"items":[{"key":"k%d","map_sid":%q,"service_sid":%q,"revision":"0","data":{}}],"meta":{"next_page_url":%s}}`,
				len(seen), idMap, idService, link)
		}))
		c, err := ifmatch.NewClient(testAccount, canaryToken, ifmatch.WithBaseURL(srv.URL+"/prefix"), ifmatch.WithoutTransportRetry())
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, err := range c.SyncService(idService).ListMapItems(ctxT(t), "a/b c", nil) {
			if err != nil {
				t.Fatalf("next %s: %v", next, err)
			}
			n++
		}
		srv.Close()
		want := "/prefix" + next + "?PageToken=x%2By&Page=1"
		if n != 2 || len(seen) != 2 || seen[1] != want {
			t.Errorf("next %s: %d items, requests %q; want 2, the second at %q", next, n, seen, want)
		}
	}
}

// A list whose pages are empty yet keep linking onward ends with a clear
// error after MaxEmptyPages pages, not requests without end.
func TestListEmptyPagesBounded(t *testing.T) {
	t.Parallel()
	var page atomic.Int32
	c, seen := pager(t, "/v1/Workspaces/"+testWS+"/Tasks?Page=1", func(w http.ResponseWriter, r *http.Request) {
		n := page.Add(1)
		if n > 1000 {
			t.Error("list did not stop")
			w.WriteHeader(500)
			return
		}
		fmt.Fprintf(w, `{"tasks":[],"meta":{"next_page_url":"/v1/Workspaces/%s/Tasks?Page=%d"}}`, testWS, n+1)
	})
	n, err := collect(t, c)
	if n != 1 || !errors.Is(err, ifmatch.ErrBadResponse) || !strings.Contains(err.Error(), "no item") {
		t.Fatalf("got %d tasks, err %v; want 1 and ErrBadResponse about empty pages", n, err)
	}
	if got := len(*seen); got != 1+ifmatch.MaxEmptyPages {
		t.Fatalf("%d requests, want %d", got, 1+ifmatch.MaxEmptyPages)
	}
}

// A next_page_url that is the page just read ends the list at once.
func TestListSelfLinkStops(t *testing.T) {
	t.Parallel()
	next := "/v1/Workspaces/" + testWS + "/Tasks?Page=1"
	c, seen := pager(t, next, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"tasks":[%s],"meta":{"next_page_url":%q}}`, taskBody(`{}`, 1), next)
	})
	n, err := collect(t, c)
	if n != 2 || !errors.Is(err, ifmatch.ErrBadResponse) || len(*seen) != 2 {
		t.Fatalf("got %d tasks, err %v, %d requests; want 2, ErrBadResponse, 2", n, err, len(*seen))
	}
}

// Links that cycle (Page=1 → Page=2 → Page=1) end the list when they lead
// back, instead of handing out the same Tasks again until the context ends.
func TestListCycleStops(t *testing.T) {
	t.Parallel()
	link := func(page int) string { return fmt.Sprintf("/v1/Workspaces/%s/Tasks?Page=%d", testWS, page) }
	c, seen := pager(t, link(1), func(w http.ResponseWriter, r *http.Request) {
		next := link(1)
		if r.URL.Query().Get("Page") == "1" {
			next = link(2)
		}
		fmt.Fprintf(w, `{"tasks":[%s],"meta":{"next_page_url":%q}}`, taskBody(`{}`, 1), next)
	})
	n, err := collect(t, c)
	if n != 3 || !errors.Is(err, ifmatch.ErrBadResponse) || !strings.Contains(err.Error(), "already read") || len(*seen) != 3 {
		t.Fatalf("got %d tasks, err %v, %d requests; want 3, ErrBadResponse about a page already read, 3", n, err, len(*seen))
	}
}

// A list stops at its context: cancelled between items, no further page is
// requested and the iteration ends with the context's error.
func TestListHonoursContext(t *testing.T) {
	t.Parallel()
	c, seen := pager(t, "/v1/Workspaces/"+testWS+"/Tasks?Page=1", func(w http.ResponseWriter, r *http.Request) {
		t.Error("next page requested after cancel")
	})
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	var err error
	n := 0
	for _, e := range c.Workspace(testWS).ListTasks(ctx, nil) {
		if e != nil {
			err = e
			break
		}
		n++
		cancel()
	}
	if n != 1 || !errors.Is(err, context.Canceled) || len(*seen) != 1 {
		t.Fatalf("got %d tasks, err %v, %d requests", n, err, len(*seen))
	}
}
