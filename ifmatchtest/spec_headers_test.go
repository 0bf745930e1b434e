package ifmatchtest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ifmatch-go/ifmatch/ifmatchtest"
)

// declaresETag reports whether the spec declares an ETag header on the
// success answer of method on path template tmpl.
func declaresETag(t *testing.T, s *spec, tmpl, method string) bool {
	t.Helper()
	var op struct {
		Responses map[string]struct {
			Headers map[string]json.RawMessage `json:"headers"`
		} `json:"responses"`
	}
	if err := json.Unmarshal(s.Paths[tmpl][strings.ToLower(method)], &op); err != nil {
		t.Fatalf("%s %s: %v", method, tmpl, err)
	}
	for code, r := range op.Responses {
		if strings.HasPrefix(code, "2") {
			for h := range r.Headers {
				if strings.EqualFold(h, "ETag") {
					return true
				}
			}
		}
	}
	return false
}

// TestSpecExactETagHeaders: in SpecExact mode every answer carries an ETag
// header exactly where the spec declares one (reads, writes and lists of
// every resource the fake serves).
func TestSpecExactETagHeaders(t *testing.T) {
	t.Parallel()
	tr := loadSpec(t, "twilio_taskrouter_v1.json")
	sy := loadSpec(t, "twilio_sync_v1.json")
	srv := newServer(t, ifmatchtest.SpecExact())
	ws := srv.AddWorkspace()
	task := srv.AddTask(ws, nil)
	wk := srv.AddWorker(ws, "w", nil)
	res := srv.AddReservation(ws, task, wk)
	svc := srv.AddSyncService()
	doc := srv.AddDocument(svc, "d", nil)
	srv.AddSyncList(svc, "l")
	srv.AddListItem(svc, "l", nil)
	srv.AddSyncMap(svc, "m")
	srv.AddMapItem(svc, "m", "k", nil)
	b, sb := "/v1/Workspaces/"+ws, "/v1/Services/"+svc
	form := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	for _, c := range []struct {
		method, path string
		form         url.Values
	}{
		{"GET", b + "/Tasks", nil}, {"POST", b + "/Tasks", form("Attributes", "{}")},
		{"GET", b + "/Tasks/" + task, nil}, {"POST", b + "/Tasks/" + task, form("Priority", "2")},
		{"GET", b + "/Workers", nil}, {"POST", b + "/Workers", form("FriendlyName", "x")},
		{"GET", b + "/Workers/" + wk, nil}, {"POST", b + "/Workers/" + wk, form("FriendlyName", "y")},
		{"GET", b + "/Tasks/" + task + "/Reservations", nil}, {"GET", b + "/Tasks/" + task + "/Reservations/" + res, nil},
		{"POST", b + "/Tasks/" + task + "/Reservations/" + res, form("ReservationStatus", "accepted")},
		{"GET", b + "/Workers/" + wk + "/Reservations", nil}, {"GET", b + "/Workers/" + wk + "/Reservations/" + res, nil},
		{"POST", b + "/Workers/" + wk + "/Reservations/" + res, form("ReservationStatus", "completed")},
		{"GET", "/v1/Services", nil}, {"POST", "/v1/Services", form("FriendlyName", "s")},
		{"GET", sb, nil}, {"POST", sb, form("FriendlyName", "t")},
		{"GET", sb + "/Documents", nil}, {"POST", sb + "/Documents", form("Data", "{}")},
		{"GET", sb + "/Documents/" + doc, nil}, {"POST", sb + "/Documents/" + doc, form("Data", `{"a":1}`)},
		{"GET", sb + "/Lists", nil}, {"POST", sb + "/Lists", form("UniqueName", "l2")},
		{"GET", sb + "/Lists/l", nil}, {"POST", sb + "/Lists/l", form("Ttl", "60")},
		{"GET", sb + "/Lists/l/Items", nil}, {"POST", sb + "/Lists/l/Items", form("Data", "{}")},
		{"GET", sb + "/Lists/l/Items/0", nil}, {"POST", sb + "/Lists/l/Items/0", form("Data", "{}")},
		{"GET", sb + "/Maps", nil}, {"POST", sb + "/Maps", form("UniqueName", "m2")},
		{"GET", sb + "/Maps/m", nil}, {"POST", sb + "/Maps/m", form("Ttl", "60")},
		{"GET", sb + "/Maps/m/Items", nil}, {"POST", sb + "/Maps/m/Items", form("Key", "k2", "Data", "{}")},
		{"GET", sb + "/Maps/m/Items/k", nil}, {"POST", sb + "/Maps/m/Items/k", form("Data", "{}")},
	} {
		s, tmpl := tr, matchPath(tr, c.path)
		if tmpl == "" {
			s, tmpl = sy, matchPath(sy, c.path)
		}
		if tmpl == "" {
			t.Errorf("%s matches no spec path", c.path)
			continue
		}
		code, etag, body := raw(t, srv, c.method, c.path, "", c.form)
		if code != http.StatusOK && code != http.StatusCreated {
			t.Errorf("%s %s: %d %v", c.method, c.path, code, body)
			continue
		}
		if want := declaresETag(t, s, tmpl, c.method); (etag != "") != want {
			t.Errorf("%s %s: ETag %q; the spec declares one: %v", c.method, tmpl, etag, want)
		}
	}
}
