package ifmatch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/ifmatchtest"
)

// largeAttributes returns Task attributes whose JSON, quoted into a Task
// body as Twilio sends it, takes about size bytes. Shape "dense" is made of
// tiny keys (the costliest to decode per byte, as in TestMemoryLimit);
// "records" is an array of small objects, a more usual shape. Key "n" is
// what the benchmarks' mutators change.
func largeAttributes(shape string, size int) map[string]any {
	attrs := map[string]any{"n": 0}
	var records []any
	for quoted := 0; quoted < size; {
		var frag []byte
		switch shape {
		case "dense":
			k := fmt.Sprintf("k%d", len(attrs))
			attrs[k] = 1
			frag = []byte(`"` + k + `":1,`)
		case "records":
			r := map[string]any{"id": fmt.Sprintf("C-%07d", len(records)), "qty": len(records) % 97,
				"price": 12.5, "tags": []any{"vip", "en"}, "note": "callback requested"}
			records = append(records, r)
			frag, _ = json.Marshal(r)
		default:
			panic("unknown shape " + shape)
		}
		quoted += len(frag) + 1 + strings.Count(string(frag), `"`) // each quote is escaped
	}
	if records != nil {
		attrs["records"] = records
	}
	return attrs
}

// BenchmarkLargeUpdate measures one UpdateTask whose mutator changes one
// attribute of a Task with large attributes, on the fake server over
// loopback: "cached" writes from the client's copy of its last write (one
// POST per call), "fresh" reads first (GET + POST). Each call is one
// attempt. The fake's own allocations count in B/op too; separate the
// client's share with a profile:
//
//	go test -run '^$' -bench Large -benchmem -count 6
//	go test -run '^$' -bench 'Large/dense-1MiB/cached' -memprofile mem.out
//	go tool pprof -sample_index=alloc_space -top mem.out
func BenchmarkLargeUpdate(b *testing.B) {
	for _, size := range []struct {
		name  string
		bytes int
	}{{"64KiB", 64 << 10}, {"1MiB", ifmatch.MaxResourceBytes - 4<<10}} {
		for _, shape := range []string{"dense", "records"} {
			attrs := largeAttributes(shape, size.bytes)
			for _, fresh := range []bool{false, true} {
				name := shape + "-" + size.name + "/cached"
				if fresh {
					name = shape + "-" + size.name + "/fresh"
				}
				b.Run(name, func(b *testing.B) { benchLargeUpdate(b, attrs, fresh) })
			}
		}
	}
}

func benchLargeUpdate(b *testing.B, attrs map[string]any, fresh bool) {
	srv := ifmatchtest.NewServer()
	defer srv.Close()
	ws := srv.AddWorkspace()
	sid := srv.AddTask(ws, attrs)
	w := srv.Client().Workspace(ws)
	ctx := context.Background()
	var opts []ifmatch.UpdateOption
	if fresh {
		opts = append(opts, ifmatch.FreshRead())
	}
	// A first update fills the cache and proves the body is under the cap.
	if _, err := w.UpdateTask(ctx, sid, setN(-1), opts...); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := w.UpdateTask(ctx, sid, setN(i), opts...); err != nil {
			b.Fatal(err)
		}
	}
}

// setN sets attribute "n" to n.
func setN(n int) ifmatch.TaskMutator {
	return func(t *ifmatch.Task) error {
		t.Attributes["n"] = n
		return nil
	}
}
