package ifmatch_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ifmatch-go/ifmatch"
)

func TestResolveOptions(t *testing.T) {
	t.Parallel()
	var res ifmatch.OperationResult
	o, err := ifmatch.ResolveOptions(ifmatch.MaxAttempts(3), ifmatch.Idempotent(), ifmatch.ReportResult(&res),
		ifmatch.IdempotencyKey("EV1"), ifmatch.CommitMarkers(""), ifmatch.FreshRead(), ifmatch.Alone(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.MaxAttempts != 3 || !o.Idempotent || o.IdempotencyKey != "EV1" || o.MarkerKey != ifmatch.DefaultMarkerKey ||
		!o.FreshRead || !o.Alone || o.MaxElapsed != ifmatch.DefaultMaxElapsed || o.BackoffMax != ifmatch.DefaultBackoffMax {
		t.Errorf("%+v", o)
	}
	o.Report(ifmatch.AlreadyApplied)
	if res != ifmatch.AlreadyApplied {
		t.Errorf("Report: %q", res)
	}
	ifmatch.Options{}.Report(ifmatch.Updated) // no ReportResult: nothing to do
	for _, bad := range []ifmatch.UpdateOption{ifmatch.MaxAttempts(0), ifmatch.MaxElapsed(-time.Second),
		ifmatch.BackoffBounds(time.Second, time.Millisecond), ifmatch.IdempotencyKey("")} {
		if _, err := ifmatch.ResolveOptions(bad); !errors.Is(err, ifmatch.ErrInvalidArgument) {
			t.Errorf("bad option accepted: %v", err)
		}
	}
}

// A user's own store runs ifmatch's loop with RunUpdate.
func TestRunUpdateOwnStore(t *testing.T) {
	t.Parallel()
	stored := &ifmatch.Document{SID: "ET1", Data: map[string]any{"n": 1}, ETag: `"a"`}
	writes := 0
	fetch := func(ctx context.Context) (*ifmatch.Document, error) { return stored.Clone(), nil }
	write := func(ctx context.Context, etag string, next *ifmatch.Document) (*ifmatch.Document, error) {
		if etag != stored.ETag {
			return nil, &ifmatch.APIError{Status: 412}
		}
		writes++
		next.ETag = stored.ETag + "x"
		stored = next
		return next.Clone(), nil
	}
	var res ifmatch.OperationResult
	d, err := ifmatch.RunUpdate(ctxT(t), fetch, write, func(d *ifmatch.Document) error { d.Data["n"] = 2; return nil },
		ifmatch.ReportResult(&res), ifmatch.IdempotencyKey("k"))
	if err != nil || res != ifmatch.Updated || d.ETag != `"a"x` || writes != 1 || len(d.Data) != 1 {
		t.Fatalf("%q %v %v", res, d, err)
	}
	d, err = ifmatch.RunUpdate(ctxT(t), fetch, write, func(d *ifmatch.Document) error { d.Data["n"] = 3; return nil },
		ifmatch.ReportResult(&res), ifmatch.IdempotencyKey("k"))
	if err != nil || res != ifmatch.AlreadyApplied || writes != 1 || d.Data["n"] != 2 {
		t.Fatalf("again: %q %v %v", res, d, err)
	}
	_, err = ifmatch.RunUpdate(ctxT(t), fetch, write, func(d *ifmatch.Document) error { d.SID = "ET2"; return nil })
	if !errors.Is(err, ifmatch.ErrInvalidArgument) {
		t.Errorf("read-only: %v", err)
	}
	if _, err := ifmatch.RunUpdate[ifmatch.Document](ctxT(t), nil, nil, nil); !errors.Is(err, ifmatch.ErrInvalidArgument) {
		t.Errorf("nil funcs: %v", err)
	}
}
