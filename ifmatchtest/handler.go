package ifmatchtest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ifmatch-go/ifmatch/internal/jsonx"
)

// errDropped marks a request whose connection the fake dropped.
var errDropped = errors.New("ifmatchtest: connection dropped after commit")

// recorder captures a handler's answer so faults can spoil it after commit.
type recorder struct {
	header http.Header
	status int
	body   []byte
}

// Header returns the recorded header map.
func (r *recorder) Header() http.Header { return r.header }

// Write records body bytes.
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	r.body = append(r.body, b...)
	return len(b), nil
}

// WriteHeader records the status.
func (r *recorder) WriteHeader(s int) {
	if r.status == 0 {
		r.status = s
	}
}

// ServeHTTP answers one request as Twilio would, with any injected fault.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := f.serve(w, r); errors.Is(err, errDropped) {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler) // closes the connection without answering
	}
}

// serve handles r; errDropped asks the caller to drop the connection.
func (f *Fake) serve(w http.ResponseWriter, r *http.Request) error {
	admitted, ft := f.arrive(r)
	if !admitted {
		f.refuseThrottled(w, r)
		return nil
	}
	defer f.release()
	r, logStatus := f.track(r, ft)
	if ft != nil {
		if done, err := f.faultBeforeCommit(w, r, ft, logStatus); done {
			return err
		}
	}
	rec := &recorder{header: http.Header{}}
	f.route(rec, r)
	if rec.status == 0 {
		rec.status = 200
	}
	f.keepGET(r, rec)
	logged := false
	if ft != nil && rec.status < 300 {
		var done bool
		var err error
		if done, logged, err = faultAfterCommit(w, r, ft, rec, logStatus); done {
			return err
		}
	}
	if !logged {
		logStatus(rec.status)
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.status)
	_, _ = w.Write(rec.body)
	return nil
}

// arrive admits r under the concurrency limit and, if it is admitted, picks
// its fault (nil for none); either way it waits out the simulated latency.
// An admitted request must be released.
func (f *Fake) arrive(r *http.Request) (admitted bool, ft *Fault) {
	f.mu.Lock()
	admitted = f.admit()
	if admitted {
		ft = f.pickFault(r)
	}
	latency := f.latency
	f.mu.Unlock()
	if latency > 0 {
		time.Sleep(latency) // simulated network round trip, not synchronisation
	}
	return admitted, ft
}

// track parses r's form and returns r carrying its reqInfo, with the
// function that logs r, with its fault ft, once its status is known.
func (f *Fake) track(r *http.Request, ft *Fault) (*http.Request, func(status int)) {
	_ = r.ParseForm()
	entry := Request{Method: r.Method, Path: r.URL.Path, IfMatch: r.Header.Get("If-Match"), Form: r.PostForm,
		Call: r.Header.Get(f.callHeader)}
	info := &reqInfo{}
	if ft != nil {
		entry.Fault = ft.Kind
		info.fault = ft.Kind
	}
	logStatus := func(s int) {
		entry.Status = s
		entry.At = time.Now()
		f.mu.Lock()
		f.reqs = append(f.reqs, entry)
		f.mu.Unlock()
	}
	return r.WithContext(context.WithValue(r.Context(), reqInfoKey{}, info)), logStatus
}

// refuseThrottled logs and answers a request beyond the concurrency limit.
func (f *Fake) refuseThrottled(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	ra := f.throttle.retryAfter
	f.reqs = append(f.reqs, Request{Method: r.Method, Path: r.URL.Path, IfMatch: r.Header.Get("If-Match"),
		Status: http.StatusTooManyRequests, Fault: Throttled, At: time.Now(), Call: r.Header.Get(f.callHeader)})
	f.mu.Unlock()
	f.writeThrottled(w, ra)
}

// faultBeforeCommit applies a fault that acts before the request is
// handled; done reports that it answered (err: drop the connection).
func (f *Fake) faultBeforeCommit(w http.ResponseWriter, r *http.Request, ft *Fault, logStatus func(int)) (done bool, err error) {
	switch ft.Kind {
	case Slow:
		time.Sleep(ft.Latency)
	case Stall:
		logStatus(0) // logged on arrival: the client sees no answer at all
		<-r.Context().Done()
		return true, errDropped
	case Fail500, Fail502, Fail503, RateLimit:
		code, _ := strconv.Atoi(string(ft.Kind))
		writeFault(w, ft, code)
		logStatus(code)
		return true, nil
	case HTMLError:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html><body><h1>502 Bad Gateway</h1></body></html>"))
		logStatus(http.StatusBadGateway)
		return true, nil
	case StaleRead:
		if old := f.olderGET(r); old != nil {
			for k, v := range old.header {
				w.Header()[k] = v
			}
			w.WriteHeader(old.status)
			_, _ = w.Write(old.body)
			logStatus(old.status)
			return true, nil
		}
	case LateCommit:
		if r.Method != http.MethodGet {
			f.commitLater(r, ft.Latency)
		}
		writeFault(w, ft, http.StatusServiceUnavailable)
		logStatus(http.StatusServiceUnavailable)
		return true, nil
	}
	return false, nil
}

// faultAfterCommit applies a fault to the answer of a request handled with
// a 2xx: done reports that it answered (err: drop the connection), logged
// that it logged the request already; otherwise the answer in rec, perhaps
// altered, is sent.
func faultAfterCommit(w http.ResponseWriter, r *http.Request, ft *Fault, rec *recorder, logStatus func(int)) (done, logged bool, err error) {
	switch ft.Kind {
	case DropAfterCommit:
		logStatus(rec.status)
		return true, true, errDropped
	case TruncateAfterCommit:
		logStatus(rec.status)
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(rec.body)))
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body[:len(rec.body)/2])
		return true, true, nil
	case CommitThen500, CommitThen502, CommitThen503, CommitThen504, CommitThen412:
		code, _ := strconv.Atoi(strings.TrimPrefix(string(ft.Kind), "commit-then-"))
		writeFault(w, ft, code)
		logStatus(code)
		return true, true, nil
	case CommitThenStall:
		logStatus(0) // the client sees no answer unless Latency ends the stall first
		if !waitOrDone(r.Context(), ft.Latency) {
			return true, true, errDropped
		}
		return false, true, nil
	case NoETag:
		rec.header.Del("ETag")
	case WeakETag:
		if e := rec.header.Get("ETag"); e != "" {
			rec.header.Set("ETag", "W/"+`"`+strings.Trim(e, `"`)+`"`)
		}
	}
	return false, false, nil
}

// writeFault answers a fault's error status with Twilio's JSON error body.
func writeFault(w http.ResponseWriter, ft *Fault, code int) {
	if ft.RetryAfter > 0 && (code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable) {
		w.Header().Set("Retry-After", strconv.Itoa(int(ft.RetryAfter/time.Second)))
	}
	twilioCode := 20500
	switch code {
	case http.StatusTooManyRequests:
		twilioCode = 20429
	case http.StatusPreconditionFailed:
		twilioCode = 20412
	}
	writeError(w, code, twilioCode, http.StatusText(code))
}

// waitOrDone waits until ctx ends (false) or, when d > 0, until d has passed
// (true).
func waitOrDone(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		<-ctx.Done()
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// defaultLateCommit is a LateCommit's delay when Fault.Latency is 0.
const defaultLateCommit = 20 * time.Millisecond

// commitLater applies the write r after d, as if it arrived then: the
// handler checks its If-Match against the resource at that moment.
func (f *Fake) commitLater(r *http.Request, d time.Duration) {
	if d <= 0 {
		d = defaultLateCommit
	}
	// Copy now: net/http owns r once the handler returns. The copy's
	// context never ends, so the late write cannot be cancelled.
	late := r.Clone(context.WithValue(context.WithoutCancel(r.Context()), reqInfoKey{},
		&reqInfo{fault: LateCommit, late: true}))
	f.mu.Lock()
	f.pending++
	f.mu.Unlock()
	time.AfterFunc(d, func() {
		f.route(&recorder{header: http.Header{}}, late)
		f.mu.Lock()
		f.pending--
		if f.pending == 0 {
			f.settled.Broadcast()
		}
		f.mu.Unlock()
	})
}

// auth checks HTTP Basic credentials: the account's or an API key's.
func (f *Fake) auth(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	if user == AccountSID && pass == AuthToken {
		return true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	secret, ok := f.apiKeys[user]
	return ok && secret == pass
}

func validSID(prefix, s string) bool {
	if len(s) != 34 || !strings.HasPrefix(s, prefix) {
		return false
	}
	for _, c := range s[2:] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func notFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
}

// route dispatches r to its resource.
func (f *Fake) route(w http.ResponseWriter, r *http.Request) {
	if !f.auth(r) {
		writeError(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	// Split the escaped path, so that an escaped "/" inside a segment (a
	// Sync Map key) stays inside it.
	seg := strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/")
	for i, s := range seg {
		u, err := url.PathUnescape(s)
		if err != nil {
			notFound(w, r)
			return
		}
		seg[i] = u
	}
	if len(seg) >= 2 && seg[0] == "v1" && seg[1] == "Services" {
		f.serveSync(w, r, seg[2:])
		return
	}
	if len(seg) < 4 || seg[0] != "v1" || seg[1] != "Workspaces" || !validSID("WS", seg[2]) {
		notFound(w, r)
		return
	}
	ws, coll, rest := seg[2], seg[3], seg[4:]
	prefix := map[string]string{"Tasks": "WT", "Workers": "WK"}[coll]
	if prefix == "" || len(rest) > 0 && !validSID(prefix, rest[0]) ||
		len(rest) == 3 && !validSID("WR", rest[2]) || len(rest) >= 2 && rest[1] != "Reservations" || len(rest) > 3 {
		notFound(w, r)
		return
	}
	switch {
	case len(rest) == 0 && coll == "Tasks":
		switch r.Method {
		case http.MethodGet:
			f.listTasks(w, r, ws)
		case http.MethodPost:
			f.createTask(w, r, ws)
		default:
			methodNotAllowed(w, r)
		}
	case len(rest) == 0:
		f.workersCollection(w, r, ws)
	case len(rest) == 1 && coll == "Tasks":
		f.task(w, r, ws, rest[0])
	case len(rest) == 1:
		f.worker(w, r, ws, rest[0])
	default:
		sid := ""
		if len(rest) == 3 {
			sid = rest[2]
		}
		f.reservations(w, r, ws, rest[0], coll == "Workers", sid)
	}
}

// taskJSON is the spec's taskrouter.v1.workspace.task.
type taskJSON struct {
	AccountSID            string            `json:"account_sid"`
	Age                   int               `json:"age"`
	AssignmentStatus      string            `json:"assignment_status"`
	Attributes            *string           `json:"attributes"`
	Addons                *string           `json:"addons"`
	DateCreated           string            `json:"date_created"`
	DateUpdated           string            `json:"date_updated"`
	TaskQueueEnteredDate  *string           `json:"task_queue_entered_date"`
	Priority              int               `json:"priority"`
	Reason                *string           `json:"reason"`
	SID                   string            `json:"sid"`
	TaskQueueSID          string            `json:"task_queue_sid"`
	TaskQueueFriendlyName string            `json:"task_queue_friendly_name"`
	TaskChannelSID        string            `json:"task_channel_sid"`
	TaskChannelUniqueName string            `json:"task_channel_unique_name"`
	Timeout               int               `json:"timeout"`
	WorkflowSID           string            `json:"workflow_sid"`
	WorkflowFriendlyName  string            `json:"workflow_friendly_name"`
	WorkspaceSID          string            `json:"workspace_sid"`
	URL                   string            `json:"url"`
	Links                 map[string]string `json:"links"`
	VirtualStartTime      string            `json:"virtual_start_time"`
	IgnoreCapacity        bool              `json:"ignore_capacity"`
	RoutingTarget         *string           `json:"routing_target"`
}

func (f *Fake) taskJSON(t *taskRec, withAttributes bool) taskJSON {
	u := f.base + "/v1/Workspaces/" + t.ws + "/Tasks/" + t.sid
	j := taskJSON{AccountSID: AccountSID, Age: int(f.now().Sub(t.created) / time.Second), AssignmentStatus: t.status,
		DateCreated: t.created.Format(time.RFC3339), DateUpdated: t.updated.Format(time.RFC3339),
		Priority: t.priority, SID: t.sid, TaskQueueSID: t.queueSID, TaskQueueFriendlyName: defaultQueueName,
		TaskChannelSID: t.channelSID, TaskChannelUniqueName: t.channelName, Timeout: t.timeout,
		WorkflowSID: t.workflowSID, WorkflowFriendlyName: defaultWorkflowName, WorkspaceSID: t.ws, URL: u,
		Links: map[string]string{"reservations": u + "/Reservations",
			"task_queue": f.base + "/v1/Workspaces/" + t.ws + "/TaskQueues/" + t.queueSID,
			"workflow":   f.base + "/v1/Workspaces/" + t.ws + "/Workflows/" + t.workflowSID,
			"workspace":  f.base + "/v1/Workspaces/" + t.ws},
		VirtualStartTime: t.virtualStart.Format(time.RFC3339), IgnoreCapacity: t.ignoreCapacity}
	if withAttributes {
		a := t.attributes
		j.Attributes = &a
	}
	if t.reason != "" {
		j.Reason = &t.reason
	}
	if t.routingTarget != "" {
		j.RoutingTarget = &t.routingTarget
	}
	ed := t.created.Format(time.RFC3339)
	j.TaskQueueEnteredDate = &ed
	return j
}

// writeJSON answers v as JSON, with an ETag header unless etag is "".
func writeJSON(w http.ResponseWriter, status int, etag string, v any) {
	w.Header().Set("Content-Type", "application/json")
	if etag != "" {
		w.Header().Set("ETag", etag)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// applyTaskForm validates and applies a create or update form to t. It
// returns a 400 message naming the bad field, or "".
func applyTaskForm(t *taskRec, form url.Values, now time.Time) string {
	if msg := applyTaskFields(t, form); msg != "" {
		return msg
	}
	if msg := applyTaskRouting(t, form); msg != "" {
		return msg
	}
	t.updated = now
	return ""
}

// applyTaskFields applies the form's Attributes, Priority, Timeout,
// AssignmentStatus and Reason to t, or returns the message of the first one
// that is invalid.
func applyTaskFields(t *taskRec, form url.Values) string {
	if v, ok := form["Attributes"]; ok {
		if _, err := jsonx.DecodeObject(v[0]); err != nil || strings.TrimSpace(v[0]) == "" {
			return "Attributes must be a valid JSON object"
		}
		t.attributes = v[0]
	}
	if v, ok := form["Priority"]; ok {
		p, err := strconv.Atoi(v[0])
		if err != nil {
			return "Priority must be an integer"
		}
		t.priority = p
	}
	if v, ok := form["Timeout"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 1 {
			return "Timeout must be a positive integer"
		}
		t.timeout = n
	}
	if v, ok := form["AssignmentStatus"]; ok {
		switch v[0] {
		case "pending", "reserved", "assigned", "canceled", "completed", "wrapping":
			t.status = v[0]
		default:
			return "AssignmentStatus must be one of pending, reserved, assigned, canceled, completed, wrapping"
		}
	}
	if v, ok := form["Reason"]; ok {
		t.reason = v[0]
	}
	return ""
}

// applyTaskRouting applies the form's TaskChannel, VirtualStartTime,
// RoutingTarget, IgnoreCapacity, WorkflowSid and TaskQueueSid to t, or
// returns the message of the first one that is invalid.
func applyTaskRouting(t *taskRec, form url.Values) string {
	if v, ok := form["TaskChannel"]; ok {
		if strings.HasPrefix(v[0], "TC") {
			t.channelSID = v[0]
		} else {
			t.channelName = v[0]
		}
	}
	if v, ok := form["VirtualStartTime"]; ok {
		ts, err := time.Parse(time.RFC3339, v[0])
		if err != nil {
			return "VirtualStartTime must be an ISO 8601 date-time"
		}
		t.virtualStart = ts.UTC()
	}
	if v, ok := form["RoutingTarget"]; ok {
		t.routingTarget = v[0]
	}
	if v, ok := form["IgnoreCapacity"]; ok {
		b, err := strconv.ParseBool(v[0])
		if err != nil {
			return "IgnoreCapacity must be true or false"
		}
		t.ignoreCapacity = b
	}
	for _, k := range []string{"WorkflowSid", "TaskQueueSid"} {
		if v, ok := form[k]; ok {
			pfx := map[string]string{"WorkflowSid": "WW", "TaskQueueSid": "WQ"}[k]
			if !validSID(pfx, v[0]) {
				return k + " is not a valid SID"
			}
			if k == "WorkflowSid" {
				t.workflowSID = v[0]
			} else {
				t.queueSID = v[0]
			}
		}
	}
	return ""
}

func (f *Fake) createTask(w http.ResponseWriter, r *http.Request, ws string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.workspaces[ws] {
		notFound(w, r)
		return
	}
	var scratch taskRec
	if msg := applyTaskForm(&scratch, r.PostForm, f.now()); msg != "" {
		writeError(w, http.StatusBadRequest, 20001, msg)
		return
	}
	t := f.newTask(ws)
	_ = applyTaskForm(t, r.PostForm, f.now())
	f.commit(r, t.sid, -1, t.version)
	writeJSON(w, http.StatusCreated, f.etag(t.sid, t.version), f.taskJSON(t, true))
}

func (f *Fake) task(w http.ResponseWriter, r *http.Request, ws, sid string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.tasks[ws+"/"+sid]
	if !ok {
		notFound(w, r)
		return
	}
	if !f.precondition(w, r, t.sid, t.version, 20412) {
		return
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, f.etag(t.sid, t.version), f.taskJSON(t, true))
	case http.MethodPost:
		next := *t
		if msg := applyTaskForm(&next, r.PostForm, f.now()); msg != "" {
			writeError(w, http.StatusBadRequest, 20001, msg)
			return
		}
		next.version++
		*t = next
		f.commit(r, t.sid, t.version-1, t.version)
		writeJSON(w, http.StatusOK, f.etag(t.sid, t.version), f.taskJSON(t, true))
	case http.MethodDelete:
		delete(f.tasks, ws+"/"+sid)
		f.commit(r, t.sid, t.version, -1)
		w.WriteHeader(http.StatusNoContent)
	default:
		methodNotAllowed(w, r)
	}
}

func (f *Fake) listTasks(w http.ResponseWriter, r *http.Request, ws string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.workspaces[ws] {
		notFound(w, r)
		return
	}
	keep, less, msg := taskFilter(r.URL.Query())
	if msg != "" {
		badQuery(w, msg)
		return
	}
	var all []*taskRec
	for _, t := range f.tasks {
		if t.ws == ws && keep(t) {
			all = append(all, t)
		}
	}
	sort.Slice(all, func(i, j int) bool { return less(all[i], all[j]) })
	var items []any
	var versions []string
	for _, t := range all {
		items = append(items, f.taskJSON(t, false))
		versions = append(versions, itemVersion(t.sid, t.version))
	}
	f.writePage(w, r, "tasks", items, listETag(versions))
}

// keepGET records a 2xx answer to a GET, for StaleRead.
func (f *Fake) keepGET(r *http.Request, rec *recorder) {
	if r.Method != http.MethodGet || rec.status < 200 || rec.status > 299 {
		return
	}
	cp := &recorder{header: rec.header.Clone(), body: slices.Clone(rec.body), status: rec.status}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.gets == nil {
		f.gets = map[string]*servedGET{}
	}
	g := f.gets[r.URL.String()]
	if g == nil {
		g = &servedGET{}
		f.gets[r.URL.String()] = g
	}
	if g.latest != nil && g.latest.header.Get("ETag") != cp.header.Get("ETag") {
		g.older = g.latest
	}
	g.latest = cp
}

// olderGET returns what StaleRead answers r with, or nil.
func (f *Fake) olderGET(r *http.Request) *recorder {
	if r.Method != http.MethodGet {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if g := f.gets[r.URL.String()]; g != nil {
		return g.older
	}
	return nil
}
