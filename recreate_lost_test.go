package ifmatch_test

import (
	"errors"
	"net/http"
	"sync"
	"testing"

	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/ifmatchtest"
)

// hookTransport runs before once, ahead of the first request it matches.
type hookTransport struct {
	next   http.RoundTripper
	match  func(*http.Request) bool
	once   sync.Once
	before func()
}

func (h *hookTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if h.match(r) {
		h.once.Do(h.before)
	}
	return h.next.RoundTrip(r)
}

// A write whose answer is lost lands; the resource is deleted and created
// again before the read-back, which shows the new one at the old one's
// revision (revisions start over). Taking that read-back for proof that the
// write did not land would resend it onto the new resource, erasing its data
// with a change built on the old one, and the call would say Updated with two
// writes applied. The engine compares incarnations (resourceOps.born): a
// Document's SID changes, so the call ends in ErrOutcomeUnknown with one
// write applied. A Map item has no SID: its incarnation is its Map's SID and
// its creation time, which Sync gives to the second, so a Map item deleted
// and created again within the same second (as here) still passes for the
// old one: that case is skipped, a known limit (README, "What ifmatch
// promises").
func TestLostWriteThenRecreated(t *testing.T) {
	for _, doc := range []bool{true, false} {
		n, err := lostWriteThenRecreated(t, doc)
		switch {
		case !doc && err == nil && n != 1:
			t.Logf("Map item re-created within the second: Updated with %d writes applied (known limit)", n)
		case err == nil && n != 1, !errors.Is(err, ifmatch.ErrOutcomeUnknown) && err != nil && n != 0:
			t.Errorf("document %v: err %v with %d writes of the call applied", doc, err, n)
		case doc && !errors.Is(err, ifmatch.ErrOutcomeUnknown):
			t.Errorf("document: err %v, want ErrOutcomeUnknown (the write landed on the deleted one)", err)
		}
	}
}

// lostWriteThenRecreated runs the scenario above on a Document by unique
// name (doc) or a Map item and returns how many writes tagged with the call
// were applied, and the call's error.
func lostWriteThenRecreated(t *testing.T, doc bool) (int, error) {
	srv := ifmatchtest.NewServer()
	defer srv.Close()
	svc := srv.AddSyncService()
	srv.AddSyncMap(svc, "m")
	srv.AddMapItem(svc, "m", "k", map[string]any{"log": []any{}})
	srv.AddDocument(svc, "d", map[string]any{"log": []any{}})
	srv.Inject(ifmatchtest.Fault{Kind: ifmatchtest.DropAfterCommit, Method: "POST", Count: 1})
	theirs := srv.Client().SyncService(svc)
	ctx := ctxT(t)
	recreate := func() error {
		data := ifmatch.SyncWrite{Data: map[string]any{"log": []any{"theirs"}}}
		if doc {
			if err := theirs.DeleteDocument(ctx, "d"); err != nil {
				return err
			}
			_, err := theirs.CreateDocument(ctx, "d", data)
			return err
		}
		if err := theirs.DeleteMapItem(ctx, "m", "k"); err != nil {
			return err
		}
		_, err := theirs.CreateMapItem(ctx, "m", "k", data)
		return err
	}
	posted := false
	hook := &hookTransport{next: srv.CallTransport(nil),
		match: func(r *http.Request) bool {
			posted = posted || r.Method == http.MethodPost
			return posted && r.Method == http.MethodGet
		},
		before: func() {
			if err := recreate(); err != nil {
				t.Error(err)
			}
		}}
	ours := srv.Client(ifmatch.WithHTTPClient(&http.Client{Transport: hook})).SyncService(svc)
	appendOurs := func(d map[string]any) { log, _ := d["log"].([]any); d["log"] = append(log, "ours") }
	call := ifmatchtest.WithCall(ctx, "ours")
	var err error
	if doc {
		_, err = ours.UpdateDocument(call, "d", func(d *ifmatch.Document) error { appendOurs(d.Data); return nil })
	} else {
		_, err = ours.UpdateMapItem(call, "m", "k", func(i *ifmatch.MapItem) error { appendOurs(i.Data); return nil })
	}
	srv.Settle()
	n := 0
	for _, cm := range srv.Commits() {
		if cm.Call == "ours" {
			n++
		}
	}
	return n, err
}
