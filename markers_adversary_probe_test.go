package ifmatch_test

import (
	"errors"
	"net/http"
	"sync"
	"testing"

	"github.com/ifmatch-go/ifmatch"
)

// Several coalesced callers on a resource whose marker key holds user data:
// every caller is refused (or Unchanged), nothing is written.
func TestAdv3CoalescedForeignMarkerKey(t *testing.T) {
	t.Parallel()
	srv := fakeServer(t)
	wsSID := srv.AddWorkspace()
	sid := srv.AddTask(wsSID, map[string]any{"m": "user", "n": 0})
	ws := srv.Client().Workspace(wsSID)
	var wg sync.WaitGroup
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := ws.UpdateTask(ctxT(t), sid, advIncr, ifmatch.CommitMarkers("m"), ifmatch.Fair())
			if !errors.Is(err, ifmatch.ErrInvalidArgument) || errors.Is(err, ifmatch.ErrOutcomeUnknown) {
				t.Errorf("err = %v", err)
			}
		}()
	}
	wg.Wait()
	if n := srv.Count(http.MethodPost); n != 0 {
		t.Errorf("%d POSTs", n)
	}
}

// {} vs a nil map, [] vs a nil slice: the diff counts a nil map or slice as
// empty (a choice: in Go they are the same empty collection), so replacing
// one by the other is no change, and the call says so truly: Unchanged,
// nothing written.
func TestAdv3NilVersusEmpty(t *testing.T) {
	t.Parallel()
	srv := fakeServer(t)
	wsSID := srv.AddWorkspace()
	sid := srv.AddTask(wsSID, map[string]any{"o": map[string]any{}, "l": []any{}})
	ws := srv.Client().Workspace(wsSID)
	var res ifmatch.OperationResult
	_, err := ws.UpdateTask(ctxT(t), sid, func(t *ifmatch.Task) error {
		t.Attributes["o"] = map[string]any(nil)
		t.Attributes["l"] = []any(nil)
		return nil
	}, ifmatch.ReportResult(&res))
	attrs, version, _ := srv.TaskAttributes(wsSID, sid)
	if err != nil || res != ifmatch.Unchanged || version != 0 || srv.Count(http.MethodPost) != 0 {
		t.Errorf("err %v, result %s, version %d, %d POSTs; want Unchanged and no write", err, res, version, srv.Count(http.MethodPost))
	}
	if _, ok := attrs["o"].(map[string]any); !ok {
		t.Errorf("attrs %#v: want o still {}", attrs)
	}
}

// ETags a server could send (opaque base64-ish, non-ASCII) pass the check
// and reach the server: a stale one is a plain 412, never ErrOutcomeUnknown.
func TestAdv3OddETagsReachServer(t *testing.T) {
	t.Parallel()
	srv := fakeServer(t)
	wsSID := srv.AddWorkspace()
	sid := srv.AddTask(wsSID, map[string]any{"n": 0})
	ws := srv.Client().Workspace(wsSID)
	for _, e := range []string{`"a/b+c=="`, `a/b+c==`, "\"\xff\xfe\"", `"é"`, `""`, `"3","4"`, `"`, `W`, "\"x\x80\""} {
		_, err := ws.UpdateTaskIf(ctxT(t), sid, e, ifmatch.TaskUpdate{Priority: ptr(3)})
		if !errors.Is(err, ifmatch.ErrPreconditionFailed) {
			t.Errorf("ETag %q: %v, want a 412", e, err)
		}
		if err := ws.DeleteTaskIf(ctxT(t), sid, e); !errors.Is(err, ifmatch.ErrPreconditionFailed) {
			t.Errorf("delete, ETag %q: %v, want a 412", e, err)
		}
	}
}
