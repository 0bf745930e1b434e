package ifmatch_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/ifmatch-go/ifmatch"
)

// A user's narrow interface of one method is enough for every helper: each
// stub below has only the update call, and the helpers run their mutators on
// it (a user review found MergeTaskAttributes refusing a stub without
// CreateWorker, FetchTask…).
type oneTaskCall struct{ t ifmatch.Task }

func (s *oneTaskCall) UpdateTask(_ context.Context, _ string, m func(*ifmatch.Task) error, _ ...ifmatch.UpdateOption) (*ifmatch.Task, error) {
	return &s.t, m(&s.t)
}

type oneWorkerCall struct{ w ifmatch.Worker }

func (s *oneWorkerCall) UpdateWorker(_ context.Context, _ string, m func(*ifmatch.Worker) error, _ ...ifmatch.UpdateOption) (*ifmatch.Worker, error) {
	return &s.w, m(&s.w)
}

type oneSyncCall struct {
	d  ifmatch.Document
	li ifmatch.ListItem
	mi ifmatch.MapItem
}

func (s *oneSyncCall) UpdateDocument(_ context.Context, _ string, m func(*ifmatch.Document) error, _ ...ifmatch.UpdateOption) (*ifmatch.Document, error) {
	return &s.d, m(&s.d)
}

func (s *oneSyncCall) UpdateListItem(_ context.Context, _ string, _ int, m func(*ifmatch.ListItem) error, _ ...ifmatch.UpdateOption) (*ifmatch.ListItem, error) {
	return &s.li, m(&s.li)
}

func (s *oneSyncCall) UpdateMapItem(_ context.Context, _, _ string, m func(*ifmatch.MapItem) error, _ ...ifmatch.UpdateOption) (*ifmatch.MapItem, error) {
	return &s.mi, m(&s.mi)
}

func TestHelpersTakeOneMethodInterfaces(t *testing.T) {
	ctx := context.Background()
	type counter struct {
		N int `json:"n"`
	}
	inc := func(c *counter) error { c.N++; return nil }
	task := &oneTaskCall{t: ifmatch.Task{Attributes: map[string]any{}}}
	worker := &oneWorkerCall{w: ifmatch.Worker{Attributes: map[string]any{}}}
	sync := &oneSyncCall{d: ifmatch.Document{Data: map[string]any{}}, li: ifmatch.ListItem{Data: map[string]any{}},
		mi: ifmatch.MapItem{Data: map[string]any{}}}
	patch := map[string]any{"merged": true}
	calls := []struct {
		name string
		run  func() error
	}{
		{"MergeTaskAttributes", func() error { _, err := ifmatch.MergeTaskAttributes(ctx, task, "WT", patch); return err }},
		{"UpdateTaskAttributes", func() error { _, _, err := ifmatch.UpdateTaskAttributes(ctx, task, "WT", inc); return err }},
		{"UpdateTaskWithAttributes", func() error {
			_, _, err := ifmatch.UpdateTaskWithAttributes(ctx, task, "WT", func(_ *ifmatch.Task, c *counter) error { return inc(c) })
			return err
		}},
		{"MergeWorkerAttributes", func() error { _, err := ifmatch.MergeWorkerAttributes(ctx, worker, "WK", patch); return err }},
		{"UpdateWorkerAttributes", func() error { _, _, err := ifmatch.UpdateWorkerAttributes(ctx, worker, "WK", inc); return err }},
		{"UpdateWorkerWithAttributes", func() error {
			_, _, err := ifmatch.UpdateWorkerWithAttributes(ctx, worker, "WK", func(_ *ifmatch.Worker, c *counter) error { return inc(c) })
			return err
		}},
		{"MergeDocumentData", func() error { _, err := ifmatch.MergeDocumentData(ctx, sync, "doc", patch); return err }},
		{"UpdateDocumentData", func() error { _, _, err := ifmatch.UpdateDocumentData(ctx, sync, "doc", inc); return err }},
		{"MergeListItemData", func() error { _, err := ifmatch.MergeListItemData(ctx, sync, "l", 0, patch); return err }},
		{"UpdateListItemData", func() error { _, _, err := ifmatch.UpdateListItemData(ctx, sync, "l", 0, inc); return err }},
		{"MergeMapItemData", func() error { _, err := ifmatch.MergeMapItemData(ctx, sync, "m", "k", patch); return err }},
		{"UpdateMapItemData", func() error { _, _, err := ifmatch.UpdateMapItemData(ctx, sync, "m", "k", inc); return err }},
	}
	for _, c := range calls {
		if err := c.run(); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	// Each object got its patch and one increment per typed call on it.
	for _, c := range []struct {
		name string
		obj  map[string]any
		n    int64
	}{{"task", task.t.Attributes, 2}, {"worker", worker.w.Attributes, 2}, {"document", sync.d.Data, 1},
		{"list item", sync.li.Data, 1}, {"map item", sync.mi.Data, 1}} {
		n, _ := c.obj["n"].(json.Number).Int64()
		if c.obj["merged"] != true || n != c.n {
			t.Errorf("%s: %v, want merged and n=%d", c.name, c.obj, c.n)
		}
	}
}
