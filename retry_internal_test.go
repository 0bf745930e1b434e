package ifmatch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestCheckRetryTable(t *testing.T) {
	t.Parallel()
	dial := &url.Error{Op: "Post", URL: "https://x", Err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}}
	reset := &url.Error{Op: "Post", URL: "https://x", Err: &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}}
	scheme := &url.Error{Op: "Get", URL: "ftp://x", Err: errors.New("unsupported protocol scheme \"ftp\"")}
	resp := func(code int, h ...string) *http.Response {
		r := &http.Response{StatusCode: code, Header: http.Header{}}
		for i := 0; i+1 < len(h); i += 2 {
			r.Header.Set(h[i], h[i+1])
		}
		return r
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name     string
		method   string
		resp     *http.Response
		err      error
		ctx      context.Context
		deadline time.Duration
		want     bool
	}{
		{"GET dial", "GET", nil, dial, nil, 0, true},
		{"GET reset", "GET", nil, reset, nil, 0, true},
		{"GET bad scheme", "GET", nil, scheme, nil, 0, false},
		{"DELETE reset", "DELETE", nil, reset, nil, 0, true},
		{"POST dial", "POST", nil, dial, nil, 0, true},
		{"POST reset (sent, outcome unknown)", "POST", nil, reset, nil, 0, false},
		{"GET 500", "GET", resp(500), nil, nil, 0, true},
		{"GET 502", "GET", resp(502), nil, nil, 0, true},
		{"GET 503", "GET", resp(503), nil, nil, 0, true},
		{"GET 501", "GET", resp(501), nil, nil, 0, false},
		{"GET 429", "GET", resp(429), nil, nil, 0, true},
		{"GET 404", "GET", resp(404), nil, nil, 0, false},
		{"GET 200", "GET", resp(200), nil, nil, 0, false},
		{"POST 429", "POST", resp(429), nil, nil, 0, true},
		{"POST 500", "POST", resp(500), nil, nil, 0, false},
		{"POST 503", "POST", resp(503), nil, nil, 0, false},
		{"POST 412", "POST", resp(412), nil, nil, 0, false},
		{"POST 409", "POST", resp(409), nil, nil, 0, false},
		{"DELETE 412", "DELETE", resp(412), nil, nil, 0, false},
		{"GET cancelled", "GET", resp(503), nil, cancelled, 0, false},
		{"GET 429 Retry-After within deadline", "GET", resp(429, "Retry-After", "1"), nil, nil, time.Hour, true},
		{"GET 429 Retry-After past deadline", "GET", resp(429, "Retry-After", "120"), nil, nil, time.Second, false},
		{"POST 429 Retry-After past deadline", "POST", resp(429, "Retry-After", "120"), nil, nil, time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := tc.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.deadline)
				defer cancel()
			}
			ctx = context.WithValue(ctx, stateKey{}, &reqState{method: tc.method})
			got, _ := checkRetry(ctx, tc.resp, tc.err)
			if got != tc.want {
				t.Errorf("retry = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTransportBackoff(t *testing.T) {
	t.Parallel()
	min, max := 10*time.Millisecond, 200*time.Millisecond
	for attempt := 0; attempt < 10; attempt++ {
		for i := 0; i < 50; i++ {
			d := transportBackoff(min, max, attempt, nil)
			bound := min << attempt
			if bound > max {
				bound = max
			}
			if d < bound/2 || d > bound {
				t.Fatalf("attempt %d: wait %s outside [%s, %s]", attempt, d, bound/2, bound)
			}
		}
	}
	r := &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"3600"}}}
	if d := transportBackoff(min, max, 0, r); d != max {
		t.Errorf("Retry-After 3600: wait %s, want clamped to %s", d, max)
	}
	r.Header.Set("Retry-After", "0")
	if d := transportBackoff(min, max, 0, r); d > min {
		t.Errorf("Retry-After 0: wait %s, want the normal backoff", d)
	}
	r.Header.Set("Retry-After", time.Now().Add(150*time.Millisecond).UTC().Format(http.TimeFormat))
	if d := transportBackoff(min, max, 0, r); d > max {
		t.Errorf("Retry-After date: wait %s > max", d)
	}
	// Clients throttled together come back spread over [ra, 1.5·ra].
	r.Header.Set("Retry-After", "1")
	seen := map[time.Duration]bool{}
	for range 50 {
		d := transportBackoff(time.Millisecond, 5*time.Second, 0, r)
		if d < time.Second || d > 1500*time.Millisecond {
			t.Fatalf("Retry-After 1: wait %s outside [1s, 1.5s]", d)
		}
		seen[d] = true
	}
	if len(seen) < 10 {
		t.Errorf("Retry-After 1: only %d distinct waits in 50: not spread", len(seen))
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]struct {
		d  time.Duration
		ok bool
	}{
		"":                              {0, false},
		"5":                             {5 * time.Second, true},
		" 7 ":                           {7 * time.Second, true},
		"-1":                            {0, false},
		"abc":                           {0, false},
		"99999999999999999999":          {0, false},
		"Thu, 01 Jan 2026 00:00:30 GMT": {30 * time.Second, true},
		"Wed, 31 Dec 2025 23:00:00 GMT": {0, true},
	} {
		d, ok := parseRetryAfter(in, now)
		if d != want.d || ok != want.ok {
			t.Errorf("parseRetryAfter(%q) = %s, %v; want %s, %v", in, d, ok, want.d, want.ok)
		}
	}
}

func TestCheckSID(t *testing.T) {
	t.Parallel()
	good := "WT" + strings.Repeat("aB3", 10) + "00"
	if err := checkSID("task SID", "WT", good); err != nil {
		t.Errorf("%s: %v", good, err)
	}
	for _, bad := range []string{"", "WT", good[:33], good + "0", "WS" + good[2:], "WT" + strings.Repeat("g", 32),
		"WT../" + strings.Repeat("0", 28), "WT%2F" + strings.Repeat("0", 29), "WT " + strings.Repeat("0", 31)} {
		err := checkSID("task SID", "WT", bad)
		if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), "task SID") {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
}

func TestBaseURLAndHosts(t *testing.T) {
	t.Parallel()
	for u, ok := range map[string]bool{
		"https://proxy.example.com/twilio": true,
		"http://127.0.0.1:8080":            true,
		"http://localhost:1":               true,
		"http://[::1]:1":                   true,
		"http://example.com":               false,
		"http://10.0.0.1":                  false,
		"ftp://127.0.0.1":                  false,
		"/relative":                        false,
		"https://user:pw@example.com":      false,
	} {
		_, err := parseBaseURL(u)
		if (err == nil) != ok {
			t.Errorf("%s: err = %v, want ok=%v", u, err, ok)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("%s: error shows the password: %v", u, err)
		}
	}
	for _, tc := range []struct {
		opts []Option
		want string
	}{
		{nil, "https://taskrouter.twilio.com"},
		{[]Option{WithRegion("ie1")}, "https://taskrouter.ie1.twilio.com"},
		{[]Option{WithEdge("dublin")}, "https://taskrouter.dublin.us1.twilio.com"},
		{[]Option{WithEdge("sydney"), WithRegion("au1")}, "https://taskrouter.sydney.au1.twilio.com"},
		{[]Option{WithBaseURL("http://127.0.0.1:9/base/")}, "http://127.0.0.1:9/base"},
	} {
		c, err := NewClient("AC"+strings.Repeat("0", 32), "tok", tc.opts...)
		if err != nil {
			t.Fatal(err)
		}
		u := c.productURL(productTaskRouter)
		if got := u.String(); got != tc.want {
			t.Errorf("%v: %s, want %s", tc.opts, got, tc.want)
		}
	}
	if _, err := NewClient("AC"+strings.Repeat("0", 32), "tok", WithRegion("ie1.evil.com/")); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("hostile region accepted: %v", err)
	}
}

func TestNewClientFromEnv(t *testing.T) {
	acct := "AC" + strings.Repeat("1", 32)
	for _, k := range []string{EnvAccountSID, EnvAuthToken, EnvAPIKey, EnvAPISecret, EnvRegion, EnvEdge} {
		t.Setenv(k, "")
	}
	_, err := NewClientFromEnv()
	if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), EnvAccountSID) || !strings.Contains(err.Error(), EnvAuthToken) {
		t.Fatalf("err = %v, want both missing variables named", err)
	}
	t.Setenv(EnvAccountSID, acct)
	t.Setenv(EnvAPIKey, "SK"+strings.Repeat("2", 32))
	_, err = NewClientFromEnv()
	if err == nil || !strings.Contains(err.Error(), EnvAPISecret) {
		t.Fatalf("err = %v, want %s named", err, EnvAPISecret)
	}
	t.Setenv(EnvAPISecret, "s3cret")
	t.Setenv(EnvRegion, "ie1")
	c, err := NewClientFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if c.username != "SK"+strings.Repeat("2", 32) || c.password.value() != "s3cret" || c.region != "ie1" {
		t.Errorf("client from env: user %s region %s", c.username, c.region)
	}
}

func TestConflictBackoffScalesWithRTT(t *testing.T) {
	t.Parallel()
	b := &conflictBackoff{initial: time.Millisecond, max: time.Second}
	b.observeRTT(40 * time.Millisecond)
	for i := 0; i < 100; i++ {
		b.Reset()
		if d := b.NextBackOff(); d > 80*time.Millisecond {
			t.Fatalf("first wait %s above 2·RTT", d)
		}
	}
	b.Reset()
	var last time.Duration
	for i := 0; i < 10; i++ {
		b.NextBackOff()
		if b.bound < last || b.bound > time.Second {
			t.Fatalf("bound %s after %s: must grow and stay under max", b.bound, last)
		}
		last = b.bound
	}
	if last != time.Second {
		t.Errorf("bound %s never reached max", last)
	}
}

func TestObserveProgress(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		want int64
	}{{`"3"`, `"7"`, 4}, {`3`, `"4"`, 1}, {`"7"`, `"3"`, 0}, {`W/"1"`, `"2"`, 0}, {`abc`, `def`, 0}} {
		if got := versionGap(tc.a, tc.b); got != tc.want {
			t.Errorf("versionGap(%s, %s) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
	b := &conflictBackoff{initial: time.Millisecond, max: time.Second, rtt: 2 * time.Millisecond, bound: 5 * time.Millisecond}
	b.observeProgress(1) // only the write that beat us: no change
	if b.bound != 5*time.Millisecond {
		t.Fatalf("bound %s after one write", b.bound)
	}
	b.observeProgress(10) // ten writers got in: about ten of their round trips
	if b.bound != 10*progressRTT*2*time.Millisecond {
		t.Fatalf("bound %s after ten writes", b.bound)
	}
	b.observeProgress(1000)
	if b.bound != conflictCapRTT*2*time.Millisecond {
		t.Fatalf("bound %s not capped at %d round trips", b.bound, conflictCapRTT)
	}
	small := &conflictBackoff{max: 3 * time.Millisecond, rtt: time.Millisecond}
	small.observeProgress(100)
	if small.bound != 3*time.Millisecond {
		t.Fatalf("bound %s above the configured max", small.bound)
	}
}

func TestCheckRetryCountsEachAttemptOnce(t *testing.T) {
	t.Parallel()
	st := &reqState{method: "GET"}
	ctx := context.WithValue(context.Background(), stateKey{}, st)
	r1 := &http.Response{StatusCode: 200, Header: http.Header{}}
	checkRetry(ctx, r1, nil)
	checkRetry(ctx, r1, errors.New("body broke")) // the same attempt, after its body was read
	r2 := &http.Response{StatusCode: 200, Header: http.Header{}}
	checkRetry(ctx, r2, nil)
	checkRetry(ctx, nil, errors.New("reset"))
	if st.attempts != 3 {
		t.Fatalf("attempts = %d, want 3", st.attempts)
	}
}

func TestConflictBackoffJitter(t *testing.T) {
	t.Parallel()
	const rtt = 2 * time.Millisecond
	for _, tc := range []struct {
		bound, max, lo, hi time.Duration
	}{
		// A wide bound: a floor of floorRTT round trips, up to 3/2 of the bound less the floor.
		{bound: 64 * rtt, max: time.Second, lo: floorRTT * rtt, hi: 96*rtt - floorRTT*rtt},
		// A narrow bound: equal jitter (the floor is half the bound).
		{bound: 4 * rtt, max: time.Second, lo: 2 * rtt, hi: 4 * rtt},
		// Never above the configured maximum.
		{bound: 64 * rtt, max: 64 * rtt, lo: floorRTT * rtt, hi: 64 * rtt},
	} {
		var sum time.Duration
		short := 0 // waits below half the bound, which equal jitter never draws
		const n = 10000
		for i := 0; i < n; i++ {
			b := &conflictBackoff{max: tc.max, rtt: rtt, bound: tc.bound / conflictGrowth}
			d := b.NextBackOff()
			if b.bound != tc.bound {
				t.Fatalf("bound %s, want %s", b.bound, tc.bound)
			}
			if d < tc.lo || d > tc.hi {
				t.Fatalf("bound %s: wait %s outside [%s, %s]", tc.bound, d, tc.lo, tc.hi)
			}
			sum += d
			if d < tc.bound/2 {
				short++
			}
		}
		if wantShort := tc.lo < tc.bound/2; wantShort != (short > n/5) {
			t.Errorf("bound %s: %d of %d waits below half the bound", tc.bound, short, n)
		}
		// Without the clamp to max, the mean is 3/4 of the bound (the
		// standard error over n draws is under 1% of the bound).
		if mean := sum / n; tc.max > tc.hi && (mean < tc.bound*7/10 || mean > tc.bound*8/10) {
			t.Errorf("bound %s: mean wait %s, want about %s", tc.bound, mean, tc.bound*3/4)
		}
	}
}

// Certificate errors are recognised as values and as pointers, bare or
// wrapped by crypto/tls.
func TestCertificateErrorForms(t *testing.T) {
	t.Parallel()
	for _, err := range []error{
		x509.UnknownAuthorityError{}, &x509.UnknownAuthorityError{},
		x509.HostnameError{}, &x509.HostnameError{},
		x509.CertificateInvalidError{}, &x509.CertificateInvalidError{},
		&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}},
		&url.Error{Op: "Get", URL: "https://x", Err: fmt.Errorf("tls: %w", x509.HostnameError{})},
	} {
		if retryableTransportErr(err) {
			t.Errorf("%T: retryable, want not", err)
		}
	}
	if !retryableTransportErr(errors.New("connection reset")) {
		t.Error("connection reset: not retryable")
	}
}

// Every attempt has a timeout: DefaultTryTimeout unless the caller's
// http.Client sets its own, including a caller's client with Timeout 0,
// which is never changed itself.
func TestDefaultTryTimeout(t *testing.T) {
	t.Parallel()
	const acct = "AC0123456789abcdef0123456789abcdef"
	user := &http.Client{}
	for _, tc := range []struct {
		opts []Option
		want time.Duration
	}{
		{nil, DefaultTryTimeout},
		{[]Option{WithHTTPClient(user)}, DefaultTryTimeout},
		{[]Option{WithHTTPClient(&http.Client{Timeout: time.Minute})}, time.Minute},
	} {
		c, err := NewClient(acct, "token", tc.opts...)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.rc.HTTPClient.Timeout; got != tc.want {
			t.Errorf("per-try timeout %s, want %s", got, tc.want)
		}
	}
	if user.Timeout != 0 {
		t.Error("the caller's http.Client was changed")
	}
}
