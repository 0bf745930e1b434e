package ifmatch_test

// Adversary review 4 (branch adv4): regressions of the adv3 fixes and the
// ground they opened (writes delivered twice, stale reads) met with
// coalescing, Fair, IdempotencyKey and Sync items. Each test checks a call's
// claim against what the server committed.

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/ifmatch-go/ifmatch"
)

// A POST answered 429 (Twilio refused it unprocessed) as the caller's
// context ends: the transport does not retry it, and nothing was applied,
// nor ever will be. The call said ErrOutcomeUnknown, which is only for what
// nobody can know; the loop, UpdateTaskIf and a delete alike.
func TestAdv4Refused429AsContextEndsIsNoUnknown(t *testing.T) {
	noLeak(t)
	for _, call := range []string{"loop", "markers", "if", "delete"} {
		s := newAdvServer(`{"n":0}`)
		ctx, cancel := context.WithCancel(ctxT(t))
		s.hook = func(n int, r *http.Request, f url.Values) (*http.Response, error) {
			if r.Method == http.MethodGet {
				return nil, nil
			}
			cancel() // the answer comes in as the context ends
			return s.errResp(429), nil
		}
		ws := s.client(t, zero()).Workspace(testWS)
		var err error
		switch call {
		case "loop":
			_, err = ws.UpdateTask(ctx, testTask, advIncr)
		case "markers":
			_, err = ws.UpdateTask(ctx, testTask, advIncr, ifmatch.CommitMarkers(""))
		case "if":
			five := 5
			_, err = ws.UpdateTaskIf(ctx, testTask, `"0"`, ifmatch.TaskUpdate{Priority: &five})
		case "delete":
			err = ws.DeleteTask(ctx, testTask)
		}
		if s.Commits() != 0 {
			t.Fatalf("%s: %d commits", call, s.Commits())
		}
		if isUnknown(err) || !errors.Is(err, context.Canceled) {
			t.Errorf("%s: %v, want context.Canceled and no ErrOutcomeUnknown: the 429 says nothing was applied", call, err)
		}
		cancel()
	}
}
