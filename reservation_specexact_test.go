package ifmatch_test

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/ifmatchtest"
)

// TestUpdateWorkerReservationBothModes runs UpdateWorkerReservation against
// a fake that sends an ETag on the Worker path (the default) and one that,
// as the spec declares, does not (SpecExact): it works in both, reading and
// writing through the Task path in the second.
func TestUpdateWorkerReservationBothModes(t *testing.T) {
	t.Parallel()
	for _, mode := range []struct {
		name       string
		opts       []ifmatchtest.Option
		workerETag bool
	}{{"default", nil, true}, {"spec-exact", []ifmatchtest.Option{ifmatchtest.SpecExact()}, false}} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			srv := ifmatchtest.NewServer(mode.opts...)
			t.Cleanup(srv.Close)
			ctx := ctxT(t)
			wsSID := srv.AddWorkspace()
			ws := srv.Client().Workspace(wsSID)
			task := srv.AddTask(wsSID, nil)
			worker := srv.AddWorker(wsSID, "bob", nil)
			res := srv.AddReservation(wsSID, task, worker)

			got, err := ws.FetchWorkerReservation(ctx, worker, res)
			if err != nil || (got.ETag != "") != mode.workerETag {
				t.Fatalf("fetch through the Worker: ETag %q, err %v", got.ETag, err)
			}
			srv.ResetLog()
			var result ifmatch.OperationResult
			r, err := ws.UpdateWorkerReservation(ctx, worker, res, func(r *ifmatch.Reservation) error {
				r.ReservationStatus = ifmatch.ReservationAccepted
				return nil
			}, ifmatch.ReportResult(&result))
			if err != nil || r.ReservationStatus != ifmatch.ReservationAccepted || result != ifmatch.Updated {
				t.Fatalf("update: %+v %v %s", r, err, result)
			}
			if r.ETag != `"1"` || !strings.HasSuffix(r.URL, "/Workers/"+worker+"/Reservations/"+res) {
				t.Errorf("result ETag %q, url %s", r.ETag, r.URL)
			}
			var posts []ifmatchtest.Request
			for _, q := range srv.Requests() {
				if q.Method == "POST" {
					posts = append(posts, q)
				}
			}
			wantPath := "/Workers/" + worker + "/Reservations/" + res
			if !mode.workerETag {
				wantPath = "/Tasks/" + task + "/Reservations/" + res
			}
			if len(posts) != 1 || posts[0].IfMatch != `"0"` || !strings.HasSuffix(posts[0].Path, wantPath) {
				t.Errorf("POSTs %+v, want one to %s with If-Match \"0\"", posts, wantPath)
			}
			if st, v, _ := srv.ReservationStatus(res); st != "accepted" || v != 1 {
				t.Errorf("server: %s v%d", st, v)
			}
		})
	}
}

// TestUpdateWorkerReservationSpecExactContention: concurrent loops on one
// reservation through the Worker path of a spec-exact fake; exactly one
// moves it from accepted to wrapping, the others see it moved and write
// nothing (no lost or doubled move).
func TestUpdateWorkerReservationSpecExactContention(t *testing.T) {
	t.Parallel()
	srv := ifmatchtest.NewServer(ifmatchtest.SpecExact())
	t.Cleanup(srv.Close)
	wsSID := srv.AddWorkspace()
	task := srv.AddTask(wsSID, nil)
	worker := srv.AddWorker(wsSID, "bob", nil)
	res := srv.AddReservation(wsSID, task, worker)
	ws := srv.Client().Workspace(wsSID)
	if _, err := ws.UpdateTaskReservationIf(ctxT(t), task, res, `"0"`, ifmatch.ReservationUpdate{ReservationStatus: ifmatch.ReservationAccepted}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	updated := 0
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var result ifmatch.OperationResult
			c := srv.Client() // a process of its own
			_, err := c.Workspace(wsSID).UpdateWorkerReservation(ctxT(t), worker, res, func(r *ifmatch.Reservation) error {
				if r.ReservationStatus == ifmatch.ReservationAccepted {
					r.ReservationStatus = ifmatch.ReservationWrapping
				}
				return nil
			}, ifmatch.ReportResult(&result))
			if err != nil {
				t.Error(err)
				return
			}
			if result == ifmatch.Updated {
				mu.Lock()
				updated++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if st, v, _ := srv.ReservationStatus(res); st != "wrapping" || v != 2 || updated != 1 {
		t.Errorf("server %s v%d, %d calls updated; want wrapping v2 by one call", st, v, updated)
	}
}

// TestUpdateWorkerReservationForeignReservation: the fallback never leaves
// the Worker named in the call: another Worker's reservation is a 404.
func TestUpdateWorkerReservationForeignReservation(t *testing.T) {
	t.Parallel()
	srv := ifmatchtest.NewServer(ifmatchtest.SpecExact())
	t.Cleanup(srv.Close)
	wsSID := srv.AddWorkspace()
	task := srv.AddTask(wsSID, nil)
	worker := srv.AddWorker(wsSID, "bob", nil)
	other := srv.AddWorker(wsSID, "eve", nil)
	res := srv.AddReservation(wsSID, task, worker)
	_, err := srv.Client().Workspace(wsSID).UpdateWorkerReservation(ctxT(t), other, res, func(r *ifmatch.Reservation) error {
		r.ReservationStatus = ifmatch.ReservationAccepted
		return nil
	})
	if !errors.Is(err, ifmatch.ErrNotFound) {
		t.Errorf("another Worker's reservation: %v", err)
	}
}
