package ifmatch_test

import (
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ifmatch-go/ifmatch"
)

// A body over the cap ends the call at once: a transport retry would only
// download it again (announced or chunked, on a single resource or a list
// page).
func TestOversizeBodyNotDownloadedAgain(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		size    int
		chunked bool
		list    bool
	}{
		{"resource announced", ifmatch.MaxResourceBytes + 1, false, false},
		{"resource chunked", ifmatch.MaxResourceBytes + 1, true, false},
		{"page announced", ifmatch.MaxBodyBytes + 1, false, true},
		{"page chunked", ifmatch.MaxBodyBytes + 1, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var n atomic.Int32
			body := strings.Repeat(" ", tc.size)
			c, _ := hostile(t, func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				w.Header().Set("ETag", `"1"`)
				if !tc.chunked {
					w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				}
				w.Write([]byte(body))
			})
			var err error
			if tc.list {
				for _, e := range c.Workspace(testWS).ListTasks(ctxT(t), nil) {
					err = e
				}
			} else {
				_, err = c.Workspace(testWS).FetchTask(ctxT(t), testTask)
			}
			if !errors.Is(err, ifmatch.ErrBadResponse) || !strings.Contains(err.Error(), "exceeds") {
				t.Fatalf("err = %v, want ErrBadResponse: exceeds", err)
			}
			if got := n.Load(); got != 1 {
				t.Fatalf("%d requests, want 1", got)
			}
		})
	}
}

// A list item over MaxResourceBytes ends the list with an error, before it
// is decoded.
func TestListItemOverResourceCap(t *testing.T) {
	t.Parallel()
	attrs := `{"k":"` + strings.Repeat("x", ifmatch.MaxResourceBytes) + `"}`
	c, _ := hostile(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"tasks":[%s,%s],"meta":{}}`, taskBody(`{}`, 1), taskBody(attrs, 1))
	})
	n := 0
	var err error
	for _, e := range c.Workspace(testWS).ListTasks(ctxT(t), nil) {
		if err = e; e == nil {
			n++
		}
	}
	if n != 1 || !errors.Is(err, ifmatch.ErrBadResponse) || !strings.Contains(err.Error(), "list item 1") {
		t.Fatalf("got %d items, err %v", n, err)
	}
}

// denseAttributes is a JSON object of about size bytes made of tiny keys:
// the costliest shape to decode per byte.
func denseAttributes(size int) string {
	var b strings.Builder
	b.WriteString("{")
	for i := 0; b.Len() < size; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"k%d":1`, i)
	}
	return b.String() + "}"
}

// The memory limit holds: a Task whose body is as large as the cap allows,
// made of tiny attribute keys, costs at most 48 MiB of allocation to fetch
// and 256 MiB over an update of two attempts (one 412); a larger body (the
// issue's 8.4 MiB, 741k keys) is refused before decoding, within 48 MiB. (Not parallel: it measures the process's
// allocations.)
func TestMemoryLimit(t *testing.T) {
	attrs := denseAttributes(ifmatch.MaxResourceBytes * 3 / 4) // quoted into the body, ~1 MiB
	var writes atomic.Int32
	c, _ := hostile(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && writes.Add(1) == 1 {
			w.WriteHeader(412)
			return
		}
		w.Header().Set("ETag", `"1"`)
		fmt.Fprint(w, taskBody(attrs, 1))
	}, ifmatch.WithoutCoalescing(), ifmatch.WithoutETagCache())
	if len(taskBody(attrs, 1)) > ifmatch.MaxResourceBytes {
		t.Fatalf("test body %d bytes is over the cap", len(taskBody(attrs, 1)))
	}
	measure := func(f func() error) uint64 {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		if err := f(); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&m1)
		return (m1.TotalAlloc - m0.TotalAlloc) >> 20
	}
	ws := c.Workspace(testWS)
	fetch := measure(func() error { _, err := ws.FetchTask(ctxT(t), testTask); return err })
	update := measure(func() error {
		_, err := ws.UpdateTask(ctxT(t), testTask, setFoo("x"), ifmatch.Backoff(nil), ifmatch.BackoffBounds(0, 0))
		return err
	})
	// The case: 8.4 MiB of tiny keys (741k), chunked.
	big := []byte(taskBody(denseAttributes(7<<20), 1))
	cb, _ := hostile(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"1"`)
		w.Write(big[:len(big)/2])
		w.(http.Flusher).Flush()
		w.Write(big[len(big)/2:])
	})
	huge := measure(func() error {
		if _, err := cb.Workspace(testWS).FetchTask(ctxT(t), testTask); !errors.Is(err, ifmatch.ErrBadResponse) {
			return fmt.Errorf("fetch of %d bytes: err = %v, want ErrBadResponse", len(big), err)
		}
		return nil
	})
	t.Logf("fetch %d MiB, update %d MiB, refused %d MiB", fetch, update, huge)
	if fetch > 48 || update > 256 || huge > 48 {
		t.Fatalf("fetch allocated %d MiB (limit 48), update %d MiB (limit 256), over the cap %d MiB (limit 48)", fetch, update, huge)
	}
}
