package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ifmatch-go/ifmatch"
)

// metrics is a tiny ifmatch.Observer that counts what otelifmatch would
// export, under the same metric names, without OpenTelemetry (this example
// is in the root module, which does not depend on it). With otelifmatch, a
// dashboard shows these numbers.
type metrics struct {
	ifmatch.NopObserver
	mu        sync.Mutex
	updates   map[ifmatch.Outcome]int
	attempts  map[int]int // attempts per call → calls
	conflicts int
	readBacks int
	backoffs  int
	backoff   time.Duration
	rounds    map[int]int // callers per coalesced round → rounds
	queueWait time.Duration
	queued    int
	retries   map[int]int // status of the retried try (0: no answer) → retries
}

func newMetrics() *metrics {
	return &metrics{updates: map[ifmatch.Outcome]int{}, attempts: map[int]int{}, rounds: map[int]int{}, retries: map[int]int{}}
}

// UpdateEvent counts 412s, read-backs, backoffs and queueing.
func (m *metrics) UpdateEvent(_ context.Context, _ ifmatch.UpdateCall, e ifmatch.UpdateEvent) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch e.Kind {
	case ifmatch.EventAttempt:
		if e.Status == 412 {
			m.conflicts++
		}
	case ifmatch.EventReadBack:
		m.readBacks++
	case ifmatch.EventBackoff:
		m.backoffs++
		m.backoff += e.Wait
	case ifmatch.EventQueued:
		m.queued++
		m.queueWait += e.Wait
		if e.Lead {
			m.rounds[e.Callers]++
		}
	}
}

// EndUpdate counts the call's outcome and attempts.
func (m *metrics) EndUpdate(_ context.Context, _ ifmatch.UpdateCall, e ifmatch.UpdateEnd) {
	m.mu.Lock()
	m.updates[e.Outcome]++
	m.attempts[e.Attempts]++
	m.mu.Unlock()
}

// TransportRetry counts a retried try by its status.
func (m *metrics) TransportRetry(_ context.Context, r ifmatch.RetryInfo) {
	m.mu.Lock()
	m.retries[r.Status]++
	m.mu.Unlock()
}

// print writes the totals, named as otelifmatch's metrics.
func (m *metrics) print(w io.Writer, name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fmt.Fprintf(w, "\nmetrics, %s (the names otelifmatch exports):\n", name)
	var outcomes []string
	for _, o := range []ifmatch.Outcome{ifmatch.OutcomeUpdated, ifmatch.OutcomeUnchanged, ifmatch.OutcomeConflict, ifmatch.OutcomeUnknown, ifmatch.OutcomeError} {
		if n := m.updates[o]; n > 0 {
			outcomes = append(outcomes, fmt.Sprintf("%s=%d", o, n))
		}
	}
	fmt.Fprintf(w, "  ifmatch.updates            %s\n", strings.Join(outcomes, " "))
	fmt.Fprintf(w, "  ifmatch.conflicts          %d\n", m.conflicts)
	fmt.Fprintf(w, "  ifmatch.outcome.unknown    %d\n", m.updates[ifmatch.OutcomeUnknown])
	fmt.Fprintf(w, "  ifmatch.read_backs         %d\n", m.readBacks)
	fmt.Fprintf(w, "  ifmatch.backoff.wait       count=%d sum=%s\n", m.backoffs, m.backoff.Round(time.Millisecond))
	fmt.Fprintf(w, "  ifmatch.queue.wait         count=%d sum=%s\n", m.queued, m.queueWait.Round(time.Millisecond))
	fmt.Fprintf(w, "  ifmatch.transport.retries  %s\n", histogram(m.retries, "status "))
	fmt.Fprintf(w, "  ifmatch.update.attempts    %s\n", histogram(m.attempts, ""))
	fmt.Fprintf(w, "  ifmatch.coalesced.callers  %s\n", histogram(m.rounds, ""))
}

// histogram renders value:count pairs in value order, with a bar each.
func histogram(h map[int]int, label string) string {
	if len(h) == 0 {
		return "none"
	}
	keys := make([]int, 0, len(h))
	total := 0
	for k, n := range h {
		keys = append(keys, k)
		total += n
	}
	slices.Sort(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "count=%d", total)
	for _, k := range keys {
		bar := strings.Repeat("#", max(1, h[k]*40/total))
		fmt.Fprintf(&b, "\n      %s%4d: %5d %s", label, k, h[k], bar)
	}
	return b.String()
}
