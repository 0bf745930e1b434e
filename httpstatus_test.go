package ifmatch_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/ifmatch-go/ifmatch"
)

func TestHTTPStatus(t *testing.T) {
	t.Parallel()
	api := func(status int) error { return &ifmatch.APIError{Status: status} }
	conflict := &ifmatch.ConflictError{Attempts: 3, Last: api(412)}
	mine := errors.New("already escalated")
	for _, c := range []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, 200},
		{"deadline joined with a 412", errors.Join(context.DeadlineExceeded, api(412)), 504},
		{"deadline joined with a conflict", errors.Join(context.DeadlineExceeded, conflict), 504},
		{"canceled", errors.Join(context.Canceled, api(503)), 503},
		{"mutator", fmt.Errorf("%w: %w", ifmatch.ErrMutatorAborted, mine), 422},
		{"mutator wrapping a 404 of its own", fmt.Errorf("%w: %w", ifmatch.ErrMutatorAborted, api(404)), 422},
		{"outcome unknown", &ifmatch.OutcomeUnknownError{ETag: `"1"`, Cause: api(502)}, 502},
		{"conflict (also a 412)", conflict, 503},
		{"invalid argument", fmt.Errorf("%w: bad SID", ifmatch.ErrInvalidArgument), 400},
		{"404", api(404), 404},
		{"412 of a single write", api(412), 412},
		{"409", api(409), 409},
		{"429", api(429), 503},
		{"401", api(401), 502},
		{"403", api(403), 502},
		{"500", api(500), 502},
		{"400 from Twilio", api(400), 502},
		{"bad response", fmt.Errorf("x: %w", ifmatch.ErrBadResponse), 502},
		{"no etag", ifmatch.ErrNoETag, 502},
		{"other", io.ErrUnexpectedEOF, 500},
	} {
		if got := ifmatch.HTTPStatus(c.err); got != c.want {
			t.Errorf("%s: HTTPStatus = %d, want %d", c.name, got, c.want)
		}
	}
}

// A taken unique name is ErrAlreadyExists (HTTP 409, Sync code 54301).
func TestErrAlreadyExists(t *testing.T) {
	t.Parallel()
	srv := fakeServer(t)
	svcSID := srv.AddSyncService()
	srv.AddDocument(svcSID, "cfg", nil)
	_, err := srv.Client().SyncService(svcSID).CreateDocument(ctxT(t), "cfg", ifmatch.SyncWrite{})
	var ae *ifmatch.APIError
	if !errors.Is(err, ifmatch.ErrAlreadyExists) || !errors.As(err, &ae) || ae.Code != 54301 ||
		errors.Is(err, ifmatch.ErrConflict) || ifmatch.HTTPStatus(err) != 409 {
		t.Errorf("duplicate unique name: %v", err)
	}
}

// An OutcomeUnknownError's cause is kept for diagnosis but never matches a
// sentinel that claims nothing was applied, whatever order a caller checks
// them in; HTTPStatus therefore answers 502, not the cause's status.
func TestOutcomeUnknownCauseClaimsNothing(t *testing.T) {
	t.Parallel()
	notApplied := []error{ifmatch.ErrInvalidArgument, ifmatch.ErrMutatorAborted, ifmatch.ErrConflict,
		ifmatch.ErrPreconditionFailed, ifmatch.ErrNotFound, ifmatch.ErrAlreadyExists}
	for _, s := range notApplied {
		err := &ifmatch.OutcomeUnknownError{Cause: fmt.Errorf("a later step: %w", s)}
		if errors.Is(err, s) || !errors.Is(err, ifmatch.ErrOutcomeUnknown) || !strings.Contains(err.Error(), s.Error()) {
			t.Errorf("cause %v: matches it %v, ErrOutcomeUnknown %v, message %q", s, errors.Is(err, s), errors.Is(err, ifmatch.ErrOutcomeUnknown), err)
		}
		if got := ifmatch.HTTPStatus(err); got != 502 {
			t.Errorf("cause %v: HTTPStatus %d, want 502", s, got)
		}
	}
	last := &ifmatch.APIError{Status: 412}
	err := error(&ifmatch.OutcomeUnknownError{Cause: errors.Join(context.DeadlineExceeded, &ifmatch.ConflictError{Last: last})})
	var ae *ifmatch.APIError
	var ce *ifmatch.ConflictError
	if !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &ae) || ae != last || errors.As(err, &ce) {
		t.Errorf("%v: want the deadline and the APIError visible, no ConflictError", err)
	}
	// A mutator's refusal inside the cause is hidden whole (the caller's own
	// error included), the context's end beside it is not.
	mine := &os.PathError{Op: "mine", Err: errors.New("refused")}
	refusal := fmt.Errorf("%w: %w", ifmatch.ErrMutatorAborted, mine)
	err = &ifmatch.OutcomeUnknownError{Cause: fmt.Errorf("round: %w", errors.Join(context.Canceled, refusal))}
	var pe *os.PathError
	if errors.Is(err, mine) || errors.As(err, &pe) || !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "refused") {
		t.Errorf("%v: want the mutator's error hidden from Is/As (but in the message), the context's end visible", err)
	}
	if errors.Is(&ifmatch.OutcomeUnknownError{}, ifmatch.ErrConflict) || !errors.Is(&ifmatch.OutcomeUnknownError{}, ifmatch.ErrOutcomeUnknown) {
		t.Error("no cause: want only ErrOutcomeUnknown")
	}
}

// A stub builds ConflictError and OutcomeUnknownError by hand, often without
// a cause: their messages then end without a ": <nil>".
func TestHandBuiltErrorsWithoutCause(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err  error
		want string
	}{
		{&ifmatch.ConflictError{Attempts: 3}, "ifmatch: conflict: gave up after 3 attempts over 0s"},
		{&ifmatch.OutcomeUnknownError{ETag: `"3"`}, `ifmatch: outcome of write with If-Match "3" unknown`},
		{&ifmatch.OutcomeUnknownError{}, "ifmatch: outcome of write unknown"},
		{&ifmatch.OutcomeUnknownError{Cause: errors.New("reset")}, "ifmatch: outcome of write unknown: reset"},
	} {
		if got := c.err.Error(); got != c.want {
			t.Errorf("%#v: %q, want %q", c.err, got, c.want)
		}
	}
}
