package ifmatch

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/ifmatch-go/ifmatch/internal/jsonx"
)

// resourceOps is what one conditional resource supplies to the update engine:
// how to read it, copy it, diff two versions into form fields, and write it
// conditionally. Everything else (the loop, backoff, ambiguity handling,
// caching, results) lives once, in runUpdate.
type resourceOps[T any] struct {
	key   string // the resource's path: cache key
	fetch func(ctx context.Context) (*T, error)
	write func(ctx context.Context, etag string, form url.Values) (*T, error)
	clone func(*T) *T
	diff  func(old, cur *T) (url.Values, error)
	etag  func(*T) *string // the resource's ETag field
	// obj returns the resource's JSON object (attributes or data), where
	// commit markers are kept; nil for resources that have none.
	obj func(*T) *map[string]any
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
		key: keyOf(path),
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
// ETag header).
func call[T any](ctx context.Context, c *Client, r *request, dec func([]byte, string) (*T, error)) (*T, error) {
	u := c.endpoint(r)
	resp, err := c.sendURL(ctx, r, u)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(resp.body)) == 0 {
		return nil, &badResponseError{Method: r.method, URL: redactURL(u), Status: resp.status, Reason: "empty body"}
	}
	v, err := dec(resp.body, resp.etag)
	if err != nil {
		return nil, &badResponseError{Method: r.method, URL: redactURL(u), Status: resp.status, Reason: "decoding: " + err.Error()}
	}
	return v, nil
}

// writeOnce performs a single write outside the loop; it forgets the cached
// version of the resource, which the write makes stale.
func writeOnce[T any](ctx context.Context, c *Client, r *request, dec func([]byte, string) (*T, error)) (*T, error) {
	if c.cache != nil {
		defer c.cache.drop(keyOf(r.path))
	}
	return call(ctx, c, r, dec)
}

// deleteOnce deletes the resource at path, conditionally when etag is set.
func deleteOnce(ctx context.Context, c *Client, product string, path []string, etag string) error {
	if c.cache != nil {
		defer c.cache.drop(keyOf(path))
	}
	_, err := c.send(ctx, &request{method: http.MethodDelete, product: product, path: path, ifMatch: etag})
	return err
}

func keyOf(path []string) string { return "/" + strings.Join(path, "/") }

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
	if mutate == nil {
		return nil, fmt.Errorf("%w: nil mutator", ErrInvalidArgument)
	}
	var seen bool // IdempotencyKey: the key was found by the last run of mutate
	if cfg.hasEventKey {
		var err error
		if mutate, err = withEventKey(ops, cfg.eventKey, mutate, &seen); err != nil {
			return nil, err
		}
		cfg.idempotent = true
	}
	var v *T
	var res OperationResult
	var err error
	if key, ok := cfg.groupKey(); ok && c.co != nil {
		v, res, err = coalesce(ctx, c, ops, mutate, cfg, ops.key+"|"+key)
	} else {
		v, res, err = loop(ctx, c, ops, mutate, cfg)
	}
	if err == nil && cfg.hasEventKey {
		if seen && res == Unchanged {
			res = AlreadyApplied
		}
		v = hideEventKeys(ops, v)
	}
	if err == nil && cfg.result != nil {
		*cfg.result = res
	}
	return v, err
}

// loop runs the read-modify-write loop for one caller (or one coalesced
// round of callers, see coalesce).
func loop[T any](ctx context.Context, c *Client, ops *resourceOps[T], mutate func(*T) error, cfg updateConfig) (*T, OperationResult, error) {
	var b backoff.BackOff
	level, _ := c.levels.get(ops.key)
	cb := &conflictBackoff{initial: cfg.initial, max: cfg.maxInterval, start: level}
	defer func() {
		if l := cb.remember(); l > 0 {
			c.levels.put(ops.key, l)
		} else {
			c.levels.drop(ops.key)
		}
	}()
	if cfg.newBackoff != nil {
		b = cfg.newBackoff()
	}
	if b == nil {
		b = cb
	}
	start := time.Now()
	observe := func(a AttemptInfo) {
		if cfg.observer != nil {
			cfg.observer(a)
		}
	}
	done := func(v *T, r OperationResult) (*T, OperationResult, error) {
		cb.succeeded = true
		return v, r, nil
	}

	var cur *T
	fromCache := false
	if c.cache != nil && !cfg.noCache {
		if v, ok := c.cache.get(ops.key); ok {
			cur, fromCache = v.(*T), true
		}
	}
	if cur == nil {
		var err error
		if cur, err = ops.fetch(ctx); err != nil {
			return nil, "", err
		}
	}

	mk := cfg.markerKey
	if ops.obj == nil {
		mk = ""
	}
	// strip copies v without the commit marker: what mutators and callers see.
	strip := func(v *T) *T {
		if mk == "" {
			return v // only ever read, or handed to the caller
		}
		cp := ops.clone(v)
		delete(*ops.obj(cp), mk)
		return cp
	}
	var token string // this call's commit marker for the write in flight
	landed := func(v *T) bool { return mk != "" && token != "" && hasToken((*ops.obj(v))[mk], token) }
	// superseded reports that another marked write based on the version our
	// write was based on has landed: then ours never can.
	superseded := func(v *T) bool { return mk != "" && token != "" && baseTaken((*ops.obj(v))[mk], token) }
	refetch := func() (*T, error) {
		v, err := ops.fetch(ctx)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, joinCtx(ctxErr, err)
			}
			return nil, err
		}
		return v, nil
	}
	// readBack reads the resource when the call cannot go on without it:
	// after a write whose answer was lost (the read decides the write's
	// fate) and after a conflict (a failed read would end a call that has
	// written nothing yet). It is tried harder than the first read: up to
	// readBackTries times, with growing jittered pauses, within the context.
	readBack := func() (*T, error) {
		var err error
		pause := max(2*cb.rtt, time.Millisecond)
		for i := 0; i < readBackTries; i++ {
			var v *T
			if v, err = refetch(); err == nil || ctx.Err() != nil || !transient(err) {
				return v, err
			}
			if serr := sleepCtx(ctx, pause/2+mrand.N(pause/2+1)); serr != nil {
				return nil, joinCtx(serr, err)
			}
			pause = min(pause*2, time.Second)
		}
		return nil, err
	}
	var slept time.Duration // the last backoff wait
	// nextWait returns the next backoff wait, or false when the loop must
	// stop instead (the backoff says so, or the wait would pass MaxElapsed).
	nextWait := func() (time.Duration, bool) {
		wait := b.NextBackOff()
		return wait, wait != backoff.Stop && time.Since(start)+wait <= cfg.maxElapsed
	}
	// sleep waits out a backoff wait, or the context.
	sleep := func(wait time.Duration, last error) error {
		slept = wait
		if err := sleepCtx(ctx, wait); err != nil {
			return joinCtx(err, last)
		}
		return nil
	}
	// backoffWait sleeps the next backoff after a write, or reports why the
	// loop must stop.
	backoffWait := func(info AttemptInfo, attempt int) error {
		wait, ok := nextWait()
		if !ok || attempt >= cfg.maxAttempts {
			observe(info)
			return &ConflictError{Attempts: attempt, Elapsed: time.Since(start), Last: info.Err}
		}
		info.Wait = wait
		observe(info)
		c.log(ctx, levelConflict, "retrying write", "resource", ops.key, "attempt", attempt, "status", info.Status, "wait", wait)
		return sleep(wait, info.Err)
	}
	// busy reports that the re-read after a short wait found another writer
	// in a run of writes (two or more new versions since the previous read):
	// a write now would most likely fail, so the default backoff listens
	// again instead. That costs one read instead of a failed write and a read.
	busy := func(prev, now string) bool {
		return b == backoff.BackOff(cb) && cb.rtt > 0 && slept < listenRTT*cb.rtt && versionGap(prev, now) >= 2
	}

	attempt := 0
	ambiguousETag := "" // If-Match of a write whose outcome is not known yet
	maybeWrote := false // some write of this call may have landed
	for {
		base := strip(cur)
		work := ops.clone(base)
		if err := mutate(work); err != nil {
			return nil, "", fmt.Errorf("%w: %w", ErrMutatorAborted, err)
		}
		form, err := ops.diff(base, work)
		if err != nil {
			return nil, "", err
		}
		if len(form) == 0 {
			if fromCache {
				// A cached copy may be stale: only the server can say that
				// there is nothing to do.
				fromCache = false
				if cur, err = refetch(); err != nil {
					return nil, "", err
				}
				continue
			}
			if maybeWrote {
				// Our earlier write, or one to the same effect, landed.
				return done(base, Updated)
			}
			return done(base, Unchanged)
		}
		etag := *ops.etag(cur)
		if err := checkETag(etag); err != nil {
			return nil, "", err
		}
		if mk != "" {
			// Record a unique token with the write, so that after a lost
			// answer a read tells whether it landed. A resend after an
			// ambiguous write keeps the token of the first copy.
			if ambiguousETag == "" || token == "" {
				token = newToken() + "@" + strings.Trim(etag, `"`)
			}
			m := *ops.obj(work)
			m[mk] = appendToken((*ops.obj(cur))[mk], token)
			if form, err = ops.diff(cur, work); err != nil {
				return nil, "", err
			}
		}
		attempt++
		t0 := time.Now()
		res, err := ops.write(ctx, etag, form)
		rtt := time.Since(t0)
		if err == nil {
			observe(AttemptInfo{Attempt: attempt, Status: 200, ETag: etag})
			if c.cache != nil {
				c.cache.put(ops.key, ops.clone(res))
			}
			return done(strip(res), Updated)
		}
		if c.cache != nil {
			c.cache.drop(ops.key)
		}
		fromCache = false
		info := AttemptInfo{Attempt: attempt, Status: statusOf(err), ETag: etag, Err: err}
		if ctxErr := ctx.Err(); ctxErr != nil {
			observe(info)
			return nil, "", joinCtx(ctxErr, err)
		}
		var bre *badResponseError
		switch {
		case errors.As(err, &bre) && bre.Status >= 200 && bre.Status < 300:
			// The write committed; only its answer was unusable. Read back.
			observe(info)
			v, ferr := readBack()
			if ferr != nil {
				// It landed all the same: answer with what was written.
				c.log(ctx, slog.LevelWarn, "write landed; its answer and the read-back were unusable", "resource", ops.key,
					"error", ferr.Error())
				v = work
				*ops.etag(v) = bre.ETag
			}
			return done(strip(v), Updated)

		case errors.Is(err, ErrPreconditionFailed):
			if ambiguousETag != "" {
				// A 412 after an ambiguous write with the same If-Match may
				// be our own earlier copy having landed.
				switch {
				case mk != "":
					fresh, ferr := readBack()
					if ferr != nil {
						observe(info)
						return nil, "", &OutcomeUnknownError{ETag: ambiguousETag, Cause: errors.Join(err, ferr)}
					}
					if landed(fresh) {
						observe(info)
						return done(strip(fresh), Updated)
					}
					if !superseded(fresh) && !cfg.idempotent {
						// Our token may have been pushed out of the bounded
						// history by later writes: we cannot know.
						observe(info)
						return nil, "", &OutcomeUnknownError{ETag: ambiguousETag, Cause: err}
					}
					maybeWrote = maybeWrote || !superseded(fresh)
					ambiguousETag, token, cur = "", "", fresh
					if err := backoffWait(info, attempt); err != nil {
						return nil, "", err
					}
					continue
				case !cfg.idempotent:
					observe(info)
					return nil, "", &OutcomeUnknownError{ETag: ambiguousETag, Cause: err}
				}
			}
			ambiguousETag = ""
			cb.observeRTT(rtt)
			if err := backoffWait(info, attempt); err != nil {
				return nil, "", err
			}
			if cur, err = readBack(); err != nil {
				return nil, "", err
			}
			cb.observeProgress(versionGap(etag, *ops.etag(cur)))
			if busy(etag, *ops.etag(cur)) {
				// Listen once, then write whatever the next read shows: a
				// writer is never starved by another one's long run.
				prev := *ops.etag(cur)
				wait, ok := nextWait()
				if !ok {
					return nil, "", &ConflictError{Attempts: attempt, Elapsed: time.Since(start), Last: info.Err}
				}
				c.log(ctx, levelConflict, "resource busy; reading again before writing", "resource", ops.key, "wait", wait)
				if err := sleep(wait, info.Err); err != nil {
					return nil, "", err
				}
				fresh, ferr := refetch()
				switch {
				case ferr == nil:
					cur = fresh
					cb.observeProgress(versionGap(prev, *ops.etag(cur)))
				case ctx.Err() != nil:
					return nil, "", ferr
				default:
					// Listening was optional: write with what the last read
					// showed rather than fail the call over this read.
					c.log(ctx, slog.LevelInfo, "read while listening failed", "resource", ops.key, "error", ferr.Error())
				}
			}
			continue

		case ambiguousWrite(err):
			fresh, ferr := readBack()
			if ferr != nil {
				observe(info)
				return nil, "", &OutcomeUnknownError{ETag: etag, Cause: errors.Join(err, ferr)}
			}
			if landed(fresh) {
				observe(info)
				return done(strip(fresh), Updated)
			}
			switch {
			case *ops.etag(fresh) == etag:
				// Not landed (yet): the resend carries the same If-Match, so
				// at most one of the two copies can ever commit.
				ambiguousETag = etag
				maybeWrote = maybeWrote || mk == ""
			case superseded(fresh):
				// Another write on our base version landed: ours never can.
				ambiguousETag, token = "", ""
			case cfg.idempotent:
				maybeWrote = true
			default:
				observe(info)
				return nil, "", &OutcomeUnknownError{ETag: etag, Cause: err}
			}
			cur = fresh
			if err := backoffWait(info, attempt); err != nil {
				var ce *ConflictError
				switch {
				case !errors.As(err, &ce):
					return nil, "", err
				case maybeWrote:
					return nil, "", &OutcomeUnknownError{ETag: etag, Cause: info.Err}
				default:
					return nil, "", info.Err // out of attempts; it did not land
				}
			}
			continue

		default:
			observe(info)
			return nil, "", err
		}
	}
}

// versionGap returns b-a for Twilio's integer versions, 0 when either is opaque.
func versionGap(a, b string) int64 {
	va, err1 := strconv.ParseInt(strings.Trim(a, `"`), 10, 64)
	vb, err2 := strconv.ParseInt(strings.Trim(b, `"`), 10, 64)
	if err1 != nil || err2 != nil || vb < va {
		return 0
	}
	return vb - va
}

// transient reports whether a failed read may succeed if tried again: no
// answer, an unusable one, 429 or 5xx. A 404 or 401 will not change.
func transient(err error) bool {
	var ae *APIError
	return !errors.As(err, &ae) || ae.Status == http.StatusTooManyRequests || ae.Status >= 500
}

// readBackTries bounds the reads that settle a write whose answer was lost
// or follow a conflict (each read itself has the transport's retries).
const readBackTries = 4

// newToken returns a unique write token for commit markers.
func newToken() string {
	var b [9]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// maxMarkers bounds how many write tokens a resource keeps. A lost answer
// is resolved as long as fewer writes than this landed before the read-back.
const maxMarkers = 32

// appendToken returns the stored token list v (as decoded JSON) plus tok,
// keeping only the last maxMarkers.
func appendToken(v any, tok string) []any {
	var out []any
	if list, ok := v.([]any); ok {
		for _, e := range list {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
	}
	out = append(out, tok)
	if len(out) > maxMarkers {
		out = out[len(out)-maxMarkers:]
	}
	return out
}

// baseTaken reports whether the token list v proves that a write carrying
// tok ("<random>@<base ETag>") that is not in v can no longer land: another
// marked write on the same base version landed, or (Twilio's ETags being
// integers that every write increments) the list still holds a write based
// on an older version, so it covers every write since ours was sent.
func baseTaken(v any, tok string) bool {
	_, base, _ := strings.Cut(tok, "@")
	ours, numeric := strconv.ParseInt(base, 10, 64)
	list, _ := v.([]any)
	for _, e := range list {
		s, _ := e.(string)
		_, b, ok := strings.Cut(s, "@")
		if !ok || s == tok {
			continue
		}
		if b == base {
			return true
		}
		if n, err := strconv.ParseInt(b, 10, 64); err == nil && numeric == nil && n < ours {
			return true
		}
	}
	return false
}

func hasToken(v any, tok string) bool {
	list, _ := v.([]any)
	for _, e := range list {
		if e == tok {
			return true
		}
	}
	return false
}

const levelConflict = -2 // between Debug (-4) and Info (0)

// joinCtx joins a context error with the last real error, unless the latter
// already is the context error.
func joinCtx(ctxErr, last error) error {
	if last == nil || errors.Is(last, ctxErr) {
		return ctxErr
	}
	return errors.Join(ctxErr, last)
}

// ambiguousWrite reports a write failure after which the write may or may not
// have been applied: no answer after the request was sent, or a 5xx.
func ambiguousWrite(err error) bool {
	var te *transportError
	if errors.As(err, &te) {
		return !te.NotSent
	}
	var ae *APIError
	if errors.As(err, &ae) {
		switch ae.Status {
		case 500, 502, 503, 504:
			return true
		}
	}
	return false
}

func statusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// checkETag refuses what cannot serve as an If-Match: nothing, or a weak tag.
func checkETag(etag string) error {
	if etag == "" {
		return fmt.Errorf("%w: the server sent no ETag, so no conditional write is possible", ErrNoETag)
	}
	if strings.HasPrefix(etag, "W/") {
		return fmt.Errorf("%w: the server sent only a weak ETag %q", ErrNoETag, truncate(etag))
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
