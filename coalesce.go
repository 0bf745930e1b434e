package ifmatch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ifmatch-go/ifmatch/internal/jsonx"
	"github.com/ifmatch-go/ifmatch/internal/marker"
)

// This file holds the round queues that coalesce concurrent updates of one
// resource through one Client (group commit).
//
// The serial order: while a round (one run of the update loop) is in
// flight, later calls queue; the next round runs every queued mutator in
// arrival order, each on the state the previous one left, and sends one
// conditional write for all of them. Every caller's answer is the one it
// would get had the callers run one after another in that order: its
// mutator's own view of the state, Updated or Unchanged for its own change,
// its own refusal. On a 412 or a re-read every mutator runs again on the
// fresh state, so no answer rests on a discarded state.

// maxQueued bounds the callers waiting for one resource's next round; a
// caller beyond it runs its own loop, as with [Alone].
const maxQueued = 256

// coalescer groups concurrent update calls on one resource through one
// Client.
type coalescer struct {
	mu     sync.Mutex
	groups map[string]*roundQueue
	recent *boundedMap[roundStats] // the last round of each resource
}

// roundStats describes a resource's last round, for linger.
type roundStats struct {
	callers int
	took    time.Duration
	ended   time.Time
}

func newCoalescer() *coalescer {
	return &coalescer{groups: map[string]*roundQueue{}, recent: newBoundedMap[roundStats](4096)}
}

type roundQueue struct {
	running bool
	queue   []*member
	want    int           // while a leader lingers: the queue length it waits for
	full    chan struct{} // closed when the queue reaches want
}

// member is one caller waiting for, or taking part in, a round.
type member struct {
	ctx  context.Context
	fn   any // func(*T) error
	cfg  updateConfig
	lead chan struct{} // closed: this member runs the next round
	done chan struct{} // closed: res, result and err are set

	mu        sync.Mutex // guards withdrawn and exposed, shared by the caller and the round
	withdrawn bool       // the caller left; its mutator runs no more
	exposed   bool       // a write carrying its change is out or may have landed

	// Owned by the round.
	changed   bool  // its mutator changed something in the current run
	onBase    bool  // no earlier caller changed anything in the current run
	ambiguous bool  // a write carrying its change got no answer
	failed    error // its mutator's refusal in the current run
	view      any   // *T: the state as its mutator left it in the current run
	panicked  any   // a panic of its mutator or OnAttempt, re-raised in its goroutine
	res       any
	result    OperationResult
	err       error
	queued    time.Time // when it joined the queue, if observed
}

// groupKey returns what calls must share to be coalesced into one round:
// the loop's limits and semantics. A call with its own backoff factory runs
// alone.
func (u updateConfig) groupKey() (string, bool) {
	if u.newBackoff != nil || u.noCoalesce {
		return "", false
	}
	return fmt.Sprintf("%d/%d/%d/%d/%t/%t/%t/%s", u.maxAttempts, u.maxElapsed, u.initial, u.maxInterval,
		u.idempotent, u.noCache, u.fair, u.markerKey), true
}

// coalesce runs mutate as part of a round of the resource's queue.
// [MaxElapsed] counts from the call's start, time queued included.
func coalesce[T any](ctx context.Context, c *Client, ops *resourceOps[T], mutate func(*T) error, cfg updateConfig, key string) (*T, OperationResult, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.maxElapsed)
	defer cancel()
	m := &member{ctx: ctx, fn: mutate, cfg: cfg, lead: make(chan struct{}), done: make(chan struct{}), queued: c.queuedAt()}
	co := c.co
	q, leader, ok := co.join(key, m)
	if !ok { // the queue is full: run alone
		return loop(ctx, c, ops, mutate, cfg)
	}
	if !leader {
		select {
		case <-m.done:
			return memberResult[T](m)
		case <-m.lead:
		case <-ctx.Done():
			return leaveQueue[T](co, key, q, m)
		}
	}
	co.linger(ctx, key, q)
	co.mu.Lock()
	batch := q.queue
	q.queue = nil
	co.mu.Unlock()
	start := time.Now()
	if len(batch) == 1 {
		// Alone: the loop runs on this caller's goroutine and context, and
		// a panic of its mutator (or an Observer) unwinds through here as
		// in a direct call, after the hand-off.
		defer co.done(key, q, 1, start)
		c.observeQueued(ops.call(), batch)
		return loop(ctx, c, ops, mutate, cfg)
	}
	// A round for several callers outlives any one of them: it runs apart,
	// so every caller can leave when its context ends.
	go func() {
		defer co.done(key, q, len(batch), start)
		runRound(c, ops, batch)
	}()
	c.observeQueued(ops.call(), batch)
	return awaitRound[T](m)
}

// join queues m on the resource's queue; leader reports that m runs the
// next round itself, ok false that the queue is full.
func (co *coalescer) join(key string, m *member) (q *roundQueue, leader, ok bool) {
	co.mu.Lock()
	defer co.mu.Unlock()
	q = co.groups[key]
	if q == nil {
		q = &roundQueue{}
		co.groups[key] = q
	}
	if len(q.queue) >= maxQueued {
		return q, false, false
	}
	q.queue = append(q.queue, m)
	if q.full != nil && len(q.queue) >= q.want {
		close(q.full)
		q.full = nil
	}
	leader = !q.running
	q.running = true
	return q, leader, true
}

// leaveQueue withdraws a queued caller whose context ended: its mutator
// never ran, so nothing of it was applied.
func leaveQueue[T any](co *coalescer, key string, q *roundQueue, m *member) (*T, OperationResult, error) {
	co.mu.Lock()
	queued := q.remove(m)
	led := false
	select {
	case <-m.lead: // leadership came with the cancellation: pass it on
		led = true
	default:
	}
	co.mu.Unlock()
	if led {
		co.next(key, q)
	}
	if !queued && !led {
		// Taken into a round as the context ended: the round's answer.
		return awaitRound[T](m)
	}
	return nil, "", m.ctx.Err()
}

// awaitRound waits for the round m takes part in, or for m's context: a
// caller leaving before any write carried its change is told so (its
// mutator runs no more); one leaving later gets [ErrOutcomeUnknown].
func awaitRound[T any](m *member) (*T, OperationResult, error) {
	select {
	case <-m.done:
		return memberResult[T](m)
	case <-m.ctx.Done():
	}
	// Taking m.mu waits for its mutator or OnAttempt if the round is running
	// one: no callback of this call runs after it returns.
	m.mu.Lock()
	m.withdrawn = true
	exposed, p := m.exposed, m.panicked
	m.mu.Unlock()
	select {
	case <-m.done: // finished as the context ended: the result is known
		return memberResult[T](m)
	default:
	}
	if p != nil {
		panic(p)
	}
	if exposed {
		return nil, "", &OutcomeUnknownError{Cause: m.ctx.Err()}
	}
	return nil, "", m.ctx.Err()
}

// done records a finished round (its callers, from start) and starts the
// next.
func (co *coalescer) done(key string, q *roundQueue, n int, start time.Time) {
	co.recent.put(key, roundStats{callers: n, took: time.Since(start), ended: time.Now()})
	co.next(key, q)
}

// linger gives the callers of a round just finished a moment to come back
// (a goroutine that loops over updates calls again at once) before the next
// round takes its batch: until as many callers wait as took part in it, or
// an eighth of its time (at most 1 ms), or the leader's context ends. Only
// after a round of several callers that ended within its own duration: an
// uncontended resource never waits.
func (co *coalescer) linger(ctx context.Context, key string, q *roundQueue) {
	st, ok := co.recent.get(key)
	d := min(st.took/8, time.Millisecond)
	if !ok || st.callers < 2 || d <= 0 || time.Since(st.ended) > st.took {
		return
	}
	co.mu.Lock()
	want := st.callers
	if len(q.queue) >= want {
		co.mu.Unlock()
		return
	}
	full := make(chan struct{})
	q.want, q.full = want, full
	co.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-full:
	case <-t.C:
	case <-ctx.Done():
	}
	co.mu.Lock()
	if q.full == full {
		q.full = nil
	}
	co.mu.Unlock()
}

// next gives the next round to the first queued caller, or retires the
// queue.
func (co *coalescer) next(key string, q *roundQueue) {
	co.mu.Lock()
	defer co.mu.Unlock()
	if len(q.queue) == 0 {
		q.running = false
		delete(co.groups, key)
		return
	}
	close(q.queue[0].lead)
}

func (q *roundQueue) remove(m *member) bool {
	for i, x := range q.queue {
		if x == m {
			q.queue = append(q.queue[:i], q.queue[i+1:]...)
			return true
		}
	}
	return false
}

// memberResult returns m's answer; a panic of its mutator or OnAttempt in
// the round is raised again here, in the caller's own goroutine.
func memberResult[T any](m *member) (*T, OperationResult, error) {
	<-m.done
	if m.panicked != nil {
		panic(m.panicked)
	}
	v, _ := m.res.(*T)
	return v, m.result, m.err
}

// runRound runs the update loop once for a batch of callers and gives each
// its own answer. Whatever ends the round (a panic outside the mutators, in
// an Observer, or runtime.Goexit in a mutator), every caller gets an
// answer: a round never leaves one waiting.
func runRound[T any](c *Client, ops *resourceOps[T], batch []*member) {
	ctx, cancel := roundContext(batch)
	defer cancel()
	answered := false
	defer func() {
		if !answered {
			abortRound(batch, recover())
		}
	}()
	cfg := batch[0].cfg
	cfg.observer = func(a AttemptInfo) { observeRound(batch, a) }
	cfg.settled = func(v marker.Verdict) {
		for _, m := range batch {
			// A write carrying its change landed, or may have: nothing
			// proved otherwise. (Superseded and Absent prove it did not,
			// or not yet.)
			m.mu.Lock()
			m.ambiguous = m.ambiguous || (v == marker.Unknown || v == marker.Landed) && m.changed
			if v == marker.Superseded && !m.ambiguous {
				m.exposed = false // no write of the round can land any more
			}
			m.mu.Unlock()
		}
	}
	cfg.snapshot = func() func() { return snapshotRun(batch) }
	v, res, err := loop(ctx, c, ops, func(t *T) error { return composite(ops, batch, t) }, cfg)
	for i := range batch {
		answer(ops, batch, i, v, res, err, cfg.idempotent)
	}
	answered = true
	for _, m := range batch {
		close(m.done)
	}
}

// snapshotRun saves each caller's part in the round's last run of mutators
// and returns what restores it: a write built in an earlier run that is
// found landed after later runs answers every caller as its run left it.
func snapshotRun(batch []*member) func() {
	type part struct {
		changed, onBase bool
		failed          error
		view            any
	}
	saved := make([]part, len(batch))
	for i, m := range batch {
		saved[i] = part{m.changed, m.onBase, m.failed, m.view}
	}
	return func() {
		for i, m := range batch {
			m.changed, m.onBase, m.failed, m.view = saved[i].changed, saved[i].onBase, saved[i].failed, saved[i].view
		}
	}
}

// errRoundAborted is the cause given to the callers of a round that ended
// without an answer.
var errRoundAborted = errors.New("ifmatch: the coalesced round ended abnormally (a panic outside the mutators, or runtime.Goexit)")

// abortRound answers every caller of a round that ended abnormally: unknown
// where a write carrying its change went out, not applied otherwise. A panic
// is raised again in the first caller's goroutine (whoever's mutator or
// OnAttempt panicked keeps its own).
func abortRound(batch []*member, r any) {
	for i, m := range batch {
		m.mu.Lock()
		switch {
		case i == 0 && r != nil && m.panicked == nil:
			m.panicked = r
		case m.exposed:
			m.err = &OutcomeUnknownError{Cause: errRoundAborted}
		default:
			m.err = errRoundAborted
		}
		m.mu.Unlock()
		close(m.done)
	}
}

// composite is a round's mutator: each caller's mutator in turn, on the
// state the previous one left. A refusal, or a panic, undoes that caller's
// change alone.
func composite[T any](ops *resourceOps[T], batch []*member, t *T) error {
	onBase := true
	for i, m := range batch {
		m.changed, m.failed, m.view, m.onBase = false, nil, nil, onBase
		before := ops.clone(t)
		if err := apply(ops, m, before, t, i == len(batch)-1); err != nil {
			m.failed = err
			*t = *before
			continue
		}
		onBase = onBase && !m.changed
	}
	return nil
}

// apply runs one caller's mutator on t (which equals before) in a round,
// holding its lock (so the caller cannot return while its mutator runs), and
// notes its change.
func apply[T any](ops *resourceOps[T], m *member, before, t *T, last bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.withdrawn || m.panicked != nil {
		return errWithdrawn
	}
	if err := applyMutator(m, t); err != nil {
		return err
	}
	if err := m.ctx.Err(); err != nil {
		// The caller's context ended while its mutator ran: its change is
		// dropped, and its answer is that context error (it waited for the
		// mutator on m.mu).
		return err
	}
	form, err := ops.diff(before, t)
	if err != nil {
		return err
	}
	if m.changed = len(form) > 0; ops.obj != nil && !last {
		// The next caller sees this one's change as decoded JSON, exactly
		// as if it had been read from Twilio.
		if err := normalize(ops.obj(t)); err != nil {
			m.changed = false
			return err
		}
	}
	m.exposed = m.exposed || m.changed
	m.view = ops.clone(t)
	return nil
}

// errWithdrawn marks a caller that left, or panicked, in an earlier run.
var errWithdrawn = errors.New("ifmatch: the caller left the round")

// applyMutator runs one caller's mutator inside a shared round; a panic is
// kept for the caller's goroutine instead of taking the round (and the
// process) down from this one. Called with m.mu held.
func applyMutator[T any](m *member, t *T) (err error) {
	defer func() {
		if r := recover(); r != nil {
			m.panicked = r
			err = fmt.Errorf("mutator panicked: %v", r)
		}
	}()
	if err := m.fn.(func(*T) error)(t); err != nil {
		return fmt.Errorf("%w: %w", ErrMutatorAborted, err)
	}
	return nil
}

// observeRound notes a write of the round for each caller, and reports it
// to each caller's OnAttempt (under the caller's lock: never after the call
// returned).
func observeRound(batch []*member, a AttemptInfo) {
	for _, m := range batch {
		m.mu.Lock()
		if refused(a.Err) && !a.open && !m.ambiguous {
			m.exposed = false // that write can never land, nor an earlier copy of it
		}
		if !m.withdrawn && m.panicked == nil && m.cfg.observer != nil {
			callObserver(m, a)
		}
		m.mu.Unlock()
	}
}

func callObserver(m *member, a AttemptInfo) {
	defer func() {
		if r := recover(); r != nil {
			m.panicked = r
		}
	}()
	m.cfg.observer(a)
}

// answer sets the i-th caller's answer from the round's outcome: what it
// would have been told running alone in the round's order.
func answer[T any](ops *resourceOps[T], batch []*member, i int, v *T, res OperationResult, err error, idempotent bool) {
	m := batch[i]
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.panicked != nil || m.withdrawn:
	case err != nil && m.onBase && !m.ambiguous && m.failed != nil:
		// Refused on the state read, not on earlier callers' changes that
		// may never land: its own answer.
		m.err = m.failed
	case err != nil && m.onBase && !m.ambiguous && !m.exposed && !m.changed:
		// Changed nothing on the state read, and no write carried a
		// change of its: nothing of it was ever sent. Its view is that
		// version, as read.
		m.res, m.result = m.view, Unchanged
	case err != nil:
		m.err = err
		if ctxErr := m.ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			m.err = errors.Join(err, ctxErr) // the round ran on others' contexts too
		}
	case m.failed != nil && m.ambiguous && idempotent:
		m.err = &OutcomeUnknownError{Cause: m.failed} // an earlier write may have applied it
	case m.failed != nil:
		m.err = m.failed
	case m.changed || res == Updated && idempotent && m.ambiguous:
		// Its change took effect in the round's serial order, even where a
		// later caller undid it and the round wrote nothing.
		m.res, m.result = view(ops, batch, i, v), Updated
	default:
		m.res, m.result = view(ops, batch, i, v), Unchanged
	}
}

// view returns the state as the i-th caller's mutator left it: the
// committed version when no later caller changed anything, otherwise that
// intermediate state, which carries no ETag (no such version exists).
func view[T any](ops *resourceOps[T], batch []*member, i int, v *T) *T {
	for _, later := range batch[i+1:] {
		if later.changed {
			own, _ := batch[i].view.(*T)
			if own == nil {
				break
			}
			*ops.etag(own) = ""
			return own
		}
	}
	return ops.clone(v)
}

// roundContext is the round's context: it ends when every caller's has,
// and has the latest of their deadlines.
func roundContext(batch []*member) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(batch[0].ctx))
	var stops []func() bool
	waiting := len(batch)
	var mu sync.Mutex
	for _, m := range batch {
		stops = append(stops, context.AfterFunc(m.ctx, func() {
			mu.Lock()
			defer mu.Unlock()
			if waiting--; waiting == 0 {
				cancel()
			}
		}))
	}
	var cancelDL context.CancelFunc = func() {}
	if dl, ok := latestDeadline(batch); ok {
		ctx, cancelDL = context.WithDeadline(ctx, dl)
	}
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancelDL()
		cancel()
	}
}

// normalize re-decodes a JSON object, so numbers become json.Number again;
// a cleared object becomes {} (it is sent, and read back, as {}).
func normalize(obj *map[string]any) error {
	if *obj == nil {
		*obj = map[string]any{}
		return nil
	}
	enc, err := jsonx.Encode(*obj)
	if err != nil {
		return fmt.Errorf("%w: the mutator left a value that is not JSON: %v", ErrInvalidArgument, err)
	}
	m, err := jsonx.DecodeObject(enc)
	if err != nil {
		return fmt.Errorf("%w: the mutator left a value that is not a JSON object: %v", ErrInvalidArgument, err)
	}
	*obj = m
	return nil
}

// latestDeadline returns the latest of the callers' deadlines, if all have one.
func latestDeadline(batch []*member) (time.Time, bool) {
	var latest time.Time
	for _, m := range batch {
		dl, ok := m.ctx.Deadline()
		if !ok {
			return time.Time{}, false
		}
		if dl.After(latest) {
			latest = dl
		}
	}
	return latest, true
}
