package ifmatch_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/ifmatchtest"
)

// A mutator that sets the CommitMarkers key (absent so far, so no refusal on
// read) must not see its value silently replaced by the markers while the
// call reports success.
func TestAdv3MutatorSetsMarkerKey(t *testing.T) {
	t.Parallel()
	srv := fakeServer(t)
	wsSID := srv.AddWorkspace()
	sid := srv.AddTask(wsSID, map[string]any{"a": 1})
	ws := srv.Client().Workspace(wsSID)
	_, err := ws.UpdateTask(ctxT(t), sid, func(t *ifmatch.Task) error {
		t.Attributes["version"] = "v2"
		return nil
	}, ifmatch.CommitMarkers("version"))
	attrs, _, _ := srv.TaskAttributes(wsSID, sid)
	if err == nil && attrs["version"] != "v2" {
		t.Fatalf("nil error, but attributes.version = %v (the mutator set \"v2\")", attrs["version"])
	}
	if err != nil && !errors.Is(err, ifmatch.ErrInvalidArgument) {
		t.Fatalf("err = %v, want nil or ErrInvalidArgument", err)
	}
}

// A number that big.Rat refuses (exponent beyond 1e6) must not compare equal
// to the string of the same text: the mutator's change of type would be
// dropped with an Unchanged result.
func TestAdv3HugeExponentVsString(t *testing.T) {
	t.Parallel()
	srv := fakeServer(t)
	wsSID := srv.AddWorkspace()
	sid := srv.AddTask(wsSID, map[string]any{"x": json.Number("1e1000001")})
	ws := srv.Client().Workspace(wsSID)
	var res ifmatch.OperationResult
	_, err := ws.UpdateTask(ctxT(t), sid, func(t *ifmatch.Task) error {
		t.Attributes["x"] = "1e1000001"
		return nil
	}, ifmatch.ReportResult(&res))
	attrs, _, _ := srv.TaskAttributes(wsSID, sid)
	if _, isString := attrs["x"].(string); err == nil && !isString {
		t.Fatalf("nil error (%s), but attributes.x = %#v, not the string the mutator set", res, attrs["x"])
	}
}

// A stale ETag cache entry showing the user's data under the key must not
// refuse a call whose resource no longer holds it: other refusals on the
// cached copy are confirmed on a fresh read.
func TestAdv3StaleCacheForeignMarkerKey(t *testing.T) {
	t.Parallel()
	srv := fakeServer(t)
	wsSID := srv.AddWorkspace()
	sid := srv.AddTask(wsSID, map[string]any{"a": 1})
	ws := srv.Client().Workspace(wsSID)
	if _, err := ws.UpdateTask(ctxT(t), sid, func(t *ifmatch.Task) error {
		t.Attributes["m"] = "old data"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	srv.SetTaskAttributes(wsSID, sid, map[string]any{"a": 2}) // another process drops "m"
	_, err := ws.UpdateTask(ctxT(t), sid, func(t *ifmatch.Task) error { t.Priority++; return nil },
		ifmatch.CommitMarkers("m"))
	if err != nil {
		t.Fatalf("err = %v; the resource holds no \"m\" (only the cache did)", err)
	}
}

// afterPOST runs then after the first POST (whose answer a fault drops), the answer of the first POST after the server commits it,
// so another writer can act before the read-back.
type afterPOST struct {
	next http.RoundTripper
	n    atomic.Int32
	then func()
}

func (a *afterPOST) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := a.next.RoundTrip(r)
	if r.Method == http.MethodPost && a.n.Add(1) == 1 {
		a.then()
	}
	return resp, err
}

// Attempt 1 lands, its answer is lost, then another writer puts the user's
// data under the marker key: whatever the call says must be true.
func TestAdv3LostAnswerThenForeignMarkerKey(t *testing.T) {
	t.Parallel()
	for _, idem := range []bool{false, true} {
		srv := fakeServer(t)
		wsSID := srv.AddWorkspace()
		sid := srv.AddTask(wsSID, map[string]any{"n": 0})
		srv.Inject(ifmatchtest.Fault{Kind: ifmatchtest.DropAfterCommit, Method: http.MethodPost, Count: 1})
		rt := &afterPOST{next: srv.CallTransport(nil), then: func() {
			srv.SetTaskAttributes(wsSID, sid, map[string]any{"n": 0, "m": "user"})
		}}
		c := srv.Client(ifmatch.WithHTTPClient(&http.Client{Transport: rt}), ifmatch.WithTransportRetry(0, 0, 0))
		opts := []ifmatch.UpdateOption{ifmatch.CommitMarkers("m"), zero()}
		if idem {
			opts = append(opts, ifmatch.Idempotent())
		}
		_, err := c.Workspace(wsSID).UpdateTask(ctxT(t), sid, advIncr, opts...)
		commits := 0
		for _, cm := range srv.Commits() {
			if cm.Method == http.MethodPost && cm.IfMatch != "" {
				commits++
			}
		}
		switch {
		case err == nil && commits != 1,
			err != nil && !errors.Is(err, ifmatch.ErrOutcomeUnknown) && commits != 0,
			errors.Is(err, ifmatch.ErrOutcomeUnknown) && commits > 1:
			t.Errorf("idempotent=%t: err = %v with %d conditional commits", idem, err, commits)
		}
	}
}

// After a lost answer whose write landed, a later refusal (here the marker
// key replaced by user data) is ErrOutcomeUnknown, but it also matches
// ErrInvalidArgument, documented as "caught before any request was sent":
// a caller testing that sentinel first concludes nothing was applied.
func TestAdv3OutcomeUnknownIsNotInvalidArgument(t *testing.T) {
	srv := fakeServer(t)
	wsSID := srv.AddWorkspace()
	sid := srv.AddTask(wsSID, map[string]any{"n": 0})
	srv.Inject(ifmatchtest.Fault{Kind: ifmatchtest.DropAfterCommit, Method: http.MethodPost, Count: 1})
	rt := &afterPOST{next: srv.CallTransport(nil), then: func() {
		srv.SetTaskAttributes(wsSID, sid, map[string]any{"n": 0, "m": "user"})
	}}
	c := srv.Client(ifmatch.WithHTTPClient(&http.Client{Transport: rt}), ifmatch.WithTransportRetry(0, 0, 0))
	_, err := c.Workspace(wsSID).UpdateTask(ctxT(t), sid, advIncr, ifmatch.CommitMarkers("m"), ifmatch.Idempotent(), zero())
	if !errors.Is(err, ifmatch.ErrOutcomeUnknown) || errors.Is(err, ifmatch.ErrInvalidArgument) {
		t.Fatalf("err = %v: a landed write must not match ErrInvalidArgument", err)
	}
}
