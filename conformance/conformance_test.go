package conformance

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/ifmatch-go/ifmatch/ifmatchtest"
	"github.com/twilio/twilio-go"
	twclient "github.com/twilio/twilio-go/client"
	taskrouter "github.com/twilio/twilio-go/rest/taskrouter/v1"
)

// toServer sends every request twilio-go makes (to taskrouter.twilio.com,
// sync.twilio.com or the fake's own next_page_url) to the loopback fake.
type toServer struct {
	base *url.URL
	rt   http.RoundTripper
}

func (h toServer) RoundTrip(r *http.Request) (*http.Response, error) {
	r2 := r.Clone(r.Context())
	r2.URL.Scheme, r2.URL.Host, r2.Host = h.base.Scheme, h.base.Host, h.base.Host
	return h.rt.RoundTrip(r2)
}

// setup starts a fake on loopback and returns it with a twilio-go client
// aimed at it.
func setup(t *testing.T, opts ...ifmatchtest.Option) (*ifmatchtest.Server, *twilio.RestClient) {
	t.Helper()
	srv := ifmatchtest.NewServer(opts...)
	t.Cleanup(srv.Close)
	base, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	c := &twclient.Client{Credentials: twclient.NewCredentials(ifmatchtest.AccountSID, ifmatchtest.AuthToken),
		HTTPClient: &http.Client{Transport: toServer{base: base, rt: tr}}}
	c.SetAccountSid(ifmatchtest.AccountSID)
	return srv, twilio.NewRestClientWithParams(twilio.ClientParams{Client: c})
}

// wantError checks that err is Twilio's error with this status and code,
// and (when name is not "") that its message names name.
func wantError(t *testing.T, step string, err error, status, code int, name string) {
	t.Helper()
	var te *twclient.TwilioRestError
	if !errors.As(err, &te) {
		t.Errorf("%s: err = %v, want Twilio error %d/%d", step, err, status, code)
		return
	}
	if te.Status != status || te.Code != code || !strings.Contains(te.Message, name) {
		t.Errorf("%s: %d/%d %q, want %d/%d naming %q", step, te.Status, te.Code, te.Message, status, code, name)
	}
}

func ok(t *testing.T, step string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", step, err)
	}
}

// etagOf checks an answer's status and ETag header, and returns the ETag.
func etagOf(t *testing.T, step string, status int, h http.Header, wantStatus int) string {
	t.Helper()
	if status != wantStatus {
		t.Errorf("%s: status %d, want %d", step, status, wantStatus)
	}
	e := h.Get("ETag")
	if e == "" {
		t.Errorf("%s: no ETag header", step)
	}
	return e
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// sids returns the sorted sids of a list answer.
func sids[T any](items []T, sid func(T) *string) []string {
	var out []string
	for _, it := range items {
		out = append(out, str(sid(it)))
	}
	slices.Sort(out)
	return out
}

func sorted(s ...string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestTasks(t *testing.T) {
	t.Parallel()
	srv, rc := setup(t)
	tr := rc.TaskrouterV1
	ws := srv.AddWorkspace()
	wf, q, target := "WW"+strings.Repeat("1", 32), "WQ"+strings.Repeat("2", 32), "WK"+strings.Repeat("3", 32)

	created, err := tr.CreateTaskWithMetadata(ws, (&taskrouter.CreateTaskParams{}).SetAttributes(`{"a":1}`).SetPriority(5).
		SetWorkflowSid(wf).SetTaskQueueSid(q).SetRoutingTarget(target))
	ok(t, "create", err)
	sid := str(created.Resource.Sid)
	e0 := etagOf(t, "create", created.GetStatusCode(), created.GetHeaders(), 201)
	other, err := tr.CreateTask(ws, (&taskrouter.CreateTaskParams{}).SetAttributes(`{}`).SetPriority(1))
	ok(t, "create another", err)
	other2, err := tr.CreateTask(ws, (&taskrouter.CreateTaskParams{}).SetAttributes(`{}`).SetPriority(3))
	ok(t, "create a third", err)
	_, err = tr.UpdateTask(ws, str(other2.Sid), (&taskrouter.UpdateTaskParams{}).SetAssignmentStatus("canceled").SetReason("r"))
	ok(t, "cancel the third", err)

	got, err := tr.FetchTaskWithMetadata(ws, sid)
	ok(t, "fetch", err)
	if e := etagOf(t, "fetch", got.GetStatusCode(), got.GetHeaders(), 200); e != e0 || str(got.Resource.Attributes) != `{"a":1}` {
		t.Errorf("fetch: ETag %s (created %s), attributes %s", e, e0, str(got.Resource.Attributes))
	}
	upd, err := tr.UpdateTaskWithMetadata(ws, sid, (&taskrouter.UpdateTaskParams{}).SetIfMatch(e0).SetAttributes(`{"a":2}`))
	ok(t, "update with the current If-Match", err)
	if e1 := etagOf(t, "update", upd.GetStatusCode(), upd.GetHeaders(), 200); e1 == e0 {
		t.Errorf("update: ETag stayed %s", e1)
	}
	_, err = tr.UpdateTask(ws, sid, (&taskrouter.UpdateTaskParams{}).SetIfMatch(e0).SetPriority(7))
	wantError(t, "update with a stale If-Match", err, 412, 20412, "")
	err = tr.DeleteTask(ws, sid, (&taskrouter.DeleteTaskParams{}).SetIfMatch(e0))
	wantError(t, "delete with a stale If-Match", err, 412, 20412, "")

	// Every filter ListTask declares.
	all := sorted(sid, str(other.Sid), str(other2.Sid))
	for _, c := range []struct {
		name string
		p    *taskrouter.ListTaskParams
		want []string
	}{
		{"none", &taskrouter.ListTaskParams{}, all},
		{"Priority", (&taskrouter.ListTaskParams{}).SetPriority(5), []string{sid}},
		{"AssignmentStatus repeated", (&taskrouter.ListTaskParams{}).SetAssignmentStatus([]string{"pending", "canceled"}), all},
		{"AssignmentStatus comma", (&taskrouter.ListTaskParams{}).SetAssignmentStatus([]string{"pending,reserved"}), sorted(sid, str(other.Sid))},
		{"WorkflowSid", (&taskrouter.ListTaskParams{}).SetWorkflowSid(wf), []string{sid}},
		{"WorkflowName", (&taskrouter.ListTaskParams{}).SetWorkflowName("nobody"), nil},
		{"TaskQueueSid", (&taskrouter.ListTaskParams{}).SetTaskQueueSid(q), []string{sid}},
		{"TaskQueueName", (&taskrouter.ListTaskParams{}).SetTaskQueueName("Default Queue"), all},
		{"RoutingTarget", (&taskrouter.ListTaskParams{}).SetRoutingTarget(target), []string{sid}},
		{"Ordering", (&taskrouter.ListTaskParams{}).SetOrdering("Priority:desc"), all},
		{"HasAddons", (&taskrouter.ListTaskParams{}).SetHasAddons(true), nil},
		{"PageSize", (&taskrouter.ListTaskParams{}).SetPageSize(1), all},
	} {
		res, err := tr.ListTaskWithMetadata(ws, c.p)
		ok(t, "list "+c.name, err)
		if got := sids(res.Resource, func(x taskrouter.TaskrouterV1Task) *string { return x.Sid }); !slices.Equal(got, c.want) {
			t.Errorf("list %s: %v, want %v", c.name, got, c.want)
		}
		if res.GetHeader("ETag") == "" {
			t.Errorf("list %s: no ETag header (the spec declares one)", c.name)
		}
	}
	ordered, err := tr.ListTask(ws, (&taskrouter.ListTaskParams{}).SetOrdering("Priority:desc"))
	ok(t, "list ordered", err)
	if len(ordered) != 3 || ordered[0].Priority != 5 || ordered[2].Priority != 1 {
		t.Errorf("Ordering=Priority:desc: %v", ordered)
	}
	_, err = tr.ListTask(ws, (&taskrouter.ListTaskParams{}).SetEvaluateTaskAttributes(`a == 1`))
	wantError(t, "EvaluateTaskAttributes (not supported)", err, 400, 20001, "EvaluateTaskAttributes")

	cur, err := tr.FetchTaskWithMetadata(ws, sid)
	ok(t, "fetch before delete", err)
	ok(t, "delete with the current If-Match", tr.DeleteTask(ws, sid, (&taskrouter.DeleteTaskParams{}).SetIfMatch(cur.GetHeader("ETag"))))
	_, err = tr.FetchTask(ws, sid)
	wantError(t, "fetch after delete", err, 404, 20404, "")
}

func TestWorkers(t *testing.T) {
	t.Parallel()
	srv, rc := setup(t)
	tr := rc.TaskrouterV1
	ws := srv.AddWorkspace()
	busy := "WA" + strings.Repeat("9", 32)

	created, err := tr.CreateWorkerWithMetadata(ws, (&taskrouter.CreateWorkerParams{}).SetFriendlyName("alice").SetAttributes(`{"skills":["go"]}`))
	ok(t, "create", err)
	sid := str(created.Resource.Sid)
	e0 := etagOf(t, "create", created.GetStatusCode(), created.GetHeaders(), 201)
	bob, err := tr.CreateWorker(ws, (&taskrouter.CreateWorkerParams{}).SetFriendlyName("bob").SetActivitySid(busy))
	ok(t, "create another", err)
	links := created.Resource.Links
	for _, k := range []string{"statistics", "real_time_statistics", "cumulative_statistics", "worker_statistics", "worker_channels"} {
		if links == nil || (*links)[k] == nil {
			t.Errorf("links lack %s: %v", k, links)
		}
	}

	got, err := tr.FetchWorkerWithMetadata(ws, sid)
	ok(t, "fetch", err)
	if e := etagOf(t, "fetch", got.GetStatusCode(), got.GetHeaders(), 200); e != e0 {
		t.Errorf("fetch: ETag %s, created %s", e, e0)
	}
	upd, err := tr.UpdateWorkerWithMetadata(ws, sid, (&taskrouter.UpdateWorkerParams{}).SetIfMatch(e0).SetAttributes(`{"skills":["go","rust"]}`))
	ok(t, "update with the current If-Match", err)
	if e1 := etagOf(t, "update", upd.GetStatusCode(), upd.GetHeaders(), 200); e1 == e0 {
		t.Errorf("update: ETag stayed %s", e1)
	}
	_, err = tr.UpdateWorker(ws, sid, (&taskrouter.UpdateWorkerParams{}).SetIfMatch(e0).SetFriendlyName("x"))
	wantError(t, "update with a stale If-Match", err, 412, 20412, "")
	err = tr.DeleteWorker(ws, sid, (&taskrouter.DeleteWorkerParams{}).SetIfMatch(e0))
	wantError(t, "delete with a stale If-Match", err, 412, 20412, "")

	all := sorted(sid, str(bob.Sid))
	for _, c := range []struct {
		name string
		p    *taskrouter.ListWorkerParams
		want []string
	}{
		{"none", &taskrouter.ListWorkerParams{}, all},
		{"FriendlyName", (&taskrouter.ListWorkerParams{}).SetFriendlyName("nobody"), nil},
		{"FriendlyName match", (&taskrouter.ListWorkerParams{}).SetFriendlyName("alice"), []string{sid}},
		{"ActivityName", (&taskrouter.ListWorkerParams{}).SetActivityName("Offline"), []string{sid}},
		{"ActivitySid", (&taskrouter.ListWorkerParams{}).SetActivitySid(busy), []string{str(bob.Sid)}},
		{"Available", (&taskrouter.ListWorkerParams{}).SetAvailable("true"), []string{str(bob.Sid)}},
		{"Ordering", (&taskrouter.ListWorkerParams{}).SetOrdering("DateStatusChanged:desc"), all},
		{"PageSize", (&taskrouter.ListWorkerParams{}).SetPageSize(1), all},
	} {
		res, err := tr.ListWorkerWithMetadata(ws, c.p)
		ok(t, "list "+c.name, err)
		if got := sids(res.Resource, func(x taskrouter.TaskrouterV1Worker) *string { return x.Sid }); !slices.Equal(got, c.want) {
			t.Errorf("list %s: %v, want %v", c.name, got, c.want)
		}
		if res.GetHeader("ETag") == "" {
			t.Errorf("list %s: no ETag header (the spec declares one)", c.name)
		}
	}
	for name, p := range map[string]*taskrouter.ListWorkerParams{
		"TargetWorkersExpression": (&taskrouter.ListWorkerParams{}).SetTargetWorkersExpression(`skills HAS "go"`),
		"TaskQueueName":           (&taskrouter.ListWorkerParams{}).SetTaskQueueName("q"),
		"TaskQueueSid":            (&taskrouter.ListWorkerParams{}).SetTaskQueueSid("WQ" + strings.Repeat("2", 32)),
	} {
		_, err := tr.ListWorker(ws, p)
		wantError(t, name+" (not supported)", err, 400, 20001, name)
	}

	cur, err := tr.FetchWorkerWithMetadata(ws, sid)
	ok(t, "fetch before delete", err)
	ok(t, "delete with the current If-Match", tr.DeleteWorker(ws, sid, (&taskrouter.DeleteWorkerParams{}).SetIfMatch(cur.GetHeader("ETag"))))
	_, err = tr.FetchWorker(ws, sid)
	wantError(t, "fetch after delete", err, 404, 20404, "")
}

// TestReservations runs both paths to a reservation, in the default mode
// and in SpecExact mode (no ETag through the Worker path, as the spec says).
func TestReservations(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"default", "spec-exact"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			var opts []ifmatchtest.Option
			if mode == "spec-exact" {
				opts = append(opts, ifmatchtest.SpecExact())
			}
			srv, rc := setup(t, opts...)
			tr := rc.TaskrouterV1
			ws := srv.AddWorkspace()
			task := srv.AddTask(ws, nil)
			wk := srv.AddWorker(ws, "w", nil)
			other := srv.AddWorker(ws, "v", nil)
			res := srv.AddReservation(ws, task, wk)
			res2 := srv.AddReservation(ws, task, other)

			got, err := tr.FetchTaskReservationWithMetadata(ws, task, res)
			ok(t, "fetch (task path)", err)
			e0 := etagOf(t, "fetch (task path)", got.GetStatusCode(), got.GetHeaders(), 200)
			upd, err := tr.UpdateTaskReservationWithMetadata(ws, task, res, (&taskrouter.UpdateTaskReservationParams{}).SetIfMatch(e0).SetReservationStatus("accepted"))
			ok(t, "update (task path) with the current If-Match", err)
			e1 := etagOf(t, "update (task path)", upd.GetStatusCode(), upd.GetHeaders(), 200)
			if e1 == e0 {
				t.Errorf("update: ETag stayed %s", e1)
			}
			_, err = tr.UpdateTaskReservation(ws, task, res, (&taskrouter.UpdateTaskReservationParams{}).SetIfMatch(e0).SetReservationStatus("rejected"))
			wantError(t, "update (task path) with a stale If-Match", err, 412, 20412, "")

			wg, err := tr.FetchWorkerReservationWithMetadata(ws, wk, res)
			ok(t, "fetch (worker path)", err)
			if has := wg.GetHeader("ETag") != ""; has != (mode == "default") {
				t.Errorf("fetch (worker path): ETag %q in %s mode", wg.GetHeader("ETag"), mode)
			}
			// The Task path's ETag is the reservation's version: it conditions
			// a write through the Worker path too (If-Match is declared there).
			wu, err := tr.UpdateWorkerReservationWithMetadata(ws, wk, res, (&taskrouter.UpdateWorkerReservationParams{}).SetIfMatch(e1).SetReservationStatus("wrapping"))
			ok(t, "update (worker path) with the current If-Match", err)
			if str(wu.Resource.ReservationStatus) != "wrapping" {
				t.Errorf("update (worker path): %v", str(wu.Resource.ReservationStatus))
			}
			_, err = tr.UpdateWorkerReservation(ws, wk, res, (&taskrouter.UpdateWorkerReservationParams{}).SetIfMatch(e1).SetReservationStatus("completed"))
			wantError(t, "update (worker path) with a stale If-Match", err, 412, 20412, "")

			for _, c := range []struct {
				name string
				p    *taskrouter.ListTaskReservationParams
				want []string
			}{
				{"none", &taskrouter.ListTaskReservationParams{}, sorted(res, res2)},
				{"ReservationStatus", (&taskrouter.ListTaskReservationParams{}).SetReservationStatus("pending"), []string{res2}},
				{"WorkerSid", (&taskrouter.ListTaskReservationParams{}).SetWorkerSid(wk), []string{res}},
			} {
				l, err := tr.ListTaskReservationWithMetadata(ws, task, c.p)
				ok(t, "list (task path) "+c.name, err)
				if got := sids(l.Resource, func(x taskrouter.TaskrouterV1TaskReservation) *string { return x.Sid }); !slices.Equal(got, c.want) {
					t.Errorf("list (task path) %s: %v, want %v", c.name, got, c.want)
				}
				if l.GetHeader("ETag") == "" {
					t.Errorf("list (task path) %s: no ETag", c.name)
				}
			}
			for status, want := range map[string][]string{"wrapping": {res}, "pending": nil} {
				l, err := tr.ListWorkerReservationWithMetadata(ws, wk, (&taskrouter.ListWorkerReservationParams{}).SetReservationStatus(status))
				ok(t, "list (worker path) "+status, err)
				if got := sids(l.Resource, func(x taskrouter.TaskrouterV1WorkerReservation) *string { return x.Sid }); !slices.Equal(got, want) {
					t.Errorf("list (worker path) %s: %v, want %v", status, got, want)
				}
				if l.GetHeader("ETag") == "" {
					t.Errorf("list (worker path) %s: no ETag", status)
				}
			}
			_, err = tr.FetchWorkerReservation(ws, other, res)
			wantError(t, "another Worker's reservation", err, 404, 20404, "")
		})
	}
}
