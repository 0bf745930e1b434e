package ifmatch

import (
	"context"
	"testing"
)

// Without an observer, every hook of observe.go is a nil check: no
// allocation (BenchmarkUpdateObserver measures a whole call).
func TestObserverHooksFreeWhenUnused(t *testing.T) {
	c := &Client{}
	ops := (&resourceOps[Task]{key: "/Workspaces/WS/Tasks/WT"}).named("UpdateTask", "Task")
	u := &update[Task]{c: c, ops: ops, ctx: context.Background()}
	batch := []*member{{ctx: context.Background()}}
	ctx := context.Background()
	allocs := testing.AllocsPerRun(1000, func() {
		var cfg updateConfig
		cctx, oc := startObserved(ctx, c, ops, &cfg)
		if cctx != ctx || oc != nil || cfg.observer != nil {
			t.Fatal("an unobserved call changed")
		}
		_ = c.queuedAt()
		c.observeQueued(ops.call(), batch)
		u.event(UpdateEvent{Kind: EventAttempt, Attempt: 1, Status: 200})
		u.event(UpdateEvent{Kind: EventBackoff})
		u.observeRead(1, nil)
		oc.end(Updated, nil)
	})
	if allocs != 0 {
		t.Fatalf("hooks without an observer allocate %v times per call", allocs)
	}
}
