package ifmatchtest

import (
	"net/http"
	"net/url"
	"slices"
	"sort"
	"time"
)

// resvRec is a stored reservation, seen from its Task and its Worker.
type resvRec struct {
	sid, ws, task, worker string
	version               int
	status                string
	created, updated      time.Time
}

// AddReservation seeds a pending reservation of Task taskSID for Worker
// workerSID (both must exist) and returns its SID, or "" if either is missing.
func (f *Fake) AddReservation(ws, taskSID, workerSID string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tasks[ws+"/"+taskSID] == nil || f.workers[ws+"/"+workerSID] == nil {
		return ""
	}
	now := f.now()
	r := &resvRec{sid: NewSID("WR"), ws: ws, task: taskSID, worker: workerSID, status: "pending", created: now, updated: now}
	f.resv[r.sid] = r
	return r.sid
}

// ReservationStatus returns a reservation's status and version.
func (f *Fake) ReservationStatus(sid string) (status string, version int, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.resv[sid]
	if !ok {
		return "", 0, false
	}
	return r.status, r.version, true
}

var resvMoves = map[string][]string{
	"pending":  {"accepted", "rejected"},
	"accepted": {"wrapping", "completed"},
	"wrapping": {"completed"},
}

func (f *Fake) resvJSON(r *resvRec, fromWorker bool) map[string]any {
	u := f.base + "/v1/Workspaces/" + r.ws + "/Tasks/" + r.task + "/Reservations/" + r.sid
	if fromWorker {
		u = f.base + "/v1/Workspaces/" + r.ws + "/Workers/" + r.worker + "/Reservations/" + r.sid
	}
	name := ""
	if w := f.workers[r.ws+"/"+r.worker]; w != nil {
		name = w.friendlyName
	}
	return map[string]any{"account_sid": AccountSID, "date_created": r.created.Format(time.RFC3339),
		"date_updated": r.updated.Format(time.RFC3339), "reservation_status": r.status, "sid": r.sid,
		"task_sid": r.task, "worker_name": name, "worker_sid": r.worker, "workspace_sid": r.ws, "url": u,
		"links": map[string]string{"task": f.base + "/v1/Workspaces/" + r.ws + "/Tasks/" + r.task,
			"worker":    f.base + "/v1/Workspaces/" + r.ws + "/Workers/" + r.worker,
			"workspace": f.base + "/v1/Workspaces/" + r.ws}}
}

// reservations serves a Task's or Worker's reservations (sid "" for the list).
func (f *Fake) reservations(w http.ResponseWriter, r *http.Request, ws, parent string, fromWorker bool, sid string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if fromWorker && f.workers[ws+"/"+parent] == nil || !fromWorker && f.tasks[ws+"/"+parent] == nil {
		notFound(w, r)
		return
	}
	belongs := func(rv *resvRec) bool {
		return rv.ws == ws && (fromWorker && rv.worker == parent || !fromWorker && rv.task == parent)
	}
	if sid == "" {
		f.listReservations(w, r, belongs, fromWorker)
		return
	}
	rv, ok := f.resv[sid]
	if !ok || !belongs(rv) {
		notFound(w, r)
		return
	}
	f.reservation(w, r, rv, fromWorker)
}

// listReservations answers a list of the reservations belongs keeps, as
// seen from a Worker or a Task. f.mu is held.
func (f *Fake) listReservations(w http.ResponseWriter, r *http.Request, belongs func(*resvRec) bool, fromWorker bool) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, r)
		return
	}
	keep, msg := reservationFilter(r.URL.Query(), fromWorker)
	if msg != "" {
		badQuery(w, msg)
		return
	}
	var all []*resvRec
	for _, rv := range f.resv {
		if belongs(rv) && keep(rv) {
			all = append(all, rv)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].sid < all[j].sid })
	var items []any
	var versions []string
	for _, rv := range all {
		items = append(items, f.resvJSON(rv, fromWorker))
		versions = append(versions, itemVersion(rv.sid, rv.version))
	}
	f.writePage(w, r, "reservations", items, listETag(versions))
}

// reservation answers a fetch or an update of rv, as seen from a Worker or
// a Task. f.mu is held.
func (f *Fake) reservation(w http.ResponseWriter, r *http.Request, rv *resvRec, fromWorker bool) {
	if !f.precondition(w, r, rv.sid, rv.version, 20412) {
		return
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, f.resvETag(rv, fromWorker), f.resvJSON(rv, fromWorker))
	case http.MethodPost:
		if msg := checkReservationForm(r.PostForm); msg != "" {
			writeError(w, http.StatusBadRequest, 20001, msg)
			return
		}
		if to := r.PostForm.Get("ReservationStatus"); to != "" {
			if !slices.Contains(resvMoves[rv.status], to) {
				writeError(w, http.StatusBadRequest, 20001, "ReservationStatus cannot move from "+rv.status+" to "+to)
				return
			}
			rv.status = to
		}
		rv.version++
		rv.updated = f.now()
		f.commit(r, rv.sid, rv.version-1, rv.version)
		writeJSON(w, http.StatusOK, f.resvETag(rv, fromWorker), f.resvJSON(rv, fromWorker))
	default:
		methodNotAllowed(w, r)
	}
}

// checkReservationForm answers as Twilio does (a 400 message, or "") a
// reservation update whose SID fields do not match the spec's patterns.
func checkReservationForm(form url.Values) string {
	for _, f := range [][2]string{{"WorkerActivitySid", "WA"}, {"PostWorkActivitySid", "WA"},
		{"DequeuePostWorkActivitySid", "WA"}, {"RedirectCallSid", "CA"}} {
		if k, prefix := f[0], f[1]; len(form[k]) > 0 && !validSID(prefix, form[k][0]) {
			return k + " must be a " + prefix + " SID"
		}
	}
	return ""
}
