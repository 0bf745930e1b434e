package ifmatch_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/ifmatch-go/ifmatch"
	"github.com/jarcoal/httpmock"
)

// The canary tests: a credential must never appear, in any encoding, in
// anything the package lets a caller print, marshal, log or read from an
// error (issue #15 items 1 and 5).

const (
	testAPIKey = "SK0123456789abcdef0123456789abcdef"
	// canarySecret is an API key secret; like canaryToken it must never
	// appear anywhere.
	canarySecret = "CANARY-api-secret-9e107d9d372bb6826bd81d3542a419d6"
)

// leakForms returns what a leak of secret looks like: the value itself,
// its hex (both cases), and every run of base64 (standard and URL
// alphabets) that encodes only bytes of the secret whatever its offset in
// the encoded text — which covers "Basic base64(user:secret)" for any user.
func leakForms(secret string) []string {
	forms := []string{secret, hex.EncodeToString([]byte(secret)), strings.ToUpper(hex.EncodeToString([]byte(secret)))}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		for k := 0; k < 3; k++ {
			s := enc.EncodeToString([]byte(strings.Repeat("\x00", k) + secret))
			from, to := 4*((k+2)/3), 4*((k+len(secret))/3)
			forms = append(forms, s[from:to])
		}
	}
	return forms
}

// canaryForms is leakForms of both canaries, plus the exact Basic
// authorization values the clients send.
var canaryForms = func() []string {
	f := append(leakForms(canaryToken), leakForms(canarySecret)...)
	for _, up := range []string{testAccount + ":" + canaryToken, testAPIKey + ":" + canarySecret} {
		f = append(f, base64.StdEncoding.EncodeToString([]byte(up)))
	}
	return f
}()

// leak reports the first form of a canary found in s, or "".
func leak(s string) string {
	for _, f := range canaryForms {
		if strings.Contains(s, f) {
			return f
		}
	}
	return ""
}

// noLeak fails t when s holds a canary in any form.
func noCanary(t *testing.T, what, s string) {
	t.Helper()
	if f := leak(s); f != "" {
		t.Errorf("%s leaks a credential (%q found) in:\n%s", what, f, s)
	}
}

// canaryClients returns a client authenticated with canaryToken and one
// with the API key canarySecret (account token also canaryToken).
func canaryClients(t *testing.T) []*ifmatch.Client {
	t.Helper()
	tok, _ := setup(t)
	key, err := ifmatch.NewClient(testAccount, "", ifmatch.WithAPIKey(testAPIKey, canarySecret),
		ifmatch.WithBaseURL(testBase))
	if err != nil {
		t.Fatal(err)
	}
	return []*ifmatch.Client{tok, key}
}

// constructorErrors are the errors of constructors given a canary in the
// wrong place.
func constructorErrors() []error {
	var errs []error
	add := func(_ *ifmatch.Client, err error) { errs = append(errs, err) }
	add(ifmatch.NewClient(canaryToken, testAccount))
	add(ifmatch.NewClient(canaryToken, canaryToken))
	add(ifmatch.NewClient(testAccount, "", ifmatch.WithAPIKey(canarySecret, testAPIKey)))
	add(ifmatch.NewClient(testAccount, canaryToken, ifmatch.WithAPIKey(canarySecret, canaryToken)))
	add(ifmatch.NewClient(testAccount, canaryToken, ifmatch.WithBaseURL("https://"+testAccount+":"+canaryToken+"@api.test.invalid/")))
	add(ifmatch.NewClient(testAccount, canaryToken, ifmatch.WithBaseURL("https://"+testAccount+":"+canaryToken+"@api.test.invalid:x/")))
	add(ifmatch.NewClient(testAccount, canaryToken, ifmatch.WithBaseURL("https://"+testAccount+":"+canaryToken+"@api.test.invalid/%zz")))
	add(ifmatch.NewClient(testAccount, canaryToken, ifmatch.WithBaseURL(canaryToken)))
	add(ifmatch.NewClient(testAccount, canaryToken, ifmatch.WithRegion(canaryToken)))
	add(ifmatch.NewClient(testAccount, canaryToken, ifmatch.WithEdge(canaryToken)))
	add(ifmatch.NewClient(testAccount, canaryToken, ifmatch.WithUserAgent(canaryToken+"\x00")))
	return errs
}

type ctxKey struct{}

// samples maps every exported type of package ifmatch to a function that
// builds a value of it reaching a credential wherever the type allows: the
// client itself, a scoped value holding it, an error quoting it, a context
// or closure holding it. TestCanaryCoversEveryExportedType checks the keys
// against the package's source.
func samples(c *ifmatch.Client) map[string]func() any {
	ws, svc := c.Workspace(testWS), c.SyncService("IS0123456789abcdef0123456789abcdef")
	// An error whose text formats the credential holders, as a caller
	// would write it.
	wrapped := fmt.Errorf("sync %s failed for %v (%+v, %#v, %x, %q): %w", svc, ws, *c, c, ws, svc, ifmatch.ErrNotFound)
	apiErr := &ifmatch.APIError{Status: 404, Code: 20404, Message: fmt.Sprint(c), MoreInfo: fmt.Sprintf("%#v", ws),
		Details: map[string]any{"client": c, "ws": ws, "svc": svc}, RequestID: "RQ123", Method: "GET", URL: testBase}
	ctx := context.WithValue(context.Background(), ctxKey{}, c)
	ctx = context.WithValue(ctx, ctxKey{}, ws)
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	attrs := map[string]any{"client": c, "copy": *c, "ws": ws, "svc": svc, "err": wrapped}
	links := map[string]string{"self": taskURL}
	opts, _ := ifmatch.ResolveOptions(ifmatch.OnAttempt(func(ifmatch.AttemptInfo) { _ = c }),
		ifmatch.Backoff(func() backoff.BackOff { _ = c; return &backoff.ZeroBackOff{} }))
	var result ifmatch.OperationResult = "updated"
	opts.Result = &result
	task := ifmatch.Task{SID: testTask, AccountSID: testAccount, WorkspaceSID: testWS, AssignmentStatus: "pending",
		Attributes: attrs, DateCreated: ts, DateUpdated: ts, URL: taskURL, Links: links, ETag: `"1"`, Reason: fmt.Sprint(ws)}
	var taskAPI ifmatch.TaskAPI = ws
	var workerAPI ifmatch.WorkerAPI = ws
	var syncAPI ifmatch.SyncAPI = svc
	var observer ifmatch.Observer = ifmatch.NopObserver{}
	return map[string]func() any{
		"Client":              func() any { return c },
		"Workspace":           func() any { return ws },
		"SyncService":         func() any { return svc },
		"TaskAPI":             func() any { return taskAPI },
		"WorkerAPI":           func() any { return workerAPI },
		"SyncAPI":             func() any { return syncAPI },
		"TaskUpdater":         func() any { var u ifmatch.TaskUpdater = ws; return u },
		"WorkerUpdater":       func() any { var u ifmatch.WorkerUpdater = ws; return u },
		"DocumentUpdater":     func() any { var u ifmatch.DocumentUpdater = svc; return u },
		"ListItemUpdater":     func() any { var u ifmatch.ListItemUpdater = svc; return u },
		"MapItemUpdater":      func() any { var u ifmatch.MapItemUpdater = svc; return u },
		"APIError":            func() any { return apiErr },
		"ConflictError":       func() any { return &ifmatch.ConflictError{Attempts: 3, Elapsed: time.Second, Last: wrapped} },
		"OutcomeUnknownError": func() any { return &ifmatch.OutcomeUnknownError{ETag: `"1"`, Cause: apiErr} },
		"AttemptInfo":         func() any { return ifmatch.AttemptInfo{Attempt: 1, Status: 412, ETag: `"1"`, Err: wrapped} },
		"RetryInfo":           func() any { return ifmatch.RetryInfo{Method: "GET", Try: 1, Err: wrapped} },
		"UpdateCall":          func() any { return ifmatch.UpdateCall{Op: "UpdateTask", Kind: "Task", Path: fmt.Sprint(ws)} },
		"UpdateEnd":           func() any { return ifmatch.UpdateEnd{Outcome: ifmatch.OutcomeConflict, Attempts: 2, Err: wrapped} },
		"UpdateEvent": func() any {
			return ifmatch.UpdateEvent{Kind: ifmatch.EventAttempt, Attempt: 1, Status: 412, Err: apiErr, Round: ctx}
		},
		"EventKind":       func() any { return ifmatch.EventAttempt },
		"Outcome":         func() any { return ifmatch.OutcomeUpdated },
		"OperationResult": func() any { return result },
		"Options":         func() any { return opts },
		"Observer":        func() any { return observer },
		"NopObserver":     func() any { return ifmatch.NopObserver{} },
		"Option":          func() any { return ifmatch.WithAPIKey(testAPIKey, canarySecret) },
		"UpdateOption":    func() any { return ifmatch.OnAttempt(func(ifmatch.AttemptInfo) { _ = c }) },
		"Task":            func() any { return task },
		"Resource":        func() any { return &task }, // a constraint: any of its types
		"TaskStatus":      func() any { return ifmatch.TaskStatus("pending") },
		"TaskCreate": func() any {
			return ifmatch.TaskCreate{Attributes: attrs, Priority: ifmatchPtr(1), WorkflowSID: "WW0123456789abcdef0123456789abcdef"}
		},
		"TaskUpdate":     func() any { return ifmatch.TaskUpdate{Attributes: attrs, Reason: fmt.Sprint(ws)} },
		"TaskListParams": func() any { return &ifmatch.TaskListParams{WorkflowName: fmt.Sprint(ws), Priority: ifmatchPtr(1)} },
		"TaskMutator":    func() any { return ifmatch.TaskMutator(func(*ifmatch.Task) error { _ = c; return nil }) },
		"Worker": func() any {
			return ifmatch.Worker{SID: "WK0123456789abcdef0123456789abcdef", Attributes: attrs, Links: links, DateUpdated: ts}
		},
		"WorkerCreate":     func() any { return ifmatch.WorkerCreate{FriendlyName: "w", Attributes: attrs} },
		"WorkerUpdate":     func() any { return ifmatch.WorkerUpdate{Attributes: attrs} },
		"WorkerListParams": func() any { return &ifmatch.WorkerListParams{} },
		"WorkerMutator":    func() any { return ifmatch.WorkerMutator(func(*ifmatch.Worker) error { _ = c; return nil }) },
		"Reservation": func() any {
			return ifmatch.Reservation{SID: "WR0123456789abcdef0123456789abcdef", ReservationStatus: "pending", Links: links, WorkerName: fmt.Sprint(c)}
		},
		"ReservationStatus": func() any { return ifmatch.ReservationStatus("pending") },
		"ReservationUpdate": func() any {
			return ifmatch.ReservationUpdate{ReservationStatus: "accepted", Instruction: fmt.Sprint(ws), Params: map[string][]string{"x": {fmt.Sprint(c)}}}
		},
		"ReservationListParams": func() any { return &ifmatch.ReservationListParams{} },
		"ReservationMutator":    func() any { return ifmatch.ReservationMutator(func(*ifmatch.Reservation) error { _ = c; return nil }) },
		"Document": func() any {
			return ifmatch.Document{SID: "ET0123456789abcdef0123456789abcdef", Data: attrs, Links: links}
		},
		"DocumentMutator": func() any { return ifmatch.DocumentMutator(func(*ifmatch.Document) error { _ = c; return nil }) },
		"ListItem":        func() any { return ifmatch.ListItem{Index: 1, Data: attrs} },
		"ListItemMutator": func() any { return ifmatch.ListItemMutator(func(*ifmatch.ListItem) error { _ = c; return nil }) },
		"MapItem":         func() any { return ifmatch.MapItem{Key: "k", Data: attrs} },
		"MapItemMutator":  func() any { return ifmatch.MapItemMutator(func(*ifmatch.MapItem) error { _ = c; return nil }) },
		"SyncWrite":       func() any { return ifmatch.SyncWrite{Data: attrs, TTL: ifmatch.TTL(time.Minute)} },
		"SyncListParams":  func() any { return &ifmatch.SyncListParams{From: fmt.Sprint(svc)} },
	}
}

func ifmatchPtr[T any](v T) *T { return &v }

// holder puts a value in every kind of field fmt, encoding/json and
// log/slog treat differently: exported and unexported, typed and any.
type holder[T any] struct {
	Pub     T
	priv    T
	Any     any
	privAny any
	Ptr     *T
	privPtr *T
}

func newHolder[T any](v T) holder[T] {
	return holder[T]{Pub: v, priv: v, Any: v, privAny: v, Ptr: &v, privPtr: &v}
}

// shapes returns v as-is and in the containers a caller may print it in.
func shapes(v any) map[string]any {
	var typedAny any = v
	p := &v
	return map[string]any{
		"value":        v,
		"pointer":      p,
		"any":          typedAny,
		"[]any":        []any{v, &v},
		"map":          map[string]any{"v": v},
		"holder":       newHolder(v),
		"&holder":      ptrTo(newHolder(v)),
		"holder[any]":  newHolder[any](v),
		"[]holder":     []holder[any]{newHolder[any](v)},
		"map[any]any":  map[any]any{"k": v},
		"anonymous":    struct{ X, y any }{v, v},
		"**":           &p,
		"errors.Join":  errors.Join(fmt.Errorf("%v", v)),
		"fmt.Errorf%w": fmt.Errorf("wrapped: %w", errOf(v)),
	}
}

func ptrTo[T any](v T) *T { return &v }

// errOf is v as an error, when it is one.
func errOf(v any) error {
	if e, ok := v.(error); ok {
		return e
	}
	return fmt.Errorf("%v", v)
}

// formats is every fmt verb with the flags that change how a value is
// walked.
var formats = []string{
	"%v", "%+v", "%#v", "%s", "%+s", "%#s", "%q", "%+q", "%#q", "%x", "%X", "% x", "%#x", "%d", "%+d",
	"%T", "%10v", "%-v", "%-40v", "%08v", "%.3v", "%.100v", "%t", "%p", "%e", "%g", "%b", "%o", "%c", "%U", "%z", "%[1]v",
}

// printAll is every text a caller can get from v: each fmt verb, Print and
// Println, %w through fmt.Errorf, encoding/json and xml, and log/slog with
// both built-in handlers (as an attribute value, via slog.Any, and grouped).
func printAll(v any) map[string]string {
	out := map[string]string{}
	for _, f := range formats {
		out[f] = fmt.Sprintf(f, v)
		out["Errorf "+f+" %w"] = fmt.Errorf(f+" %w", v, errOf(v)).Error()
	}
	wrapVerb := "%w" // a variable: vet would reject %w of a non-error, which is the point
	out["Errorf %w"] = fmt.Errorf(wrapVerb, v).Error()
	out["Sprint"] = fmt.Sprint(v)
	out["Sprintln"] = fmt.Sprintln(v, v)
	var buf bytes.Buffer
	fmt.Fprint(&buf, v)
	out["Fprint"] = buf.String()
	if e, ok := v.(error); ok {
		out["Error()"] = e.Error()
		for u := errors.Unwrap(e); u != nil; u = errors.Unwrap(u) {
			out["Unwrap.Error()"] += u.Error() + "\n"
		}
	}
	if s, ok := v.(fmt.Stringer); ok {
		out["String()"] = s.String()
	}
	if s, ok := v.(fmt.GoStringer); ok {
		out["GoString()"] = s.GoString()
	}
	b, err := json.Marshal(v)
	out["json"] = string(b) + fmt.Sprint(err)
	b, err = json.MarshalIndent(v, "", " ")
	out["json indent"] = string(b) + fmt.Sprint(err)
	b, err = xml.Marshal(v)
	out["xml"] = string(b) + fmt.Sprint(err)
	for name, h := range map[string]func(io.Writer) slog.Handler{
		"text": func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, &slog.HandlerOptions{AddSource: true}) },
		"json": func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, nil) },
	} {
		var lb bytes.Buffer
		l := slog.New(h(&lb))
		l.Info("value", "v", v)
		l.Info("any", slog.Any("v", v))
		l.LogAttrs(context.Background(), slog.LevelError, "attrs", slog.Any("v", v), slog.Group("g", slog.Any("v", v)))
		l.With("v", v).Warn("with")
		l.Info(fmt.Sprint(v))
		out["slog "+name] = lb.String()
	}
	return out
}

func TestNoSecretOnAnyPrintPath(t *testing.T) {
	// The leak forms must not be trivially empty or short.
	for _, f := range canaryForms {
		if len(f) < 16 {
			t.Fatalf("leak form %q too short to be meaningful", f)
		}
	}
	for i, c := range canaryClients(t) {
		t.Run(fmt.Sprintf("client%d", i), func(t *testing.T) {
			vals := samples(c)
			// A copied Client value and constructor errors go through
			// every path too.
			vals["Client (copy)"] = func() any { return *c }
			// The unexported holders, whose own methods redact too.
			vals["secret (unexported)"] = func() any { return ifmatch.SecretForTest(canaryToken) }
			vals["scrubber (unexported)"] = func() any { return ifmatch.ScrubberForTest(testAPIKey, canarySecret) }
			for j, err := range constructorErrors() {
				err := err
				if err == nil {
					t.Fatalf("constructor case %d: no error", j)
				}
				vals[fmt.Sprintf("constructor error %d", j)] = func() any { return err }
			}
			names := make([]string, 0, len(vals))
			for n := range vals {
				names = append(names, n)
			}
			sort.Strings(names)
			checked := 0
			for _, name := range names {
				for shape, v := range shapes(vals[name]()) {
					for path, s := range printAll(v) {
						checked++
						if f := leak(s); f != "" {
							t.Errorf("%s as %s through %s leaks a credential (%q):\n%s", name, shape, path, f, s)
						}
					}
				}
			}
			t.Logf("%d texts checked", checked)
		})
	}
}

func TestCanaryCoversEveryExportedType(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var exported []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		if af.Name.Name != "ifmatch" {
			continue
		}
		for _, d := range af.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, s := range gd.Specs {
				if ts := s.(*ast.TypeSpec); ts.Name.IsExported() {
					exported = append(exported, ts.Name.Name)
				}
			}
		}
	}
	if len(exported) < 40 {
		t.Fatalf("found only %d exported types (%v): is the parse right?", len(exported), exported)
	}
	c, _ := setup(t)
	covered := samples(c)
	for _, name := range exported {
		if _, ok := covered[name]; !ok {
			t.Errorf("exported type %s has no sample in the canary test's list (samples in secret_test.go)", name)
		}
		delete(covered, name)
	}
	for name := range covered {
		t.Errorf("sample %q names no exported type", name)
	}
}

// echoLog is a logger writing text and JSON records to one buffer.
type echoLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *echoLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *echoLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// echoObserver records what an Observer is told, as text.
type echoObserver struct {
	ifmatch.NopObserver
	mu   sync.Mutex
	seen []string
}

func (o *echoObserver) add(v any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seen = append(o.seen, fmt.Sprintf("%+v", v))
}

func (o *echoObserver) UpdateEvent(_ context.Context, _ ifmatch.UpdateCall, e ifmatch.UpdateEvent) {
	o.add(e)
}
func (o *echoObserver) EndUpdate(_ context.Context, _ ifmatch.UpdateCall, e ifmatch.UpdateEnd) {
	o.add(e)
}
func (o *echoObserver) TransportRetry(_ context.Context, r ifmatch.RetryInfo) { o.add(r) }

func (o *echoObserver) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return strings.Join(o.seen, "\n")
}

// errorTexts is every text a caller can get from err.
func errorTexts(err error) map[string]string {
	out := map[string]string{"Error()": err.Error(), "%+v": fmt.Sprintf("%+v", err), "%#v": fmt.Sprintf("%#v", err)}
	var ae *ifmatch.APIError
	if errors.As(err, &ae) {
		out["APIError %#v"] = fmt.Sprintf("%#v", *ae)
		b, _ := json.Marshal(ae)
		out["APIError json"] = string(b)
	}
	var oe *ifmatch.OutcomeUnknownError
	if errors.As(err, &oe) {
		out["OutcomeUnknownError %#v"] = fmt.Sprintf("%#v", *oe)
	}
	for u := errors.Unwrap(err); u != nil; u = errors.Unwrap(u) {
		out["Unwrap"] += fmt.Sprintf("%#v\n", u)
	}
	return out
}

func TestServerEchoedSecretsRedacted(t *testing.T) {
	// echo is every way a server could repeat the credentials it got.
	echo := func(r *http.Request) (auth, secret, basic string) {
		auth = r.Header.Get("Authorization")
		basic = strings.TrimPrefix(auth, "Basic ")
		raw, _ := base64.StdEncoding.DecodeString(basic)
		_, secret, _ = strings.Cut(string(raw), ":")
		return auth, secret, basic
	}
	jsonErr := func(status int) func(*http.Request) (*http.Response, error) {
		return func(r *http.Request) (*http.Response, error) {
			auth, sec, basic := echo(r)
			body, _ := json.Marshal(map[string]any{
				"code": 20003, "status": status,
				"message":   "Authenticate: got " + auth + " i.e. " + sec,
				"more_info": "https://www.twilio.com/docs/errors/20003?token=" + sec + "&b=" + basic,
				"details":   map[string]any{"authorization": auth, sec: []any{sec, basic, map[string]any{"nested": sec}}},
			})
			resp := httpmock.NewBytesResponse(status, body)
			resp.Header.Set("Content-Type", "application/json")
			resp.Header.Set("Twilio-Request-Id", "RQ"+sec)
			return resp, nil
		}
	}
	plainErr := func(status int) func(*http.Request) (*http.Response, error) {
		return func(r *http.Request) (*http.Response, error) {
			auth, sec, _ := echo(r)
			return httpmock.NewStringResponse(status, "<html>bad gateway; you sent "+auth+" ("+sec+")</html>"), nil
		}
	}
	badBody := func(r *http.Request) (*http.Response, error) {
		_, sec, basic := echo(r)
		// date_created cannot parse (time.Parse quotes it); sid is a number.
		body := `{"sid":"` + testTask + `","date_created":"` + sec + `","date_updated":"` + basic + `","attributes":"{}"}`
		resp := httpmock.NewStringResponse(200, body)
		resp.Header.Set("Content-Type", "application/json")
		resp.Header.Set("ETag", `"1"`)
		return resp, nil
	}
	notJSON := func(r *http.Request) (*http.Response, error) {
		_, sec, _ := echo(r)
		resp := httpmock.NewStringResponse(200, sec+" "+r.Header.Get("Authorization"))
		resp.Header.Set("ETag", `"1"`)
		return resp, nil
	}
	listEcho := func(r *http.Request) (*http.Response, error) {
		_, sec, _ := echo(r)
		if strings.Contains(r.URL.RawQuery, "CANARY") {
			return plainErr(404)(r)
		}
		// the same collection (another is refused unfetched), the secret in the query
		body := `{"tasks":[],"meta":{"next_page_url":"https://api.test.invalid/v1/Workspaces/` + testWS + `/Tasks?Token=` + sec + `&Page=1"}}`
		return httpmock.NewStringResponse(200, body), nil
	}
	// mayPass names the calls a responder need not fail: a 2xx answers a
	// delete; the list's echo is in its next page only.
	noDelete := map[string]bool{"DeleteTask": true}
	onlyList := map[string]bool{"FetchTask": true, "UpdateTask": true, "UpdateTaskIf": true, "DeleteTask": true,
		"FetchDocument": true, "UpdateDocument": true}
	responders := map[string]struct {
		r       func(*http.Request) (*http.Response, error)
		mayPass map[string]bool
		status  int // the status every read's *APIError has; 0: none
	}{
		"json error 400":   {jsonErr(400), nil, 400},
		"json error 401":   {jsonErr(401), nil, 401},
		"json error 500":   {jsonErr(500), nil, 500},
		"json error 412":   {jsonErr(412), nil, 412},
		"plain error 502":  {plainErr(502), nil, 502},
		"plain error 403":  {plainErr(403), nil, 403},
		"2xx bad decode":   {badBody, noDelete, 0},
		"2xx not JSON":     {notJSON, noDelete, 0},
		"list echoes path": {listEcho, onlyList, 0},
	}
	for name, rc := range responders {
		resp := rc.r
		for _, apiKey := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/apikey=%v", name, apiKey), func(t *testing.T) {
				logs, obs := &echoLog{}, &echoObserver{}
				opts := []ifmatch.Option{
					ifmatch.WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug - 10}))),
					ifmatch.WithObserver(obs),
				}
				if apiKey {
					opts = append(opts, ifmatch.WithAPIKey(testAPIKey, canarySecret))
				}
				c, m := setup(t, opts...)
				m.RegisterRegexpResponder(http.MethodGet, regexpAll, resp)
				m.RegisterRegexpResponder(http.MethodPost, regexpAll, resp)
				m.RegisterRegexpResponder(http.MethodDelete, regexpAll, resp)
				runCalls(t, c, func(what string, err error) {
					if err == nil {
						if !rc.mayPass[what] {
							t.Errorf("%s: no error from an echoing server", what)
						}
						return
					}
					for path, s := range errorTexts(err) {
						noCanary(t, what+" "+path, s)
					}
					// Redacting keeps the error's type: a read that met
					// an error status is still an *APIError.
					var ae *ifmatch.APIError
					status, api := rc.status, strings.HasPrefix(what, "Fetch")
					if name == "list echoes path" {
						status, api = 404, what == "ListTasks" // the echoed next page is not found
					}
					if status != 0 && api && (!errors.As(err, &ae) || ae.Status != status) {
						t.Errorf("%s: error %v (%T) is not an *APIError with status %d", what, err, err, status)
					}
				})
				noCanary(t, "log", logs.String())
				noCanary(t, "observer", obs.String())
			})
		}
	}
}

var regexpAll = regexp.MustCompile(`.*`)

// runCalls makes one call of each kind (read, update loop, one-shot write,
// delete, list) and hands each error to check.
func runCalls(t *testing.T, c *ifmatch.Client, check func(string, error)) {
	ctx, cancel := context.WithTimeout(ctxT(t), 10*time.Second)
	defer cancel()
	ws, svc := c.Workspace(testWS), c.SyncService("IS0123456789abcdef0123456789abcdef")
	_, err := ws.FetchTask(ctx, testTask)
	check("FetchTask", err)
	_, err = ws.UpdateTask(ctx, testTask, func(t *ifmatch.Task) error { t.Priority++; return nil }, ifmatch.MaxAttempts(2))
	check("UpdateTask", err)
	_, err = ws.UpdateTaskIf(ctx, testTask, `"1"`, ifmatch.TaskUpdate{Priority: ifmatchPtr(3)})
	check("UpdateTaskIf", err)
	check("DeleteTask", ws.DeleteTask(ctx, testTask))
	_, err = svc.FetchDocument(ctx, "doc")
	check("FetchDocument", err)
	_, err = svc.UpdateDocument(ctx, "doc", func(d *ifmatch.Document) error { d.Data = map[string]any{"a": 1}; return nil })
	check("UpdateDocument", err)
	var listErr error
	n := 0
	for _, err := range ws.ListTasks(ctx, nil) {
		if n++; err != nil || n > 100 {
			listErr = err
			break
		}
	}
	check("ListTasks", listErr)
}

// TestServerEchoedSecretsRedactedTransport: a server that answers with a
// malformed HTTP response quoting the credentials; net/http quotes it in its
// error, which reaches the caller, the logger and the Observer.
func TestServerEchoedSecretsRedactedTransport(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				req, err := http.ReadRequest(bufio.NewReader(conn))
				if err != nil {
					return
				}
				auth := req.Header.Get("Authorization")
				raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(auth, "Basic "))
				_, sec, _ := strings.Cut(string(raw), ":")
				fmt.Fprintf(conn, "HTTP/1.1 %s %s\r\n\r\n", sec, auth)
			}()
		}
	}()
	for _, apiKey := range []bool{false, true} {
		logs, obs := &echoLog{}, &echoObserver{}
		opts := []ifmatch.Option{
			ifmatch.WithBaseURL("http://" + ln.Addr().String()),
			ifmatch.WithTransportRetry(2, time.Microsecond, time.Millisecond),
			ifmatch.WithLogger(slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug - 10}))),
			ifmatch.WithObserver(obs),
		}
		if apiKey {
			opts = append(opts, ifmatch.WithAPIKey(testAPIKey, canarySecret))
		}
		c, err := ifmatch.NewClient(testAccount, canaryToken, opts...)
		if err != nil {
			t.Fatal(err)
		}
		runCalls(t, c, func(what string, err error) {
			if err == nil {
				t.Errorf("%s: no error from a malformed response", what)
				return
			}
			for path, s := range errorTexts(err) {
				noCanary(t, what+" "+path, s)
			}
		})
		c.CloseIdleConnections()
		noCanary(t, "log", logs.String())
		noCanary(t, "observer", obs.String())
		if !strings.Contains(obs.String(), "malformed") {
			t.Errorf("the observer saw no transport retry of the malformed answer:\n%s", obs)
		}
	}
}

func TestConstructorErrorsNameTheProblem(t *testing.T) {
	userinfo := "https://" + testAccount + ":" + canaryToken + "@api.test.invalid"
	cases := []struct {
		name  string
		build func() (*ifmatch.Client, error)
		want  []string // each must appear in the error text
	}{
		{"NewClient(token, sid)", func() (*ifmatch.Client, error) { return ifmatch.NewClient(canaryToken, testAccount) },
			[]string{"account SID", "malformed", "not 34", "secret given in its place"}},
		{"NewClient(sid, empty token)", func() (*ifmatch.Client, error) { return ifmatch.NewClient(testAccount, "") },
			[]string{"auth token is empty"}},
		{"WithAPIKey(secret, sid)", func() (*ifmatch.Client, error) {
			return ifmatch.NewClient(testAccount, "", ifmatch.WithAPIKey(canarySecret, testAPIKey))
		}, []string{"API key SID", "malformed", "50 characters, not 34", "secret given in its place"}},
		{"WithAPIKey(secret, sid) with a token", func() (*ifmatch.Client, error) {
			return ifmatch.NewClient(testAccount, canaryToken, ifmatch.WithAPIKey(canaryToken, testAPIKey))
		}, []string{"API key SID", "malformed"}},
		{"base URL with userinfo", func() (*ifmatch.Client, error) {
			return ifmatch.NewClient(testAccount, canaryToken, ifmatch.WithBaseURL(userinfo+"/prefix"))
		}, []string{"base URL", "user info", "not shown"}},
		{"base URL with userinfo that fails to parse (port)", func() (*ifmatch.Client, error) {
			return ifmatch.NewClient(testAccount, canaryToken, ifmatch.WithBaseURL(userinfo+":port/"))
		}, []string{"base URL", "does not parse", "not shown"}},
		{"base URL with userinfo that fails to parse (escape)", func() (*ifmatch.Client, error) {
			return ifmatch.NewClient(testAccount, canaryToken, ifmatch.WithBaseURL("https://"+testAccount+":"+canaryToken+"%zz@api.test.invalid/"))
		}, []string{"base URL", "does not parse", "not shown"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.build()
			checkConstructorErr(t, c, err, tc.want)
		})
	}
	// The environment: not parallel (t.Setenv).
	envCases := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"TWILIO_API_KEY and TWILIO_API_SECRET swapped", map[string]string{
			ifmatch.EnvAccountSID: testAccount, ifmatch.EnvAPIKey: canarySecret, ifmatch.EnvAPISecret: testAPIKey,
		}, []string{"API key SID", "malformed", "secret given in its place"}},
		{"swapped with a token set too", map[string]string{
			ifmatch.EnvAccountSID: testAccount, ifmatch.EnvAuthToken: canaryToken, ifmatch.EnvAPIKey: canarySecret, ifmatch.EnvAPISecret: testAPIKey,
		}, []string{"API key SID", "malformed"}},
		{"TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN swapped", map[string]string{
			ifmatch.EnvAccountSID: canaryToken, ifmatch.EnvAuthToken: testAccount,
		}, []string{"account SID", "malformed", "secret given in its place"}},
		{"API secret without key", map[string]string{
			ifmatch.EnvAccountSID: testAccount, ifmatch.EnvAPISecret: canarySecret,
		}, []string{ifmatch.EnvAPIKey, "not set"}},
	}
	for _, tc := range envCases {
		t.Run("env/"+tc.name, func(t *testing.T) {
			for _, k := range []string{ifmatch.EnvAccountSID, ifmatch.EnvAuthToken, ifmatch.EnvAPIKey, ifmatch.EnvAPISecret,
				ifmatch.EnvRegion, ifmatch.EnvEdge} {
				t.Setenv(k, tc.env[k])
			}
			c, err := ifmatch.NewClientFromEnv()
			checkConstructorErr(t, c, err, tc.want)
		})
	}
}

func checkConstructorErr(t *testing.T, c *ifmatch.Client, err error, want []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; client %v", c)
	}
	if !errors.Is(err, ifmatch.ErrInvalidArgument) {
		t.Errorf("error %q does not match ErrInvalidArgument", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
	for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
		noCanary(t, "constructor error", s)
	}
	// Nor a fragment of a secret: its distinctive tails.
	for _, frag := range []string{canaryToken[len(canaryToken)-16:], canarySecret[len(canarySecret)-16:], "CANARY"} {
		if strings.Contains(err.Error(), frag) {
			t.Errorf("error %q quotes part of a secret (%q)", err, frag)
		}
	}
}
