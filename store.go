package ifmatch

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// This file is for implementations of TaskAPI, WorkerAPI and SyncAPI other
// than this package's: stubs and in-memory fakes in tests (package
// ifmatchtest ships ready ones), caches, decorators. [ResolveOptions] tells
// them what a call's UpdateOptions ask for; [RunUpdate] runs this package's
// own update loop against their store, so they honour every option exactly
// as the Client does.

// Options is the resolved form of a call's [UpdateOption] values, with this
// package's defaults for those not given (a Client's [WithUpdateDefaults]
// are not known here).
type Options struct {
	MaxAttempts    int           // [MaxAttempts]
	MaxElapsed     time.Duration // [MaxElapsed]
	BackoffInitial time.Duration // [BackoffBounds]
	BackoffMax     time.Duration // [BackoffBounds]
	// Backoff is the factory given to [Backoff]; nil for the default.
	Backoff    func() backoff.BackOff
	Idempotent bool              // [Idempotent]
	OnAttempt  func(AttemptInfo) // [OnAttempt]; nil when not given
	// Result is where [ReportResult] asks the result to go; nil when not
	// given. Use [Options.Report].
	Result    *OperationResult
	FreshRead bool   // [FreshRead]
	MarkerKey string // [CommitMarkers]; "" when off
	Alone     bool   // [Alone]
	// IdempotencyKey is the key given to [IdempotencyKey]; "" when none.
	IdempotencyKey string
	Fair           bool // [Fair]
}

// ResolveOptions applies opts to the defaults and returns the result, or an
// error matching [ErrInvalidArgument] for values the Client would refuse.
// A stub that cannot run [RunUpdate] uses it to honour the options, for
// example:
//
//	o, err := ifmatch.ResolveOptions(opts...)
//	if err != nil {
//		return nil, err
//	}
//	... apply mutate to a copy ...
//	o.Report(ifmatch.Updated)
func ResolveOptions(opts ...UpdateOption) (Options, error) {
	cfg := defaultUpdateConfig()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if err := cfg.validate(); err != nil {
		return Options{}, err
	}
	cfg.resolve()
	if cfg.hasEventKey {
		if err := checkEventKey(cfg.eventKey); err != nil {
			return Options{}, err
		}
	}
	return Options{MaxAttempts: cfg.maxAttempts, MaxElapsed: cfg.maxElapsed, BackoffInitial: cfg.initial,
		BackoffMax: cfg.maxInterval, Backoff: cfg.newBackoff, Idempotent: cfg.idempotent, OnAttempt: cfg.observer,
		Result: cfg.result, FreshRead: cfg.noCache, MarkerKey: cfg.markerKey, Alone: cfg.noCoalesce,
		IdempotencyKey: cfg.eventKey, Fair: cfg.fair}, nil
}

// Report stores r where [ReportResult] asked, if it did.
func (o Options) Report(r OperationResult) {
	if o.Result != nil {
		*o.Result = r
	}
}

// Resource is the set of resource types with an update loop, for
// [RunUpdate].
type Resource interface {
	Task | Worker | Reservation | Document | ListItem | MapItem
}

// RunUpdate runs this package's update loop ([Workspace.UpdateTask] and its
// siblings) on a resource kept somewhere other than Twilio, for example in
// a test's memory, with every [UpdateOption] honoured as the Client honours
// it: deep copies for the mutator, [ErrMutatorAborted] wrapping, read-only
// fields refused with [ErrInvalidArgument], no write when nothing changed,
// conflict retries with backoff, [ReportResult], [OnAttempt],
// [CommitMarkers], [IdempotencyKey] and the limits. It does not cache or
// coalesce.
//
// fetch returns the current version, with its ETag set (a strong, non-empty
// one, for example `"3"`). write must store next (a copy the loop no longer
// uses) only if the stored version's ETag is still etag, and return the
// stored value with its new ETag; otherwise it returns an error matching
// [ErrPreconditionFailed] (&APIError{Status: 412}). Errors are read as the
// Client reads Twilio's answers:
//
//   - an error of the call's first read ends the call with it; a read after
//     a write (a 412 or a lost answer) that fails with an error that is not
//     an [*APIError], or one with status 429 or 5xx, is taken as transient,
//     as a network error would be, and tried again (a few times);
//   - from write, an [*APIError] with a 4xx status (a 404: &APIError{Status:
//     404}) is a refusal, returned as it is; any other error (a plain
//     errors.New, a 5xx) is taken as a lost answer, after which the write may
//     have landed: the loop reads back and resends, and ends in
//     [ErrOutcomeUnknown] when MaxAttempts or MaxElapsed (30 s by default)
//     run out. A compare-and-set that reports a stale etag with a plain error
//     therefore makes a call that runs for 30 s and ends in
//     ErrOutcomeUnknown: report it as a 412.
func RunUpdate[T Resource](ctx context.Context, fetch func(context.Context) (*T, error),
	write func(ctx context.Context, etag string, next *T) (*T, error), mutate func(*T) error, opts ...UpdateOption) (*T, error) {
	if fetch == nil || write == nil {
		return nil, fmt.Errorf("%w: RunUpdate needs fetch and write", ErrInvalidArgument)
	}
	ops := storeOps[T]()
	var work *T // the value the last run of the mutator changed
	ops.fetch = fetch
	ops.write = func(ctx context.Context, etag string, _ url.Values) (*T, error) {
		return write(ctx, etag, ops.clone(work))
	}
	if mutate != nil {
		inner := mutate
		mutate = func(v *T) error { work = v; return inner(v) }
	}
	c := &Client{defaults: defaultUpdateConfig(), levels: newBoundedMap[time.Duration](1), fair: newBoundedMap[fairState](1)}
	return runUpdate(ctx, c, ops, mutate, opts)
}

// storeOps returns the resourceOps of T without fetch and write.
func storeOps[T Resource]() *resourceOps[T] {
	var ops any
	switch any((*T)(nil)).(type) {
	case *Task:
		ops = withNonNilObj(&resourceOps[Task]{key: "Task", clone: (*Task).Clone, diff: diffTask,
			etag: func(t *Task) *string { return &t.ETag }, obj: func(t *Task) *map[string]any { return &t.Attributes }})
	case *Worker:
		ops = withNonNilObj(&resourceOps[Worker]{key: "Worker", clone: (*Worker).Clone, diff: diffWorker,
			etag: func(w *Worker) *string { return &w.ETag }, obj: func(w *Worker) *map[string]any { return &w.Attributes }})
	case *Reservation:
		ops = &resourceOps[Reservation]{key: "Reservation", clone: (*Reservation).Clone, diff: diffReservation,
			etag: func(r *Reservation) *string { return &r.ETag }}
	case *Document:
		ops = syncStoreOps(documentRes)
	case *ListItem:
		ops = syncStoreOps(listItemRes)
	case *MapItem:
		ops = syncStoreOps(mapItemRes)
	}
	return ops.(*resourceOps[T])
}

func syncStoreOps[T any](r syncRes[T]) *resourceOps[T] {
	return withNonNilObj(&resourceOps[T]{key: r.kind, clone: r.clone,
		diff: diffData(r.kind, func(v *T) map[string]any { return *r.data(v) }), etag: r.etag, obj: r.data})
}

// withNonNilObj makes ops' clone hand mutators a non-nil object, as newOps does.
func withNonNilObj[T any](ops *resourceOps[T]) *resourceOps[T] {
	copyOf := ops.clone
	ops.clone = func(v *T) *T {
		c := copyOf(v)
		if m := ops.obj(c); *m == nil {
			*m = map[string]any{}
		}
		return c
	}
	return ops
}
