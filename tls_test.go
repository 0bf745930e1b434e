package ifmatch_test

import (
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ifmatch-go/ifmatch"
)

// countingRT counts the attempts that reach the transport.
type countingRT struct {
	n    atomic.Int32
	base http.RoundTripper
}

func (c *countingRT) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

// A server whose certificate the client does not trust fails the call at
// once: a certificate error is never retried (crypto/tls reports
// x509.UnknownAuthorityError as a value, not a pointer).
func TestUntrustedCertificateNotRetried(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("request reached a server the client must not trust")
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake errors are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	rt := &countingRT{base: &http.Transport{}}
	t.Cleanup(rt.base.(*http.Transport).CloseIdleConnections)
	c, err := ifmatch.NewClient(testAccount, canaryToken, ifmatch.WithBaseURL(srv.URL),
		ifmatch.WithHTTPClient(&http.Client{Transport: rt}), ifmatch.WithTransportRetry(4, time.Microsecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Workspace(testWS).FetchTask(ctxT(t), testTask)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("err = %v, want a certificate error", err)
	}
	if n := rt.n.Load(); n != 1 {
		t.Fatalf("%d attempts, want 1 (certificate errors are not retried)", n)
	}
}

// WithUserAgent refuses control characters, naming the problem.
func TestUserAgentRefusesControlCharacters(t *testing.T) {
	t.Parallel()
	for _, ua := range []string{"a\x00b", "a\x7fb", "a\rb", "a\nb", "a\tb"} {
		_, err := ifmatch.NewClient(testAccount, canaryToken, ifmatch.WithUserAgent(ua))
		if !errors.Is(err, ifmatch.ErrInvalidArgument) || !strings.Contains(err.Error(), "control character") {
			t.Errorf("WithUserAgent(%q): err = %v, want ErrInvalidArgument naming a control character", ua, err)
		}
	}
	if _, err := ifmatch.NewClient(testAccount, canaryToken, ifmatch.WithUserAgent("my-app/1.2 (ünï)")); err != nil {
		t.Errorf("ordinary user agent refused: %v", err)
	}
}
