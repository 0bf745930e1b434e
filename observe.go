package ifmatch

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"
)

// This file holds the observation hooks: what an [Observer] given to
// [WithObserver] sees of the update loops and the transport. Every hook is
// guarded by a nil check, so a Client without an observer pays nothing
// (no allocation; see BenchmarkUpdateObserver).

// Observer sees what a Client's update loops ([Workspace.UpdateTask] and the
// other Update* calls with a mutator) and its transport do, for tracing and
// metrics (the nested module otelifmatch implements it with OpenTelemetry).
// Give one to [WithObserver].
//
// The calls of one update call are, in order: StartUpdate, then any number of
// UpdateEvent, then EndUpdate, each on the context StartUpdate returned. The
// methods may be called concurrently (for different calls, and a call's
// events may come from the goroutine of a coalesced round while its own
// goroutine is queued), so they must be safe for concurrent use; they should
// return quickly, as the loop waits for them. They never see a credential.
//
// Embed [NopObserver] to implement only some methods and stay source
// compatible when methods are added.
type Observer interface {
	// StartUpdate is called when an update call begins, on the caller's
	// goroutine. The context it returns is the one the call runs on (its
	// requests, its events and EndUpdate), so a span started here is the
	// parent of the call's HTTP spans. Return ctx to keep it.
	StartUpdate(ctx context.Context, call UpdateCall) context.Context
	// UpdateEvent reports one step of an update loop: a conditional write
	// and its answer, a read-back, a backoff wait, or the time the call
	// queued for a coalesced round. The steps of a coalesced round (its
	// writes, read-backs and waits) are reported once, on the context of
	// the round's lead caller (the one whose requests carry the round; see
	// [UpdateEvent].Lead); every caller of the round gets its own
	// [EventQueued].
	UpdateEvent(ctx context.Context, call UpdateCall, e UpdateEvent)
	// EndUpdate is called once per StartUpdate, on the caller's goroutine,
	// when the call returns.
	EndUpdate(ctx context.Context, call UpdateCall, end UpdateEnd)
	// TransportRetry is called when the transport layer schedules a retry of
	// a request (any request of the Client, not only an update loop's), on
	// that request's context: after a 429, a 5xx, or a failure before any
	// answer.
	TransportRetry(ctx context.Context, r RetryInfo)
}

// NopObserver is an [Observer] that does nothing. Embed it in an observer
// that implements only some of the methods.
type NopObserver struct{}

// StartUpdate returns ctx.
func (NopObserver) StartUpdate(ctx context.Context, _ UpdateCall) context.Context { return ctx }

// UpdateEvent does nothing.
func (NopObserver) UpdateEvent(context.Context, UpdateCall, UpdateEvent) {}

// EndUpdate does nothing.
func (NopObserver) EndUpdate(context.Context, UpdateCall, UpdateEnd) {}

// TransportRetry does nothing.
func (NopObserver) TransportRetry(context.Context, RetryInfo) {}

// WithObserver makes the Client report its update calls and transport
// retries to o (nil: none, the default). See [Observer].
func WithObserver(o Observer) Option {
	return func(c *clientConfig) error {
		c.observer = o
		return nil
	}
}

// UpdateCall names one update call for an [Observer]. Its fields are
// constants or the resource's path: cheap to pass, and none is a secret.
type UpdateCall struct {
	// Op is the method called: "UpdateTask", "UpdateWorker",
	// "UpdateTaskReservation", "UpdateWorkerReservation", "UpdateDocument",
	// "UpdateListItem" or "UpdateMapItem" (typed helpers such as
	// UpdateTaskAttributes report the method they call).
	Op string
	// Kind is the resource kind: "Task", "Worker", "Reservation",
	// "Document", "ListItem" or "MapItem". A bounded set: fit for a
	// metric label.
	Kind string
	// Path is the resource's API path, each segment escaped, for example
	// "/v1/Workspaces/WS…/Tasks/WT…" or "/v1/Services/IS…/Maps/MP…/Items/key".
	// It holds SIDs and, for Sync, a unique name, list index or map key:
	// unbounded, so never a metric label.
	Path string
}

// EventKind says what an [UpdateEvent] reports.
type EventKind uint8

const (
	// EventAttempt: a conditional write was answered, or got no answer
	// (reported when that is known, before any read-back it leads to).
	// Attempt is its number, Status its HTTP status (0: no answer), ETag
	// the If-Match it carried, Err its error (nil: it landed). The wait
	// before the next write, if any, is the EventBackoff that follows.
	EventAttempt EventKind = iota + 1
	// EventReadBack: a read that the loop needs to go on, after a 412 or
	// a write whose answer was lost or unusable. Try counts the reads of
	// one read-back from 1; Status and Err are the read's.
	EventReadBack
	// EventBackoff: the loop sleeps Wait before reading again (after a
	// 412, an unanswered write, or a read that shows another writer busy),
	// or, under [Fair], before a call's first read (its deferral) or before
	// it writes from the Client's cache.
	EventBackoff
	// EventQueued: the call waited Wait for a coalesced round of Callers
	// callers (this one included) to start. Lead reports that the round
	// runs on this call's context; Round is the lead caller's context (its
	// StartUpdate's), for linking a caller to the requests that carried
	// its change.
	EventQueued
)

// String returns "attempt", "read_back", "backoff" or "queued".
func (k EventKind) String() string {
	switch k {
	case EventAttempt:
		return "attempt"
	case EventReadBack:
		return "read_back"
	case EventBackoff:
		return "backoff"
	case EventQueued:
		return "queued"
	}
	return "unknown"
}

// UpdateEvent is one step of an update loop; which fields are set depends on
// Kind (see [EventKind]).
type UpdateEvent struct {
	Kind    EventKind
	Attempt int    // EventAttempt: the write's number, from 1
	Try     int    // EventReadBack: the read's number within the read-back, from 1
	Status  int    // HTTP status; 0 when no answer came
	ETag    string // EventAttempt: the If-Match sent (a version, not a secret; not a metric label)
	Err     error
	Wait    time.Duration   // EventBackoff: the sleep; EventQueued: the time queued
	Callers int             // EventQueued
	Lead    bool            // EventQueued
	Round   context.Context // EventQueued
}

// Outcome is how an update call ended, for an [Observer]: a bounded set.
type Outcome string

const (
	// OutcomeUpdated: a write of the call landed.
	OutcomeUpdated Outcome = "updated"
	// OutcomeUnchanged: the mutator changed nothing, or the call's
	// IdempotencyKey was found ([AlreadyApplied]); nothing was written.
	OutcomeUnchanged Outcome = "unchanged"
	// OutcomeConflict: out of attempts or time after 412s ([ErrConflict]).
	OutcomeConflict Outcome = "conflict"
	// OutcomeUnknown: a write may or may not have landed
	// ([ErrOutcomeUnknown]).
	OutcomeUnknown Outcome = "unknown"
	// OutcomeError: any other error (the mutator's, an API error, the
	// context's); nothing of the call was written.
	OutcomeError Outcome = "error"
)

// UpdateEnd is the end of an update call.
type UpdateEnd struct {
	Outcome Outcome
	// Attempts counts the conditional writes the call's loop sent (for a
	// coalesced call, its round's, up to when the call left).
	Attempts int
	Elapsed  time.Duration
	Err      error // the call's error; nil when Updated or Unchanged
}

// RetryInfo describes a transport retry.
type RetryInfo struct {
	Method string // the HTTP method
	Try    int    // the try that failed, from 1
	Status int    // its HTTP status (429, 5xx); 0 when no answer came
	Err    error  // its error when no answer came
}

// outcomeOf classifies an update call's result.
func outcomeOf(res OperationResult, err error) Outcome {
	switch {
	case err == nil && (res == Unchanged || res == AlreadyApplied):
		return OutcomeUnchanged
	case err == nil:
		return OutcomeUpdated
	case errors.Is(err, ErrOutcomeUnknown):
		return OutcomeUnknown
	case errors.Is(err, ErrConflict):
		return OutcomeConflict
	}
	return OutcomeError
}

// observedCall is an observed update call: it exists only when the Client
// has an observer, so an unobserved call allocates nothing for it.
type observedCall struct {
	obs      Observer
	ctx      context.Context
	call     UpdateCall
	start    time.Time
	attempts atomic.Int64 // written by the loop's goroutine (a round's), read at the end
	ended    bool         // EndUpdate was called (only ever by the caller's goroutine)
}

// errPanicked is the error an observer gets for a call that a panic ended.
var errPanicked = errors.New("ifmatch: the update call panicked")

// startObserved starts observing an update call when c has an observer: it
// returns the context the call runs on and the call (nil without observer).
// It chains an OnAttempt of its own into cfg to count the call's attempts
// (a coalesced round reports its writes to every caller still in it).
func startObserved[T any](ctx context.Context, c *Client, ops *resourceOps[T], cfg *updateConfig) (context.Context, *observedCall) {
	if c.obs == nil {
		return ctx, nil
	}
	oc := &observedCall{obs: c.obs, call: ops.call(), start: time.Now()}
	if octx := c.obs.StartUpdate(ctx, oc.call); octx != nil {
		ctx = octx
	}
	oc.ctx = ctx
	prev := cfg.observer
	cfg.observer = func(a AttemptInfo) {
		oc.attempts.Store(int64(a.Attempt))
		if prev != nil {
			prev(a)
		}
	}
	return ctx, oc
}

// end reports the end of the call, once.
func (oc *observedCall) end(res OperationResult, err error) {
	if oc == nil || oc.ended {
		return
	}
	oc.ended = true
	oc.obs.EndUpdate(oc.ctx, oc.call, UpdateEnd{Outcome: outcomeOf(res, err), Attempts: int(oc.attempts.Load()),
		Elapsed: time.Since(oc.start), Err: err})
}

// call names the update call running on ops.
func (o *resourceOps[T]) call() UpdateCall { return UpdateCall{Op: o.op, Kind: o.kind, Path: o.key} }

// named sets the names an observer sees for calls on ops.
func (o *resourceOps[T]) named(op, kind string) *resourceOps[T] {
	o.op, o.kind = op, kind
	return o
}

// event reports a step of the loop to the Client's observer, if any.
func (u *update[T]) event(e UpdateEvent) {
	if o := u.c.obs; o != nil {
		o.UpdateEvent(u.ctx, u.ops.call(), e)
	}
}

// observeWrite reports the answer to the write just sent, as soon as it
// comes (OnAttempt gets it later, with the wait after it).
func (u *update[T]) observeWrite() {
	if u.c.obs == nil {
		return
	}
	a := u.last
	var bre *badResponseError
	if a.Err == nil {
		a.Status = http.StatusOK
	} else if errors.As(a.Err, &bre) {
		a.Status = bre.Status
	}
	u.event(UpdateEvent{Kind: EventAttempt, Attempt: a.Attempt, Status: a.Status, ETag: a.ETag, Err: a.Err})
}

// observeRead reports a read of a read-back.
func (u *update[T]) observeRead(try int, err error) {
	if u.c.obs != nil {
		status := http.StatusOK
		if err != nil {
			status = statusOf(err)
		}
		u.event(UpdateEvent{Kind: EventReadBack, Try: try, Status: status, Err: err})
	}
}

// observeQueued reports the start of a coalesced round to each of its
// callers: how long each queued, and how many share the round.
func (c *Client) observeQueued(call UpdateCall, batch []*member) {
	if c.obs == nil {
		return
	}
	now := time.Now()
	for i, m := range batch {
		c.obs.UpdateEvent(m.ctx, call, UpdateEvent{Kind: EventQueued, Wait: now.Sub(m.queued), Callers: len(batch),
			Lead: i == 0, Round: batch[0].ctx})
	}
}

// queuedAt is the time a call joins a round's queue, when it is observed.
func (c *Client) queuedAt() time.Time {
	if c.obs == nil {
		return time.Time{}
	}
	return time.Now()
}

// observeRetry wraps the transport's retry policy to report the retries it
// schedules.
func observeRetry(o Observer, sc scrubber, check func(context.Context, *http.Response, error) (bool, error)) func(context.Context, *http.Response, error) (bool, error) {
	return func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		retry, cerr := check(ctx, resp, err)
		if retry {
			// err may quote what the server sent (a malformed answer).
			r := RetryInfo{Err: sc.scrubError(err)}
			if st, _ := ctx.Value(stateKey{}).(*reqState); st != nil {
				r.Method, r.Try = st.method, st.attempts
			}
			if resp != nil {
				r.Status = resp.StatusCode
			}
			o.TransportRetry(ctx, r)
		}
		return retry, cerr
	}
}
