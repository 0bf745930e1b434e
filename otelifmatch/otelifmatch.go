// Package otelifmatch reports what ifmatch's update loops do as
// OpenTelemetry traces and metrics. It is a module of its own, so that users
// of ifmatch who do not use OpenTelemetry never download it.
//
// Turn it on with an [Observer] given to [ifmatch.WithObserver], and an HTTP
// client whose transport records the requests (otelhttp):
//
//	obs := otelifmatch.New() // the global TracerProvider and MeterProvider; see WithTracerProvider
//	client, err := ifmatch.NewClient(accountSID, authToken,
//		ifmatch.WithObserver(obs), ifmatch.WithHTTPClient(obs.HTTPClient(nil)))
//
// # Traces
//
// Every update call (UpdateTask, UpdateWorker, UpdateTaskReservation,
// UpdateWorkerReservation, UpdateDocument, UpdateListItem, UpdateMapItem and
// the typed helpers built on them) is a span named "ifmatch." + the method,
// a child of the span in the caller's context. Its attributes:
// ifmatch.resource.kind, the SIDs in the resource's path
// (twilio.workspace.sid, twilio.task.sid, twilio.worker.sid,
// twilio.reservation.sid, twilio.sync.service.sid, twilio.sync.document.sid,
// twilio.sync.list.sid, twilio.sync.map.sid: SIDs are identifiers, not
// secrets; a Sync unique name, list index or map key is never recorded), and
// at its end ifmatch.outcome (updated, unchanged, conflict, unknown, error)
// and ifmatch.attempts. A conflict, unknown or error outcome sets the span's
// status to Error and an error.type attribute (outcome_unknown, conflict,
// mutator_aborted, canceled, deadline_exceeded, invalid_argument, no_etag,
// bad_response, the HTTP status of an API error, or transport); the status
// description is "ifmatch: " + error.type, followed, when an answer came,
// by its HTTP status and Twilio error code: "ifmatch: 404 (HTTP 404, Twilio
// error 20404)". Never the error's message, which quotes the request URL.
//
// Its events, in order: ifmatch.queued (time queued for a coalesced round,
// its callers, whether this call leads it), ifmatch.attempt (each conditional
// write: its number, HTTP status, the If-Match sent),
// ifmatch.backoff (each wait), ifmatch.read_back (each read after a 412 or a
// lost answer) and ifmatch.transport_retry (a request retried by the
// transport). The HTTP spans of the call's requests, from the client that
// [Observer.HTTPClient] returns, are its children. A coalesced round's
// requests and events belong to the span of the round's lead caller; the
// spans of the other callers of the round link to it.
//
// The HTTP spans are otelhttp's ("HTTP GET", "HTTP POST"): the method,
// server.address and port, network.protocol.version, url.full,
// http.response.status_code and
// error.type. otelhttp is given a redacted copy of each request (see
// [Observer.Transport]): url.full is the scheme, host and path without user
// info, query or fragment, the path keeping only resource names ("Maps",
// "Items"…), the version and SIDs, every other segment replaced by a
// placeholder: ".../v1/Services/IS…/Maps/{name}/Items/{key}",
// ".../Documents/{name}", ".../Lists/{name}/Items/{index}". A try that got
// no answer has the status description "transport error: " + its class
// (canceled, deadline_exceeded, dns, tls, timeout, connection_closed, dial,
// connection, other) and error.type "*otelifmatch.transportError".
//
// So no span or metric holds a Sync unique name, list index, map key or
// permission identity (user data, perhaps personal), a query string, a
// value, or a credential: ifmatch hands an observer no credential and no
// value, spans and events carry only the bounded attributes above (an
// error's classification, never its text), and otelhttp records no
// Authorization header. What is recorded: SIDs, the resource kind, ETags
// (ifmatch.if_match), HTTP methods and statuses, Twilio error codes,
// counts and durations. An otelhttp option passed to [Observer.HTTPClient]
// (a span name formatter, a filter, WithMetricAttributesFn) sees the
// redacted request too; one that records something else (WithClientTrace,
// your own attributes) is yours to check.
//
// # Metrics
//
// All with bounded attributes (the resource kind, the outcome, an HTTP
// method and status; never a SID, an ETag or a value):
//
//	ifmatch.updates              counter   {update}  ifmatch.resource.kind, ifmatch.outcome
//	ifmatch.update.duration      histogram s         ifmatch.resource.kind, ifmatch.outcome
//	ifmatch.update.attempts      histogram {attempt} ifmatch.resource.kind, ifmatch.outcome: conditional writes per call
//	ifmatch.conflicts            counter   {conflict} ifmatch.resource.kind: 412 answers to conditional writes
//	ifmatch.outcome.unknown      counter   {update}  ifmatch.resource.kind: calls that ended in ErrOutcomeUnknown
//	ifmatch.read_backs           counter   {read}    ifmatch.resource.kind
//	ifmatch.backoff.wait         histogram s         ifmatch.resource.kind: each conflict backoff
//	ifmatch.queue.wait           histogram s         ifmatch.resource.kind: each caller's time queued for a round
//	ifmatch.coalesced.callers    histogram {caller}  ifmatch.resource.kind: callers per coalesced round (one write)
//	ifmatch.transport.retries    counter   {retry}   http.request.method, http.response.status_code or error.type
//
// and, from otelhttp, the semantic conventions' http.client.request.duration
// per try: its count by http.response.status_code=429 is every throttled
// request, retried or not (the retried ones are also in
// ifmatch.transport.retries).
package otelifmatch

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/ifmatch-go/ifmatch"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the tracer and meter.
const ScopeName = "github.com/ifmatch-go/ifmatch/otelifmatch"

// Attribute keys of the spans and metrics.
const (
	KindKey     = attribute.Key("ifmatch.resource.kind")
	OutcomeKey  = attribute.Key("ifmatch.outcome")
	AttemptsKey = attribute.Key("ifmatch.attempts")
)

// Option configures [New].
type Option func(*config)

type config struct {
	tp trace.TracerProvider
	mp metric.MeterProvider
}

// WithTracerProvider sets the TracerProvider (default: otel's global one).
func WithTracerProvider(tp trace.TracerProvider) Option { return func(c *config) { c.tp = tp } }

// WithMeterProvider sets the MeterProvider (default: otel's global one).
func WithMeterProvider(mp metric.MeterProvider) Option { return func(c *config) { c.mp = mp } }

// Observer is an [ifmatch.Observer] that records spans and metrics. It is
// safe for concurrent use; one may serve any number of Clients.
type Observer struct {
	cfg    config
	tracer trace.Tracer

	updates   metric.Int64Counter
	duration  metric.Float64Histogram
	attempts  metric.Int64Histogram
	conflicts metric.Int64Counter
	unknown   metric.Int64Counter
	readBacks metric.Int64Counter
	backoff   metric.Float64Histogram
	queueWait metric.Float64Histogram
	callers   metric.Int64Histogram
	retries   metric.Int64Counter
}

var _ ifmatch.Observer = (*Observer)(nil)

// New returns an Observer for [ifmatch.WithObserver]. An instrument that
// cannot be created is reported to otel.Handle and replaced by a no-op.
func New(opts ...Option) *Observer {
	o := &Observer{}
	for _, opt := range opts {
		if opt != nil {
			opt(&o.cfg)
		}
	}
	if o.cfg.tp == nil {
		o.cfg.tp = otel.GetTracerProvider()
	}
	if o.cfg.mp == nil {
		o.cfg.mp = otel.GetMeterProvider()
	}
	o.tracer = o.cfg.tp.Tracer(ScopeName)
	b := &instruments{m: o.cfg.mp.Meter(ScopeName)}
	o.updates = b.counter("ifmatch.updates", "{update}", "Update calls, by resource kind and outcome.")
	o.duration = b.seconds("ifmatch.update.duration",
		"Duration of update calls, queueing, backoff and read-backs included.")
	o.attempts = b.histogram("ifmatch.update.attempts", "{attempt}",
		"Conditional writes per update call (0: nothing to change).", 0, 1, 2, 3, 4, 5, 6, 8, 10, 15, 20)
	o.conflicts = b.counter("ifmatch.conflicts", "{conflict}", "412 Precondition Failed answers to conditional writes.")
	o.unknown = b.counter("ifmatch.outcome.unknown", "{update}",
		"Update calls that ended in ErrOutcomeUnknown: a write may or may not have landed.")
	o.readBacks = b.counter("ifmatch.read_backs", "{read}", "Reads after a 412 or a write whose answer was lost.")
	o.backoff = b.seconds("ifmatch.backoff.wait", "Conflict backoff waits of the update loops.")
	o.queueWait = b.seconds("ifmatch.queue.wait", "Time each caller waited for its coalesced round to start.")
	o.callers = b.histogram("ifmatch.coalesced.callers", "{caller}",
		"Callers per coalesced round: how many update calls share one write.", 1, 2, 4, 8, 16, 32, 64, 128)
	o.retries = b.counter("ifmatch.transport.retries", "{retry}",
		"Requests retried by the transport, by the failed try's status (429, 5xx) or error.")
	if len(b.errs) > 0 {
		otel.Handle(errors.Join(b.errs...))
	}
	return o
}

// instruments creates the Observer's instruments on m, keeping the errors
// of those it could not create.
type instruments struct {
	m    metric.Meter
	errs []error
}

// secondBuckets are the bucket boundaries of the histograms in seconds.
var secondBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// counter creates an Int64Counter.
func (b *instruments) counter(name, unit, desc string) metric.Int64Counter {
	c, err := b.m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
	b.keep(err)
	return c
}

// histogram creates an Int64Histogram with the bucket boundaries bounds.
func (b *instruments) histogram(name, unit, desc string, bounds ...float64) metric.Int64Histogram {
	h, err := b.m.Int64Histogram(name, metric.WithUnit(unit), metric.WithDescription(desc),
		metric.WithExplicitBucketBoundaries(bounds...))
	b.keep(err)
	return h
}

// seconds creates a Float64Histogram of durations in seconds.
func (b *instruments) seconds(name, desc string) metric.Float64Histogram {
	h, err := b.m.Float64Histogram(name, metric.WithUnit("s"), metric.WithDescription(desc),
		metric.WithExplicitBucketBoundaries(secondBuckets...))
	b.keep(err)
	return h
}

// keep records err, if any.
func (b *instruments) keep(err error) {
	if err != nil {
		b.errs = append(b.errs, err)
	}
}

// HTTPClient returns a copy of base (nil: a new http.Client) whose transport
// (nil: http.DefaultTransport) is wrapped by [Observer.Transport], for
// [ifmatch.WithHTTPClient]: every try of every request is an HTTP client
// span, a child of the update call's span, and is counted in
// http.client.request.duration. opts go to otelhttp.NewTransport after the
// providers.
func (o *Observer) HTTPClient(base *http.Client, opts ...otelhttp.Option) *http.Client {
	hc := &http.Client{}
	if base != nil {
		cp := *base
		hc = &cp
	}
	hc.Transport = o.Transport(hc.Transport, opts...)
	return hc
}

// Transport wraps rt (nil: http.DefaultTransport) with otelhttp and the
// Observer's providers, so that otelhttp never sees what a user chose in
// the path nor a transport error's text: it is given a copy of each request
// whose URL keeps the scheme, host, resource names, versions and SIDs and
// has every other path segment replaced by a placeholder ("{name}", "{key}",
// "{index}", "{identity}"), without user info, query or fragment (so
// url.full and whatever a span name formatter or filter in opts reads are
// redacted), and, for a try that fails without an answer, an error whose
// text is only its class ("transport error: timeout"). rt gets the request
// as sent, and the caller the response and error as rt returns them.
func (o *Observer) Transport(rt http.RoundTripper, opts ...otelhttp.Option) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	all := append([]otelhttp.Option{otelhttp.WithTracerProvider(o.cfg.tp), otelhttp.WithMeterProvider(o.cfg.mp)}, opts...)
	return &redactedTransport{next: otelhttp.NewTransport(&restoreTransport{base: rt}, all...)}
}

// StartUpdate starts the call's span.
func (o *Observer) StartUpdate(ctx context.Context, call ifmatch.UpdateCall) context.Context {
	attrs := append(make([]attribute.KeyValue, 0, 4), KindKey.String(call.Kind))
	attrs = appendSIDs(attrs, call.Path)
	ctx, _ = o.tracer.Start(ctx, "ifmatch."+call.Op, trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(attrs...))
	return ctx
}

// UpdateEvent records a step of the call on its span and in the metrics.
func (o *Observer) UpdateEvent(ctx context.Context, call ifmatch.UpdateCall, e ifmatch.UpdateEvent) {
	span := trace.SpanFromContext(ctx)
	kind := metric.WithAttributeSet(attribute.NewSet(KindKey.String(call.Kind)))
	switch e.Kind {
	case ifmatch.EventAttempt:
		if e.Status == http.StatusPreconditionFailed {
			o.conflicts.Add(ctx, 1, kind)
		}
		if span.IsRecording() {
			attrs := []attribute.KeyValue{attribute.Int("ifmatch.attempt", e.Attempt), attribute.String("ifmatch.if_match", e.ETag)}
			attrs = appendStatus(attrs, e.Status, e.Err)
			span.AddEvent("ifmatch.attempt", trace.WithAttributes(attrs...))
		}
	case ifmatch.EventReadBack:
		o.readBacks.Add(ctx, 1, kind)
		if span.IsRecording() {
			span.AddEvent("ifmatch.read_back", trace.WithAttributes(
				appendStatus([]attribute.KeyValue{attribute.Int("ifmatch.try", e.Try)}, e.Status, e.Err)...))
		}
	case ifmatch.EventBackoff:
		o.backoff.Record(ctx, e.Wait.Seconds(), kind)
		span.AddEvent("ifmatch.backoff", trace.WithAttributes(attribute.Float64("ifmatch.wait", e.Wait.Seconds())))
	case ifmatch.EventQueued:
		o.queueWait.Record(ctx, e.Wait.Seconds(), kind)
		if e.Lead {
			o.callers.Record(ctx, int64(e.Callers), kind)
		} else if e.Round != nil {
			span.AddLink(trace.LinkFromContext(e.Round, attribute.String("ifmatch.link", "coalesced_round")))
		}
		span.AddEvent("ifmatch.queued", trace.WithAttributes(attribute.Float64("ifmatch.wait", e.Wait.Seconds()),
			attribute.Int("ifmatch.round.callers", e.Callers), attribute.Bool("ifmatch.round.lead", e.Lead)))
	}
}

// EndUpdate ends the call's span and records its outcome.
func (o *Observer) EndUpdate(ctx context.Context, call ifmatch.UpdateCall, end ifmatch.UpdateEnd) {
	set := metric.WithAttributeSet(attribute.NewSet(KindKey.String(call.Kind), OutcomeKey.String(string(end.Outcome))))
	o.updates.Add(ctx, 1, set)
	o.duration.Record(ctx, end.Elapsed.Seconds(), set)
	o.attempts.Record(ctx, int64(end.Attempts), set)
	if end.Outcome == ifmatch.OutcomeUnknown {
		o.unknown.Add(ctx, 1, metric.WithAttributeSet(attribute.NewSet(KindKey.String(call.Kind))))
	}
	span := trace.SpanFromContext(ctx)
	span.SetAttributes(OutcomeKey.String(string(end.Outcome)), AttemptsKey.Int(end.Attempts))
	if end.Err != nil {
		span.SetAttributes(attribute.String("error.type", errorType(end.Err)))
		span.SetStatus(codes.Error, statusDescription(end.Err))
	}
	span.End()
}

// TransportRetry records a transport retry on the span in ctx (the update
// call's, when the request is one of its) and in the metrics.
func (o *Observer) TransportRetry(ctx context.Context, r ifmatch.RetryInfo) {
	attrs := appendStatus([]attribute.KeyValue{attribute.String("http.request.method", r.Method)}, r.Status, r.Err)
	o.retries.Add(ctx, 1, metric.WithAttributes(attrs...))
	trace.SpanFromContext(ctx).AddEvent("ifmatch.transport_retry",
		trace.WithAttributes(append(attrs, attribute.Int("ifmatch.try", r.Try))...))
}

// appendStatus adds the HTTP status, or an error.type when no answer came.
func appendStatus(attrs []attribute.KeyValue, status int, err error) []attribute.KeyValue {
	if status != 0 {
		return append(attrs, attribute.Int("http.response.status_code", status))
	}
	if err != nil {
		return append(attrs, attribute.String("error.type", errorType(err)))
	}
	return attrs
}

// statusDescription is the span status description of a call's error: its
// error.type and, when the error carries an answer, the HTTP status and
// Twilio's error code. Never err.Error(): an ifmatch error quotes the
// request URL, whose path may hold a Sync unique name or map key.
func statusDescription(err error) string {
	d := "ifmatch: " + errorType(err)
	var ae *ifmatch.APIError
	if errors.As(err, &ae) {
		d += " (HTTP " + strconv.Itoa(ae.Status)
		if ae.Code != 0 {
			d += ", Twilio error " + strconv.Itoa(ae.Code)
		}
		d += ")"
	}
	return d
}

// errorType classifies an error into a bounded set, for error.type.
func errorType(err error) string {
	var ae *ifmatch.APIError
	switch {
	case errors.Is(err, ifmatch.ErrOutcomeUnknown):
		return "outcome_unknown"
	case errors.Is(err, ifmatch.ErrConflict):
		return "conflict"
	case errors.Is(err, ifmatch.ErrMutatorAborted):
		return "mutator_aborted"
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline_exceeded"
	case errors.Is(err, ifmatch.ErrInvalidArgument):
		return "invalid_argument"
	case errors.Is(err, ifmatch.ErrNoETag):
		return "no_etag"
	case errors.Is(err, ifmatch.ErrBadResponse):
		return "bad_response"
	case errors.As(err, &ae):
		return strconv.Itoa(ae.Status)
	}
	return "transport"
}

// sidAttrs names the SID that follows each collection in a resource path.
var sidAttrs = map[string]attribute.Key{
	"Workspaces":   "twilio.workspace.sid",
	"Tasks":        "twilio.task.sid",
	"Workers":      "twilio.worker.sid",
	"Reservations": "twilio.reservation.sid",
	"Services":     "twilio.sync.service.sid",
	"Documents":    "twilio.sync.document.sid",
	"Lists":        "twilio.sync.list.sid",
	"Maps":         "twilio.sync.map.sid",
}

// appendSIDs adds the SIDs of path ("/v1/Workspaces/WS…/Tasks/WT…"): only
// values shaped like a SID (two capital letters and 32 hex digits) after a
// known collection, so a Sync unique name or map key is never recorded.
func appendSIDs(attrs []attribute.KeyValue, path string) []attribute.KeyValue {
	var prev string
	for len(path) > 0 {
		if path[0] == '/' {
			path = path[1:]
		}
		seg := path
		if i := strings.IndexByte(path, '/'); i >= 0 {
			seg, path = path[:i], path[i:]
		} else {
			path = ""
		}
		if key, ok := sidAttrs[prev]; ok && isSID(seg) {
			attrs = append(attrs, key.String(seg))
		}
		prev = seg
	}
	return attrs
}

func isSID(s string) bool {
	if len(s) != 34 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z' {
		return false
	}
	for i := 2; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
