package ifmatch_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
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

// versionedTask is an httpmock Task that honours If-Match. Before each POST
// it calls hook (if set) with the POST's number (from 1); the hook may block,
// change the state as another writer would, or ask for the answer to be lost
// after the commit.
type versionedTask struct {
	mu      sync.Mutex
	version int
	attrs   map[string]any
	posts   int
	hook    func(n int) (loseAnswer bool)
}

func (v *versionedTask) respond(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost {
		v.mu.Lock()
		v.posts++
		n, hook := v.posts, v.hook
		v.mu.Unlock()
		lose := hook != nil && hook(n)
		v.mu.Lock()
		if r.Header.Get("If-Match") != fmt.Sprintf(`"%d"`, v.version) {
			v.mu.Unlock()
			return errResp(412, 20412)(r)
		}
		_ = r.ParseForm()
		v.attrs = map[string]any{}
		_ = json.Unmarshal([]byte(r.PostForm.Get("Attributes")), &v.attrs)
		v.version++
		v.mu.Unlock()
		if lose {
			return nil, errors.New("connection reset after commit")
		}
	}
	return v.current(r)
}

func (v *versionedTask) current(r *http.Request) (*http.Response, error) {
	v.mu.Lock()
	attrs, _ := json.Marshal(v.attrs)
	ver := v.version
	v.mu.Unlock()
	return taskResp(200, fmt.Sprintf(`"%d"`, ver), string(attrs), 0)(r)
}

// set as another writer would: a new version.
func (v *versionedTask) set(k string, val any) {
	v.mu.Lock()
	v.attrs[k] = val
	v.version++
	v.mu.Unlock()
}

// coalescedRound queues the given callers behind a first round (caller
// "lead", setting "lead") whose POST is held until they are all queued, so
// they form one round. run starts one caller; it must call ws.UpdateTask.
// The lead's options must be the callers' (only calls with the same loop
// semantics share rounds).
func coalescedRound(t *testing.T, v *versionedTask, n int, run func(ws ifmatch.Workspace, i int), opts ...ifmatch.UpdateOption) {
	t.Helper()
	c, m := setupCoalescing(t)
	m.on("GET", taskURL, v.respond)
	m.on("POST", taskURL, v.respond)
	ws := c.Workspace(testWS)
	held, release := make(chan struct{}), make(chan struct{})
	prev := v.hook
	v.hook = func(k int) bool {
		if k == 1 {
			close(held)
			<-release
			return false
		}
		return prev != nil && prev(k-1)
	}
	leadDone := make(chan error, 1)
	go func() { _, err := ws.UpdateTask(ctxT(t), testTask, set("lead"), opts...); leadDone <- err }()
	<-held
	for i := 0; i < n; i++ { // one by one: the round's order is arrival order
		go run(ws, i)
		waitQueued(t, c, i+1)
	}
	close(release)
	if err := <-leadDone; err != nil {
		t.Fatalf("lead: %v", err)
	}
}

// #11 case 2: after a 412 every mutator runs again on the fresh state, so
// no caller fails because of a state that never existed.
func TestCoalescedRerunOnFreshState(t *testing.T) {
	t.Parallel()
	v := &versionedTask{attrs: map[string]any{"state": "open"}}
	v.hook = func(n int) bool {
		if n == 1 { // the round's first write: another writer archives first
			v.set("state", "archived")
		}
		return false
	}
	closer := func(tk *ifmatch.Task) error { // A
		if tk.Attributes["state"] == "archived" {
			return errors.New("archived")
		}
		tk.Attributes["state"] = "closed"
		return nil
	}
	noter := func(tk *ifmatch.Task) error { // B
		if tk.Attributes["state"] == "closed" {
			return errors.New("closed")
		}
		tk.Attributes["b"] = true
		return nil
	}
	errs := make([]chan error, 2)
	for i := range errs {
		errs[i] = make(chan error, 1)
	}
	coalescedRound(t, v, 2, func(ws ifmatch.Workspace, i int) {
		fn := closer
		if i == 1 {
			fn = noter
		}
		_, err := ws.UpdateTask(ctxT(t), testTask, fn)
		errs[i] <- err
	})
	aErr, bErr := <-errs[0], <-errs[1]
	if !errors.Is(aErr, ifmatch.ErrMutatorAborted) || !strings.Contains(aErr.Error(), "archived") {
		t.Errorf("A: %v, want its refusal on the archived state", aErr)
	}
	if bErr != nil {
		t.Errorf("B: %v, want success: in every serial order consistent with the end state B runs on an archived task", bErr)
	}
	if v.attrs["state"] != "archived" || v.attrs["b"] != true {
		t.Errorf("state %v", v.attrs)
	}
}

// #11 case 1: a mutator panic, alone in its round or shared, is raised in
// the caller's own goroutine, and the resource's queue is never left
// running: the next update through the same client goes through.
func TestCoalescedMutatorPanic(t *testing.T) {
	t.Parallel()
	callPanics := func(f func()) (r any) {
		defer func() { r = recover() }()
		f()
		return nil
	}
	t.Run("alone", func(t *testing.T) {
		t.Parallel()
		v := &versionedTask{attrs: map[string]any{}}
		c, m := setupCoalescing(t)
		m.on("GET", taskURL, v.respond)
		m.on("POST", taskURL, v.respond)
		ws := c.Workspace(testWS)
		r := callPanics(func() {
			_, _ = ws.UpdateTask(ctxT(t), testTask, func(*ifmatch.Task) error { panic("boom") })
		})
		if r != "boom" {
			t.Fatalf("recovered %v, want the mutator's panic", r)
		}
		ctx, cancel := context.WithTimeout(ctxT(t), 10*time.Second) // fails, not hangs, if wedged
		defer cancel()
		if _, err := ws.UpdateTask(ctx, testTask, set("after")); err != nil {
			t.Fatalf("next update after a panic: %v", err)
		}
		if v.attrs["after"] != true {
			t.Fatalf("state %v", v.attrs)
		}
	})
	t.Run("shared", func(t *testing.T) {
		t.Parallel()
		v := &versionedTask{attrs: map[string]any{}}
		panicked, other := make(chan any, 1), make(chan error, 1)
		coalescedRound(t, v, 2, func(ws ifmatch.Workspace, i int) {
			if i == 0 {
				panicked <- callPanics(func() {
					_, _ = ws.UpdateTask(ctxT(t), testTask, func(*ifmatch.Task) error { panic("boom") })
				})
				return
			}
			_, err := ws.UpdateTask(ctxT(t), testTask, set("b"))
			other <- err
		})
		if r := <-panicked; r != "boom" {
			t.Errorf("recovered %v, want the mutator's panic in the caller's goroutine", r)
		}
		if err := <-other; err != nil || v.attrs["b"] != true {
			t.Errorf("the other caller: %v, state %v", err, v.attrs)
		}
	})
}

// #11 case 3 (and #15 item 4's containment): each caller is told Updated
// when its own change is in the committed state because of the call, even
// when every write's answer is lost; an OnAttempt panic in a shared round is
// raised in its caller's goroutine, not the round's.
func TestCoalescedLostAnswersEveryCallerUpdated(t *testing.T) {
	t.Parallel()
	v := &versionedTask{attrs: map[string]any{}}
	v.hook = func(int) bool { return true } // every write commits, its answer is lost
	const n = 4
	results := make([]ifmatch.OperationResult, n)
	errs := make(chan error, n)
	coalescedRound(t, v, n, func(ws ifmatch.Workspace, i int) {
		_, err := ws.UpdateTask(ctxT(t), testTask, set(fmt.Sprint("k", i)), ifmatch.Idempotent(),
			ifmatch.ReportResult(&results[i]))
		errs <- err
	}, ifmatch.Idempotent())
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for i, r := range results {
		if r != ifmatch.Updated || v.attrs[fmt.Sprint("k", i)] != true {
			t.Errorf("caller %d: %q, state %v", i, r, v.attrs)
		}
	}
	if v.posts != 2 {
		t.Errorf("%d POSTs, want the lead's and one for the round", v.posts)
	}
}

func TestCoalescedObserverPanicContained(t *testing.T) {
	t.Parallel()
	v := &versionedTask{attrs: map[string]any{}}
	panicked, other := make(chan any, 1), make(chan error, 1)
	coalescedRound(t, v, 2, func(ws ifmatch.Workspace, i int) {
		if i == 0 {
			defer func() { panicked <- recover() }()
			_, _ = ws.UpdateTask(ctxT(t), testTask, set("a"),
				ifmatch.OnAttempt(func(ifmatch.AttemptInfo) { panic("observer") }))
			return
		}
		_, err := ws.UpdateTask(ctxT(t), testTask, set("b"))
		other <- err
	})
	if r := <-panicked; r != "observer" {
		t.Errorf("recovered %v, want the observer's panic in its caller's goroutine", r)
	}
	if err := <-other; err != nil || v.attrs["a"] != true || v.attrs["b"] != true {
		t.Errorf("other caller %v, state %v", err, v.attrs)
	}
}

// #11 case 4: a caller whose round's write may have landed when its
// context ends gets ErrOutcomeUnknown joined with the context's error, alone
// or shared, whoever's deadline the round runs on.
func TestCoalescedDeadlineDuringWrite(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 2} {
		t.Run(fmt.Sprint(n, " callers"), func(t *testing.T) {
			t.Parallel()
			v := &versionedTask{attrs: map[string]any{}}
			// The callers' deadlines pass once the round's write has
			// reached the server (a deadline on demand, not on a clock);
			// the write commits only after every caller has answered.
			expire, gate := make(chan struct{}), make(chan struct{})
			v.hook = func(int) bool { close(expire); <-gate; return false }
			errs := make(chan error, n)
			var wg sync.WaitGroup
			wg.Add(n)
			coalescedRound(t, v, n, func(ws ifmatch.Workspace, i int) {
				defer wg.Done()
				_, err := ws.UpdateTask(deadlineOn(ctxT(t), expire), testTask, set(fmt.Sprint("k", i)))
				errs <- err
			})
			wg.Wait()
			close(gate)
			for i := 0; i < n; i++ {
				err := <-errs
				if !errors.Is(err, ifmatch.ErrOutcomeUnknown) || !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("err = %v, want ErrOutcomeUnknown joined with context.DeadlineExceeded", err)
				}
			}
		})
	}
}

// deadlineCtx is a context whose deadline passes when expire is closed: a
// deadline at a moment the test chooses.
type deadlineCtx struct {
	context.Context
	expire <-chan struct{}
}

func deadlineOn(parent context.Context, expire <-chan struct{}) context.Context {
	return deadlineCtx{parent, expire}
}

func (d deadlineCtx) Deadline() (time.Time, bool) { return time.Now().Add(time.Hour), true }
func (d deadlineCtx) Done() <-chan struct{}       { return d.expire }
func (d deadlineCtx) Err() error {
	select {
	case <-d.expire:
		return context.DeadlineExceeded
	default:
		return nil
	}
}
