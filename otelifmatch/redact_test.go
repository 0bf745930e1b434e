package otelifmatch_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/ifmatchtest"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// User data in the paths of Sync requests: none may reach a span or a metric.
const (
	mapName    = "phonebook"
	mapKey     = "alice@example.com"
	missingKey = "carol@example.com"
	docName    = "bob-private"
	listName   = "dave-shopping"
)

// quotedURLError is a transport error whose text quotes the request URL, as
// some transports' errors do.
type quotedURLError struct{ url string }

func (e *quotedURLError) Error() string { return "refused " + e.url }

// quotingTransport fails every request with a quotedURLError and records
// the URLs it is sent.
type quotingTransport struct {
	mu   sync.Mutex
	urls []string
}

func (q *quotingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	q.mu.Lock()
	q.urls = append(q.urls, r.URL.String())
	q.mu.Unlock()
	return nil, &quotedURLError{url: r.URL.String()}
}

// Updates of a Map item, a Document and a List item that succeed, hit a 404,
// a conflict, a lost answer, a 502, a 429, a mutator's refusal and a
// transport error quoting the URL: no span name, attribute, event, link or
// status, and no metric attribute, holds a unique name, key or credential.
// The HTTP spans' url.full keeps the SIDs and resource names.
func TestNoUserDataInTelemetry(t *testing.T) {
	e := newEnv(t)
	svc := e.srv.AddSyncService()
	e.srv.AddMapItem(svc, mapName, mapKey, map[string]any{"n": 0})
	e.srv.AddDocument(svc, docName, map[string]any{"n": 0})
	index := e.srv.AddListItem(svc, listName, map[string]any{"n": 0})
	s := e.client.SyncService(svc)
	ctx := context.Background()
	var mu sync.Mutex
	version := 0
	inc := func(data map[string]any) { // a new value each time: every call writes
		mu.Lock()
		defer mu.Unlock()
		version++
		data["v"] = version
	}
	updateMap := func(key string, opts ...ifmatch.UpdateOption) error {
		_, err := s.UpdateMapItem(ctx, mapName, key, func(i *ifmatch.MapItem) error { inc(i.Data); return nil }, opts...)
		return err
	}
	updateDoc := func(name string) error {
		_, err := s.UpdateDocument(ctx, name, func(d *ifmatch.Document) error { inc(d.Data); return nil })
		return err
	}
	check := func(what string, err, want error) {
		t.Helper()
		if want == nil && err != nil || want != nil && !errors.Is(err, want) {
			t.Fatalf("%s: got %v, want %v", what, err, want)
		}
	}

	check("map", updateMap(mapKey), nil)
	check("document", updateDoc(docName), nil)
	_, err := s.UpdateListItem(ctx, listName, index, func(i *ifmatch.ListItem) error { inc(i.Data); return nil })
	check("list", err, nil)
	check("missing map item", updateMap(missingKey), ifmatch.ErrNotFound)
	check("missing document", updateDoc(docName+"-2"), ifmatch.ErrNotFound)

	_, err = s.UpdateMapItem(ctx, mapName, mapKey, func(i *ifmatch.MapItem) error {
		other := map[string]any{}
		inc(other)
		e.srv.SetSyncData(svc, ifmatchtest.SyncMapItem, mapName, mapKey, other) // another writer, each time
		inc(i.Data)
		return nil
	}, ifmatch.MaxAttempts(2))
	check("conflict", err, ifmatch.ErrConflict)

	e.srv.Inject(ifmatchtest.Fault{Kind: ifmatchtest.DropAfterCommit, Method: "POST", Count: 1})
	check("lost answer", updateDoc(docName), ifmatch.ErrOutcomeUnknown)

	e.srv.Inject(ifmatchtest.Fault{Kind: ifmatchtest.RateLimit, Method: "GET", Count: 1}) // a transport retry
	_, err = s.UpdateDocument(ctx, docName, func(*ifmatch.Document) error { return errors.New("refused " + docName) })
	check("mutator", err, ifmatch.ErrMutatorAborted)

	// A transport error quoting the URL: the caller gets it as the base
	// transport returned it, the base got the real URL, the span neither.
	q := &quotingTransport{}
	c2 := e.srv.Client(ifmatch.WithObserver(e.obs), ifmatch.WithHTTPClient(e.obs.HTTPClient(&http.Client{Transport: q})))
	_, err = c2.SyncService(svc).UpdateMapItem(ctx, mapName, mapKey, func(i *ifmatch.MapItem) error { inc(i.Data); return nil })
	var qe *quotedURLError
	if !errors.As(err, &qe) {
		t.Fatalf("quoting transport: got %v, want the quotedURLError", err)
	}
	real := e.srv.URL + "/v1/Services/" + svc + "/Maps/" + mapName + "/Items/" + mapKey
	if len(q.urls) == 0 || q.urls[0] != real {
		t.Errorf("the base transport got %q, want %q", q.urls, real)
	}

	e.srv.Inject(ifmatchtest.Fault{Kind: ifmatchtest.Fail502, Method: "POST", Count: 100})
	if err := updateMap(mapKey, ifmatch.MaxAttempts(1)); err == nil {
		t.Fatal("502s: no error")
	}

	secrets := []string{mapName, mapKey, url.PathEscape(mapKey), missingKey, docName, listName,
		ifmatchtest.AuthToken, "Basic "}
	leak := func(where, v string) {
		t.Helper()
		for _, sec := range secrets {
			if strings.Contains(v, sec) {
				t.Errorf("%s holds %q: %s", where, sec, v)
			}
		}
	}
	leakAttrs := func(where string, kvs []attribute.KeyValue) {
		t.Helper()
		for _, kv := range kvs {
			leak(where+" "+string(kv.Key), kv.Value.Emit())
		}
	}
	urls := map[string]bool{}
	statuses := map[string]bool{}
	for _, sp := range e.spans.GetSpans() {
		leak("span name", sp.Name)
		leakAttrs(sp.Name, sp.Attributes)
		for _, ev := range sp.Events {
			leak(sp.Name+" event", ev.Name)
			leakAttrs(sp.Name+" event "+ev.Name, ev.Attributes)
		}
		for _, l := range sp.Links {
			leakAttrs(sp.Name+" link", l.Attributes)
		}
		leak(sp.Name+" status", sp.Status.Description)
		if sp.Status.Description != "" {
			statuses[sp.Status.Description] = true
		}
		for _, kv := range sp.Attributes {
			if kv.Key == "url.full" {
				urls[strings.TrimPrefix(kv.Value.AsString(), e.srv.URL)] = true
			}
		}
	}
	var rm metricdata.ResourceMetrics
	if err := e.reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			leak("metric name", m.Name)
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					leakAttrs(m.Name, p.Attributes.ToSlice())
				}
			case metricdata.Histogram[int64]:
				for _, p := range d.DataPoints {
					leakAttrs(m.Name, p.Attributes.ToSlice())
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					leakAttrs(m.Name, p.Attributes.ToSlice())
				}
			}
		}
	}

	base := "/v1/Services/" + svc
	for _, want := range []string{base + "/Maps/{name}/Items/{key}", base + "/Documents/{name}",
		base + "/Lists/{name}/Items/{index}"} {
		if !urls[want] {
			t.Errorf("no HTTP span with url.full %s; got %v", want, urls)
		}
	}
	for _, want := range []string{"ifmatch: 404 (HTTP 404, Twilio error 20404)", "ifmatch: conflict (HTTP 412, Twilio error 54205)",
		"ifmatch: outcome_unknown (HTTP 502, Twilio error 20500)", "ifmatch: transport",
		"ifmatch: outcome_unknown", "ifmatch: mutator_aborted", "transport error: connection_closed", "transport error: other"} {
		if !statuses[want] {
			t.Errorf("no span with status %q; got %v", want, statuses)
		}
	}
}

// A span name formatter given to HTTPClient sees the redacted request.
func TestSpanNameFormatterSeesRedactedURL(t *testing.T) {
	e := newEnv(t)
	svc := e.srv.AddSyncService()
	e.srv.AddMapItem(svc, mapName, mapKey, map[string]any{"n": 0})
	hc := e.obs.HTTPClient(&http.Client{Transport: e.srv.CallTransport(nil)},
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method + " " + r.URL.Path }))
	c := e.srv.Client(ifmatch.WithObserver(e.obs), ifmatch.WithHTTPClient(hc))
	if _, err := c.SyncService(svc).UpdateMapItem(context.Background(), mapName, mapKey, func(i *ifmatch.MapItem) error {
		i.Data["n"] = 1
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range e.spans.GetSpans() {
		names = append(names, s.Name)
	}
	path := "/v1/Services/" + svc + "/Maps/{name}/Items/{key}"
	diff(t, "span names", names, []string{"GET " + path, "POST " + path, "ifmatch.UpdateMapItem"})
}
