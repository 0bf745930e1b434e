package ifmatch_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ifmatch-go/ifmatch"
)

// hostile starts an httptest server with h and a client for it.
func hostile(t *testing.T, h http.HandlerFunc, opts ...ifmatch.Option) (*ifmatch.Client, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	base := []ifmatch.Option{ifmatch.WithBaseURL(srv.URL), ifmatch.WithTransportRetry(2, time.Microsecond, time.Millisecond)}
	c, err := ifmatch.NewClient(testAccount, canaryToken, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

// A broken or hostile server cannot crash or hang the client: each case
// gets a clear, typed error.
func TestHostileServer(t *testing.T) {
	t.Parallel()
	big := strings.Repeat(" ", 11<<20)
	for _, tc := range []struct {
		name    string
		h       http.HandlerFunc
		want    error
		wantMsg string
	}{
		{"huge body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", `"1"`)
			fmt.Fprint(w, `{"sid":"x"`+big+`}`)
		}, ifmatch.ErrBadResponse, "exceeds"},
		{"endless body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", `"1"`)
			chunk := []byte(strings.Repeat("[", 64<<10))
			for i := 0; i < 1000; i++ { // bounded: stops by itself after 64 MiB
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}, ifmatch.ErrBadResponse, "exceeds"},
		{"html with 200", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html>hello</html>")
		}, ifmatch.ErrBadResponse, "decoding: invalid character"},
		{"200 without body", func(w http.ResponseWriter, r *http.Request) {}, ifmatch.ErrBadResponse, "empty body"},
		{"attributes not an object", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"sid":"x","attributes":"[1,2]"}`)
		}, ifmatch.ErrBadResponse, "attributes"},
		{"weak ETag", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", `W/"1"`)
			fmt.Fprint(w, taskBody(`{}`, 0))
		}, ifmatch.ErrNoETag, "weak"},
		{"no ETag", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, taskBody(`{}`, 0))
		}, ifmatch.ErrNoETag, "no ETag"},
		{"412 on a read", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(412)
		}, ifmatch.ErrPreconditionFailed, "412"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, _ := hostile(t, tc.h)
			_, err := c.Workspace(testWS).UpdateTask(ctxT(t), testTask, setFoo("x"))
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("err = %v, want %v mentioning %q", err, tc.want, tc.wantMsg)
			}
			if len(err.Error()) > 1000 {
				t.Errorf("error message of %d bytes", len(err.Error()))
			}
		})
	}
}

func TestHostileInvalidUTF8(t *testing.T) {
	t.Parallel()
	c, _ := hostile(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"1"`)
		fmt.Fprint(w, "{\"sid\":\""+testTask+"\",\"reason\":\"R\xff\",\"attributes\":\"{\\\"a\\\":\\\"\xfe\\\"}\"}")
	})
	task, err := c.Workspace(testWS).FetchTask(ctxT(t), testTask)
	if err != nil {
		t.Fatal(err)
	}
	if task.Reason != "R\uFFFD" || task.Attributes["a"] != "\uFFFD" {
		t.Fatalf("invalid UTF-8 not replaced: %q %q", task.Reason, task.Attributes["a"])
	}
}

// A redirect to another host is not followed, so the credentials never reach it.
func TestHostileRedirect(t *testing.T) {
	t.Parallel()
	var stolen atomic.Int32
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stolen.Add(1)
	}))
	t.Cleanup(evil.Close)
	c, _ := hostile(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, evil.URL+"/steal", http.StatusTemporaryRedirect)
	})
	_, err := c.Workspace(testWS).FetchTask(ctxT(t), testTask)
	var ae *ifmatch.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusTemporaryRedirect {
		t.Fatalf("err = %v, want an APIError 307", err)
	}
	if stolen.Load() != 0 {
		t.Fatal("the redirect was followed")
	}
}

// A 412 answered to an unconditional write is still a typed error.
func TestHostile412OnUnconditional(t *testing.T) {
	t.Parallel()
	c, _ := hostile(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-Match") != "" {
			t.Error("If-Match sent on an unconditional write")
		}
		w.WriteHeader(412)
		fmt.Fprint(w, `{"code":20412,"message":"no"}`)
	})
	_, err := c.Workspace(testWS).UpdateTaskLastWriteWins(ctxT(t), testTask, ifmatch.TaskUpdate{Reason: "x"})
	if !errors.Is(err, ifmatch.ErrPreconditionFailed) {
		t.Fatalf("err = %v", err)
	}
}

// signalHandler is a slog handler that signals when a record's message
// contains msg.
type signalHandler struct {
	msg     string
	reached chan<- struct{}
}

func (h signalHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h signalHandler) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, h.msg) {
		select {
		case h.reached <- struct{}{}:
		default:
		}
	}
	return nil
}
func (h signalHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h signalHandler) WithGroup(string) slog.Handler      { return h }

// Every call returns promptly when its context ends, whatever it is doing.
// Each case cancels once the server (or dialer) signals the stage is reached;
// a call that ignored the cancellation would hang the test.
func TestCancellationAtEveryStage(t *testing.T) {
	t.Parallel()
	block := func(reached chan<- struct{}, before func(http.ResponseWriter)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if before != nil {
				before(w)
			}
			select {
			case reached <- struct{}{}:
			default:
			}
			<-r.Context().Done()
		}
	}
	for _, st := range []struct {
		name  string
		setup func(t *testing.T, reached chan struct{}) *ifmatch.Client
		check func(t *testing.T, err error)
	}{
		{"connecting", func(t *testing.T, reached chan struct{}) *ifmatch.Client {
			tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				reached <- struct{}{}
				<-ctx.Done()
				return nil, ctx.Err()
			}}
			c, _ := hostile(t, nil, ifmatch.WithHTTPClient(&http.Client{Transport: tr}))
			return c
		}, nil},
		{"waiting for headers", func(t *testing.T, reached chan struct{}) *ifmatch.Client {
			c, _ := hostile(t, block(reached, nil))
			return c
		}, nil},
		{"reading the body", func(t *testing.T, reached chan struct{}) *ifmatch.Client {
			c, _ := hostile(t, block(reached, func(w http.ResponseWriter) {
				w.Header().Set("ETag", `"1"`)
				fmt.Fprint(w, `{"sid":"WT`)
				w.(http.Flusher).Flush()
			}))
			return c
		}, nil},
		{"transport backoff", func(t *testing.T, reached chan struct{}) *ifmatch.Client {
			// The client logs when it schedules a retry: that is when it
			// starts to wait 20 s (under MaxElapsed, which a longer
			// Retry-After would end at once).
			logger := slog.New(signalHandler{msg: "retry scheduled", reached: reached})
			c, _ := hostile(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "20")
				w.WriteHeader(503)
			}, ifmatch.WithTransportRetry(5, 20*time.Second, 20*time.Second), ifmatch.WithLogger(logger))
			return c
		}, func(t *testing.T, err error) {
			var ae *ifmatch.APIError
			if !errors.As(err, &ae) || ae.Status != 503 {
				t.Errorf("the last 503 is not joined to the context error: %v", err)
			}
		}},
	} {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			reached := make(chan struct{}, 1)
			c := st.setup(t, reached)
			ctx, cancel := context.WithCancel(ctxT(t))
			done := make(chan error, 1)
			go func() {
				_, err := c.Workspace(testWS).UpdateTask(ctx, testTask, setFoo("x"))
				done <- err
			}()
			<-reached
			cancelled := time.Now()
			cancel()
			err := <-done
			t.Logf("returned %s after cancel", time.Since(cancelled))
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
			if st.check != nil {
				st.check(t, err)
			}
		})
	}
}
