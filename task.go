package ifmatch

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/ifmatch-go/ifmatch/internal/jsonx"
)

// TaskStatus is a Task's assignment status (the spec's task_enum_status).
type TaskStatus string

// The assignment statuses of a Task.
const (
	TaskPending   TaskStatus = "pending"
	TaskReserved  TaskStatus = "reserved"
	TaskAssigned  TaskStatus = "assigned"
	TaskCanceled  TaskStatus = "canceled"
	TaskCompleted TaskStatus = "completed"
	TaskWrapping  TaskStatus = "wrapping"
)

func (s TaskStatus) valid() bool {
	switch s {
	case TaskPending, TaskReserved, TaskAssigned, TaskCanceled, TaskCompleted, TaskWrapping:
		return true
	}
	return false
}

// Task is a TaskRouter Task (the spec's taskrouter.v1.workspace.task), plus
// the ETag of the version read.
//
// In an update loop's mutator, only Attributes, AssignmentStatus, Reason,
// Priority, TaskChannelSID or TaskChannelUniqueName (sent as TaskChannel) and
// VirtualStartTime may be changed; changing another field is an error.
type Task struct {
	SID              string
	AccountSID       string
	WorkspaceSID     string
	Age              int
	AssignmentStatus TaskStatus
	// Attributes are the Task's JSON attributes, decoded so that numbers keep
	// their exact text (json.Number): a 19-digit ID survives a round trip.
	// Never nil in a mutator. A mutator that sets it to nil, as one that sets
	// an empty map, clears every attribute (unlike a nil
	// [TaskUpdate.Attributes], which sends nothing); ifmatch's own keys
	// ([IdempotencyKey], [CommitMarkers]) of the call are kept.
	Attributes            map[string]any
	Addons                string
	DateCreated           time.Time
	DateUpdated           time.Time
	TaskQueueEnteredDate  time.Time
	Priority              int
	Reason                string
	TaskQueueSID          string
	TaskQueueFriendlyName string
	TaskChannelSID        string
	TaskChannelUniqueName string
	Timeout               int
	WorkflowSID           string
	WorkflowFriendlyName  string
	URL                   string
	Links                 map[string]string
	VirtualStartTime      time.Time
	IgnoreCapacity        bool
	RoutingTarget         string
	// ETag is the version of the Task read, from the ETag response header.
	ETag string
}

type taskWire struct {
	SID                   string            `json:"sid"`
	AccountSID            string            `json:"account_sid"`
	WorkspaceSID          string            `json:"workspace_sid"`
	Age                   int               `json:"age"`
	AssignmentStatus      TaskStatus        `json:"assignment_status"`
	Attributes            string            `json:"attributes"`
	Addons                string            `json:"addons"`
	DateCreated           time.Time         `json:"date_created"`
	DateUpdated           time.Time         `json:"date_updated"`
	TaskQueueEnteredDate  time.Time         `json:"task_queue_entered_date"`
	Priority              int               `json:"priority"`
	Reason                string            `json:"reason"`
	TaskQueueSID          string            `json:"task_queue_sid"`
	TaskQueueFriendlyName string            `json:"task_queue_friendly_name"`
	TaskChannelSID        string            `json:"task_channel_sid"`
	TaskChannelUniqueName string            `json:"task_channel_unique_name"`
	Timeout               int               `json:"timeout"`
	WorkflowSID           string            `json:"workflow_sid"`
	WorkflowFriendlyName  string            `json:"workflow_friendly_name"`
	URL                   string            `json:"url"`
	Links                 map[string]string `json:"links"`
	VirtualStartTime      time.Time         `json:"virtual_start_time"`
	IgnoreCapacity        bool              `json:"ignore_capacity"`
	RoutingTarget         string            `json:"routing_target"`
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func (w *taskWire) task(etag string) (*Task, error) {
	attrs, err := jsonx.DecodeObject(w.Attributes)
	if err != nil {
		return nil, fmt.Errorf("task %s: attributes are not a JSON object: %v", w.SID, err)
	}
	t := &Task{SID: w.SID, AccountSID: w.AccountSID, WorkspaceSID: w.WorkspaceSID, Age: w.Age,
		AssignmentStatus: w.AssignmentStatus, Attributes: attrs, Addons: w.Addons,
		DateCreated: w.DateCreated, DateUpdated: w.DateUpdated, TaskQueueEnteredDate: w.TaskQueueEnteredDate,
		Priority: w.Priority, Reason: w.Reason, TaskQueueSID: w.TaskQueueSID,
		TaskQueueFriendlyName: w.TaskQueueFriendlyName, TaskChannelSID: w.TaskChannelSID,
		TaskChannelUniqueName: w.TaskChannelUniqueName, Timeout: w.Timeout,
		WorkflowSID: w.WorkflowSID, WorkflowFriendlyName: w.WorkflowFriendlyName,
		URL: w.URL, Links: w.Links, VirtualStartTime: w.VirtualStartTime,
		RoutingTarget: w.RoutingTarget, IgnoreCapacity: w.IgnoreCapacity, ETag: etag}
	return t, nil
}

// Clone returns a deep copy of t.
func (t *Task) Clone() *Task {
	c := *t
	c.Attributes = jsonx.CloneMap(t.Attributes)
	if t.Links != nil {
		c.Links = make(map[string]string, len(t.Links))
		for k, v := range t.Links {
			c.Links[k] = v
		}
	}
	return &c
}

// TaskMutator changes a Task in an update loop. It may run several times (once
// per attempt, each time on a fresh copy of the latest version), so it must
// have no side effects outside the Task it is given, and should set a target
// state ("priority 5") rather than a relative change ("priority + 1") unless
// the loop's outcome is checked (see [ErrOutcomeUnknown]). Returning an error
// stops the loop with [ErrMutatorAborted] and writes nothing. It is an
// alias, as every mutator type is, so a plain func(*Task) error is one (and
// implementations of [TaskAPI] written with the func type satisfy it).
type TaskMutator = func(t *Task) error

// TaskUpdate holds the fields of one Task write. Zero fields are not sent.
type TaskUpdate struct {
	// Attributes replaces the Task's attributes as a whole; nil sends nothing.
	Attributes       map[string]any
	AssignmentStatus TaskStatus
	Reason           string
	Priority         *int
	// TaskChannel is a Task Channel SID or unique name.
	TaskChannel      string
	VirtualStartTime time.Time
}

func (u *TaskUpdate) form() (url.Values, error) {
	f := url.Values{}
	if u.Attributes != nil {
		s, err := jsonx.Encode(u.Attributes)
		if err != nil {
			return nil, fmt.Errorf("%w: Task attributes cannot be encoded as JSON: %v", ErrInvalidArgument, err)
		}
		f.Set("Attributes", s)
	}
	if u.AssignmentStatus != "" {
		if !u.AssignmentStatus.valid() {
			return nil, fmt.Errorf("%w: AssignmentStatus %q is not one of pending, reserved, assigned, canceled, completed, wrapping", ErrInvalidArgument, truncate(string(u.AssignmentStatus)))
		}
		f.Set("AssignmentStatus", string(u.AssignmentStatus))
	}
	if u.Reason != "" {
		f.Set("Reason", u.Reason)
	}
	if u.Priority != nil {
		f.Set("Priority", strconv.Itoa(*u.Priority))
	}
	if u.TaskChannel != "" {
		f.Set("TaskChannel", u.TaskChannel)
	}
	if !u.VirtualStartTime.IsZero() {
		f.Set("VirtualStartTime", u.VirtualStartTime.UTC().Format(time.RFC3339))
	}
	if len(f) == 0 {
		return nil, fmt.Errorf("%w: TaskUpdate sets no field", ErrInvalidArgument)
	}
	return f, nil
}

// diffTask returns the form fields that turn old into cur.
func diffTask(old, cur *Task) (url.Values, error) {
	if f := readOnlyChanged(old, cur, "Attributes", "AssignmentStatus", "Reason", "Priority",
		"TaskChannelSID", "TaskChannelUniqueName", "VirtualStartTime"); f != "" {
		return nil, readOnlyError("Task", f)
	}
	var u TaskUpdate
	u.Attributes = changedObject(old.Attributes, cur.Attributes)
	if old.AssignmentStatus != cur.AssignmentStatus {
		u.AssignmentStatus = cur.AssignmentStatus
	}
	if old.Reason != cur.Reason {
		if cur.Reason == "" {
			return nil, fmt.Errorf("%w: Task.Reason cannot be cleared", ErrInvalidArgument)
		}
		u.Reason = cur.Reason
	}
	if old.Priority != cur.Priority {
		p := cur.Priority
		u.Priority = &p
	}
	switch {
	case old.TaskChannelSID != cur.TaskChannelSID:
		u.TaskChannel = cur.TaskChannelSID
	case old.TaskChannelUniqueName != cur.TaskChannelUniqueName:
		u.TaskChannel = cur.TaskChannelUniqueName
	}
	if !old.VirtualStartTime.Equal(cur.VirtualStartTime) {
		if cur.VirtualStartTime.IsZero() {
			return nil, fmt.Errorf("%w: Task.VirtualStartTime cannot be cleared", ErrInvalidArgument)
		}
		u.VirtualStartTime = cur.VirtualStartTime
	}
	if u.Attributes == nil && u.AssignmentStatus == "" && u.Reason == "" && u.Priority == nil &&
		u.TaskChannel == "" && u.VirtualStartTime.IsZero() {
		return nil, nil
	}
	return u.form()
}

// Workspace scopes TaskRouter calls to one workspace ("WS…"). It is a small
// value: make one with [Client.Workspace] wherever needed, or keep it.
type Workspace struct {
	c   *Client
	sid string
}

// Workspace returns a value scoping TaskRouter calls to the workspace sid. A
// malformed sid is reported by the first call made with it.
func (c *Client) Workspace(sid string) Workspace { return Workspace{c: c, sid: sid} }

// SID returns the workspace SID.
func (w Workspace) SID() string { return w.sid }

func (w Workspace) taskPath(sid string) ([]string, error) {
	if err := checkSID("workspace SID", "WS", w.sid); err != nil {
		return nil, err
	}
	if err := checkSID("task SID", "WT", sid); err != nil {
		return nil, err
	}
	return []string{"v1", "Workspaces", w.sid, "Tasks", sid}, nil
}

// decodeTask decodes one Task body.
func decodeTask(b []byte, etag string) (*Task, error) {
	var tw taskWire
	if err := json.Unmarshal(b, &tw); err != nil {
		return nil, err
	}
	return tw.task(etag)
}

func (w Workspace) doTask(ctx context.Context, r *request) (*Task, error) {
	return call(ctx, w.c, r, decodeTask)
}

// FetchTask reads one Task; Task.ETag holds the version read.
//
// Twilio API docs: https://www.twilio.com/docs/taskrouter/api/task#fetch-a-task-resource
func (w Workspace) FetchTask(ctx context.Context, sid string) (*Task, error) {
	p, err := w.taskPath(sid)
	if err != nil {
		return nil, err
	}
	return w.doTask(ctx, &request{method: http.MethodGet, product: productTaskRouter, path: p})
}

// TaskCreate holds the fields of a new Task. Zero fields are not sent.
type TaskCreate struct {
	Attributes       map[string]any
	Priority         *int
	Timeout          int
	TaskChannel      string
	WorkflowSID      string
	TaskQueueSID     string
	VirtualStartTime time.Time
	RoutingTarget    string
	IgnoreCapacity   *bool
}

// CreateTask creates a Task.
//
// Twilio API docs: https://www.twilio.com/docs/taskrouter/api/task#create-a-task-resource
//
// A create is not conditional and not idempotent: the transport retries it
// only when it certainly never reached Twilio.
func (w Workspace) CreateTask(ctx context.Context, p TaskCreate) (*Task, error) {
	if err := checkSID("workspace SID", "WS", w.sid); err != nil {
		return nil, err
	}
	f := url.Values{}
	if p.Attributes != nil {
		s, err := jsonx.Encode(p.Attributes)
		if err != nil {
			return nil, fmt.Errorf("%w: Task attributes cannot be encoded as JSON: %v", ErrInvalidArgument, err)
		}
		f.Set("Attributes", s)
	}
	if p.Priority != nil {
		f.Set("Priority", strconv.Itoa(*p.Priority))
	}
	if p.Timeout != 0 {
		f.Set("Timeout", strconv.Itoa(p.Timeout))
	}
	if p.TaskChannel != "" {
		f.Set("TaskChannel", p.TaskChannel)
	}
	if p.WorkflowSID != "" {
		if err := checkSID("workflow SID", "WW", p.WorkflowSID); err != nil {
			return nil, err
		}
		f.Set("WorkflowSid", p.WorkflowSID)
	}
	if p.TaskQueueSID != "" {
		if err := checkSID("task queue SID", "WQ", p.TaskQueueSID); err != nil {
			return nil, err
		}
		f.Set("TaskQueueSid", p.TaskQueueSID)
	}
	if !p.VirtualStartTime.IsZero() {
		f.Set("VirtualStartTime", p.VirtualStartTime.UTC().Format(time.RFC3339))
	}
	if p.RoutingTarget != "" {
		f.Set("RoutingTarget", p.RoutingTarget)
	}
	if p.IgnoreCapacity != nil {
		f.Set("IgnoreCapacity", strconv.FormatBool(*p.IgnoreCapacity))
	}
	return createOnce(ctx, w.c, &request{method: http.MethodPost, product: productTaskRouter,
		path: []string{"v1", "Workspaces", w.sid, "Tasks"}, form: f}, decodeTask)
}

// UpdateTaskIf sends one conditional write: it applies u only if the Task is
// still at version etag, and fails with an error matching
// [ErrPreconditionFailed] otherwise. It does not retry conflicts; see
// [Workspace.UpdateTask] for the loop.
//
// Twilio API docs: https://www.twilio.com/docs/taskrouter/api/task#update-a-task-resource
func (w Workspace) UpdateTaskIf(ctx context.Context, sid, etag string, u TaskUpdate) (*Task, error) {
	if err := checkIfMatch(etag); err != nil {
		return nil, err
	}
	f, err := u.form()
	if err != nil {
		return nil, err
	}
	return w.writeTask(ctx, sid, etag, f)
}

// UpdateTaskLastWriteWins writes u without If-Match: it overwrites whatever
// any other writer did since you read the Task. Prefer [Workspace.UpdateTask].
func (w Workspace) UpdateTaskLastWriteWins(ctx context.Context, sid string, u TaskUpdate) (*Task, error) {
	f, err := u.form()
	if err != nil {
		return nil, err
	}
	return w.writeTask(ctx, sid, "", f)
}

func (w Workspace) writeTask(ctx context.Context, sid, etag string, f url.Values) (*Task, error) {
	p, err := w.taskPath(sid)
	if err != nil {
		return nil, err
	}
	return writeOnce(ctx, w.c, &request{method: http.MethodPost, product: productTaskRouter, path: p, form: f, ifMatch: etag}, decodeTask)
}

// UpdateTask changes a Task safely under concurrency, in one call: it reads
// the Task, applies mutate to a copy, writes only the fields that changed
// with If-Match, and on a conflict (412) reads again and re-applies mutate,
// with jittered backoff, until the write lands or a limit is reached.
//
// mutate may run several times and must follow the [TaskMutator] contract.
// If it changes nothing, nothing is written and the Task read is returned
// ([Unchanged], see [ReportResult]). Concurrent calls on one Task through
// one Client are coalesced into rounds that send one write for all of them
// (see [WithoutCoalescing]); after this Client's own write, the next call
// skips the read (see [WithoutETagCache]).
//
// Errors: the mutator's error wrapped in [ErrMutatorAborted]; [ErrConflict]
// (a [*ConflictError]) when attempts or time run out; [ErrOutcomeUnknown] when
// a write's result was lost and another write overtook it, or the call ended
// while that write could still land; an [*APIError]
// for any other API failure (404, 401, 400...), never retried; on
// cancellation, the context's error joined with the last API error.
//
// Twilio API docs: https://www.twilio.com/docs/taskrouter/api/task#update-a-task-resource
func (w Workspace) UpdateTask(ctx context.Context, sid string, mutate TaskMutator, opts ...UpdateOption) (*Task, error) {
	p, err := w.taskPath(sid)
	if err != nil {
		return nil, err
	}
	ops := newOps(w.c, productTaskRouter, p, decodeTask, (*Task).Clone, diffTask, func(t *Task) *string { return &t.ETag }, func(t *Task) *map[string]any { return &t.Attributes })
	return runUpdate(ctx, w.c, ops.named("UpdateTask", "Task"), mutate, opts)
}

// DeleteTask deletes a Task unconditionally.
//
// Twilio API docs: https://www.twilio.com/docs/taskrouter/api/task#delete-a-task-resource
func (w Workspace) DeleteTask(ctx context.Context, sid string) error {
	return w.deleteTask(ctx, sid, "")
}

// DeleteTaskIf deletes a Task only if it is still at version etag; otherwise
// it fails with an error matching [ErrPreconditionFailed].
func (w Workspace) DeleteTaskIf(ctx context.Context, sid, etag string) error {
	if err := checkIfMatch(etag); err != nil {
		return err
	}
	return w.deleteTask(ctx, sid, etag)
}

func (w Workspace) deleteTask(ctx context.Context, sid, etag string) error {
	p, err := w.taskPath(sid)
	if err != nil {
		return err
	}
	return deleteOnce(ctx, w.c, productTaskRouter, p, etag)
}

// TaskListParams filters [Workspace.ListTasks]; zero fields are not sent.
type TaskListParams struct {
	Priority               *int
	AssignmentStatus       []TaskStatus
	WorkflowSID            string
	WorkflowName           string
	TaskQueueSID           string
	TaskQueueName          string
	EvaluateTaskAttributes string
	RoutingTarget          string
	Ordering               string
	HasAddons              *bool
	// PageSize is the page size asked for (1-1000); 0 leaves Twilio's default.
	PageSize int
}

func (p *TaskListParams) query() (url.Values, error) {
	q := url.Values{}
	if p == nil {
		return q, nil
	}
	if p.Priority != nil {
		q.Set("Priority", strconv.Itoa(*p.Priority))
	}
	for _, s := range p.AssignmentStatus {
		if !s.valid() {
			return nil, fmt.Errorf("%w: AssignmentStatus filter %q is not a task status", ErrInvalidArgument, truncate(string(s)))
		}
		q.Add("AssignmentStatus", string(s))
	}
	for _, kv := range [][3]string{{"WorkflowSid", p.WorkflowSID, "WW"}, {"TaskQueueSid", p.TaskQueueSID, "WQ"}} {
		if kv[1] != "" {
			if err := checkSID(kv[0], kv[2], kv[1]); err != nil {
				return nil, err
			}
			q.Set(kv[0], kv[1])
		}
	}
	for k, v := range map[string]string{"WorkflowName": p.WorkflowName, "TaskQueueName": p.TaskQueueName,
		"EvaluateTaskAttributes": p.EvaluateTaskAttributes, "RoutingTarget": p.RoutingTarget, "Ordering": p.Ordering} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if p.HasAddons != nil {
		q.Set("HasAddons", strconv.FormatBool(*p.HasAddons))
	}
	if err := setPageSize(q, p.PageSize); err != nil {
		return nil, err
	}
	return q, nil
}

// ListTasks iterates over the workspace's Tasks matching p (nil: all),
// fetching pages as it goes. Listed Tasks carry no attributes (Twilio sends
// null in lists) and no ETag; fetch a Task to get both. Stop early by breaking
// out of the loop; an error ends the iteration.
//
// Twilio API docs: https://www.twilio.com/docs/taskrouter/api/task#read-multiple-task-resources
func (w Workspace) ListTasks(ctx context.Context, p *TaskListParams) iter.Seq2[*Task, error] {
	if err := checkSID("workspace SID", "WS", w.sid); err != nil {
		return errSeq[Task](err)
	}
	q, err := p.query()
	if err != nil {
		return errSeq[Task](err)
	}
	return list(ctx, w.c, &request{method: http.MethodGet, product: productTaskRouter,
		path: []string{"v1", "Workspaces", w.sid, "Tasks"}, query: q}, "tasks", decodeTask)
}

// TaskUpdater is the one call the helpers [MergeTaskAttributes],
// [UpdateTaskAttributes] and [UpdateTaskWithAttributes] need: a [TaskAPI], a
// [Workspace], the in-memory fakes of package ifmatchtest or a stub of this
// one method will do.
type TaskUpdater interface {
	UpdateTask(ctx context.Context, sid string, mutate TaskMutator, opts ...UpdateOption) (*Task, error)
}

// TaskAPI is the set of Task calls a [Workspace] offers. Depend on it rather
// than on Workspace where you want to substitute a stub in unit tests;
// package ifmatchtest offers faithful fakes when a stub is not enough.
type TaskAPI interface {
	FetchTask(ctx context.Context, sid string) (*Task, error)
	CreateTask(ctx context.Context, p TaskCreate) (*Task, error)
	ListTasks(ctx context.Context, p *TaskListParams) iter.Seq2[*Task, error]
	UpdateTask(ctx context.Context, sid string, mutate TaskMutator, opts ...UpdateOption) (*Task, error)
	UpdateTaskIf(ctx context.Context, sid, etag string, u TaskUpdate) (*Task, error)
	UpdateTaskLastWriteWins(ctx context.Context, sid string, u TaskUpdate) (*Task, error)
	DeleteTask(ctx context.Context, sid string) error
	DeleteTaskIf(ctx context.Context, sid, etag string) error
}

var _ TaskAPI = Workspace{}
