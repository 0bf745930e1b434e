package ifmatchtest_test

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// listed joins a field of a list answer's items: a string, or a number
// (List Item indexes).
func listed(body map[string]any, key, field string) string {
	var out []string
	items, _ := body[key].([]any)
	for _, it := range items {
		m, _ := it.(map[string]any)
		switch v := m[field].(type) {
		case string:
			out = append(out, v)
		case float64:
			out = append(out, strconv.Itoa(int(v)))
		}
	}
	return strings.Join(out, ",")
}

// TestListFilters: every filter the specs declare for the fake's lists is
// honoured, comma forms included, and one the fake cannot honour is a 400
// naming it.
func TestListFilters(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	ws := srv.AddWorkspace()
	b := "/v1/Workspaces/" + ws
	mk := func(form url.Values) string {
		code, _, body := raw(t, srv, "POST", b+"/Tasks", "", form)
		if code != 201 {
			t.Fatalf("create task: %d %v", code, body)
		}
		return body["sid"].(string)
	}
	wf := "WW" + strings.Repeat("1", 32)
	q := "WQ" + strings.Repeat("2", 32)
	t1 := mk(url.Values{"Priority": {"1"}})
	t2 := mk(url.Values{"Priority": {"5"}, "WorkflowSid": {wf}, "AssignmentStatus": {"reserved"}})
	t3 := mk(url.Values{"Priority": {"3"}, "TaskQueueSid": {q}, "RoutingTarget": {"WK" + strings.Repeat("3", 32)}, "AssignmentStatus": {"assigned"}})
	w1 := srv.AddWorker(ws, "alice", nil)
	w2 := srv.AddWorker(ws, "bob", nil)
	if code, _, _ := raw(t, srv, "POST", b+"/Workers/"+w2, "", url.Values{"ActivitySid": {"WA" + strings.Repeat("9", 32)}}); code != 200 {
		t.Fatal("activity")
	}
	r1 := srv.AddReservation(ws, t1, w1)
	r2 := srv.AddReservation(ws, t1, w2)
	if code, _, _ := raw(t, srv, "POST", b+"/Tasks/"+t1+"/Reservations/"+r2, "", url.Values{"ReservationStatus": {"accepted"}}); code != 200 {
		t.Fatal("accept")
	}
	svc := srv.AddSyncService()
	srv.AddSyncList(svc, "l")
	for i := 0; i < 5; i++ {
		srv.AddListItem(svc, "l", nil)
	}
	srv.AddSyncMap(svc, "m")
	for _, k := range []string{"a", "b", "c", "d"} {
		srv.AddMapItem(svc, "m", k, nil)
	}
	sb := "/v1/Services/" + svc

	set := func(sids ...string) string { return strings.Join(sids, ",") }
	for _, c := range []struct {
		path, query, key, field, want string
	}{
		{b + "/Tasks", "", "tasks", "sid", set(t1, t2, t3)},
		{b + "/Tasks", "Priority=5", "tasks", "sid", set(t2)},
		{b + "/Tasks", "AssignmentStatus=pending,reserved", "tasks", "sid", set(t1, t2)},
		{b + "/Tasks", "AssignmentStatus=reserved&AssignmentStatus=assigned", "tasks", "sid", set(t2, t3)},
		{b + "/Tasks", "WorkflowSid=" + wf, "tasks", "sid", set(t2)},
		{b + "/Tasks", "WorkflowName=Default+Workflow", "tasks", "sid", set(t1, t2, t3)},
		{b + "/Tasks", "WorkflowName=other", "tasks", "sid", ""},
		{b + "/Tasks", "TaskQueueSid=" + q, "tasks", "sid", set(t3)},
		{b + "/Tasks", "TaskQueueName=nope", "tasks", "sid", ""},
		{b + "/Tasks", "RoutingTarget=WK" + strings.Repeat("3", 32), "tasks", "sid", set(t3)},
		{b + "/Tasks", "HasAddons=true", "tasks", "sid", ""},
		{b + "/Tasks", "HasAddons=false", "tasks", "sid", set(t1, t2, t3)},
		{b + "/Tasks", "Ordering=Priority:desc", "tasks", "sid", set(t2, t3, t1)},
		{b + "/Tasks", "Ordering=Priority:asc,DateCreated:desc", "tasks", "sid", set(t1, t3, t2)},
		{b + "/Tasks", "Unknown=1", "tasks", "sid", set(t1, t2, t3)}, // undeclared: ignored, as Twilio does
		{b + "/Workers", "FriendlyName=nobody", "workers", "sid", ""},
		{b + "/Workers", "FriendlyName=alice", "workers", "sid", set(w1)},
		{b + "/Workers", "ActivityName=Offline", "workers", "sid", set(w1)},
		{b + "/Workers", "ActivitySid=WA" + strings.Repeat("9", 32), "workers", "sid", set(w2)},
		{b + "/Workers", "Available=yes", "workers", "sid", set(w2)},
		{b + "/Workers", "Available=nah", "workers", "sid", set(w1)},
		{b + "/Tasks/" + t1 + "/Reservations", "ReservationStatus=accepted", "reservations", "sid", set(r2)},
		{b + "/Tasks/" + t1 + "/Reservations", "WorkerSid=" + w1, "reservations", "sid", set(r1)},
		{b + "/Workers/" + w2 + "/Reservations", "ReservationStatus=pending", "reservations", "sid", ""},
		{sb + "/Maps/m/Items", "", "items", "key", "a,b,c,d"},
		{sb + "/Maps/m/Items", "Order=desc", "items", "key", "d,c,b,a"},
		{sb + "/Maps/m/Items", "From=b", "items", "key", "b,c,d"},
		{sb + "/Maps/m/Items", "From=b&Bounds=exclusive", "items", "key", "c,d"},
		{sb + "/Maps/m/Items", "From=c&Order=desc&Bounds=exclusive", "items", "key", "b,a"},
		{sb + "/Lists/l/Items", "From=1&Bounds=exclusive", "items", "index", "2,3,4"},
		{sb + "/Lists/l/Items", "From=3&Order=desc", "items", "index", "3,2,1,0"},
	} {
		code, _, body := raw(t, srv, "GET", c.path+"?"+c.query, "", nil)
		if code != 200 {
			t.Errorf("GET %s?%s: %d %v", c.path, c.query, code, body)
			continue
		}
		got := listed(body, c.key, c.field)
		if c.key == "tasks" || c.key == "workers" || c.key == "reservations" {
			if c.want != got && !strings.Contains(c.query, "Ordering") {
				// Unordered filters: compare as sets.
				if !sameSet(got, c.want) {
					t.Errorf("GET %s?%s = %s, want %s", c.path, c.query, got, c.want)
				}
				continue
			}
		}
		if got != c.want {
			t.Errorf("GET %s?%s = %s, want %s", c.path, c.query, got, c.want)
		}
	}
	for _, c := range []struct{ path, query, names string }{
		{b + "/Tasks", "EvaluateTaskAttributes=a%3D%3D1", "EvaluateTaskAttributes"},
		{b + "/Tasks", "AssignmentStatus=pending,bogus", "AssignmentStatus"},
		{b + "/Tasks", "Priority=high", "Priority"},
		{b + "/Tasks", "Ordering=Age:asc", "Ordering"},
		{b + "/Tasks", "WorkflowSid=nope", "WorkflowSid"},
		{b + "/Workers", "TargetWorkersExpression=1%3D%3D1", "TargetWorkersExpression"},
		{b + "/Workers", "TaskQueueSid=" + q, "TaskQueueSid"},
		{b + "/Workers", "TaskQueueName=x", "TaskQueueName"},
		{b + "/Tasks/" + t1 + "/Reservations", "ReservationStatus=maybe", "ReservationStatus"},
		{sb + "/Maps/m/Items", "Order=sideways", "Order"},
		{sb + "/Maps/m/Items", "Bounds=maybe", "Bounds"},
		{sb + "/Lists/l/Items", "From=x", "From"},
		{sb + "/Lists/l/Items", "PageSize=101", "PageSize"},
		{b + "/Tasks", "Page=-1", "Page"},
	} {
		code, _, body := raw(t, srv, "GET", c.path+"?"+c.query, "", nil)
		msg, _ := body["message"].(string)
		if code != 400 || body["code"] != 20001.0 || !strings.Contains(msg, c.names) {
			t.Errorf("GET %s?%s: %d %v; want 400 naming %s", c.path, c.query, code, body, c.names)
		}
	}
}

func sameSet(a, b string) bool {
	as, bs := strings.Split(a, ","), strings.Split(b, ",")
	if len(as) != len(bs) {
		return false
	}
	seen := map[string]int{}
	for _, x := range as {
		seen[x]++
	}
	for _, x := range bs {
		seen[x]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}
