package ifmatch

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/ifmatch-go/ifmatch/internal/inputcheck"
	"github.com/ifmatch-go/ifmatch/internal/jsonx"
	"github.com/ifmatch-go/ifmatch/internal/marker"
)

// resourceOps is what one conditional resource supplies to the update engine:
// how to read it, copy it, diff two versions into form fields, and write it
// conditionally. Everything else (the loop, backoff, ambiguity handling,
// caching, results) lives once, in runUpdate.
type resourceOps[T any] struct {
	key string // the resource's path: cache key
	// cacheable: the path names one resource for ever (see stableName), so
	// the ETag cache may serve it
	cacheable bool
	op        string // the method, for an Observer: "UpdateTask"…
	kind      string // the resource kind, for an Observer: "Task"…
	fetch     func(ctx context.Context) (*T, error)
	write     func(ctx context.Context, etag string, form url.Values) (*T, error)
	clone     func(*T) *T
	diff      func(old, cur *T) (url.Values, error)
	etag      func(*T) *string // the resource's ETag field
	// obj returns the resource's JSON object (attributes or data), where
	// commit markers are kept; nil for resources that have none.
	obj func(*T) *map[string]any
	// born names the incarnation of the resource at the path: a Sync
	// resource deleted and created again under the same name is another one,
	// whose revisions start over (so an equal ETag proves nothing across
	// them); nil where the path names one resource for ever (a Task's SID).
	born func(*T) string
}

// newOps builds the resourceOps of the resource at path: GET to read, POST
// with If-Match to write, both answered by a body dec decodes.
func newOps[T any](c *Client, product string, path []string, dec func([]byte, string) (*T, error),
	clone func(*T) *T, diff func(old, cur *T) (url.Values, error), etag func(*T) *string,
	obj func(*T) *map[string]any) *resourceOps[T] {
	if obj != nil {
		// Mutators always get a non-nil object to write into.
		copyOf := clone
		clone = func(v *T) *T {
			c := copyOf(v)
			if m := obj(c); *m == nil {
				*m = map[string]any{}
			}
			return c
		}
	}
	return &resourceOps[T]{
		key: keyOf(path), cacheable: stableName(path),
		fetch: func(ctx context.Context) (*T, error) {
			return call(ctx, c, &request{method: http.MethodGet, product: product, path: path}, dec)
		},
		write: func(ctx context.Context, etag string, f url.Values) (*T, error) {
			return call(ctx, c, &request{method: http.MethodPost, product: product, path: path, form: f, ifMatch: etag}, dec)
		},
		clone: clone,
		diff:  diff,
		etag:  etag,
		obj:   obj,
	}
}

// call performs r and decodes its 2xx body with dec (which also gets the
// ETag header). A body that is not a JSON object naming the resource r asks
// for (see identityOf) is a *badResponseError carrying the 2xx status: the
// engine takes a write so answered as landed (see update.committed), with
// the answer's ETag unless the body names another resource.
func call[T any](ctx context.Context, c *Client, r *request, dec func([]byte, string) (*T, error)) (*T, error) {
	u := c.endpoint(r)
	resp, err := c.sendURL(ctx, r, u)
	if err != nil {
		return nil, err
	}
	v, why, foreign := readOne(identityOf(r), resp.body, resp.etag, dec)
	if why != "" {
		etag := resp.etag
		if foreign {
			etag = "" // another resource's version: never an If-Match for this one
		}
		return nil, &badResponseError{Method: r.method, URL: redactURL(u), Status: resp.status, ETag: etag, Reason: c.scrub.scrub(why)}
	}
	return v, nil
}

// writeOnce performs a single write outside the loop; it forgets the cached
// version of the resource, which the write makes stale.
// Its error is [ErrOutcomeUnknown] whenever the write may have landed; a 2xx
// whose body is unusable landed, and is answered with a read-back.
func writeOnce[T any](ctx context.Context, c *Client, r *request, dec func([]byte, string) (*T, error)) (*T, error) {
	if c.cache != nil {
		defer c.cache.drop(keyOf(r.path))
	}
	if r.ifMatch != "" { // "": last write wins, by the caller's choice
		if err := checkIfMatch(r.ifMatch); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err // never sent
	}
	v, err := call(ctx, c, r, dec)
	var bre *badResponseError
	switch {
	case err == nil || refused(err):
		return v, err
	case errors.As(err, &bre) && bre.Status >= 200 && bre.Status < 300 && ctx.Err() == nil:
		if v, rerr := call(ctx, c, &request{method: http.MethodGet, product: r.product, path: r.path}, dec); rerr == nil {
			return v, nil
		}
	}
	return nil, &OutcomeUnknownError{ETag: r.ifMatch, Cause: err}
}

// createOnce performs a create (a POST to a collection). A create whose
// answer was lost may have happened: its error is then [ErrOutcomeUnknown].
func createOnce[T any](ctx context.Context, c *Client, r *request, dec func([]byte, string) (*T, error)) (*T, error) {
	if err := ctx.Err(); err != nil {
		return nil, err // never sent
	}
	v, err := call(ctx, c, r, dec)
	if err == nil || refused(err) {
		return v, err
	}
	return nil, &OutcomeUnknownError{Cause: err}
}

// checkIfMatch refuses an ETag given by the caller that cannot serve as an
// If-Match (the rule is shared with ifmatchtest's in-memory stubs).
func checkIfMatch(etag string) error {
	return inputcheck.CheckIfMatch(ErrInvalidArgument, ErrNoETag, etag)
}

// deleteOnce deletes the resource at path, conditionally when etag is set.
// Its error is [ErrOutcomeUnknown] whenever the delete may have happened:
// no answer, a 5xx, or a 404 or 412 to a transport retry of an attempt whose
// answer was lost (the first attempt may have deleted it).
func deleteOnce(ctx context.Context, c *Client, product string, path []string, etag string) error {
	if c.cache != nil {
		defer c.cache.drop(keyOf(path))
	}
	if etag != "" {
		if err := checkIfMatch(etag); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err // never sent
	}
	lost := new(atomic.Bool)
	_, err := c.send(context.WithValue(ctx, lostKey{}, lost), &request{method: http.MethodDelete, product: product, path: path, ifMatch: etag})
	var ae *APIError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ae) && (ae.Status == http.StatusNotFound || ae.Status == http.StatusPreconditionFailed) && lost.Load():
		return &OutcomeUnknownError{ETag: etag, Cause: fmt.Errorf("an attempt's answer was lost and a retry got %d: %w", ae.Status, errLostAnswer)}
	case refused(err) && !lost.Load():
		return err
	}
	return &OutcomeUnknownError{ETag: etag, Cause: err}
}

// errLostAnswer is the cause of a delete whose retry found it done.
var errLostAnswer = errors.New("the first attempt may have deleted it")

// lostKey marks a request's context with an *atomic.Bool the transport sets
// when it retries an attempt that reached the server but got no usable
// answer (see checkRetry).
type lostKey struct{}

// keyOf is the key of the resource at path in the client's cache, its
// remembered backoff levels and its coalescing queues. Each segment is
// escaped as it is in the URL, so two different paths never share a key
// (map "x/Items/y" + key "z" is not map "x" + key "y/Items/z"), and the key
// holds no "|", which separates it from a group key.
func keyOf(path []string) string {
	var b strings.Builder
	for _, seg := range path {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(seg))
	}
	return b.String()
}

// runUpdate is the read-modify-write loop shared by every Update* method:
//
//  1. read the resource (or take this client's cached copy of its own last
//     write) and hand mutate a deep copy;
//  2. diff: nothing changed means no write, and the result is [Unchanged];
//  3. write the changed fields with If-Match: the ETag read;
//  4. on 412, back off, read again and go to 2 (with the default backoff, a
//     re-read after a short wait that shows another writer in a run of
//     writes is followed by another wait and read, not by a write);
//  5. on an ambiguous write (no answer, 5xx), read again: the same ETag
//     proves the write did not land, so it is sent again with the same
//     If-Match (at most one of the copies can ever commit); a new ETag means
//     it may have landed, which ends in [ErrOutcomeUnknown] unless the call is
//     [Idempotent].
func runUpdate[T any](ctx context.Context, c *Client, ops *resourceOps[T], mutate func(*T) error, opts []UpdateOption) (*T, error) {
	cfg := c.defaults
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.resolve()
	if mutate == nil {
		return nil, fmt.Errorf("%w: nil mutator", ErrInvalidArgument)
	}
	if ops.obj == nil && callSetsMarkers(opts) {
		return nil, fmt.Errorf("%w: CommitMarkers needs a resource with attributes or data (a reservation has none)", ErrInvalidArgument)
	}
	var seen bool // IdempotencyKey: the key was found by the last run of mutate
	if cfg.hasEventKey {
		var err error
		if mutate, err = withEventKey(ops, cfg.eventKey, mutate, &seen); err != nil {
			return nil, err
		}
		cfg.idempotent = true
	}
	ctx, oc := startObserved(ctx, c, ops, &cfg)
	defer oc.end("", errPanicked) // only if a mutator's panic unwinds through here
	var v *T
	var res OperationResult
	var err error
	start := time.Now()
	if key, ok := cfg.groupKey(); ok && c.co != nil {
		v, res, err = coalesce(ctx, c, ops, mutate, cfg, ops.key+"|"+key)
	} else {
		v, res, err = loop(ctx, c, ops, mutate, cfg)
	}
	if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) && time.Since(start) >= cfg.maxElapsed {
		err = &maxElapsedError{err: err, d: cfg.maxElapsed} // not the caller's deadline: say whose
	}
	if err == nil && cfg.hasEventKey {
		if seen && res == Unchanged {
			res = AlreadyApplied
		}
		v = hideEventKeys(ops, v)
	}
	oc.end(res, err)
	if err == nil && cfg.result != nil {
		*cfg.result = res
	}
	return v, err
}

// callSetsMarkers reports whether the call's own options (not the Client's
// defaults, which apply to every resource) ask for [CommitMarkers].
func callSetsMarkers(opts []UpdateOption) bool {
	var own updateConfig
	for _, o := range opts {
		if o != nil {
			o(&own)
		}
	}
	return own.markerKey != ""
}

// maxElapsedError is the error of a call that [MaxElapsed] cut off while
// the caller's own context was still live: the message names MaxElapsed
// (a bare "context deadline exceeded" sends the caller looking for a
// deadline they never set), and err, which matches
// context.DeadlineExceeded, stays whole for errors.Is and errors.As.
type maxElapsedError struct {
	err error
	d   time.Duration
}

func (e *maxElapsedError) Error() string {
	return fmt.Sprintf("ifmatch: MaxElapsed (%s) ran out: %s", e.d, e.err.Error())
}

func (e *maxElapsedError) Unwrap() error { return e.err }

// loop runs the read-modify-write loop for one caller (or one coalesced
// round of callers, see coalesce). [MaxElapsed] bounds all of it, requests
// and read-backs included, like a deadline on ctx.
func loop[T any](ctx context.Context, c *Client, ops *resourceOps[T], mutate func(*T) error, cfg updateConfig) (*T, OperationResult, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.maxElapsed)
	defer cancel()
	u := &update[T]{ctx: ctx, c: c, ops: ops, mutate: mutate, cfg: cfg, start: time.Now()}
	level, _ := c.levels.get(ops.key)
	u.cb = &conflictBackoff{initial: cfg.initial, max: cfg.maxInterval, start: level}
	if cfg.newBackoff != nil {
		u.b = cfg.newBackoff()
	}
	if cfg.fair {
		st := fairStateAt(c, ops.key, u.start)
		u.fb = &fairBackoff{st: st, start: u.start, cb: u.cb, max: cfg.maxInterval}
		u.b = u.fb
	}
	if u.b == nil {
		u.b = u.cb
	}
	if ops.obj != nil {
		u.mk = cfg.markerKey
	}
	defer u.rememberLevel()
	return u.run()
}

// update is one run of the update loop: a small state machine whose events
// are the answers to its reads and writes. Every exit goes through finish,
// which holds the outcome rule: while a write of this call may have landed
// (or may still land), any error is reported as [ErrOutcomeUnknown].
type update[T any] struct {
	ctx    context.Context
	c      *Client
	ops    *resourceOps[T]
	mutate func(*T) error
	cfg    updateConfig
	b      backoff.BackOff
	cb     *conflictBackoff // the default backoff, also when b is a custom one (for its level)
	fb     *fairBackoff     // b under Fair, else nil
	start  time.Time
	mk     string // the commit marker key; "" without markers

	cur       *T   // the latest version known
	fromCache bool // cur is this client's copy of its own last write, not a read
	attempt   int  // conditional writes sent
	free      int  // of those, refused only because the cached copy was stale
	slept     time.Duration
	last      AttemptInfo // the last write's report
	unseen    bool        // OnAttempt has not had last yet

	// What this call's writes may have done. Set before a write is sent,
	// cleared only on proof (see settle).
	inFlight    bool       // a write is on the wire
	pending     string     // If-Match of an unanswered write that may still land
	baseGone    bool       // a 412 to its resend proved the pending write's base version gone
	token       string     // the commit marker of the write in flight or pending
	baseTop     string     // the newest marker of the version that write was based on
	sent        *T         // the state the write in flight or pending would produce
	baseBorn    string     // the incarnation (ops.born) the pending write was built on
	sentForm    url.Values // and its form
	maybeLanded bool       // an unanswered write may have landed; nothing proved otherwise
	// With markers, the earlier writes of this call taken for not landed on
	// a read that only showed their base's newest token and another ETag: a
	// read older than the base (a replica behind) shows as much, when a
	// writer without markers made the base. Only a write of this call that
	// lands proves it (at most one can); until then every base is checked
	// for their tokens.
	unproven []unprovenWrite[T]
}

// unprovenWrite is a marked write whose fate no read proved.
type unprovenWrite[T any] struct {
	token, top string // its marker, and the newest one of its base
	sent       *T     // the state it would produce
	restore    func() // a round's callers' part in the run that built it, or nil
}

// run reads, then applies the mutator and writes until done.
func (u *update[T]) run() (*T, OperationResult, error) {
	if err := u.read(); err != nil {
		return u.finish(nil, "", err)
	}
	for {
		v, res, err := u.resend()
		if u.pending == "" && v == nil && err == nil {
			v, res, err = u.step()
		}
		if v != nil {
			return u.finish(v, res, nil)
		}
		if err != nil {
			return u.finish(nil, "", err)
		}
	}
}

// resend sends an unanswered write again exactly as it was (same If-Match,
// marker and content), so whichever copy lands the answer is the same; it
// does nothing when no write is pending.
func (u *update[T]) resend() (*T, OperationResult, error) {
	if u.pending == "" {
		return nil, "", nil
	}
	v, err := u.write(u.sent, u.sentForm)
	return v, Updated, err
}

// step applies the mutator to the latest version and writes the change:
// it returns the version written (or, with nothing to write, the version
// read and its result), or nil to go on.
func (u *update[T]) step() (*T, OperationResult, error) {
	if v := u.unprovenLanded(); v != nil {
		return v, Updated, nil
	}
	if err := u.checkUnproven(); err != nil {
		return nil, "", err
	}
	base, work, form, err := u.apply()
	switch {
	case (err != nil || form == nil) && u.fromCache:
		// A refusal or "nothing to do" on the client's own copy is
		// confirmed on a fresh read: another process may have moved on.
		return nil, "", u.refresh()
	case err != nil:
		return nil, "", err
	case form == nil && len(u.unproven) > 0 && !u.cfg.idempotent:
		return nil, "", errUnproven // Unchanged would say the earlier write never landed
	case form == nil:
		return base, u.unchangedResult(), nil
	}
	v, err := u.write(work, form)
	return v, Updated, err
}

// read takes the client's cached copy of the resource, or reads it. Under
// Fair, a Client that knows of contention defers (see [Fair]) and reads.
func (u *update[T]) read() error {
	if u.c.cache != nil && !u.cfg.noCache && u.ops.cacheable {
		if v, ok := u.c.cache.get(u.ops.key); ok {
			if v, ok := v.(*T); ok && checkETag(*u.ops.etag(v)) == nil {
				read, err := u.fairWait()
				if err != nil {
					return err
				}
				if read {
					return u.fairRead(*u.ops.etag(v))
				}
				u.cur, u.fromCache = v, true
				return nil
			}
			u.c.cache.drop(u.ops.key)
		}
	}
	return u.refresh()
}

// fairRead is the read of a call that Fair deferred: when it shows the
// version of the Client's own last write (own), nobody else wrote
// meanwhile, and the Client forgets the contention (see [Fair]).
func (u *update[T]) fairRead(own string) error {
	if err := u.refresh(); err != nil {
		return err
	}
	if sameETag(*u.ops.etag(u.cur), own) {
		u.fb.calm()
	}
	return nil
}

// fairWait is Fair's wait before a call writes from its Client's cache (see
// [Fair]); it reports whether the call must read instead.
func (u *update[T]) fairWait() (bool, error) {
	if u.fb == nil {
		return false, nil
	}
	wait, read := u.fb.beforeCache()
	if wait > 0 {
		if err := u.sleep(wait); err != nil {
			return false, err
		}
	}
	return read, nil
}

// refresh reads the resource.
func (u *update[T]) refresh() error {
	v, err := u.ops.fetch(u.ctx)
	if err != nil {
		return err
	}
	u.cur, u.fromCache = v, false
	return nil
}

// apply runs the mutator on a copy of cur (without markers) and returns
// that base, the mutated copy and the form fields that differ (nil: none).
func (u *update[T]) apply() (base, work *T, form url.Values, err error) {
	if err := u.markerKeyOwned(u.cur, "the resource holds"); err != nil {
		return nil, nil, nil, err
	}
	base = u.strip(u.cur)
	work = u.ops.clone(base)
	if err := u.mutate(work); err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %w", ErrMutatorAborted, err)
	}
	if err := u.markerKeyOwned(work, "the mutator set"); err != nil {
		return nil, nil, nil, err
	}
	if form, err = u.ops.diff(base, work); err != nil || len(form) == 0 {
		return base, work, nil, err
	}
	return base, work, form, nil
}

// unchangedResult is the result of a call whose mutator has nothing (more)
// to change: Unchanged, or Updated when (Idempotent) an earlier write of
// this call whose answer was lost, or one to the same effect, landed.
func (u *update[T]) unchangedResult() OperationResult {
	if u.maybeLanded {
		return Updated
	}
	return Unchanged
}

// write sends one conditional write of form (work's marker added) and
// handles its answer. It returns the new version when the write landed.
func (u *update[T]) write(work *T, form url.Values) (*T, error) {
	etag := u.pending // a resend carries the first copy's If-Match
	if etag == "" {
		etag = *u.ops.etag(u.cur)
	}
	if err := checkETag(etag); err != nil {
		return nil, err
	}
	token, top := u.token, u.baseTop
	if u.pending == "" { // a resend is sent as it was, marker included
		var err error
		if form, token, top, err = u.mark(work, form); err != nil {
			return nil, err
		}
	}
	if err := u.ctx.Err(); err != nil {
		return nil, err // never sent: nothing of it can land
	}
	if u.pending == "" && u.ops.born != nil {
		u.baseBorn = u.ops.born(u.cur)
	}
	u.attempt++
	// The token is the sent write's only now: until then it stays the
	// last one's, which a 412 may have left unsettled (copyMayHaveLanded).
	u.inFlight, u.sent, u.sentForm, u.token, u.baseTop = true, work, form, token, top
	t0 := time.Now()
	res, err := u.ops.write(u.ctx, etag, form)
	u.inFlight = !refused(err) // a write refused for sure cannot land
	u.last, u.unseen = AttemptInfo{Attempt: u.attempt, Status: statusOf(err), ETag: etag, Err: err}, true
	u.observeWrite()
	if err != nil && u.c.cache != nil {
		u.c.cache.drop(u.ops.key)
	}
	var bre *badResponseError
	switch {
	case err == nil:
		u.last.Status = http.StatusOK
		u.unproven = nil // a write built on a read without their tokens landed: they never did
		if u.fb != nil {
			u.fb.observeWin(time.Since(t0))
		}
		u.remember(res)
		return u.strip(res), nil
	case errors.As(err, &bre) && bre.Status >= 200 && bre.Status < 300:
		return u.committed(work, bre), nil
	case errors.Is(err, ErrPreconditionFailed):
		return u.conflict(etag, time.Since(t0))
	case u.inFlight && u.ctx.Err() == nil:
		u.inFlight, u.pending = false, etag
		return u.settle(err)
	}
	return nil, err
}

// mark adds a new commit marker to work and recomputes the form; it returns
// the marker and the newest one of the base's history (a resend after an
// unanswered write does not come here: it is sent as it was).
func (u *update[T]) mark(work *T, form url.Values) (_ url.Values, token, top string, _ error) {
	if u.mk == "" {
		return form, "", "", nil
	}
	prev := u.history(u.cur) // a history: apply checked it
	token, top = marker.Next(prev), marker.Top(prev)
	if obj := u.ops.obj(work); *obj == nil { // the mutator may have cleared it
		*obj = map[string]any{}
	}
	(*u.ops.obj(work))[u.mk] = marker.Append(prev, token, maxMarkers)
	form, err := u.ops.diff(u.cur, work)
	return form, token, top, err
}

// markerKeyOwned refuses v when it holds, under the CommitMarkers key,
// anything but a token history, which the markers would overwrite: the
// user's data in the resource (who says is "the resource holds"), or a value
// the mutator set. On a cached copy the refusal is confirmed on a fresh read
// (see step).
func (u *update[T]) markerKeyOwned(v *T, who string) error {
	if u.mk == "" {
		return nil
	}
	if prev, had := (*u.ops.obj(v))[u.mk]; had && !marker.IsHistory(prev) {
		return fmt.Errorf("%w: CommitMarkers key %q: %s a value that is not ifmatch's write tokens; "+
			"the markers would overwrite it: choose another key", ErrInvalidArgument, truncate(u.mk), who)
	}
	return nil
}

// committed handles a 2xx write whose answer was unusable: it landed, and
// produced exactly work (see written).
func (u *update[T]) committed(work *T, bre *badResponseError) *T {
	u.inFlight, u.pending = false, ""
	return u.written(work, bre.ETag)
}

// written is the state a landed write produced when its answer did not say:
// the version it was based on plus its change, with the answer's ETag when
// that is usable, else none (a later read would show later writes too, which
// no serial order puts in this call's answer).
func (u *update[T]) written(work *T, etag string) *T {
	u.unproven = nil // this call's write landed, and only one of them can
	v := u.ops.clone(work)
	if u.ops.obj != nil {
		_ = normalize(u.ops.obj(v)) // as decoded from an answer (the write encoded it already)
	}
	if checkETag(etag) != nil {
		etag = ""
	}
	*u.ops.etag(v) = etag
	u.remember(v)
	return u.strip(v)
}

// backoffWait sleeps the next backoff after a write, or reports why the
// loop must stop: out of attempts or time.
func (u *update[T]) backoffWait() error {
	wait, ok := u.nextWait()
	if !ok || u.attempt-u.free >= u.cfg.maxAttempts {
		return u.giveUp()
	}
	u.flush(wait)
	u.c.log(u.ctx, levelConflict, "retrying write", "resource", u.ops.key, "attempt", u.attempt,
		"status", u.last.Status, "wait", wait)
	return u.sleep(wait)
}

// giveUp is the error of a loop out of attempts or time: after conflicts,
// a *ConflictError; otherwise the last write's own error.
func (u *update[T]) giveUp() error {
	last := u.last.Err
	if errors.Is(last, ErrPreconditionFailed) {
		return &ConflictError{Attempts: u.attempt, Elapsed: time.Since(u.start), Last: last}
	}
	return last
}

// nextWait returns the next backoff wait, or false when the loop must stop
// instead (the backoff says so, or the wait would pass MaxElapsed).
func (u *update[T]) nextWait() (time.Duration, bool) {
	wait := u.b.NextBackOff()
	return wait, wait != backoff.Stop && time.Since(u.start)+wait <= u.cfg.maxElapsed
}

func (u *update[T]) sleep(wait time.Duration) error {
	u.slept = wait
	u.event(UpdateEvent{Kind: EventBackoff, Wait: wait})
	return sleepCtx(u.ctx, wait)
}

// flush reports the last write to OnAttempt, once, with the wait after it.
func (u *update[T]) flush(wait time.Duration) {
	if !u.unseen {
		return
	}
	u.unseen = false
	u.last.Wait, u.last.open = wait, u.pending != "" || len(u.unproven) > 0 || u.copyMayHaveLanded()
	if u.cfg.observer != nil {
		u.cfg.observer(u.last)
	}
}

// finish is every exit of the loop. While a write of this call may have
// landed or may still land (with markers, a 412 no read has checked yet:
// see copyMayHaveLanded), an error becomes [ErrOutcomeUnknown] (joined
// with the context's error, if it ended); an exhausted conflict budget is
// then no [ErrConflict], which promises that nothing was applied.
func (u *update[T]) finish(v *T, res OperationResult, err error) (*T, OperationResult, error) {
	u.flush(0)
	if err == nil {
		u.cb.succeeded = true
		return v, res, nil
	}
	if ctxErr := u.ctx.Err(); ctxErr != nil {
		// The context's end is named first, with the last real failure.
		if !errors.Is(err, ctxErr) {
			err = errors.Join(ctxErr, err)
		}
		if last := u.last.Err; last != nil && !errors.Is(err, last) {
			err = errors.Join(err, last)
		}
	}
	if u.inFlight || u.pending != "" || u.maybeLanded || len(u.unproven) > 0 || u.copyMayHaveLanded() {
		return nil, "", &OutcomeUnknownError{ETag: u.last.ETag, Cause: err}
	}
	return nil, "", err
}

// remember keeps v as the client's copy of its last write, when its ETag
// can serve as an If-Match and its path names it for ever.
func (u *update[T]) remember(v *T) {
	if u.c.cache != nil && u.hasETag(v) && u.ops.cacheable {
		u.c.cache.put(u.ops.key, u.ops.clone(v))
	} else if u.c.cache != nil {
		u.c.cache.drop(u.ops.key)
	}
}

// strip returns v without the commit marker: what mutators and callers see.
func (u *update[T]) strip(v *T) *T {
	if u.mk == "" {
		return v // only ever read, or handed to the caller
	}
	cp := u.ops.clone(v)
	delete(*u.ops.obj(cp), u.mk)
	return cp
}

// rememberLevel keeps the contention level reached for the next call (and,
// under Fair, what it learned).
func (u *update[T]) rememberLevel() {
	if u.fb != nil {
		u.c.fair.put(u.ops.key, u.fb.remember(u.cb.succeeded, time.Now()))
	}
	if l := u.cb.remember(); l > 0 {
		u.c.levels.put(u.ops.key, l)
	} else {
		u.c.levels.drop(u.ops.key)
	}
}

// versionGap returns b-a for Twilio's integer versions: 0 when either is
// opaque, or when the gap is too large to be a count of writes (opaque
// ETags that happen to be digits). It only tunes the backoff; no outcome
// depends on it.
func versionGap(a, b string) int64 {
	va, err1 := strconv.ParseInt(strings.Trim(a, `"`), 10, 64)
	vb, err2 := strconv.ParseInt(strings.Trim(b, `"`), 10, 64)
	if err1 != nil || err2 != nil || vb < va || vb-va > maxVersionGap {
		return 0
	}
	return vb - va
}

// maxVersionGap is the largest version gap taken as a count of writes.
const maxVersionGap = 4096

// transient reports whether a failed read may succeed if tried again: no
// answer, an unusable one, 429 or 5xx. A 404 or 401 will not change.
func transient(err error) bool {
	var ae *APIError
	return !errors.As(err, &ae) || ae.Status == http.StatusTooManyRequests || ae.Status >= 500
}

// errUnproven is the error of a call that cannot go on while an earlier
// write of it may have landed (see unproven): its mutator found nothing
// left to change, or a read no longer shows where that write's token would be.
var errUnproven = errors.New("ifmatch: no read proved whether an earlier write of this call landed")

// errStaleRead is the error of read-backs that never showed a version that
// settles the write (see movedOn): reads served stale, or a resource whose
// marker history another writer wiped, or (Sync) one created again.
var errStaleRead = errors.New("ifmatch: no read-back showed a version that settles the write " +
	"(reads stale, the marker history wiped by another writer, or the resource created again)")

// readBackTries bounds the reads that settle a write whose answer was lost
// or follow a conflict (each read itself has the transport's retries).
const readBackTries = 4

// maxMarkers bounds how many write tokens a resource keeps (see
// internal/marker). A lost answer is settled as long as fewer marked writes
// than this landed between the write and its read-back.
const maxMarkers = 32

const levelConflict = -2 // between Debug (-4) and Info (0)

// refused reports a write failure after which the write certainly did not
// land and never will: a 4xx or 501 answer, or a request that never left or
// that the context stopped before any attempt was acted on. Anything else
// (no answer, another 5xx, an error of unknown kind, or a context that ended
// while the request was out) may hide a commit.
func refused(err error) bool {
	var ue *unprocessedError
	if errors.As(err, &ue) {
		return true
	}
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status >= 400 && ae.Status < 500 || ae.Status == http.StatusNotImplemented
	}
	var te *transportError
	if errors.As(err, &te) {
		return te.NotSent
	}
	return errors.Is(err, ErrInvalidArgument) // the request could not be built
}

func statusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// sameETag reports whether two ETags name one version: equal, or equal but
// for the double quotes around one of them. A Sync object read without an
// ETag header takes its revision, bare ("3"), where the header quotes it
// (`"3"`); taken for two versions, a read-back at the version a lost write
// was based on seemed to show that base gone (see verdict).
func sameETag(a, b string) bool { return a == b || unquote(a) == unquote(b) }

// unquote strips one pair of double quotes around s.
func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

// checkETag refuses what cannot serve as an If-Match: nothing, a weak tag,
// or the wildcard (which would overwrite any version).
func checkETag(etag string) error {
	switch {
	case etag == "":
		return fmt.Errorf("%w: the server sent no ETag, so no conditional write is possible", ErrNoETag)
	case strings.HasPrefix(etag, "W/"):
		return fmt.Errorf("%w: the server sent only a weak ETag %q", ErrNoETag, truncate(etag))
	case strings.TrimSpace(etag) == "*":
		return fmt.Errorf("%w: ETag \"*\" matches any version; a conditional write needs the version read", ErrNoETag)
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// boundedMap is a mutex-guarded map of at most max entries, keyed by
// resource path; when full, an arbitrary entry goes. A Client keeps two: the
// ETag cache (the version it wrote last of each resource, so the next update
// can skip the GET) and the contention level of each resource.
type boundedMap[V any] struct {
	mu  sync.Mutex
	max int
	m   map[string]V
}

func newBoundedMap[V any](max int) *boundedMap[V] {
	return &boundedMap[V]{max: max, m: make(map[string]V)}
}

func (c *boundedMap[V]) get(k string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok
}

func (c *boundedMap[V]) put(k string, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		for old := range c.m {
			delete(c.m, old)
			break
		}
	}
	c.m[k] = v
}

func (c *boundedMap[V]) drop(k string) {
	c.mu.Lock()
	delete(c.m, k)
	c.mu.Unlock()
}

// readOnlyChanged returns the name of the first exported field of *old and
// *cur (same struct type) that differs and is not in writable, or "". It
// compares without boxing the common field types: it runs on every attempt.
func readOnlyChanged(old, cur any, writable ...string) string {
	vo, vc := reflect.ValueOf(old).Elem(), reflect.ValueOf(cur).Elem()
	t := vo.Type()
next:
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		for _, w := range writable {
			if f.Name == w {
				continue next
			}
		}
		fo, fc := vo.Field(i), vc.Field(i)
		var eq bool
		switch p := fo.Addr().Interface().(type) {
		case *string:
			eq = *p == fc.String()
		case *int:
			eq = *p == int(fc.Int())
		case *bool:
			eq = *p == fc.Bool()
		case *time.Time:
			eq = p.Equal(*fc.Addr().Interface().(*time.Time))
		case *map[string]string:
			eq = maps.Equal(*p, *fc.Addr().Interface().(*map[string]string))
		default:
			if fo.Kind() == reflect.String { // named string types
				eq = fo.String() == fc.String()
			} else {
				eq = reflect.DeepEqual(fo.Interface(), fc.Interface())
			}
		}
		if !eq {
			return f.Name
		}
	}
	return ""
}

// changedObject returns cur's JSON object to send when it differs from old's
// as JSON values (an emptied object is sent as {}), or nil when equal.
func changedObject(old, cur map[string]any) map[string]any {
	if jsonx.Equal(old, cur) {
		return nil
	}
	if cur == nil {
		return map[string]any{}
	}
	return cur
}

// readOnlyError reports a mutator that changed a field the API cannot write.
func readOnlyError(kind, field string) error {
	return fmt.Errorf("%w: the mutator changed %s.%s, which is read-only", ErrInvalidArgument, kind, field)
}
