package ifmatch_test

import (
	"net/http"
	"testing"

	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/ifmatchtest"
)

// A Sync Map item, or a Document addressed by its unique name, can be deleted
// and created again under the same name, and its revisions start again. A
// Client's copy of its own last write of the old one must never serve the
// new one: once the new one reaches the same revision, a write built on the
// old copy would carry a matching If-Match and erase the new data (a user
// review found exactly that). Such paths are always read first.
func TestRecreatedNameIsReadNotCached(t *testing.T) {
	t.Parallel()
	f := ifmatchtest.NewFake()
	ours, _ := f.MockClient(t)
	theirs, _ := f.MockClient(t)
	svc := f.AddSyncService()
	f.AddSyncMap(svc, "sessions")
	s, o := ours.SyncService(svc), theirs.SyncService(svc)
	ctx := ctxT(t)
	n := 0
	mark := func(d map[string]any) error { n++; d["ours"] = n; return nil } // a change every time
	type step = func() error
	for _, tc := range []struct {
		name                     string
		create, update, recreate step
		data                     func() map[string]any
	}{{
		name: "Map item",
		create: func() error {
			_, err := o.CreateMapItem(ctx, "sessions", "u1", ifmatch.SyncWrite{Data: map[string]any{"v": "old"}})
			return err
		},
		update: func() error {
			_, err := s.UpdateMapItem(ctx, "sessions", "u1", func(i *ifmatch.MapItem) error { return mark(i.Data) })
			return err
		},
		recreate: func() error {
			if err := o.DeleteMapItem(ctx, "sessions", "u1"); err != nil {
				return err
			}
			if _, err := o.CreateMapItem(ctx, "sessions", "u1", ifmatch.SyncWrite{Data: map[string]any{"v": "old"}}); err != nil {
				return err
			}
			_, err := o.UpdateMapItem(ctx, "sessions", "u1", func(i *ifmatch.MapItem) error { i.Data["v"] = "new"; return nil })
			return err
		},
		data: func() map[string]any { d, _, _ := f.MapItemData(svc, "sessions", "u1"); return d },
	}, {
		name: "Document by unique name",
		create: func() error {
			_, err := o.CreateDocument(ctx, "config", ifmatch.SyncWrite{Data: map[string]any{"v": "old"}})
			return err
		},
		update: func() error {
			_, err := s.UpdateDocument(ctx, "config", func(d *ifmatch.Document) error { return mark(d.Data) })
			return err
		},
		recreate: func() error {
			if err := o.DeleteDocument(ctx, "config"); err != nil {
				return err
			}
			if _, err := o.CreateDocument(ctx, "config", ifmatch.SyncWrite{Data: map[string]any{"v": "old"}}); err != nil {
				return err
			}
			_, err := o.UpdateDocument(ctx, "config", func(d *ifmatch.Document) error { d.Data["v"] = "new"; return nil })
			return err
		},
		data: func() map[string]any { d, _, _ := f.DocumentData(svc, "config"); return d },
	}} {
		for _, st := range []step{tc.create, tc.update, tc.recreate} {
			if err := st(); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
		}
		f.ResetLog()
		if err := tc.update(); err != nil { // the new one is at the revision of our copy of the old one
			t.Fatalf("%s: %v", tc.name, err)
		}
		if d := tc.data(); d["v"] != "new" || d["ours"] == nil {
			t.Errorf("%s: data %v, want the new one's with our change", tc.name, d)
		}
		if gets := f.Count(http.MethodGet); gets != 1 {
			t.Errorf("%s: %d GETs, want 1 (never served from the cache)", tc.name, gets)
		}
	}
	// A Document addressed by SID names one document for ever: still cached.
	doc, err := s.CreateDocument(ctx, "by-sid", ifmatch.SyncWrite{Data: map[string]any{"n": 1}})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := s.UpdateDocument(ctx, doc.SID, func(d *ifmatch.Document) error { return mark(d.Data) }); err != nil {
			t.Fatal(err)
		}
	}
	f.ResetLog()
	if _, err := s.UpdateDocument(ctx, doc.SID, func(d *ifmatch.Document) error { d.Data["n"] = 2; return nil }); err != nil {
		t.Fatal(err)
	}
	if gets := f.Count(http.MethodGet); gets != 0 {
		t.Errorf("Document by SID: %d GETs, want 0 (served from the cache)", gets)
	}
}
