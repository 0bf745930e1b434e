package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/ifmatchtest"
)

// BenchmarkUpdateTask measures the per-call cost of one uncontended update
// (increment a counter attribute) on the in-process fake with no added
// latency: ifmatch's UpdateTask, with its ETag cache (one POST) and with
// FreshRead (GET + POST, the same requests as the hand loop) and with Fair
// (one POST, after waiting out the round trip of the call before), against a
// hand-written FetchTaskWithMetadata + UpdateTaskWithMetadata(IfMatch) loop
// over twilio-go v1.31. Compare with benchstat:
//
//	go test -run '^$' -bench UpdateTask -benchmem -count 10 . | tee new.txt
func BenchmarkUpdateTask(b *testing.B) {
	srv := ifmatchtest.NewServer()
	defer srv.Close()
	ws := srv.AddWorkspace()
	sid := srv.AddTask(ws, map[string]any{"n": 0, "customer": map[string]any{"id": "C-1", "tier": "gold"}})
	ctx := context.Background()
	b.Run("ifmatch", func(b *testing.B) {
		w := srv.Client(ifmatch.WithHTTPClient(&http.Client{Transport: newTransport()})).Workspace(ws)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := w.UpdateTask(ctx, sid, increment); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ifmatch-FreshRead", func(b *testing.B) {
		w := srv.Client(ifmatch.WithHTTPClient(&http.Client{Transport: newTransport()})).Workspace(ws)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := w.UpdateTask(ctx, sid, increment, ifmatch.FreshRead()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ifmatch-Fair", func(b *testing.B) { // back to back: each call waits out its own write's round trip
		w := srv.Client(ifmatch.WithHTTPClient(&http.Client{Transport: newTransport()})).Workspace(ws)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := w.UpdateTask(ctx, sid, increment, ifmatch.Fair()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("twilio-go", func(b *testing.B) {
		inc := twilioGoLoop(srv, ws, sid)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if err := inc(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestStrategiesSmoke runs every strategy of the grid once, small, so CI
// keeps the harness working: each must reach the right count, but the naive
// one.
func TestStrategiesSmoke(t *testing.T) {
	for _, s := range strategies() {
		r := run(s, 4, 4, scenario{}, nil)
		if s.name != "naive (no If-Match)" && (r.failed != 0 || r.commits != 16) {
			t.Errorf("%s: %d failed, %d commits, want 0 and 16", s.name, r.failed, r.commits)
		}
	}
}

// TestTrace checks the -trace breakdown against the run it describes.
func TestTrace(t *testing.T) {
	for _, s := range strategies() {
		if s.name != "ifmatch, separate clients" {
			continue
		}
		var out strings.Builder
		r := run(s, 4, 4, scenario{latency: time.Millisecond}, func(reqs []ifmatchtest.Request) { printTrace(&out, s.name, time.Millisecond, reqs) })
		got := out.String()
		if want := fmt.Sprintf("%s: %d requests for 16 commits", s.name, r.requests); !strings.HasPrefix(got, want) {
			t.Errorf("trace %q does not start with %q", got, want)
		}
		if n := strings.Count(got, "\n  commits "); n != 8 {
			t.Errorf("trace has %d eighths, want 8:\n%s", n, got)
		}
		return
	}
	t.Fatal("no ifmatch strategy in the grid")
}
