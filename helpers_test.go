package ifmatch_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ifmatch-go/ifmatch"
	"github.com/jarcoal/httpmock"
)

const (
	testAccount = "AC0123456789abcdef0123456789abcdef"
	testWS      = "WS0123456789abcdef0123456789abcdef"
	testTask    = "WT0123456789abcdef0123456789abcdef"
	// canaryToken must never appear in any error, log line or formatted value.
	canaryToken = "CANARY-auth-token-5f4dcc3b5aa765d61d8327deb882cf99"
	testBase    = "https://api.test.invalid/prefix"
	taskURL     = testBase + "/v1/Workspaces/" + testWS + "/Tasks/" + testTask
)

// recorded is one request seen by the mock transport.
type recorded struct {
	Method, Path, IfMatch, Body, Auth string
}

// mock is a strict httpmock transport under the client's retry layer, with a
// log of every request it saw.
type mock struct {
	*httpmock.MockTransport
	mu   sync.Mutex
	reqs []recorded
}

func (m *mock) log() []recorded {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]recorded(nil), m.reqs...)
}

// seq returns the requests as "METHOD If-Match" lines.
func (m *mock) seq() []string {
	var out []string
	for _, r := range m.log() {
		s := r.Method
		if r.IfMatch != "" {
			s += " " + r.IfMatch
		}
		out = append(out, s)
	}
	return out
}

// record wraps a responder to log the request.
func (m *mock) record(r httpmock.Responder) httpmock.Responder {
	return func(req *http.Request) (*http.Response, error) {
		var body string
		if req.Body != nil {
			b, _ := io.ReadAll(req.Body)
			body = string(b)
			req.Body = io.NopCloser(strings.NewReader(body)) // leave it for the responder
		}
		m.mu.Lock()
		m.reqs = append(m.reqs, recorded{Method: req.Method, Path: req.URL.Path, IfMatch: req.Header.Get("If-Match"),
			Body: body, Auth: req.Header.Get("Authorization")})
		m.mu.Unlock()
		return r(req)
	}
}

// on registers a responder (with request logging) for method and URL.
func (m *mock) on(method, u string, r httpmock.Responder) {
	m.RegisterResponder(method, u, m.record(r))
}

// setup returns a client whose transport is a strict mock, and the mock.
// Transport retries wait at most 1ms; conflict backoff is zero.
func setup(t *testing.T, opts ...ifmatch.Option) (*ifmatch.Client, *mock) {
	t.Helper()
	m := &mock{MockTransport: httpmock.NewMockTransport()}
	m.RegisterNoResponder(httpmock.NewNotFoundResponder(t.Fatal))
	base := []ifmatch.Option{
		ifmatch.WithBaseURL(testBase),
		ifmatch.WithHTTPClient(&http.Client{Transport: m}),
		ifmatch.WithTransportRetry(3, time.Microsecond, time.Millisecond),
		// The default configuration (coalescing on, the default backoff),
		// with no waits: most tests run the path users run.
		ifmatch.WithUpdateDefaults(ifmatch.BackoffBounds(0, 0)),
	}
	c, err := ifmatch.NewClient(testAccount, canaryToken, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c, m
}

// taskBody is a Task JSON body with the given attributes JSON and priority.
func taskBody(attrs string, priority int) string {
	return fmt.Sprintf(`{"sid":%q,"account_sid":%q,"workspace_sid":%q,"assignment_status":"pending",`+
		`"attributes":%q,"priority":%d,"date_created":"2026-01-02T03:04:05Z","date_updated":"2026-01-02T03:04:05Z",`+
		`"task_channel_sid":"TC0123456789abcdef0123456789abcdef","task_channel_unique_name":"default","timeout":86400,`+
		`"url":%q,"links":{"reservations":%q}}`,
		testTask, testAccount, testWS, attrs, priority, taskURL, taskURL+"/Reservations")
}

// taskResp answers a Task with an ETag.
func taskResp(status int, etag, attrs string, priority int) httpmock.Responder {
	return func(*http.Request) (*http.Response, error) {
		r := httpmock.NewStringResponse(status, taskBody(attrs, priority))
		r.Header.Set("Content-Type", "application/json")
		if etag != "" {
			r.Header.Set("ETag", etag)
		}
		return r, nil
	}
}

// errResp answers a Twilio JSON error.
func errResp(status, code int, headers ...string) httpmock.Responder {
	return func(*http.Request) (*http.Response, error) {
		r := httpmock.NewStringResponse(status, fmt.Sprintf(`{"code":%d,"message":"error %d","more_info":"https://www.twilio.com/docs/errors/%d","status":%d}`, code, code, code, status))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Twilio-Request-Id", "RQ123")
		for i := 0; i+1 < len(headers); i += 2 {
			r.Header.Set(headers[i], headers[i+1])
		}
		return r, nil
	}
}

// form decodes a logged request body.
func form(t *testing.T, body string) url.Values {
	t.Helper()
	v, err := url.ParseQuery(body)
	if err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	return v
}

// ctxT is the test's context, cancelled when the test ends (t.Context needs
// Go 1.24; the module supports 1.23).
func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return ctx
}
