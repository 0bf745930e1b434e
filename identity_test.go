package ifmatch_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/ifmatch-go/ifmatch"
)

const (
	idWorker   = "WK0123456789abcdef0123456789abcdef"
	idRes      = "WR0123456789abcdef0123456789abcdef"
	idService  = "IS0123456789abcdef0123456789abcdef"
	idDoc      = "ET0123456789abcdef0123456789abcdef"
	idList     = "ES0123456789abcdef0123456789abcdef"
	idMap      = "MP0123456789abcdef0123456789abcdef"
	idOtherSID = "11111111111111111111111111111111" // another resource's SID, after its prefix
)

// idServer answers every GET with get and every POST with post (2xx, with
// ETags "1" and "2"), and counts them: a body's identity is all it tests.
type idServer struct {
	mu          sync.Mutex
	get, post   string
	gets, posts int
}

func (s *idServer) handle(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	body, etag := s.get, `"1"`
	if r.Method == http.MethodPost {
		body, etag = s.post, `"2"`
		s.posts++
	} else {
		s.gets++
	}
	w.Header().Set("ETag", etag)
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, body)
}

func (s *idServer) counts() (gets, posts int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gets, s.posts
}

// idFamily is one resource family, seen through every call that reads an
// answer about one of its resources.
type idFamily struct {
	name, field string
	good        map[string]any // a body of the resource every call asks for
	other       any            // the field's value in another resource
	listKey     string         // the list page's array
	fetch       func(context.Context, *ifmatch.Client) error
	// update runs the loop with a mutator that changes something, and
	// reports whether the result shows that change.
	update   func(ctx context.Context, c *ifmatch.Client, res *ifmatch.OperationResult, etag string) (bool, error)
	updateIf func(context.Context, *ifmatch.Client) error
	create   func(context.Context, *ifmatch.Client) error // nil: no create
	list     func(context.Context, *ifmatch.Client) error
}

func idFamilies() []idFamily {
	return append(append(taskRouterFamilies(), reservationFamilies()...), syncFamilies()...)
}

func wsOf(c *ifmatch.Client) ifmatch.Workspace { return c.Workspace(testWS) }

func svcOf(c *ifmatch.Client) ifmatch.SyncService { return c.SyncService(idService) }

func taskRouterFamilies() []idFamily {
	return []idFamily{
		{name: "Task", field: "sid", other: "WT" + idOtherSID, listKey: "tasks",
			good: map[string]any{"sid": testTask, "workspace_sid": testWS, "attributes": `{"keep":true}`},
			fetch: func(ctx context.Context, c *ifmatch.Client) error {
				_, err := wsOf(c).FetchTask(ctx, testTask)
				return err
			},
			update: func(ctx context.Context, c *ifmatch.Client, res *ifmatch.OperationResult, etag string) (bool, error) {
				t, err := wsOf(c).UpdateTask(ctx, testTask, func(t *ifmatch.Task) error { t.Attributes["x"] = "1"; return nil }, ifmatch.ReportResult(res))
				return err == nil && t.SID == testTask && t.Attributes["x"] == "1" && t.Attributes["keep"] == true && t.ETag == etag, err
			},
			updateIf: func(ctx context.Context, c *ifmatch.Client) error {
				_, err := wsOf(c).UpdateTaskIf(ctx, testTask, `"1"`, ifmatch.TaskUpdate{Priority: ptr(3)})
				return err
			},
			create: func(ctx context.Context, c *ifmatch.Client) error {
				_, err := wsOf(c).CreateTask(ctx, ifmatch.TaskCreate{Attributes: map[string]any{"x": 1}})
				return err
			},
			list: func(ctx context.Context, c *ifmatch.Client) error { return drain(wsOf(c).ListTasks(ctx, nil)) },
		},
		{name: "Worker", field: "sid", other: "WK" + idOtherSID, listKey: "workers",
			good: map[string]any{"sid": idWorker, "friendly_name": "w", "attributes": `{"keep":true}`},
			fetch: func(ctx context.Context, c *ifmatch.Client) error {
				_, err := wsOf(c).FetchWorker(ctx, idWorker)
				return err
			},
			update: func(ctx context.Context, c *ifmatch.Client, res *ifmatch.OperationResult, etag string) (bool, error) {
				w, err := wsOf(c).UpdateWorker(ctx, idWorker, func(w *ifmatch.Worker) error { w.Attributes["x"] = "1"; return nil }, ifmatch.ReportResult(res))
				return err == nil && w.SID == idWorker && w.Attributes["x"] == "1" && w.Attributes["keep"] == true && w.ETag == etag, err
			},
			updateIf: func(ctx context.Context, c *ifmatch.Client) error {
				_, err := wsOf(c).UpdateWorkerIf(ctx, idWorker, `"1"`, ifmatch.WorkerUpdate{FriendlyName: "v"})
				return err
			},
			create: func(ctx context.Context, c *ifmatch.Client) error {
				_, err := wsOf(c).CreateWorker(ctx, ifmatch.WorkerCreate{FriendlyName: "w"})
				return err
			},
			list: func(ctx context.Context, c *ifmatch.Client) error { return drain(wsOf(c).ListWorkers(ctx, nil)) },
		},
	}
}

// reservationFamilies are a reservation seen through its Task and through
// its Worker.
func reservationFamilies() []idFamily {
	good := map[string]any{"sid": idRes, "task_sid": testTask, "worker_sid": idWorker, "reservation_status": "pending"}
	accept := func(r *ifmatch.Reservation) error { r.ReservationStatus = ifmatch.ReservationAccepted; return nil }
	accepted := ifmatch.ReservationUpdate{ReservationStatus: ifmatch.ReservationAccepted}
	shows := func(etag string, r *ifmatch.Reservation, err error) (bool, error) {
		return err == nil && r.SID == idRes && r.ReservationStatus == ifmatch.ReservationAccepted && r.ETag == etag, err
	}
	return []idFamily{
		{name: "TaskReservation", field: "sid", other: "WR" + idOtherSID, listKey: "reservations", good: good,
			fetch: func(ctx context.Context, c *ifmatch.Client) error {
				_, err := wsOf(c).FetchTaskReservation(ctx, testTask, idRes)
				return err
			},
			update: func(ctx context.Context, c *ifmatch.Client, res *ifmatch.OperationResult, etag string) (bool, error) {
				r, err := wsOf(c).UpdateTaskReservation(ctx, testTask, idRes, accept, ifmatch.ReportResult(res))
				return shows(etag, r, err)
			},
			updateIf: func(ctx context.Context, c *ifmatch.Client) error {
				_, err := wsOf(c).UpdateTaskReservationIf(ctx, testTask, idRes, `"1"`, accepted)
				return err
			},
			list: func(ctx context.Context, c *ifmatch.Client) error {
				return drain(wsOf(c).ListTaskReservations(ctx, testTask, nil))
			},
		},
		{name: "WorkerReservation", field: "sid", other: "WR" + idOtherSID, listKey: "reservations", good: good,
			fetch: func(ctx context.Context, c *ifmatch.Client) error {
				_, err := wsOf(c).FetchWorkerReservation(ctx, idWorker, idRes)
				return err
			},
			update: func(ctx context.Context, c *ifmatch.Client, res *ifmatch.OperationResult, etag string) (bool, error) {
				r, err := wsOf(c).UpdateWorkerReservation(ctx, idWorker, idRes, accept, ifmatch.ReportResult(res))
				return shows(etag, r, err)
			},
			updateIf: func(ctx context.Context, c *ifmatch.Client) error {
				_, err := wsOf(c).UpdateWorkerReservationIf(ctx, idWorker, idRes, `"1"`, accepted)
				return err
			},
			list: func(ctx context.Context, c *ifmatch.Client) error {
				return drain(wsOf(c).ListWorkerReservations(ctx, idWorker, nil))
			},
		},
	}
}

// syncBody is a Sync resource's body named by field, holding {"keep":true}.
func syncBody(field string, v any, extra ...any) map[string]any {
	m := map[string]any{field: v, "revision": "1", "data": map[string]any{"keep": true}, "service_sid": idService}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i].(string)] = extra[i+1]
	}
	return m
}

// syncShows reports whether a Sync update's result carries the change.
func syncShows(data map[string]any, got, etag string, err error) (bool, error) {
	return err == nil && data["x"] == "1" && data["keep"] == true && got == etag, err
}

func setX(d *map[string]any) { (*d)["x"] = "1" }

var syncX = ifmatch.SyncWrite{Data: map[string]any{"x": 1}}

func syncFamilies() []idFamily {
	return append(documentFamilies(), listItemFamily(), mapItemFamily())
}

// documentFamilies are a Sync Document asked for by SID and by unique name.
func documentFamilies() []idFamily {
	good := syncBody("sid", idDoc, "unique_name", "doc")
	fam := func(name, doc, field string, other any) idFamily {
		return idFamily{name: name, field: field, other: other, listKey: "documents", good: good,
			fetch: func(ctx context.Context, c *ifmatch.Client) error {
				_, err := svcOf(c).FetchDocument(ctx, doc)
				return err
			},
			update: func(ctx context.Context, c *ifmatch.Client, res *ifmatch.OperationResult, etag string) (bool, error) {
				d, err := svcOf(c).UpdateDocument(ctx, doc, func(d *ifmatch.Document) error { setX(&d.Data); return nil }, ifmatch.ReportResult(res))
				if err != nil {
					return false, err
				}
				return syncShows(d.Data, d.ETag, etag, err)
			},
			updateIf: func(ctx context.Context, c *ifmatch.Client) error {
				_, err := svcOf(c).UpdateDocumentIf(ctx, doc, `"1"`, syncX)
				return err
			},
		}
	}
	bySID, byName := fam("Document", idDoc, "sid", "ET"+idOtherSID), fam("DocumentByName", "doc", "unique_name", "another")
	bySID.create = func(ctx context.Context, c *ifmatch.Client) error {
		_, err := svcOf(c).CreateDocument(ctx, "doc", syncX)
		return err
	}
	bySID.list = func(ctx context.Context, c *ifmatch.Client) error { return drain(svcOf(c).ListDocuments(ctx, nil)) }
	return []idFamily{bySID, byName}
}

func listItemFamily() idFamily {
	return idFamily{name: "ListItem", field: "index", other: 4, listKey: "items",
		good: syncBody("index", 3, "list_sid", idList),
		fetch: func(ctx context.Context, c *ifmatch.Client) error {
			_, err := svcOf(c).FetchListItem(ctx, idList, 3)
			return err
		},
		update: func(ctx context.Context, c *ifmatch.Client, res *ifmatch.OperationResult, etag string) (bool, error) {
			i, err := svcOf(c).UpdateListItem(ctx, idList, 3, func(i *ifmatch.ListItem) error { setX(&i.Data); return nil }, ifmatch.ReportResult(res))
			if err != nil {
				return false, err
			}
			return syncShows(i.Data, i.ETag, etag, err)
		},
		updateIf: func(ctx context.Context, c *ifmatch.Client) error {
			_, err := svcOf(c).UpdateListItemIf(ctx, idList, 3, `"1"`, syncX)
			return err
		},
		create: func(ctx context.Context, c *ifmatch.Client) error {
			_, err := svcOf(c).CreateListItem(ctx, idList, syncX)
			return err
		},
		list: func(ctx context.Context, c *ifmatch.Client) error {
			return drain(svcOf(c).ListListItems(ctx, idList, nil))
		},
	}
}

func mapItemFamily() idFamily {
	return idFamily{name: "MapItem", field: "key", other: "k2", listKey: "items",
		good: syncBody("key", "k", "map_sid", idMap),
		fetch: func(ctx context.Context, c *ifmatch.Client) error {
			_, err := svcOf(c).FetchMapItem(ctx, idMap, "k")
			return err
		},
		update: func(ctx context.Context, c *ifmatch.Client, res *ifmatch.OperationResult, etag string) (bool, error) {
			i, err := svcOf(c).UpdateMapItem(ctx, idMap, "k", func(i *ifmatch.MapItem) error { setX(&i.Data); return nil }, ifmatch.ReportResult(res))
			if err != nil {
				return false, err
			}
			return syncShows(i.Data, i.ETag, etag, err)
		},
		updateIf: func(ctx context.Context, c *ifmatch.Client) error {
			_, err := svcOf(c).UpdateMapItemIf(ctx, idMap, "k", `"1"`, syncX)
			return err
		},
		create: func(ctx context.Context, c *ifmatch.Client) error {
			_, err := svcOf(c).CreateMapItem(ctx, idMap, "k", syncX)
			return err
		},
		list: func(ctx context.Context, c *ifmatch.Client) error {
			return drain(svcOf(c).ListMapItems(ctx, idMap, nil))
		},
	}
}

// drain iterates over a list to its end, returning its error.
func drain[T any](seq iter.Seq2[*T, error]) error {
	for _, err := range seq {
		if err != nil {
			return err
		}
	}
	return nil
}

// badBody is a 2xx body that does not name the resource asked for, with
// what the error must mention.
type badBody struct {
	name, body, says string
	named            bool // bad only where a resource is named: fine as a list item
	foreign          bool // names another resource of the collection, whose version its ETag is
}

// badBodies are the 2xx bodies that do not name f's resource.
func (f idFamily) badBodies(t *testing.T) []badBody {
	without, other := jsonWith(t, f.good, f.field, nil), jsonWith(t, f.good, f.field, f.other)
	return []badBody{
		{name: "null", body: "null", says: "null, not a JSON object"},
		{name: "empty object", body: "{}", says: "the body has no "},
		{name: "array", body: "[" + jsonWith(t, f.good, "", nil) + "]", says: "a JSON array, not a JSON object"},
		{name: "no identity", body: without, says: "no " + f.field, foreign: f.field == "unique_name"}, // a Document all the same
		{name: "another resource", body: other, says: fmt.Sprint(f.other), named: true, foreign: true},
	}
}

// jsonWith encodes m with field set to v (deleted when v is nil).
func jsonWith(t *testing.T, m map[string]any, field string, v any) string {
	t.Helper()
	cp := make(map[string]any, len(m))
	for k, x := range m {
		cp[k] = x
	}
	if field != "" {
		delete(cp, field)
		if v != nil {
			cp[field] = v
		}
	}
	b, err := json.Marshal(cp)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkBad asserts err is ErrBadResponse (and not ErrOutcomeUnknown),
// mentioning says and no credential.
func checkBad(t *testing.T, err error, says string) {
	t.Helper()
	if !errors.Is(err, ifmatch.ErrBadResponse) || isUnknown(err) {
		t.Fatalf("err = %v, want ErrBadResponse alone: nothing was written", err)
	}
	if msg := err.Error(); !strings.Contains(msg, says) || strings.Contains(msg, canaryToken) {
		t.Fatalf("err = %q, want it to mention %q (and no credential)", msg, says)
	}
}

// A 2xx read whose body does not name the resource asked for is
// ErrBadResponse: fetches, lists and the update loop's read fail with it,
// and the loop writes nothing on the basis of it. (From a user's review:
// GET answered 200 with null or {} gave FetchTask a Task with SID "", and
// UpdateTask then sent Attributes={"x":"1"}, replacing every real attribute;
// a body naming another Task was taken as this one.)
func TestBadIdentityOnRead(t *testing.T) {
	t.Parallel()
	for _, f := range idFamilies() {
		for _, bad := range f.badBodies(t) {
			t.Run(f.name+"/"+bad.name, func(t *testing.T) {
				t.Parallel()
				s := &idServer{get: bad.body, post: jsonWith(t, f.good, "", nil)}
				c, _ := hostile(t, s.handle)
				checkBad(t, f.fetch(ctxT(t), c), bad.says)
				var res ifmatch.OperationResult
				_, err := f.update(ctxT(t), c, &res, "")
				checkBad(t, err, bad.says)
				if gets, posts := s.counts(); posts != 0 || gets < 2 {
					t.Fatalf("%d GETs, %d POSTs: want the reads only", gets, posts)
				}
				if f.list == nil || bad.named {
					return
				}
				s.mu.Lock()
				s.get = fmt.Sprintf(`{%q:[%s],"meta":{"next_page_url":null}}`, f.listKey, bad.body)
				s.mu.Unlock()
				checkBad(t, f.list(ctxT(t), c), "list item 0: ")
			})
		}
	}
}

// A server that echoes a credential in the identity field does not get it
// into the error.
func TestBadIdentityScrubbed(t *testing.T) {
	t.Parallel()
	s := &idServer{get: `{"sid":"` + canaryToken + `","attributes":"{}"}`}
	c, _ := hostile(t, s.handle)
	_, err := c.Workspace(testWS).FetchTask(ctxT(t), testTask)
	checkBad(t, err, "is not a WT SID")
}

// The list pages and answers of real resources still pass (the other tests
// drive the in-memory fake server, which answers real bodies, everywhere).
func TestGoodIdentityAccepted(t *testing.T) {
	t.Parallel()
	for _, f := range idFamilies() {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			good := jsonWith(t, f.good, "", nil)
			s := &idServer{get: good, post: good}
			c, _ := hostile(t, s.handle)
			if err := f.fetch(ctxT(t), c); err != nil {
				t.Fatal(err)
			}
			if f.create != nil {
				if err := f.create(ctxT(t), c); err != nil {
					t.Fatal(err)
				}
			}
			if f.list != nil {
				s.mu.Lock()
				s.get = fmt.Sprintf(`{%q:[%s],"meta":{"next_page_url":null}}`, f.listKey, good)
				s.mu.Unlock()
				if err := f.list(ctxT(t), c); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// A conditional write answered 2xx landed, whatever its body: the update
// loop returns the state it wrote (the version read plus the change, with
// the answer's ETag, unless the body names another resource: then none),
// nil error and Updated, after exactly one POST and no read-back; never
// ErrOutcomeUnknown, never a second write.
func TestBadIdentityOnLoopWrite(t *testing.T) {
	t.Parallel()
	for _, f := range idFamilies() {
		for _, bad := range f.badBodies(t) {
			t.Run(f.name+"/"+bad.name, func(t *testing.T) {
				t.Parallel()
				s := &idServer{get: jsonWith(t, f.good, "", nil), post: bad.body}
				c, _ := hostile(t, s.handle)
				var res ifmatch.OperationResult
				etag := `"2"`
				if bad.foreign {
					etag = "" // another resource's version: not the one written
				}
				shows, err := f.update(ctxT(t), c, &res, etag)
				if err != nil || !shows || res != ifmatch.Updated {
					t.Fatalf("err = %v, result shows the change: %v, res %q: the write landed", err, shows, res)
				}
				if gets, posts := s.counts(); gets != 1 || posts != 1 {
					t.Fatalf("%d GETs, %d POSTs: want 1 and 1", gets, posts)
				}
			})
		}
	}
}

// A one-shot conditional write answered 2xx with such a body landed: the
// call reads the resource back and returns it; when the read-back is no
// better, the result is ErrOutcomeUnknown (wrapping ErrBadResponse), which
// claims nothing false. One POST either way.
func TestBadIdentityOnWriteIf(t *testing.T) {
	t.Parallel()
	for _, f := range idFamilies() {
		for _, bad := range f.badBodies(t) {
			t.Run(f.name+"/"+bad.name, func(t *testing.T) {
				t.Parallel()
				s := &idServer{get: jsonWith(t, f.good, "", nil), post: bad.body}
				c, _ := hostile(t, s.handle)
				if err := f.updateIf(ctxT(t), c); err != nil {
					t.Fatalf("err = %v: the write landed and the read-back answered", err)
				}
				if gets, posts := s.counts(); gets != 1 || posts != 1 {
					t.Fatalf("%d GETs, %d POSTs: want the POST and one read-back", gets, posts)
				}
				s.mu.Lock()
				s.get = bad.body
				s.mu.Unlock()
				err := f.updateIf(ctxT(t), c)
				if !isUnknown(err) || !errors.Is(err, ifmatch.ErrBadResponse) {
					t.Fatalf("err = %v, want ErrOutcomeUnknown wrapping ErrBadResponse: the write landed", err)
				}
				if _, posts := s.counts(); posts != 2 {
					t.Fatalf("%d POSTs in all, want 2 (one per call)", posts)
				}
			})
		}
	}
}

// A create answered 2xx landed, but an answer that is not a resource with a
// well-formed identity (a SID of the collection's prefix, an index, the
// Map item key asked for) cannot say which: ErrOutcomeUnknown wrapping
// ErrBadResponse, after exactly one POST and no read (no SID to read by).
func TestBadIdentityOnCreate(t *testing.T) {
	t.Parallel()
	for _, f := range idFamilies() {
		if f.create == nil {
			continue
		}
		bodies := f.badBodies(t)[:4] // "another resource": a create names none (but a Map item's key)
		malformed := map[string]any{"sid": "XX" + idOtherSID, "index": -1, "key": f.other}[f.field]
		bodies = append(bodies, badBody{name: "malformed", body: jsonWith(t, f.good, f.field, malformed), says: fmt.Sprint(malformed)})
		for _, bad := range bodies {
			t.Run(f.name+"/"+bad.name, func(t *testing.T) {
				t.Parallel()
				s := &idServer{post: bad.body}
				c, _ := hostile(t, s.handle)
				err := f.create(ctxT(t), c)
				if !isUnknown(err) || !errors.Is(err, ifmatch.ErrBadResponse) || !strings.Contains(err.Error(), bad.says) {
					t.Fatalf("err = %v, want ErrOutcomeUnknown wrapping ErrBadResponse, naming %q: the create landed", err, bad.says)
				}
				if gets, posts := s.counts(); gets != 0 || posts != 1 {
					t.Fatalf("%d GETs, %d POSTs: want the POST only", gets, posts)
				}
			})
		}
	}
}

// The loop's read-backs are held to the same rule: after a 412 (nothing
// landed) or a 502 (the write may have landed), reads that keep answering
// another Task are tried a few times and then end the call, without a
// second write: ErrBadResponse alone after the 412, ErrOutcomeUnknown
// (wrapping it) after the 502.
func TestBadIdentityOnReadBack(t *testing.T) {
	t.Parallel()
	other := `{"sid":"WT` + idOtherSID + `","attributes":"{}"}`
	for _, tc := range []struct {
		status  int
		unknown bool
	}{{http.StatusPreconditionFailed, false}, {http.StatusBadGateway, true}} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			t.Parallel()
			s := &idServer{get: taskBody(`{}`, 0)}
			c, _ := hostile(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost {
					s.mu.Lock()
					s.posts++
					s.get = other // every read from now on names another Task
					s.mu.Unlock()
					w.WriteHeader(tc.status)
					return
				}
				s.handle(w, r)
			}, ifmatch.WithoutTransportRetry(), ifmatch.WithUpdateDefaults(ifmatch.BackoffBounds(0, 0)))
			_, err := c.Workspace(testWS).UpdateTask(ctxT(t), testTask, setFoo("x"))
			if !errors.Is(err, ifmatch.ErrBadResponse) || isUnknown(err) != tc.unknown {
				t.Fatalf("err = %v, want ErrBadResponse, ErrOutcomeUnknown: %v", err, tc.unknown)
			}
			if gets, posts := s.counts(); posts != 1 || gets < 3 {
				t.Fatalf("%d GETs, %d POSTs: want one write and read-backs tried again", gets, posts)
			}
		})
	}
}
