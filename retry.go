package ifmatch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/hashicorp/go-retryablehttp"
	"github.com/ifmatch-go/ifmatch/internal/marker"
)

// This file holds both retry layers' policies:
//
//   - the transport layer (go-retryablehttp): retries a request that failed
//     before the server could act on it, or that is safe to repeat;
//   - the conflict layer (the update loops in conditional.go): re-reads and
//     re-applies a mutation after a 412, with the backoff built here.

// stateKey keys the per-request state that CheckRetry reads: it gets no
// *http.Request, only the request's context.
type stateKey struct{}

// reqState is what the transport policy knows about one logical request.
type reqState struct {
	method   string
	url      string
	attempts int
	lastResp *http.Response // the response of the attempt counted last
	last     error          // the last failure seen, for joining with a context error
	acted    bool           // an attempt may have been acted on (see mayHaveActed)
}

// DefaultTryTimeout bounds one attempt of a request (connecting, sending,
// and reading the whole answer), as http.Client.Timeout does. It applies
// unless [WithHTTPClient] gives a client with a Timeout of its own; a client
// whose Timeout is 0 (none) gets this one too, so no stalled server can hold
// a call for ever. A call makes at most 1 + the transport retries attempts
// per request; bound a whole call with the context's deadline.
const DefaultTryTimeout = 30 * time.Second

// newTransport builds the retrying transport around a copy of the caller's
// *http.Client.
func newTransport(cfg clientConfig, sc scrubber) *retryablehttp.Client {
	inner := &http.Client{Transport: newDefaultTransport(), Timeout: DefaultTryTimeout}
	if cfg.httpClient != nil {
		cp := *cfg.httpClient
		inner = &cp
		if inner.Timeout <= 0 {
			// No timeout would let a stalled server hold a call for ever
			// when the caller's context has no deadline.
			inner.Timeout = DefaultTryTimeout
		}
	}
	// Never follow redirects: Twilio's API does not redirect, and a redirect
	// to another host must not receive our credentials.
	inner.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	rc := &retryablehttp.Client{
		HTTPClient:   inner,
		Logger:       nil, // we log ourselves, without the defaults' stderr output
		RetryWaitMin: cfg.retryMin,
		RetryWaitMax: cfg.retryMaxWait,
		RetryMax:     cfg.retryMax,
		CheckRetry:   checkRetry,
		Backoff:      transportBackoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
	if l := cfg.logger; l != nil {
		rc.CheckRetry = func(ctx context.Context, resp *http.Response, err error) (bool, error) {
			retry, cerr := checkRetry(ctx, resp, err)
			if retry {
				st, _ := ctx.Value(stateKey{}).(*reqState)
				args := []slog.Attr{slog.Int("attempt", st.attempts)}
				if resp != nil {
					args = append(args, slog.Int("status", resp.StatusCode))
				} else {
					args = append(args, slog.String("error", sc.scrub(err.Error())))
				}
				l.LogAttrs(ctx, slog.LevelInfo, "ifmatch: transport retry scheduled", append(args,
					slog.String("method", st.method), slog.String("url", st.url))...)
			}
			return retry, cerr
		}
		rc.RequestLogHook = func(_ retryablehttp.Logger, r *http.Request, retry int) {
			if retry > 0 {
				l.LogAttrs(r.Context(), slog.LevelInfo, "ifmatch: transport retry", slog.String("method", r.Method),
					slog.String("url", sc.scrub(redactURL(r.URL))), slog.Int("retry", retry))
			}
		}
	}
	if cfg.observer != nil {
		rc.CheckRetry = observeRetry(cfg.observer, sc, rc.CheckRetry)
	}
	return rc
}

func newDefaultTransport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return t
}

// idempotent reports whether the transport may repeat method freely.
func idempotent(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodDelete
}

// checkRetry is the transport policy (see the README's retry table):
//   - GET and DELETE: retried on connection errors, 429 and 5xx (but 501);
//   - POST: retried only when it provably never reached the server (a dial
//     error) or the server refused it unprocessed (429). Any other POST
//     failure is ambiguous and goes back to the caller: a repeated
//     conditional POST whose first copy committed would meet a 412 and make
//     the update loop apply the mutation twice;
//   - never: 412, 409, other 4xx; a Retry-After that would outlive the
//     context's deadline.
func checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	st, _ := ctx.Value(stateKey{}).(*reqState)
	if st == nil {
		st = &reqState{method: http.MethodGet}
	}
	// retryablehttp asks twice about one response when a response handler
	// is set (before and after it reads the body): count the attempt once.
	if resp == nil || resp != st.lastResp {
		st.attempts++
	}
	st.lastResp = resp
	st.acted = st.acted || mayHaveActed(resp, err)
	retry, rerr := retryPolicy(ctx, st, resp, err)
	if ctxErr := ctx.Err(); ctxErr != nil && (retry || err != nil || resp == nil) {
		// No answer, or one to retry with no time left: the context's end
		// is the error. An answer that stands (a 2xx, a 4xx) is kept
		// however late: it says what became of the request.
		return false, ctxErr
	}
	if lost, _ := ctx.Value(lostKey{}).(*atomic.Bool); retry && lost != nil && reachedServer(resp, err) {
		lost.Store(true)
	}
	return retry, rerr
}

// reachedServer reports an attempt that the server may have acted on
// although its answer says nothing usable: no answer once sent, or a 5xx.
func reachedServer(resp *http.Response, err error) bool {
	if err != nil {
		return !isDialError(err)
	}
	return resp.StatusCode >= 500
}

// mayHaveActed reports an attempt the server may have acted on: any but a
// connection never made and a 429 (refused unprocessed).
func mayHaveActed(resp *http.Response, err error) bool {
	if err != nil {
		return !isDialError(err)
	}
	return resp.StatusCode != http.StatusTooManyRequests
}

// retryPolicy is checkRetry's decision for one attempt.
func retryPolicy(ctx context.Context, st *reqState, resp *http.Response, err error) (bool, error) {
	if err != nil {
		st.last = &transportError{Method: st.method, URL: st.url, Err: err}
		if !retryableTransportErr(err) {
			return false, nil
		}
		if idempotent(st.method) || isDialError(err) {
			return true, nil
		}
		return false, nil
	}
	code := resp.StatusCode
	switch {
	case code == http.StatusTooManyRequests:
	case code >= 500 && code != http.StatusNotImplemented && idempotent(st.method):
	default:
		return false, nil
	}
	st.last = &APIError{Status: code, Method: st.method, URL: st.url, RequestID: resp.Header.Get("Twilio-Request-Id")}
	if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		if dl, has := ctx.Deadline(); has && time.Until(dl) < ra {
			// The server asks for a wait the caller cannot afford: give up
			// now with its answer rather than sleep into the deadline.
			return false, nil
		}
	}
	return true, nil
}

// retryableTransportErr excludes errors no retry can fix.
func retryableTransportErr(err error) bool {
	if errors.Is(err, errBodyTooLarge) {
		return false // the same body would be downloaded again
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		msg := ue.Err.Error()
		if strings.Contains(msg, "unsupported protocol scheme") || strings.Contains(msg, "invalid header") ||
			strings.Contains(msg, "stopped after") {
			return false
		}
	}
	return !certificateError(err)
}

// certificateError reports a failed verification of the server's
// certificate: no retry can fix it. crypto/tls wraps the x509 error in a
// *tls.CertificateVerificationError and returns the x509 types as values
// (x509.UnknownAuthorityError{…}); other code may return pointers to them.
// Every form is checked.
func certificateError(err error) bool {
	var (
		verr    *tls.CertificateVerificationError
		uaV     x509.UnknownAuthorityError
		uaP     *x509.UnknownAuthorityError
		hostV   x509.HostnameError
		hostP   *x509.HostnameError
		invV    x509.CertificateInvalidError
		invP    *x509.CertificateInvalidError
		constrV x509.ConstraintViolationError
		constrP *x509.ConstraintViolationError
	)
	return errors.As(err, &verr) || errors.As(err, &uaV) || errors.As(err, &uaP) || errors.As(err, &hostV) ||
		errors.As(err, &hostP) || errors.As(err, &invV) || errors.As(err, &invP) ||
		errors.As(err, &constrV) || errors.As(err, &constrP)
}

// isDialError reports an error from establishing the connection: the request
// was never sent, so even a POST may be repeated.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// transportBackoff is exponential with equal jitter between min and max. A
// server's Retry-After (seconds or HTTP date) raises the wait to between
// Retry-After and 1.5× it (jittered, so that clients throttled at once come
// back spread out), but is clamped to max, so "Retry-After: 3600" never parks
// a goroutine for an hour.
func transportBackoff(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
	d := min
	for i := 0; i < attempt && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	if d > 0 {
		d = d/2 + rand.N(d/2+1)
	}
	if resp != nil {
		if ra, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok && ra > d {
			// Never before the server's time, but spread over half as
			// long again: clients throttled together must not all come
			// back in the same instant and be throttled together again.
			d = ra + rand.N(ra/2+1)
		}
	}
	if d > max {
		d = max
	}
	return d
}

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP date.
// Negative, unparsable or absurd values report ok=false.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 || n > 1<<31 {
			return 0, false
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	if d < 0 {
		d = 0
	}
	return d, true
}

// OperationResult says what an update loop did: it finishes the sentence
// "the task was …".
type OperationResult string

const (
	// Unchanged means the mutator changed nothing, so nothing was written.
	Unchanged OperationResult = "unchanged"
	// Updated means a conditional write landed.
	Updated OperationResult = "updated"
)

// AttemptInfo describes one step of an update loop, for [OnAttempt].
type AttemptInfo struct {
	// Attempt counts conditional writes, from 1.
	Attempt int
	// Status is the write's HTTP status; 0 when no answer came.
	Status int
	// ETag is the If-Match value the write carried.
	ETag string
	// Err is the write's error; nil on success.
	Err error
	// Wait is the backoff the loop will sleep before the next read, 0 when
	// it stops or re-reads at once.
	Wait time.Duration

	// open: when reported, a refusal does not settle this write: an
	// earlier copy whose answer was lost may have landed (a resend's
	// refusal), or, with markers, a copy of this one (until a read looks
	// for its token); read by coalesced rounds (observeRound).
	open bool
}

// UpdateOption tunes one update loop call, or every call of a client when
// given to [WithUpdateDefaults].
type UpdateOption func(*updateConfig)

type updateConfig struct {
	maxAttempts int
	maxElapsed  time.Duration
	newBackoff  func() backoff.BackOff
	initial     time.Duration
	maxInterval time.Duration
	idempotent  bool
	observer    func(AttemptInfo)
	result      *OperationResult
	noCache     bool
	markerKey   string
	noCoalesce  bool
	eventKey    string // IdempotencyKey
	hasEventKey bool
	fair        bool // Fair
	attemptsSet bool // MaxAttempts was given
	// settled, when set, hears the fate of each unanswered write as the loop
	// settles it, and of each marked write refused with 412 once a read
	// showed no copy of it landed (a coalesced round tells its callers).
	settled func(marker.Verdict)
	// snapshot, when set, saves the callers' part in the run of mutators
	// that built the last write and returns what restores it, should that
	// write be found landed after later runs (a coalesced round: see
	// update.unproven).
	snapshot func() (restore func())
}

func defaultUpdateConfig() updateConfig {
	return updateConfig{
		maxAttempts: DefaultMaxAttempts,
		maxElapsed:  DefaultMaxElapsed,
		initial:     DefaultBackoffInitial,
		maxInterval: DefaultBackoffMax,
	}
}

func (u *updateConfig) validate() error {
	if u.markerKey == IdempotencyKeysField {
		return fmt.Errorf("%w: CommitMarkers key %q is where IdempotencyKey keeps its keys; choose another", ErrInvalidArgument, u.markerKey)
	}
	if u.maxAttempts < 1 {
		return fmt.Errorf("%w: max attempts must be at least 1, got %d", ErrInvalidArgument, u.maxAttempts)
	}
	if u.maxElapsed <= 0 {
		return fmt.Errorf("%w: max elapsed must be positive, got %s", ErrInvalidArgument, u.maxElapsed)
	}
	if u.initial < 0 || u.maxInterval < u.initial {
		return fmt.Errorf("%w: backoff bounds need 0 <= initial <= max, got %s, %s", ErrInvalidArgument, u.initial, u.maxInterval)
	}
	if u.maxInterval > MaxBackoffBound {
		return fmt.Errorf("%w: backoff max %s is above the limit %s", ErrInvalidArgument, u.maxInterval, MaxBackoffBound)
	}
	return nil
}

// resolve applies the defaults that depend on other options: Fair's attempt
// budget.
func (u *updateConfig) resolve() {
	if u.fair && !u.attemptsSet {
		u.maxAttempts = FairMaxAttempts
	}
}

// validateDefaults refuses, in [WithUpdateDefaults], the options that only
// make sense for one call: concurrent calls would share them.
func (u *updateConfig) validateDefaults() error {
	switch {
	case u.result != nil:
		return fmt.Errorf("%w: ReportResult is per call; as a client default, concurrent calls would write one variable", ErrInvalidArgument)
	case u.hasEventKey:
		return fmt.Errorf("%w: IdempotencyKey is per call; as a client default, every call would share one key", ErrInvalidArgument)
	}
	return nil
}

// MaxBackoffBound is the largest conflict backoff bound [BackoffBounds]
// accepts: far above any useful wait, and far below where its arithmetic
// could overflow.
const MaxBackoffBound = time.Hour

// Defaults of the update loops. They were chosen from the contention
// benchmark in bench/ (see BENCHMARKS.md).
const (
	// DefaultMaxAttempts bounds the conditional writes of one loop call
	// (see [MaxAttempts]).
	DefaultMaxAttempts = 20
	// DefaultMaxElapsed bounds the time one loop call spends retrying.
	DefaultMaxElapsed = 30 * time.Second
	// DefaultBackoffInitial is the first conflict backoff's upper bound.
	DefaultBackoffInitial = 5 * time.Millisecond
	// DefaultBackoffMax caps one conflict backoff.
	DefaultBackoffMax = time.Second
)

// MaxAttempts bounds the conditional writes one loop call makes from a
// version it read before it gives up with [ErrConflict]. n must be at least
// 1. A write from the Client's ETag cache that finds the entry stale (a 412,
// answered at once by a fresh GET) is not counted, so a call sends at most
// n+1 writes; [ConflictError.Attempts] and [OnAttempt] count every write
// sent.
func MaxAttempts(n int) UpdateOption {
	return func(u *updateConfig) { u.maxAttempts, u.attemptsSet = n, true }
}

// MaxElapsed bounds the whole of one loop call, requests, read-backs and
// waits included, like a deadline on its context: the loop gives up with
// [ErrConflict] rather than start a wait that would pass it, and a request
// it cuts off ends the call with context.DeadlineExceeded (joined with
// [ErrOutcomeUnknown] when that request was a write that may land), in an
// error whose message says "MaxElapsed (d) ran out" when the caller's own
// context was still live.
func MaxElapsed(d time.Duration) UpdateOption { return func(u *updateConfig) { u.maxElapsed = d } }

// BackoffBounds sets the default conflict backoff's bounds: the first bound
// is initial (or two observed round trips, if more), each later bound grows
// (scaled to the round-trip time the loop observes) up to max; each wait is
// drawn from the current bound as the default backoff does (mean ¾ of it, at
// most 1½ times it, never above max). max is at most [MaxBackoffBound].
func BackoffBounds(initial, max time.Duration) UpdateOption {
	return func(u *updateConfig) { u.initial, u.maxInterval = initial, max }
}

// Backoff replaces the conflict backoff with one from factory (nil: the
// default), called once per
// loop call (BackOff values are stateful and not safe to share). Use
// backoff.ZeroBackOff in tests for a loop that never sleeps. The loop still
// stops at [MaxAttempts], [MaxElapsed] or the context, whichever is first, and
// on backoff.Stop. It replaces [Fair] given before it (a Client's default
// Fair, say), as Fair given after it replaces it.
func Backoff(factory func() backoff.BackOff) UpdateOption {
	return func(u *updateConfig) { u.newBackoff, u.fair = factory, false }
}

// Idempotent declares that applying the mutator to a state it has already
// been applied to changes nothing (it sets a target state, like "priority 5",
// rather than a relative change, like "priority + 1"). After an ambiguous
// write the loop may then simply read again and re-apply: the diff finds the
// change already there. Without it, such a case ends in [ErrOutcomeUnknown].
func Idempotent() UpdateOption { return func(u *updateConfig) { u.idempotent = true } }

// OnAttempt calls fn after every conditional write of the loop, for metrics
// (for example, counting conflicts). It runs on the goroutine running the
// loop: the caller's own, or, for a coalesced round of several callers, the
// round's; in a round it sees the round's writes. fn must be safe for that.
func OnAttempt(fn func(AttemptInfo)) UpdateOption { return func(u *updateConfig) { u.observer = fn } }

// ReportResult stores in *r whether the call wrote anything ([Updated]),
// found nothing to change ([Unchanged]), or found its [IdempotencyKey]
// already recorded ([AlreadyApplied]).
func ReportResult(r *OperationResult) UpdateOption { return func(u *updateConfig) { u.result = r } }

// DefaultMarkerKey is the attribute (or Sync data) key where [CommitMarkers]
// keeps its write tokens by default.
const DefaultMarkerKey = "_ifmatch_writes"

// CommitMarkers makes every write of the loop also record a unique token in
// the resource's attributes (Tasks, Workers) or data (Sync) under key
// ([DefaultMarkerKey] when key is ""), keeping the last few tokens. After a
// write whose answer was lost, the loop reads back and knows whether its own
// write landed, so even a non-idempotent mutator (an increment) is never
// applied twice and ends in [ErrOutcomeUnknown] only when more writes than
// the kept tokens landed before the read-back, another writer edited the
// tokens, or a writer without markers made the version the write was based
// on and the call ends before a later write of it lands (a read served
// stale, older than that version, shows the same tokens). The key is hidden from
// mutators and from the values the loop returns; it costs a few dozen bytes
// per resource and means every write rewrites the attributes. A
// reservation has no attributes to hold the tokens: given to a reservation
// update call (the Client's or an in-memory stub's), CommitMarkers is an
// [ErrInvalidArgument] before any request, as [IdempotencyKey] is; as a
// Client default ([WithUpdateDefaults]) it is left out of reservation
// updates, which then may end in [ErrOutcomeUnknown] after a lost answer
// (unless [Idempotent]). The key
// must be the markers' own: a call whose resource holds anything else under
// it (on a fresh read, not only in the Client's ETag cache), whose mutator
// sets it, or whose key is [IdempotencyKeysField], fails with
// [ErrInvalidArgument] before writing.
func CommitMarkers(key string) UpdateOption {
	if key == "" {
		key = DefaultMarkerKey
	}
	return func(u *updateConfig) { u.markerKey = key }
}

// Alone makes the call run its own update loop rather than join a round
// with concurrent calls on the same resource through the same Client (see
// [WithoutCoalescing]).
func Alone() UpdateOption { return func(u *updateConfig) { u.noCoalesce = true } }

// FreshRead makes the loop start with a GET even when the client remembers
// the resource's latest version from its own last write.
func FreshRead() UpdateOption { return func(u *updateConfig) { u.noCache = true } }

// conflictBackoff is the default conflict backoff. Its bound starts at the
// largest of the configured initial wait, two observed round trips, and the
// level this Client remembers for the resource from earlier calls; it grows
// eightfold per conflict and rises with the writes seen landing meanwhile,
// capped at 96 round trips and at max. Each wait has a floor of three round
// trips, or half the bound when the bound is smaller (a writer that just
// lost does not run into the same writer's next write), and is otherwise
// uniform up to 1½ times the bound (never above max), averaging three
// quarters of the bound.
// Scaling to the RTT keeps writers on a slow link from retrying into each
// other and writers on a fast one from waiting for nothing; the remembered
// level spreads writers that keep colliding out at once, and decays by half
// with each success.
type conflictBackoff struct {
	initial, max time.Duration
	start        time.Duration // the level remembered from earlier calls
	rtt          time.Duration
	bound        time.Duration
	succeeded    bool
}

// Tuning of the default conflict backoff, chosen with bench/ (see
// BENCHMARKS.md): the bound grows eightfold per conflict, is raised to four
// round trips per write that landed since the call's read (see
// observeProgress), and is capped at 96 observed round trips (and at the
// configured maximum); each wait is at least floorRTT round trips. After a
// wait shorter than listenRTT round trips, a re-read showing two or more new
// versions means another writer is in a run of writes: the loop waits and
// reads once more rather than write into it (see loop).
const (
	conflictGrowth = 8
	conflictCapRTT = 96
	progressRTT    = 4
	floorRTT       = 3
	listenRTT      = 8
)

// observeProgress raises the bound after a conflict to what the resource's
// progress shows: n writes landed between this call's read and its re-read
// (Twilio's versions are integers), so about n writers are at work; a next
// wait shorter than n·progressRTT round trips would most likely collide.
func (b *conflictBackoff) observeProgress(n int64) {
	if n <= 1 || b.rtt <= 0 {
		return
	}
	if want := time.Duration(n) * progressRTT * b.rtt; want > b.bound {
		b.bound = min(want, b.max, conflictCapRTT*b.rtt)
	}
}

// remember returns the level to keep for the next call: after a success,
// half the bound reached (forgotten once it falls below the initial bound);
// after a failure, the bound itself.
func (b *conflictBackoff) remember() time.Duration {
	level := max(b.bound, b.start)
	if b.succeeded {
		level /= 2
	}
	if level < max(b.initial, 2*b.rtt) {
		return 0
	}
	return level
}

func (b *conflictBackoff) observeRTT(d time.Duration) {
	if b.rtt == 0 || d < b.rtt {
		b.rtt = d
	}
}

// NextBackOff returns the next wait.
func (b *conflictBackoff) NextBackOff() time.Duration {
	if b.bound == 0 {
		b.bound = max(b.initial, 2*b.rtt, b.start)
	} else {
		b.bound *= conflictGrowth
	}
	if b.bound > b.max {
		b.bound = b.max
	}
	if c := conflictCapRTT * b.rtt; b.rtt > 0 && b.bound > c {
		b.bound = max(c, b.initial)
	}
	if b.bound <= 0 {
		return 0
	}
	floor := min(b.bound/2, floorRTT*b.rtt)
	if floor <= 0 {
		floor = b.bound / 2
	}
	// Uniform on [floor, 3/2·bound − floor]: the mean is 3/4 of the bound
	// whatever the floor; never above the configured maximum.
	return min(floor+rand.N(b.bound*3/2-2*floor+1), b.max)
}

// Reset restarts the backoff.
func (b *conflictBackoff) Reset() { b.bound = 0 }
