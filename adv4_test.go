package ifmatch_test

// Adversary review 4 (branch adv4): regressions of the adv3 fixes and the
// ground they opened (writes delivered twice, stale reads) met with
// coalescing, Fair, IdempotencyKey and Sync items. Each test checks a call's
// claim against what the server committed.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
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
// write (another marked write took its place: no copy of it can land); the
// caller's context then ends before the next write is sent (here, in the
// mutator's second run). Nothing was applied and nothing is on its way, yet
// the call said ErrOutcomeUnknown: the token made for the write never sent
// was taken for the 412's, which looked unsettled again. Without markers it
// is a plain context error, and so it must be with them. (When the conflict
// was a writer's without markers, the re-read cannot tell a later version
// from one served stale, and the write delivered twice that markers guard
// against may have landed: see TestAdv4StaleReadOlderThanUnmarkedBase.)
func TestAdv4ContextEndsBeforeWriteAfterSettled412(t *testing.T) {
	noLeak(t)
	for _, markers := range []bool{false, true} {
		s := newAdvServer(`{"n":0}`)
		s.hook = func(n int, r *http.Request, f url.Values) (*http.Response, error) {
			if r.Method == http.MethodPost && n == 1 {
				s.edit(func(m map[string]any) { markedWrite(m, "other") }) // a real conflict
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
			t.Errorf("markers=%t: %v, want context.Canceled alone: the one write sent was refused, and the re-read proved no copy of it can land", markers, err)
		}
		wantLog(t, s, "GET", `POST "0"`, "GET")
		cancel()
	}
}

// A stale read older than a marked write's base, where the base was made
// by a writer without markers (an update call without CommitMarkers keeps
// the history as it is, so the base and the version before it share their
// newest token): the read shows another ETag than the base and the base's
// newest token, which the engine took for "a later version, written by a
// writer without markers, without our token". After a lost answer (settle)
// and after a write delivered twice (the re-read after its 412) alike, the
// loop then wrote again and applied the increment twice while the call said
// Updated.
func TestAdv4StaleReadOlderThanUnmarkedBase(t *testing.T) {
	for _, fault := range []string{"lost", "dup412"} {
		old := `{"n":0,"_ifmatch_writes":["1.AAAAAAAA"]}`
		s := newAdvServer(old)
		s.edit(func(m map[string]any) { m["other"] = "x" }) // version 1: a writer without markers
		s.hook = func(n int, r *http.Request, f url.Values) (*http.Response, error) {
			switch {
			case n == 1: // our write, If-Match "1": it lands
				s.apply(r, f)
				if fault == "lost" {
					return nil, errLost
				}
				return s.errResp(412), nil
			case n == 2: // the read that should settle it: version 0
				return s.resp(200, `"0"`, taskBody(old, 0)), nil
			}
			return nil, nil
		}
		r, err := markedIncr(t, s, zero())
		if s.Attr("n") != "1" {
			t.Errorf("%s: n = %s after %d commits (err %v, %q): the increment was applied again", fault, s.Attr("n"), s.Commits(), err, r)
		}
		if !(err == nil && r == ifmatch.Updated || isUnknown(err)) {
			t.Errorf("%s: err = %v, want Updated or ErrOutcomeUnknown", fault, err)
		}
	}
}

// The same stale reads twice over: the read-back after the lost answer is
// older than the base (version 0), the next write built on it meets 412,
// and its re-read is stale too (version 1, the base itself: another ETag
// than that write's, and the same history). Every write of the call whose
// fate rests on such a read stays unproven until one lands; the first one,
// which did land, is found when a read at last shows its token.
func TestAdv4StaleReadsTwiceOlderThanUnmarkedBase(t *testing.T) {
	old := `{"n":0,"_ifmatch_writes":["1.AAAAAAAA"]}`
	s := newAdvServer(old)
	s.edit(func(m map[string]any) { m["other"] = "x" }) // version 1: a writer without markers
	v1 := s.current(200)
	b1, _ := io.ReadAll(v1.Body)
	s.hook = func(n int, r *http.Request, f url.Values) (*http.Response, error) {
		switch n {
		case 1: // our write, If-Match "1": it lands, its answer is lost
			s.apply(r, f)
			return nil, errLost
		case 2: // the read-back: version 0
			return s.resp(200, `"0"`, taskBody(old, 0)), nil
		case 4: // the re-read after the next write's 412: version 1
			return s.resp(200, `"1"`, string(b1)), nil
		}
		return nil, nil
	}
	r, err := markedIncr(t, s, zero())
	if s.Attr("n") != "1" {
		t.Errorf("n = %s after %d commits (err %v, %q): the increment was applied again", s.Attr("n"), s.Commits(), err, r)
	}
	if err != nil || r != ifmatch.Updated {
		t.Errorf("err = %v %q, want Updated: a read showed the call's own token", err, r)
	}
}

// A coalesced round with CommitMarkers meets the same stale read: its write
// W (built in one run of its callers' mutators) lands, its answer is lost,
// and the read-back is older than W's base, made by a writer without
// markers. The round runs its callers' mutators again on that read, and the
// write so built meets 412; the re-read then shows W's token: W landed. B's
// mutator refused in W's run (the other writer's "other" was there) and
// changed in the later run (not there): B's answer must be its refusal,
// the run W was built in, not "Updated" for a change never written.
func TestAdv4CoalescedUnprovenWriteAnswersItsRun(t *testing.T) {
	noLeak(t)
	s := newAdvServer(`{"n":0,"_ifmatch_writes":["1.AAAAAAAA"]}`)
	held, release := make(chan struct{}), make(chan struct{})
	var v1 string // the body at version 1, the lead's write
	s.hook = func(n int, r *http.Request, f url.Values) (*http.Response, error) {
		switch n {
		case 1: // the lead's write: held until A and B queue; then another writer, without markers
			var resp *http.Response
			resp, v1 = s.leadThenUnmarked(r, f, held, release)
			return resp, nil
		case 4: // the round's write W, If-Match "2": it lands, its answer is lost
			s.apply(r, f)
			return nil, errLost
		case 5: // the read-back: version 1, older than W's base
			return s.resp(200, `"1"`, v1), nil
		}
		return nil, nil
	}
	c := s.sharedClient(t, ifmatch.BackoffBounds(0, 0), ifmatch.CommitMarkers(""))
	ws := c.Workspace(testWS)
	leadDone := make(chan error, 1)
	go func() { _, err := ws.UpdateTask(ctxT(t), testTask, setKey("lead", "1")); leadDone <- err }()
	<-held
	aOut, bOut := make(chan outcome, 1), make(chan outcome, 1)
	go func() {
		var r ifmatch.OperationResult
		tk, err := ws.UpdateTask(ctxT(t), testTask, setKey("a", "1"), ifmatch.ReportResult(&r))
		aOut <- outcome{tk, r, err}
	}()
	waitQueued(t, c, 1)
	go func() {
		var r ifmatch.OperationResult
		tk, err := ws.UpdateTask(ctxT(t), testTask, func(tk *ifmatch.Task) error {
			if tk.Attributes["other"] != nil {
				return errors.New("b refuses")
			}
			tk.Attributes["b"] = "1"
			return nil
		}, ifmatch.ReportResult(&r))
		bOut <- outcome{tk, r, err}
	}()
	waitQueued(t, c, 2)
	close(release)
	if err := <-leadDone; err != nil {
		t.Fatalf("lead: %v", err)
	}
	a, b := <-aOut, <-bOut
	if s.Attr("a") != "1" || s.Attr("b") != "" || s.Commits() != 2 {
		t.Fatalf("a=%q b=%q after %d commits: want W alone (a set, b not)", s.Attr("a"), s.Attr("b"), s.Commits())
	}
	if a.err != nil || a.res != ifmatch.Updated {
		t.Errorf("A: %v %q, want Updated", a.err, a.res)
	}
	if !errors.Is(b.err, ifmatch.ErrMutatorAborted) {
		t.Errorf("B: %v %q, want its refusal (ErrMutatorAborted): its change was never written", b.err, b.res)
	}
}

// The round's write W1 (B changed in its run) gets no answer and does not
// land (yet), and the read-back is older than its base: W1 is unproven, and
// may still land, its base being the current version. B's mutator refuses
// in the next run (built on that stale read); the round runs out of
// attempts. B, first in the round, was told its refusal ("not applied")
// while W1, carrying its change, may land: it must be ErrOutcomeUnknown.
func TestAdv4CoalescedUnprovenWriteKeepsMembersAmbiguous(t *testing.T) {
	noLeak(t)
	s := newAdvServer(`{"n":0,"_ifmatch_writes":["1.AAAAAAAA"]}`)
	held, release := make(chan struct{}), make(chan struct{})
	var v1 string // the body at version 1, the lead's write
	s.hook = func(n int, r *http.Request, f url.Values) (*http.Response, error) {
		switch n {
		case 1: // the lead's write: held until B and A queue; then another writer, without markers
			var resp *http.Response
			resp, v1 = s.leadThenUnmarked(r, f, held, release)
			return resp, nil
		case 4: // the round's write W1, If-Match "2": lost on the way, not landed
			return nil, errLost
		case 5: // the read-back: version 1, older than W1's base
			return s.resp(200, `"1"`, v1), nil
		}
		return nil, nil
	}
	c := s.sharedClient(t, ifmatch.BackoffBounds(0, 0), ifmatch.CommitMarkers(""), ifmatch.MaxAttempts(2))
	ws := c.Workspace(testWS)
	leadDone := make(chan error, 1)
	go func() { _, err := ws.UpdateTask(ctxT(t), testTask, setKey("lead", "1")); leadDone <- err }()
	<-held
	aOut, bOut := make(chan error, 1), make(chan error, 1)
	go func() {
		_, err := ws.UpdateTask(ctxT(t), testTask, func(tk *ifmatch.Task) error {
			if tk.Attributes["other"] == nil {
				return errors.New("b refuses")
			}
			tk.Attributes["b"] = "1"
			return nil
		})
		bOut <- err
	}()
	waitQueued(t, c, 1)
	go func() { _, err := ws.UpdateTask(ctxT(t), testTask, setKey("a", "1")); aOut <- err }()
	waitQueued(t, c, 2)
	close(release)
	if err := <-leadDone; err != nil {
		t.Fatalf("lead: %v", err)
	}
	aErr, bErr := <-aOut, <-bOut
	if !isUnknown(aErr) {
		t.Errorf("A: %v, want ErrOutcomeUnknown", aErr)
	}
	if !isUnknown(bErr) {
		t.Errorf("B: %v, want ErrOutcomeUnknown: W1 carries its change and may still land (log %v)", bErr, s.Log())
	}
}

// A caller's context that ends at each step in turn (as the k-th request is
// answered) of a call with CommitMarkers meeting each fault the adv3 fixes
// handle (a write delivered twice, with the re-read served stale; a
// conflict; a lost answer, landed or not): the call returns, and its claim
// is true (nil: applied once; ErrOutcomeUnknown: at most once; any other
// error: not applied). Unknown is allowed only where no read had settled
// the write when the context ended.
func TestAdv4ContextEndsAtEachStepWithMarkers(t *testing.T) {
	noLeak(t)
	base := `{"n":0}`
	type script func(s *advServer, n int, r *http.Request, f url.Values) (*http.Response, error)
	faults := map[string]script{
		"dup412": func(s *advServer, n int, r *http.Request, f url.Values) (*http.Response, error) {
			if r.Method == http.MethodPost && n == 1 {
				s.apply(r, f)
				return s.errResp(412), nil
			}
			return nil, nil
		},
		"dup412-stale": func(s *advServer, n int, r *http.Request, f url.Values) (*http.Response, error) {
			switch {
			case r.Method == http.MethodPost && n == 1:
				s.apply(r, f)
				return s.errResp(412), nil
			case n == 2 || n == 3:
				return s.resp(200, `"0"`, taskBody(base, 0)), nil
			}
			return nil, nil
		},
		"conflict": func(s *advServer, n int, r *http.Request, f url.Values) (*http.Response, error) {
			if r.Method == http.MethodPost && n == 1 {
				s.edit(func(m map[string]any) { markedWrite(m, "other") })
			}
			return nil, nil
		},
		"lost": func(s *advServer, n int, r *http.Request, f url.Values) (*http.Response, error) {
			if r.Method == http.MethodPost && n == 1 {
				return nil, errLost
			}
			return nil, nil
		},
		"lost-landed": func(s *advServer, n int, r *http.Request, f url.Values) (*http.Response, error) {
			if r.Method == http.MethodPost && n == 1 {
				s.apply(r, f)
				return nil, errLost
			}
			return nil, nil
		},
	}
	for name, fault := range faults {
		for k := 0; k < 8; k++ {
			s := newAdvServer(base)
			ctx, cancel := context.WithCancel(ctxT(t))
			s.hook = func(n int, r *http.Request, f url.Values) (*http.Response, error) {
				if n == k {
					cancel() // the answer to request k arrives as the context ends
				}
				return fault(s, n, r, f)
			}
			_, err := s.client(t, ifmatch.BackoffBounds(0, 0)).Workspace(testWS).UpdateTask(ctx, testTask, advIncr, ifmatch.CommitMarkers(""))
			n := s.Attr("n")
			switch {
			case err == nil && n != "1", isUnknown(err) && n != "0" && n != "1", err != nil && !isUnknown(err) && n != "0":
				t.Errorf("%s, context ends at request %d: n = %s, err %v", name, k, n, err)
			case isUnknown(err) && name == "conflict" && k != 1:
				t.Errorf("%s, context ends at request %d: %v; only a 412 no read checked is unknown", name, k, err)
			}
			cancel()
		}
	}
}

// An unproven write (a write delivered twice whose re-read was served stale,
// older than its base, made by a writer without markers) is checked for in
// every later base; but a base read after more marked writes than the
// history keeps no longer shows where its token would be. Here the listen
// read after the next conflict (another writer in a run of writes) comes
// after 33 other marked writes: the call wrote again on it and applied the
// increment twice. Such a read proves nothing: ErrOutcomeUnknown.
func TestAdv4UnprovenWritePushedOutOfHistory(t *testing.T) {
	s := newAdvServer(`{"n":0,"_ifmatch_writes":["1.AAAAAAAA"]}`)
	var bodies []string // the body at each version, by version
	keep := func() { b, _ := io.ReadAll(s.current(200).Body); bodies = append(bodies, string(b)) }
	keep()
	for range 3 { // versions 1 to 3: a writer without markers
		s.edit(func(m map[string]any) { m["other"] = json.Number(strconv.Itoa(len(bodies))) })
		keep()
	}
	s.hook = func(n int, r *http.Request, f url.Values) (*http.Response, error) {
		switch n {
		case 1: // our write, If-Match "3": delivered twice, it lands and is answered 412
			s.apply(r, f)
			return s.errResp(412), nil
		case 2: // the re-read: version 1, stale
			return s.resp(200, `"1"`, bodies[1]), nil
		case 4: // the re-read after the next write's 412: version 3, stale
			return s.resp(200, `"3"`, bodies[3]), nil
		case 5: // the listen read, after 33 marked writes of others
			for i := range 33 {
				s.edit(func(m map[string]any) { markedWrite(m, fmt.Sprintf("o%d", i)) })
			}
		}
		return nil, nil
	}
	r, err := markedIncr(t, s, ifmatch.BackoffBounds(0, 0))
	if s.Attr("n") != "1" {
		t.Errorf("n = %s (err %v, %q; requests %v): the increment was applied again", s.Attr("n"), err, r, s.Log())
	}
	if !isUnknown(err) {
		t.Errorf("err = %v %q, want ErrOutcomeUnknown", err, r)
	}
}

// With CommitMarkers, 32 marked writes of others land between a call's read
// and its write, which meets 412: the re-read's history no longer holds the
// newest token of the write's base (pushed out by the cap), but it holds
// another token with the write's own number, which proves the write never
// landed, nor can. The re-read was refused as stale (it lacks that base
// token) and read three more times before the call gave up with
// ErrOutcomeUnknown, a question the first re-read had answered.
func TestAdv4BaseTokenPushedOutStillProvesSuperseded(t *testing.T) {
	for _, others := range []int{32, 33} {
		s := newAdvServer(`{"n":0,"_ifmatch_writes":["1.AAAAAAAA"]}`)
		s.hook = func(n int, r *http.Request, f url.Values) (*http.Response, error) {
			if r.Method == http.MethodPost && n == 1 {
				for i := range others {
					s.edit(func(m map[string]any) { markedWrite(m, fmt.Sprintf("o%d", i)) })
				}
			}
			return nil, nil
		}
		r, err := markedIncr(t, s, zero())
		if others == 32 {
			if err != nil || r != ifmatch.Updated || s.Attr("n") != "1" {
				t.Errorf("%d others: %v %q, n = %s: want Updated, once", others, err, r, s.Attr("n"))
			}
			wantLog(t, s, "GET", `POST "0"`, "GET", `POST "32"`)
			continue
		}
		// 33: the write's own number is pushed out too: nobody can tell, and
		// one read says so.
		if !isUnknown(err) || s.Attr("n") != "0" {
			t.Errorf("%d others: %v, n = %s: want ErrOutcomeUnknown", others, err, s.Attr("n"))
		}
		wantLog(t, s, "GET", `POST "0"`, "GET")
	}
}

// leadThenUnmarked answers the lead's write of a coalescing test: held
// (after closing held) until release, then applied and followed by a writer
// without markers; it returns the write's answer and the body at its version.
func (s *advServer) leadThenUnmarked(r *http.Request, f url.Values, held, release chan struct{}) (*http.Response, string) {
	close(held)
	<-release
	resp := s.current(s.apply(r, f))
	b, _ := io.ReadAll(s.current(200).Body)
	s.edit(func(m map[string]any) { m["other"] = "x" })
	return resp, string(b)
}
