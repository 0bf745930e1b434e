package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/ifmatchtest"
	"github.com/twilio/twilio-go"
	twclient "github.com/twilio/twilio-go/client"
	taskrouter "github.com/twilio/twilio-go/rest/taskrouter/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
)

// A strategy makes one writer: a function that increments the counter once.
type strategy struct {
	name string
	// newWriter is called once per writer (separate clients) or once for
	// all (shared), and returns the increment function.
	newWriter func(srv *ifmatchtest.Server, ws, sid string) func(ctx context.Context) error
	shared    bool
}

// primitives: one GET, one conditional POST, with no retry of any kind.
type rawTask struct {
	ws  ifmatch.Workspace
	sid string
}

func newRaw(srv *ifmatchtest.Server, ws, sid string) *rawTask {
	c := srv.Client(ifmatch.WithoutTransportRetry(), ifmatch.WithoutETagCache(), ifmatch.WithoutCoalescing(),
		ifmatch.WithHTTPClient(&http.Client{Transport: handTransport(srv)}))
	return &rawTask{ws: c.Workspace(ws), sid: sid}
}

func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return t
}

// honour429 is set when the server throttles: hand-written strategies then
// wait out a 429's Retry-After and send the request again (see retry429).
var honour429 bool

// handTransport is the transport of the hand-written strategies over
// ifmatch's primitives; it tags requests with their call (for -trace) and,
// under throttling, retries 429s. (twilio-go takes no context, so its
// requests carry no tag.)
func handTransport(srv *ifmatchtest.Server) http.RoundTripper {
	return srv.CallTransport(throttleAware())
}

// throttleAware is a new transport, wrapped in retry429 under throttling.
func throttleAware() http.RoundTripper {
	if honour429 {
		return retry429{newTransport()}
	}
	return newTransport()
}

// ifmatchTransport is ifmatch's: its own retry layer handles 429.
func ifmatchTransport(srv *ifmatchtest.Server) http.RoundTripper {
	return srv.CallTransport(newTransport())
}

// ifmatchOptions are the options of the ifmatch strategies: the library's
// default transport retry policy (3 retries, 50 ms to 5 s, Retry-After
// honoured), not the test kit's fast one, so that a throttled run is what a
// user's process would see.
func ifmatchOptions(srv *ifmatchtest.Server) []ifmatch.Option {
	return []ifmatch.Option{ifmatch.WithHTTPClient(&http.Client{Transport: ifmatchTransport(srv)}),
		ifmatch.WithTransportRetry(3, 50*time.Millisecond, 5*time.Second)}
}

// retry429 is what a careful hand-written client does when throttled: a 429
// (which the server refused unprocessed, so even a POST may be sent again)
// is sent again after the Retry-After it names (1 s without one), as long as
// the request's context lasts.
type retry429 struct{ next http.RoundTripper }

// RoundTrip sends r, and again after each 429's Retry-After.
func (t retry429) RoundTrip(r *http.Request) (*http.Response, error) {
	for {
		resp, err := t.next.RoundTrip(r)
		if err != nil || resp.StatusCode != http.StatusTooManyRequests {
			return resp, err
		}
		wait := time.Second
		if n, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && n >= 0 {
			wait = time.Duration(n) * time.Second
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if r.GetBody != nil {
			body, err := r.GetBody()
			if err != nil {
				return nil, err
			}
			r = r.Clone(r.Context())
			r.Body = body
		}
		select {
		case <-r.Context().Done():
			return nil, r.Context().Err()
		case <-time.After(wait):
		}
	}
}

// tryOnce reads, increments and writes with If-Match (or blind when etag is
// ignored): the body of every hand-written loop.
func (r *rawTask) tryOnce(ctx context.Context, blind bool) error {
	t, err := r.ws.FetchTask(ctx, r.sid)
	if err != nil {
		return err
	}
	n, _ := t.Attributes["n"].(json.Number).Int64()
	t.Attributes["n"] = n + 1
	if blind {
		_, err = r.ws.UpdateTaskLastWriteWins(ctx, r.sid, ifmatch.TaskUpdate{Attributes: t.Attributes})
		return err
	}
	_, err = r.ws.UpdateTaskIf(ctx, r.sid, t.ETag, ifmatch.TaskUpdate{Attributes: t.Attributes})
	return err
}

// decorrelated is AWS's "decorrelated jitter" (Marc Brooker, "Exponential
// Backoff And Jitter"): each wait is uniform between the base and three times
// the previous wait, capped.
func decorrelated(ctx context.Context, r *rawTask) error {
	const base, capWait = 5 * time.Millisecond, time.Second
	wait := base
	for i := 0; ; i++ {
		err := r.tryOnce(ctx, false)
		if err == nil || !is412(err) || i >= 50 {
			return err
		}
		wait = min(capWait, base+rand.N(3*wait-base+1))
		time.Sleep(wait)
	}
}

func is412(err error) bool { return errors.Is(err, ifmatch.ErrPreconditionFailed) }

// strategies are the ways of incrementing the counter the benchmark
// compares, in the table's order: one flat list, each writer named below.
func strategies() []strategy {
	return []strategy{
		{name: "naive (no If-Match)", newWriter: rawWriter(naive)},
		{name: "client-go DefaultRetry", newWriter: clientGo(retry.DefaultRetry)},
		{name: "client-go DefaultBackoff", newWriter: clientGo(retry.DefaultBackoff)},
		{name: "backoff/v4 defaults", newWriter: rawWriter(backoffV4)},
		{name: "full jitter (5ms, cap 1s)", newWriter: rawWriter(fullJitter)},
		{name: "decorrelated jitter (5ms, cap 1s)", newWriter: rawWriter(decorrelated)},
		{name: "no backoff", newWriter: rawWriter(noBackoff)},
		{name: "twilio-go hand loop", newWriter: twilioGoLoop},
		{name: "ifmatch, separate clients", newWriter: ifmatchWriter()},
		{name: "ifmatch, separate clients, Fair", newWriter: ifmatchWriter(ifmatch.Fair())},
		{name: "ifmatch, shared client", shared: true, newWriter: ifmatchWriter()},
	}
}

// rawWriter makes writers that each increment with loop over a rawTask of
// their own.
func rawWriter(loop func(context.Context, *rawTask) error) func(*ifmatchtest.Server, string, string) func(context.Context) error {
	return func(srv *ifmatchtest.Server, ws, sid string) func(context.Context) error {
		r := newRaw(srv, ws, sid)
		return func(ctx context.Context) error { return loop(ctx, r) }
	}
}

// ifmatchWriter makes writers that each increment with UpdateTask and opts
// on a Client of their own.
func ifmatchWriter(opts ...ifmatch.UpdateOption) func(*ifmatchtest.Server, string, string) func(context.Context) error {
	return func(srv *ifmatchtest.Server, ws, sid string) func(context.Context) error {
		w := srv.Client(ifmatchOptions(srv)...).Workspace(ws)
		return func(ctx context.Context) error {
			_, err := w.UpdateTask(ctx, sid, increment, opts...)
			return err
		}
	}
}

// naive reads and writes blind, once: last write wins.
func naive(ctx context.Context, r *rawTask) error { return r.tryOnce(ctx, true) }

// backoffV4 retries on 412 with github.com/cenkalti/backoff/v4's defaults.
func backoffV4(ctx context.Context, r *rawTask) error {
	return backoff.Retry(func() error {
		err := r.tryOnce(ctx, false)
		if err != nil && !is412(err) {
			return backoff.Permanent(err)
		}
		return err
	}, backoff.WithContext(backoff.NewExponentialBackOff(), ctx))
}

// fullJitter retries on 412 after a wait uniform below an exponential bound
// (5 ms doubling, capped at 1 s), up to 50 times.
func fullJitter(ctx context.Context, r *rawTask) error {
	for i := 0; ; i++ {
		err := r.tryOnce(ctx, false)
		if err == nil || !is412(err) || i >= 50 {
			return err
		}
		bound := min(5*time.Millisecond<<min(i, 20), time.Second)
		time.Sleep(rand.N(bound))
	}
}

// noBackoff retries on 412 at once, up to 1000 times.
func noBackoff(ctx context.Context, r *rawTask) error {
	for i := 0; ; i++ {
		err := r.tryOnce(ctx, false)
		if err == nil || !is412(err) || i >= 1000 {
			return err
		}
	}
}

func increment(t *ifmatch.Task) error {
	n, err := t.Attributes["n"].(json.Number).Int64()
	t.Attributes["n"] = n + 1
	return err
}

// clientGo retries on 412 with k8s.io/client-go/util/retry.OnError (its
// RetryOnConflict only knows Kubernetes' 409).
func clientGo(b wait.Backoff) func(*ifmatchtest.Server, string, string) func(context.Context) error {
	return rawWriter(func(ctx context.Context, r *rawTask) error {
		return retry.OnError(b, is412, func() error { return r.tryOnce(ctx, false) })
	})
}

// hostRewriter sends twilio-go's requests to the fake server.
type hostRewriter struct {
	base *url.URL
	rt   http.RoundTripper
}

// RoundTrip sends a copy of r to the fake server's host.
func (h hostRewriter) RoundTrip(r *http.Request) (*http.Response, error) {
	r2 := r.Clone(r.Context())
	r2.URL.Scheme, r2.URL.Host = h.base.Scheme, h.base.Host
	r2.Host = h.base.Host
	return h.rt.RoundTrip(r2)
}

// twilioGoLoop is the loop a user writes by hand over twilio-go v1.31:
// FetchTaskWithMetadata for the ETag, UpdateTaskWithMetadata with IfMatch,
// and on a 412 try again at once.
func twilioGoLoop(srv *ifmatchtest.Server, ws, sid string) func(context.Context) error {
	base, _ := url.Parse(srv.URL)
	c := &twclient.Client{Credentials: twclient.NewCredentials(ifmatchtest.AccountSID, ifmatchtest.AuthToken),
		HTTPClient: &http.Client{Transport: hostRewriter{base: base, rt: throttleAware()}}}
	c.SetAccountSid(ifmatchtest.AccountSID)
	rc := twilio.NewRestClientWithParams(twilio.ClientParams{Client: c})
	return func(ctx context.Context) error {
		for i := 0; ; i++ {
			err := twilioGoOnce(rc.TaskrouterV1, ws, sid)
			var te *twclient.TwilioRestError
			if err == nil || !errors.As(err, &te) || te.Status != http.StatusPreconditionFailed || i >= 1000 {
				return err
			}
		}
	}
}

func twilioGoOnce(api *taskrouter.ApiService, ws, sid string) error {
	got, err := api.FetchTaskWithMetadata(ws, sid)
	if err != nil {
		return err
	}
	task := got.GetResource()
	var attrs map[string]any
	if task.Attributes != nil {
		if err := json.Unmarshal([]byte(*task.Attributes), &attrs); err != nil {
			return err
		}
	}
	n, _ := attrs["n"].(float64)
	attrs["n"] = n + 1
	b, _ := json.Marshal(attrs)
	params := &taskrouter.UpdateTaskParams{}
	params.SetIfMatch(got.GetHeader("ETag")).SetAttributes(string(b))
	_, err = api.UpdateTaskWithMetadata(ws, sid, params)
	return err
}
