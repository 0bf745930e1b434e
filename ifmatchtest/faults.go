package ifmatchtest

import (
	"net/http"
	"strings"
	"time"
)

// FaultKind names a fault the fake can inject.
type FaultKind string

// The faults. "Before commit" faults leave the resource untouched; "after
// commit" faults apply the write and then spoil the answer.
const (
	// Fail500, Fail502 and Fail503 answer that status before commit.
	Fail500 FaultKind = "500"
	Fail502 FaultKind = "502"
	Fail503 FaultKind = "503"
	// RateLimit answers 429 (Twilio code 20429) before commit.
	RateLimit FaultKind = "429"
	// HTMLError answers 502 with an HTML page, as a proxy would.
	HTMLError FaultKind = "html-502"
	// DropAfterCommit applies the write, then closes the connection without
	// answering.
	DropAfterCommit FaultKind = "drop-after-commit"
	// TruncateAfterCommit applies the write, then sends a cut-off body.
	TruncateAfterCommit FaultKind = "truncate-after-commit"
	// Stall holds the request without committing until the client gives up:
	// until the try's timeout (30 s, [ifmatch.DefaultTryTimeout], for
	// clients from [Server.Client] and [Fake.MockClient]) or the call's
	// context ends. A test that injects it should give the call a context
	// with a short deadline (or the client a shorter per-try timeout), else
	// each stalled try takes 30 s and ends in "context deadline exceeded".
	Stall FaultKind = "stall"
	// Slow adds Fault.Latency before handling the request normally.
	Slow FaultKind = "slow"

	// CommitThen500, CommitThen502, CommitThen503 and CommitThen504 handle
	// the request normally (a write is applied) and then, if it succeeded,
	// answer that status with Twilio's JSON error body instead, as a gateway
	// that lost the origin's answer does. The client cannot tell them from
	// the before-commit Fail5xx faults.
	CommitThen500 FaultKind = "commit-then-500"
	CommitThen502 FaultKind = "commit-then-502"
	CommitThen503 FaultKind = "commit-then-503"
	CommitThen504 FaultKind = "commit-then-504"
	// CommitThen412 handles the request normally (a write is applied) and
	// then, if it succeeded, answers 412 (Twilio code 20412), as a proxy
	// that retried the POST after its first copy committed answers with the
	// second copy's refusal. Real Twilio never does this itself. Only
	// [ifmatch.CommitMarkers] tell it from a conflict (or an
	// [ifmatch.Idempotent] mutator makes it harmless): without them an
	// update loop applies its mutation again.
	CommitThen412 FaultKind = "commit-then-412"
	// StaleRead answers a GET with an older answer of the same URL: the last
	// one the fake gave before the resource's current version was first
	// served (status, headers and body), as a replica or cache a little
	// behind would; a URL served at one version only is answered normally.
	// On other methods it does nothing. Real Twilio is not known to do this.
	StaleRead FaultKind = "stale-read"
	// LateCommit answers a POST or DELETE 503 at once, without applying it,
	// then applies it Fault.Latency later (default 20ms) exactly as if it
	// arrived then: only if its If-Match still matches the resource (a write
	// without If-Match always applies). The late write is in [Fake.Commits]
	// with Late set, not in the request log. Call [Fake.Settle] before
	// asserting on state. On a GET it is a plain 503.
	LateCommit FaultKind = "late-commit"
	// CommitThenStall handles the request normally (a write is applied),
	// then holds the answer until the request's context ends (the client's
	// per-try timeout or the call's deadline) and drops the connection; with
	// Fault.Latency set, it answers normally after that long if the client
	// is still waiting. As with [Stall], the per-try timeout of clients from
	// [Server.Client] and [Fake.MockClient] is 30 s: give the call a short
	// deadline.
	CommitThenStall FaultKind = "commit-then-stall"
	// NoETag answers a successful request (GET or write) without its ETag
	// header.
	NoETag FaultKind = "no-etag"
	// WeakETag answers a successful request (GET or write) with its ETag
	// made weak: W/"<token>". A weak ETag never matches If-Match.
	WeakETag FaultKind = "weak-etag"
)

// Fault scripts one injected failure. It applies to requests matching Method
// ("" for any) and PathContains ("" for any): to the first Count of them
// (Count > 0), or to each with probability Rate (from the seeded source; see
// [WithSeed]).
type Fault struct {
	Kind         FaultKind
	Method       string
	PathContains string
	Count        int
	Rate         float64
	// RetryAfter, when set, is sent as Retry-After (whole seconds) with
	// 429 and 503 answers.
	RetryAfter time.Duration
	// Latency is the delay of a Slow fault, of a LateCommit's write, and of
	// a CommitThenStall's answer.
	Latency time.Duration
}

type faultState struct {
	Fault
	left int
}

// Inject adds a fault. Faults are checked in the order added; the first that
// applies to a request wins.
func (f *Fake) Inject(ft Fault) {
	f.mu.Lock()
	f.faults = append(f.faults, &faultState{Fault: ft, left: ft.Count})
	f.mu.Unlock()
}

// ClearFaults removes every fault.
func (f *Fake) ClearFaults() {
	f.mu.Lock()
	f.faults = nil
	f.mu.Unlock()
}

// pickFault returns the fault for a request, or nil. Called with f.mu held.
func (f *Fake) pickFault(r *http.Request) *Fault {
	for _, fs := range f.faults {
		if fs.Method != "" && fs.Method != r.Method {
			continue
		}
		if fs.PathContains != "" && !strings.Contains(r.URL.Path, fs.PathContains) {
			continue
		}
		if fs.Count > 0 {
			if fs.left == 0 {
				continue
			}
			fs.left--
			ft := fs.Fault
			return &ft
		}
		if fs.Rate > 0 && f.rng.Float64() < fs.Rate {
			ft := fs.Fault
			return &ft
		}
	}
	return nil
}
