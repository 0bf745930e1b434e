package ifmatchtest

import (
	"context"
	"net/http"
	"time"
)

// CallHeader is the request header in which a test names the call that sent
// a request, unless [WithCallHeader] chooses another. The fake records its
// value on every logged [Request] and on every [Commit]; it is never
// interpreted. [Fake.CallTransport] sets it from the request's context
// ([WithCall]).
const CallHeader = "X-Ifmatch-Test-Call"

// WithCallHeader sets the header the fake reads a request's call tag from
// (default [CallHeader]).
func WithCallHeader(name string) Option {
	return func(f *Fake) { f.callHeader = http.CanonicalHeaderKey(name) }
}

type callKey struct{}

// WithCall returns a copy of ctx that tags every request sent with it as
// belonging to call, through [Fake.CallTransport]. Give one tag to each
// call (say, each UpdateTask) whose writes you want to trace.
func WithCall(ctx context.Context, call string) context.Context {
	return context.WithValue(ctx, callKey{}, call)
}

// CallOf returns the call tag set on ctx by [WithCall], or "".
func CallOf(ctx context.Context) string {
	s, _ := ctx.Value(callKey{}).(string)
	return s
}

// CallTransport returns an http.RoundTripper that sends each request
// through next (nil: a new transport configured as http.DefaultTransport) with the fake's call header set
// to the request context's [CallOf] tag, when it has one. ifmatch passes the
// caller's context down to its transport on every try, so the tag is on
// transport retries too. Give it to a client with
//
//	hc := &http.Client{Transport: srv.CallTransport(nil), Timeout: time.Second}
//	c := srv.Client(ifmatch.WithHTTPClient(hc))
//	_, err := c.Workspace(ws).UpdateTask(ifmatchtest.WithCall(ctx, "call-7"), sid, fn)
//
// then read which of call-7's writes committed with [Fake.Commits]. Clients
// from [Server.Client] (unless given their own [ifmatch.WithHTTPClient])
// and [Fake.MockClient] already use it.
func (f *Fake) CallTransport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport.(*http.Transport).Clone()
	}
	return callTransport{next: next, header: f.callHeader}
}

type callTransport struct {
	next   http.RoundTripper
	header string
}

// RoundTrip sets the call header on a copy of r and sends it.
func (t callTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	call := CallOf(r.Context())
	if call == "" {
		return t.next.RoundTrip(r)
	}
	r2 := r.Clone(r.Context()) // a RoundTripper must not modify the request
	r2.Header.Set(t.header, call)
	return t.next.RoundTrip(r2)
}

// CloseIdleConnections closes the idle connections of the wrapped
// transport, so that [ifmatch.Client.CloseIdleConnections] still works.
func (t callTransport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// Commit is one write the fake applied: an update, a create or a delete of
// a resource, whoever sent it, in the order applied.
type Commit struct {
	Method string // POST or DELETE
	Path   string // the request's path
	// Call is the call tag of the request that made the write ("" for
	// none); see [CallHeader].
	Call string
	// IfMatch is the If-Match the write was sent with ("" for none).
	IfMatch string
	// Before and After are the resource's internal integer versions around
	// the write (Before is -1 for a create, After is -1 for a delete);
	// BeforeETag and AfterETag are the same versions as the client sees them
	// in the fake's [ETagStyle].
	Before, After         int
	BeforeETag, AfterETag string
	// Fault is the fault injected into the request that made the write ("" for
	// none): an after-commit fault means the client never saw a clean answer.
	Fault FaultKind
	// Late reports a write applied after its request was answered (see
	// [LateCommit]).
	Late bool
	At   time.Time
}

// Commits returns a copy of the commit log: every write applied, in order.
// [Fake.ResetLog] empties it. Call [Fake.Settle] first if [LateCommit]
// faults may still be pending.
func (f *Fake) Commits() []Commit {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Commit(nil), f.commits...)
}

// Settle waits until every pending [LateCommit] has been applied or
// refused, so that state and logs no longer change behind the test's back.
// Call it after the calls that may have caused late commits have returned;
// it waits for at most the longest pending Fault.Latency.
func (f *Fake) Settle() {
	f.mu.Lock()
	for f.pending > 0 {
		f.settled.Wait()
	}
	f.mu.Unlock()
}

// reqInfo travels in a request's context from serve to the handlers.
type reqInfo struct {
	fault FaultKind
	late  bool
}

type reqInfoKey struct{}

// commit logs a write. Called with f.mu held, at the moment of the write.
func (f *Fake) commit(r *http.Request, id string, before, after int) {
	c := Commit{Method: r.Method, Path: r.URL.Path, Call: r.Header.Get(f.callHeader),
		IfMatch: r.Header.Get("If-Match"), Before: before, After: after, At: time.Now()}
	if before >= 0 {
		c.BeforeETag = f.etag(id, before)
	}
	if after >= 0 {
		c.AfterETag = f.etag(id, after)
	}
	if ri, ok := r.Context().Value(reqInfoKey{}).(*reqInfo); ok {
		c.Fault, c.Late = ri.fault, ri.late
	}
	f.commits = append(f.commits, c)
}
