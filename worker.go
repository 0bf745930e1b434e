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

	"github.com/ifmatch-go/ifmatch/internal/inputcheck"
	"github.com/ifmatch-go/ifmatch/internal/jsonx"
)

// Worker is a TaskRouter Worker (the spec's taskrouter.v1.workspace.worker),
// plus the ETag of the version read.
//
// In an update loop's mutator, only Attributes, ActivitySID and FriendlyName
// may be changed; ActivitySID and FriendlyName cannot be cleared (Twilio's
// update has no way to unset them), which is an [ErrInvalidArgument].
type Worker struct {
	SID          string
	AccountSID   string
	WorkspaceSID string
	ActivityName string
	ActivitySID  string
	// Attributes are the Worker's JSON attributes, numbers kept exactly as
	// for [Task.Attributes]. Never nil in a mutator; set to nil or to an
	// empty map by a mutator, they are cleared, as [Task.Attributes] are.
	Attributes        map[string]any
	Available         bool
	DateCreated       time.Time
	DateStatusChanged time.Time
	DateUpdated       time.Time
	FriendlyName      string
	URL               string
	Links             map[string]string
	// ETag is the version of the Worker read.
	ETag string
}

type workerWire struct {
	SID               string            `json:"sid"`
	AccountSID        string            `json:"account_sid"`
	WorkspaceSID      string            `json:"workspace_sid"`
	ActivityName      string            `json:"activity_name"`
	ActivitySID       string            `json:"activity_sid"`
	Attributes        string            `json:"attributes"`
	Available         bool              `json:"available"`
	DateCreated       time.Time         `json:"date_created"`
	DateStatusChanged time.Time         `json:"date_status_changed"`
	DateUpdated       time.Time         `json:"date_updated"`
	FriendlyName      string            `json:"friendly_name"`
	URL               string            `json:"url"`
	Links             map[string]string `json:"links"`
}

func decodeWorker(b []byte, etag string) (*Worker, error) {
	var w workerWire
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, err
	}
	attrs, err := jsonx.DecodeObject(w.Attributes)
	if err != nil {
		return nil, fmt.Errorf("worker %s: attributes are not a JSON object: %v", truncate(w.SID), err)
	}
	wk := &Worker{SID: w.SID, AccountSID: w.AccountSID, WorkspaceSID: w.WorkspaceSID, ActivityName: w.ActivityName,
		ActivitySID: w.ActivitySID, Attributes: attrs, DateCreated: w.DateCreated,
		DateStatusChanged: w.DateStatusChanged, DateUpdated: w.DateUpdated, FriendlyName: w.FriendlyName,
		URL: w.URL, Links: w.Links, Available: w.Available, ETag: etag}
	return wk, nil
}

// Clone returns a deep copy of w.
func (w *Worker) Clone() *Worker {
	c := *w
	c.Attributes = jsonx.CloneMap(w.Attributes)
	c.Links = cloneLinks(w.Links)
	return &c
}

func cloneLinks(l map[string]string) map[string]string {
	if l == nil {
		return nil
	}
	c := make(map[string]string, len(l))
	for k, v := range l {
		c[k] = v
	}
	return c
}

// WorkerMutator changes a Worker in an update loop; the contract of
// [TaskMutator] applies. It is an alias of the func type.
type WorkerMutator = func(w *Worker) error

// WorkerUpdate holds the fields of one Worker write. Zero fields are not sent.
type WorkerUpdate struct {
	// Attributes replaces the Worker's attributes as a whole; nil sends nothing.
	Attributes   map[string]any
	ActivitySID  string
	FriendlyName string
	// RejectPendingReservations rejects the Worker's pending reservations
	// when ActivitySID moves it to an unavailable activity.
	RejectPendingReservations bool
}

func (u *WorkerUpdate) form() (url.Values, error) {
	f := url.Values{}
	if u.Attributes != nil {
		if err := setJSON(f, "Attributes", "Worker attributes", u.Attributes); err != nil {
			return nil, err
		}
	}
	if u.ActivitySID != "" {
		if err := checkSID("activity SID", "WA", u.ActivitySID); err != nil {
			return nil, err
		}
		f.Set("ActivitySid", u.ActivitySID)
	}
	if u.FriendlyName != "" {
		f.Set("FriendlyName", u.FriendlyName)
	}
	if u.RejectPendingReservations {
		f.Set("RejectPendingReservations", "true")
	}
	if len(f) == 0 {
		return nil, fmt.Errorf("%w: WorkerUpdate sets no field", ErrInvalidArgument)
	}
	return f, nil
}

// setJSON encodes v into form field key.
func setJSON(f url.Values, key, what string, v any) error {
	s, err := jsonx.Encode(v)
	if err != nil {
		return fmt.Errorf("%w: %s cannot be encoded as JSON: %v", ErrInvalidArgument, what, err)
	}
	f.Set(key, s)
	return nil
}

func diffWorker(old, cur *Worker) (url.Values, error) {
	if f := readOnlyChanged(old, cur, "Attributes", "ActivitySID", "FriendlyName"); f != "" {
		return nil, readOnlyError("Worker", f)
	}
	var u WorkerUpdate
	u.Attributes = changedObject(old.Attributes, cur.Attributes)
	if old.ActivitySID != cur.ActivitySID {
		if cur.ActivitySID == "" {
			return nil, fmt.Errorf("%w: Worker.ActivitySID cannot be cleared (set another activity's SID)", ErrInvalidArgument)
		}
		u.ActivitySID = cur.ActivitySID
	}
	if old.FriendlyName != cur.FriendlyName {
		if cur.FriendlyName == "" {
			return nil, fmt.Errorf("%w: Worker.FriendlyName cannot be cleared", ErrInvalidArgument)
		}
		u.FriendlyName = cur.FriendlyName
	}
	if u.Attributes == nil && u.ActivitySID == "" && u.FriendlyName == "" {
		return nil, nil
	}
	return u.form()
}

func (w Workspace) workerPath(sid string) ([]string, error) {
	if err := checkSID("workspace SID", "WS", w.sid); err != nil {
		return nil, err
	}
	if err := checkSID("worker SID", "WK", sid); err != nil {
		return nil, err
	}
	return []string{"v1", "Workspaces", w.sid, "Workers", sid}, nil
}

// FetchWorker reads one Worker; Worker.ETag holds the version read.
//
// Twilio API docs: https://www.twilio.com/docs/taskrouter/api/worker#fetch-a-worker-resource
func (w Workspace) FetchWorker(ctx context.Context, sid string) (*Worker, error) {
	p, err := w.workerPath(sid)
	if err != nil {
		return nil, err
	}
	return call(ctx, w.c, &request{method: http.MethodGet, product: productTaskRouter, path: p}, decodeWorker)
}

// WorkerCreate holds the fields of a new Worker. FriendlyName is required.
type WorkerCreate struct {
	FriendlyName string
	ActivitySID  string
	Attributes   map[string]any
}

// CreateWorker creates a Worker.
//
// Twilio API docs: https://www.twilio.com/docs/taskrouter/api/worker#create-a-worker-resource
func (w Workspace) CreateWorker(ctx context.Context, p WorkerCreate) (*Worker, error) {
	if err := checkSID("workspace SID", "WS", w.sid); err != nil {
		return nil, err
	}
	if p.FriendlyName == "" {
		return nil, fmt.Errorf("%w: WorkerCreate.FriendlyName is required", ErrInvalidArgument)
	}
	u := WorkerUpdate{Attributes: p.Attributes, ActivitySID: p.ActivitySID, FriendlyName: p.FriendlyName}
	f, err := u.form()
	if err != nil {
		return nil, err
	}
	return createOnce(ctx, w.c, &request{method: http.MethodPost, product: productTaskRouter,
		path: []string{"v1", "Workspaces", w.sid, "Workers"}, form: f}, decodeWorker)
}

// WorkerListParams filters [Workspace.ListWorkers]; zero fields are not sent.
type WorkerListParams struct {
	ActivityName            string
	ActivitySID             string
	Available               *bool
	FriendlyName            string
	TargetWorkersExpression string
	TaskQueueName           string
	TaskQueueSID            string
	Ordering                string
	PageSize                int
}

// ListWorkers iterates over the workspace's Workers matching p (nil: all).
//
// Twilio API docs: https://www.twilio.com/docs/taskrouter/api/worker#read-multiple-worker-resources
func (w Workspace) ListWorkers(ctx context.Context, p *WorkerListParams) iter.Seq2[*Worker, error] {
	if err := checkSID("workspace SID", "WS", w.sid); err != nil {
		return errSeq[Worker](err)
	}
	q := url.Values{}
	if p != nil {
		for k, v := range map[string]string{"ActivityName": p.ActivityName, "FriendlyName": p.FriendlyName,
			"TargetWorkersExpression": p.TargetWorkersExpression, "TaskQueueName": p.TaskQueueName, "Ordering": p.Ordering} {
			if v != "" {
				q.Set(k, v)
			}
		}
		for _, s := range [][3]string{{"ActivitySid", p.ActivitySID, "WA"}, {"TaskQueueSid", p.TaskQueueSID, "WQ"}} {
			if s[1] != "" {
				if err := checkSID(s[0], s[2], s[1]); err != nil {
					return errSeq[Worker](err)
				}
				q.Set(s[0], s[1])
			}
		}
		if p.Available != nil {
			q.Set("Available", strconv.FormatBool(*p.Available))
		}
		if err := setPageSize(q, p.PageSize); err != nil {
			return errSeq[Worker](err)
		}
	}
	return list(ctx, w.c, &request{method: http.MethodGet, product: productTaskRouter,
		path: []string{"v1", "Workspaces", w.sid, "Workers"}, query: q}, "workers", decodeWorker)
}

// setPageSize sets PageSize when n is not 0, checking the spec's 1-1000
// (TaskRouter).
func setPageSize(q url.Values, n int) error {
	return setPageSizeMax(q, n, inputcheck.TaskRouterMaxPageSize)
}

// setPageSizeMax sets PageSize when n is not 0, checking 1-max.
func setPageSizeMax(q url.Values, n, max int) error {
	if err := inputcheck.CheckPageSize(ErrInvalidArgument, n, max); err != nil || n == 0 {
		return err
	}
	q.Set("PageSize", strconv.Itoa(n))
	return nil
}

// UpdateWorker changes a Worker safely under concurrency: the loop of
// [Workspace.UpdateTask], for Workers (attributes such as skills and
// capacity, activity, friendly name).
//
// Twilio API docs: https://www.twilio.com/docs/taskrouter/api/worker#update-a-worker-resource
func (w Workspace) UpdateWorker(ctx context.Context, sid string, mutate WorkerMutator, opts ...UpdateOption) (*Worker, error) {
	p, err := w.workerPath(sid)
	if err != nil {
		return nil, err
	}
	ops := newOps(w.c, productTaskRouter, p, decodeWorker, (*Worker).Clone, diffWorker, func(wk *Worker) *string { return &wk.ETag }, func(wk *Worker) *map[string]any { return &wk.Attributes })
	return runUpdate(ctx, w.c, ops.named("UpdateWorker", "Worker"), mutate, opts)
}

// UpdateWorkerIf sends one conditional Worker write: it lands only if the
// Worker is still at version etag ([ErrPreconditionFailed] otherwise).
func (w Workspace) UpdateWorkerIf(ctx context.Context, sid, etag string, u WorkerUpdate) (*Worker, error) {
	if err := checkIfMatch(etag); err != nil {
		return nil, err
	}
	return w.writeWorker(ctx, sid, etag, u)
}

// UpdateWorkerLastWriteWins writes u without If-Match, overwriting whatever
// any other writer did. Prefer [Workspace.UpdateWorker].
func (w Workspace) UpdateWorkerLastWriteWins(ctx context.Context, sid string, u WorkerUpdate) (*Worker, error) {
	return w.writeWorker(ctx, sid, "", u)
}

func (w Workspace) writeWorker(ctx context.Context, sid, etag string, u WorkerUpdate) (*Worker, error) {
	f, err := u.form()
	if err != nil {
		return nil, err
	}
	p, err := w.workerPath(sid)
	if err != nil {
		return nil, err
	}
	return writeOnce(ctx, w.c, &request{method: http.MethodPost, product: productTaskRouter, path: p, form: f, ifMatch: etag}, decodeWorker)
}

// DeleteWorker deletes a Worker unconditionally.
func (w Workspace) DeleteWorker(ctx context.Context, sid string) error {
	p, err := w.workerPath(sid)
	if err != nil {
		return err
	}
	return deleteOnce(ctx, w.c, productTaskRouter, p, "")
}

// DeleteWorkerIf deletes a Worker only if it is still at version etag.
func (w Workspace) DeleteWorkerIf(ctx context.Context, sid, etag string) error {
	if err := checkIfMatch(etag); err != nil {
		return err
	}
	p, err := w.workerPath(sid)
	if err != nil {
		return err
	}
	return deleteOnce(ctx, w.c, productTaskRouter, p, etag)
}

// WorkerUpdater is the one call the helpers [MergeWorkerAttributes],
// [UpdateWorkerAttributes] and [UpdateWorkerWithAttributes] need: a
// [WorkerAPI], a [Workspace] or a stub of this one method will do.
type WorkerUpdater interface {
	UpdateWorker(ctx context.Context, sid string, mutate WorkerMutator, opts ...UpdateOption) (*Worker, error)
}

// WorkerAPI is the set of Worker and reservation calls a [Workspace]
// offers, for substituting a stub in unit tests (see [TaskAPI]).
type WorkerAPI interface {
	FetchWorker(ctx context.Context, sid string) (*Worker, error)
	CreateWorker(ctx context.Context, p WorkerCreate) (*Worker, error)
	ListWorkers(ctx context.Context, p *WorkerListParams) iter.Seq2[*Worker, error]
	UpdateWorker(ctx context.Context, sid string, mutate WorkerMutator, opts ...UpdateOption) (*Worker, error)
	UpdateWorkerIf(ctx context.Context, sid, etag string, u WorkerUpdate) (*Worker, error)
	UpdateWorkerLastWriteWins(ctx context.Context, sid string, u WorkerUpdate) (*Worker, error)
	DeleteWorker(ctx context.Context, sid string) error
	DeleteWorkerIf(ctx context.Context, sid, etag string) error
	FetchTaskReservation(ctx context.Context, taskSID, sid string) (*Reservation, error)
	ListTaskReservations(ctx context.Context, taskSID string, p *ReservationListParams) iter.Seq2[*Reservation, error]
	UpdateTaskReservation(ctx context.Context, taskSID, sid string, mutate ReservationMutator, opts ...UpdateOption) (*Reservation, error)
	UpdateTaskReservationIf(ctx context.Context, taskSID, sid, etag string, u ReservationUpdate) (*Reservation, error)
	FetchWorkerReservation(ctx context.Context, workerSID, sid string) (*Reservation, error)
	ListWorkerReservations(ctx context.Context, workerSID string, p *ReservationListParams) iter.Seq2[*Reservation, error]
	UpdateWorkerReservation(ctx context.Context, workerSID, sid string, mutate ReservationMutator, opts ...UpdateOption) (*Reservation, error)
	UpdateWorkerReservationIf(ctx context.Context, workerSID, sid, etag string, u ReservationUpdate) (*Reservation, error)
}

var _ WorkerAPI = Workspace{}
