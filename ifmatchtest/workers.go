package ifmatchtest

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"time"

	"github.com/ifmatch-go/ifmatch/internal/jsonx"
)

// workerRec is a stored Worker.
type workerRec struct {
	sid, ws          string
	version          int
	friendlyName     string
	activitySID      string
	attributes       string
	created, updated time.Time
	statusChanged    time.Time
}

// AddWorker seeds a Worker with attributes (nil: {}) and returns its SID.
func (f *Fake) AddWorker(ws, friendlyName string, attributes map[string]any) string {
	s := mustEncode("AddWorker attributes", attributes)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.workspaces[ws] = true
	w := f.newWorker(ws, friendlyName)
	w.attributes = s
	return w.sid
}

// offlineActivity is the activity new Workers start in.
const offlineActivity = "WA00000000000000000000000000000000"

func (f *Fake) newWorker(ws, name string) *workerRec {
	now := f.now()
	w := &workerRec{sid: NewSID("WK"), ws: ws, friendlyName: name, activitySID: offlineActivity, attributes: "{}",
		created: now, updated: now, statusChanged: now}
	f.workers[ws+"/"+w.sid] = w
	return w
}

// WorkerAttributes returns a Worker's attributes and version.
func (f *Fake) WorkerAttributes(ws, sid string) (attrs map[string]any, version int, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w, ok := f.workers[ws+"/"+sid]
	if !ok {
		return nil, 0, false
	}
	m, _ := jsonx.DecodeObject(w.attributes)
	return m, w.version, true
}

func (f *Fake) workerJSON(w *workerRec) map[string]any {
	u := f.base + "/v1/Workspaces/" + w.ws + "/Workers/" + w.sid
	name := "Offline"
	available := false
	if w.activitySID != offlineActivity {
		name, available = "Available", true
	}
	return map[string]any{"account_sid": AccountSID, "activity_name": name, "activity_sid": w.activitySID,
		"attributes": w.attributes, "available": available, "date_created": w.created.Format(time.RFC3339),
		"date_status_changed": w.statusChanged.Format(time.RFC3339), "date_updated": w.updated.Format(time.RFC3339),
		"friendly_name": w.friendlyName, "sid": w.sid, "workspace_sid": w.ws, "url": u,
		"links": f.workerLinks(w)}
}

func applyWorkerForm(w *workerRec, form url.Values, now time.Time) string {
	if v, ok := form["Attributes"]; ok {
		if _, err := jsonx.DecodeObject(v[0]); err != nil || v[0] == "" {
			return "Attributes must be a valid JSON object"
		}
		w.attributes = v[0]
	}
	if v, ok := form["ActivitySid"]; ok {
		if !validSID("WA", v[0]) {
			return "ActivitySid is not a valid Activity SID"
		}
		if v[0] != w.activitySID {
			w.statusChanged = now
		}
		w.activitySID = v[0]
	}
	if v, ok := form["FriendlyName"]; ok {
		if v[0] == "" {
			return "FriendlyName must not be empty"
		}
		w.friendlyName = v[0]
	}
	if v, ok := form["RejectPendingReservations"]; ok {
		if _, err := strconv.ParseBool(v[0]); err != nil {
			return "RejectPendingReservations must be true or false"
		}
	}
	w.updated = now
	return ""
}

func (f *Fake) workersCollection(w http.ResponseWriter, r *http.Request, ws string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.workspaces[ws] {
		notFound(w, r)
		return
	}
	switch r.Method {
	case http.MethodPost:
		if r.PostForm.Get("FriendlyName") == "" {
			writeError(w, http.StatusBadRequest, 20001, "Missing required parameter FriendlyName in the post body")
			return
		}
		var scratch workerRec
		if msg := applyWorkerForm(&scratch, r.PostForm, f.now()); msg != "" {
			writeError(w, http.StatusBadRequest, 20001, msg)
			return
		}
		wk := f.newWorker(ws, "")
		_ = applyWorkerForm(wk, r.PostForm, f.now())
		f.commit(r, wk.sid, -1, wk.version)
		writeJSON(w, http.StatusCreated, f.etag(wk.sid, wk.version), f.workerJSON(wk))
	case http.MethodGet:
		keep, less, msg := workerFilter(r.URL.Query())
		if msg != "" {
			badQuery(w, msg)
			return
		}
		var items []any
		var all []*workerRec
		for _, wk := range f.workers {
			if wk.ws == ws && keep(wk) {
				all = append(all, wk)
			}
		}
		sort.Slice(all, func(i, j int) bool { return less(all[i], all[j]) })
		var versions []string
		for _, wk := range all {
			items = append(items, f.workerJSON(wk))
			versions = append(versions, itemVersion(wk.sid, wk.version))
		}
		f.writePage(w, r, "workers", items, listETag(versions))
	default:
		methodNotAllowed(w, r)
	}
}

func (f *Fake) worker(w http.ResponseWriter, r *http.Request, ws, sid string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	wk, ok := f.workers[ws+"/"+sid]
	if !ok {
		notFound(w, r)
		return
	}
	if !f.precondition(w, r, wk.sid, wk.version, 20412) {
		return
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, f.etag(wk.sid, wk.version), f.workerJSON(wk))
	case http.MethodPost:
		next := *wk
		if msg := applyWorkerForm(&next, r.PostForm, f.now()); msg != "" {
			writeError(w, http.StatusBadRequest, 20001, msg)
			return
		}
		next.version++
		*wk = next
		f.commit(r, wk.sid, wk.version-1, wk.version)
		writeJSON(w, http.StatusOK, f.etag(wk.sid, wk.version), f.workerJSON(wk))
	case http.MethodDelete:
		delete(f.workers, ws+"/"+sid)
		f.commit(r, wk.sid, wk.version, -1)
		w.WriteHeader(http.StatusNoContent)
	default:
		methodNotAllowed(w, r)
	}
}

// precondition answers 412 with code when a write's If-Match is stale, and
// reports whether the request may go on. Reads are never refused.
func (f *Fake) precondition(w http.ResponseWriter, r *http.Request, id string, version, code int) bool {
	ifMatch := r.Header.Get("If-Match")
	if r.Method == http.MethodGet || ifMatch == "" || f.etagMatches(ifMatch, id, version) {
		return true
	}
	writeError(w, http.StatusPreconditionFailed, code, "Precondition Failed: If-Match "+ifMatch+" does not match the current revision")
	return false
}

// writePage answers one page of a list with the spec's meta object, paging
// by the PageSize and Page query parameters; listETag, when not "", is sent
// as the ETag header (where the spec declares one).
func (f *Fake) writePage(w http.ResponseWriter, r *http.Request, key string, all []any, listETag string) {
	q := r.URL.Query()
	size, page, msg := paging(r)
	if msg != "" {
		badQuery(w, msg)
		return
	}
	items := []any{}
	for i := page * size; i >= 0 && i < len(all) && i < (page+1)*size; i++ {
		items = append(items, all[i])
	}
	if listETag != "" {
		w.Header().Set("ETag", listETag)
	}
	listURL := f.hostFor(r.URL.Path) + r.URL.Path
	pageURL := func(p int) string {
		v := url.Values{}
		for k, vs := range q {
			if k != "Page" && k != "PageToken" {
				v[k] = vs
			}
		}
		v.Set("PageSize", strconv.Itoa(size))
		v.Set("Page", strconv.Itoa(p))
		return listURL + "?" + v.Encode()
	}
	meta := map[string]any{"first_page_url": pageURL(0), "key": key, "page": page, "page_size": size,
		"url": pageURL(page), "next_page_url": nil, "previous_page_url": nil}
	if (page+1)*size < len(all) {
		meta["next_page_url"] = pageURL(page + 1)
	}
	if page > 0 {
		meta["previous_page_url"] = pageURL(page - 1)
	}
	writeJSON(w, http.StatusOK, "", map[string]any{key: items, "meta": meta})
}
