package ifmatch

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ifmatch-go/ifmatch/internal/jsonx"
)

// This file holds the round queues that coalesce concurrent updates of one
// resource through one Client (group commit).

// coalescer groups concurrent update calls on one resource through one
// Client: while a round (one run of the update loop) is in flight, later
// calls queue; the next round applies every queued mutator, in arrival order,
// to the latest state and sends one conditional write for all of them.
type coalescer struct {
	mu     sync.Mutex
	groups map[string]*roundQueue
}

type roundQueue struct {
	running bool
	queue   []*member
}

// member is one caller waiting for, or taking part in, a round.
type member struct {
	ctx       context.Context
	fn        any // func(*T) error
	cfg       updateConfig
	lead      chan struct{} // closed: this member runs the next round
	done      chan struct{} // closed: res, result and err are set
	withdrawn atomic.Bool   // the caller's context ended during its round
	failed    bool          // its mutator failed; it drops out of the round
	changed   bool          // its mutator changed something in the last run
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
	return fmt.Sprintf("%d/%d/%d/%d/%t/%t/%s", u.maxAttempts, u.maxElapsed, u.initial, u.maxInterval,
		u.idempotent, u.noCache, u.markerKey), true
}

// coalesce runs mutate as part of a round of the resource's queue.
func coalesce[T any](ctx context.Context, c *Client, ops *resourceOps[T], mutate func(*T) error, cfg updateConfig, key string) (*T, OperationResult, error) {
	m := &member{ctx: ctx, fn: mutate, cfg: cfg, lead: make(chan struct{}), done: make(chan struct{}), queued: c.queuedAt()}
	co := c.co
	co.mu.Lock()
	q := co.groups[key]
	if q == nil {
		q = &roundQueue{}
		co.groups[key] = q
	}
	q.queue = append(q.queue, m)
	leader := !q.running
	q.running = true
	co.mu.Unlock()

	if !leader {
		select {
		case <-m.done:
			return memberResult[T](m)
		case <-m.lead:
		case <-ctx.Done():
			select {
			case <-m.done: // finished as the context ended: the result is known
				return memberResult[T](m)
			default:
			}
			co.mu.Lock()
			queued := q.remove(m)
			select {
			case <-m.lead: // leadership came with the cancellation: pass it on
				co.handOff(key, q)
			default:
			}
			co.mu.Unlock()
			if queued {
				return nil, "", ctx.Err() // never applied
			}
			m.withdrawn.Store(true)
			return nil, "", &OutcomeUnknownError{Cause: ctx.Err()}
		}
	}
	// This caller runs the next round: everyone queued so far.
	co.mu.Lock()
	batch := q.queue
	q.queue = nil
	co.mu.Unlock()
	finish := func() {
		runRound(c, ops, batch)
		co.mu.Lock()
		co.handOff(key, q)
		co.mu.Unlock()
	}
	if len(batch) == 1 {
		finish() // alone: the loop runs on this caller's context
		return memberResult[T](m)
	}
	// A round for several callers outlives any one of them: run it apart,
	// so that this caller, too, can leave when its context ends.
	go finish()
	select {
	case <-m.done:
	case <-ctx.Done():
		select {
		case <-m.done:
		default:
			m.withdrawn.Store(true)
			return nil, "", &OutcomeUnknownError{Cause: ctx.Err()}
		}
	}
	return memberResult[T](m)
}

// handOff gives the next round to the first queued caller, or retires the
// queue. Called with co.mu held.
func (co *coalescer) handOff(key string, q *roundQueue) {
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

func memberResult[T any](m *member) (*T, OperationResult, error) {
	<-m.done
	v, _ := m.res.(*T)
	return v, m.result, m.err
}

// runRound runs the update loop once for a batch of callers: its mutator
// applies each caller's mutator in turn (a failing one is undone and drops
// out alone), and its result, or error, goes to every caller still in.
func runRound[T any](c *Client, ops *resourceOps[T], batch []*member) {
	c.observeRound(ops.call(), batch)
	if len(batch) == 1 { // the common, uncontended case: just the loop
		m := batch[0]
		v, res, err := loop(m.ctx, c, ops, m.fn.(func(*T) error), m.cfg)
		m.res, m.result, m.err = v, res, err
		close(m.done)
		return
	}
	// The round lives as long as any of its callers still waits for it.
	ctx, cancel := context.WithCancel(context.WithoutCancel(batch[0].ctx))
	defer cancel()
	var waiting atomic.Int32
	waiting.Store(int32(len(batch)))
	for _, m := range batch {
		stop := context.AfterFunc(m.ctx, func() {
			if waiting.Add(-1) == 0 {
				cancel()
			}
		})
		defer stop()
	}
	if dl, ok := latestDeadline(batch); ok {
		var cancelDL context.CancelFunc
		ctx, cancelDL = context.WithDeadline(ctx, dl)
		defer cancelDL()
	}

	cfg := batch[0].cfg
	cfg.observer = func(a AttemptInfo) {
		for _, m := range batch {
			if m.cfg.observer != nil && !m.withdrawn.Load() {
				m.cfg.observer(a)
			}
		}
	}
	composite := func(t *T) error {
		for _, m := range batch {
			m.changed = false
			if m.failed || m.withdrawn.Load() {
				continue
			}
			before := ops.clone(t)
			err := applyMutator(m.fn.(func(*T) error), t)
			if err == nil {
				var form map[string][]string
				form, err = ops.diff(before, t)
				m.changed = len(form) > 0
				if err == nil && ops.obj != nil && m != batch[len(batch)-1] {
					// The next caller sees this one's change as decoded
					// JSON, exactly as if it had been read from Twilio.
					err = normalize(ops.obj(t))
				}
			} else {
				err = fmt.Errorf("%w: %w", ErrMutatorAborted, err)
			}
			if err != nil {
				m.failed, m.err = true, err
				*t = *before
			}
		}
		return nil
	}
	v, res, err := loop(ctx, c, ops, composite, cfg)
	for _, m := range batch {
		if !m.failed {
			switch {
			case err != nil:
				m.err = err
			case res == Updated && m.changed:
				m.res, m.result = ops.clone(v), Updated
			default:
				m.res, m.result = ops.clone(v), Unchanged
			}
		}
		close(m.done)
	}
}

// applyMutator runs one caller's mutator inside a shared round; a panic
// becomes that caller's error instead of taking the round (and the process)
// down from another goroutine.
func applyMutator[T any](fn func(*T) error, t *T) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("mutator panicked: %v", r)
		}
	}()
	return fn(t)
}

// normalize re-decodes a JSON object, so numbers become json.Number again.
func normalize(obj *map[string]any) error {
	if *obj == nil {
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
