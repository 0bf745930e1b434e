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

// After a conflict with CommitMarkers, the re-read settles the refused
// write (no copy of it landed: its token is not there); the caller's context
// then ends before the next write is sent (here, in the mutator's second
// run). Nothing was applied and nothing is on its way, yet the call said
// ErrOutcomeUnknown: the token made for the write never sent was taken for
// the 412's, which looked unsettled again. Without markers it is a plain
// context error, and so it must be with them.
func TestAdv4ContextEndsBeforeWriteAfterSettled412(t *testing.T) {
	noLeak(t)
	for _, markers := range []bool{false, true} {
		s := newAdvServer(`{"n":0}`)
		s.hook = func(n int, r *http.Request, f url.Values) (*http.Response, error) {
			if r.Method == http.MethodPost && n == 1 {
				s.edit(func(m map[string]any) { m["other"] = "x" }) // another writer: a real conflict
			}
			return nil, nil
		}
		ctx, cancel := context.WithCancel(ctxT(t))
		runs := 0
		mutate := func(tk *ifmatch.Task) error {
			if runs++; runs == 2 {
				cancel() // after the re-read, before the second write
			}
			return advIncr(tk)
		}
		opts := []ifmatch.UpdateOption{zero()}
		if markers {
			opts = append(opts, ifmatch.CommitMarkers(""))
		}
		_, err := s.client(t).Workspace(testWS).UpdateTask(ctx, testTask, mutate, opts...)
		if s.Commits() != 0 {
			t.Fatalf("markers=%t: %d commits", markers, s.Commits())
		}
		if isUnknown(err) || !errors.Is(err, context.Canceled) {
			t.Errorf("markers=%t: %v, want context.Canceled alone: the one write sent was refused, and the re-read showed no copy of it landed", markers, err)
		}
		wantLog(t, s, "GET", `POST "0"`, "GET")
		cancel()
	}
}
