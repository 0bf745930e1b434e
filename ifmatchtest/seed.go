package ifmatchtest

import (
	"fmt"
	"net/url"
	"strconv"

	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/internal/jsonx"
)

// This file holds the seeding and other-writer helpers of the fake: Task
// fields for AddTask, Set… methods that play another writer, typed Sync
// accessors, and the URLs of the fake's resources for httpmock responders.

// TaskSeed holds the fields a seeded Task starts with; zero fields keep the
// defaults (priority 0, pending, the default queue, workflow and channel,
// timeout 86400).
type TaskSeed struct {
	Priority         *int
	AssignmentStatus ifmatch.TaskStatus
	TaskQueueSID     string
	WorkflowSID      string
	// TaskChannel is the Task Channel's unique name, for example "voice".
	TaskChannel string
	Timeout     int
	Reason      string
}

// TaskOption sets a field of a Task seeded with [Fake.AddTask] or
// [MemoryWorkspace.AddTask].
type TaskOption func(*TaskSeed)

// TaskPriority seeds the Task's priority.
func TaskPriority(p int) TaskOption { return func(s *TaskSeed) { s.Priority = &p } }

// TaskStatus seeds the Task's assignment status.
func TaskStatus(st ifmatch.TaskStatus) TaskOption {
	return func(s *TaskSeed) { s.AssignmentStatus = st }
}

// TaskQueue seeds the Task's queue SID ("WQ…").
func TaskQueue(sid string) TaskOption { return func(s *TaskSeed) { s.TaskQueueSID = sid } }

// TaskWorkflow seeds the Task's workflow SID ("WW…").
func TaskWorkflow(sid string) TaskOption { return func(s *TaskSeed) { s.WorkflowSID = sid } }

// TaskChannel seeds the Task's channel unique name.
func TaskChannel(name string) TaskOption { return func(s *TaskSeed) { s.TaskChannel = name } }

// TaskTimeout seeds the Task's timeout in seconds.
func TaskTimeout(seconds int) TaskOption { return func(s *TaskSeed) { s.Timeout = seconds } }

// TaskReason seeds the Task's reason.
func TaskReason(r string) TaskOption { return func(s *TaskSeed) { s.Reason = r } }

// applyToRec sets the seed's fields on a stored Task. Called with f.mu held.
func (s *TaskSeed) applyToRec(t *taskRec) {
	if s.Priority != nil {
		t.priority = *s.Priority
	}
	if s.AssignmentStatus != "" {
		t.status = string(s.AssignmentStatus)
	}
	if s.TaskQueueSID != "" {
		t.queueSID = s.TaskQueueSID
	}
	if s.WorkflowSID != "" {
		t.workflowSID = s.WorkflowSID
	}
	if s.TaskChannel != "" {
		t.channelName = s.TaskChannel
	}
	if s.Timeout != 0 {
		t.timeout = s.Timeout
	}
	if s.Reason != "" {
		t.reason = s.Reason
	}
}

// SetTask changes a Task's fields as another writer would (one write,
// bumping its version): the seed's non-zero fields are set. It reports
// whether the Task exists.
func (f *Fake) SetTask(ws, sid string, opts ...TaskOption) bool {
	var seed TaskSeed
	for _, o := range opts {
		o(&seed)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	rec, ok := f.tasks[ws+"/"+sid]
	if ok {
		seed.applyToRec(rec)
		rec.version++
		rec.updated = f.now()
	}
	return ok
}

// SetWorkerAttributes overwrites a Worker's attributes as another writer
// would, bumping its version. Nil attributes are stored as {}. It reports
// whether the Worker exists.
func (f *Fake) SetWorkerAttributes(ws, sid string, attrs map[string]any) bool {
	s := mustEncode("SetWorkerAttributes", attrs)
	f.mu.Lock()
	defer f.mu.Unlock()
	w, ok := f.workers[ws+"/"+sid]
	if ok {
		w.attributes = s
		w.version++
		w.updated = f.now()
	}
	return ok
}

// mustEncode encodes the attributes or data m of a seed or a Set call (nil:
// {}); it panics, naming what, on m JSON cannot hold: a mistake in the test.
func mustEncode(what string, m map[string]any) string {
	if m == nil {
		m = map[string]any{}
	}
	s, err := jsonx.Encode(m)
	if err != nil {
		panic(fmt.Sprintf("ifmatchtest: %s: %v", what, err))
	}
	return s
}

// SyncKind names the kind of a Sync object for [Fake.SetSyncData].
type SyncKind string

// The Sync kinds.
const (
	SyncDocument SyncKind = "Documents" // id: the Document's SID or unique name; no container
	SyncListItem SyncKind = "Lists"     // container: the List's SID or unique name; id: the index
	SyncMapItem  SyncKind = "Maps"      // container: the Map's SID or unique name; id: the key
)

// DocumentData returns a Sync Document's data and revision (doc: SID or
// unique name), or ok=false.
func (f *Fake) DocumentData(svc, doc string) (data map[string]any, revision int, ok bool) {
	return f.syncData(svc, SyncDocument, "", doc)
}

// ListItemData returns a Sync List item's data and revision (list: SID or
// unique name), or ok=false.
func (f *Fake) ListItemData(svc, list string, index int) (data map[string]any, revision int, ok bool) {
	return f.syncData(svc, SyncListItem, list, strconv.Itoa(index))
}

// MapItemData returns a Sync Map item's data and revision (m: SID or unique
// name), or ok=false.
func (f *Fake) MapItemData(svc, m, key string) (data map[string]any, revision int, ok bool) {
	return f.syncData(svc, SyncMapItem, m, key)
}

func (f *Fake) syncData(svc string, kind SyncKind, container, id string) (map[string]any, int, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.findSync(svc, string(kind), container, id)
	if o == nil {
		return nil, 0, false
	}
	m, _ := jsonx.DecodeObject(o.data)
	return m, o.version, true
}

// SetSyncData overwrites a Sync object's data as another writer would,
// bumping its revision (and ETag): container is the List's or Map's SID or
// unique name ("" for a Document), id the Document's SID or unique name, the
// List item's index or the Map item's key. It reports whether the object
// exists.
func (f *Fake) SetSyncData(svc string, kind SyncKind, container, id string, data map[string]any) bool {
	s := mustEncode("SetSyncData", data)
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.findSync(svc, string(kind), container, id)
	if o != nil {
		o.data = s
		o.version++
		o.updated = f.now()
	}
	return o != nil
}

// The URLs of the fake's resources as a [Fake.MockClient] client requests
// them, for registering your own httpmock responders in front of the fake's
// (an exact URL wins over the fake's catch-all), for example a 503 for one
// Task's writes:
//
//	client, transport := fake.MockClient(t)
//	transport.RegisterResponder("POST", ifmatchtest.TaskURL(ws, sid), httpmock.NewStringResponder(503, ""))
//
// Path segments are escaped as the client escapes them. Every product
// (TaskRouter, Sync) is served under [MockBaseURL].

// TaskURL returns the URL of a Task.
func TaskURL(ws, sid string) string { return mockURL("Workspaces", ws, "Tasks", sid) }

// WorkerURL returns the URL of a Worker.
func WorkerURL(ws, sid string) string { return mockURL("Workspaces", ws, "Workers", sid) }

// TaskReservationURL returns the URL of a reservation seen from its Task.
func TaskReservationURL(ws, task, sid string) string {
	return mockURL("Workspaces", ws, "Tasks", task, "Reservations", sid)
}

// WorkerReservationURL returns the URL of a reservation seen from its Worker.
func WorkerReservationURL(ws, worker, sid string) string {
	return mockURL("Workspaces", ws, "Workers", worker, "Reservations", sid)
}

// DocumentURL returns the URL of a Sync Document (doc: SID or unique name,
// as the client was given it).
func DocumentURL(svc, doc string) string { return mockURL("Services", svc, "Documents", doc) }

// ListItemURL returns the URL of a Sync List item.
func ListItemURL(svc, list string, index int) string {
	return mockURL("Services", svc, "Lists", list, "Items", strconv.Itoa(index))
}

// MapItemURL returns the URL of a Sync Map item.
func MapItemURL(svc, m, key string) string { return mockURL("Services", svc, "Maps", m, "Items", key) }

func mockURL(seg ...string) string {
	s := MockBaseURL + "/v1"
	for _, p := range seg {
		s += "/" + url.PathEscape(p)
	}
	return s
}
