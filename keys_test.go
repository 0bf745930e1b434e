package ifmatch_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/ifmatchtest"
)

// Two Sync Map items whose raw paths join to the same string (map
// "x/Items/y" + key "z", map "x" + key "y/Items/z") are two resources to
// one Client: its cache and coalescing queues never mix them up.
func TestMapItemKeysDoNotCollide(t *testing.T) {
	t.Parallel()
	f := ifmatchtest.NewFake()
	c, _ := f.MockClient(t)
	svc := f.AddSyncService()
	f.AddSyncMap(svc, "x/Items/y")
	f.AddSyncMap(svc, "x")
	f.AddMapItem(svc, "x/Items/y", "z", map[string]any{"owner": "A"})
	f.AddMapItem(svc, "x", "y/Items/z", map[string]any{"owner": "B"})
	s := c.SyncService(svc)
	set := func(k, v string) func(*ifmatch.MapItem) error {
		return func(i *ifmatch.MapItem) error { i.Data[k] = v; return nil }
	}
	ctx := ctxT(t)
	// Sequential: A's write is cached; B's update must not start from it.
	a, err := s.UpdateMapItem(ctx, "x/Items/y", "z", set("a", "1"))
	if err != nil {
		t.Fatal(err)
	}
	var res ifmatch.OperationResult
	b, err := s.UpdateMapItem(ctx, "x", "y/Items/z", set("b", "1"), ifmatch.ReportResult(&res))
	if err != nil {
		t.Fatal(err)
	}
	if a.Data["owner"] != "A" || b.Data["owner"] != "B" || b.Data["a"] != nil || res != ifmatch.Updated {
		t.Fatalf("results mixed up: A %v, B %v (%s)", a.Data, b.Data, res)
	}
	// Concurrent: calls on both items through one client, coalescing on.
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			if _, err := s.UpdateMapItem(ctx, "x/Items/y", "z", set(fmt.Sprint("a", i), "1")); err != nil {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			if _, err := s.UpdateMapItem(ctx, "x", "y/Items/z", set(fmt.Sprint("b", i), "1")); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	dataA, _, _ := f.MapItemData(svc, "x/Items/y", "z")
	dataB, _, _ := f.MapItemData(svc, "x", "y/Items/z")
	if dataA["owner"] != "A" || dataB["owner"] != "B" || len(dataA) != 10 || len(dataB) != 10 {
		t.Fatalf("stored data mixed up:\nA %v\nB %v", dataA, dataB)
	}
	for k := range dataA {
		if k[0] == 'b' {
			t.Fatalf("B's change %q landed on A: %v", k, dataA)
		}
	}
	for k := range dataB {
		if k[0] == 'a' {
			t.Fatalf("A's change %q landed on B: %v", k, dataB)
		}
	}
}
