// Package ifmatchtest is the test kit of ifmatch: an in-memory Twilio
// (TaskRouter Tasks, Workers and reservations; Sync Documents, Lists and
// Maps) that keeps versions and ETags as Twilio does, answers 412 to a stale
// If-Match, and injects faults on demand. Use it three ways:
//
//   - [NewServer]: a real HTTP server on loopback (httptest), for tests and
//     for programs such as the contention demo;
//   - [Fake.MockClient]: the same fake behind an httpmock transport, with no
//     listener, placed under the client's retry layer;
//   - [NewMemoryWorkspace] and [NewMemorySync]: in-memory implementations of
//     [ifmatch.TaskAPI], [ifmatch.WorkerAPI] and [ifmatch.SyncAPI], no HTTP
//     at all, for unit tests of code that depends on those interfaces. They
//     keep the Client's contract (checked by the same contract tests).
//
// # Faults
//
// [Fake.Inject] scripts what a real network does to a request, for the first
// Fault.Count matching requests or for each with probability Fault.Rate
// (seeded by [WithSeed]); Fault.Method and Fault.PathContains narrow which
// requests match. Before commit (the resource is untouched): [Fail500],
// [Fail502], [Fail503], [RateLimit], [HTMLError], [Stall], [Slow]. After
// commit (the write is applied, the answer is spoiled): [DropAfterCommit],
// [TruncateAfterCommit], [CommitThen500], [CommitThen502], [CommitThen503],
// [CommitThen504], [CommitThenStall] (the answer waits until the client
// gives up), [NoETag] and [WeakETag] (a 2xx without a usable ETag, on reads
// too). And [LateCommit]: the request is answered 503 at once and applied
// Fault.Latency later, only if its If-Match still matches then. Call
// [Fake.Settle] before asserting on state after late commits; it waits for
// them instead of the test sleeping.
//
//	srv.Inject(ifmatchtest.Fault{Kind: ifmatchtest.LateCommit, Method: "POST", Count: 1, Latency: 30 * time.Millisecond})
//	_, err := client.Workspace(ws).UpdateTask(ctx, sid, fn)
//	srv.Settle()
//	attrs, version, _ := srv.TaskAttributes(ws, sid)
//
// # Throttling
//
// [WithConcurrencyLimit] caps the requests of the account served at once, as
// Twilio does under a flood: beyond the cap the fake answers 429 (code 20429)
// with Retry-After, logs the request with Fault [Throttled], and never lets it
// reach the resource. With [WithLatency], each request holds its slot for its
// whole round trip, so a flood of retries throttles itself.
//
//	srv := ifmatchtest.NewServer(ifmatchtest.WithLatency(2*time.Millisecond),
//		ifmatchtest.WithConcurrencyLimit(8, time.Second))
//
// # ETag styles
//
// By default ETags are Twilio's quoted integers ("3"). [WithETagStyle]
// switches every resource to bare integers, opaque hex strings or opaque
// decimal strings in no order ([ETagStyles] lists them), to check that a
// client treats ETags as opaque; If-Match is compared in the same style.
//
// # Tracing calls
//
// To know which call each write came from, tag the context of each call with
// [WithCall] and send requests through [Fake.CallTransport] (clients from
// [Server.Client] and [Fake.MockClient] do by default). The transport copies
// the tag into a request header ([CallHeader], or [WithCallHeader]) on every
// try, transport retries included; the fake records it on each [Request] and
// on each [Commit] of the commit log ([Fake.Commits]), which also gives the
// version before and after each write, its fault, and whether it landed late.
// A coalescing client sends several callers' mutations in one write, which
// carries only one of their tags.
//
//	hc := &http.Client{Transport: srv.CallTransport(nil), Timeout: time.Second}
//	c := srv.Client(ifmatch.WithHTTPClient(hc))
//	_, err := c.Workspace(ws).UpdateTask(ifmatchtest.WithCall(ctx, "call-7"), sid, fn)
//	srv.Settle()
//	for _, cm := range srv.Commits() {
//		if cm.Call == "call-7" { /* a write of call-7 landed */ }
//	}
package ifmatchtest

import (
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ifmatch-go/ifmatch/internal/jsonx"
)

// Test credentials the fake accepts. They are not secrets.
const (
	AccountSID = "AC00000000000000000000000000000000"
	AuthToken  = "ffffffffffffffffffffffffffffffff" // a fake token, shaped like a real one
)

// Fake is an in-memory Twilio. It is safe for concurrent use.
type Fake struct {
	mu         sync.Mutex
	base       string // absolute base URL used in url/links fields
	workspaces map[string]bool
	tasks      map[string]*taskRec // key: ws + "/" + sid
	workers    map[string]*workerRec
	resv       map[string]*resvRec // key: reservation SID
	services   map[string]bool
	syncObjs   map[string]*syncObj // key: see syncKey
	containers map[string]string   // "IS…/Lists/name" → the List's or Map's SID
	svcRecs    map[string]*syncService
	contRecs   map[string]*syncContainer // key: "IS…/Lists/ES…"
	contSeq    int
	specExact  bool
	apiKeys    map[string]string
	faults     []*faultState
	rng        *rand.Rand
	reqs       []Request
	latency    time.Duration
	now        func() time.Time
	etagStyle  ETagStyle
	etagSalt   uint64
	callHeader string
	commits    []Commit
	pending    int                   // late commits not yet run or dropped
	settled    *sync.Cond            // on mu; broadcast when pending drops to 0
	throttle   *throttle             // see WithConcurrencyLimit; nil when off
	gets       map[string]*servedGET // by URL: for StaleRead
}

// servedGET keeps the latest 2xx answer to a GET of one URL and the one
// before its ETag changed (what StaleRead serves).
type servedGET struct {
	latest, older *recorder
}

// Option configures a Fake or a Server.
type Option func(*Fake)

// WithLatency delays every answer by d, simulating a network round trip.
func WithLatency(d time.Duration) Option { return func(f *Fake) { f.latency = d } }

// WithSeed seeds the random source of rate-based faults, for reproducible runs.
func WithSeed(seed uint64) Option {
	return func(f *Fake) {
		f.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		f.etagSalt = seed * 0x9e3779b97f4a7c15
	}
}

// NewFake returns an in-memory Twilio with no listener; see [Fake.MockClient]
// and [Fake.ServeHTTP].
func NewFake(opts ...Option) *Fake {
	f := &Fake{
		base:       taskRouterHost,
		workspaces: map[string]bool{},
		tasks:      map[string]*taskRec{},
		workers:    map[string]*workerRec{},
		resv:       map[string]*resvRec{},
		services:   map[string]bool{},
		syncObjs:   map[string]*syncObj{},
		containers: map[string]string{},
		svcRecs:    map[string]*syncService{},
		contRecs:   map[string]*syncContainer{},
		apiKeys:    map[string]string{},
		rng:        rand.New(rand.NewPCG(1, 2)),
		now:        func() time.Time { return time.Now().UTC().Truncate(time.Second) },
		etagSalt:   0x5eed,
		callHeader: CallHeader,
	}
	f.settled = sync.NewCond(&f.mu)
	for _, o := range opts {
		o(f)
	}
	return f
}

// Request is one request the fake answered, for assertions.
type Request struct {
	Method  string
	Path    string
	IfMatch string
	Form    map[string][]string
	Status  int
	// Fault names the fault injected into this request, "" for none.
	Fault FaultKind
	// At is when the fake decided the request (after any simulated latency):
	// for a write, the moment it committed or was refused.
	At time.Time
	// Call is the value of the request's call header ([CallHeader] unless
	// set by [WithCallHeader]): the test's name for the call that sent it.
	Call string
}

// Requests returns a copy of the request log.
func (f *Fake) Requests() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.reqs...)
}

// Count returns how many logged requests have the given method ("" for any).
func (f *Fake) Count(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.reqs {
		if method == "" || r.Method == method {
			n++
		}
	}
	return n
}

// CountStatus returns how many logged requests were answered with status.
func (f *Fake) CountStatus(status int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.reqs {
		if r.Status == status {
			n++
		}
	}
	return n
}

// ResetLog empties the request log and the commit log.
func (f *Fake) ResetLog() {
	f.mu.Lock()
	f.reqs = nil
	f.commits = nil
	f.mu.Unlock()
}

// NewSID returns a random SID with the given two-letter prefix.
func NewSID(prefix string) string {
	var b [16]byte
	_, _ = crand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// AddWorkspace creates a workspace and returns its SID.
func (f *Fake) AddWorkspace() string {
	sid := NewSID("WS")
	f.mu.Lock()
	f.workspaces[sid] = true
	f.mu.Unlock()
	return sid
}

// AddAPIKey creates an API key the fake accepts and returns its SID and secret.
func (f *Fake) AddAPIKey() (sid, secret string) {
	sid, secret = NewSID("SK"), NewSID("secret")
	f.mu.Lock()
	f.apiKeys[sid] = secret
	f.mu.Unlock()
	return sid, secret
}

// taskRec is a stored Task.
type taskRec struct {
	sid, ws          string
	version          int
	attributes       string
	status           string
	priority         int
	reason           string
	timeout          int
	channelSID       string
	channelName      string
	workflowSID      string
	queueSID         string
	created, updated time.Time
	virtualStart     time.Time
	routingTarget    string
	ignoreCapacity   bool
}

// AddTask seeds a Task with attributes (nil: {}) in workspace ws and returns
// its SID. Its version (ETag) starts at 0. opts set other fields, for example
// TaskPriority(5) or TaskStatus(ifmatch.TaskAssigned).
func (f *Fake) AddTask(ws string, attributes map[string]any, opts ...TaskOption) string {
	s := mustEncode("AddTask attributes", attributes)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.workspaces[ws] = true
	rec := f.newTask(ws)
	rec.attributes = s
	var seed TaskSeed
	for _, o := range opts {
		o(&seed)
	}
	seed.applyToRec(rec)
	return rec.sid
}

func (f *Fake) newTask(ws string) *taskRec {
	now := f.now()
	rec := &taskRec{sid: NewSID("WT"), ws: ws, status: "pending", timeout: 86400, created: now, updated: now,
		channelSID: "TC" + strings.Repeat("0", 32), channelName: "default", attributes: "{}",
		workflowSID: "WW" + strings.Repeat("0", 32), queueSID: "WQ" + strings.Repeat("0", 32), virtualStart: now}
	f.tasks[ws+"/"+rec.sid] = rec
	return rec
}

// TaskAttributes returns a Task's current attributes (numbers as
// json.Number) and version, or ok=false if there is no such Task.
func (f *Fake) TaskAttributes(ws, sid string) (attrs map[string]any, version int, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rec, ok := f.tasks[ws+"/"+sid]
	if !ok {
		return nil, 0, false
	}
	m, _ := jsonx.DecodeObject(rec.attributes)
	return m, rec.version, true
}

// SetTaskAttributes overwrites a Task's attributes as another writer would,
// bumping its version. Nil attributes are stored as {}, as for
// [Fake.SetWorkerAttributes]. It reports whether the Task exists.
func (f *Fake) SetTaskAttributes(ws, sid string, attrs map[string]any) bool {
	s := mustEncode("SetTaskAttributes", attrs)
	f.mu.Lock()
	defer f.mu.Unlock()
	rec, ok := f.tasks[ws+"/"+sid]
	if ok {
		rec.attributes = s
		rec.version++
		rec.updated = f.now()
	}
	return ok
}

// twilioError is Twilio's JSON error body.
type twilioError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

func writeError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(twilioError{Code: code, Message: msg,
		MoreInfo: "https://www.twilio.com/docs/errors/" + strconv.Itoa(code), Status: status})
}
