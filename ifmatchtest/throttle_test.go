package ifmatchtest_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/ifmatchtest"
)

// TestConcurrencyLimit: beyond n requests in flight the fake answers 429
// (code 20429) with Retry-After in whole seconds, logs the refusal as
// Throttled and leaves the resource alone; slots come back when requests end.
func TestConcurrencyLimit(t *testing.T) {
	t.Parallel()
	srv := newServer(t, ifmatchtest.WithLatency(100*time.Millisecond), ifmatchtest.WithConcurrencyLimit(2, 300*time.Millisecond))
	ws := srv.AddWorkspace()
	task := srv.AddTask(ws, nil)
	path := "/v1/Workspaces/" + ws + "/Tasks/" + task
	const n = 6
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _, _ = raw(t, srv, "GET", path, "", nil)
		}()
	}
	wg.Wait()
	ok, throttled := 0, 0
	for _, c := range codes {
		switch c {
		case http.StatusOK:
			ok++
		case http.StatusTooManyRequests:
			throttled++
		default:
			t.Errorf("status %d", c)
		}
	}
	if ok < 1 || ok > 2 || throttled != n-ok {
		t.Errorf("%d ok, %d throttled: want at most 2 served at once, the rest 429", ok, throttled)
	}
	var logged int
	for _, r := range srv.Requests() {
		if r.Fault == ifmatchtest.Throttled {
			logged++
			if r.Status != http.StatusTooManyRequests {
				t.Errorf("throttled request logged with status %d", r.Status)
			}
		}
	}
	if logged != throttled {
		t.Errorf("%d throttled requests logged, want %d", logged, throttled)
	}

	// The answer: Twilio's 429, Retry-After rounded up to a whole second.
	req, _ := http.NewRequest("GET", srv.URL+path, nil)
	req.SetBasicAuth(ifmatchtest.AccountSID, ifmatchtest.AuthToken)
	var hold sync.WaitGroup
	for range 2 { // take both slots
		hold.Add(1)
		go func() { defer hold.Done(); raw(t, srv, "GET", path, "", nil) }()
	}
	time.Sleep(30 * time.Millisecond)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	hold.Wait()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("over the limit: %d, Retry-After %q; want 429 and 1", resp.StatusCode, resp.Header.Get("Retry-After"))
	}

	// Alone, every request is served; a client's write goes through.
	if code, _, _ := raw(t, srv, "GET", path, "", nil); code != http.StatusOK {
		t.Errorf("alone: %d, want 200", code)
	}
	c := srv.Client()
	if _, err := c.Workspace(ws).UpdateTask(context.Background(), task, func(tk *ifmatch.Task) error {
		tk.Attributes["x"] = 1
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if attrs, v, _ := srv.TaskAttributes(ws, task); v != 1 || attrs["x"] == nil {
		t.Errorf("after one update: version %d, attributes %v", v, attrs)
	}
}

// TestConcurrencyLimitClientError: a 429 that outlasts the client's
// transport retries reaches the caller as ErrRateLimited.
func TestConcurrencyLimitClientError(t *testing.T) {
	t.Parallel()
	srv := newServer(t, ifmatchtest.WithLatency(50*time.Millisecond), ifmatchtest.WithConcurrencyLimit(1, 0))
	ws := srv.AddWorkspace()
	task := srv.AddTask(ws, nil)
	path := "/v1/Workspaces/" + ws + "/Tasks/" + task
	stop := make(chan struct{})
	var hold sync.WaitGroup
	hold.Add(1)
	go func() { // keep the only slot busy
		defer hold.Done()
		for {
			select {
			case <-stop:
				return
			default:
				raw(t, srv, "GET", path, "", nil)
			}
		}
	}()
	time.Sleep(10 * time.Millisecond)
	_, err := srv.Client(ifmatch.WithoutTransportRetry()).Workspace(ws).FetchTask(context.Background(), task)
	close(stop)
	hold.Wait()
	if !errors.Is(err, ifmatch.ErrRateLimited) {
		t.Errorf("FetchTask with the slot taken: %v, want ErrRateLimited", err)
	}
}
