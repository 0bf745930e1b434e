package ifmatchtest

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// List filters. The fake honours every query parameter the specs declare
// for the lists it serves, or answers 400 (code 20001) naming the one it
// cannot honour; it never ignores a declared one. Parameters the specs do
// not declare are ignored, as Twilio is believed to ignore them.
// MemoryWorkspace's lists run these same filters over views of its Tasks
// and Workers as taskRec and workerRec (memfilters.go).
//
// Not supported (400): Tasks' EvaluateTaskAttributes and Workers'
// TargetWorkersExpression (TaskRouter's expression language), and Workers'
// TaskQueueSid and TaskQueueName (the fake has no TaskQueues to be
// eligible for).

// The fake's one Workflow and TaskQueue names, as Task answers show them.
const (
	defaultWorkflowName = "Default Workflow"
	defaultQueueName    = "Default Queue"
)

var taskStatuses = []string{"pending", "reserved", "assigned", "canceled", "completed", "wrapping"}

var reservationStatuses = []string{"pending", "accepted", "rejected", "timeout", "canceled", "rescinded", "wrapping", "completed"}

// unsupported returns a 400 message for the first of names present in q.
func unsupported(q url.Values, names ...string) string {
	for _, n := range names {
		if _, ok := q[n]; ok {
			return "ifmatchtest does not support the " + n + " filter"
		}
	}
	return ""
}

// paging reads PageSize (the spec's bounds: 1 to 1000, Sync 1 to 100) and
// Page (0 or more) of a list request.
func paging(r *http.Request) (size, page int, msg string) {
	q := r.URL.Query()
	maxSize := 1000
	if strings.HasPrefix(r.URL.Path, "/v1/Services") {
		maxSize = 100
	}
	size = 50
	if v, ok := q["PageSize"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 1 || n > maxSize {
			return 0, 0, "PageSize must be an integer from 1 to " + strconv.Itoa(maxSize)
		}
		size = n
	}
	if v, ok := q["Page"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 0 {
			return 0, 0, "Page must be a non-negative integer"
		}
		page = n
	}
	return size, page, ""
}

// commaValues splits every value of a parameter on commas: Twilio takes
// AssignmentStatus=pending,reserved as well as the parameter repeated.
func commaValues(vs []string) []string {
	var out []string
	for _, v := range vs {
		for _, p := range strings.Split(v, ",") {
			out = append(out, strings.TrimSpace(p))
		}
	}
	return out
}

// taskFilter reads ListTask's filters and Ordering.
func taskFilter(q url.Values) (keep func(*taskRec) bool, less func(a, b *taskRec) bool, msg string) {
	if msg := unsupported(q, "EvaluateTaskAttributes"); msg != "" {
		return nil, nil, msg
	}
	tests, msg := taskTests(q)
	if msg != "" {
		return nil, nil, msg
	}
	less, msg = taskOrdering(q)
	if msg != "" {
		return nil, nil, msg
	}
	return allOf(tests), less, ""
}

// taskTests reads ListTask's filters, one test a filter given.
func taskTests(q url.Values) (tests []func(*taskRec) bool, msg string) {
	if v, ok := q["Priority"]; ok {
		p, err := strconv.Atoi(v[0])
		if err != nil {
			return nil, "Priority must be an integer"
		}
		tests = append(tests, func(t *taskRec) bool { return t.priority == p })
	}
	if v, ok := q["AssignmentStatus"]; ok {
		want := commaValues(v)
		for _, s := range want {
			if !slices.Contains(taskStatuses, s) {
				return nil, "AssignmentStatus " + strconv.Quote(s) + " is not one of " + strings.Join(taskStatuses, ", ")
			}
		}
		tests = append(tests, func(t *taskRec) bool { return slices.Contains(want, t.status) })
	}
	for _, p := range []struct {
		name, prefix string
		field        func(*taskRec) string
	}{
		{"WorkflowSid", "WW", func(t *taskRec) string { return t.workflowSID }},
		{"TaskQueueSid", "WQ", func(t *taskRec) string { return t.queueSID }},
		{"WorkflowName", "", func(*taskRec) string { return defaultWorkflowName }},
		{"TaskQueueName", "", func(*taskRec) string { return defaultQueueName }},
		{"RoutingTarget", "", func(t *taskRec) string { return t.routingTarget }},
	} {
		v, ok := q[p.name]
		if !ok {
			continue
		}
		if p.prefix != "" && !validSID(p.prefix, v[0]) {
			return nil, p.name + " is not a valid SID"
		}
		want, field := v[0], p.field
		tests = append(tests, func(t *taskRec) bool { return field(t) == want })
	}
	if v, ok := q["HasAddons"]; ok {
		b, err := strconv.ParseBool(v[0])
		if err != nil {
			return nil, "HasAddons must be true or false"
		}
		// The fake's Tasks never have Add-ons.
		tests = append(tests, func(*taskRec) bool { return !b })
	}
	return tests, ""
}

// taskOrdering reads Ordering: Attribute:Order, comma-separated; Attribute
// is DateCreated, Priority or VirtualStartTime, Order asc or desc. Ties fall
// back to ascending DateCreated, then SID.
func taskOrdering(q url.Values) (less func(a, b *taskRec) bool, msg string) {
	type key struct {
		cmp  func(a, b *taskRec) int
		desc bool
	}
	var keys []key
	if v, ok := q["Ordering"]; ok {
		for _, part := range commaValues(v) {
			attr, order, _ := strings.Cut(part, ":")
			var k key
			switch attr {
			case "DateCreated":
				k.cmp = func(a, b *taskRec) int { return a.created.Compare(b.created) }
			case "Priority":
				k.cmp = func(a, b *taskRec) int { return a.priority - b.priority }
			case "VirtualStartTime":
				k.cmp = func(a, b *taskRec) int { return a.virtualStart.Compare(b.virtualStart) }
			default:
				return nil, "Ordering " + strconv.Quote(part) + ": the attribute must be DateCreated, Priority or VirtualStartTime"
			}
			switch order {
			case "asc":
			case "desc":
				k.desc = true
			default:
				return nil, "Ordering " + strconv.Quote(part) + ": the order must be asc or desc"
			}
			keys = append(keys, k)
		}
	}
	keys = append(keys, key{cmp: func(a, b *taskRec) int { return a.created.Compare(b.created) }},
		key{cmp: func(a, b *taskRec) int { return strings.Compare(a.sid, b.sid) }})
	less = func(a, b *taskRec) bool {
		for _, k := range keys {
			c := k.cmp(a, b)
			if k.desc {
				c = -c
			}
			if c != 0 {
				return c < 0
			}
		}
		return false
	}
	return less, ""
}

// workerActivityName is the activity_name the fake shows for a Worker.
func workerActivityName(w *workerRec) string {
	if w.activitySID == offlineActivity {
		return "Offline"
	}
	return "Available"
}

// workerFilter reads ListWorker's filters and Ordering.
func workerFilter(q url.Values) (keep func(*workerRec) bool, less func(a, b *workerRec) bool, msg string) {
	if msg := unsupported(q, "TargetWorkersExpression", "TaskQueueSid", "TaskQueueName"); msg != "" {
		return nil, nil, msg
	}
	var tests []func(*workerRec) bool
	if v, ok := q["ActivitySid"]; ok {
		if !validSID("WA", v[0]) {
			return nil, nil, "ActivitySid is not a valid SID"
		}
		want := v[0]
		tests = append(tests, func(w *workerRec) bool { return w.activitySID == want })
	}
	if v, ok := q["ActivityName"]; ok {
		want := v[0]
		tests = append(tests, func(w *workerRec) bool { return workerActivityName(w) == want })
	}
	if v, ok := q["FriendlyName"]; ok {
		want := v[0]
		tests = append(tests, func(w *workerRec) bool { return w.friendlyName == want })
	}
	if v, ok := q["Available"]; ok {
		// The spec: true, 1 or yes select available Workers; false "or any
		// value" the others.
		want := v[0] == "true" || v[0] == "1" || v[0] == "yes"
		tests = append(tests, func(w *workerRec) bool { return (w.activitySID != offlineActivity) == want })
	}
	desc := false
	byStatus := false
	if v, ok := q["Ordering"]; ok {
		switch v[0] {
		case "DateStatusChanged:asc":
			byStatus = true
		case "DateStatusChanged:desc":
			byStatus, desc = true, true
		default:
			return nil, nil, "Ordering " + strconv.Quote(v[0]) + " must be DateStatusChanged:asc or DateStatusChanged:desc"
		}
	}
	less = func(a, b *workerRec) bool {
		if byStatus && !a.statusChanged.Equal(b.statusChanged) {
			return a.statusChanged.Before(b.statusChanged) != desc
		}
		if !a.created.Equal(b.created) {
			return a.created.Before(b.created)
		}
		return a.sid < b.sid
	}
	return allOf(tests), less, ""
}

// reservationFilter reads ListTaskReservation's and ListWorkerReservation's
// filters (WorkerSid is declared on the Task path only).
func reservationFilter(q url.Values, fromWorker bool) (keep func(*resvRec) bool, msg string) {
	var tests []func(*resvRec) bool
	if v, ok := q["ReservationStatus"]; ok {
		want := v[0]
		if !slices.Contains(reservationStatuses, want) {
			return nil, "ReservationStatus " + strconv.Quote(want) + " is not one of " + strings.Join(reservationStatuses, ", ")
		}
		tests = append(tests, func(rv *resvRec) bool { return rv.status == want })
	}
	if v, ok := q["WorkerSid"]; ok && !fromWorker {
		if !validSID("WK", v[0]) {
			return nil, "WorkerSid is not a valid SID"
		}
		want := v[0]
		tests = append(tests, func(rv *resvRec) bool { return rv.worker == want })
	}
	return allOf(tests), ""
}

// allOf is the test that every one of tests passes (all of none do).
func allOf[T any](tests []func(*T) bool) func(*T) bool {
	return func(v *T) bool {
		for _, test := range tests {
			if !test(v) {
				return false
			}
		}
		return true
	}
}

// itemRange applies a Sync item list's Order, From and Bounds to all (in
// ascending order). From is an index for List Items, a key for Map Items;
// it names the first item read in the chosen order, included unless Bounds
// is exclusive. Documents take none of them.
func itemRange(q url.Values, kind string, all []*syncObj) ([]*syncObj, string) {
	if kind == "Documents" {
		return all, ""
	}
	desc := false
	if v, ok := q["Order"]; ok {
		switch v[0] {
		case "asc":
		case "desc":
			desc = true
		default:
			return nil, "Order must be asc or desc"
		}
	}
	exclusive := false
	if v, ok := q["Bounds"]; ok {
		switch v[0] {
		case "inclusive":
		case "exclusive":
			exclusive = true
		default:
			return nil, "Bounds must be inclusive or exclusive"
		}
	}
	if desc {
		all = slices.Clone(all)
		slices.Reverse(all)
	}
	v, ok := q["From"]
	if !ok {
		return all, ""
	}
	// cmp compares an item with From in ascending order.
	var cmp func(o *syncObj) int
	if kind == "Lists" {
		from, err := strconv.Atoi(v[0])
		if err != nil || from < 0 {
			return nil, "From must be a List Item index (a non-negative integer)"
		}
		cmp = func(o *syncObj) int { return o.index - from }
	} else {
		from := v[0]
		cmp = func(o *syncObj) int { return strings.Compare(o.key, from) }
	}
	var out []*syncObj
	for _, o := range all {
		c := cmp(o)
		if desc {
			c = -c
		}
		if c > 0 || c == 0 && !exclusive {
			out = append(out, o)
		}
	}
	return out, ""
}
