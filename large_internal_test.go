package ifmatch

import (
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"testing"

	"github.com/ifmatch-go/ifmatch/internal/jsonx"
)

// What every attempt of an update loop does between the mutator and the
// wire (compare the Task with the mutated copy, encode the change, build the
// form body) costs a bounded multiple of the attributes' JSON, for the
// costliest shape (tiny keys): about 10x (Go 1.23 and 1.26). It was 17x
// when comparing the copy made a big.Rat of every number, and about 25x
// with the form body's three extra copies. (Not parallel: it measures the
// process's allocations. The whole update: BenchmarkLargeUpdate.)
func TestDiffAllocationBound(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"n":0`)
	for i := 0; b.Len() < 900<<10; i++ {
		fmt.Fprintf(&b, `,"k%d":%d`, i, i)
	}
	b.WriteString("}")
	attrs, err := jsonx.DecodeObject(b.String())
	if err != nil {
		t.Fatal(err)
	}
	base := &Task{SID: "WT1", Attributes: attrs, ETag: `"1"`}
	work := base.Clone()
	work.Attributes["n"] = 1
	perAttempt := uint64(1 << 62)
	for i := 0; i < 3; i++ { // the least of three: another test's goroutine may allocate meanwhile
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		form, err := diffTask(base, work)
		if err != nil || form == nil {
			t.Fatalf("diff = %v, %v", form, err)
		}
		body := encodeForm(form)
		runtime.ReadMemStats(&m1)
		perAttempt = min(perAttempt, m1.TotalAlloc-m0.TotalAlloc)
		if len(body) < b.Len() {
			t.Fatalf("body of %d bytes for %d of JSON", len(body), b.Len())
		}
	}
	t.Logf("%d bytes of JSON: %d bytes allocated (%.1fx)", b.Len(), perAttempt, float64(perAttempt)/float64(b.Len()))
	if limit := 14 * uint64(b.Len()); perAttempt > limit {
		t.Errorf("diff and form body allocated %d bytes, limit %d (14x the JSON)", perAttempt, limit)
	}
}

// encodeForm allocates its keys and the body, whatever the form's size.
func TestEncodeFormAllocations(t *testing.T) {
	f := url.Values{"Attributes": {strings.Repeat(`{"a b":"<&>"},`, 10000)}, "Priority": {"5"}, "Reason": {"x y"}}
	if n := testing.AllocsPerRun(10, func() { encodeForm(f) }); n > 2 {
		t.Errorf("encodeForm: %v allocations, want 2", n)
	}
}
