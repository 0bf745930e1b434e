package ifmatch

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ifmatch-go/ifmatch/internal/inputcheck"
)

// ReservationStatus is a reservation's status (the spec's
// task_reservation_enum_status and worker_reservation_enum_status).
type ReservationStatus string

// The reservation statuses.
const (
	ReservationPending   ReservationStatus = "pending"
	ReservationAccepted  ReservationStatus = "accepted"
	ReservationRejected  ReservationStatus = "rejected"
	ReservationTimeout   ReservationStatus = "timeout"
	ReservationCanceled  ReservationStatus = "canceled"
	ReservationRescinded ReservationStatus = "rescinded"
	ReservationWrapping  ReservationStatus = "wrapping"
	ReservationCompleted ReservationStatus = "completed"
)

// reservationMoves lists, for each status, the statuses a client may move a
// reservation to. timeout, canceled and rescinded are TaskRouter's to set.
var reservationMoves = map[ReservationStatus][]ReservationStatus{
	ReservationPending:  {ReservationAccepted, ReservationRejected},
	ReservationAccepted: {ReservationWrapping, ReservationCompleted},
	ReservationWrapping: {ReservationCompleted},
}

func (s ReservationStatus) valid() bool {
	switch s {
	case ReservationPending, ReservationAccepted, ReservationRejected, ReservationTimeout,
		ReservationCanceled, ReservationRescinded, ReservationWrapping, ReservationCompleted:
		return true
	}
	return false
}

// settable reports whether a client may ask for status s at all.
func (s ReservationStatus) settable() bool {
	switch s {
	case ReservationAccepted, ReservationRejected, ReservationWrapping, ReservationCompleted:
		return true
	}
	return false
}

// checkMove checks a status change from one status to another.
func checkMove(from, to ReservationStatus) error {
	if !to.valid() {
		return fmt.Errorf("%w: reservation status %q is not one of pending, accepted, rejected, timeout, canceled, rescinded, wrapping, completed", ErrInvalidArgument, truncate(string(to)))
	}
	for _, ok := range reservationMoves[from] {
		if ok == to {
			return nil
		}
	}
	return fmt.Errorf("%w: a reservation cannot move from %s to %s", ErrInvalidArgument, from, to)
}

// Reservation is a TaskRouter reservation, seen from its Task or its Worker
// (the spec's task_reservation and worker_reservation), plus the ETag of the
// version read (empty where Twilio sends none).
type Reservation struct {
	SID               string
	AccountSID        string
	WorkspaceSID      string
	TaskSID           string
	WorkerSID         string
	WorkerName        string
	ReservationStatus ReservationStatus
	DateCreated       time.Time
	DateUpdated       time.Time
	URL               string
	Links             map[string]string
	ETag              string
}

type reservationWire struct {
	SID               string            `json:"sid"`
	AccountSID        string            `json:"account_sid"`
	WorkspaceSID      string            `json:"workspace_sid"`
	TaskSID           string            `json:"task_sid"`
	WorkerSID         string            `json:"worker_sid"`
	WorkerName        string            `json:"worker_name"`
	ReservationStatus ReservationStatus `json:"reservation_status"`
	DateCreated       time.Time         `json:"date_created"`
	DateUpdated       time.Time         `json:"date_updated"`
	URL               string            `json:"url"`
	Links             map[string]string `json:"links"`
}

func decodeReservation(b []byte, etag string) (*Reservation, error) {
	var w reservationWire
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, err
	}
	return &Reservation{SID: w.SID, AccountSID: w.AccountSID, WorkspaceSID: w.WorkspaceSID, TaskSID: w.TaskSID,
		WorkerSID: w.WorkerSID, WorkerName: w.WorkerName, ReservationStatus: w.ReservationStatus,
		DateCreated: w.DateCreated, DateUpdated: w.DateUpdated, URL: w.URL, Links: w.Links, ETag: etag}, nil
}

// Clone returns a deep copy of r.
func (r *Reservation) Clone() *Reservation {
	c := *r
	c.Links = cloneLinks(r.Links)
	return &c
}

// ReservationMutator changes a reservation in an update loop; only
// ReservationStatus may change, along the moves a client may make (pending →
// accepted or rejected; accepted → wrapping or completed; wrapping →
// completed). The contract of [TaskMutator] applies. It is an alias of the
// func type.
type ReservationMutator = func(r *Reservation) error

// ReservationUpdate holds the fields of one reservation write.
type ReservationUpdate struct {
	// ReservationStatus is the status asked for: accepted, rejected, wrapping
	// or completed (the others are TaskRouter's to set).
	ReservationStatus   ReservationStatus
	WorkerActivitySID   string
	Instruction         string
	PostWorkActivitySID string
	// Params carries any other form field of the spec's UpdateTaskReservation
	// or UpdateWorkerReservation (for example "DequeueFrom", "CallUrl", "To",
	// "From"), by its spec name. A field the operation does not take is an
	// [ErrInvalidArgument] before any request: Supervisor and SupervisorMode
	// are UpdateTaskReservation's only, and ReservationStatus,
	// WorkerActivitySid, Instruction and PostWorkActivitySid must be given
	// in the typed fields above, whose values are checked.
	Params url.Values
}

// form checks u and encodes it for the Task path's UpdateTaskReservation,
// or the Worker path's UpdateWorkerReservation when workerPath is set.
func (u *ReservationUpdate) form(workerPath bool) (url.Values, error) {
	if err := inputcheck.CheckReservationParams(ErrInvalidArgument, u.Params, workerPath); err != nil {
		return nil, err
	}
	f := url.Values{}
	for k, v := range u.Params {
		f[k] = append([]string(nil), v...)
	}
	if u.ReservationStatus != "" {
		if !u.ReservationStatus.valid() || !u.ReservationStatus.settable() {
			return nil, fmt.Errorf("%w: reservation status %q cannot be set by a client (use accepted, rejected, wrapping or completed)", ErrInvalidArgument, truncate(string(u.ReservationStatus)))
		}
		f.Set("ReservationStatus", string(u.ReservationStatus))
	}
	for _, s := range [][2]string{{"WorkerActivitySid", u.WorkerActivitySID}, {"PostWorkActivitySid", u.PostWorkActivitySID}} {
		if s[1] != "" {
			if err := checkSID(s[0], "WA", s[1]); err != nil {
				return nil, err
			}
			f.Set(s[0], s[1])
		}
	}
	if u.Instruction != "" {
		f.Set("Instruction", u.Instruction)
	}
	if len(f) == 0 {
		return nil, fmt.Errorf("%w: ReservationUpdate sets no field", ErrInvalidArgument)
	}
	return f, nil
}

func diffReservation(old, cur *Reservation) (url.Values, error) {
	if f := readOnlyChanged(old, cur, "ReservationStatus"); f != "" {
		return nil, readOnlyError("Reservation", f)
	}
	if old.ReservationStatus == cur.ReservationStatus {
		return nil, nil
	}
	if err := checkMove(old.ReservationStatus, cur.ReservationStatus); err != nil {
		return nil, err
	}
	return url.Values{"ReservationStatus": {string(cur.ReservationStatus)}}, nil
}

// reservationParent names the Task or Worker a reservation is seen from.
type reservationParent struct {
	what, prefix, collection string
}

var (
	taskParent   = reservationParent{"task SID", "WT", "Tasks"}
	workerParent = reservationParent{"worker SID", "WK", "Workers"}
)

func (w Workspace) reservationsPath(p reservationParent, parentSID string) ([]string, error) {
	if err := checkSID("workspace SID", "WS", w.sid); err != nil {
		return nil, err
	}
	if err := checkSID(p.what, p.prefix, parentSID); err != nil {
		return nil, err
	}
	return []string{"v1", "Workspaces", w.sid, p.collection, parentSID, "Reservations"}, nil
}

func (w Workspace) reservationPath(p reservationParent, parentSID, sid string) ([]string, error) {
	path, err := w.reservationsPath(p, parentSID)
	if err != nil {
		return nil, err
	}
	if err := checkSID("reservation SID", "WR", sid); err != nil {
		return nil, err
	}
	return append(path, sid), nil
}

func (w Workspace) fetchReservation(ctx context.Context, p reservationParent, parentSID, sid string) (*Reservation, error) {
	path, err := w.reservationPath(p, parentSID, sid)
	if err != nil {
		return nil, err
	}
	return call(ctx, w.c, &request{method: http.MethodGet, product: productTaskRouter, path: path}, decodeReservation)
}

func (w Workspace) listReservations(ctx context.Context, p reservationParent, parentSID string, lp *ReservationListParams) iter.Seq2[*Reservation, error] {
	path, err := w.reservationsPath(p, parentSID)
	if err != nil {
		return errSeq[Reservation](err)
	}
	q := url.Values{}
	if lp != nil {
		if lp.ReservationStatus != "" {
			if !lp.ReservationStatus.valid() {
				return errSeq[Reservation](fmt.Errorf("%w: reservation status filter %q is not a status", ErrInvalidArgument, truncate(string(lp.ReservationStatus))))
			}
			q.Set("ReservationStatus", string(lp.ReservationStatus))
		}
		if lp.WorkerSID != "" {
			if p != taskParent {
				return errSeq[Reservation](fmt.Errorf("%w: WorkerSID filters Task reservations only", ErrInvalidArgument))
			}
			if err := checkSID("worker SID", "WK", lp.WorkerSID); err != nil {
				return errSeq[Reservation](err)
			}
			q.Set("WorkerSid", lp.WorkerSID)
		}
		if err := setPageSize(q, lp.PageSize); err != nil {
			return errSeq[Reservation](err)
		}
	}
	return list(ctx, w.c, &request{method: http.MethodGet, product: productTaskRouter, path: path, query: q}, "reservations", decodeReservation)
}

func (w Workspace) updateReservationIf(ctx context.Context, p reservationParent, parentSID, sid, etag string, u ReservationUpdate) (*Reservation, error) {
	if err := checkIfMatch(etag); err != nil {
		return nil, err
	}
	f, err := u.form(p == workerParent)
	if err != nil {
		return nil, err
	}
	path, err := w.reservationPath(p, parentSID, sid)
	if err != nil {
		return nil, err
	}
	return writeOnce(ctx, w.c, &request{method: http.MethodPost, product: productTaskRouter, path: path, form: f, ifMatch: etag}, decodeReservation)
}

func (w Workspace) updateReservation(ctx context.Context, p reservationParent, parentSID, sid string, mutate ReservationMutator, opts []UpdateOption) (*Reservation, error) {
	path, err := w.reservationPath(p, parentSID, sid)
	if err != nil {
		return nil, err
	}
	ops := newOps(w.c, productTaskRouter, path, decodeReservation, (*Reservation).Clone, diffReservation,
		func(r *Reservation) *string { return &r.ETag }, nil)
	return runUpdate(ctx, w.c, ops.named("UpdateTaskReservation", "Reservation"), mutate, opts)
}

// ReservationListParams filters reservation lists; zero fields are not sent.
type ReservationListParams struct {
	ReservationStatus ReservationStatus
	// WorkerSID filters a Task's reservations by Worker.
	WorkerSID string
	PageSize  int
}

// FetchTaskReservation reads one reservation of a Task.
//
// Twilio API docs: https://www.twilio.com/docs/taskrouter/api/reservations
func (w Workspace) FetchTaskReservation(ctx context.Context, taskSID, sid string) (*Reservation, error) {
	return w.fetchReservation(ctx, taskParent, taskSID, sid)
}

// ListTaskReservations iterates over a Task's reservations.
func (w Workspace) ListTaskReservations(ctx context.Context, taskSID string, p *ReservationListParams) iter.Seq2[*Reservation, error] {
	return w.listReservations(ctx, taskParent, taskSID, p)
}

// UpdateTaskReservationIf sends one conditional write to a Task's
// reservation: it lands only if the reservation is still at version etag.
// An invalid status is an [ErrInvalidArgument] before any request.
func (w Workspace) UpdateTaskReservationIf(ctx context.Context, taskSID, sid, etag string, u ReservationUpdate) (*Reservation, error) {
	return w.updateReservationIf(ctx, taskParent, taskSID, sid, etag, u)
}

// UpdateTaskReservation runs the update loop on a Task's reservation, for
// example "accept it if it is still pending": the mutator sees the latest
// status and may move it along the moves a client may make.
func (w Workspace) UpdateTaskReservation(ctx context.Context, taskSID, sid string, mutate ReservationMutator, opts ...UpdateOption) (*Reservation, error) {
	return w.updateReservation(ctx, taskParent, taskSID, sid, mutate, opts)
}

// FetchWorkerReservation reads one reservation of a Worker. Twilio's spec
// declares no ETag on this path, so Reservation.ETag may be empty; read it
// with [Workspace.FetchTaskReservation] for a version to write with.
//
// Twilio API docs: https://www.twilio.com/docs/taskrouter/api/worker-reservation
func (w Workspace) FetchWorkerReservation(ctx context.Context, workerSID, sid string) (*Reservation, error) {
	return w.fetchReservation(ctx, workerParent, workerSID, sid)
}

// ListWorkerReservations iterates over a Worker's reservations.
func (w Workspace) ListWorkerReservations(ctx context.Context, workerSID string, p *ReservationListParams) iter.Seq2[*Reservation, error] {
	return w.listReservations(ctx, workerParent, workerSID, p)
}

// UpdateWorkerReservationIf sends one conditional write to a Worker's
// reservation. Twilio's spec accepts If-Match on this path but declares no
// ETag on reading or writing it, so a version read here may be empty, and an
// empty etag is an [ErrInvalidArgument]; prefer
// [Workspace.UpdateTaskReservationIf] with the ETag of
// [Workspace.FetchTaskReservation], or [Workspace.UpdateWorkerReservation],
// which falls back to the Task path by itself. The spec's
// UpdateWorkerReservation takes no Supervisor or SupervisorMode: in
// u.Params they are an [ErrInvalidArgument] here.
func (w Workspace) UpdateWorkerReservationIf(ctx context.Context, workerSID, sid, etag string, u ReservationUpdate) (*Reservation, error) {
	return w.updateReservationIf(ctx, workerParent, workerSID, sid, etag, u)
}

// UpdateWorkerReservation runs the update loop on a Worker's reservation.
//
// Twilio's spec declares no ETag on reading or writing a reservation
// through its Worker (it does through its Task). When the Worker path
// answers without one, the loop reads and writes the reservation through
// the Task it names instead (GET and POST
// /Tasks/{task_sid}/Reservations/{sid}, which declare ETag and If-Match), so
// the version it reads and the data it changes always come from the same
// answer. The result then carries the Task path's ETag, and its url names
// the Worker path.
func (w Workspace) UpdateWorkerReservation(ctx context.Context, workerSID, sid string, mutate ReservationMutator, opts ...UpdateOption) (*Reservation, error) {
	path, err := w.reservationPath(workerParent, workerSID, sid)
	if err != nil {
		return nil, err
	}
	ops := newOps(w.c, productTaskRouter, path, decodeReservation, (*Reservation).Clone, diffReservation,
		func(r *Reservation) *string { return &r.ETag }, nil)
	via := &taskPathFallback{w: w, workerSID: workerSID, sid: sid, workerFetch: ops.fetch, workerWrite: ops.write}
	ops.fetch, ops.write = via.fetch, via.write
	r, err := runUpdate(ctx, w.c, ops.named("UpdateWorkerReservation", "Reservation"), mutate, opts)
	if r != nil {
		via.present(r)
	}
	return r, err
}

// taskPathFallback serves one UpdateWorkerReservation call: through the
// Worker path while it sends ETags, through the Task path once it does not.
type taskPathFallback struct {
	w              Workspace
	workerSID, sid string
	workerFetch    func(context.Context) (*Reservation, error)
	workerWrite    func(context.Context, string, url.Values) (*Reservation, error)
	mu             sync.Mutex
	task           *resourceOps[Reservation] // set once the Worker path sent no ETag
}

func (t *taskPathFallback) taskOps() *resourceOps[Reservation] {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.task
}

func (t *taskPathFallback) fetch(ctx context.Context) (*Reservation, error) {
	if ops := t.taskOps(); ops != nil {
		return ops.fetch(ctx)
	}
	r, err := t.workerFetch(ctx)
	if err != nil || r.ETag != "" {
		return r, err
	}
	// No ETag: switch to the Task the reservation names, if it is this
	// Worker's reservation and its Task SID is well formed; otherwise let
	// the loop report ErrNoETag.
	if r.SID != t.sid || r.WorkerSID != t.workerSID || checkSID("task SID", "WT", r.TaskSID) != nil {
		return r, nil
	}
	path, err := t.w.reservationPath(taskParent, r.TaskSID, t.sid)
	if err != nil {
		return r, nil
	}
	ops := newOps(t.w.c, productTaskRouter, path, decodeReservation, (*Reservation).Clone, diffReservation,
		func(r *Reservation) *string { return &r.ETag }, nil)
	t.mu.Lock()
	t.task = ops
	t.mu.Unlock()
	return ops.fetch(ctx)
}

func (t *taskPathFallback) write(ctx context.Context, etag string, f url.Values) (*Reservation, error) {
	if ops := t.taskOps(); ops != nil {
		return ops.write(ctx, etag, f)
	}
	return t.workerWrite(ctx, etag, f)
}

// present gives a result read through the Task path (by this call, or by
// the call it was coalesced with) the Worker path's url.
func (t *taskPathFallback) present(r *Reservation) {
	from := "/Tasks/" + r.TaskSID + "/Reservations/" + r.SID
	if r.TaskSID != "" && strings.HasSuffix(r.URL, from) {
		r.URL = strings.TrimSuffix(r.URL, from) + "/Workers/" + t.workerSID + "/Reservations/" + r.SID
	}
}
