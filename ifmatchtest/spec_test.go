package ifmatchtest_test

import (
	"encoding/json"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ifmatch-go/ifmatch"
)

// spec is the part of an OpenAPI document the checks need.
type spec struct {
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]struct {
			Properties map[string]struct {
				Pattern string `json:"pattern"`
			} `json:"properties"`
		} `json:"schemas"`
	} `json:"components"`
}

type operation struct {
	RequestBody struct {
		Content map[string]struct {
			Schema struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schema"`
		} `json:"content"`
	} `json:"requestBody"`
	Parameters []struct {
		Name string `json:"name"`
		In   string `json:"in"`
	} `json:"parameters"`
}

func loadSpec(t *testing.T, file string) *spec {
	t.Helper()
	b, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var s spec
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

func keys[M ~map[string]V, V any](m M) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkShape compares a JSON object's keys with a schema's properties, and
// checks every SID against the schema's pattern.
func checkShape(t *testing.T, s *spec, schema string, obj map[string]any) {
	t.Helper()
	sc, ok := s.Components.Schemas[schema]
	if !ok {
		t.Fatalf("no schema %s", schema)
	}
	if got, want := keys(obj), keys(sc.Properties); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("%s: fake answers keys\n %v\nspec has\n %v", schema, got, want)
	}
	for k, p := range sc.Properties {
		if p.Pattern == "" {
			continue
		}
		if v, ok := obj[k].(string); ok && !regexp.MustCompile(p.Pattern).MatchString(v) {
			t.Errorf("%s.%s = %q does not match %s", schema, k, v, p.Pattern)
		}
	}
	for _, k := range []string{"date_created", "date_updated"} {
		if v, ok := obj[k].(string); ok {
			if _, err := time.Parse(time.RFC3339, v); err != nil || !strings.HasSuffix(v, "Z") {
				t.Errorf("%s.%s = %q is not RFC 3339 UTC", schema, k, v)
			}
		}
	}
}

// TestFakeMatchesSpecs checks what the fake answers, and what the client
// sends, against Twilio's OpenAPI specs.
func TestFakeMatchesSpecs(t *testing.T) {
	t.Parallel()
	tr := loadSpec(t, "twilio_taskrouter_v1.json")
	sy := loadSpec(t, "twilio_sync_v1.json")
	srv := newServer(t)
	ctx := ctxT(t)
	c := srv.Client()

	wsSID := srv.AddWorkspace()
	ws := c.Workspace(wsSID)
	prio := 1
	ign := true
	task, err := ws.CreateTask(ctx, ifmatch.TaskCreate{Attributes: map[string]any{"a": 1}, Priority: &prio, Timeout: 100,
		TaskChannel: "voice", WorkflowSID: "WW" + strings.Repeat("1", 32), TaskQueueSID: "WQ" + strings.Repeat("1", 32),
		VirtualStartTime: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), RoutingTarget: "WK" + strings.Repeat("1", 32), IgnoreCapacity: &ign})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ws.UpdateTask(ctx, task.SID, func(tk *ifmatch.Task) error {
		tk.Attributes["x"] = 1
		tk.Priority = 9
		tk.Reason = "r"
		tk.AssignmentStatus = ifmatch.TaskCanceled
		tk.TaskChannelUniqueName = "voice"
		tk.VirtualStartTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	wk, err := ws.CreateWorker(ctx, ifmatch.WorkerCreate{FriendlyName: "w", ActivitySID: "WA" + strings.Repeat("1", 32), Attributes: map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ws.UpdateWorkerIf(ctx, wk.SID, wk.ETag, ifmatch.WorkerUpdate{Attributes: map[string]any{"a": 1}, FriendlyName: "v",
		ActivitySID: "WA" + strings.Repeat("2", 32), RejectPendingReservations: true}); err != nil {
		t.Fatal(err)
	}
	res := srv.AddReservation(wsSID, task.SID, wk.SID)
	if _, err := ws.UpdateTaskReservationIf(ctx, task.SID, res, `"0"`, ifmatch.ReservationUpdate{ReservationStatus: ifmatch.ReservationAccepted,
		Instruction: "dequeue", WorkerActivitySID: "WA" + strings.Repeat("3", 32), Params: url.Values{"DequeueFrom": {"+1555"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ws.UpdateWorkerReservationIf(ctx, wk.SID, res, `"1"`, ifmatch.ReservationUpdate{ReservationStatus: ifmatch.ReservationCompleted}); err != nil {
		t.Fatal(err)
	}

	svcSID := srv.AddSyncService()
	svc := c.SyncService(svcSID)
	doc, err := svc.CreateDocument(ctx, "d", ifmatch.SyncWrite{Data: map[string]any{"a": 1}, TTL: ifmatch.TTL(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UpdateDocumentIf(ctx, "d", doc.ETag, ifmatch.SyncWrite{Data: map[string]any{"a": 2}, TTL: ifmatch.TTL(0)}); err != nil {
		t.Fatal(err)
	}
	srv.AddSyncList(svcSID, "l")
	srv.AddSyncMap(svcSID, "m")
	// Every TTL field, under both names of the item's (TTL and ItemTTL are
	// one field: a write gives one of them).
	all := ifmatch.SyncWrite{Data: map[string]any{"a": 1}, ItemTTL: ifmatch.TTL(time.Minute), CollectionTTL: ifmatch.TTL(time.Hour)}
	alias := ifmatch.SyncWrite{Data: map[string]any{"a": 2}, TTL: ifmatch.TTL(time.Minute), CollectionTTL: ifmatch.TTL(time.Hour)}
	if _, err := svc.CreateListItem(ctx, "l", all); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UpdateListItemIf(ctx, "l", 0, `"0"`, alias); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateMapItem(ctx, "m", "k", all); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.UpdateMapItemIf(ctx, "m", "k", `"0"`, alias); err != nil {
		t.Fatal(err)
	}

	// Every request the client sent: a spec path, a spec method, spec form
	// fields, and If-Match only where the spec takes it.
	for _, r := range srv.Requests() {
		s, tmpl := tr, matchPath(tr, r.Path)
		if tmpl == "" {
			s, tmpl = sy, matchPath(sy, r.Path)
		}
		if tmpl == "" {
			t.Errorf("%s %s matches no spec path", r.Method, r.Path)
			continue
		}
		raw, ok := s.Paths[tmpl][strings.ToLower(r.Method)]
		if !ok {
			t.Errorf("%s %s: the spec has no %s on %s", r.Method, r.Path, r.Method, tmpl)
			continue
		}
		var o operation
		_ = json.Unmarshal(raw, &o)
		props := o.RequestBody.Content["application/x-www-form-urlencoded"].Schema.Properties
		for k := range r.Form {
			if _, ok := props[k]; !ok {
				t.Errorf("%s %s sends form field %q, not in the spec (%v)", r.Method, tmpl, k, keys(props))
			}
		}
		if r.IfMatch != "" {
			takes := false
			for _, p := range o.Parameters {
				takes = takes || p.In == "header" && p.Name == "If-Match"
			}
			if !takes {
				t.Errorf("%s %s sends If-Match, which the spec does not take", r.Method, tmpl)
			}
		}
	}

	// Every shape the fake answers.
	get := func(p string) map[string]any {
		code, _, body := raw(t, srv, "GET", p, "", nil)
		if code != 200 {
			t.Fatalf("GET %s: %d", p, code)
		}
		return body
	}
	base := "/v1/Workspaces/" + wsSID
	checkShape(t, tr, "taskrouter.v1.workspace.task", get(base+"/Tasks/"+task.SID))
	checkShape(t, tr, "taskrouter.v1.workspace.worker", get(base+"/Workers/"+wk.SID))
	checkShape(t, tr, "taskrouter.v1.workspace.task.task_reservation", get(base+"/Tasks/"+task.SID+"/Reservations/"+res))
	checkShape(t, tr, "taskrouter.v1.workspace.worker.worker_reservation", get(base+"/Workers/"+wk.SID+"/Reservations/"+res))
	sb := "/v1/Services/" + svcSID
	checkShape(t, sy, "sync.v1.service.document", get(sb+"/Documents/"+doc.SID))
	checkShape(t, sy, "sync.v1.service.sync_list.sync_list_item", get(sb+"/Lists/l/Items/0"))
	checkShape(t, sy, "sync.v1.service.sync_map.sync_map_item", get(sb+"/Maps/m/Items/k"))
	checkShape(t, sy, "sync.v1.service", get(sb))
	checkShape(t, sy, "sync.v1.service.sync_list", get(sb+"/Lists/l"))
	checkShape(t, sy, "sync.v1.service.sync_map", get(sb+"/Maps/m"))
	// Containers created over the API, with every form field.
	code, _, created := raw(t, srv, "POST", "/v1/Services", "", url.Values{"FriendlyName": {"f"}, "WebhookUrl": {"https://example.com/h"},
		"AclEnabled": {"true"}, "WebhooksFromRestEnabled": {"true"}, "ReachabilityWebhooksEnabled": {"true"},
		"ReachabilityDebouncingEnabled": {"true"}, "ReachabilityDebouncingWindow": {"6000"}})
	if code != 201 {
		t.Fatalf("create service: %d %v", code, created)
	}
	checkShape(t, sy, "sync.v1.service", created)
	for kind, schema := range map[string]string{"Lists": "sync.v1.service.sync_list", "Maps": "sync.v1.service.sync_map"} {
		code, _, created := raw(t, srv, "POST", sb+"/"+kind, "", url.Values{"UniqueName": {"new"}, "Ttl": {"60"}, "CollectionTtl": {"60"}})
		if code != 201 {
			t.Fatalf("create %s: %d %v", kind, code, created)
		}
		checkShape(t, sy, schema, created)
	}
	for p, key := range map[string]string{base + "/Tasks": "tasks", base + "/Workers": "workers", sb + "/Documents": "documents",
		sb + "/Lists/l/Items": "items", sb + "/Maps/m/Items": "items", base + "/Tasks/" + task.SID + "/Reservations": "reservations",
		base + "/Workers/" + wk.SID + "/Reservations": "reservations", "/v1/Services": "services", sb + "/Lists": "lists", sb + "/Maps": "maps"} {
		body := get(p)
		if _, ok := body[key].([]any); !ok {
			t.Errorf("%s: no %q array", p, key)
		}
		meta, _ := body["meta"].(map[string]any)
		if got := strings.Join(keys(meta), ","); got != "first_page_url,key,next_page_url,page,page_size,previous_page_url,url" {
			t.Errorf("%s: meta keys %s", p, got)
		}
	}
}

// matchPath returns the spec path template that p matches, or "".
func matchPath(s *spec, p string) string {
	for tmpl := range s.Paths {
		re := "^" + regexp.MustCompile(`\\\{[A-Za-z]+\\\}`).ReplaceAllString(regexp.QuoteMeta(tmpl), `[^/]+`) + "$"
		if regexp.MustCompile(re).MatchString(p) {
			return tmpl
		}
	}
	return ""
}
