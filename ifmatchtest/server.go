package ifmatchtest

import (
	"net/http"
	"net/http/httptest"
	"regexp"
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
// transport is [Fake.CallTransport]).
func (s *Server) Client(opts ...ifmatch.Option) *ifmatch.Client {
	base := []ifmatch.Option{ifmatch.WithBaseURL(s.URL),
		ifmatch.WithHTTPClient(&http.Client{Transport: s.CallTransport(nil), Timeout: 30 * time.Second}),
		ifmatch.WithTransportRetry(3, time.Millisecond, 10*time.Millisecond)}
	c, err := ifmatch.NewClient(AccountSID, AuthToken, append(base, opts...)...)
	if err != nil {
		panic("ifmatchtest: " + err.Error())
	}
	return c
}

// MockBaseURL is the base URL that [Fake.MockClient] clients use.
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

// MockClient returns an ifmatch Client whose requests go, through its normal
// retry layer, to an httpmock transport answered by the fake. The transport is
// returned so tests can add their own responders and read call counts.
// Requests no responder matches fail the test through t (when t is not nil).
func (f *Fake) MockClient(t interface{ Fatal(...any) }, opts ...ifmatch.Option) (*ifmatch.Client, *httpmock.MockTransport) {
	mt := httpmock.NewMockTransport()
	f.mu.Lock()
	f.base = MockBaseURL
	f.mu.Unlock()
	mt.RegisterRegexpResponder(http.MethodGet, regexpAll, f.Responder())
	mt.RegisterRegexpResponder(http.MethodPost, regexpAll, f.Responder())
	mt.RegisterRegexpResponder(http.MethodDelete, regexpAll, f.Responder())
	if t != nil {
		mt.RegisterNoResponder(httpmock.NewNotFoundResponder(t.Fatal))
	}
	base := []ifmatch.Option{ifmatch.WithBaseURL(MockBaseURL),
		ifmatch.WithHTTPClient(&http.Client{Transport: f.CallTransport(mt)}),
		ifmatch.WithTransportRetry(3, time.Millisecond, 10*time.Millisecond)}
	c, err := ifmatch.NewClient(AccountSID, AuthToken, append(base, opts...)...)
	if err != nil {
		panic("ifmatchtest: " + err.Error())
	}
	return c, mt
}

var regexpAll = regexp.MustCompile(`^` + regexp.QuoteMeta(MockBaseURL) + `/`)
