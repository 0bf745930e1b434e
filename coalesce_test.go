package ifmatch_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/ifmatchtest"
)

// Many goroutines updating one Task through one Client are coalesced: far
// fewer writes than calls, every change lands once, each caller gets its own
// result.
func TestCoalescedUpdates(t *testing.T) {
	t.Parallel()
	srv := ifmatchtest.NewServer(ifmatchtest.WithLatency(2 * time.Millisecond))
	t.Cleanup(srv.Close)
	ws := srv.AddWorkspace()
	sid := srv.AddTask(ws, map[string]any{"n": 0})
	c := srv.Client()
	const n = 40
	var wg sync.WaitGroup
	results := make([]ifmatch.OperationResult, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			task, err := c.Workspace(ws).UpdateTask(ctxT(t), sid, func(tk *ifmatch.Task) error {
				v, err := tk.Attributes["n"].(json.Number).Int64()
				tk.Attributes["n"] = v + 1
				tk.Attributes[fmt.Sprint("w", i)] = true
				return err
			}, ifmatch.ReportResult(&results[i]))
			if err != nil {
				t.Errorf("%d: %v", i, err)
				return
			}
			if task.Attributes[fmt.Sprint("w", i)] != true {
				t.Errorf("%d: the returned task lacks the caller's own change", i)
			}
		}(i)
	}
	wg.Wait()
	attrs, _, _ := srv.TaskAttributes(ws, sid)
	if attrs["n"] != json.Number(fmt.Sprint(n)) {
		t.Fatalf("counter %v, want %d", attrs["n"], n)
	}
	for i, r := range results {
		if r != ifmatch.Updated {
			t.Errorf("caller %d: result %q", i, r)
		}
	}
	if posts := srv.Count("POST"); posts >= n/2 {
		t.Errorf("%d POSTs for %d calls: not coalesced", posts, n)
	}
	if c := srv.CountStatus(412); c != 0 {
		t.Errorf("%d conflicts among goroutines of one client", c)
	}
}

// blockingTask is an httpmock Task whose first POST waits for release, so a
// test can queue callers behind a round in flight.
type blockingTask struct {
	mu       sync.Mutex
	version  int
	attrs    map[string]any
	inFlight chan struct{}
	release  chan struct{}
	posts    int
	blockAt  int // which POST (from 1) waits for release
}

func newBlockingTask() *blockingTask {
	return &blockingTask{attrs: map[string]any{}, inFlight: make(chan struct{}), release: make(chan struct{}), blockAt: 1}
}

func (b *blockingTask) respond(r *http.Request) (*http.Response, error) {
	b.mu.Lock()
	if r.Method == http.MethodPost {
		b.posts++
		block := b.posts == b.blockAt
		b.mu.Unlock()
		if block {
			close(b.inFlight)
			<-b.release
		}
		b.mu.Lock()
		_ = r.ParseForm()
		_ = json.Unmarshal([]byte(r.PostForm.Get("Attributes")), &b.attrs)
		b.version++
	}
	attrs, _ := json.Marshal(b.attrs)
	v := b.version
	b.mu.Unlock()
	return taskResp(200, fmt.Sprintf(`"%d"`, v), string(attrs), 0)(r)
}

func set(k string) ifmatch.TaskMutator {
	return func(t *ifmatch.Task) error { t.Attributes[k] = true; return nil }
}

// setupCoalescing is setup with coalescing on: zero backoff through bounds
// rather than a custom factory (calls with their own factory run alone).
func setupCoalescing(t *testing.T) (*ifmatch.Client, *mock) {
	return setup(t, ifmatch.WithUpdateDefaults(ifmatch.Backoff(nil), ifmatch.BackoffBounds(0, 0)))
}

// blockedRound starts caller A on a coalescing client and returns once A's
// round is blocked in its POST (until b.release is closed).
func blockedRound(t *testing.T) (*ifmatch.Client, ifmatch.Workspace, *blockingTask, chan error) {
	t.Helper()
	c, m := setupCoalescing(t)
	b := newBlockingTask()
	m.on("GET", taskURL, b.respond)
	m.on("POST", taskURL, b.respond)
	ws := c.Workspace(testWS)
	aDone := make(chan error, 1)
	go func() { _, err := ws.UpdateTask(ctxT(t), testTask, set("a")); aDone <- err }()
	<-b.inFlight
	return c, ws, b, aDone
}

func TestCoalescingQueueSemantics(t *testing.T) {
	t.Parallel()
	// A starts a round and blocks in its POST.
	c, ws, b, aDone := blockedRound(t)

	// B, C, D and E queue behind it. B is cancelled while queued, C's
	// mutator fails, D changes nothing, E changes something.
	bCtx, bCancel := context.WithCancel(ctxT(t))
	bRan := false
	bDone := make(chan error, 1)
	go func() {
		_, err := ws.UpdateTask(bCtx, testTask, func(tk *ifmatch.Task) error { bRan = true; return nil })
		bDone <- err
	}()
	boom := errors.New("boom")
	type out struct {
		err error
		res ifmatch.OperationResult
	}
	cDone, dDone, eDone := make(chan out, 1), make(chan out, 1), make(chan out, 1)
	run := func(fn ifmatch.TaskMutator, ch chan out) {
		var r ifmatch.OperationResult
		_, err := ws.UpdateTask(ctxT(t), testTask, fn, ifmatch.ReportResult(&r))
		ch <- out{err, r}
	}
	go run(func(*ifmatch.Task) error { return boom }, cDone)
	go run(func(*ifmatch.Task) error { return nil }, dDone)
	go run(set("e"), eDone)
	// Let them queue: wait until the log shows no new requests for them
	// (they cannot send any while A's round is in flight).
	waitQueued(t, c, 4)

	bCancel()
	if err := <-bDone; !errors.Is(err, context.Canceled) || errors.Is(err, ifmatch.ErrOutcomeUnknown) {
		t.Fatalf("B cancelled while queued: err = %v, want plain context.Canceled", err)
	}
	close(b.release)
	if err := <-aDone; err != nil {
		t.Fatal(err)
	}
	if o := <-cDone; !errors.Is(o.err, boom) || !errors.Is(o.err, ifmatch.ErrMutatorAborted) {
		t.Errorf("C: %v", o.err)
	}
	if o := <-dDone; o.err != nil || o.res != ifmatch.Unchanged {
		t.Errorf("D: %v %q, want Unchanged", o.err, o.res)
	}
	if o := <-eDone; o.err != nil || o.res != ifmatch.Updated {
		t.Errorf("E: %v %q", o.err, o.res)
	}
	if bRan {
		t.Error("B's mutator ran after B was cancelled")
	}
	// Two rounds: A alone, then C+D+E in one POST.
	if b.posts != 2 || b.attrs["a"] != true || b.attrs["e"] != true {
		t.Errorf("%d POSTs, state %v", b.posts, b.attrs)
	}
}

// waitQueued waits until n callers are queued on the client's round (read
// through the package's test hook).
func waitQueued(t *testing.T, c *ifmatch.Client, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for ifmatch.QueuedForTest(c) < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d callers queued", ifmatch.QueuedForTest(c))
		}
		time.Sleep(time.Millisecond) // polling a condition, bounded
	}
}

func TestAloneAndCustomBackoffDoNotCoalesce(t *testing.T) {
	t.Parallel()
	c, ws, b, done := blockedRound(t)
	// While A's round is blocked, these complete: they did not queue.
	if _, err := ws.UpdateTask(ctxT(t), testTask, set("b"), ifmatch.Alone()); err != nil {
		t.Fatal(err)
	}
	if _, err := ws.UpdateTask(ctxT(t), testTask, set("c"),
		ifmatch.Backoff(func() backoff.BackOff { return &backoff.ZeroBackOff{} })); err != nil {
		t.Fatal(err)
	}
	// A plain call does queue behind A.
	queued := make(chan error, 1)
	go func() { _, err := ws.UpdateTask(ctxT(t), testTask, set("d")); queued <- err }()
	waitQueued(t, c, 1)
	close(b.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := <-queued; err != nil {
		t.Fatal(err)
	}
}

// A caller whose context ends while its round's write is in flight returns
// at once with ErrOutcomeUnknown: its change was sent and may land (here it
// does). The other callers of the round get their results.
func TestCoalescedCancelDuringRound(t *testing.T) {
	t.Parallel()
	c, m := setupCoalescing(t)
	b := newBlockingTask()
	b.blockAt = 2
	first, aPosting := make(chan struct{}), make(chan struct{})
	var once sync.Once
	m.on("GET", taskURL, b.respond)
	m.on("POST", taskURL, func(r *http.Request) (*http.Response, error) {
		once.Do(func() { close(aPosting); <-first }) // hold round 1 until B and C queue
		return b.respond(r)
	})
	ws := c.Workspace(testWS)
	aDone := make(chan error, 1)
	go func() { _, err := ws.UpdateTask(ctxT(t), testTask, set("a")); aDone <- err }()
	<-aPosting // A leads round 1
	bDone, cDone := make(chan error, 1), make(chan error, 1)
	cCtx, cCancel := context.WithCancel(ctxT(t))
	go func() { _, err := ws.UpdateTask(ctxT(t), testTask, set("b")); bDone <- err }()
	go func() { _, err := ws.UpdateTask(cCtx, testTask, set("c")); cDone <- err }()
	waitQueued(t, c, 2)
	close(first)
	if err := <-aDone; err != nil {
		t.Fatal(err)
	}
	<-b.inFlight // round 2 (B and C) is writing
	cCancel()
	err := <-cDone
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ifmatch.ErrOutcomeUnknown) {
		t.Fatalf("C: err = %v, want ErrOutcomeUnknown and context.Canceled", err)
	}
	close(b.release)
	if err := <-bDone; err != nil {
		t.Fatalf("B: %v", err)
	}
	if b.attrs["c"] != true || b.attrs["b"] != true || b.posts != 2 {
		t.Errorf("posts %d state %v: B and C went out in one write", b.posts, b.attrs)
	}
}
