package ifmatch_test

import (
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ifmatch-go/ifmatch"
)

// countingTransport counts the requests that reach it.
type countingTransport struct{ n atomic.Int64 }

func (c *countingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	c.n.Add(1)
	return nil, errors.New("no request expected")
}

// TestNewClientHostOptionsConflict: a base URL with a query or fragment, and
// WithBaseURL with WithRegion or WithEdge, are an ErrInvalidArgument naming
// the problem; nothing is sent, and a query (which may hold a key) is never
// quoted.
func TestNewClientHostOptionsConflict(t *testing.T) {
	t.Parallel()
	const base = "https://proxy.test.invalid/twilio"
	for _, tc := range []struct {
		name string
		opts []ifmatch.Option
		want string
	}{
		{"query", []ifmatch.Option{ifmatch.WithBaseURL(base + "?key=SECRETKEY")}, "query or a fragment"},
		{"empty query", []ifmatch.Option{ifmatch.WithBaseURL(base + "?")}, "query or a fragment"},
		{"fragment", []ifmatch.Option{ifmatch.WithBaseURL(base + "#SECRETKEY")}, "query or a fragment"},
		{"empty fragment", []ifmatch.Option{ifmatch.WithBaseURL(base + "/#")}, "query or a fragment"},
		{"base URL then region", []ifmatch.Option{ifmatch.WithBaseURL(base), ifmatch.WithRegion("ie1")}, "WithBaseURL and WithRegion conflict"},
		{"region then base URL", []ifmatch.Option{ifmatch.WithRegion("ie1"), ifmatch.WithBaseURL(base)}, "WithBaseURL and WithRegion conflict"},
		{"edge", []ifmatch.Option{ifmatch.WithEdge("dublin"), ifmatch.WithBaseURL(base)}, "WithBaseURL and WithEdge conflict"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rt := &countingTransport{}
			opts := append([]ifmatch.Option{ifmatch.WithHTTPClient(&http.Client{Transport: rt})}, tc.opts...)
			c, err := ifmatch.NewClient(testAccount, canaryToken, opts...)
			if c != nil || !errors.Is(err, ifmatch.ErrInvalidArgument) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v, %v; want ErrInvalidArgument saying %q", c, err, tc.want)
			}
			if strings.Contains(err.Error(), "SECRETKEY") || strings.Contains(err.Error(), canaryToken) {
				t.Errorf("the error quotes the URL's query or fragment: %v", err)
			}
			if n := rt.n.Load(); n != 0 {
				t.Errorf("%d requests sent", n)
			}
		})
	}
	// Each alone is fine.
	for _, o := range []ifmatch.Option{ifmatch.WithBaseURL(base + "/"), ifmatch.WithRegion("ie1"), ifmatch.WithEdge("dublin")} {
		if _, err := ifmatch.NewClient(testAccount, canaryToken, o); err != nil {
			t.Errorf("one host option: %v", err)
		}
	}
}

// TestNewClientFromEnvRegionConflictsWithBaseURL: TWILIO_REGION is
// WithRegion, so it conflicts with a WithBaseURL given to NewClientFromEnv,
// and the error says where it came from.
func TestNewClientFromEnvRegionConflictsWithBaseURL(t *testing.T) {
	t.Setenv(ifmatch.EnvAccountSID, testAccount)
	t.Setenv(ifmatch.EnvAuthToken, canaryToken)
	t.Setenv(ifmatch.EnvRegion, "ie1")
	_, err := ifmatch.NewClientFromEnv(ifmatch.WithBaseURL("https://proxy.test.invalid"))
	if !errors.Is(err, ifmatch.ErrInvalidArgument) || !strings.Contains(err.Error(), ifmatch.EnvRegion) {
		t.Errorf("%v; want ErrInvalidArgument naming %s", err, ifmatch.EnvRegion)
	}
}
