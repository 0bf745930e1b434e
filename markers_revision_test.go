package ifmatch_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/ifmatchtest"
)

// delayTransport holds back the first write it sees (answering 503 as a
// gateway would, the write not yet applied) and delivers it just before the
// next write: a write that lands late, after the call's read-back.
type delayTransport struct {
	next http.RoundTripper
	mu   sync.Mutex
	held *http.Request
	body string
	done bool
}

func (d *delayTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if r.Method != http.MethodPost || d.done {
		return d.next.RoundTrip(r)
	}
	if d.held == nil {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		d.held, d.body = r.Clone(r.Context()), string(b)
		return &http.Response{StatusCode: http.StatusServiceUnavailable, Header: http.Header{},
			Body: io.NopCloser(strings.NewReader(`{"code":20500,"status":503}`)), Request: r}, nil
	}
	d.done = true
	late := d.held.Clone(r.Context())
	late.Body, late.ContentLength = io.NopCloser(strings.NewReader(d.body)), int64(len(d.body))
	if resp, err := d.next.RoundTrip(late); err == nil {
		resp.Body.Close()
	}
	return d.next.RoundTrip(r)
}

// A Sync read answered without an ETag header lends the write its revision,
// bare ("1"); the read-back after that write's lost answer has the header,
// quoted ("\"1\""). The two are one version: taken for two, the read-back
// seemed to show the write's base gone without our marker, the write was
// declared superseded, and when it landed late the loop wrote again: two
// appends, and the call said Updated (found by the Sync oracle soak).
func TestMarkersRevisionETagIsHeaderETag(t *testing.T) {
	t.Parallel()
	srv := ifmatchtest.NewServer()
	defer srv.Close()
	svc := srv.AddSyncService()
	doc := srv.AddDocument(svc, "", map[string]any{"log": []any{}})
	ctx := ctxT(t)
	add := func(tok string) ifmatch.DocumentMutator {
		return func(d *ifmatch.Document) error {
			log, _ := d.Data["log"].([]any)
			d.Data["log"] = append(log, tok)
			return nil
		}
	}
	// A first write leaves a marker history, so a later write has a base marker.
	if _, err := srv.Client().SyncService(svc).UpdateDocument(ctx, doc, add("first"), ifmatch.CommitMarkers("")); err != nil {
		t.Fatal(err)
	}
	srv.Inject(ifmatchtest.Fault{Kind: ifmatchtest.NoETag, Method: http.MethodGet, Count: 1})
	hc := &http.Client{Transport: &delayTransport{next: srv.CallTransport(nil)}}
	c := srv.Client(ifmatch.WithHTTPClient(hc), ifmatch.WithTransportRetry(0, 0, 0))
	_, err := c.SyncService(svc).UpdateDocument(ctx, doc, add("ours"), ifmatch.CommitMarkers(""))
	data, _, _ := srv.DocumentData(svc, doc)
	n := 0
	for _, tok := range data["log"].([]any) {
		if tok == "ours" {
			n++
		}
	}
	switch {
	case err == nil && n != 1:
		t.Errorf("Updated, but applied %d times: %v", n, data["log"])
	case err != nil && !errors.Is(err, ifmatch.ErrOutcomeUnknown) && n != 0:
		t.Errorf("error %v, but applied %d times", err, n)
	}
	for _, r := range srv.Requests() {
		t.Logf("%s If-Match %s -> %d %s", r.Method, r.IfMatch, r.Status, r.Fault)
	}
}
