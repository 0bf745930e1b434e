package ifmatch_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/ifmatch-go/ifmatch"
	"github.com/jarcoal/httpmock"
)

func setFoo(v string) ifmatch.TaskMutator {
	return func(t *ifmatch.Task) error {
		t.Attributes["foo"] = v
		return nil
	}
}

func TestUpdateTaskConflictOnceThenSuccess(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("GET", taskURL, taskResp(200, `"0"`, `{"foo":"a"}`, 0).Then(taskResp(200, `"1"`, `{"foo":"b","n":1}`, 0)))
	m.on("POST", taskURL, errResp(412, 20412).Then(taskResp(200, `"2"`, `{"foo":"bar","n":1}`, 0)))

	runs := 0
	var attempts []ifmatch.AttemptInfo
	var res ifmatch.OperationResult
	task, err := c.Workspace(testWS).UpdateTask(ctxT(t), testTask, func(tk *ifmatch.Task) error {
		runs++
		tk.Attributes["foo"] = "bar"
		return nil
	}, ifmatch.OnAttempt(func(a ifmatch.AttemptInfo) { attempts = append(attempts, a) }), ifmatch.ReportResult(&res))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.seq(), []string{"GET", `POST "0"`, "GET", `POST "1"`}; !slices.Equal(got, want) {
		t.Fatalf("requests = %q, want %q", got, want)
	}
	if runs != 2 {
		t.Errorf("mutator ran %d times, want 2", runs)
	}
	if task.ETag != `"2"` || task.Attributes["foo"] != "bar" || res != ifmatch.Updated {
		t.Errorf("task ETag %q foo %v result %q", task.ETag, task.Attributes["foo"], res)
	}
	// The second write re-applied the mutator to the fresh state: n survives.
	reqs := m.log()
	if got := form(t, reqs[3].Body).Get("Attributes"); got != `{"foo":"bar","n":1}` {
		t.Errorf("second POST Attributes = %s", got)
	}
	if len(attempts) != 2 || attempts[0].Status != 412 || attempts[1].Status != 200 || attempts[0].ETag != `"0"` {
		t.Errorf("observer saw %+v", attempts)
	}
	if !errors.Is(attempts[0].Err, ifmatch.ErrPreconditionFailed) {
		t.Errorf("attempt 1 error %v is not ErrPreconditionFailed", attempts[0].Err)
	}
}

func TestUpdateTaskNoChangeNoPost(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("GET", taskURL, taskResp(200, `"4"`, `{"foo":"bar","n":5}`, 0))
	var res ifmatch.OperationResult
	task, err := c.Workspace(testWS).UpdateTask(ctxT(t), testTask, func(tk *ifmatch.Task) error {
		tk.Attributes["foo"] = "bar"
		tk.Attributes["n"] = 5.0 // same JSON value as the stored 5
		return nil
	}, ifmatch.ReportResult(&res))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.seq(); !slices.Equal(got, []string{"GET"}) {
		t.Fatalf("requests = %q, want only a GET", got)
	}
	if res != ifmatch.Unchanged || task.ETag != `"4"` {
		t.Errorf("result %q ETag %q", res, task.ETag)
	}
}

func TestUpdateTaskSendsOnlyChangedFields(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("GET", taskURL, taskResp(200, `"0"`, `{"id":1234567890123456789,"nested":{"a":[1,2.50,{"b":null}]}}`, 1))
	m.on("POST", taskURL, taskResp(200, `"1"`, `{}`, 7))
	_, err := c.Workspace(testWS).UpdateTask(ctxT(t), testTask, func(tk *ifmatch.Task) error {
		tk.Priority = 7
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f := form(t, m.log()[1].Body)
	if len(f) != 1 || f.Get("Priority") != "7" {
		t.Fatalf("POST form = %v, want only Priority=7", f)
	}
}

func TestUpdateTaskAttributesRoundTripExactly(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("GET", taskURL, taskResp(200, `"0"`, `{"id":1234567890123456789,"f":2.50,"nested":{"a":[1,{"b":null}]},"html":"<&>"}`, 0))
	m.on("POST", taskURL, taskResp(200, `"1"`, `{}`, 0))
	_, err := c.Workspace(testWS).UpdateTask(ctxT(t), testTask, setFoo("x"))
	if err != nil {
		t.Fatal(err)
	}
	got := form(t, m.log()[1].Body).Get("Attributes")
	want := `{"f":2.50,"foo":"x","html":"<&>","id":1234567890123456789,"nested":{"a":[1,{"b":null}]}}`
	if got != want {
		t.Fatalf("Attributes sent\n got %s\nwant %s", got, want)
	}
}

func TestUpdateTaskMutatorErrorWritesNothing(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("GET", taskURL, taskResp(200, `"0"`, `{}`, 0))
	boom := errors.New("boom")
	_, err := c.Workspace(testWS).UpdateTask(ctxT(t), testTask, func(*ifmatch.Task) error { return boom })
	if !errors.Is(err, boom) || !errors.Is(err, ifmatch.ErrMutatorAborted) {
		t.Fatalf("err = %v, want ErrMutatorAborted wrapping boom", err)
	}
	if n := len(m.log()); n != 1 {
		t.Errorf("%d requests, want 1 GET", n)
	}
}

func TestUpdateTaskReadOnlyFieldRefused(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("GET", taskURL, taskResp(200, `"0"`, `{}`, 0))
	for _, tc := range []struct {
		field string
		mut   func(*ifmatch.Task)
	}{
		{"SID", func(tk *ifmatch.Task) { tk.SID = "WT" + strings.Repeat("f", 32) }},
		{"WorkspaceSID", func(tk *ifmatch.Task) { tk.WorkspaceSID = "x" }},
		{"Timeout", func(tk *ifmatch.Task) { tk.Timeout = 5 }},
	} {
		_, err := c.Workspace(testWS).UpdateTask(ctxT(t), testTask, func(tk *ifmatch.Task) error { tc.mut(tk); return nil })
		if !errors.Is(err, ifmatch.ErrInvalidArgument) || !strings.Contains(err.Error(), "Task."+tc.field) {
			t.Errorf("%s: err = %v, want ErrInvalidArgument naming the field", tc.field, err)
		}
	}
	if n := m.GetCallCountInfo()["POST "+taskURL]; n != 0 {
		t.Errorf("%d POSTs, want none", n)
	}
}

func TestUpdateTaskGivesUpWithConflict(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	var v atomic.Int32
	m.on("GET", taskURL, func(r *http.Request) (*http.Response, error) {
		return taskResp(200, fmt.Sprintf(`"%d"`, v.Add(1)), `{}`, 0)(r)
	})
	m.on("POST", taskURL, errResp(412, 20412))
	_, err := c.Workspace(testWS).UpdateTask(ctxT(t), testTask, setFoo("x"), ifmatch.MaxAttempts(4))
	if !errors.Is(err, ifmatch.ErrConflict) || !errors.Is(err, ifmatch.ErrPreconditionFailed) {
		t.Fatalf("err = %v, want ErrConflict wrapping a 412", err)
	}
	var ae *ifmatch.APIError
	if !errors.As(err, &ae) || ae.Status != 412 || ae.Code != 20412 || ae.RequestID != "RQ123" {
		t.Fatalf("errors.As APIError = %+v", ae)
	}
	var ce *ifmatch.ConflictError
	if !errors.As(err, &ce) || ce.Attempts != 4 {
		t.Fatalf("ConflictError = %+v", ce)
	}
	// Each write carried the ETag of the read before it: If-Match changes on
	// every iteration.
	seen := map[string]bool{}
	for _, r := range m.log() {
		if r.Method == "POST" {
			if seen[r.IfMatch] {
				t.Errorf("If-Match %s sent twice", r.IfMatch)
			}
			seen[r.IfMatch] = true
		}
	}
	if len(seen) != 4 {
		t.Errorf("%d POSTs, want 4", len(seen))
	}
}

func TestUpdateTaskMaxElapsed(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("GET", taskURL, taskResp(200, `"0"`, `{}`, 0))
	m.on("POST", taskURL, errResp(412, 20412))
	_, err := c.Workspace(testWS).UpdateTask(ctxT(t), testTask, setFoo("x"),
		ifmatch.Backoff(func() backoff.BackOff { return backoff.NewConstantBackOff(time.Hour) }),
		ifmatch.MaxElapsed(time.Minute))
	var ce *ifmatch.ConflictError
	if !errors.As(err, &ce) || ce.Attempts != 1 {
		t.Fatalf("err = %v, want a ConflictError after 1 attempt (the next wait would pass MaxElapsed)", err)
	}
}

func TestUpdateTaskCancelDuringBackoff(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("GET", taskURL, taskResp(200, `"0"`, `{}`, 0))
	m.on("POST", taskURL, errResp(412, 20412))
	ctx, cancel := context.WithCancel(ctxT(t))
	done := make(chan error, 1)
	go func() {
		_, err := c.Workspace(testWS).UpdateTask(ctx, testTask, setFoo("x"),
			ifmatch.Backoff(func() backoff.BackOff { return backoff.NewConstantBackOff(time.Hour) }),
			ifmatch.MaxElapsed(2*time.Hour),
			// The observer runs just before the loop sleeps: cancel there.
			ifmatch.OnAttempt(func(a ifmatch.AttemptInfo) {
				if a.Wait == time.Hour {
					cancel()
				}
			}))
		done <- err
	}()
	err := <-done // a loop that slept through the cancel would hang here
	if !errors.Is(err, context.Canceled) || !errors.Is(err, ifmatch.ErrPreconditionFailed) {
		t.Fatalf("err = %v, want context.Canceled joined with the last 412", err)
	}
}

func TestUpdateTaskNotRetriedErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status, code int
		sentinel     error
		onGet        bool
	}{
		{404, 20404, ifmatch.ErrNotFound, true},
		{401, 20003, ifmatch.ErrUnauthorized, true},
		{400, 20001, nil, false},
		{403, 20403, ifmatch.ErrUnauthorized, false},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			t.Parallel()
			c, m := setup(t)
			if tc.onGet {
				m.on("GET", taskURL, errResp(tc.status, tc.code))
			} else {
				m.on("GET", taskURL, taskResp(200, `"0"`, `{}`, 0))
				m.on("POST", taskURL, errResp(tc.status, tc.code))
			}
			_, err := c.Workspace(testWS).UpdateTask(ctxT(t), testTask, setFoo("x"))
			var ae *ifmatch.APIError
			if !errors.As(err, &ae) || ae.Status != tc.status || ae.Code != tc.code {
				t.Fatalf("err = %v, want APIError %d", err, tc.status)
			}
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Errorf("err %v is not %v", err, tc.sentinel)
			}
			want := []string{"GET"}
			if !tc.onGet {
				want = append(want, `POST "0"`)
			}
			if got := m.seq(); !slices.Equal(got, want) {
				t.Errorf("requests = %q, want %q (no retry)", got, want)
			}
		})
	}
}

// A POST whose connection dies after sending, then a read showing the same
// ETag: the write did not land, so it is sent again with the same If-Match.
func TestUpdateTaskAmbiguousPostSameETagRetried(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("GET", taskURL, taskResp(200, `"3"`, `{}`, 0))
	m.on("POST", taskURL, httpmock.NewErrorResponder(errors.New("read: connection reset by peer")).
		Then(taskResp(200, `"4"`, `{"foo":"x"}`, 0)))
	task, err := c.Workspace(testWS).UpdateTask(ctxT(t), testTask, setFoo("x"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.seq(), []string{"GET", `POST "3"`, "GET", `POST "3"`}; !slices.Equal(got, want) {
		t.Fatalf("requests = %q, want %q", got, want)
	}
	if task.ETag != `"4"` {
		t.Errorf("ETag %q", task.ETag)
	}
}

func TestUpdateTaskAmbiguousPostETagChanged(t *testing.T) {
	t.Parallel()
	for _, idempotent := range []bool{false, true} {
		t.Run(fmt.Sprint("idempotent=", idempotent), func(t *testing.T) {
			t.Parallel()
			c, m := setup(t)
			// The write committed, the answer was lost (a 502 from a proxy).
			m.on("GET", taskURL, taskResp(200, `"3"`, `{}`, 0).Then(taskResp(200, `"4"`, `{"foo":"x"}`, 0)))
			m.on("POST", taskURL, errResp(502, 0))
			var opts []ifmatch.UpdateOption
			var res ifmatch.OperationResult
			opts = append(opts, ifmatch.ReportResult(&res))
			if idempotent {
				opts = append(opts, ifmatch.Idempotent())
			}
			task, err := c.Workspace(testWS).UpdateTask(ctxT(t), testTask, setFoo("x"), opts...)
			if got, want := m.seq(), []string{"GET", `POST "3"`, "GET"}; !slices.Equal(got, want) {
				t.Fatalf("requests = %q, want %q (a POST is never blindly retried)", got, want)
			}
			if !idempotent {
				var oe *ifmatch.OutcomeUnknownError
				if !errors.Is(err, ifmatch.ErrOutcomeUnknown) || !errors.As(err, &oe) || oe.ETag != `"3"` {
					t.Fatalf("err = %v, want ErrOutcomeUnknown with ETag \"3\"", err)
				}
				var ae *ifmatch.APIError
				if !errors.As(err, &ae) || ae.Status != 502 {
					t.Errorf("cause not kept: %v", err)
				}
				return
			}
			// Idempotent: the re-read shows the change already there.
			if err != nil || task.ETag != `"4"` || res != ifmatch.Updated {
				t.Fatalf("idempotent: task %v err %v res %q", task, err, res)
			}
		})
	}
}

// After an ambiguous write, a 412 on the retry with the same If-Match may be
// our own first copy having landed late: unknown, not a plain conflict.
func TestUpdateTaskAmbiguousThen412IsUnknown(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("GET", taskURL, taskResp(200, `"3"`, `{}`, 0))
	m.on("POST", taskURL, errResp(504, 0).Then(errResp(412, 20412)))
	_, err := c.Workspace(testWS).UpdateTask(ctxT(t), testTask, setFoo("x"))
	var ae *ifmatch.APIError
	if !errors.Is(err, ifmatch.ErrOutcomeUnknown) || !errors.As(err, &ae) || ae.Status != 412 {
		t.Fatalf("err = %v, want ErrOutcomeUnknown with the 412 as its cause", err)
	}
	if errors.Is(err, ifmatch.ErrPreconditionFailed) { // "not applied": untrue of the first write
		t.Errorf("err = %v matches ErrPreconditionFailed", err)
	}
	if got, want := m.seq(), []string{"GET", `POST "3"`, "GET", `POST "3"`}; !slices.Equal(got, want) {
		t.Fatalf("requests = %q, want %q", got, want)
	}
}

// A 2xx write whose body is unusable landed: the answer is the state it
// produced (the version read plus the change), with the answer's ETag when
// it has one, else none; never a second write, and no read-back (which could
// show later writes no serial order puts in this call's answer).
func TestUpdateTaskCommittedButBodyUnusable(t *testing.T) {
	t.Parallel()
	for _, etag := range []string{`"1"`, ""} {
		c, m := setup(t)
		m.on("GET", taskURL, taskResp(200, `"0"`, `{}`, 0))
		m.on("POST", taskURL, func(*http.Request) (*http.Response, error) {
			r := httpmock.NewStringResponse(200, "<html>not json</html>")
			if etag != "" {
				r.Header.Set("ETag", etag)
			}
			return r, nil
		})
		var res ifmatch.OperationResult
		task, err := c.Workspace(testWS).UpdateTask(ctxT(t), testTask, setFoo("x"), ifmatch.ReportResult(&res))
		if err != nil || task.ETag != etag || task.Attributes["foo"] != "x" || res != ifmatch.Updated {
			t.Fatalf("task %+v err %v res %q: a 2xx write landed", task, err, res)
		}
		if got, want := m.seq(), []string{"GET", `POST "0"`}; !slices.Equal(got, want) {
			t.Fatalf("requests = %q, want %q", got, want)
		}
	}
}

func TestFetchTaskMalformedBodies(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{
		"empty":          "",
		"html":           "<html>oops</html>",
		"array":          "[1,2]",
		"bad attributes": `{"sid":"x","attributes":"not json"}`,
		"wrong types":    `{"sid":5,"priority":"high"}`,
		"truncated":      `{"sid":"WT`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, m := setup(t)
			m.on("GET", taskURL, httpmock.NewStringResponder(200, body))
			_, err := c.Workspace(testWS).FetchTask(ctxT(t), testTask)
			if !errors.Is(err, ifmatch.ErrBadResponse) {
				t.Fatalf("err = %v, want ErrBadResponse", err)
			}
		})
	}
}

func TestNonJSONErrorBody(t *testing.T) {
	t.Parallel()
	c, m := setup(t, ifmatch.WithoutTransportRetry())
	m.on("GET", taskURL, httpmock.NewStringResponder(502, "<html><body>\x00\xff Bad Gateway</body></html>"))
	_, err := c.Workspace(testWS).FetchTask(ctxT(t), testTask)
	var ae *ifmatch.APIError
	if !errors.As(err, &ae) || ae.Status != 502 || !strings.Contains(ae.Message, "Bad Gateway") {
		t.Fatalf("err = %#v", err)
	}
}

func TestUpdateTaskNoETag(t *testing.T) {
	t.Parallel()
	for _, etag := range []string{"", `W/"3"`} {
		c, m := setup(t)
		m.on("GET", taskURL, taskResp(200, etag, `{}`, 0))
		_, err := c.Workspace(testWS).UpdateTask(ctxT(t), testTask, setFoo("x"))
		if !errors.Is(err, ifmatch.ErrNoETag) {
			t.Errorf("ETag %q: err = %v, want ErrNoETag", etag, err)
		}
		if n := len(m.log()); n != 1 {
			t.Errorf("ETag %q: %d requests, want the GET only", etag, n)
		}
	}
}

func TestHostileSIDsNeverReachTransport(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	hostile := []string{"", "../WT0123", "WT0123456789abcdef0123456789abcde%2F", "WT 123456789abcdef0123456789abcdef",
		"WT0123456789abcdef0123456789abcdeg", "WT0123456789abcdef0123456789abcdef/..", "wt0123456789abcdef0123456789abcdef",
		"WT0123456789abcdef0123456789abcdef\n", strings.Repeat("A", 10000)}
	for _, sid := range hostile {
		_, err := c.Workspace(testWS).FetchTask(ctxT(t), sid)
		if !errors.Is(err, ifmatch.ErrInvalidArgument) || !strings.Contains(err.Error(), "task SID") {
			t.Errorf("task SID %q: err = %v", sid, err)
		}
		if len(err.Error()) > 300 {
			t.Errorf("error message is %d bytes long: hostile input must be truncated", len(err.Error()))
		}
		_, err = c.Workspace(strings.Replace(sid, "WT", "WS", 1)).UpdateTask(ctxT(t), testTask, setFoo("x"))
		if !errors.Is(err, ifmatch.ErrInvalidArgument) || !strings.Contains(err.Error(), "workspace SID") {
			t.Errorf("workspace SID %q: err = %v", sid, err)
		}
	}
	if n := len(m.log()); n != 0 {
		t.Fatalf("%d requests reached the transport", n)
	}
}

// Transport retries: a GET is retried on 5xx and 429; a POST only on 429 or
// a dial error; 412 never. Bodies and If-Match are byte-identical across
// retries.
func TestTransportRetries(t *testing.T) {
	t.Parallel()
	dialErr := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	for _, tc := range []struct {
		name      string
		method    string
		first     httpmock.Responder
		wantCalls int
		wantErr   error
	}{
		{"GET 503 retried", "GET", errResp(503, 0), 2, nil},
		{"GET 500 retried", "GET", errResp(500, 0), 2, nil},
		{"GET 429 retried", "GET", errResp(429, 20429), 2, nil},
		{"GET reset retried", "GET", httpmock.NewErrorResponder(errors.New("connection reset")), 2, nil},
		{"GET 501 not retried", "GET", errResp(501, 0), 1, nil},
		{"GET 404 not retried", "GET", errResp(404, 20404), 1, ifmatch.ErrNotFound},
		{"POST 429 retried", "POST", errResp(429, 20429), 2, nil},
		{"POST dial error retried", "POST", httpmock.NewErrorResponder(dialErr), 2, nil},
		{"POST 500 not retried", "POST", errResp(500, 0), 1, nil},
		{"POST 502 not retried", "POST", errResp(502, 0), 1, nil},
		{"POST 503 not retried", "POST", errResp(503, 0), 1, nil},
		{"POST 504 not retried", "POST", errResp(504, 0), 1, nil},
		{"POST reset not retried", "POST", httpmock.NewErrorResponder(errors.New("connection reset")), 1, nil},
		{"POST 412 not retried", "POST", errResp(412, 20412), 1, ifmatch.ErrPreconditionFailed},
		{"POST 409 not retried", "POST", errResp(409, 0), 1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, m := setup(t)
			m.on(tc.method, taskURL, tc.first.Then(taskResp(200, `"8"`, `{}`, 0)))
			var err error
			if tc.method == "GET" {
				_, err = c.Workspace(testWS).FetchTask(ctxT(t), testTask)
			} else {
				_, err = c.Workspace(testWS).UpdateTaskIf(ctxT(t), testTask, `"7"`, ifmatch.TaskUpdate{Attributes: map[string]any{"a": 1}})
			}
			reqs := m.log()
			if len(reqs) != tc.wantCalls {
				t.Fatalf("%d calls, want %d (err %v)", len(reqs), tc.wantCalls, err)
			}
			if tc.wantCalls == 2 && err != nil {
				t.Fatalf("err after retry: %v", err)
			}
			if tc.wantCalls == 1 && err == nil {
				t.Fatal("no error, want the first answer's")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
			if len(reqs) == 2 && (reqs[0].Body != reqs[1].Body || reqs[0].IfMatch != reqs[1].IfMatch) {
				t.Errorf("retry differs: %+v vs %+v", reqs[0], reqs[1])
			}
		})
	}
}

func TestRetryAfterClampedAndDeadline(t *testing.T) {
	t.Parallel()
	t.Run("clamped", func(t *testing.T) {
		t.Parallel()
		// Retry-After: 3600 with maxWait 1ms: the retry happens (at once);
		// an unclamped wait would hang the test for an hour.
		c, m := setup(t)
		m.on("GET", taskURL, errResp(429, 20429, "Retry-After", "3600").Then(taskResp(200, `"1"`, `{}`, 0)))
		if _, err := c.Workspace(testWS).FetchTask(ctxT(t), testTask); err != nil {
			t.Fatal(err)
		}
		if n := len(m.log()); n != 2 {
			t.Fatalf("%d calls, want 2", n)
		}
	})
	t.Run("past deadline", func(t *testing.T) {
		t.Parallel()
		c, m := setup(t, ifmatch.WithTransportRetry(3, time.Millisecond, time.Hour))
		m.on("GET", taskURL, errResp(429, 20429, "Retry-After", "120").Then(taskResp(200, `"1"`, `{}`, 0)))
		ctx, cancel := context.WithTimeout(ctxT(t), time.Minute)
		defer cancel()
		_, err := c.Workspace(testWS).FetchTask(ctx, testTask)
		var ae *ifmatch.APIError
		if !errors.Is(err, ifmatch.ErrRateLimited) || !errors.As(err, &ae) || ae.RetryAfter != 2*time.Minute {
			t.Fatalf("err = %v, want the 429 at once (Retry-After outlives the deadline)", err)
		}
		if n := len(m.log()); n != 1 {
			t.Fatalf("%d calls, want 1", n)
		}
	})
}

func TestRedirectNotFollowed(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("GET", taskURL, func(r *http.Request) (*http.Response, error) {
		resp := httpmock.NewStringResponse(302, "")
		resp.Header.Set("Location", "https://evil.invalid/steal")
		return resp, nil
	})
	// No responder for evil.invalid: following the redirect would fail the test.
	_, err := c.Workspace(testWS).FetchTask(ctxT(t), testTask)
	var ae *ifmatch.APIError
	if !errors.As(err, &ae) || ae.Status != 302 {
		t.Fatalf("err = %v, want an APIError 302", err)
	}
}

func TestETagCacheSkipsGET(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("GET", taskURL, taskResp(200, `"0"`, `{}`, 0))
	m.on("POST", taskURL, taskResp(200, `"1"`, `{"foo":"a"}`, 0).Then(taskResp(200, `"2"`, `{"foo":"b"}`, 0)).
		Then(taskResp(200, `"1"`, `{"foo":"b"}`, 0)))
	ws := c.Workspace(testWS)
	if _, err := ws.UpdateTask(ctxT(t), testTask, setFoo("a")); err != nil {
		t.Fatal(err)
	}
	if _, err := ws.UpdateTask(ctxT(t), testTask, setFoo("b")); err != nil {
		t.Fatal(err)
	}
	if got, want := m.seq(), []string{"GET", `POST "0"`, `POST "1"`}; !slices.Equal(got, want) {
		t.Fatalf("requests = %q, want %q", got, want)
	}
	// A no-op against the cached copy is confirmed with the server.
	var res ifmatch.OperationResult
	if _, err := ws.UpdateTask(ctxT(t), testTask, setFoo("b"), ifmatch.ReportResult(&res)); err != nil {
		t.Fatal(err)
	}
	// The server's copy differs from the cached one (another writer reset
	// it): the confirming GET finds that out and the change is written.
	if got, want := m.seq(), []string{"GET", `POST "0"`, `POST "1"`, "GET", `POST "0"`}; !slices.Equal(got, want) {
		t.Fatalf("requests = %q, want %q", got, want)
	}
}

// The canary auth token never appears in an error, a formatted value or a
// log line, on any failure path.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug - 10}))
	c, m := setup(t, ifmatch.WithLogger(logger))
	m.on("GET", taskURL, errResp(500, 0).Then(taskResp(200, `"0"`, `{}`, 0)).Then(errResp(401, 20003)).
		Then(httpmock.NewErrorResponder(errors.New("reset"))))
	m.on("POST", taskURL, errResp(412, 20412).Then(errResp(502, 0)).Then(httpmock.NewStringResponder(200, "junk")))
	ws := c.Workspace(testWS)
	var errs []error
	for i := 0; i < 6; i++ {
		_, err := ws.UpdateTask(ctxT(t), testTask, setFoo(fmt.Sprint(i)), ifmatch.FreshRead())
		errs = append(errs, err)
		_, err = ws.FetchTask(ctxT(t), testTask)
		errs = append(errs, err)
	}
	_, err := ifmatch.NewClient("bad", canaryToken)
	errs = append(errs, err)
	_, err = ifmatch.NewClient(testAccount, canaryToken, ifmatch.WithBaseURL("http://example.com"))
	errs = append(errs, err)
	_, err = ws.UpdateTaskIf(ctxT(t), testTask, "", ifmatch.TaskUpdate{})
	errs = append(errs, err)
	var all strings.Builder
	for _, e := range errs {
		if e != nil {
			fmt.Fprintf(&all, "%v\n%+v\n%#v\n%s\n", e, e, e, e.Error())
		}
	}
	fmt.Fprintf(&all, "%v %+v %#v %s", c, c, c, c)
	fmt.Fprintf(&all, "%v %+v %#v", ws, ws, ws)
	all.WriteString(logs.String())
	if logs.Len() == 0 {
		t.Error("nothing was logged: the logger test is vacuous")
	}
	if strings.Contains(all.String(), canaryToken) || strings.Contains(all.String(), "CANARY") {
		t.Fatalf("secret leaked:\n%s", all.String())
	}
	// And the credentials did go out, as Basic auth, on every request.
	for _, r := range m.log() {
		if !strings.HasPrefix(r.Auth, "Basic ") {
			t.Fatalf("request without Basic auth: %+v", r)
		}
	}
}

func TestUpdateOptionsValidated(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	for name, opt := range map[string]ifmatch.UpdateOption{
		"MaxAttempts(0)":       ifmatch.MaxAttempts(0),
		"MaxElapsed(0)":        ifmatch.MaxElapsed(0),
		"BackoffBounds(2s,1s)": ifmatch.BackoffBounds(2*time.Second, time.Second),
		// #10 item 11: validated, then overflowed and panicked at the next conflict.
		"BackoffBounds(1<<62,1<<62)": ifmatch.BackoffBounds(1<<62, 1<<62),
	} {
		_, err := c.Workspace(testWS).UpdateTask(ctxT(t), testTask, setFoo("x"), opt)
		if !errors.Is(err, ifmatch.ErrInvalidArgument) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if _, err := c.Workspace(testWS).UpdateTask(ctxT(t), testTask, nil); !errors.Is(err, ifmatch.ErrInvalidArgument) {
		t.Errorf("nil mutator: %v", err)
	}
	if n := len(m.log()); n != 0 {
		t.Errorf("%d requests sent for invalid options", n)
	}
	if _, err := ifmatch.NewClient(testAccount, "tok", ifmatch.WithUpdateDefaults(ifmatch.MaxAttempts(-1))); !errors.Is(err, ifmatch.ErrInvalidArgument) {
		t.Errorf("invalid client default accepted: %v", err)
	}
	if _, err := ifmatch.NewClient(testAccount, "tok", ifmatch.WithTransportRetry(-1, 0, 0)); !errors.Is(err, ifmatch.ErrInvalidArgument) {
		t.Errorf("invalid transport retry accepted: %v", err)
	}
	// #10 item 10: per-call options are refused as client defaults.
	var r ifmatch.OperationResult
	for name, opt := range map[string]ifmatch.UpdateOption{
		"ReportResult":   ifmatch.ReportResult(&r),
		"IdempotencyKey": ifmatch.IdempotencyKey("evt-1"),
	} {
		if _, err := ifmatch.NewClient(testAccount, "tok", ifmatch.WithUpdateDefaults(opt)); !errors.Is(err, ifmatch.ErrInvalidArgument) {
			t.Errorf("%s as a client default: err = %v", name, err)
		}
	}
}

// Next-page links are followed on the client's own base URL (a proxy here),
// whatever host Twilio's absolute link names; a hostile link cannot take the
// credentials elsewhere.
func TestListFollowsNextPageOnOwnBase(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	listURL := testBase + "/v1/Workspaces/" + testWS + "/Tasks"
	page := func(next string) httpmock.Responder {
		body := fmt.Sprintf(`{"tasks":[%s],"meta":{"key":"tasks","next_page_url":%s}}`, taskBody(`{}`, 0), next)
		return httpmock.NewStringResponder(200, body)
	}
	m.on("GET", listURL+"?PageSize=1", page(`"https://taskrouter.twilio.com/v1/Workspaces/`+testWS+`/Tasks?PageSize=1&Page=1"`))
	m.on("GET", listURL+"?Page=1&PageSize=1", page(`"https://evil.invalid/v1/Workspaces/`+testWS+`/Tasks?PageSize=1&Page=2"`))
	m.on("GET", listURL+"?Page=2&PageSize=1", page(`null`))
	n := 0
	for tk, err := range c.Workspace(testWS).ListTasks(ctxT(t), &ifmatch.TaskListParams{PageSize: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		if tk.SID != testTask || tk.ETag != "" {
			t.Fatalf("listed %+v", tk)
		}
		n++
	}
	if n != 3 {
		t.Fatalf("listed %d tasks over 3 pages", n)
	}
	for _, r := range m.log() {
		if !strings.HasPrefix(r.Path, "/prefix/v1/") {
			t.Errorf("request left the base: %s", r.Path)
		}
	}
}

// slow answers after a round trip the default backoff can measure (a
// simulated network, not synchronisation).
func slow(r httpmock.Responder) httpmock.Responder {
	return func(req *http.Request) (*http.Response, error) {
		time.Sleep(2 * time.Millisecond)
		return r(req)
	}
}

// TestUpdateTaskListensWhileAnotherWriterStreams: with the default backoff,
// a re-read after a short wait that shows two or more new versions means
// another writer is in a run of writes; the loop reads again later instead
// of writing into it. One new version (just the write that beat us), or a
// custom backoff, writes at once.
func TestUpdateTaskListensWhileAnotherWriterStreams(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		reread   string // ETag of the re-read after the 412 on "0"
		opts     []ifmatch.UpdateOption
		want     []string
		attempts int
	}{
		{"streaming", `"3"`, []ifmatch.UpdateOption{ifmatch.Backoff(nil), ifmatch.BackoffBounds(time.Millisecond, 10*time.Millisecond)},
			[]string{"GET", `POST "0"`, "GET", "GET", `POST "3"`}, 2},
		{"one write", `"1"`, []ifmatch.UpdateOption{ifmatch.Backoff(nil), ifmatch.BackoffBounds(time.Millisecond, 10*time.Millisecond)},
			[]string{"GET", `POST "0"`, "GET", `POST "1"`}, 2},
		{"custom backoff", `"3"`, []ifmatch.UpdateOption{ifmatch.Backoff(func() backoff.BackOff { return &backoff.ZeroBackOff{} })},
			[]string{"GET", `POST "0"`, "GET", `POST "3"`}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, m := setup(t)
			m.on("GET", taskURL, taskResp(200, `"0"`, `{"n":0}`, 0).Then(taskResp(200, tc.reread, `{"n":3}`, 0)))
			m.on("POST", taskURL, slow(errResp(412, 20412)).Then(taskResp(200, `"9"`, `{"n":4}`, 0)))
			var attempts int
			task, err := c.Workspace(testWS).UpdateTask(ctxT(t), testTask, increment,
				append(tc.opts, ifmatch.OnAttempt(func(ifmatch.AttemptInfo) { attempts++ }))...)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.seq(); !slices.Equal(got, tc.want) {
				t.Fatalf("requests = %q, want %q", got, tc.want)
			}
			if attempts != tc.attempts {
				t.Errorf("observer saw %d writes, want %d", attempts, tc.attempts)
			}
			if got := form(t, m.log()[len(tc.want)-1].Body).Get("Attributes"); got != `{"n":4}` {
				t.Errorf("last POST Attributes = %s, want the increment of the latest state", got)
			}
			if task.ETag != `"9"` {
				t.Errorf("task ETag %q", task.ETag)
			}
		})
	}
}

// TestUpdateTaskListenReadFails: a failed read while listening does not fail
// the call; it writes with what the previous read showed.
func TestUpdateTaskListenReadFails(t *testing.T) {
	t.Parallel()
	c, m := setup(t)
	m.on("GET", taskURL, taskResp(200, `"0"`, `{"n":0}`, 0).Then(taskResp(200, `"3"`, `{"n":3}`, 0)).
		Then(errResp(500, 20500)).Then(errResp(500, 20500)).Then(errResp(500, 20500)).Then(errResp(500, 20500)))
	m.on("POST", taskURL, slow(errResp(412, 20412)).Then(taskResp(200, `"4"`, `{"n":4}`, 0)))
	task, err := c.Workspace(testWS).UpdateTask(ctxT(t), testTask, increment,
		ifmatch.Backoff(nil), ifmatch.BackoffBounds(time.Millisecond, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"GET", `POST "0"`, "GET", "GET", "GET", "GET", "GET", `POST "3"`}
	if got := m.seq(); !slices.Equal(got, want) {
		t.Fatalf("requests = %q, want %q", got, want)
	}
	if got := form(t, m.log()[len(want)-1].Body).Get("Attributes"); got != `{"n":4}` || task.ETag != `"4"` {
		t.Errorf("last POST Attributes = %s, task ETag %q", got, task.ETag)
	}
}

// TestUpdateTaskRereadAfterConflictRetried: after a 412, a re-read that
// fails even after the transport's retries is tried again (the call has
// written nothing yet); one that cannot succeed (404: the Task is gone) ends
// the call at once.
func TestUpdateTaskRereadAfterConflictRetried(t *testing.T) {
	t.Parallel()
	e503 := errResp(503, 20500)
	for _, tc := range []struct {
		name    string
		rereads []httpmock.Responder // one read is 1 try + 3 transport retries
		want    []string
		wantErr error
	}{
		{"5xx then ok", []httpmock.Responder{e503, e503, e503, e503, taskResp(200, `"1"`, `{"n":1}`, 0)},
			[]string{"GET", `POST "0"`, "GET", "GET", "GET", "GET", "GET", `POST "1"`}, nil},
		{"gone", []httpmock.Responder{errResp(404, 20404)},
			[]string{"GET", `POST "0"`, "GET"}, ifmatch.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, m := setup(t)
			get := taskResp(200, `"0"`, `{"n":0}`, 0)
			for _, r := range tc.rereads {
				get = get.Then(r)
			}
			m.on("GET", taskURL, get)
			m.on("POST", taskURL, errResp(412, 20412).Then(taskResp(200, `"2"`, `{"n":2}`, 0)))
			_, err := c.Workspace(testWS).UpdateTask(ctxT(t), testTask, increment)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if got := m.seq(); !slices.Equal(got, tc.want) {
				t.Fatalf("requests = %q, want %q", got, tc.want)
			}
		})
	}
}
