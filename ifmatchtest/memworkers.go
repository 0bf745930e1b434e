package ifmatchtest

import (
	"context"
	"iter"
	"net/http"
	"reflect"
	"slices"

	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/internal/inputcheck"
)

// This file holds MemoryWorkspace's Workers and reservations.

// AddWorker seeds a Worker (offline) with attributes (nil: {}) and returns
// its SID. Its version starts at "0".
func (m *MemoryWorkspace) AddWorker(friendlyName string, attributes map[string]any) string {
	attrs := mustExact(attributes)
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.newWorker(friendlyName, offlineActivity, attrs).SID
}

func (m *MemoryWorkspace) newWorker(name, activity string, attrs map[string]any) *ifmatch.Worker {
	now := memNow()
	w := &ifmatch.Worker{SID: NewSID("WK"), AccountSID: AccountSID, WorkspaceSID: m.sid, Attributes: attrs,
		DateCreated: now, DateUpdated: now, DateStatusChanged: now, FriendlyName: name, ETag: memETag(0)}
	w.URL = "https://taskrouter.twilio.com/v1/Workspaces/" + m.sid + "/Workers/" + w.SID
	setActivity(w, activity)
	m.seq++
	m.workers[w.SID] = &memEntry[ifmatch.Worker]{v: w, seq: m.seq}
	return w
}

// setActivity sets a Worker's activity as the fake server does: the
// offline activity or "Available".
func setActivity(w *ifmatch.Worker, sid string) {
	w.ActivitySID = sid
	w.ActivityName, w.Available = "Offline", false
	if sid != offlineActivity {
		w.ActivityName, w.Available = "Available", true
	}
}

// Worker returns a copy of a stored Worker, or ok=false.
func (m *MemoryWorkspace) Worker(sid string) (w *ifmatch.Worker, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.workers[sid]
	if !ok {
		return nil, false
	}
	return e.v.Clone(), true
}

// SetWorkerAttributes overwrites a Worker's attributes as another writer
// would, bumping its version. It reports whether the Worker exists.
func (m *MemoryWorkspace) SetWorkerAttributes(sid string, attrs map[string]any) bool {
	a := mustExact(attrs)
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.workers[sid]
	if ok {
		e.v.Attributes = a
		m.bump(&e.v.ETag, &e.v.DateUpdated)
	}
	return ok
}

func (m *MemoryWorkspace) worker(method, sid string) (*memEntry[ifmatch.Worker], error) {
	e, ok := m.workers[sid]
	if !ok {
		return nil, memNotFound(method, "Worker "+sid)
	}
	return e, nil
}

// FetchWorker implements [ifmatch.WorkerAPI].
func (m *MemoryWorkspace) FetchWorker(ctx context.Context, sid string) (*ifmatch.Worker, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := memCheckSID("worker SID", "WK", sid); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.worker(http.MethodGet, sid)
	if err != nil {
		return nil, err
	}
	return e.v.Clone(), nil
}

// CreateWorker implements [ifmatch.WorkerAPI].
func (m *MemoryWorkspace) CreateWorker(ctx context.Context, p ifmatch.WorkerCreate) (*ifmatch.Worker, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if p.FriendlyName == "" {
		return nil, memInvalid("WorkerCreate.FriendlyName is required")
	}
	attrs, err := exactObject(p.Attributes)
	if err != nil {
		return nil, err
	}
	activity := offlineActivity
	if p.ActivitySID != "" {
		if err := memCheckSID("activity SID", "WA", p.ActivitySID); err != nil {
			return nil, err
		}
		activity = p.ActivitySID
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.writes++
	return m.newWorker(p.FriendlyName, activity, attrs).Clone(), nil
}

// ListWorkers implements [ifmatch.WorkerAPI] with the fake server's
// filters and Ordering (filters.go), refusing what the fake refuses.
func (m *MemoryWorkspace) ListWorkers(ctx context.Context, p *ifmatch.WorkerListParams) iter.Seq2[*ifmatch.Worker, error] {
	return ctxSeq(ctx, m.listWorkers(p))
}

func (m *MemoryWorkspace) listWorkers(p *ifmatch.WorkerListParams) iter.Seq2[*ifmatch.Worker, error] {
	q, err := memWorkerQuery(p)
	if err != nil {
		return errSeq[ifmatch.Worker](err)
	}
	keep, less, msg := workerFilter(q)
	if msg != "" {
		return errSeq[ifmatch.Worker](memBadQuery(msg))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return memList(m.workers, workerView, keep, less, (*ifmatch.Worker).Clone)
}

// UpdateWorker implements [ifmatch.WorkerAPI] with ifmatch's own update loop.
func (m *MemoryWorkspace) UpdateWorker(ctx context.Context, sid string, mutate ifmatch.WorkerMutator, opts ...ifmatch.UpdateOption) (*ifmatch.Worker, error) {
	if err := memCheckSID("worker SID", "WK", sid); err != nil {
		return nil, err
	}
	return memLoop(ctx, &m.mu, func() (*ifmatch.Worker, error) {
		e, err := m.worker(http.MethodGet, sid)
		if err != nil {
			return nil, err
		}
		return e.v, nil
	}, func(next *ifmatch.Worker) (*ifmatch.Worker, error) {
		e, _ := m.worker(http.MethodPost, sid)
		attrs, err := exactObject(next.Attributes)
		if err != nil {
			return nil, err
		}
		next.Attributes, next.DateUpdated = attrs, memNow()
		if next.ActivitySID != e.v.ActivitySID {
			setActivity(next, next.ActivitySID)
			next.DateStatusChanged = next.DateUpdated
		}
		e.v = next
		m.writes++
		return next, nil
	}, func(w *ifmatch.Worker) *string { return &w.ETag }, (*ifmatch.Worker).Clone, 20412, mutate, opts)
}

// UpdateWorkerIf implements [ifmatch.WorkerAPI].
func (m *MemoryWorkspace) UpdateWorkerIf(ctx context.Context, sid, etag string, u ifmatch.WorkerUpdate) (*ifmatch.Worker, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := memCheckETag(etag); err != nil {
		return nil, err
	}
	return m.writeWorker(sid, etag, u)
}

// UpdateWorkerLastWriteWins implements [ifmatch.WorkerAPI].
func (m *MemoryWorkspace) UpdateWorkerLastWriteWins(ctx context.Context, sid string, u ifmatch.WorkerUpdate) (*ifmatch.Worker, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return m.writeWorker(sid, "", u)
}

func (m *MemoryWorkspace) writeWorker(sid, etag string, u ifmatch.WorkerUpdate) (*ifmatch.Worker, error) {
	if reflect.ValueOf(u).IsZero() {
		return nil, memInvalid("WorkerUpdate sets no field")
	}
	var attrs map[string]any
	if u.Attributes != nil {
		var err error
		if attrs, err = exactObject(u.Attributes); err != nil {
			return nil, err
		}
	}
	if u.ActivitySID != "" {
		if err := memCheckSID("activity SID", "WA", u.ActivitySID); err != nil {
			return nil, err
		}
	}
	if err := memCheckSID("worker SID", "WK", sid); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.worker(http.MethodPost, sid)
	if err != nil {
		return nil, err
	}
	if etag != "" && !memMatches(etag, e.v.ETag) {
		return nil, memStale(http.MethodPost, 20412)
	}
	w := e.v.Clone()
	if attrs != nil {
		w.Attributes = attrs
	}
	if u.FriendlyName != "" {
		w.FriendlyName = u.FriendlyName
	}
	m.bump(&w.ETag, &w.DateUpdated)
	if u.ActivitySID != "" && u.ActivitySID != w.ActivitySID {
		setActivity(w, u.ActivitySID)
		w.DateStatusChanged = w.DateUpdated
	}
	e.v = w
	return w.Clone(), nil
}

// DeleteWorker implements [ifmatch.WorkerAPI].
func (m *MemoryWorkspace) DeleteWorker(ctx context.Context, sid string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return m.deleteWorker(sid, "")
}

// DeleteWorkerIf implements [ifmatch.WorkerAPI].
func (m *MemoryWorkspace) DeleteWorkerIf(ctx context.Context, sid, etag string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := memCheckETag(etag); err != nil {
		return err
	}
	return m.deleteWorker(sid, etag)
}

func (m *MemoryWorkspace) deleteWorker(sid, etag string) error {
	if err := memCheckSID("worker SID", "WK", sid); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.worker(http.MethodDelete, sid)
	if err != nil {
		return err
	}
	if etag != "" && !memMatches(etag, e.v.ETag) {
		return memStale(http.MethodDelete, 20412)
	}
	delete(m.workers, sid)
	m.writes++
	return nil
}

// ---- Reservations ----

// AddReservation seeds a pending reservation of Task taskSID for Worker
// workerSID (both must exist) and returns its SID, or "" if either is missing.
func (m *MemoryWorkspace) AddReservation(taskSID, workerSID string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tasks[taskSID] == nil || m.workers[workerSID] == nil {
		return ""
	}
	now := memNow()
	r := &ifmatch.Reservation{SID: NewSID("WR"), AccountSID: AccountSID, WorkspaceSID: m.sid, TaskSID: taskSID,
		WorkerSID: workerSID, WorkerName: m.workers[workerSID].v.FriendlyName,
		ReservationStatus: ifmatch.ReservationPending, DateCreated: now, DateUpdated: now, ETag: memETag(0)}
	m.seq++
	m.resv[r.SID] = &memEntry[ifmatch.Reservation]{v: r, seq: m.seq}
	return r.SID
}

// Reservation returns a copy of a stored reservation, or ok=false.
func (m *MemoryWorkspace) Reservation(sid string) (r *ifmatch.Reservation, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.resv[sid]
	if !ok {
		return nil, false
	}
	return e.v.Clone(), true
}

// resvView is a reservation seen from its Task or its Worker.
type resvView struct{ fromWorker bool }

func (v resvView) check(parent, sid string) error {
	what, prefix := "task SID", "WT"
	if v.fromWorker {
		what, prefix = "worker SID", "WK"
	}
	if err := memCheckSID(what, prefix, parent); err != nil {
		return err
	}
	if sid != "" {
		return memCheckSID("reservation SID", "WR", sid)
	}
	return nil
}

func (v resvView) parentOf(r *ifmatch.Reservation) string {
	if v.fromWorker {
		return r.WorkerSID
	}
	return r.TaskSID
}

// resvURL returns the reservation's URL as seen from the view.
func (m *MemoryWorkspace) resvURL(v resvView, r *ifmatch.Reservation) string {
	if v.fromWorker {
		return "https://taskrouter.twilio.com/v1/Workspaces/" + m.sid + "/Workers/" + r.WorkerSID + "/Reservations/" + r.SID
	}
	return "https://taskrouter.twilio.com/v1/Workspaces/" + m.sid + "/Tasks/" + r.TaskSID + "/Reservations/" + r.SID
}

// reservation returns a stored reservation of parent. Called with mu held.
func (m *MemoryWorkspace) reservation(v resvView, method, parent, sid string) (*memEntry[ifmatch.Reservation], error) {
	e, ok := m.resv[sid]
	if !ok || v.parentOf(e.v) != parent {
		return nil, memNotFound(method, "Reservation "+sid)
	}
	return e, nil
}

func (m *MemoryWorkspace) view(v resvView, r *ifmatch.Reservation) *ifmatch.Reservation {
	c := r.Clone()
	c.URL = m.resvURL(v, r)
	return c
}

func (m *MemoryWorkspace) fetchReservation(v resvView, parent, sid string) (*ifmatch.Reservation, error) {
	if err := v.check(parent, sid); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.reservation(v, http.MethodGet, parent, sid)
	if err != nil {
		return nil, err
	}
	return m.view(v, e.v), nil
}

func (m *MemoryWorkspace) listReservations(v resvView, parent string, p *ifmatch.ReservationListParams) iter.Seq2[*ifmatch.Reservation, error] {
	if err := v.check(parent, ""); err != nil {
		return errSeq[ifmatch.Reservation](err)
	}
	if err := memReservationQuery(p, v.fromWorker); err != nil {
		return errSeq[ifmatch.Reservation](err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if v.fromWorker && m.workers[parent] == nil || !v.fromWorker && m.tasks[parent] == nil {
		return errSeq[ifmatch.Reservation](memNotFound(http.MethodGet, parent))
	}
	var out []*memEntry[ifmatch.Reservation]
	for _, e := range m.resv {
		if v.parentOf(e.v) != parent || p != nil && (p.ReservationStatus != "" && e.v.ReservationStatus != p.ReservationStatus ||
			p.WorkerSID != "" && e.v.WorkerSID != p.WorkerSID) {
			continue
		}
		out = append(out, &memEntry[ifmatch.Reservation]{v: m.view(v, e.v), seq: e.seq})
	}
	return seqOf(out)
}

// resvMovesOf lists the moves a client may make, as ifmatch checks them.
var resvMovesOf = map[ifmatch.ReservationStatus][]ifmatch.ReservationStatus{
	ifmatch.ReservationPending:  {ifmatch.ReservationAccepted, ifmatch.ReservationRejected},
	ifmatch.ReservationAccepted: {ifmatch.ReservationWrapping, ifmatch.ReservationCompleted},
	ifmatch.ReservationWrapping: {ifmatch.ReservationCompleted},
}

func (m *MemoryWorkspace) updateReservationIf(v resvView, parent, sid, etag string, u ifmatch.ReservationUpdate) (*ifmatch.Reservation, error) {
	if err := memCheckETag(etag); err != nil {
		return nil, err
	}
	if reflect.ValueOf(u).IsZero() {
		return nil, memInvalid("ReservationUpdate sets no field")
	}
	if err := inputcheck.CheckReservationParams(ifmatch.ErrInvalidArgument, u.Params, v.fromWorker); err != nil {
		return nil, err
	}
	switch u.ReservationStatus {
	case "", ifmatch.ReservationAccepted, ifmatch.ReservationRejected, ifmatch.ReservationWrapping, ifmatch.ReservationCompleted:
	default:
		return nil, memInvalid("reservation status %q cannot be set by a client (use accepted, rejected, wrapping or completed)",
			trunc(string(u.ReservationStatus)))
	}
	for _, s := range []string{u.WorkerActivitySID, u.PostWorkActivitySID} {
		if s != "" {
			if err := memCheckSID("activity SID", "WA", s); err != nil {
				return nil, err
			}
		}
	}
	if err := v.check(parent, sid); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.reservation(v, http.MethodPost, parent, sid)
	if err != nil {
		return nil, err
	}
	if !memMatches(etag, e.v.ETag) {
		return nil, memStale(http.MethodPost, 20412)
	}
	r := e.v.Clone()
	if s := u.ReservationStatus; s != "" && s != r.ReservationStatus {
		if !slices.Contains(resvMovesOf[r.ReservationStatus], s) {
			return nil, &ifmatch.APIError{Status: http.StatusBadRequest, Code: 20001, Method: http.MethodPost,
				Message: "cannot move a " + string(r.ReservationStatus) + " reservation to " + string(s)}
		}
		r.ReservationStatus = s
	}
	m.bump(&r.ETag, &r.DateUpdated)
	e.v = r
	return m.view(v, r), nil
}

func (m *MemoryWorkspace) updateReservation(ctx context.Context, v resvView, parent, sid string, mutate ifmatch.ReservationMutator, opts []ifmatch.UpdateOption) (*ifmatch.Reservation, error) {
	if err := v.check(parent, sid); err != nil {
		return nil, err
	}
	return memLoop(ctx, &m.mu, func() (*ifmatch.Reservation, error) {
		e, err := m.reservation(v, http.MethodGet, parent, sid)
		if err != nil {
			return nil, err
		}
		return m.view(v, e.v), nil
	}, func(next *ifmatch.Reservation) (*ifmatch.Reservation, error) {
		e, _ := m.reservation(v, http.MethodPost, parent, sid)
		next.DateUpdated = memNow()
		e.v = next
		m.writes++
		return next, nil
	}, func(r *ifmatch.Reservation) *string { return &r.ETag }, (*ifmatch.Reservation).Clone, 20412, mutate, opts)
}

// FetchTaskReservation implements [ifmatch.WorkerAPI].
func (m *MemoryWorkspace) FetchTaskReservation(ctx context.Context, taskSID, sid string) (*ifmatch.Reservation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return m.fetchReservation(resvView{}, taskSID, sid)
}

// ListTaskReservations implements [ifmatch.WorkerAPI].
func (m *MemoryWorkspace) ListTaskReservations(ctx context.Context, taskSID string, p *ifmatch.ReservationListParams) iter.Seq2[*ifmatch.Reservation, error] {
	return ctxSeq(ctx, m.listTaskReservations(taskSID, p))
}

func (m *MemoryWorkspace) listTaskReservations(taskSID string, p *ifmatch.ReservationListParams) iter.Seq2[*ifmatch.Reservation, error] {
	return m.listReservations(resvView{}, taskSID, p)
}

// UpdateTaskReservation implements [ifmatch.WorkerAPI].
func (m *MemoryWorkspace) UpdateTaskReservation(ctx context.Context, taskSID, sid string, mutate ifmatch.ReservationMutator, opts ...ifmatch.UpdateOption) (*ifmatch.Reservation, error) {
	return m.updateReservation(ctx, resvView{}, taskSID, sid, mutate, opts)
}

// UpdateTaskReservationIf implements [ifmatch.WorkerAPI].
func (m *MemoryWorkspace) UpdateTaskReservationIf(ctx context.Context, taskSID, sid, etag string, u ifmatch.ReservationUpdate) (*ifmatch.Reservation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return m.updateReservationIf(resvView{}, taskSID, sid, etag, u)
}

// FetchWorkerReservation implements [ifmatch.WorkerAPI].
func (m *MemoryWorkspace) FetchWorkerReservation(ctx context.Context, workerSID, sid string) (*ifmatch.Reservation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return m.fetchReservation(resvView{fromWorker: true}, workerSID, sid)
}

// ListWorkerReservations implements [ifmatch.WorkerAPI].
func (m *MemoryWorkspace) ListWorkerReservations(ctx context.Context, workerSID string, p *ifmatch.ReservationListParams) iter.Seq2[*ifmatch.Reservation, error] {
	return ctxSeq(ctx, m.listWorkerReservations(workerSID, p))
}

func (m *MemoryWorkspace) listWorkerReservations(workerSID string, p *ifmatch.ReservationListParams) iter.Seq2[*ifmatch.Reservation, error] {
	return m.listReservations(resvView{fromWorker: true}, workerSID, p)
}

// UpdateWorkerReservation implements [ifmatch.WorkerAPI].
func (m *MemoryWorkspace) UpdateWorkerReservation(ctx context.Context, workerSID, sid string, mutate ifmatch.ReservationMutator, opts ...ifmatch.UpdateOption) (*ifmatch.Reservation, error) {
	return m.updateReservation(ctx, resvView{fromWorker: true}, workerSID, sid, mutate, opts)
}

// UpdateWorkerReservationIf implements [ifmatch.WorkerAPI].
func (m *MemoryWorkspace) UpdateWorkerReservationIf(ctx context.Context, workerSID, sid, etag string, u ifmatch.ReservationUpdate) (*ifmatch.Reservation, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return m.updateReservationIf(resvView{fromWorker: true}, workerSID, sid, etag, u)
}
