package ifmatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// Version is the ifmatch release, sent in the User-Agent header.
const Version = "0.1.0"

// Memory limits. ifmatch reads no more of a response than these, and a body
// over its cap ends the call with an error wrapping [ErrBadResponse] at once:
// it is not downloaded again by a transport retry. With these caps, whatever
// a server sends, fetching one resource allocates at most about 48 MiB and
// each attempt of an update loop at most about 128 MiB (the worst case, a
// JSON object of tiny keys at the cap, measured by TestMemoryLimit with its
// server's share: 22 MiB and 48 MiB); a list holds one page and decodes
// one item at a time.
const (
	// MaxBodyBytes caps the body of a list page (up to 1000 items).
	MaxBodyBytes = 10 << 20
	// MaxResourceBytes caps the JSON of one resource: the body of a
	// request on a single Task, Worker, Reservation or Sync object, and
	// each item of a list page. Twilio's own limits are far below (16 KiB
	// for Sync data).
	MaxResourceBytes = 1 << 20
	// maxErrorBodyBytes caps what is read of an error body.
	maxErrorBodyBytes = 64 << 10
)

// errBodyTooLarge reports a body over its cap; it is never retried.
var errBodyTooLarge = errors.New("body exceeds the size cap")

// Product hosts. Each Twilio product has its own API host.
const (
	productTaskRouter = "taskrouter"
	productSync       = "sync"
)

// Client talks to Twilio's TaskRouter and Sync APIs. Create one with
// [NewClient] or [NewClientFromEnv] and share it: a Client is immutable after
// construction and safe for concurrent use by many goroutines. The zero
// Client is not usable (its calls panic): always use a constructor.
//
// A Client never prints its credentials: every fmt verb and flag, a copy of
// the value (fmt.Sprint(*c)), encoding/json and log/slog show at most the
// account SID. The credential is kept where no printer can reach it.
type Client struct {
	accountSID string
	username   string // account SID or API key SID
	password   secret // auth token or API key secret: unprintable by construction
	scrub      scrubber
	baseURL    *url.URL
	region     string
	edge       string
	userAgent  string
	logger     *slog.Logger
	rc         *retryablehttp.Client
	defaults   updateConfig
	cache      *boundedMap[any] // resource path → this client's last written version; nil when off
	co         *coalescer
	levels     *boundedMap[time.Duration] // resource path → remembered conflict backoff level
	fair       *boundedMap[fairState]     // resource path → what Fair learned of it
	obs        Observer                   // nil: none
}

// Option configures a [Client] at construction.
type Option func(*clientConfig) error

type clientConfig struct {
	apiKey, apiSecret string
	baseURL           string
	region, edge      string
	httpClient        *http.Client
	userAgent         string
	logger            *slog.Logger
	retryMax          int
	retryMin          time.Duration
	retryMaxWait      time.Duration
	update            []UpdateOption
	noCache           bool
	noCoalesce        bool
	observer          Observer
}

// WithAPIKey authenticates with an API key (SID "SK…") and its secret instead
// of the account's auth token. The account SID given to [NewClient] still names
// the account; the auth token argument may then be empty.
func WithAPIKey(keySID, secret string) Option {
	return func(c *clientConfig) error {
		if err := checkCredentialSID("API key SID", "SK", keySID); err != nil {
			return err
		}
		if secret == "" {
			return fmt.Errorf("%w: API key secret is empty", ErrInvalidArgument)
		}
		c.apiKey, c.apiSecret = keySID, secret
		return nil
	}
}

// WithBaseURL sends every product's requests to one base URL (a proxy, or the
// fake server of package ifmatchtest) instead of Twilio's per-product hosts.
// Plain http is accepted only for loopback hosts: credentials never travel in
// clear over a network. The URL must carry no query and no fragment, and
// [NewClient] refuses it together with [WithRegion] or [WithEdge], which
// choose the host too (all [ErrInvalidArgument]).
func WithBaseURL(u string) Option {
	return func(c *clientConfig) error {
		if _, err := parseBaseURL(u); err != nil {
			return err
		}
		c.baseURL = u
		return nil
	}
}

// WithRegion selects a Twilio region (for example "ie1"), as twilio-go does:
// requests go to {product}.{edge}.{region}.twilio.com. It conflicts with
// [WithBaseURL].
func WithRegion(region string) Option {
	return func(c *clientConfig) error {
		if !isHostLabel(region) {
			return fmt.Errorf("%w: region %q is not a host name label", ErrInvalidArgument, truncate(region))
		}
		c.region = region
		return nil
	}
}

// WithEdge selects a Twilio edge location (for example "dublin"). With an edge
// and no region, the region is "us1", as in Twilio's own SDKs. It conflicts
// with [WithBaseURL].
func WithEdge(edge string) Option {
	return func(c *clientConfig) error {
		if !isHostLabel(edge) {
			return fmt.Errorf("%w: edge %q is not a host name label", ErrInvalidArgument, truncate(edge))
		}
		c.edge = edge
		return nil
	}
}

// WithHTTPClient makes the Client send requests through a copy of hc: its
// Transport, Timeout (a per-try timeout) and Jar are used. A Timeout of 0
// is replaced by [DefaultTryTimeout] in the copy. hc itself is never
// changed. Redirects are never followed, so credentials never go to another
// host: a 3xx answer becomes an [*APIError].
func WithHTTPClient(hc *http.Client) Option {
	return func(c *clientConfig) error {
		if hc == nil {
			return fmt.Errorf("%w: nil *http.Client", ErrInvalidArgument)
		}
		c.httpClient = hc
		return nil
	}
}

// WithUserAgent appends s to the User-Agent header ifmatch sends. s must
// not hold control characters (NUL, CR, LF, DEL, …): no request could carry
// them, so they are refused here with [ErrInvalidArgument].
func WithUserAgent(s string) Option {
	return func(c *clientConfig) error {
		for i := 0; i < len(s); i++ {
			if b := s[i]; b < 0x20 || b == 0x7f {
				return fmt.Errorf("%w: user agent contains control character %#02x at byte %d", ErrInvalidArgument, b, i)
			}
		}
		c.userAgent = s
		return nil
	}
}

// WithLogger makes the Client log requests, retries and conflicts to l (at
// Debug for each request, Info for conflicts and retries). The default logs
// nothing. Log records never hold credentials.
func WithLogger(l *slog.Logger) Option {
	return func(c *clientConfig) error {
		c.logger = l
		return nil
	}
}

// WithTransportRetry sets the transport retry policy: at most max retries of
// one request, waiting between minWait and maxWait (exponential with jitter,
// a server's Retry-After honoured but clamped to maxWait). See [Client] docs
// for what is retried.
func WithTransportRetry(max int, minWait, maxWait time.Duration) Option {
	return func(c *clientConfig) error {
		if max < 0 || minWait < 0 || maxWait < minWait {
			return fmt.Errorf("%w: transport retry needs max >= 0 and 0 <= minWait <= maxWait", ErrInvalidArgument)
		}
		c.retryMax, c.retryMin, c.retryMaxWait = max, minWait, maxWait
		return nil
	}
}

// WithoutTransportRetry turns transport retries off: every request is sent
// once. The conflict loop still retries 412s.
func WithoutTransportRetry() Option {
	return func(c *clientConfig) error {
		c.retryMax = 0
		return nil
	}
}

// WithUpdateDefaults sets client-wide defaults for every update loop
// ([Workspace.UpdateTask] and the other Update* loops). Options given to a
// call are applied after these and override them.
func WithUpdateDefaults(opts ...UpdateOption) Option {
	return func(c *clientConfig) error {
		c.update = append(c.update, opts...)
		return nil
	}
}

// WithoutETagCache turns off the Client's memory of the last version of each
// resource it wrote. With the cache on (the default) an update that follows
// this Client's own write skips the initial GET; a stale entry costs one 412
// and a GET, never correctness. Paths that name a resource by a reusable
// name (a Sync unique name or Map key) are never cached: a resource created
// again under the name starts its revisions over, so an old ETag could match.
func WithoutETagCache() Option {
	return func(c *clientConfig) error {
		c.noCache = true
		return nil
	}
}

// WithoutCoalescing makes every update call run its own loop. By default,
// concurrent update calls on one resource through one Client are coalesced:
// while one write to the resource is in flight, later calls queue, and the
// next round applies all their mutators, in arrival order, to the latest
// state and sends a single conditional write (group commit). Each caller
// gets its own result; a mutator that fails drops out alone; a conflict
// re-runs the whole round; an unknown outcome is reported to every caller of
// the round. Calls with their own [Backoff] factory, or [Alone], never join
// a round.
func WithoutCoalescing() Option {
	return func(c *clientConfig) error {
		c.noCoalesce = true
		return nil
	}
}

// checkHost refuses options that both choose the host requests go to.
func (c *clientConfig) checkHost() error {
	for _, o := range []struct{ name, v string }{{"WithRegion", c.region}, {"WithEdge", c.edge}} {
		if c.baseURL != "" && o.v != "" {
			return fmt.Errorf("%w: WithBaseURL and %s conflict: both choose the host requests go to; give one (NewClientFromEnv takes %s from %s)",
				ErrInvalidArgument, o.name, o.name, map[string]string{"WithRegion": EnvRegion, "WithEdge": EnvEdge}[o.name])
		}
	}
	return nil
}

// NewClient returns a Client for the account accountSID ("AC…"), authenticated
// with authToken, or with an API key given by [WithAPIKey].
func NewClient(accountSID, authToken string, opts ...Option) (*Client, error) {
	if err := checkCredentialSID("account SID", "AC", accountSID); err != nil {
		return nil, err
	}
	cfg := clientConfig{retryMax: 3, retryMin: 50 * time.Millisecond, retryMaxWait: 5 * time.Second}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&cfg); err != nil {
			// An option's error never quotes a credential; scrub the
			// token anyway, in case an argument got it by mistake.
			return nil, newScrubber("", newSecret(authToken)).scrubError(err)
		}
	}
	if err := cfg.checkHost(); err != nil {
		return nil, err
	}
	c := &Client{accountSID: accountSID, username: accountSID, password: newSecret(authToken),
		region: cfg.region, edge: cfg.edge, logger: cfg.logger}
	if cfg.apiKey != "" {
		c.username, c.password = cfg.apiKey, newSecret(cfg.apiSecret)
	}
	c.scrub = newScrubber(c.username, c.password)
	if c.password.value() == "" {
		return nil, fmt.Errorf("%w: auth token is empty (give one, or use WithAPIKey)", ErrInvalidArgument)
	}
	if cfg.baseURL != "" {
		c.baseURL, _ = parseBaseURL(cfg.baseURL)
	}
	c.userAgent = "ifmatch-go/" + Version
	if cfg.userAgent != "" {
		c.userAgent += " " + cfg.userAgent
	}
	c.defaults = defaultUpdateConfig()
	for _, o := range cfg.update {
		if o != nil {
			o(&c.defaults)
		}
	}
	if err := c.defaults.validate(); err != nil {
		return nil, err
	}
	if err := c.defaults.validateDefaults(); err != nil {
		return nil, err
	}
	if !cfg.noCache {
		c.cache = newBoundedMap[any](4096)
	}
	if !cfg.noCoalesce {
		c.co = newCoalescer()
	}
	c.levels = newBoundedMap[time.Duration](4096)
	c.fair = newBoundedMap[fairState](4096)
	c.obs = cfg.observer
	c.rc = newTransport(cfg, c.scrub)
	return c, nil
}

// Environment variables read by [NewClientFromEnv]: the names Twilio's own
// tools use.
const (
	EnvAccountSID = "TWILIO_ACCOUNT_SID"
	EnvAuthToken  = "TWILIO_AUTH_TOKEN"
	EnvAPIKey     = "TWILIO_API_KEY"
	EnvAPISecret  = "TWILIO_API_SECRET"
	EnvRegion     = "TWILIO_REGION"
	EnvEdge       = "TWILIO_EDGE"
)

// NewClientFromEnv builds a Client from TWILIO_ACCOUNT_SID and either
// TWILIO_AUTH_TOKEN or TWILIO_API_KEY + TWILIO_API_SECRET, with the optional
// TWILIO_REGION and TWILIO_EDGE. Its error names every variable missing.
// Options given here are applied after those taken from the environment;
// [WithBaseURL] conflicts with TWILIO_REGION and TWILIO_EDGE as it does with
// [WithRegion] and [WithEdge].
func NewClientFromEnv(opts ...Option) (*Client, error) {
	get := os.Getenv
	var missing []string
	acct := get(EnvAccountSID)
	if acct == "" {
		missing = append(missing, EnvAccountSID)
	}
	var env []Option
	key, secret, token := get(EnvAPIKey), get(EnvAPISecret), get(EnvAuthToken)
	switch {
	case key != "" || secret != "":
		if key == "" {
			missing = append(missing, EnvAPIKey)
		}
		if secret == "" {
			missing = append(missing, EnvAPISecret)
		}
		env = append(env, WithAPIKey(key, secret))
	case token == "":
		missing = append(missing, EnvAuthToken+" (or "+EnvAPIKey+" and "+EnvAPISecret+")")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: environment variables not set: %s", ErrInvalidArgument, strings.Join(missing, ", "))
	}
	if r := get(EnvRegion); r != "" {
		env = append(env, WithRegion(r))
	}
	if e := get(EnvEdge); e != "" {
		env = append(env, WithEdge(e))
	}
	return NewClient(acct, token, append(env, opts...)...)
}

// AccountSID returns the account the Client works on.
func (c *Client) AccountSID() string { return c.accountSID }

// String describes the Client without its credentials. Its receiver (like
// that of GoString, Format, MarshalJSON and LogValue) is a value, so that a
// copy of a Client prints as safely as a pointer to one.
func (c Client) String() string {
	return "ifmatch.Client{AccountSID: " + c.accountSID + ", credentials: " + redacted + "}"
}

// GoString is like String, for %#v.
func (c Client) GoString() string { return c.String() }

// Format prints the Client as String does for every verb, so that no verb or
// flag (%+v, %#v, %x, %q included) can print the credentials.
func (c Client) Format(f fmt.State, _ rune) { io.WriteString(f, c.String()) }

// MarshalJSON encodes the account SID only.
func (c Client) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"account_sid": c.accountSID, "credentials": redacted})
}

// LogValue logs the account SID only.
func (c Client) LogValue() slog.Value {
	return slog.GroupValue(slog.String("account_sid", c.accountSID), slog.String("credentials", redacted))
}

// parseBaseURL checks a base URL: absolute, http(s), https unless loopback.
func parseBaseURL(s string) (*url.URL, error) {
	// The URL may carry credentials (https://AC…:token@host): no error
	// quotes it, or the part of it url.Parse complains about.
	u, err := url.Parse(s)
	if err != nil && strings.Contains(s, "@") {
		return nil, fmt.Errorf("%w: base URL does not parse and may carry user info (the URL is not shown)", ErrInvalidArgument)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: base URL %q does not parse: %v", ErrInvalidArgument, truncate(s), urlErrReason(err))
	}
	if u.User != nil {
		return nil, fmt.Errorf("%w: base URL must not carry user info (give credentials to NewClient; the URL is not shown)", ErrInvalidArgument)
	}
	if u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("%w: base URL %q must be an absolute http(s) URL", ErrInvalidArgument, truncate(s))
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("%w: base URL %q uses plain http on a non-loopback host; credentials must not travel in clear (use https)", ErrInvalidArgument, truncate(s))
	}
	if u.RawQuery != "" || u.ForceQuery || strings.Contains(s, "#") {
		// A query may carry a key: the URL is not shown.
		return nil, fmt.Errorf("%w: base URL must not carry a query or a fragment: every request builds its own (the URL is not shown)", ErrInvalidArgument)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	return u, nil
}

// urlErrReason is url.Parse's complaint without the URL it repeats.
func urlErrReason(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func isHostLabel(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// productURL returns the base URL for a product's API.
func (c *Client) productURL(product string) url.URL {
	if c.baseURL != nil {
		return *c.baseURL
	}
	host := product
	region := c.region
	if c.edge != "" && region == "" {
		region = "us1"
	}
	if c.edge != "" {
		host += "." + c.edge
	}
	if region != "" {
		host += "." + region
	}
	return url.URL{Scheme: "https", Host: host + ".twilio.com"}
}

// checkSID checks sid against Twilio's pattern: prefix + 32 hex digits. It
// runs before any request, so a malformed or hostile SID never reaches a URL.
func checkSID(what, prefix, sid string) error {
	if !validSID(prefix, sid) {
		return fmt.Errorf("%w: %s %q is malformed: want %q followed by 32 hex digits", ErrInvalidArgument, what, truncate(sid), prefix)
	}
	return nil
}

// validSID reports whether sid is prefix followed by 32 hex digits.
func validSID(prefix, sid string) bool {
	ok := len(sid) == 34 && sid[:2] == prefix
	for i := 2; ok && i < len(sid); i++ {
		ch := sid[i]
		ok = ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'f' || ch >= 'A' && ch <= 'F'
	}
	return ok
}

// checkCredentialSID is checkSID for the SIDs given to the constructor next
// to a secret (the account SID, the API key SID). Swapped arguments would
// quote the secret, so the error never holds the value: it names what is
// wrong with it.
func checkCredentialSID(what, prefix, sid string) error {
	if checkSID(what, prefix, sid) == nil {
		return nil
	}
	var why string
	switch {
	case sid == "":
		why = "it is empty"
	case len(sid) != 34:
		why = fmt.Sprintf("it has %d characters, not 34", len(sid))
	case sid[:2] != prefix:
		why = "it does not start with " + prefix
	default:
		why = "it has characters other than hex digits after " + prefix
	}
	hint := ""
	if len(sid) >= minRedactLen && !strings.HasPrefix(sid, prefix) {
		hint = " (is it a secret given in its place? the value is not shown)"
	}
	return fmt.Errorf("%w: %s is malformed: %s; want %q followed by 32 hex digits%s", ErrInvalidArgument, what, why, prefix, hint)
}

// truncate bounds user input quoted in error messages.
func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// request describes one API call.
type request struct {
	method  string
	product string
	path    []string // path segments, escaped one by one
	query   url.Values
	form    url.Values
	ifMatch string
	page    bool // a list page: capped at MaxBodyBytes, not MaxResourceBytes
}

// response is a fully read API response.
type response struct {
	status int
	body   []byte
	etag   string
}

// endpoint builds the full URL of r.
func (c *Client) endpoint(r *request) *url.URL {
	u := c.productURL(r.product)
	var b strings.Builder
	b.WriteString(u.EscapedPath())
	for _, seg := range r.path {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(seg))
	}
	u.RawPath = b.String()
	u.Path, _ = url.PathUnescape(u.RawPath)
	if len(r.query) > 0 {
		u.RawQuery = r.query.Encode()
	}
	return &u
}

// send performs r through the transport retry layer and reads the answer.
// Non-2xx answers become *APIError; transport failures a *transportError.
func (c *Client) send(ctx context.Context, r *request) (*response, error) {
	return c.sendURL(ctx, r, c.endpoint(r))
}

// sendURL is send to the URL u. The client's credentials are scrubbed from
// every error it returns: a server may echo them (see [scrubber]).
func (c *Client) sendURL(ctx context.Context, r *request, u *url.URL) (*response, error) {
	resp, err := c.sendOnce(ctx, r, u)
	return resp, c.scrub.scrubError(err)
}

// sendOnce performs r at u through the retry layer and reads the answer:
// the body of a 2xx is read inside that layer, so one that breaks off is
// retried like a connection error for GET and DELETE, and never for POST
// (it committed).
func (c *Client) sendOnce(ctx context.Context, r *request, u *url.URL) (*response, error) {
	// The URL may come from a server (a next_page_url) and so echo a
	// credential: every log line and error quotes this scrubbed copy.
	st := &reqState{method: r.method, url: c.scrub.scrub(redactURL(u))}
	req, err := c.newRequest(context.WithValue(ctx, stateKey{}, st), r, u)
	if err != nil {
		return nil, err
	}
	var got bodyRead
	req.SetResponseHandler(got.handler(r.page))
	start := time.Now()
	resp, err := c.rc.Do(req)
	if err != nil {
		return nil, c.doError(ctx, r, st, resp, err, got.err)
	}
	defer resp.Body.Close()
	c.log(ctx, slog.LevelDebug, "request", "method", r.method, "url", st.url, "status", resp.StatusCode,
		"attempts", st.attempts, "duration", time.Since(start))
	return responseOf(r, st, resp, got.body)
}

// newRequest builds the HTTP request for r at u, with the Client's
// credentials and headers.
func (c *Client) newRequest(ctx context.Context, r *request, u *url.URL) (*retryablehttp.Request, error) {
	var body []byte
	if r.form != nil {
		body = encodeForm(r.form)
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("%w: building request: %v", ErrInvalidArgument, err)
	}
	req.SetBasicAuth(c.username, c.password.value())
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if r.form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if r.ifMatch != "" {
		req.Header.Set("If-Match", r.ifMatch)
	}
	return req, nil
}

// bodyRead holds the body of a 2xx answer, read inside the retry layer, or
// the error that broke the read off.
type bodyRead struct {
	body []byte
	err  error
}

// handler is the retry layer's response handler that reads a 2xx body into
// b, capped at MaxBodyBytes for a list page and MaxResourceBytes otherwise.
// Its error makes the retry layer treat the try as failed.
func (b *bodyRead) handler(page bool) retryablehttp.ResponseHandlerFunc {
	return func(resp *http.Response) error {
		if !is2xx(resp.StatusCode) {
			return nil
		}
		limit := int64(MaxResourceBytes)
		if page {
			limit = MaxBodyBytes
		}
		b.body, b.err = readBody(resp, limit)
		return b.err
	}
}

// doError is the error of a request the retry layer gave up on, err: a 2xx
// whose body broke off (bodyErr), the end of ctx, or a transport failure.
func (c *Client) doError(ctx context.Context, r *request, st *reqState, resp *http.Response, err, bodyErr error) error {
	if resp != nil {
		resp.Body.Close()
	}
	ctxErr := ctx.Err()
	if bodyErr != nil && resp != nil && ctxErr == nil {
		return &badResponseError{Method: r.method, URL: st.url, Status: resp.StatusCode,
			ETag: resp.Header.Get("ETag"), Reason: "reading body: " + bodyErr.Error()}
	}
	if ctxErr != nil {
		err := ctxErr
		if st.last != nil && !errors.Is(st.last, ctxErr) {
			err = errors.Join(ctxErr, st.last)
		}
		if !st.acted { // stopped between attempts the server refused or never saw
			return &unprocessedError{err}
		}
		return err
	}
	te := &transportError{Method: r.method, URL: st.url, Err: err, NotSent: isDialError(err)}
	c.log(ctx, slog.LevelInfo, "request failed", "method", r.method, "url", st.url, "error", c.scrub.scrub(te.Err.Error()))
	return te
}

// responseOf is the response to r from resp, whose 2xx body, if any, is body.
// Any other status is an *APIError, its body read best-effort: a broken one
// still gives an *APIError with the status.
func responseOf(r *request, st *reqState, resp *http.Response, body []byte) (*response, error) {
	out := &response{status: resp.StatusCode, etag: resp.Header.Get("ETag"), body: body}
	if is2xx(resp.StatusCode) {
		return out, nil
	}
	out.body, _ = readBody(resp, maxErrorBodyBytes)
	ae := parseAPIError(resp.StatusCode, out.body)
	ae.Method, ae.URL = r.method, st.url
	ae.RequestID = resp.Header.Get("Twilio-Request-Id")
	ae.RetryAfter, _ = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	return out, ae
}

// is2xx reports a success status.
func is2xx(status int) bool { return status >= 200 && status <= 299 }

// encodeForm returns f.Encode() as bytes, written once into a buffer of its
// exact size: a large value is not escaped into a string, copied into a
// builder and copied again into the body.
func encodeForm(f url.Values) []byte {
	keys := make([]string, 0, len(f))
	n := 0
	for k, vs := range f {
		keys = append(keys, k)
		n += len(vs) * (escapedLen(k) + 2) // "k=" and "&" (one too many)
		for _, v := range vs {
			n += escapedLen(v)
		}
	}
	slices.Sort(keys)
	b := make([]byte, 0, max(n-1, 0))
	for _, k := range keys {
		for _, v := range f[k] {
			if len(b) > 0 {
				b = append(b, '&')
			}
			b = append(appendQueryEscape(b, k), '=')
			b = appendQueryEscape(b, v)
		}
	}
	return b
}

// appendQueryEscape appends url.QueryEscape(s) to b.
func appendQueryEscape(b []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case unreserved(c):
			b = append(b, c)
		case c == ' ':
			b = append(b, '+')
		default:
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return b
}

// escapedLen is len(url.QueryEscape(s)).
func escapedLen(s string) int {
	n := len(s)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != ' ' && !unreserved(c) {
			n += 2
		}
	}
	return n
}

// unreserved reports a byte that url.QueryEscape keeps as it is.
func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~'
}

// readBody reads resp's body, failing with errBodyTooLarge (and the bytes
// read, at most limit) when it is longer than limit. A body announced as
// longer is refused without reading it; when the server announced the
// length, it reads into one buffer of that size instead of growing one.
func readBody(resp *http.Response, limit int64) ([]byte, error) {
	n := resp.ContentLength
	if n > limit {
		return nil, fmt.Errorf("%w: %d bytes announced, cap %d", errBodyTooLarge, n, limit)
	}
	if n >= 0 {
		b := make([]byte, n)
		_, err := io.ReadFull(resp.Body, b)
		return b, err
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err == nil && int64(len(b)) > limit {
		return b[:limit], fmt.Errorf("%w: more than %d bytes", errBodyTooLarge, limit)
	}
	return b, err
}

// badResponseError reports a 2xx response ifmatch could not use.
type badResponseError struct {
	Method, URL string
	Status      int
	ETag        string // the response's ETag header, if any
	Reason      string
}

// Error describes the unusable response.
func (e *badResponseError) Error() string {
	return fmt.Sprintf("ifmatch: %s %s: %d response unusable: %s", e.Method, e.URL, e.Status, e.Reason)
}

// Unwrap returns [ErrBadResponse].
func (e *badResponseError) Unwrap() error { return ErrBadResponse }

// transportError reports a request that got no HTTP answer.
type transportError struct {
	Method, URL string
	Err         error
	NotSent     bool // the connection was never established: the server saw nothing
}

// Error describes the failed request.
func (e *transportError) Error() string {
	return fmt.Sprintf("ifmatch: %s %s: %v", e.Method, e.URL, e.Err)
}

// Unwrap returns the transport's error.
func (e *transportError) Unwrap() error { return e.Err }

// unprocessedError is the error of a request the context stopped when none
// of its attempts had been acted on (see mayHaveActed): nothing of it was
// applied, nor ever will be.
type unprocessedError struct{ error }

func (e *unprocessedError) Unwrap() error { return e.error }

// redactURL keeps scheme, host and path: no user info, no query.
func redactURL(u *url.URL) string {
	v := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return v.String()
}

func (c *Client) log(ctx context.Context, level slog.Level, msg string, args ...any) {
	if c.logger != nil {
		c.logger.Log(ctx, level, "ifmatch: "+msg, args...)
	}
}

// listMeta is the spec's paging object.
type listMeta struct {
	NextPageURL *string `json:"next_page_url"`
}

// errSeq is an iteration that yields one error.
func errSeq[T any](err error) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) { yield(nil, err) }
}

// MaxEmptyPages bounds a list's run of pages that hold no item yet link to a
// next page: after that many in a row, the iteration ends with an error
// wrapping [ErrBadResponse] rather than request pages for ever without
// handing the caller anything.
const MaxEmptyPages = 10

// list walks a Twilio list: the items under key on each page, decoded with
// dec, then the page at meta.next_page_url (see [Client.nextPage]). It checks
// ctx before each page, and ends with an error after [MaxEmptyPages] empty
// pages in a row or a next page already read. An error ends
// the iteration.
func list[T any](ctx context.Context, c *Client, r *request, key string, dec func([]byte, string) (*T, error)) iter.Seq2[*T, error] {
	r.page = true
	id := identityOf(r) // of the collection: each item must carry a well-formed one
	return func(yield func(*T, error) bool) {
		p := &pager{c: c, r: r, u: c.endpoint(r)}
		for {
			items, next, err := p.read(ctx, key)
			if err != nil {
				yield(nil, err)
				return
			}
			n := len(items)
			if !yieldItems(p, items, id, dec, yield) || next == "" {
				return
			}
			if err := p.advance(next, n); err != nil {
				yield(nil, err)
				return
			}
		}
	}
}

// pager is the walk through one list's pages: the page at u, the status it
// was read with, and the run of pages in a row that held no item.
type pager struct {
	c       *Client
	r       *request
	u       *url.URL
	status  int
	empty   int
	visited map[string]bool // the pages read so far, to stop a cycle of links
}

// read reads the page at p.u, once ctx allows, and returns its raw items
// under key and its next_page_url ("" on the last page).
func (p *pager) read(ctx context.Context, key string) ([]json.RawMessage, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	resp, err := p.c.sendURL(ctx, p.r, p.u)
	if err != nil {
		return nil, "", err
	}
	p.status = resp.status
	var page map[string]json.RawMessage
	var meta listMeta
	var items []json.RawMessage
	if err := json.Unmarshal(resp.body, &page); err != nil {
		return nil, "", p.bad("decoding list: " + err.Error())
	}
	if err := json.Unmarshal(page[key], &items); err != nil || items == nil {
		return nil, "", p.bad(fmt.Sprintf("list has no %q array", key))
	}
	if m, ok := page["meta"]; ok && json.Unmarshal(m, &meta) != nil {
		return nil, "", p.bad("list meta is malformed")
	}
	return items, str(meta.NextPageURL), nil
}

// yieldItems decodes a page's items (each of collection id) with dec and
// yields them in order, dropping each raw item once read. It reports whether
// the walk goes on: false once the caller stops or an item is bad (yielded
// as the error).
func yieldItems[T any](p *pager, items []json.RawMessage, id identity, dec func([]byte, string) (*T, error), yield func(*T, error) bool) bool {
	for i, raw := range items {
		items[i] = nil
		if len(raw) > MaxResourceBytes {
			yield(nil, p.bad(fmt.Sprintf("list item %d: %v: %d bytes, cap %d", i, errBodyTooLarge, len(raw), MaxResourceBytes)))
			return false
		}
		v, why, _ := readOne(id, raw, "", dec)
		if why != "" {
			yield(nil, p.bad(fmt.Sprintf("list item %d: %s", i, why)))
			return false
		}
		if !yield(v, nil) {
			return false
		}
	}
	return true
}

// advance moves p to next, the next_page_url of the page just read, which
// held n items. It fails after [MaxEmptyPages] empty pages in a row, on a
// next_page_url [Client.nextPage] refuses, and on one that leads back to a
// page already read (which would hand out the same items again, without end).
func (p *pager) advance(next string, n int) error {
	if n == 0 {
		p.empty++
	} else {
		p.empty = 0
	}
	if p.empty >= MaxEmptyPages {
		return p.bad(fmt.Sprintf("%d pages in a row had no item yet a next_page_url (limit %d)", p.empty, MaxEmptyPages))
	}
	nu, err := p.c.nextPage(p.r, next)
	if err != nil {
		return p.bad("next_page_url " + err.Error())
	}
	if p.visited == nil {
		p.visited = map[string]bool{}
	}
	p.visited[p.u.String()] = true
	if p.visited[nu.String()] {
		return p.bad("next_page_url leads back to a page already read")
	}
	p.u = nu
	return nil
}

// bad is the error for the page at p.u that ifmatch cannot use, for reason.
func (p *pager) bad(reason string) error {
	return &badResponseError{Method: p.r.method, URL: p.c.scrub.scrub(redactURL(p.u)), Status: p.status,
		Reason: p.c.scrub.scrub(reason)}
}

// nextPage returns the URL of a list's next page, given the page's
// next_page_url. Only its path and query are taken, on the Client's own base
// URL: through a proxy (WithBaseURL) Twilio's absolute links name its own
// host, and credentials must never follow a link to any other. The path is
// kept exactly as escaped (a name holding "/" stays one segment, %2F), and
// must be absolute and free of "." and ".." segments, escaped or not, so it
// stays below the base URL's path. It must name the collection r lists (see
// sameCollection).
func (c *Client) nextPage(r *request, next string) (*url.URL, error) {
	nu, err := url.Parse(next)
	if err != nil {
		return nil, errors.New("does not parse as a URL")
	}
	p := nu.EscapedPath()
	if !strings.HasPrefix(p, "/") {
		return nil, errors.New("has no absolute path")
	}
	var segs []string
	for _, seg := range strings.Split(p[1:], "/") {
		s, err := url.PathUnescape(seg)
		if err != nil {
			return nil, errors.New("has a malformed escape in its path")
		}
		for _, part := range strings.Split(s, "/") {
			if part == "." || part == ".." {
				return nil, errors.New("has a dot segment: it would leave the API's path")
			}
		}
		segs = append(segs, s)
	}
	if !sameCollection(r.path, segs) {
		return nil, errors.New("names another collection than the one listed")
	}
	u := c.productURL(r.product)
	raw := u.EscapedPath() + p
	u.Path, _ = url.PathUnescape(raw)
	u.RawPath = raw
	u.RawQuery = nu.RawQuery
	return &u, nil
}

// sameCollection reports whether a next page's path segments name the
// collection at path: the same segments (SIDs in any case), but for the name
// of a Sync List or Map, which a next page may give as its SID when it was
// asked for by name.
func sameCollection(path, next []string) bool {
	if len(next) != len(path) {
		return false
	}
	for i := range path {
		if i == 4 && path[1] == "Services" && (path[3] == "Lists" || path[3] == "Maps") {
			continue
		}
		if !strings.EqualFold(path[i], next[i]) {
			return false
		}
	}
	return true
}

// CloseIdleConnections closes the idle keep-alive connections of the
// Client's transport, as [http.Client.CloseIdleConnections] does.
func (c *Client) CloseIdleConnections() { c.rc.HTTPClient.CloseIdleConnections() }
