package ifmatchtest

import (
	"context"
	"fmt"
	"iter"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/internal/inputcheck"
	"github.com/ifmatch-go/ifmatch/internal/jsonx"
)

// This file holds MemoryWorkspace, an in-memory implementation of
// ifmatch.TaskAPI and ifmatch.WorkerAPI for unit tests (MemorySync, of
// ifmatch.SyncAPI, is in memsync.go). Their update loops are ifmatch's own
// ([ifmatch.RunUpdate]), so every UpdateOption behaves exactly as with a
// Client; the contract tests in contract_test.go run the same table against
// them and against a real Client talking to the fake server.

// MemoryWorkspace is an in-memory TaskRouter workspace: it implements
// [ifmatch.TaskAPI] and [ifmatch.WorkerAPI] with the contract of
// [ifmatch.Workspace], without HTTP:
//
//   - values handed out are deep copies; numbers in attributes are kept
//     exactly (json.Number), as they come back from Twilio;
//   - every update loop is ifmatch's ([ifmatch.RunUpdate]): mutators get a
//     copy, their errors come back wrapped in [ifmatch.ErrMutatorAborted],
//     read-only fields are refused, a mutator that changes nothing writes
//     nothing, and every option ([ifmatch.ReportResult],
//     [ifmatch.IdempotencyKey], [ifmatch.CommitMarkers], [ifmatch.OnAttempt],
//     [ifmatch.MaxAttempts]…) is honoured;
//   - a missing resource is an [*ifmatch.APIError] with status 404 (it
//     matches [ifmatch.ErrNotFound]); a stale ETag one with status 412; a
//     malformed SID or bad input matches [ifmatch.ErrInvalidArgument].
//
// Versions (ETags) start at "0" and grow by one per write, as with the fake
// server. Lists return Tasks without attributes and ETag, as Twilio does.
// They are filtered and ordered by the fake server's own code (filters.go):
// every filter and Ordering the fake applies is applied the same way,
// including WorkflowName, TaskQueueName, RoutingTarget and HasAddons, and
// what the fake refuses (EvaluateTaskAttributes, TargetWorkersExpression,
// Workers' TaskQueueSID and TaskQueueName, a malformed Ordering) is refused
// with the error a Client gets for the fake's 400: an [*ifmatch.APIError]
// with status 400 and code 20001 naming the parameter (it matches no
// sentinel). Input the Client checks before sending (SIDs, statuses, a
// PageSize outside 1-1000) matches [ifmatch.ErrInvalidArgument], by the
// Client's own page-size check. Reservation updates record
// ReservationStatus only. A call whose context has ended returns
// its error and writes nothing, as a Client's does. It is safe for
// concurrent use.
type MemoryWorkspace struct {
	mu      sync.Mutex
	sid     string
	seq     int
	tasks   map[string]*memEntry[ifmatch.Task]
	workers map[string]*memEntry[ifmatch.Worker]
	resv    map[string]*memEntry[ifmatch.Reservation]
	writes  int
}

// memEntry is one stored resource and its creation order.
type memEntry[T any] struct {
	v   *T
	seq int
}

var (
	_ ifmatch.TaskAPI   = (*MemoryWorkspace)(nil)
	_ ifmatch.WorkerAPI = (*MemoryWorkspace)(nil)
)

// NewMemoryWorkspace returns an empty in-memory workspace with a new SID.
func NewMemoryWorkspace() *MemoryWorkspace {
	return &MemoryWorkspace{sid: NewSID("WS"), tasks: map[string]*memEntry[ifmatch.Task]{},
		workers: map[string]*memEntry[ifmatch.Worker]{}, resv: map[string]*memEntry[ifmatch.Reservation]{}}
}

// SID returns the workspace's SID.
func (m *MemoryWorkspace) SID() string { return m.sid }

// Writes returns how many writes (creates, updates, deletes) landed: a test
// asserts with it that a call wrote nothing.
func (m *MemoryWorkspace) Writes() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.writes
}

func memNow() time.Time { return time.Now().UTC().Truncate(time.Second) }

// memETag returns the ETag of version n; memVersion reads one back.
func memETag(n int) string { return `"` + strconv.Itoa(n) + `"` }

func memVersion(etag string) int {
	n, _ := strconv.Atoi(strings.Trim(etag, `"`))
	return n
}

// Errors as the Client reports them.
func memNotFound(method, what string) error {
	return &ifmatch.APIError{Status: http.StatusNotFound, Code: 20404, Method: method,
		Message: "The requested resource " + what + " was not found"}
}

func memStale(method string, code int) error {
	return &ifmatch.APIError{Status: http.StatusPreconditionFailed, Code: code, Method: method,
		Message: "The If-Match header does not match the resource's current version"}
}

func memInvalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ifmatch.ErrInvalidArgument}, args...)...)
}

func memCheckSID(what, prefix, sid string) error {
	if !validSID(prefix, sid) {
		return memInvalid("%s %q is malformed: want %s followed by 32 hex digits", what, trunc(sid), prefix)
	}
	return nil
}

// memCheckETag refuses what the Client refuses as an If-Match.
func memCheckETag(etag string) error {
	return inputcheck.CheckIfMatch(ifmatch.ErrInvalidArgument, ifmatch.ErrNoETag, etag)
}

// memMatches compares an If-Match with a stored ETag as the fake server
// does: quoted or bare.
func memMatches(ifMatch, stored string) bool {
	return strings.Trim(strings.TrimSpace(ifMatch), `"`) == strings.Trim(stored, `"`)
}

func trunc(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// exactObject returns a deep copy of m as Twilio would send it back: numbers
// as json.Number, nil as {}.
func exactObject(m map[string]any) (map[string]any, error) {
	if m == nil {
		return map[string]any{}, nil
	}
	s, err := jsonx.Encode(m)
	if err != nil {
		return nil, memInvalid("the object cannot be encoded as JSON: %v", err)
	}
	out, err := jsonx.DecodeObject(s)
	if err != nil {
		return nil, memInvalid("not a JSON object: %v", err)
	}
	if out == nil {
		out = map[string]any{}
	}
	return out, nil
}

func mustExact(m map[string]any) map[string]any {
	out, err := exactObject(m)
	if err != nil {
		panic("ifmatchtest: " + err.Error())
	}
	return out
}

// memLoop runs ifmatch's update loop on one stored resource. get and put
// are called with mu held; put stores the new version (already a copy).
func memLoop[T ifmatch.Resource](ctx context.Context, mu *sync.Mutex, get func() (*T, error), put func(next *T) (*T, error),
	etag func(*T) *string, clone func(*T) *T, mismatch int, mutate func(*T) error, opts []ifmatch.UpdateOption) (*T, error) {
	fetch := func(context.Context) (*T, error) {
		mu.Lock()
		defer mu.Unlock()
		v, err := get()
		if err != nil {
			return nil, err
		}
		return clone(v), nil
	}
	write := func(_ context.Context, tag string, next *T) (*T, error) {
		mu.Lock()
		defer mu.Unlock()
		cur, err := get()
		if err != nil {
			return nil, err
		}
		if !memMatches(tag, *etag(cur)) {
			return nil, memStale(http.MethodPost, mismatch)
		}
		*etag(next) = memETag(memVersion(*etag(cur)) + 1)
		stored, err := put(next)
		if err != nil {
			return nil, err
		}
		return clone(stored), nil
	}
	return ifmatch.RunUpdate(ctx, fetch, write, mutate, opts...)
}

// ---- Tasks ----

// AddTask seeds a Task with attributes (nil: {}) and the given fields, and
// returns its SID. Its version starts at "0".
func (m *MemoryWorkspace) AddTask(attributes map[string]any, opts ...TaskOption) string {
	var seed TaskSeed
	for _, o := range opts {
		o(&seed)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.newTask(mustExact(attributes))
	seed.applyTo(t)
	return t.SID
}

func (s *TaskSeed) applyTo(t *ifmatch.Task) {
	if s.Priority != nil {
		t.Priority = *s.Priority
	}
	if s.AssignmentStatus != "" {
		t.AssignmentStatus = s.AssignmentStatus
	}
	if s.TaskQueueSID != "" {
		t.TaskQueueSID = s.TaskQueueSID
	}
	if s.WorkflowSID != "" {
		t.WorkflowSID = s.WorkflowSID
	}
	if s.TaskChannel != "" {
		t.TaskChannelUniqueName = s.TaskChannel
	}
	if s.Timeout != 0 {
		t.Timeout = s.Timeout
	}
	if s.Reason != "" {
		t.Reason = s.Reason
	}
}

// newTask stores a new Task with the fake server's defaults. Called with mu held.
func (m *MemoryWorkspace) newTask(attrs map[string]any) *ifmatch.Task {
	now := memNow()
	sid := NewSID("WT")
	t := &ifmatch.Task{SID: sid, AccountSID: AccountSID, WorkspaceSID: m.sid, AssignmentStatus: ifmatch.TaskPending,
		Attributes: attrs, DateCreated: now, DateUpdated: now, TaskQueueEnteredDate: now, Timeout: 86400,
		TaskChannelSID: "TC" + strings.Repeat("0", 32), TaskChannelUniqueName: "default",
		WorkflowSID: "WW" + strings.Repeat("0", 32), TaskQueueSID: "WQ" + strings.Repeat("0", 32),
		WorkflowFriendlyName: defaultWorkflowName, TaskQueueFriendlyName: defaultQueueName,
		VirtualStartTime: now, URL: "https://taskrouter.twilio.com/v1/Workspaces/" + m.sid + "/Tasks/" + sid,
		ETag: memETag(0)}
	m.seq++
	m.tasks[sid] = &memEntry[ifmatch.Task]{v: t, seq: m.seq}
	return t
}

// Task returns a copy of a stored Task, or ok=false.
func (m *MemoryWorkspace) Task(sid string) (t *ifmatch.Task, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.tasks[sid]
	if !ok {
		return nil, false
	}
	return e.v.Clone(), true
}

// SetTaskAttributes overwrites a Task's attributes as another writer would,
// bumping its version. It reports whether the Task exists.
func (m *MemoryWorkspace) SetTaskAttributes(sid string, attrs map[string]any) bool {
	a := mustExact(attrs)
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.tasks[sid]
	if ok {
		e.v.Attributes = a
		m.bump(&e.v.ETag, &e.v.DateUpdated)
	}
	return ok
}

// bump moves a stored resource to its next version. Called with mu held.
func (m *MemoryWorkspace) bump(etag *string, updated *time.Time) {
	*etag = memETag(memVersion(*etag) + 1)
	*updated = memNow()
	m.writes++
}

func (m *MemoryWorkspace) task(method, sid string) (*memEntry[ifmatch.Task], error) {
	e, ok := m.tasks[sid]
	if !ok {
		return nil, memNotFound(method, "Task "+sid)
	}
	return e, nil
}

// FetchTask implements [ifmatch.TaskAPI].
func (m *MemoryWorkspace) FetchTask(ctx context.Context, sid string) (*ifmatch.Task, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := memCheckSID("task SID", "WT", sid); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.task(http.MethodGet, sid)
	if err != nil {
		return nil, err
	}
	return e.v.Clone(), nil
}

// CreateTask implements [ifmatch.TaskAPI].
func (m *MemoryWorkspace) CreateTask(ctx context.Context, p ifmatch.TaskCreate) (*ifmatch.Task, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	attrs, err := exactObject(p.Attributes)
	if err != nil {
		return nil, err
	}
	for _, s := range [][3]string{{"workflow SID", "WW", p.WorkflowSID}, {"task queue SID", "WQ", p.TaskQueueSID}} {
		if s[2] != "" {
			if err := memCheckSID(s[0], s[1], s[2]); err != nil {
				return nil, err
			}
		}
	}
	if p.Timeout < 0 {
		return nil, &ifmatch.APIError{Status: http.StatusBadRequest, Code: 20001, Method: http.MethodPost,
			Message: "Timeout must be a positive integer"}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	t := m.newTask(attrs)
	if p.Priority != nil {
		t.Priority = *p.Priority
	}
	if p.Timeout != 0 {
		t.Timeout = p.Timeout
	}
	setChannel(t, p.TaskChannel)
	if p.WorkflowSID != "" {
		t.WorkflowSID = p.WorkflowSID
	}
	if p.TaskQueueSID != "" {
		t.TaskQueueSID = p.TaskQueueSID
	}
	if !p.VirtualStartTime.IsZero() {
		t.VirtualStartTime = p.VirtualStartTime.UTC().Truncate(time.Second)
	}
	t.RoutingTarget = p.RoutingTarget
	if p.IgnoreCapacity != nil {
		t.IgnoreCapacity = *p.IgnoreCapacity
	}
	m.writes++
	return t.Clone(), nil
}

func setChannel(t *ifmatch.Task, ch string) {
	switch {
	case ch == "":
	case strings.HasPrefix(ch, "TC"):
		t.TaskChannelSID = ch
	default:
		t.TaskChannelUniqueName = ch
	}
}

var memTaskStatuses = []ifmatch.TaskStatus{ifmatch.TaskPending, ifmatch.TaskReserved, ifmatch.TaskAssigned,
	ifmatch.TaskCanceled, ifmatch.TaskCompleted, ifmatch.TaskWrapping}

// ListTasks implements [ifmatch.TaskAPI] with the fake server's filters
// and Ordering (filters.go), refusing what the fake refuses.
func (m *MemoryWorkspace) ListTasks(ctx context.Context, p *ifmatch.TaskListParams) iter.Seq2[*ifmatch.Task, error] {
	return ctxSeq(ctx, m.listTasks(p))
}

func (m *MemoryWorkspace) listTasks(p *ifmatch.TaskListParams) iter.Seq2[*ifmatch.Task, error] {
	q, err := memTaskQuery(p)
	if err != nil {
		return errSeq[ifmatch.Task](err)
	}
	keep, less, msg := taskFilter(q)
	if msg != "" {
		return errSeq[ifmatch.Task](memBadQuery(msg))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return memList(m.tasks, taskView, keep, less, func(t *ifmatch.Task) *ifmatch.Task {
		c := t.Clone()
		c.Attributes, c.ETag = nil, "" // as Twilio lists them
		return c
	})
}

func errSeq[T any](err error) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) { yield(nil, err) }
}

// seqOf yields the entries' values in creation order.
func seqOf[T any](es []*memEntry[T]) iter.Seq2[*T, error] {
	sort.Slice(es, func(i, j int) bool { return es[i].seq < es[j].seq })
	return func(yield func(*T, error) bool) {
		for _, e := range es {
			if !yield(e.v, nil) {
				return
			}
		}
	}
}

// UpdateTask implements [ifmatch.TaskAPI] with ifmatch's own update loop.
func (m *MemoryWorkspace) UpdateTask(ctx context.Context, sid string, mutate ifmatch.TaskMutator, opts ...ifmatch.UpdateOption) (*ifmatch.Task, error) {
	if err := memCheckSID("task SID", "WT", sid); err != nil {
		return nil, err
	}
	return memLoop(ctx, &m.mu, func() (*ifmatch.Task, error) {
		e, err := m.task(http.MethodGet, sid)
		if err != nil {
			return nil, err
		}
		return e.v, nil
	}, func(next *ifmatch.Task) (*ifmatch.Task, error) {
		e, _ := m.task(http.MethodPost, sid)
		attrs, err := exactObject(next.Attributes)
		if err != nil {
			return nil, err
		}
		next.Attributes, next.DateUpdated = attrs, memNow()
		e.v = next
		m.writes++
		return next, nil
	}, func(t *ifmatch.Task) *string { return &t.ETag }, (*ifmatch.Task).Clone, 20412, mutate, opts)
}

// UpdateTaskIf implements [ifmatch.TaskAPI].
func (m *MemoryWorkspace) UpdateTaskIf(ctx context.Context, sid, etag string, u ifmatch.TaskUpdate) (*ifmatch.Task, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := memCheckETag(etag); err != nil {
		return nil, err
	}
	return m.writeTask(sid, etag, u)
}

// UpdateTaskLastWriteWins implements [ifmatch.TaskAPI].
func (m *MemoryWorkspace) UpdateTaskLastWriteWins(ctx context.Context, sid string, u ifmatch.TaskUpdate) (*ifmatch.Task, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return m.writeTask(sid, "", u)
}

func (m *MemoryWorkspace) writeTask(sid, etag string, u ifmatch.TaskUpdate) (*ifmatch.Task, error) {
	if reflect.ValueOf(u).IsZero() {
		return nil, memInvalid("TaskUpdate sets no field")
	}
	var attrs map[string]any
	if u.Attributes != nil {
		var err error
		if attrs, err = exactObject(u.Attributes); err != nil {
			return nil, err
		}
	}
	if u.AssignmentStatus != "" && !slices.Contains(memTaskStatuses, u.AssignmentStatus) {
		return nil, memInvalid("AssignmentStatus %q is not one of pending, reserved, assigned, canceled, completed, wrapping",
			trunc(string(u.AssignmentStatus)))
	}
	if err := memCheckSID("task SID", "WT", sid); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.task(http.MethodPost, sid)
	if err != nil {
		return nil, err
	}
	if etag != "" && !memMatches(etag, e.v.ETag) {
		return nil, memStale(http.MethodPost, 20412)
	}
	t := e.v.Clone()
	if attrs != nil {
		t.Attributes = attrs
	}
	if u.AssignmentStatus != "" {
		t.AssignmentStatus = u.AssignmentStatus
	}
	if u.Reason != "" {
		t.Reason = u.Reason
	}
	if u.Priority != nil {
		t.Priority = *u.Priority
	}
	setChannel(t, u.TaskChannel)
	if !u.VirtualStartTime.IsZero() {
		t.VirtualStartTime = u.VirtualStartTime.UTC().Truncate(time.Second)
	}
	m.bump(&t.ETag, &t.DateUpdated)
	e.v = t
	return t.Clone(), nil
}

// DeleteTask implements [ifmatch.TaskAPI].
func (m *MemoryWorkspace) DeleteTask(ctx context.Context, sid string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return m.deleteTask(sid, "")
}

// DeleteTaskIf implements [ifmatch.TaskAPI].
func (m *MemoryWorkspace) DeleteTaskIf(ctx context.Context, sid, etag string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := memCheckETag(etag); err != nil {
		return err
	}
	return m.deleteTask(sid, etag)
}

func (m *MemoryWorkspace) deleteTask(sid, etag string) error {
	if err := memCheckSID("task SID", "WT", sid); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.task(http.MethodDelete, sid)
	if err != nil {
		return err
	}
	if etag != "" && !memMatches(etag, e.v.ETag) {
		return memStale(http.MethodDelete, 20412)
	}
	delete(m.tasks, sid)
	m.writes++
	return nil
}

// ctxSeq ends seq with ctx's error when ctx has ended before the iteration
// starts, as a Client's list does before each page (the in-memory list is
// one page).
func ctxSeq[T any](ctx context.Context, seq iter.Seq2[*T, error]) iter.Seq2[*T, error] {
	return func(yield func(*T, error) bool) {
		if err := ctx.Err(); err != nil {
			yield(nil, err)
			return
		}
		seq(yield)
	}
}
