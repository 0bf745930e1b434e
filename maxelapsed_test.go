package ifmatch_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/ifmatchtest"
)

// A call cut off by MaxElapsed, with the caller's own context still live,
// says so: a bare "context deadline exceeded" sent a user looking for a
// deadline they never set. The error still matches context.DeadlineExceeded
// (and ErrOutcomeUnknown when a write was out), and HTTPStatus is unchanged.
// The caller's own deadline is reported as before.
func TestMaxElapsedNamedInError(t *testing.T) {
	t.Parallel()
	srv := ifmatchtest.NewServer()
	t.Cleanup(srv.Close)
	ws := srv.AddWorkspace()
	task := srv.AddTask(ws, nil)
	c := srv.Client()
	bump := func(t *ifmatch.Task) error { t.Priority++; return nil }

	_, err := c.Workspace(ws).UpdateTask(context.Background(), task, bump, ifmatch.MaxElapsed(time.Nanosecond))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "MaxElapsed (1ns) ran out") ||
		ifmatch.HTTPStatus(err) != http.StatusGatewayTimeout {
		t.Errorf("MaxElapsed before any request: %v (status %d)", err, ifmatch.HTTPStatus(err))
	}

	// A write that stalls until MaxElapsed cuts it off: the outcome is unknown.
	srv.Inject(ifmatchtest.Fault{Kind: ifmatchtest.CommitThenStall, Method: http.MethodPost, Count: 1})
	_, err = c.Workspace(ws).UpdateTask(context.Background(), task, bump, ifmatch.MaxElapsed(100*time.Millisecond), ifmatch.Alone())
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ifmatch.ErrOutcomeUnknown) ||
		!strings.Contains(err.Error(), "MaxElapsed (100ms) ran out") {
		t.Errorf("MaxElapsed during a write: %v", err)
	}
	var oe *ifmatch.OutcomeUnknownError
	if !errors.As(err, &oe) {
		t.Errorf("no *OutcomeUnknownError in %v", err)
	}

	// The caller's own deadline: no MaxElapsed in the message.
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	_, err = c.Workspace(ws).UpdateTask(ctx, task, bump)
	if !errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "MaxElapsed") {
		t.Errorf("the caller's deadline: %v", err)
	}
}
