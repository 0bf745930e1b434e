package ifmatchtest

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync/atomic"
	"time"

	"github.com/ifmatch-go/ifmatch"
	"github.com/jarcoal/httpmock"
)

// Server is a [Fake] served over HTTP on loopback.
type Server struct {
	*Fake
	// URL is the server's base URL, for example http://127.0.0.1:41234.
	URL string
	srv *httptest.Server
}

// NewServer starts a fake Twilio on a loopback port. Close it when done, for
// example with t.Cleanup(srv.Close).
func NewServer(opts ...Option) *Server {
	f := NewFake(opts...)
	hs := httptest.NewServer(f)
	f.mu.Lock()
	f.base = hs.URL
	f.mu.Unlock()
	return &Server{Fake: f, URL: hs.URL, srv: hs}
}

// Close shuts the server down, ending any stalled request, and waits for
// pending late commits (see [Fake.Settle]).
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
	s.Settle()
}

// Client returns an ifmatch Client aimed at the server with the test
// credentials. Options are applied after the defaults it sets (base URL,
// no transport backoff sleeps longer than 10ms, an HTTP client whose
// transport is [Fake.CallTransport] and whose per-try timeout is 30 s,
// [ifmatch.DefaultTryTimeout]). A [Stall] or [CommitThenStall] fault holds
// each try until that timeout or the call's context ends, whichever comes
// first: with context.Background() a stalled call takes 30 s and fails with
// "context deadline exceeded" (the per-try timeout's). Give such calls a
// context with a short deadline, or a shorter per-try timeout:
//
//	c := srv.Client(ifmatch.WithHTTPClient(&http.Client{Transport: srv.CallTransport(nil), Timeout: 200 * time.Millisecond}))
//
// An option that [ifmatch.NewClient] refuses (a bad [ifmatch.WithUpdateDefaults]
// value, say) makes Client panic with NewClient's error.
func (s *Server) Client(opts ...ifmatch.Option) *ifmatch.Client {
	base := []ifmatch.Option{ifmatch.WithBaseURL(s.URL),
		ifmatch.WithHTTPClient(&http.Client{Transport: s.CallTransport(nil), Timeout: ifmatch.DefaultTryTimeout}),
		ifmatch.WithTransportRetry(3, time.Millisecond, 10*time.Millisecond)}
	c, err := ifmatch.NewClient(AccountSID, AuthToken, append(base, opts...)...)
	if err != nil {
		panic("ifmatchtest: " + err.Error())
	}
	return c
}

// MockBaseURL is the base URL that [Fake.MockClient] clients use, and the
// one [Fake.MockTransport] answers under.
const MockBaseURL = "https://ifmatchtest.invalid"

// Responder returns an httpmock responder that answers every request from
// the fake, with its ETag/If-Match semantics and faults, and no listener.
// A dropped or stalled connection becomes a transport error.
func (f *Fake) Responder() httpmock.Responder {
	return func(r *http.Request) (*http.Response, error) {
		rec := httptest.NewRecorder()
		if err := f.serve(rec, r); err != nil {
			return nil, err
		}
		resp := rec.Result()
		resp.Request = r
		return resp, nil
	}
}

// MockTransport returns an httpmock transport answered by the fake (every
// GET, POST and DELETE under [MockBaseURL]), for a client of your own: to
// send through your own *http.Client (a per-try Timeout, an instrumented
// transport that wraps this one), build the client yourself:
//
//	hc := &http.Client{Transport: fake.CallTransport(fake.MockTransport(t)), Timeout: time.Second}
//	c, err := ifmatch.NewClient(ifmatchtest.AccountSID, ifmatchtest.AuthToken,
//		ifmatch.WithBaseURL(ifmatchtest.MockBaseURL), ifmatch.WithHTTPClient(hc))
//
// Requests no responder matches fail the test through t (when t is not
// nil). The url fields of a fake with no listener then name [MockBaseURL];
// a [Server]'s keep naming the Server's URL (nothing of a Server changes).
func (f *Fake) MockTransport(t interface{ Fatal(...any) }) *httpmock.MockTransport {
	mt := httpmock.NewMockTransport()
	f.mu.Lock()
	if f.base == taskRouterHost { // no listener of its own: not a Server's Fake
		f.base = MockBaseURL
	}
	f.mu.Unlock()
	mt.RegisterRegexpResponder(http.MethodGet, regexpAll, f.Responder())
	mt.RegisterRegexpResponder(http.MethodPost, regexpAll, f.Responder())
	mt.RegisterRegexpResponder(http.MethodDelete, regexpAll, f.Responder())
	if t != nil {
		mt.RegisterNoResponder(httpmock.NewNotFoundResponder(t.Fatal))
	}
	return mt
}

// MockClient returns an ifmatch Client whose requests go, through its normal
// retry layer, to an httpmock transport answered by the fake (see
// [Fake.MockTransport]). The transport is returned so tests can add their
// own responders and read call counts. opts are applied after the defaults
// (base URL [MockBaseURL], transport backoff sleeps of at most 10ms), except
// [ifmatch.WithHTTPClient], which would replace the mock transport and send
// the requests to the network: MockClient refuses it (to use your own
// *http.Client, see [Fake.MockTransport]). Each try has the Client's default
// per-try timeout, [ifmatch.DefaultTryTimeout] (30 s): a [Stall] or
// [CommitThenStall] fault holds each try that long unless the call's
// context has an earlier deadline, so give stalled calls one.
//
// An option the Client refuses, or WithHTTPClient, fails the test through
// t.Fatal; with t nil (in an Example), MockClient panics instead.
func (f *Fake) MockClient(t interface{ Fatal(...any) }, opts ...ifmatch.Option) (*ifmatch.Client, *httpmock.MockTransport) {
	mt := f.MockTransport(t)
	probe := &mockProbe{next: mt}
	base := []ifmatch.Option{ifmatch.WithBaseURL(MockBaseURL),
		ifmatch.WithHTTPClient(&http.Client{Transport: f.CallTransport(probe)}),
		ifmatch.WithTransportRetry(3, time.Millisecond, 10*time.Millisecond)}
	c, err := ifmatch.NewClient(AccountSID, AuthToken, append(base, opts...)...)
	if err != nil {
		mockFatal(t, "ifmatchtest: MockClient: "+err.Error())
		return nil, nil
	}
	// The Client closes the idle connections of the transport it uses: only
	// the mock's reaches the probe. Another means an ifmatch.WithHTTPClient
	// among opts.
	c.CloseIdleConnections()
	if !probe.reached.Load() {
		mockFatal(t, "ifmatchtest: MockClient: ifmatch.WithHTTPClient replaces the mock transport, "+
			"so requests would go to the network; to use your own *http.Client, set its Transport to "+
			"fake.CallTransport(fake.MockTransport(t)) and build the client with ifmatch.NewClient and "+
			"ifmatch.WithBaseURL(ifmatchtest.MockBaseURL)")
		return nil, nil
	}
	return c, mt
}

// mockFatal fails the test through t, or panics when t is nil.
func mockFatal(t interface{ Fatal(...any) }, msg string) {
	if t == nil {
		panic(msg)
	}
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
	t.Fatal(msg)
}

// mockProbe passes requests to the mock transport and records that the
// Client's CloseIdleConnections reached it, which shows the Client sends
// through it.
type mockProbe struct {
	next    http.RoundTripper
	reached atomic.Bool
}

// RoundTrip sends r through the mock transport.
func (p *mockProbe) RoundTrip(r *http.Request) (*http.Response, error) { return p.next.RoundTrip(r) }

// CloseIdleConnections records the call; the mock holds no connections.
func (p *mockProbe) CloseIdleConnections() { p.reached.Store(true) }

var regexpAll = regexp.MustCompile(`^` + regexp.QuoteMeta(MockBaseURL) + `/`)
