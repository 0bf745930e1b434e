package ifmatch_test

// Adversary review 3 (branch adv3): each test checks every call's claim
// against what the server committed, for a fault earlier reviews did not
// script.

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/ifmatch-go/ifmatch"
)

// A coalesced round's write W loses its answer before landing; the read-back
// shows the base version, so the round resends W; the first copy lands late,
// and the resend meets 412. Without markers the round ends in
// ErrOutcomeUnknown, rightly: W landed. But the 412 was reported to the
// round's members as a refused write, and a refusal used to clear every
// member's "a write carrying my change may have landed": a member whose
// context ended after that report and before the round's answer was told
// context.Canceled alone, "not applied", while its change had landed. Here
// C's OnAttempt, which runs in the round right after that report, ends B's
// context and waits for B's answer (a deadline ending there does the same).
func TestAdv3CoalescedResend412KeepsMembersExposed(t *testing.T) {
	a := newAdvTask()
	c, ws := advSetup(t, a)
	bCtx, bCancel := context.WithCancel(ctxT(t))
	defer bCancel()
	bOut, cOut := make(chan error, 1), make(chan error, 1)
	advRound(t, c, ws, a, 2, func(n int) advAction {
		switch n {
		case 2: // the round's write: lost on the way, not landed (yet)
			return advAction{noCommit: true, lose: true}
		case 3: // its resend: the first copy lands just before, this one meets 412
			return advAction{lateLand: true}
		}
		return advAction{}
	}, func(i int) {
		if i == 0 {
			_, err := ws.UpdateTask(bCtx, testTask, set("b"))
			bOut <- err
			return
		}
		var bErr error
		onAttempt := ifmatch.OnAttempt(func(ai ifmatch.AttemptInfo) {
			if ai.Status == 412 && bErr == nil {
				bCancel()
				bErr = <-bOut // B's answer, given while the round still runs
				bOut <- bErr
			}
		})
		_, err := ws.UpdateTask(ctxT(t), testTask, set("c"), onAttempt)
		cOut <- err
	})
	cErr, bErr := <-cOut, <-bOut
	if a.get("b") != true || a.get("c") != true {
		t.Fatalf("the round's write did not land: %v", a.attrs)
	}
	if !errors.Is(cErr, ifmatch.ErrOutcomeUnknown) {
		t.Errorf("C: %v, want ErrOutcomeUnknown (its change landed)", cErr)
	}
	if !errors.Is(bErr, ifmatch.ErrOutcomeUnknown) {
		t.Errorf("B: %v, want ErrOutcomeUnknown: its change landed, and any other error says it did not", bErr)
	}
	if n := a.postCount(); n != 3 {
		t.Errorf("%d POSTs, want 3 (lead, the round's write, its resend)", n)
	}
}

// A write delivered twice (a proxy that retried the POST after its first
// copy committed) is answered 412. With CommitMarkers the loop's re-read
// finds its own token and answers Updated, once (settle.go, reread).
// In a coalesced round the 412 was reported to the members as a refusal
// first, which cleared their exposure: a member whose context ended during
// that re-read was told context.Canceled, "not applied", while the re-read
// then showed its change landed.
func TestAdv3CoalescedDuplicated412WithMarkers(t *testing.T) {
	a := newAdvTask()
	c, ws := advSetup(t, a)
	markers := ifmatch.CommitMarkers("")
	at, gate := make(chan struct{}), make(chan struct{})
	bCtx, bCancel := context.WithCancel(ctxT(t))
	defer bCancel()
	bOut := make(chan error, 1)
	var cOut outcome
	cDone := make(chan struct{})
	advRound(t, c, ws, a, 2, func(n int) advAction {
		if n == 2 { // the round's write: committed, answered 412
			a.holdNextGET(at, gate)
			return advAction{dup: true}
		}
		return advAction{}
	}, func(i int) {
		if i == 0 {
			_, err := ws.UpdateTask(bCtx, testTask, set("b"), markers)
			bOut <- err
			return
		}
		var r ifmatch.OperationResult
		tk, err := ws.UpdateTask(ctxT(t), testTask, set("c"), markers, ifmatch.ReportResult(&r))
		cOut = outcome{tk, r, err}
		close(cDone)
	}, markers)
	<-at // the round re-reads after the 412
	bCancel()
	bErr := <-bOut
	close(gate)
	<-cDone
	if a.get("b") != true || a.get("c") != true {
		t.Fatalf("the round's write did not land: %v", a.attrs)
	}
	if cOut.err != nil || cOut.res != ifmatch.Updated {
		t.Errorf("C: %v %q, want Updated (the re-read found its token)", cOut.err, cOut.res)
	}
	if !errors.Is(bErr, ifmatch.ErrOutcomeUnknown) {
		t.Errorf("B: %v, want ErrOutcomeUnknown: it left while the write carrying its change was unsettled, and that write landed", bErr)
	}
	if n := a.postCount(); n != 2 {
		t.Errorf("%d POSTs, want 2 (lead, the round's write): never a second application", n)
	}
}

// The same duplicated delivery on a call's last attempt: with CommitMarkers
// the loop settles a 412 by re-reading for its token, but out of attempts it
// gave up first, with ErrConflict ("nothing was applied"), while its write
// had landed. Every attempt budget gets the same answer as the first.
func TestAdv3Duplicated412OnLastAttemptWithMarkers(t *testing.T) {
	for _, max := range []int{1, 2} {
		a := newAdvTask()
		_, ws := advSetup(t, a)
		a.setHook(func(n int) advAction {
			if n == max {
				return advAction{dup: true}
			}
			if n < max {
				a.set("other", n) // another writer: this write meets 412
			}
			return advAction{}
		})
		var r ifmatch.OperationResult
		_, err := ws.UpdateTask(ctxT(t), testTask, set("mine"), ifmatch.CommitMarkers(""),
			ifmatch.MaxAttempts(max), ifmatch.ReportResult(&r), ifmatch.Alone())
		if a.get("mine") != true {
			t.Fatalf("MaxAttempts(%d): the write did not land: %v", max, a.attrs)
		}
		if err != nil || r != ifmatch.Updated {
			t.Errorf("MaxAttempts(%d): %v %q, want Updated: its own token is in the resource", max, err, r)
		}
		if n := a.postCount(); n != max {
			t.Errorf("MaxAttempts(%d): %d POSTs", max, n)
		}
	}
}

// The caller's deadline ends just as the write's complete 200 answer comes
// in (the server committed, the answer arrived, then the context ended,
// before the transport's retry check looked at it). The answer proves the
// write landed, once: the call says so (nil error, Updated), not
// ErrOutcomeUnknown, which is only for what nobody can know. A one-shot
// conditional write (UpdateTaskIf) likewise returns the version written.
func TestAdv3AnswerArrivesAsContextEnds(t *testing.T) {
	noLeak(t)
	for _, markers := range []bool{false, true} {
		s := newAdvServer(`{"n":0}`)
		ctx, cancel := context.WithCancel(ctxT(t))
		s.hook = func(n int, r *http.Request, f url.Values) (*http.Response, error) {
			if r.Method != http.MethodPost {
				return nil, nil
			}
			resp := s.current(s.apply(r, f)) // committed, the answer complete
			cancel()
			return resp, nil
		}
		opts := []ifmatch.UpdateOption{zero()}
		if markers {
			opts = append(opts, ifmatch.CommitMarkers(""))
		}
		var r ifmatch.OperationResult
		tk, err := s.client(t).Workspace(testWS).UpdateTask(ctx, testTask, advIncr, append(opts, ifmatch.ReportResult(&r))...)
		if err != nil || r != ifmatch.Updated || tk == nil || tk.ETag != `"1"` {
			t.Errorf("markers=%t: %v %q, want Updated with the answer's version", markers, err, r)
		}
		if s.Attr("n") != "1" || s.Commits() != 1 {
			t.Fatalf("markers=%t: n = %s after %d commits, want 1 and 1", markers, s.Attr("n"), s.Commits())
		}
	}
	s := newAdvServer(`{"n":0}`)
	ctx, cancel := context.WithCancel(ctxT(t))
	s.hook = func(n int, r *http.Request, f url.Values) (*http.Response, error) {
		resp := s.current(s.apply(r, f))
		cancel()
		return resp, nil
	}
	five := 5
	tk, err := s.client(t).Workspace(testWS).UpdateTaskIf(ctx, testTask, `"0"`, ifmatch.TaskUpdate{Priority: &five})
	if err != nil || tk == nil || tk.Priority != 5 || tk.ETag != `"1"` {
		t.Errorf("UpdateTaskIf: %v, want the version written", err)
	}
	if s.Commits() != 1 {
		t.Fatalf("UpdateTaskIf: %d commits", s.Commits())
	}
}

// A read-back served stale (a replica or cache a little behind) shows the
// version a lost write was based on even after a 412 to its resend proved
// that version gone. With CommitMarkers the loop took that read for proof
// that another write had superseded its own (its token absent, the base's
// newest token present), wrote again, and applied the increment twice while
// the call said Updated. A read at the base version after the base was
// proved gone proves nothing: the call may be unknown, never applied twice.
func TestAdv3StaleReadBackAfterResend412(t *testing.T) {
	noLeak(t)
	base := `{"n":0,"_ifmatch_writes":["1.AAAAAAAA"]}`
	s := newAdvServer(base)
	stale := func() *http.Response { return s.resp(200, `"0"`, taskBody(base, 0)) }
	s.hook = func(n int, r *http.Request, f url.Values) (*http.Response, error) {
		switch n {
		case 1: // the write lands; its answer is lost
			s.apply(r, f)
			return nil, errLost
		case 2, 4: // the read-backs, after the lost answer and after the resend's 412: stale
			return stale(), nil
		}
		return nil, nil
	}
	r, err := markedIncr(t, s, zero())
	wantIncrementOnce(t, s, r, err)
}

// The same duplicated delivery, and the caller's context ends in the
// backoff after the 412, before the re-read that would look for the token:
// with CommitMarkers a 412 is settled by that read, so until then the
// write may have landed, and the call said context.Canceled alone ("not
// applied") while it had. It is ErrOutcomeUnknown (joined with the
// context's error). Without markers a 412 stays a refusal.
func TestAdv3Duplicated412ThenContextEnds(t *testing.T) {
	noLeak(t)
	for _, markers := range []bool{false, true} {
		s := newAdvServer(`{"n":0}`)
		ctx, cancel := context.WithCancel(ctxT(t))
		s.hook = func(n int, r *http.Request, f url.Values) (*http.Response, error) {
			if r.Method != http.MethodPost {
				return nil, nil
			}
			s.apply(r, f)
			cancel() // ends before the re-read
			return s.errResp(412), nil
		}
		opts := []ifmatch.UpdateOption{ifmatch.BackoffBounds(time.Hour, time.Hour)}
		if markers {
			opts = append(opts, ifmatch.CommitMarkers(""))
		}
		_, err := s.client(t).Workspace(testWS).UpdateTask(ctx, testTask, advIncr, opts...)
		if !errors.Is(err, context.Canceled) || isUnknown(err) != markers {
			t.Errorf("markers=%t: %v, want context.Canceled, ErrOutcomeUnknown: %t", markers, err, markers)
		}
		if s.Commits() != 1 {
			t.Errorf("markers=%t: %d commits", markers, s.Commits())
		}
	}
}

// A write delivered twice (committed, answered 412), and the re-read after
// the 412 served stale, at the version the write was refused on: with
// CommitMarkers the loop looked for its token there, found none, took the
// write for refused, and applied the increment again on a later read while
// the call said Updated. A read at the refused version cannot show the
// copy that landed: the loop reads again until it sees a later version.
func TestAdv3Duplicated412ThenStaleReRead(t *testing.T) {
	noLeak(t)
	base := `{"n":0}`
	s := newAdvServer(base)
	s.hook = func(n int, r *http.Request, f url.Values) (*http.Response, error) {
		switch {
		case r.Method == http.MethodPost && n == 1:
			s.apply(r, f)
			return s.errResp(412), nil
		case n == 2: // the re-read: stale
			return s.resp(200, `"0"`, taskBody(base, 0)), nil
		}
		return nil, nil
	}
	r, err := markedIncr(t, s, zero())
	wantIncrementOnce(t, s, r, err)
}

// As above, but the stale re-read is older still than the version the
// write was built on (another ETag than the refused one, so not caught by
// comparing ETags): the history it shows lacks the newest token of the
// write's base, which every later version keeps.
func TestAdv3Duplicated412ThenStalerReRead(t *testing.T) {
	noLeak(t)
	old := `{"n":0,"_ifmatch_writes":["1.AAAAAAAA"]}`
	s := newAdvServer(old)
	s.edit(func(m map[string]any) { m["_ifmatch_writes"] = []any{"1.AAAAAAAA", "2.BBBBBBBB"} }) // version 1
	s.hook = func(n int, r *http.Request, f url.Values) (*http.Response, error) {
		switch {
		case r.Method == http.MethodPost && n == 1:
			s.apply(r, f)
			return s.errResp(412), nil
		case n == 2: // the re-read: version 0
			return s.resp(200, `"0"`, taskBody(old, 0)), nil
		}
		return nil, nil
	}
	r, err := markedIncr(t, s, zero())
	wantIncrementOnce(t, s, r, err)
}

// markedIncr runs advIncr in one UpdateTask call with CommitMarkers on s
// (the Client's defaults given) and returns its result and error.
func markedIncr(t *testing.T, s *advServer, defaults ...ifmatch.UpdateOption) (ifmatch.OperationResult, error) {
	t.Helper()
	var r ifmatch.OperationResult
	_, err := s.client(t, defaults...).Workspace(testWS).UpdateTask(ctxT(t), testTask, advIncr,
		ifmatch.CommitMarkers(""), ifmatch.ReportResult(&r))
	return r, err
}

// wantIncrementOnce checks a markedIncr call that met a fault: one commit,
// the increment there once, and the call said Updated or ErrOutcomeUnknown.
func wantIncrementOnce(t *testing.T, s *advServer, r ifmatch.OperationResult, err error) {
	t.Helper()
	if s.Commits() != 1 || s.Attr("n") != "1" {
		t.Errorf("n = %s after %d commits (err %v, %q): the increment was applied again", s.Attr("n"), s.Commits(), err, r)
	}
	if !(err == nil && r == ifmatch.Updated || isUnknown(err)) {
		t.Errorf("err = %v, want Updated or ErrOutcomeUnknown", err)
	}
}
