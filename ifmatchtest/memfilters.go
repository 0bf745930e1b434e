package ifmatchtest

import (
	"iter"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"

	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/internal/inputcheck"
)

// This file lets MemoryWorkspace's and MemorySync's lists behave exactly
// as a Client's against the fake server: the parameters are checked as the
// Client checks them before sending (the same page-size check,
// internal/inputcheck), then turned into the query the Client would send
// and handed to the fake's own filters (filters.go), over a view of the
// stored Task or Worker as the fake's record.

// memBadQuery is the error a Client returns for the fake's 400 to a list
// query (code 20001, naming the parameter).
func memBadQuery(msg string) error {
	return &ifmatch.APIError{Status: http.StatusBadRequest, Code: 20001, Method: http.MethodGet, Message: msg,
		MoreInfo: "https://www.twilio.com/docs/errors/20001"}
}

// checkPageSizeMax checks a PageSize as the Client does (1-max; 0 is the
// server's default).
func checkPageSizeMax(n, max int) error {
	return inputcheck.CheckPageSize(ifmatch.ErrInvalidArgument, n, max)
}

// memTaskQuery checks p as the Client's ListTasks does before sending, and
// returns the query it would send.
func memTaskQuery(p *ifmatch.TaskListParams) (url.Values, error) {
	q := url.Values{}
	if p == nil {
		return q, nil
	}
	if p.Priority != nil {
		q.Set("Priority", strconv.Itoa(*p.Priority))
	}
	for _, s := range p.AssignmentStatus {
		if !slices.Contains(memTaskStatuses, s) {
			return nil, memInvalid("AssignmentStatus filter %q is not a task status", trunc(string(s)))
		}
		q.Add("AssignmentStatus", string(s))
	}
	for _, s := range [][3]string{{"WorkflowSid", "WW", p.WorkflowSID}, {"TaskQueueSid", "WQ", p.TaskQueueSID}} {
		if s[2] != "" {
			if err := memCheckSID(s[0], s[1], s[2]); err != nil {
				return nil, err
			}
			q.Set(s[0], s[2])
		}
	}
	for _, kv := range [][2]string{{"WorkflowName", p.WorkflowName}, {"TaskQueueName", p.TaskQueueName},
		{"EvaluateTaskAttributes", p.EvaluateTaskAttributes}, {"RoutingTarget", p.RoutingTarget}, {"Ordering", p.Ordering}} {
		if kv[1] != "" {
			q.Set(kv[0], kv[1])
		}
	}
	if p.HasAddons != nil {
		q.Set("HasAddons", strconv.FormatBool(*p.HasAddons))
	}
	if err := checkPageSizeMax(p.PageSize, inputcheck.TaskRouterMaxPageSize); err != nil {
		return nil, err
	}
	return q, nil
}

// memWorkerQuery checks p as the Client's ListWorkers does before sending,
// and returns the query it would send.
func memWorkerQuery(p *ifmatch.WorkerListParams) (url.Values, error) {
	q := url.Values{}
	if p == nil {
		return q, nil
	}
	for _, kv := range [][2]string{{"ActivityName", p.ActivityName}, {"FriendlyName", p.FriendlyName},
		{"TargetWorkersExpression", p.TargetWorkersExpression}, {"TaskQueueName", p.TaskQueueName}, {"Ordering", p.Ordering}} {
		if kv[1] != "" {
			q.Set(kv[0], kv[1])
		}
	}
	for _, s := range [][3]string{{"ActivitySid", "WA", p.ActivitySID}, {"TaskQueueSid", "WQ", p.TaskQueueSID}} {
		if s[2] != "" {
			if err := memCheckSID(s[0], s[1], s[2]); err != nil {
				return nil, err
			}
			q.Set(s[0], s[2])
		}
	}
	if p.Available != nil {
		q.Set("Available", strconv.FormatBool(*p.Available))
	}
	if err := checkPageSizeMax(p.PageSize, inputcheck.TaskRouterMaxPageSize); err != nil {
		return nil, err
	}
	return q, nil
}

// taskView is a stored Task as the fake's record, for the fake's filters.
func taskView(t *ifmatch.Task) *taskRec {
	return &taskRec{sid: t.SID, ws: t.WorkspaceSID, status: string(t.AssignmentStatus), priority: t.Priority,
		workflowSID: t.WorkflowSID, queueSID: t.TaskQueueSID, created: t.DateCreated, updated: t.DateUpdated,
		virtualStart: t.VirtualStartTime, routingTarget: t.RoutingTarget}
}

// workerView is a stored Worker as the fake's record, for the fake's filters.
func workerView(w *ifmatch.Worker) *workerRec {
	return &workerRec{sid: w.SID, ws: w.WorkspaceSID, friendlyName: w.FriendlyName, activitySID: w.ActivitySID,
		created: w.DateCreated, updated: w.DateUpdated, statusChanged: w.DateStatusChanged}
}

// memList filters and orders entries with the fake's keep and less, over
// their views, and yields copies made by out.
func memList[T any, R any](es map[string]*memEntry[T], view func(*T) *R, keep func(*R) bool, less func(a, b *R) bool,
	out func(*T) *T) iter.Seq2[*T, error] {
	type kept struct {
		v   *T
		rec *R
	}
	var all []kept
	for _, e := range es {
		if r := view(e.v); keep(r) {
			all = append(all, kept{out(e.v), r})
		}
	}
	sort.Slice(all, func(i, j int) bool { return less(all[i].rec, all[j].rec) })
	return func(yield func(*T, error) bool) {
		for _, k := range all {
			if !yield(k.v, nil) {
				return
			}
		}
	}
}

// memReservationQuery checks p as the Client's reservation lists do before
// sending.
func memReservationQuery(p *ifmatch.ReservationListParams, fromWorker bool) error {
	if p == nil {
		return nil
	}
	if p.ReservationStatus != "" && !slices.Contains(reservationStatuses, string(p.ReservationStatus)) {
		return memInvalid("reservation status filter %q is not a status", trunc(string(p.ReservationStatus)))
	}
	if p.WorkerSID != "" {
		if fromWorker {
			return memInvalid("WorkerSID filters Task reservations only")
		}
		if err := memCheckSID("worker SID", "WK", p.WorkerSID); err != nil {
			return err
		}
	}
	return checkPageSizeMax(p.PageSize, inputcheck.TaskRouterMaxPageSize)
}
