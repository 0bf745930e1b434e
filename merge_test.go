package ifmatch_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/internal/jsonx"
)

func TestMergeEveryResource(t *testing.T) {
	t.Parallel()
	srv := fakeServer(t)
	wsSID := srv.AddWorkspace()
	start := map[string]any{"keep": 1, "drop": "x", "nested": map[string]any{"a": 1, "b": 2}, "list": []any{1, 2}}
	patch := map[string]any{"drop": nil, "nested": map[string]any{"b": nil, "c": 3}, "list": []any{9},
		"id": json.Number("1234567890123456789")}
	want := map[string]any{"keep": 1, "nested": map[string]any{"a": 1, "c": 3}, "list": []any{9},
		"id": json.Number("1234567890123456789")}
	ws := srv.Client().Workspace(wsSID)
	taskSID := srv.AddTask(wsSID, start)
	wk := srv.AddWorker(wsSID, "w", start)
	svcSID := srv.AddSyncService()
	srv.AddDocument(svcSID, "doc", start)
	srv.AddSyncList(svcSID, "l")
	srv.AddListItem(svcSID, "l", start)
	srv.AddSyncMap(svcSID, "m")
	srv.AddMapItem(svcSID, "m", "k", start)
	svc := srv.Client().SyncService(svcSID)

	for _, c := range []struct {
		name   string
		merge  func(opts ...ifmatch.UpdateOption) (map[string]any, error)
		stored func() map[string]any
	}{
		{"task", func(o ...ifmatch.UpdateOption) (map[string]any, error) {
			v, err := ifmatch.MergeTaskAttributes(ctxT(t), ws, taskSID, patch, o...)
			return attrsOf(v, err, func() map[string]any { return v.Attributes })
		}, func() map[string]any { a, _, _ := srv.TaskAttributes(wsSID, taskSID); return a }},
		{"worker", func(o ...ifmatch.UpdateOption) (map[string]any, error) {
			v, err := ifmatch.MergeWorkerAttributes(ctxT(t), ws, wk, patch, o...)
			return attrsOf(v, err, func() map[string]any { return v.Attributes })
		}, func() map[string]any { a, _, _ := srv.WorkerAttributes(wsSID, wk); return a }},
		{"document", func(o ...ifmatch.UpdateOption) (map[string]any, error) {
			v, err := ifmatch.MergeDocumentData(ctxT(t), svc, "doc", patch, o...)
			return attrsOf(v, err, func() map[string]any { return v.Data })
		}, func() map[string]any { a, _, _ := srv.DocumentData(svcSID, "doc"); return a }},
		{"list item", func(o ...ifmatch.UpdateOption) (map[string]any, error) {
			v, err := ifmatch.MergeListItemData(ctxT(t), svc, "l", 0, patch, o...)
			return attrsOf(v, err, func() map[string]any { return v.Data })
		}, func() map[string]any { a, _, _ := srv.ListItemData(svcSID, "l", 0); return a }},
		{"map item", func(o ...ifmatch.UpdateOption) (map[string]any, error) {
			v, err := ifmatch.MergeMapItemData(ctxT(t), svc, "m", "k", patch, o...)
			return attrsOf(v, err, func() map[string]any { return v.Data })
		}, func() map[string]any { a, _, _ := srv.MapItemData(svcSID, "m", "k"); return a }},
	} {
		var res ifmatch.OperationResult
		got, err := c.merge(ifmatch.ReportResult(&res))
		if err != nil || res != ifmatch.Updated || !jsonx.Equal(got, want) || !jsonx.Equal(c.stored(), want) {
			t.Errorf("%s: %q %v, returned %v, stored %v", c.name, res, err, got, c.stored())
		}
		// The same patch again changes nothing: no write.
		posts := srv.Count(http.MethodPost)
		if _, err := c.merge(ifmatch.ReportResult(&res)); err != nil || res != ifmatch.Unchanged || srv.Count(http.MethodPost) != posts {
			t.Errorf("%s: second merge %q %v", c.name, res, err)
		}
	}
}

func attrsOf[R any](v *R, err error, get func() map[string]any) (map[string]any, error) {
	if err != nil {
		return nil, err
	}
	return get(), nil
}

// Merges of different keys from separate clients at once all land.
func TestMergeConcurrentDisjointKeys(t *testing.T) {
	t.Parallel()
	srv := fakeServer(t)
	wsSID := srv.AddWorkspace()
	taskSID := srv.AddTask(wsSID, nil)
	const n = 8
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ws := srv.Client().Workspace(wsSID)
			patch := map[string]any{"by": map[string]any{fmt.Sprint("w", i): i}}
			if _, err := ifmatch.MergeTaskAttributes(ctxT(t), ws, taskSID, patch); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	attrs, _, _ := srv.TaskAttributes(wsSID, taskSID)
	if by, _ := attrs["by"].(map[string]any); len(by) != n {
		t.Errorf("attrs %v", attrs)
	}
}
