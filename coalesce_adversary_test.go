package ifmatch_test

// Adversarial tests of coalesced rounds (coalesce.go): scripted rounds whose
// members refuse, panic, leave, or meet lost answers, 412 storms and stalls.
// Each test that once exposed a defect now guards its fix.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ifmatch-go/ifmatch"
	"go.uber.org/goleak"
)

// advAction says what advTask does with one POST.
type advAction struct {
	status   int  // answer this status without committing (412 needs no entry: If-Match decides)
	noCommit bool // do not commit
	lose     bool // lose the answer (connection reset)
	stall    bool // hold the request until its context ends (no commit)
	// lateLand: an earlier copy of this very write (the same form) lands
	// just before it arrives, so this copy meets 412
	lateLand bool
	// dup: commit this write, then answer 412, as a proxy that delivered
	// it twice answers with its second copy's refusal
	dup bool
}

// advTask is an httpmock Task honouring If-Match, whose POSTs (numbered from
// 1) are scripted by hook (which may block, or change the state as another
// writer would with set).
type advTask struct {
	mu      sync.Mutex
	version int
	attrs   map[string]any
	posts   int
	hook    func(n int) advAction
	getHook func() // called (once, then cleared) at the start of the next GET
}

// holdNextGET makes the next GET close at and wait for gate.
func (a *advTask) holdNextGET(at, gate chan struct{}) {
	a.mu.Lock()
	a.getHook = func() { close(at); <-gate }
	a.mu.Unlock()
}

func newAdvTask() *advTask { return &advTask{attrs: map[string]any{}} }

func (a *advTask) setHook(h func(n int) advAction) {
	a.mu.Lock()
	a.hook = h
	a.mu.Unlock()
}

func (a *advTask) respond(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost {
		a.mu.Lock()
		a.posts++
		n, hook := a.posts, a.hook
		a.mu.Unlock()
		var act advAction
		if hook != nil {
			act = hook(n)
		}
		if act.stall {
			<-r.Context().Done()
			return nil, r.Context().Err()
		}
		if act.noCommit && act.lose { // lost on the way: never reached the version check
			return nil, errors.New("connection reset")
		}
		if act.status != 0 {
			return errResp(act.status, act.status*100)(r)
		}
		a.mu.Lock()
		if act.lateLand && r.Header.Get("If-Match") == fmt.Sprintf(`"%d"`, a.version) {
			_ = r.ParseForm()
			a.attrs = map[string]any{}
			_ = json.Unmarshal([]byte(r.PostForm.Get("Attributes")), &a.attrs)
			a.version++
		}
		if r.Header.Get("If-Match") != fmt.Sprintf(`"%d"`, a.version) {
			a.mu.Unlock()
			return errResp(412, 20412)(r)
		}
		if !act.noCommit {
			_ = r.ParseForm()
			a.attrs = map[string]any{}
			_ = json.Unmarshal([]byte(r.PostForm.Get("Attributes")), &a.attrs)
			a.version++
		}
		a.mu.Unlock()
		if act.dup {
			return errResp(412, 20412)(r)
		}
		if act.lose {
			return nil, errors.New("connection reset")
		}
	} else {
		a.mu.Lock()
		h := a.getHook
		a.getHook = nil
		a.mu.Unlock()
		if h != nil {
			h()
		}
	}
	a.mu.Lock()
	attrs, _ := json.Marshal(a.attrs)
	ver := a.version
	a.mu.Unlock()
	return taskResp(200, fmt.Sprintf(`"%d"`, ver), string(attrs), 0)(r)
}

// set changes one attribute as another writer would: a new version (the
// rest of the attributes, a marker history included, kept).
func (a *advTask) set(k string, v any) {
	a.mu.Lock()
	a.attrs[k] = v
	a.version++
	a.mu.Unlock()
}

func (a *advTask) get(k string) any {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.attrs[k]
}

func (a *advTask) postCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.posts
}

// advSetup is a coalescing client (zero backoff) on a.
func advSetup(t *testing.T, a *advTask, opts ...ifmatch.Option) (*ifmatch.Client, ifmatch.Workspace) {
	t.Helper()
	all := append([]ifmatch.Option{ifmatch.WithUpdateDefaults(ifmatch.Backoff(nil), ifmatch.BackoffBounds(0, 0))}, opts...)
	c, m := setup(t, all...)
	m.on("GET", taskURL, a.respond)
	m.on("POST", taskURL, a.respond)
	return c, c.Workspace(testWS)
}

// advRound holds a lead call (setting "lead", POST 1) in its write until n
// callers have queued behind it one by one (run(i) starts caller i, which
// must call ws.UpdateTask with opts among its options), then lets it go: the
// n callers form the next round, in order. POSTs after the first are
// scripted by hook (numbered from 1, the lead's included).
func advRound(t *testing.T, c *ifmatch.Client, ws ifmatch.Workspace, a *advTask, n int, hook func(int) advAction,
	run func(i int), opts ...ifmatch.UpdateOption) {
	t.Helper()
	held, release := make(chan struct{}), make(chan struct{})
	a.setHook(func(k int) advAction {
		if k == 1 {
			close(held)
			<-release
			return advAction{}
		}
		if hook != nil {
			return hook(k)
		}
		return advAction{}
	})
	leadDone := make(chan error, 1)
	go func() { _, err := ws.UpdateTask(ctxT(t), testTask, set("lead"), opts...); leadDone <- err }()
	<-held
	for i := 0; i < n; i++ {
		go run(i)
		waitQueued(t, c, i+1)
	}
	close(release)
	if err := <-leadDone; err != nil {
		t.Fatalf("lead: %v", err)
	}
}

func catch(f func()) (r any) {
	defer func() { r = recover() }()
	f()
	return nil
}

type outcome struct {
	task *ifmatch.Task
	res  ifmatch.OperationResult
	err  error
}

// ---------------------------------------------------------------------------
// Bugs

// An Observer whose UpdateEvent panics on EventQueued (recovered above, as
// net/http recovers a handler's panic) leaves the resource's queue running:
// observeQueued runs after the leader took the batch and before the deferred
// hand-off (coalesce.go, coalesce: c.observeQueued precedes `defer co.done`
// and the round goroutine). Every later update of the resource through the
// client then queues forever, sending nothing.
func TestAdvCoObserverPanicNeverWedgesQueue(t *testing.T) {
	a := newAdvTask()
	obs := &queuedPanicObserver{}
	_, ws := advSetup(t, a, ifmatch.WithObserver(obs))
	if r := catch(func() { _, _ = ws.UpdateTask(ctxT(t), testTask, set("a")) }); r != "observer" {
		t.Fatalf("recovered %v, want the observer's panic", r)
	}
	ctx, cancel := context.WithTimeout(ctxT(t), 2*time.Second)
	defer cancel()
	if _, err := ws.UpdateTask(ctx, testTask, set("b")); err != nil {
		t.Fatalf("the next update after an observer panic: %v (POSTs %d): the queue is wedged", err, a.postCount())
	}
}

type queuedPanicObserver struct {
	ifmatch.NopObserver
	done atomic.Bool
}

func (o *queuedPanicObserver) UpdateEvent(_ context.Context, _ ifmatch.UpdateCall, e ifmatch.UpdateEvent) {
	if e.Kind == ifmatch.EventQueued && o.done.CompareAndSwap(false, true) {
		panic("observer")
	}
}

// A mutator that panics in a shared round has its panic kept until the round
// ends; if the caller's context ends first (here while the round's write is
// out), awaitRound returns the plain context error and the panic is lost. A
// direct call would have panicked at once.
func TestAdvCoPanicRaisedAfterContextEnds(t *testing.T) {
	a := newAdvTask()
	c, ws := advSetup(t, a)
	inFlight, gate := make(chan struct{}), make(chan struct{})
	pCtx, pCancel := context.WithCancel(ctxT(t))
	defer pCancel()
	pOut, bOut := make(chan any, 1), make(chan error, 1)
	advRound(t, c, ws, a, 2, func(n int) advAction {
		if n == 2 {
			close(inFlight)
			<-gate
		}
		return advAction{}
	}, func(i int) {
		if i == 0 {
			var err error
			r := catch(func() {
				_, err = ws.UpdateTask(pCtx, testTask, func(*ifmatch.Task) error { panic("boom") })
			})
			if r == nil {
				r = err
			}
			pOut <- r
			return
		}
		_, err := ws.UpdateTask(ctxT(t), testTask, set("b"))
		bOut <- err
	})
	<-inFlight // P's mutator panicked; the round writes B's change
	pCancel()
	got := <-pOut
	close(gate)
	if err := <-bOut; err != nil {
		t.Errorf("B: %v", err)
	}
	if got != "boom" {
		t.Fatalf("P got %v, want its mutator's panic raised in its goroutine", got)
	}
}

// A caller whose context ends while its mutator runs in a shared round
// returns at once, while its mutator is still running on the round's
// goroutine: the callback outlives the call (a direct call never returns
// before its mutator has), so anything the mutator touches races with the
// caller's code after the call. The answer itself is right (plain context
// error, the change undone).
func TestAdvCoMutatorNeverOutlivesCall(t *testing.T) {
	a := newAdvTask()
	c, ws := advSetup(t, a)
	entered, unblock := make(chan struct{}), make(chan struct{})
	var mutatorDone atomic.Bool
	mCtx, mCancel := context.WithCancel(ctxT(t))
	defer mCancel()
	mOut, bOut := make(chan error, 1), make(chan error, 1)
	advRound(t, c, ws, a, 2, nil, func(i int) {
		if i == 0 {
			_, err := ws.UpdateTask(mCtx, testTask, func(tk *ifmatch.Task) error {
				close(entered)
				<-unblock
				tk.Attributes["m"] = true
				mutatorDone.Store(true)
				return nil
			})
			mOut <- err
			return
		}
		_, err := ws.UpdateTask(ctxT(t), testTask, set("b"))
		bOut <- err
	})
	<-entered
	mCancel()
	var mErr error
	select {
	case mErr = <-mOut:
	case <-time.After(300 * time.Millisecond): // a negative check: the call waits for its mutator
	}
	returnedEarly := mErr != nil && !mutatorDone.Load()
	close(unblock)
	if mErr == nil {
		mErr = <-mOut
	}
	if err := <-bOut; err != nil {
		t.Errorf("B: %v", err)
	}
	if !errors.Is(mErr, context.Canceled) || errors.Is(mErr, ifmatch.ErrOutcomeUnknown) || a.get("m") != nil {
		t.Errorf("M: %v, state m=%v: want plain context.Canceled and no change", mErr, a.get("m"))
	}
	if returnedEarly {
		t.Fatal("UpdateTask returned while its mutator was still running")
	}
}

// With Idempotent() and CommitMarkers, a round's write whose answer was lost
// meets a read-back at a version another writer (without markers) made on
// its base, with A's change. A alone and A in a round must say the same.
// (adv4: that read proves nothing about A's write, since a read served
// stale at a version older than the base shows as much; so both say
// Updated, which for Idempotent means A's write or one to the same effect
// landed, as here: see update.unproven. adv2 had both say Unchanged.)
func TestAdvCoSupersededWriteNotUpdated(t *testing.T) {
	opts := []ifmatch.UpdateOption{ifmatch.Idempotent(), ifmatch.CommitMarkers("")}
	supersede := func(a *advTask) func(int) advAction {
		return func(n int) advAction {
			if n == 2 { // the first write after the lead's: another writer makes A's change first; ours is lost unwritten
				a.set("k", json.Number("1"))
				return advAction{noCommit: true, lose: true}
			}
			return advAction{}
		}
	}
	setK := func(tk *ifmatch.Task) error { tk.Attributes["k"] = json.Number("1"); return nil }

	// Alone, the loop says Unchanged.
	{
		a := newAdvTask()
		_, ws := advSetup(t, a)
		if _, err := ws.UpdateTask(ctxT(t), testTask, set("lead"), opts...); err != nil {
			t.Fatal(err)
		}
		a.setHook(supersede(a))
		var r ifmatch.OperationResult
		_, err := ws.UpdateTask(ctxT(t), testTask, setK, append(opts, ifmatch.ReportResult(&r), ifmatch.Alone())...)
		if err != nil || r != ifmatch.Updated {
			t.Fatalf("alone: %v %q, want Updated (the reference)", err, r)
		}
	}

	a := newAdvTask()
	c, ws := advSetup(t, a)
	outs := make([]chan outcome, 2)
	for i := range outs {
		outs[i] = make(chan outcome, 1)
	}
	advRound(t, c, ws, a, 2, supersede(a), func(i int) {
		fn := setK
		if i == 1 {
			fn = set("j")
		}
		var r ifmatch.OperationResult
		tk, err := ws.UpdateTask(ctxT(t), testTask, fn, append(opts, ifmatch.ReportResult(&r))...)
		outs[i] <- outcome{tk, r, err}
	}, opts...)
	A, B := <-outs[0], <-outs[1]
	if B.err != nil || B.res != ifmatch.Updated {
		t.Errorf("B: %v %q", B.err, B.res)
	}
	if A.err != nil || A.res != ifmatch.Updated {
		t.Fatalf("A: %v %q, want Updated, as alone", A.err, A.res)
	}
}

// MaxElapsed is documented to bound a call ("No call outlives its context or
// MaxElapsed"), but a call's MaxElapsed clock starts only when its round
// does (loop's start): time spent queued behind a slow round is not counted,
// so a queued caller can take twice its MaxElapsed.
func TestAdvCoMaxElapsedCountsQueueTime(t *testing.T) {
	const maxEl = 500 * time.Millisecond // the bug took 2×; the bound allows 1.5×: 250 ms for a busy machine
	a := newAdvTask()
	c, ws := advSetup(t, a)
	stalled := make(chan struct{})
	a.setHook(func(n int) advAction {
		if n == 1 {
			close(stalled)
		}
		return advAction{stall: true} // every write hangs until its loop gives up
	})
	leadDone := make(chan error, 1)
	go func() {
		_, err := ws.UpdateTask(ctxT(t), testTask, set("lead"), ifmatch.MaxElapsed(maxEl))
		leadDone <- err
	}()
	<-stalled
	start := time.Now()
	bDone := make(chan error, 1)
	go func() { _, err := ws.UpdateTask(ctxT(t), testTask, set("b"), ifmatch.MaxElapsed(maxEl)); bDone <- err }()
	waitQueued(t, c, 1)
	<-leadDone
	err := <-bDone
	took := time.Since(start)
	if took > maxEl+maxEl/2 {
		t.Fatalf("B took %v with MaxElapsed %v (err %v)", took, maxEl, err)
	}
}

// A caller whose mutator changes nothing on the state read (first in its
// round, so on the base) is told the round's failure: ErrOutcomeUnknown when
// the others' write lost its answer, ErrConflict when a 412 storm exhausts
// MaxAttempts. Alone, or first in any serial order, it is Unchanged: it
// writes nothing, so no write of it can be unknown or conflict. (answer():
// `case err != nil` precedes the Unchanged cases.)
func TestAdvCoNoOpCallerUnchangedWhenRoundFails(t *testing.T) {
	noop := func(*ifmatch.Task) error { return nil }
	for _, tc := range []struct {
		name string
		hook func(a *advTask) func(int) advAction
		want error
		opts []ifmatch.UpdateOption
	}{
		{"lost answer", func(*advTask) func(int) advAction {
			return func(n int) advAction { return advAction{lose: n >= 2} }
		}, ifmatch.ErrOutcomeUnknown, nil},
		{"412 storm", func(a *advTask) func(int) advAction {
			return func(int) advAction { a.set("x", time.Now().UnixNano()); return advAction{} }
		}, ifmatch.ErrConflict, []ifmatch.UpdateOption{ifmatch.MaxAttempts(2)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAdvTask()
			c, ws := advSetup(t, a)
			outs := make([]chan outcome, 2)
			for i := range outs {
				outs[i] = make(chan outcome, 1)
			}
			advRound(t, c, ws, a, 2, tc.hook(a), func(i int) {
				fn := noop
				if i == 1 {
					fn = set("a")
				}
				var r ifmatch.OperationResult
				tk, err := ws.UpdateTask(ctxT(t), testTask, fn, append(tc.opts, ifmatch.ReportResult(&r))...)
				outs[i] <- outcome{tk, r, err}
			}, tc.opts...)
			D, A := <-outs[0], <-outs[1]
			if !errors.Is(A.err, tc.want) {
				t.Errorf("A (changed): %v, want %v", A.err, tc.want)
			}
			if D.err != nil || D.res != ifmatch.Unchanged {
				t.Fatalf("D (no-op on the base): %v %q, want Unchanged", D.err, D.res)
			}
		})
	}
}

// A mutator that ends its goroutine (runtime.Goexit, as t.FailNow does in a
// test) inside a shared round ends the round's goroutine (recover cannot
// stop Goexit). The round still answers every other member at once, and
// truthfully: B's mutator never ran, so B is told its change was not
// applied (not ErrOutcomeUnknown), and nothing of it landed.
func TestAdvCoGoexitEndsRoundWithAnswers(t *testing.T) {
	a := newAdvTask()
	c, ws := advSetup(t, a)
	bOut := make(chan error, 1)
	advRound(t, c, ws, a, 2, nil, func(i int) {
		if i == 0 {
			_, _ = ws.UpdateTask(ctxT(t), testTask, func(*ifmatch.Task) error { runtime.Goexit(); return nil })
			return
		}
		ctx, cancel := context.WithTimeout(ctxT(t), 10*time.Second) // fails, not hangs
		defer cancel()
		_, err := ws.UpdateTask(ctx, testTask, set("b"))
		bOut <- err
	})
	err := <-bOut
	if err == nil || errors.Is(err, ifmatch.ErrOutcomeUnknown) || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("B: %v, want at once an error saying it was not applied", err)
	}
	if a.get("b") != nil {
		t.Fatalf("B's change landed although B was told it did not")
	}
}

// ---------------------------------------------------------------------------
// Regression tests (claims that held)

// Refusals in a round that ends in a 412 storm (MaxAttempts exhausted): a
// refusal of the state read is the caller's own answer; a refusal of an
// earlier caller's change (never written) is not, the caller gets the
// round's ErrConflict; the changer gets ErrConflict, never Unknown. Nothing
// leaks.
func TestAdvCoRefusalsIn412Storm(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	a := newAdvTask()
	c, ws := advSetup(t, a)
	opts := []ifmatch.UpdateOption{ifmatch.MaxAttempts(3)}
	outs := make([]chan outcome, 3)
	for i := range outs {
		outs[i] = make(chan outcome, 1)
	}
	refuseBase := errors.New("no lead")
	advRound(t, c, ws, a, 3, func(int) advAction {
		a.set("x", time.Now().UnixNano()) // another writer wins every time
		return advAction{}
	}, func(i int) {
		fn := []ifmatch.TaskMutator{
			func(tk *ifmatch.Task) error { // C: refuses the state read (the lead's change is there)
				if tk.Attributes["lead"] == true {
					return refuseBase
				}
				return nil
			},
			func(tk *ifmatch.Task) error { // A
				tk.Attributes["state"] = "closed"
				return nil
			},
			func(tk *ifmatch.Task) error { // B: refuses A's change
				if tk.Attributes["state"] == "closed" {
					return errors.New("closed")
				}
				tk.Attributes["b"] = true
				return nil
			},
		}[i]
		var r ifmatch.OperationResult
		tk, err := ws.UpdateTask(ctxT(t), testTask, fn, append(opts, ifmatch.ReportResult(&r))...)
		outs[i] <- outcome{tk, r, err}
	}, opts...)
	C, A, B := <-outs[0], <-outs[1], <-outs[2]
	if !errors.Is(A.err, ifmatch.ErrConflict) || errors.Is(A.err, ifmatch.ErrOutcomeUnknown) {
		t.Errorf("A: %v, want ErrConflict", A.err)
	}
	if !errors.Is(B.err, ifmatch.ErrConflict) || errors.Is(B.err, ifmatch.ErrMutatorAborted) {
		t.Errorf("B: %v, want the round's ErrConflict (its refusal was of a state never written)", B.err)
	}
	if !errors.Is(C.err, refuseBase) || !errors.Is(C.err, ifmatch.ErrMutatorAborted) {
		t.Errorf("C: %v, want its own refusal", C.err)
	}
	if A.task != nil || B.task != nil || C.task != nil || A.res != "" || B.res != "" || C.res != "" {
		t.Errorf("failed callers got objects or results: %+v %+v %+v", A, B, C)
	}
	if a.get("state") != nil || a.get("b") != nil {
		t.Errorf("state %v", a.attrs)
	}
	if p := a.postCount(); p != 5 {
		t.Errorf("%d POSTs, want the lead's, one on the stale cached copy (free) and MaxAttempts(3)", p)
	}
}

// Objects and results in a landed round: A's change followed by B's gets A's
// own view without an ETag; B (last to change) gets the committed version;
// C changed nothing after them and gets the committed version; D changed
// then undid (Unchanged).
func TestAdvCoViewsAndResults(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	a := newAdvTask()
	c, ws := advSetup(t, a)
	outs := make([]chan outcome, 4)
	for i := range outs {
		outs[i] = make(chan outcome, 1)
	}
	fns := []ifmatch.TaskMutator{
		set("a"), // A
		set("b"), // B
		func(tk *ifmatch.Task) error { // D: changes then undoes
			tk.Attributes["tmp"] = 1
			delete(tk.Attributes, "tmp")
			return nil
		},
		func(*ifmatch.Task) error { return nil }, // C: nothing
	}
	advRound(t, c, ws, a, len(fns), nil, func(i int) {
		var r ifmatch.OperationResult
		tk, err := ws.UpdateTask(ctxT(t), testTask, fns[i], ifmatch.ReportResult(&r))
		outs[i] <- outcome{tk, r, err}
	})
	A, B, D, C := <-outs[0], <-outs[1], <-outs[2], <-outs[3]
	for i, o := range []outcome{A, B, D, C} {
		if o.err != nil || o.task == nil {
			t.Fatalf("caller %d: %v", i, o.err)
		}
	}
	if A.res != ifmatch.Updated || A.task.ETag != "" || A.task.Attributes["a"] != true || A.task.Attributes["b"] != nil {
		t.Errorf("A: %q etag %q attrs %v, want Updated, its own view, no ETag", A.res, A.task.ETag, A.task.Attributes)
	}
	committed := fmt.Sprintf(`"%d"`, 2)
	if B.res != ifmatch.Updated || B.task.ETag != committed || B.task.Attributes["a"] != true || B.task.Attributes["b"] != true {
		t.Errorf("B: %q etag %q attrs %v, want Updated and the committed version", B.res, B.task.ETag, B.task.Attributes)
	}
	for name, o := range map[string]outcome{"C": C, "D": D} {
		if o.res != ifmatch.Unchanged || o.task.ETag != committed || o.task.Attributes["b"] != true {
			t.Errorf("%s: %q etag %q attrs %v, want Unchanged and the committed version", name, o.res, o.task.ETag, o.task.Attributes)
		}
	}
	if a.postCount() != 2 {
		t.Errorf("%d POSTs", a.postCount())
	}
}

// A later caller that undoes an earlier caller's change: the round writes
// nothing; the earlier caller is Updated (its change took effect in the
// serial order) with its own view and no ETag, the later one Updated with the
// version read.
func TestAdvCoChangeThenUndoneByLater(t *testing.T) {
	a := newAdvTask()
	c, ws := advSetup(t, a)
	outs := make([]chan outcome, 2)
	for i := range outs {
		outs[i] = make(chan outcome, 1)
	}
	advRound(t, c, ws, a, 2, nil, func(i int) {
		fn := set("a")
		if i == 1 {
			fn = func(tk *ifmatch.Task) error { delete(tk.Attributes, "a"); return nil }
		}
		var r ifmatch.OperationResult
		tk, err := ws.UpdateTask(ctxT(t), testTask, fn, ifmatch.ReportResult(&r))
		outs[i] <- outcome{tk, r, err}
	})
	A, B := <-outs[0], <-outs[1]
	if A.err != nil || A.res != ifmatch.Updated || A.task.ETag != "" || A.task.Attributes["a"] != true {
		t.Errorf("A: %v %q %+v", A.err, A.res, A.task)
	}
	if B.err != nil || B.res != ifmatch.Updated || B.task.ETag != `"1"` || B.task.Attributes["a"] != nil {
		t.Errorf("B: %v %q etag %q %v", B.err, B.res, B.task.ETag, B.task.Attributes)
	}
	if a.postCount() != 1 {
		t.Errorf("%d POSTs, want only the lead's", a.postCount())
	}
}

// Panics in the first and the last member of a round: each is raised in its
// own goroutine, the middle caller's change lands, the queue passes on.
func TestAdvCoPanicFirstAndLast(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	a := newAdvTask()
	c, ws := advSetup(t, a)
	rs := make([]chan any, 3)
	for i := range rs {
		rs[i] = make(chan any, 1)
	}
	advRound(t, c, ws, a, 3, nil, func(i int) {
		var err error
		r := catch(func() {
			_, err = ws.UpdateTask(ctxT(t), testTask, func(tk *ifmatch.Task) error {
				tk.Attributes[fmt.Sprint("p", i)] = true // a partial change before the panic
				if i != 1 {
					panic(fmt.Sprint("boom", i))
				}
				return nil
			})
		})
		if r == nil {
			r = err
		}
		rs[i] <- r
	})
	if r := <-rs[0]; r != "boom0" {
		t.Errorf("first: %v", r)
	}
	if r := <-rs[2]; r != "boom2" {
		t.Errorf("last: %v", r)
	}
	if r := <-rs[1]; r != nil {
		t.Errorf("middle: %v", r)
	}
	if a.get("p0") != nil || a.get("p2") != nil || a.get("p1") != true {
		t.Errorf("state %v: the panicking callers' partial changes must be undone", a.attrs)
	}
	ctx, cancel := context.WithTimeout(ctxT(t), 5*time.Second)
	defer cancel()
	if _, err := ws.UpdateTask(ctx, testTask, set("after")); err != nil {
		t.Fatal(err)
	}
}

// Withdrawals: during the round's write (Unknown, and the change lands),
// during the re-read after a 412 (plain error: the refused write cannot
// land, and its mutator runs no more), during the read-back after a lost
// answer (Unknown). Queued withdrawal is TestCoalescingQueueSemantics.
func TestAdvCoWithdrawalStages(t *testing.T) {
	type stage struct {
		name string
		// hook for POSTs after the lead's; at is closed when the stage is reached, then it waits for gate
		hook      func(a *advTask, at, gate chan struct{}) func(int) advAction
		wantUnk   bool // W's answer
		wantApply bool // W's change ends in the state
		bUnknown  bool // B's answer is Unknown (else Updated)
	}
	stages := []stage{
		{"during write", func(a *advTask, at, gate chan struct{}) func(int) advAction {
			return func(n int) advAction {
				if n == 2 {
					close(at)
					<-gate
				}
				return advAction{}
			}
		}, true, true, false},
		{"during the re-read after a 412", func(a *advTask, at, gate chan struct{}) func(int) advAction {
			return func(n int) advAction {
				if n == 2 {
					a.set("x", 1) // this write gets 412
					a.holdNextGET(at, gate)
				}
				return advAction{}
			}
		}, false, false, false},
		{"during the read-back after a lost answer", func(a *advTask, at, gate chan struct{}) func(int) advAction {
			return func(n int) advAction {
				if n == 2 {
					a.holdNextGET(at, gate)
					return advAction{lose: true} // lands, answer lost
				}
				return advAction{}
			}
		}, true, true, true},
	}
	for _, st := range stages {
		t.Run(st.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			a := newAdvTask()
			c, ws := advSetup(t, a)
			at, gate := make(chan struct{}), make(chan struct{})
			wCtx, wCancel := context.WithCancel(ctxT(t))
			defer wCancel()
			var wRuns atomic.Int32
			wOut, bOut := make(chan error, 1), make(chan outcome, 1)
			advRound(t, c, ws, a, 2, st.hook(a, at, gate), func(i int) {
				if i == 0 {
					_, err := ws.UpdateTask(wCtx, testTask, func(tk *ifmatch.Task) error {
						wRuns.Add(1)
						tk.Attributes["w"] = true
						return nil
					})
					wOut <- err
					return
				}
				var r ifmatch.OperationResult
				tk, err := ws.UpdateTask(ctxT(t), testTask, set("b"), ifmatch.ReportResult(&r))
				bOut <- outcome{tk, r, err}
			})
			<-at
			wCancel()
			wErr := <-wOut
			runsAtExit := wRuns.Load()
			close(gate)
			B := <-bOut
			if st.bUnknown {
				if !errors.Is(B.err, ifmatch.ErrOutcomeUnknown) {
					t.Errorf("B: %v, want ErrOutcomeUnknown", B.err)
				}
			} else if B.err != nil || B.res != ifmatch.Updated || a.get("b") != true {
				t.Errorf("B: %v %q", B.err, B.res)
			}
			if !errors.Is(wErr, context.Canceled) || errors.Is(wErr, ifmatch.ErrOutcomeUnknown) != st.wantUnk {
				t.Errorf("W: %v (unknown wanted: %v)", wErr, st.wantUnk)
			}
			if got := a.get("w") == true; got != st.wantApply {
				t.Errorf("W's change applied: %v, want %v (state %v)", got, st.wantApply, a.attrs)
			}
			if n := wRuns.Load(); n != runsAtExit {
				t.Errorf("W's mutator ran %d more times after W left", n-runsAtExit)
			}
		})
	}
}

// The queue bound: with 256 callers waiting, the 257th runs its own loop
// (it completes while the round ahead is held); the 256 form one round.
func TestAdvCoQueueBound(t *testing.T) {
	a := newAdvTask()
	c, ws := advSetup(t, a)
	held, release := make(chan struct{}), make(chan struct{})
	a.setHook(func(k int) advAction {
		if k == 1 {
			close(held)
			<-release
		}
		return advAction{}
	})
	leadDone := make(chan error, 1)
	go func() { _, err := ws.UpdateTask(ctxT(t), testTask, set("lead")); leadDone <- err }()
	<-held
	const n = 256
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func(i int) {
			_, err := ws.UpdateTask(ctxT(t), testTask, set(fmt.Sprint("q", i)))
			errs <- err
		}(i)
	}
	waitQueued(t, c, n)
	ctx, cancel := context.WithTimeout(ctxT(t), 10*time.Second)
	defer cancel()
	var r ifmatch.OperationResult
	if _, err := ws.UpdateTask(ctx, testTask, set("extra"), ifmatch.ReportResult(&r)); err != nil || r != ifmatch.Updated {
		t.Fatalf("the 257th caller: %v %q, want its own loop to complete", err, r)
	}
	if q := ifmatch.QueuedForTest(c); q != n {
		t.Errorf("%d queued", q)
	}
	close(release)
	if err := <-leadDone; err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		if a.get(fmt.Sprint("q", i)) != true {
			t.Fatalf("q%d missing", i)
		}
	}
	if a.get("extra") != true || a.get("lead") != true {
		t.Errorf("state %v", a.attrs)
	}
	if p := a.postCount(); p > 5 {
		t.Errorf("%d POSTs for 258 calls", p)
	}
}

// IdempotencyKey in a round: two callers with one key, the first applies it
// (Updated), the second finds it (AlreadyApplied); a third with another key
// applies; keys are hidden from every returned object.
func TestAdvCoIdempotencyKeysInRound(t *testing.T) {
	a := newAdvTask()
	c, ws := advSetup(t, a)
	outs := make([]chan outcome, 3)
	for i := range outs {
		outs[i] = make(chan outcome, 1)
	}
	keys := []string{"ev1", "ev1", "ev2"}
	advRound(t, c, ws, a, 3, nil, func(i int) {
		var r ifmatch.OperationResult
		tk, err := ws.UpdateTask(ctxT(t), testTask, func(tk *ifmatch.Task) error {
			var n int64
			if v, ok := tk.Attributes["n"].(json.Number); ok {
				n, _ = v.Int64()
			}
			tk.Attributes["n"] = n + 1
			return nil
		}, ifmatch.IdempotencyKey(keys[i]), ifmatch.ReportResult(&r))
		outs[i] <- outcome{tk, r, err}
	}, ifmatch.Idempotent())
	want := []ifmatch.OperationResult{ifmatch.Updated, ifmatch.AlreadyApplied, ifmatch.Updated}
	for i := range outs {
		o := <-outs[i]
		if o.err != nil || o.res != want[i] {
			t.Errorf("caller %d: %v %q, want %q", i, o.err, o.res, want[i])
			continue
		}
		if _, ok := o.task.Attributes[ifmatch.IdempotencyKeysField]; ok {
			t.Errorf("caller %d sees the key history", i)
		}
	}
	if n := a.get("n"); fmt.Sprint(n) != "2" {
		t.Errorf("n = %v, want 2", n)
	}
}

// A round whose answer is lost with Idempotent: every changer is Updated,
// a no-op caller Unchanged, a caller refusing the base gets its refusal.
func TestAdvCoIdempotentLostAnswerMixed(t *testing.T) {
	a := newAdvTask()
	c, ws := advSetup(t, a)
	outs := make([]chan outcome, 3)
	for i := range outs {
		outs[i] = make(chan outcome, 1)
	}
	refuse := errors.New("refuse")
	fns := []ifmatch.TaskMutator{
		func(*ifmatch.Task) error { return refuse },
		set("a"),
		func(*ifmatch.Task) error { return nil },
	}
	advRound(t, c, ws, a, 3, func(n int) advAction {
		return advAction{lose: true} // every write lands, its answer lost
	}, func(i int) {
		var r ifmatch.OperationResult
		tk, err := ws.UpdateTask(ctxT(t), testTask, fns[i], ifmatch.Idempotent(), ifmatch.ReportResult(&r))
		outs[i] <- outcome{tk, r, err}
	}, ifmatch.Idempotent())
	R, A, N := <-outs[0], <-outs[1], <-outs[2]
	if !errors.Is(R.err, refuse) || errors.Is(R.err, ifmatch.ErrOutcomeUnknown) {
		t.Errorf("R: %v", R.err)
	}
	if A.err != nil || A.res != ifmatch.Updated {
		t.Errorf("A: %v %q", A.err, A.res)
	}
	if N.err != nil || N.res != ifmatch.Unchanged {
		t.Errorf("N: %v %q", N.err, N.res)
	}
}

// A mutator that clears the attributes (Attributes = nil, sent as {}) is
// followed in its round by one that writes a key: the second mutator gets a
// nil map (composite runs it on the first's state as left; normalize keeps
// nil): a plain assignment would panic; this mutator refuses instead, and
// the caller gets ErrMutatorAborted. In every serial order it runs on a
// version read from Twilio, whose attributes decode to a non-nil (empty) map
// ("Mutators always get a non-nil object to write into", conditional.go
// newOps), as it does alone.
func TestAdvCoNilAttributesSeenByNextMutator(t *testing.T) {
	a := newAdvTask()
	c, ws := advSetup(t, a)
	outs := make([]chan any, 2)
	for i := range outs {
		outs[i] = make(chan any, 1)
	}
	advRound(t, c, ws, a, 2, nil, func(i int) {
		fn := func(tk *ifmatch.Task) error { tk.Attributes = nil; return nil }
		if i == 1 {
			fn = func(tk *ifmatch.Task) error {
				if tk.Attributes == nil {
					return errors.New("nil attributes")
				}
				tk.Attributes["b"] = true
				return nil
			}
		}
		var err error
		r := catch(func() { _, err = ws.UpdateTask(ctxT(t), testTask, fn) })
		if r == nil {
			r = err
		}
		outs[i] <- r
	})
	if r := <-outs[0]; r != nil {
		t.Errorf("clearer: %v", r)
	}
	if r := <-outs[1]; r != nil {
		t.Fatalf("the next mutator: %v, want success on {} (state %v)", r, a.attrs)
	}
	if a.get("b") != true || a.get("lead") != nil {
		t.Errorf("state %v, want {b: true}", a.attrs)
	}
}

// An Observer whose UpdateEvent panics on a round's write: alone (or with
// Alone()) the panic unwinds through the caller, who can recover it; in a
// shared round the event is reported on the round's goroutine, which
// recovers it and raises it in the first caller's goroutine (it used to kill
// the process). Run in a child process, so a regression fails this test
// instead of the test binary.
func TestAdvCoObserverPanicInRoundContained(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestAdvCoObserverPanicInRoundChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "IFMATCH_ADV_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func TestAdvCoObserverPanicInRoundChild(t *testing.T) {
	if os.Getenv("IFMATCH_ADV_CHILD") == "" {
		t.Skip("run by TestAdvCoObserverPanicInRoundContained")
	}
	a := newAdvTask()
	obs := &attemptPanicObserver{}
	c, ws := advSetup(t, a, ifmatch.WithObserver(obs))
	rs := make(chan any, 2)
	advRound(t, c, ws, a, 2, func(int) advAction { obs.armed.Store(true); return advAction{} }, func(i int) {
		var err error
		r := catch(func() { _, err = ws.UpdateTask(ctxT(t), testTask, set(fmt.Sprint("k", i))) })
		if r == nil {
			r = err
		}
		rs <- r
	})
	for i := 0; i < 2; i++ {
		t.Logf("caller: %v", <-rs)
	}
}

type attemptPanicObserver struct {
	ifmatch.NopObserver
	armed atomic.Bool
}

func (o *attemptPanicObserver) UpdateEvent(_ context.Context, _ ifmatch.UpdateCall, e ifmatch.UpdateEvent) {
	if e.Kind == ifmatch.EventAttempt && o.armed.CompareAndSwap(true, false) {
		panic("observer")
	}
}

// IdempotencyKey callers in a round whose every write lands with its answer
// lost: each is Updated once, the counter is exact, a redelivery in the same
// round is AlreadyApplied.
func TestAdvCoIdempotencyKeysLostAnswers(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	a := newAdvTask()
	c, ws := advSetup(t, a)
	keys := []string{"ev1", "ev2", "ev1"}
	outs := make([]chan outcome, len(keys))
	for i := range outs {
		outs[i] = make(chan outcome, 1)
	}
	advRound(t, c, ws, a, len(keys), func(int) advAction { return advAction{lose: true} }, func(i int) {
		var r ifmatch.OperationResult
		tk, err := ws.UpdateTask(ctxT(t), testTask, func(tk *ifmatch.Task) error {
			var n int64
			if v, ok := tk.Attributes["n"].(json.Number); ok {
				n, _ = v.Int64()
			}
			tk.Attributes["n"] = n + 1
			return nil
		}, ifmatch.IdempotencyKey(keys[i]), ifmatch.ReportResult(&r))
		outs[i] <- outcome{tk, r, err}
	}, ifmatch.Idempotent())
	want := []ifmatch.OperationResult{ifmatch.Updated, ifmatch.Updated, ifmatch.AlreadyApplied}
	for i := range outs {
		if o := <-outs[i]; o.err != nil || o.res != want[i] {
			t.Errorf("caller %d: %v %q, want %q", i, o.err, o.res, want[i])
		}
	}
	if n := a.get("n"); fmt.Sprint(n) != "2" {
		t.Errorf("n = %v, want 2", n)
	}
}
