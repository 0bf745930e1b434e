package ifmatch_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ifmatch-go/ifmatch"
	"github.com/jarcoal/httpmock"
)

// markerServer is a tiny stateful Task store for marker tests: POSTs commit
// and may then lose their answer, as scripted.
type markerServer struct {
	mu      sync.Mutex
	version int
	attrs   string
	// lose[i] makes the i-th POST (from 0) commit and then fail to answer;
	// reject[i] makes it answer 412 without committing.
	lose, reject map[int]bool
	posts        []string
	other        func() // runs before each GET: another writer
}

func (s *markerServer) get(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.other != nil {
		s.other()
	}
	return taskResp(200, fmt.Sprintf(`"%d"`, s.version), s.attrs, 0)(r)
}

func (s *markerServer) post(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = r.ParseForm()
	n := len(s.posts)
	s.posts = append(s.posts, r.PostForm.Get("Attributes"))
	if s.reject[n] || r.Header.Get("If-Match") != fmt.Sprintf(`"%d"`, s.version) {
		return errResp(412, 20412)(r)
	}
	s.version++
	s.attrs = r.PostForm.Get("Attributes")
	if s.lose[n] {
		return nil, errors.New("read: connection reset by peer")
	}
	return taskResp(200, fmt.Sprintf(`"%d"`, s.version), s.attrs, 0)(r)
}

func (s *markerServer) counter(t *testing.T) int {
	var m map[string]any
	if err := json.Unmarshal([]byte(s.attrs), &m); err != nil {
		t.Fatal(err)
	}
	n, _ := m["n"].(float64)
	return int(n)
}

func increment(tk *ifmatch.Task) error {
	if _, ok := tk.Attributes[ifmatch.DefaultMarkerKey]; ok {
		return errors.New("the mutator sees the marker key")
	}
	n, _ := tk.Attributes["n"].(json.Number).Int64()
	tk.Attributes["n"] = n + 1
	return nil
}

func markerSetup(t *testing.T, s *markerServer) *ifmatch.Workspace {
	c, m := setup(t)
	m.on("GET", taskURL, s.get)
	m.on("POST", taskURL, s.post)
	ws := c.Workspace(testWS)
	return &ws
}

// The answer of a committed write is lost; the read-back finds our marker:
// success, applied once, without a second POST.
func TestMarkersLostAnswerFound(t *testing.T) {
	t.Parallel()
	s := &markerServer{attrs: `{"n":0}`, lose: map[int]bool{0: true}}
	ws := markerSetup(t, s)
	var res ifmatch.OperationResult
	task, err := ws.UpdateTask(ctxT(t), testTask, increment, ifmatch.CommitMarkers(""), ifmatch.ReportResult(&res))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.posts) != 1 || s.counter(t) != 1 || res != ifmatch.Updated {
		t.Fatalf("%d POSTs, counter %d, result %s; want 1, 1, updated", len(s.posts), s.counter(t), res)
	}
	if _, ok := task.Attributes[ifmatch.DefaultMarkerKey]; ok {
		t.Errorf("returned task shows the marker: %v", task.Attributes)
	}
}

// The answer is lost and another writer moved the Task meanwhile: without
// markers that is ErrOutcomeUnknown; with them, the loop knows.
func TestMarkersLostAnswerThenOtherWriter(t *testing.T) {
	t.Parallel()
	for _, markers := range []bool{false, true} {
		t.Run(fmt.Sprint("markers=", markers), func(t *testing.T) {
			t.Parallel()
			s := &markerServer{attrs: `{"n":0}`, lose: map[int]bool{0: true}}
			gets := 0
			s.other = func() {
				gets++
				if gets == 2 { // after our lost write: someone else increments too
					var m map[string]any
					_ = json.Unmarshal([]byte(s.attrs), &m)
					m["n"] = m["n"].(float64) + 1
					b, _ := json.Marshal(m)
					s.attrs = string(b)
					s.version++
				}
			}
			ws := markerSetup(t, s)
			var opts []ifmatch.UpdateOption
			if markers {
				opts = append(opts, ifmatch.CommitMarkers(""))
			}
			_, err := ws.UpdateTask(ctxT(t), testTask, increment, opts...)
			if !markers {
				if !errors.Is(err, ifmatch.ErrOutcomeUnknown) || s.counter(t) != 2 {
					t.Fatalf("err %v counter %d; want ErrOutcomeUnknown, 2", err, s.counter(t))
				}
				return
			}
			if err != nil || s.counter(t) != 2 || len(s.posts) != 1 {
				t.Fatalf("err %v counter %d posts %d; want nil, 2, 1 (ours landed once)", err, s.counter(t), len(s.posts))
			}
		})
	}
}

// A write that did not land (412 after the lost answer, no marker): the loop
// goes on and applies the increment exactly once.
func TestMarkersNotLandedRetried(t *testing.T) {
	t.Parallel()
	s := &markerServer{attrs: `{"n":5}`}
	c, m := setup(t)
	m.on("GET", taskURL, s.get)
	posts := 0
	m.on("POST", taskURL, func(r *http.Request) (*http.Response, error) {
		posts++
		if posts == 1 { // lost before commit
			_ = r.ParseForm()
			s.posts = append(s.posts, r.PostForm.Get("Attributes"))
			return nil, errors.New("read: connection reset by peer")
		}
		return s.post(r)
	})
	_, err := c.Workspace(testWS).UpdateTask(ctxT(t), testTask, increment, ifmatch.CommitMarkers("_w"))
	if err != nil || s.counter(t) != 6 {
		t.Fatalf("err %v counter %d; want nil, 6", err, s.counter(t))
	}
	// The resend (same ETag) carried the same token as the lost copy.
	if len(s.posts) != 2 || s.posts[0] != s.posts[1] {
		t.Fatalf("posts %q: the resend must be byte-identical", s.posts)
	}
	var attrs map[string]any
	_ = json.Unmarshal([]byte(s.attrs), &attrs)
	if toks, _ := attrs["_w"].([]any); len(toks) != 1 {
		t.Errorf("stored tokens %v", attrs["_w"])
	}
}

// Tokens are bounded: the key keeps the last few only.
func TestMarkersBounded(t *testing.T) {
	t.Parallel()
	s := &markerServer{attrs: `{"n":0}`}
	ws := markerSetup(t, s)
	for i := 0; i < 10; i++ {
		if _, err := ws.UpdateTask(ctxT(t), testTask, increment, ifmatch.CommitMarkers("")); err != nil {
			t.Fatal(err)
		}
	}
	var attrs map[string]any
	_ = json.Unmarshal([]byte(s.attrs), &attrs)
	if toks, _ := attrs[ifmatch.DefaultMarkerKey].([]any); len(toks) != 10 || s.counter(t) != 10 {
		t.Fatalf("tokens %v counter %d", toks, s.counter(t))
	}
	// A mutator that changes nothing writes nothing, markers or not.
	before := len(s.posts)
	if _, err := ws.UpdateTask(ctxT(t), testTask, func(*ifmatch.Task) error { return nil }, ifmatch.CommitMarkers("")); err != nil {
		t.Fatal(err)
	}
	if len(s.posts) != before {
		t.Error("a no-op wrote")
	}
}

// A resend after a lost answer is the first write as it was, even though
// the read-back differs in fields the server keeps moving (a Task's age):
// with markers it used to be rebuilt against the read-back and refused as a
// change to a read-only field.
func TestMarkersResendIgnoresServerFields(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	withAge := func(age int) httpmock.Responder {
		return func(r *http.Request) (*http.Response, error) {
			body := strings.Replace(taskBody(`{"n":0}`, 0), `"timeout":86400`, fmt.Sprintf(`"timeout":86400,"age":%d`, age), 1)
			resp := httpmock.NewStringResponse(200, body)
			resp.Header.Set("ETag", `"0"`)
			return resp, nil
		}
	}
	m.on("GET", taskURL, withAge(10).Then(withAge(12)))
	m.on("POST", taskURL, errResp(503, 0).Then(taskResp(200, `"1"`, `{"n":1}`, 0)))
	_, err := c.Workspace(testWS).UpdateTask(ctxT(t), testTask, increment, ifmatch.CommitMarkers(""), ifmatch.FreshRead())
	if err != nil {
		t.Fatalf("err = %v", err)
	}
	log := m.log()
	if got, want := m.seq(), []string{"GET", `POST "0"`, "GET", `POST "0"`}; !slices.Equal(got, want) {
		t.Fatalf("requests = %q, want %q", got, want)
	}
	if log[1].Body != log[3].Body {
		t.Fatalf("the resend differs from the first copy:\n%s\n%s", log[1].Body, log[3].Body)
	}
}

// CommitMarkers never overwrites what is not its own: a key holding the
// user's data, or the idempotency keys' field, fails before any write and
// leaves the resource as it was (a user review found both silently lost).
func TestCommitMarkersKeyMustBeTheirOwn(t *testing.T) {
	t.Parallel()
	srv := fakeServer(t)
	wsSID, svc := srv.AddWorkspace(), srv.AddSyncService()
	ws, sync := srv.Client().Workspace(wsSID), srv.Client().SyncService(svc)
	bump := func(t *ifmatch.Task) error { t.Priority++; return nil }
	for _, v := range []any{1, "x", nil, []any{"not a token"}, []any{"1.abc", 2}, map[string]any{}} {
		sid := srv.AddTask(wsSID, map[string]any{"a": v, "b": 2})
		_, err := ws.UpdateTask(ctxT(t), sid, bump, ifmatch.CommitMarkers("a"))
		if !errors.Is(err, ifmatch.ErrInvalidArgument) || !strings.Contains(err.Error(), `key "a"`) {
			t.Errorf("a = %v: %v, want ErrInvalidArgument naming the key", v, err)
		}
		if attrs, ver, _ := srv.TaskAttributes(wsSID, sid); ver != 0 || len(attrs) != 2 {
			t.Errorf("a = %v: version %d, attributes %v; want untouched", v, ver, attrs)
		}
	}
	doc := srv.AddDocument(svc, "d", map[string]any{"m": "user data"})
	if _, err := sync.UpdateDocument(ctxT(t), doc, func(d *ifmatch.Document) error { d.Data["n"] = 1; return nil },
		ifmatch.CommitMarkers("m")); !errors.Is(err, ifmatch.ErrInvalidArgument) {
		t.Errorf("document: %v, want ErrInvalidArgument", err)
	}
	sid := srv.AddTask(wsSID, map[string]any{"a": 1})
	_, err := ws.UpdateTask(ctxT(t), sid, bump, ifmatch.CommitMarkers(ifmatch.IdempotencyKeysField), ifmatch.IdempotencyKey("EV1"))
	if !errors.Is(err, ifmatch.ErrInvalidArgument) {
		t.Errorf("CommitMarkers(IdempotencyKeysField): %v, want ErrInvalidArgument", err)
	}
	if n := srv.Count(http.MethodPost); n != 0 {
		t.Errorf("%d POSTs, want 0", n)
	}
	// a key the markers own keeps working, and a later call finds it theirs
	for i := 0; i < 2; i++ {
		if _, err := ws.UpdateTask(ctxT(t), sid, bump, ifmatch.CommitMarkers("_w")); err != nil {
			t.Fatalf("own key, call %d: %v", i, err)
		}
	}
	if attrs, ver, _ := srv.TaskAttributes(wsSID, sid); ver != 2 || len(attrs["_w"].([]any)) != 2 {
		t.Errorf("own key: version %d, attributes %v", ver, attrs)
	}
}
