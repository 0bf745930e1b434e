package otelifmatch_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/ifmatchtest"
	"github.com/ifmatch-go/ifmatch/otelifmatch"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// env is a fake Twilio on loopback and a Client observed with in-memory
// trace and metric exporters.
type env struct {
	srv    *ifmatchtest.Server
	spans  *tracetest.InMemoryExporter
	reader *sdkmetric.ManualReader
	tp     *sdktrace.TracerProvider
	obs    *otelifmatch.Observer
	client *ifmatch.Client
	ws     string
	task   string
}

func newEnv(t *testing.T, srvOpts ...ifmatchtest.Option) *env {
	e := &env{srv: ifmatchtest.NewServer(srvOpts...), spans: tracetest.NewInMemoryExporter(), reader: sdkmetric.NewManualReader()}
	t.Cleanup(e.srv.Close)
	e.tp = sdktrace.NewTracerProvider(sdktrace.WithSyncer(e.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(e.reader))
	e.obs = otelifmatch.New(otelifmatch.WithTracerProvider(e.tp), otelifmatch.WithMeterProvider(mp))
	e.client = e.srv.Client(ifmatch.WithObserver(e.obs),
		ifmatch.WithHTTPClient(e.obs.HTTPClient(&http.Client{Transport: e.srv.CallTransport(nil)})))
	e.ws = e.srv.AddWorkspace()
	e.task = e.srv.AddTask(e.ws, map[string]any{"n": 0})
	return e
}

// renderSpans renders the finished spans, one line each in the order they
// ended: name, parent, attributes (an HTTP span's method and status only),
// events, links and status. Times and waits are left out; the SIDs read as WS and WT.
func (e *env) renderSpans(t *testing.T) []string {
	stubs := e.spans.GetSpans()
	names := map[trace.SpanID]string{}
	for _, s := range stubs {
		names[s.SpanContext.SpanID()] = s.Name
	}
	var out []string
	for _, s := range stubs {
		var b strings.Builder
		parent := "root"
		if s.Parent.IsValid() {
			parent = names[s.Parent.SpanID()]
		}
		fmt.Fprintf(&b, "%s <- %s", s.Name, parent)
		http := s.InstrumentationScope.Name != otelifmatch.ScopeName && s.Name != "webhook"
		b.WriteString(" " + e.attrs(s.Attributes, http))
		for _, ev := range s.Events {
			b.WriteString(" | " + ev.Name + e.attrs(ev.Attributes, false))
		}
		for _, l := range s.Links {
			fmt.Fprintf(&b, " | link %s%s", names[l.SpanContext.SpanID()], e.attrs(l.Attributes, false))
		}
		if s.Status.Code.String() != "Unset" {
			b.WriteString(" | status " + s.Status.Code.String())
			if s.Status.Description != "" {
				b.WriteString(": " + s.Status.Description)
			}
		}
		out = append(out, b.String())
		checkNoSecret(t, b.String()+s.Status.Description)
	}
	return out
}

func (e *env) attrs(kvs []attribute.KeyValue, httpOnly bool) string {
	var parts []string
	for _, kv := range kvs {
		k, v := string(kv.Key), kv.Value.Emit()
		switch {
		case httpOnly && k != "http.request.method" && k != "http.response.status_code":
			continue
		case k == "ifmatch.wait":
			v = "t" // a duration; the root package's tests check the waits
		}
		v = strings.ReplaceAll(strings.ReplaceAll(v, e.ws, "WS"), e.task, "WT")
		parts = append(parts, k+"="+v)
	}
	sort.Strings(parts)
	return "{" + strings.Join(parts, " ") + "}"
}

// renderMetrics renders ifmatch's data points and otelhttp's request
// durations (method, status and count): counters with their value,
// histograms of counts with count and sum, of seconds with count only.
func (e *env) renderMetrics(t *testing.T) []string {
	var rm metricdata.ResourceMetrics
	if err := e.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sm.Scope.Name != otelifmatch.ScopeName && m.Name != "http.client.request.duration" {
				continue
			}
			httpOnly := sm.Scope.Name != otelifmatch.ScopeName
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					out = append(out, fmt.Sprintf("%s%s = %d", m.Name, e.attrs(p.Attributes.ToSlice(), httpOnly), p.Value))
				}
			case metricdata.Histogram[int64]:
				for _, p := range d.DataPoints {
					out = append(out, fmt.Sprintf("%s%s count=%d sum=%d", m.Name, e.attrs(p.Attributes.ToSlice(), httpOnly), p.Count, p.Sum))
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					out = append(out, fmt.Sprintf("%s%s count=%d", m.Name, e.attrs(p.Attributes.ToSlice(), httpOnly), p.Count))
				}
			default:
				t.Fatalf("%s: unexpected data %T", m.Name, m.Data)
			}
		}
	}
	sort.Strings(out)
	return out
}

func checkNoSecret(t *testing.T, s string) {
	t.Helper()
	if strings.Contains(s, ifmatchtest.AuthToken) || strings.Contains(s, "Basic ") {
		t.Fatalf("a credential in telemetry: %s", s)
	}
}

func diff(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got:\n\t%s\nwant:\n\t%s", what, strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

const (
	taskAttrs = "ifmatch.resource.kind=Task twilio.task.sid=WT twilio.workspace.sid=WS"
	queued1   = " | ifmatch.queued{ifmatch.round.callers=1 ifmatch.round.lead=true ifmatch.wait=t}"
)

// A clean update inside the caller's span: the update span is its child,
// the HTTP spans are the update span's.
func TestCleanUpdate(t *testing.T) {
	e := newEnv(t)
	ctx, parent := e.tp.Tracer("test").Start(context.Background(), "webhook")
	if _, err := e.client.Workspace(e.ws).UpdateTask(ctx, e.task, func(tk *ifmatch.Task) error {
		tk.Attributes["n"] = 1
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	parent.End()
	diff(t, "spans", e.renderSpans(t), []string{
		"HTTP GET <- ifmatch.UpdateTask {http.request.method=GET http.response.status_code=200}",
		"HTTP POST <- ifmatch.UpdateTask {http.request.method=POST http.response.status_code=200}",
		"ifmatch.UpdateTask <- webhook {ifmatch.attempts=1 ifmatch.outcome=updated " + taskAttrs + "}" + queued1 +
			` | ifmatch.attempt{http.response.status_code=200 ifmatch.attempt=1 ifmatch.if_match="0"}`,
		"webhook <- root {}",
	})
	diff(t, "metrics", e.renderMetrics(t), []string{
		"http.client.request.duration{http.request.method=GET http.response.status_code=200} count=1",
		"http.client.request.duration{http.request.method=POST http.response.status_code=200} count=1",
		"ifmatch.coalesced.callers{ifmatch.resource.kind=Task} count=1 sum=1",
		"ifmatch.queue.wait{ifmatch.resource.kind=Task} count=1",
		"ifmatch.update.attempts{ifmatch.outcome=updated ifmatch.resource.kind=Task} count=1 sum=1",
		"ifmatch.update.duration{ifmatch.outcome=updated ifmatch.resource.kind=Task} count=1",
		"ifmatch.updates{ifmatch.outcome=updated ifmatch.resource.kind=Task} = 1",
	})
}

// A 412, a backoff, a re-read (throttled once: a transport retry), then
// success.
func TestConflictThenSuccess(t *testing.T) {
	e := newEnv(t)
	first := true
	if _, err := e.client.Workspace(e.ws).UpdateTask(context.Background(), e.task, func(tk *ifmatch.Task) error {
		if first {
			first = false
			e.srv.SetTaskAttributes(e.ws, e.task, map[string]any{"n": 10}) // another writer gets in
			e.srv.Inject(ifmatchtest.Fault{Kind: ifmatchtest.RateLimit, Method: "GET", Count: 1})
		}
		tk.Attributes["mine"] = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	diff(t, "spans", e.renderSpans(t), []string{
		"HTTP GET <- ifmatch.UpdateTask {http.request.method=GET http.response.status_code=200}",
		"HTTP POST <- ifmatch.UpdateTask {http.request.method=POST http.response.status_code=412} | status Error",
		"HTTP GET <- ifmatch.UpdateTask {http.request.method=GET http.response.status_code=429} | status Error",
		"HTTP GET <- ifmatch.UpdateTask {http.request.method=GET http.response.status_code=200}",
		"HTTP POST <- ifmatch.UpdateTask {http.request.method=POST http.response.status_code=200}",
		"ifmatch.UpdateTask <- root {ifmatch.attempts=2 ifmatch.outcome=updated " + taskAttrs + "}" + queued1 +
			` | ifmatch.attempt{http.response.status_code=412 ifmatch.attempt=1 ifmatch.if_match="0"}` +
			" | ifmatch.backoff{ifmatch.wait=t}" +
			" | ifmatch.transport_retry{http.request.method=GET http.response.status_code=429 ifmatch.try=1}" +
			" | ifmatch.read_back{http.response.status_code=200 ifmatch.try=1}" +
			` | ifmatch.attempt{http.response.status_code=200 ifmatch.attempt=2 ifmatch.if_match="1"}`,
	})
	diff(t, "metrics", e.renderMetrics(t), []string{
		"http.client.request.duration{http.request.method=GET http.response.status_code=200} count=2",
		"http.client.request.duration{http.request.method=GET http.response.status_code=429} count=1",
		"http.client.request.duration{http.request.method=POST http.response.status_code=200} count=1",
		"http.client.request.duration{http.request.method=POST http.response.status_code=412} count=1",
		"ifmatch.backoff.wait{ifmatch.resource.kind=Task} count=1",
		"ifmatch.coalesced.callers{ifmatch.resource.kind=Task} count=1 sum=1",
		"ifmatch.conflicts{ifmatch.resource.kind=Task} = 1",
		"ifmatch.queue.wait{ifmatch.resource.kind=Task} count=1",
		"ifmatch.read_backs{ifmatch.resource.kind=Task} = 1",
		"ifmatch.transport.retries{http.request.method=GET http.response.status_code=429} = 1",
		"ifmatch.update.attempts{ifmatch.outcome=updated ifmatch.resource.kind=Task} count=1 sum=2",
		"ifmatch.update.duration{ifmatch.outcome=updated ifmatch.resource.kind=Task} count=1",
		"ifmatch.updates{ifmatch.outcome=updated ifmatch.resource.kind=Task} = 1",
	})
}

// A write whose answer is lost after it committed, with a non-idempotent
// mutator and no commit markers: the read-back shows the Task moved, and the
// call ends in ErrOutcomeUnknown.
func TestUnknownOutcome(t *testing.T) {
	e := newEnv(t)
	e.srv.Inject(ifmatchtest.Fault{Kind: ifmatchtest.DropAfterCommit, Method: "POST", Count: 1})
	_, err := e.client.Workspace(e.ws).UpdateTask(context.Background(), e.task, func(tk *ifmatch.Task) error {
		tk.Attributes["n"] = 1 // stands for an increment: not Idempotent
		return nil
	})
	if !errors.Is(err, ifmatch.ErrOutcomeUnknown) {
		t.Fatalf("got %v, want ErrOutcomeUnknown", err)
	}
	diff(t, "spans", e.renderSpans(t), []string{
		"HTTP GET <- ifmatch.UpdateTask {http.request.method=GET http.response.status_code=200}",
		"HTTP POST <- ifmatch.UpdateTask {http.request.method=POST} | status Error: transport error: connection_closed",
		"HTTP GET <- ifmatch.UpdateTask {http.request.method=GET http.response.status_code=200}",
		"ifmatch.UpdateTask <- root {error.type=outcome_unknown ifmatch.attempts=1 ifmatch.outcome=unknown " + taskAttrs + "}" + queued1 +
			` | ifmatch.attempt{error.type=transport ifmatch.attempt=1 ifmatch.if_match="0"}` +
			" | ifmatch.read_back{http.response.status_code=200 ifmatch.try=1}" +
			" | status Error: ifmatch: outcome_unknown",
	})
	diff(t, "metrics", e.renderMetrics(t), []string{
		"http.client.request.duration{http.request.method=GET http.response.status_code=200} count=2",
		"http.client.request.duration{http.request.method=POST} count=1",
		"ifmatch.coalesced.callers{ifmatch.resource.kind=Task} count=1 sum=1",
		"ifmatch.outcome.unknown{ifmatch.resource.kind=Task} = 1",
		"ifmatch.queue.wait{ifmatch.resource.kind=Task} count=1",
		"ifmatch.read_backs{ifmatch.resource.kind=Task} = 1",
		"ifmatch.update.attempts{ifmatch.outcome=unknown ifmatch.resource.kind=Task} count=1 sum=1",
		"ifmatch.update.duration{ifmatch.outcome=unknown ifmatch.resource.kind=Task} count=1",
		"ifmatch.updates{ifmatch.outcome=unknown ifmatch.resource.kind=Task} = 1",
	})
}

// Four callers through one Client: the first runs a round alone; the three
// that arrive while its write is in flight share the next round, whose
// single write (no GET: the ETag cache) sits under its lead caller's span;
// the other two callers' spans link to it.
func TestCoalescedRound(t *testing.T) {
	e := newEnv(t, ifmatchtest.WithLatency(50*time.Millisecond))
	ws := e.client.Workspace(e.ws)
	ctx := context.Background()
	started := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var once sync.Once
		if _, err := ws.UpdateTask(ctx, e.task, func(tk *ifmatch.Task) error {
			once.Do(func() { close(started) })
			tk.Attributes["first"] = true
			return nil
		}); err != nil {
			t.Error(err)
		}
	}()
	<-started
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := ws.UpdateTask(ctx, e.task, func(tk *ifmatch.Task) error {
				tk.Attributes[fmt.Sprint("k", i)] = i
				return nil
			}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got := e.renderSpans(t)
	sort.Strings(got)
	end := "ifmatch.UpdateTask <- root {ifmatch.attempts=1 ifmatch.outcome=updated " + taskAttrs + "}"
	diff(t, "spans", got, []string{
		"HTTP GET <- ifmatch.UpdateTask {http.request.method=GET http.response.status_code=200}",
		"HTTP POST <- ifmatch.UpdateTask {http.request.method=POST http.response.status_code=200}",
		"HTTP POST <- ifmatch.UpdateTask {http.request.method=POST http.response.status_code=200}",
		end + queued1 + ` | ifmatch.attempt{http.response.status_code=200 ifmatch.attempt=1 ifmatch.if_match="0"}`,
		end + " | ifmatch.queued{ifmatch.round.callers=3 ifmatch.round.lead=false ifmatch.wait=t} | link ifmatch.UpdateTask{ifmatch.link=coalesced_round}",
		end + " | ifmatch.queued{ifmatch.round.callers=3 ifmatch.round.lead=false ifmatch.wait=t} | link ifmatch.UpdateTask{ifmatch.link=coalesced_round}",
		end + " | ifmatch.queued{ifmatch.round.callers=3 ifmatch.round.lead=true ifmatch.wait=t}" +
			` | ifmatch.attempt{http.response.status_code=200 ifmatch.attempt=1 ifmatch.if_match="1"}`,
	})
	diff(t, "metrics", e.renderMetrics(t), []string{
		"http.client.request.duration{http.request.method=GET http.response.status_code=200} count=1",
		"http.client.request.duration{http.request.method=POST http.response.status_code=200} count=2",
		"ifmatch.coalesced.callers{ifmatch.resource.kind=Task} count=2 sum=4",
		"ifmatch.queue.wait{ifmatch.resource.kind=Task} count=4",
		"ifmatch.update.attempts{ifmatch.outcome=updated ifmatch.resource.kind=Task} count=4 sum=4",
		"ifmatch.update.duration{ifmatch.outcome=updated ifmatch.resource.kind=Task} count=4",
		"ifmatch.updates{ifmatch.outcome=updated ifmatch.resource.kind=Task} = 4",
	})
	// The round's POST is a child of the span its lead's queued event is on.
	var lead trace.SpanID
	for _, s := range e.spans.GetSpans() {
		for _, ev := range s.Events {
			for _, kv := range ev.Attributes {
				if kv.Key == "ifmatch.round.callers" && kv.Value.AsInt64() == 3 && slices.Contains(ev.Attributes, attribute.Bool("ifmatch.round.lead", true)) {
					lead = s.SpanContext.SpanID()
				}
			}
		}
	}
	posts := 0
	for _, s := range e.spans.GetSpans() {
		if s.Name == "HTTP POST" && s.Parent.SpanID() == lead {
			posts++
		}
	}
	if posts != 1 {
		t.Errorf("the round's lead span has %d POST children, want 1", posts)
	}
}

// A failed call's span status says what failed (its error.type, HTTP status
// and Twilio code), never the error's text: that quotes the request URL.
func TestErrorStatusDescription(t *testing.T) {
	e := newEnv(t)
	missing := ifmatchtest.NewSID("WT")
	_, err := e.client.Workspace(e.ws).UpdateTask(context.Background(), missing, func(tk *ifmatch.Task) error { return nil })
	if !errors.Is(err, ifmatch.ErrNotFound) || !strings.Contains(err.Error(), missing) {
		t.Fatalf("got %v, want ErrNotFound quoting the URL", err)
	}
	var desc []string
	for _, s := range e.spans.GetSpans() {
		if s.InstrumentationScope.Name == otelifmatch.ScopeName {
			desc = append(desc, s.Status.Code.String()+": "+s.Status.Description)
		}
	}
	diff(t, "status", desc, []string{"Error: ifmatch: 404 (HTTP 404, Twilio error 20404)"})
}
