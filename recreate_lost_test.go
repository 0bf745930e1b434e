package ifmatch_test

import (
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

// A write to a Map item whose answer is lost lands; the item is deleted and
// created again before the read-back, which shows the new one at the old
// one's revision (revisions start over). The loop takes that read-back for
// proof that its write did not land and resends it: it lands again, on the
// new item (erasing that item's data with a change built on the old one),
// and the call says Updated. Skipped, not fixed: a read-back at the pending
// revision of a path that is not a stable name (see stableName) proves
// nothing, but treating it as unknown would turn every lost answer on a Map
// item into ErrOutcomeUnknown; markers do not help (they go with the item).
// A Document by unique name behaves the same with integer revisions.
func TestLostWriteThenRecreatedProbe(t *testing.T) {
	t.Skip("known: a lost write's resend can land on a re-created Map item (reported, not fixed)")
	srv := ifmatchtest.NewServer()
	defer srv.Close()
	svc := srv.AddSyncService()
	srv.AddSyncMap(svc, "m")
	srv.AddMapItem(svc, "m", "k", map[string]any{"log": []any{}})
	srv.Inject(ifmatchtest.Fault{Kind: ifmatchtest.DropAfterCommit, Method: "POST", Count: 1})
	theirs := srv.Client()
	ctx := ctxT(t)
	posted := false
	hook := &hookTransport{next: srv.CallTransport(nil),
		match: func(r *http.Request) bool {
			if r.Method == http.MethodPost {
				posted = true
			}
			return posted && r.Method == http.MethodGet
		},
		before: func() {
			if err := theirs.SyncService(svc).DeleteMapItem(ctx, "m", "k"); err != nil {
				t.Error(err)
			}
			if _, err := theirs.SyncService(svc).CreateMapItem(ctx, "m", "k",
				ifmatch.SyncWrite{Data: map[string]any{"log": []any{"theirs"}}}); err != nil {
				t.Error(err)
			}
		}}
	ours := srv.Client(ifmatch.WithHTTPClient(&http.Client{Transport: hook}))
	_, err := ours.SyncService(svc).UpdateMapItem(ifmatchtest.WithCall(ctx, "ours"), "m", "k", func(i *ifmatch.MapItem) error {
		log, _ := i.Data["log"].([]any)
		i.Data["log"] = append(log, "ours")
		return nil
	})
	srv.Settle()
	n := 0
	for _, cm := range srv.Commits() {
		t.Logf("commit %s %s %s v%d->v%d fault %s", cm.Call, cm.Method, cm.Path, cm.Before, cm.After, cm.Fault)
		if cm.Call == "ours" {
			n++
		}
	}
	if d, _, _ := srv.MapItemData(svc, "m", "k"); err == nil && n != 1 {
		t.Errorf("Updated, but %d writes of the call landed; final data %v", n, d)
	}
}
