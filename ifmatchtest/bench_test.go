package ifmatchtest_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/ifmatchtest"
)

// BenchmarkFakeServer measures the fake's throughput on loopback with no
// added latency: parallel Task reads and conditional writes through ifmatch
// clients. req/s is reported beside ns/op.
//
//	go test -run '^$' -bench FakeServer -count 5 ./ifmatchtest/
func BenchmarkFakeServer(b *testing.B) {
	srv := ifmatchtest.NewServer()
	defer srv.Close()
	ws := srv.AddWorkspace()
	sid := srv.AddTask(ws, map[string]any{"n": 0})
	for _, bc := range []struct {
		name string
		op   func(w ifmatch.Workspace) error
	}{
		{"GET", func(w ifmatch.Workspace) error { _, err := w.FetchTask(context.Background(), sid); return err }},
		{"POST", func(w ifmatch.Workspace) error {
			p := 1
			_, err := w.UpdateTaskLastWriteWins(context.Background(), sid, ifmatch.TaskUpdate{Priority: &p})
			return err
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c := srv.Client(ifmatch.WithHTTPClient(&http.Client{}))
			w := c.Workspace(ws)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := bc.op(w); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}
