package ifmatch_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/ifmatchtest"
)

// recordingObserver keeps what it sees as lines, with waits and errors
// reduced to whether they are set, so tests can compare exact sequences.
type recordingObserver struct {
	mu    sync.Mutex
	lines []string
}

type obsKey struct{}

func (r *recordingObserver) add(format string, args ...any) {
	r.mu.Lock()
	r.lines = append(r.lines, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

func (r *recordingObserver) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.lines)
}

func (r *recordingObserver) StartUpdate(ctx context.Context, c ifmatch.UpdateCall) context.Context {
	r.add("start %s %s %s", c.Op, c.Kind, c.Path)
	return context.WithValue(ctx, obsKey{}, c.Op)
}

func (r *recordingObserver) UpdateEvent(ctx context.Context, c ifmatch.UpdateCall, e ifmatch.UpdateEvent) {
	if ctx.Value(obsKey{}) != c.Op {
		r.add("event without the context StartUpdate returned")
	}
	switch e.Kind {
	case ifmatch.EventAttempt:
		r.add("attempt %d %d etag=%t err=%t", e.Attempt, e.Status, e.ETag != "", e.Err != nil)
	case ifmatch.EventReadBack:
		r.add("read_back %d %d", e.Try, e.Status)
	case ifmatch.EventBackoff:
		r.add("backoff wait=%t", e.Wait > 0)
	case ifmatch.EventQueued:
		r.add("queued callers=%d lead=%t", e.Callers, e.Lead)
	}
}

func (r *recordingObserver) EndUpdate(ctx context.Context, c ifmatch.UpdateCall, e ifmatch.UpdateEnd) {
	if ctx.Value(obsKey{}) != c.Op {
		r.add("end without the context StartUpdate returned")
	}
	r.add("end %s attempts=%d err=%t", e.Outcome, e.Attempts, e.Err != nil)
}

func (r *recordingObserver) TransportRetry(_ context.Context, ri ifmatch.RetryInfo) {
	r.add("retry %s try=%d %d", ri.Method, ri.Try, ri.Status)
}

func TestObserverSequence(t *testing.T) {
	srv := ifmatchtest.NewServer()
	t.Cleanup(srv.Close)
	ws := srv.AddWorkspace()
	sid := srv.AddTask(ws, map[string]any{"n": 0})
	path := "/v1/Workspaces/" + ws + "/Tasks/" + sid
	obs := &recordingObserver{}
	// The context StartUpdate returns carries the call's requests.
	var unmarked []string
	var mu sync.Mutex
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Context().Value(obsKey{}) == nil {
			mu.Lock()
			unmarked = append(unmarked, r.Method)
			mu.Unlock()
		}
		return srv.CallTransport(nil).RoundTrip(r)
	})}
	c := srv.Client(ifmatch.WithObserver(obs), ifmatch.WithHTTPClient(hc), ifmatch.WithoutCoalescing())
	ctx := context.Background()

	// A 412, then success; a 429 retried by the transport on the re-read.
	first := true
	_, err := c.Workspace(ws).UpdateTask(ctx, sid, func(tk *ifmatch.Task) error {
		if first {
			first = false
			srv.SetTaskAttributes(ws, sid, map[string]any{"n": 10})
			srv.Inject(ifmatchtest.Fault{Kind: ifmatchtest.RateLimit, Method: "GET", Count: 1})
		}
		tk.Attributes["mine"] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"start UpdateTask Task " + path,
		"attempt 1 412 etag=true err=true",
		"backoff wait=true",
		"retry GET try=1 429",
		"read_back 1 200",
		"attempt 2 200 etag=true err=false",
		"end updated attempts=2 err=false",
	}
	if got := obs.seen(); !slices.Equal(got, want) {
		t.Fatalf("412 then success:\n got %q\nwant %q", got, want)
	}
	if len(unmarked) != 0 {
		t.Fatalf("requests without the observer's context: %v", unmarked)
	}

	// Unchanged, from the cached copy confirmed by a read; then an error.
	obs.lines = nil
	if _, err := c.Workspace(ws).UpdateTask(ctx, sid, func(*ifmatch.Task) error { return nil }); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if _, err := c.Workspace(ws).UpdateTask(ctx, sid, func(*ifmatch.Task) error { return boom }); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	want = []string{
		"start UpdateTask Task " + path,
		"end unchanged attempts=0 err=false",
		"start UpdateTask Task " + path,
		"end error attempts=0 err=true",
	}
	if got := obs.seen(); !slices.Equal(got, want) {
		t.Fatalf("unchanged, error:\n got %q\nwant %q", got, want)
	}
}

// A coalesced round: every caller gets its queued event and its end; the
// round's writes are reported once, on the lead caller's context.
func TestObserverCoalescedRound(t *testing.T) {
	srv := ifmatchtest.NewServer(ifmatchtest.WithLatency(20 * time.Millisecond))
	t.Cleanup(srv.Close)
	ws := srv.AddWorkspace()
	sid := srv.AddTask(ws, map[string]any{"n": 0})
	obs := &recordingObserver{}
	c := srv.Client(ifmatch.WithObserver(obs))
	ctx := context.Background()
	const n = 4
	started := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var once sync.Once
		if _, err := c.Workspace(ws).UpdateTask(ctx, sid, func(tk *ifmatch.Task) error {
			once.Do(func() { close(started) })
			tk.Attributes["first"] = true
			return nil
		}); err != nil {
			t.Error(err)
		}
	}()
	<-started
	for i := 0; i < n-1; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Workspace(ws).UpdateTask(ctx, sid, func(tk *ifmatch.Task) error {
				tk.Attributes[fmt.Sprint("k", i)] = i
				return nil
			}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	count := map[string]int{}
	for _, l := range obs.seen() {
		l, _, _ = strings.Cut(l, " /")
		count[l]++
	}
	want := map[string]int{
		"start UpdateTask Task":             n,
		"queued callers=1 lead=true":        1,
		"queued callers=3 lead=true":        1,
		"queued callers=3 lead=false":       2,
		"attempt 1 200 etag=true err=false": 2, // one per round
		"end updated attempts=1 err=false":  n,
	}
	if fmt.Sprint(count) != fmt.Sprint(want) {
		t.Fatalf("coalesced:\n got %v\nwant %v", count, want)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// BenchmarkUpdateObserver measures one uncontended UpdateTask (one POST, the
// GET skipped by the ETag cache) on a canned in-process transport, without
// an observer and with a no-op one: the hooks cost no allocation unless an
// observer is set.
//
//	go test -run '^$' -bench UpdateObserver -benchmem
func BenchmarkUpdateObserver(b *testing.B) {
	body := []byte(taskBody(`{"n":1}`, 1))
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Body != nil {
			_, _ = io.Copy(io.Discard, r.Body)
			r.Body.Close()
		}
		return &http.Response{StatusCode: 200, Header: http.Header{"Etag": {`"7"`}, "Content-Type": {"application/json"}},
			Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: r}, nil
	})
	for _, bc := range []struct {
		name string
		opts []ifmatch.Option
	}{
		{"none", nil},
		{"nop", []ifmatch.Option{ifmatch.WithObserver(ifmatch.NopObserver{})}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c, err := ifmatch.NewClient(testAccount, "token", append([]ifmatch.Option{ifmatch.WithBaseURL(testBase),
				ifmatch.WithHTTPClient(&http.Client{Transport: rt})}, bc.opts...)...)
			if err != nil {
				b.Fatal(err)
			}
			ws := c.Workspace(testWS)
			ctx := context.Background()
			i := 0
			mutate := func(t *ifmatch.Task) error { i++; t.Priority = i; return nil }
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := ws.UpdateTask(ctx, testTask, mutate); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A mutator's panic still ends the call for the observer (so no span is
// left open), and goes on up to the caller.
func TestObserverPanic(t *testing.T) {
	srv := ifmatchtest.NewServer()
	t.Cleanup(srv.Close)
	ws := srv.AddWorkspace()
	sid := srv.AddTask(ws, nil)
	obs := &recordingObserver{}
	c := srv.Client(ifmatch.WithObserver(obs))
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v, want the mutator's panic", r)
			}
		}()
		_, _ = c.Workspace(ws).UpdateTask(context.Background(), sid, func(*ifmatch.Task) error { panic("boom") })
	}()
	got := obs.seen()
	if len(got) == 0 || got[len(got)-1] != "end error attempts=0 err=true" {
		t.Fatalf("after a panic: %q", got)
	}
}
