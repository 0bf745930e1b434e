package ifmatch

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ifmatch-go/ifmatch/internal/jsonx"
)

// Fuzz targets. `go test` runs their seeds; `go test -fuzz FuzzX` explores.

func FuzzParseAPIError(f *testing.F) {
	for _, s := range []string{
		`{"code":20412,"message":"Precondition Failed","more_info":"https://www.twilio.com/docs/errors/20412","status":412}`,
		`{"code":"x"}`, `<html>502</html>`, "", "\xff\xfe\x00", `{"message":null,"details":{"a":[1]}}`, `[]`, `null`,
		strings.Repeat("é", 500),
	} {
		f.Add(412, []byte(s))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := parseAPIError(status, body)
		msg := e.Error()
		if !utf8.ValidString(msg) {
			t.Fatalf("invalid UTF-8 in %q", msg)
		}
		if strings.ContainsAny(msg, "\n\r") {
			t.Fatalf("multi-line error %q", msg)
		}
		if e.Code == 0 && utf8.RuneCountInString(e.Message) > maxSnippet+1 {
			t.Fatalf("snippet of %d runes", utf8.RuneCountInString(e.Message))
		}
		if again := parseAPIError(status, body); again.Error() != msg {
			t.Fatalf("unstable: %q vs %q", msg, again.Error())
		}
	})
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "5", "-1", "3600", "Wed, 21 Oct 2015 07:28:00 GMT", "soon", " 7 ", "1e3", "99999999999999999999"} {
		f.Add(s)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseRetryAfter(s, now)
		if d < 0 || (!ok && d != 0) {
			t.Fatalf("parseRetryAfter(%q) = %s, %v", s, d, ok)
		}
		if w := transportBackoff(time.Millisecond, time.Second, 2, nil); w > time.Second {
			t.Fatalf("wait %s past max", w)
		}
	})
}

func FuzzETag(f *testing.F) {
	for _, s := range []string{`"3"`, `W/"3"`, ``, `3`, `"`, `W/`, "\x00", `*`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, etag string) {
		err := checkETag(etag)
		if (etag == "" || strings.HasPrefix(etag, "W/") || strings.TrimSpace(etag) == "*") != errors.Is(err, ErrNoETag) {
			t.Fatalf("checkETag(%q) = %v", etag, err)
		}
	})
}

func FuzzSIDAndNames(f *testing.F) {
	for _, s := range []string{"WT0123456789abcdef0123456789abcdef", "../", "%2F", "a/b", ".", "..", "name with space", "\x00", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if checkSID("task SID", "WT", s) == nil && (url.PathEscape(s) != s || len(s) != 34) {
			t.Fatalf("accepted SID %q is not path-safe", s)
		}
		if checkName("name", s) == nil {
			seg := url.PathEscape(s)
			if strings.Contains(seg, "/") || seg == "." || seg == ".." || seg == "" {
				t.Fatalf("accepted name %q escapes to %q", s, seg)
			}
		}
		if err := checkName("name", s); err != nil && len(err.Error()) > 400 {
			t.Fatalf("error of %d bytes", len(err.Error()))
		}
	})
}

func FuzzAttributes(f *testing.F) {
	for _, s := range []string{`{}`, `{"id":12345678901234567890123,"f":1.50}`, `{"a":[1,{"b":null}],"s":"<&>"}`, `{"a":1e400}`, `[]`, `{"a":"\ud800"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := jsonx.DecodeObject(s)
		if err != nil {
			return
		}
		c := jsonx.CloneMap(m)
		if !jsonx.Equal(m, c) {
			t.Fatalf("clone differs: %v", m)
		}
		enc, err := jsonx.Encode(m)
		if err != nil {
			t.Fatalf("re-encoding %q: %v", s, err)
		}
		m2, err := jsonx.DecodeObject(enc)
		if err != nil || !jsonx.Equal(m, m2) {
			t.Fatalf("round trip of %q via %q: %v", s, enc, err)
		}
		if enc2, _ := jsonx.Encode(m2); enc2 != enc {
			t.Fatalf("encoding unstable: %q vs %q", enc, enc2)
		}
		// A Task carrying these attributes diffs to nothing against its copy,
		// and to one Attributes field when one key changes.
		task := &Task{SID: "WT", Attributes: m, ETag: `"1"`}
		if form, err := diffTask(task, task.Clone()); err != nil || len(form) != 0 {
			t.Fatalf("diff of a copy: %v %v", form, err)
		}
		cp := task.Clone()
		if cp.Attributes == nil {
			cp.Attributes = map[string]any{}
		}
		cp.Attributes["\x00fuzz"] = true
		if form, err := diffTask(task, cp); err != nil || len(form) != 1 || form.Get("Attributes") == "" {
			t.Fatalf("diff after a change: %v %v", form, err)
		}
	})
}

func FuzzDecodeResponses(f *testing.F) {
	for _, s := range []string{`{"sid":"WT1","attributes":"{\"a\":1}","priority":1,"date_created":"2026-01-01T00:00:00Z"}`,
		`{"attributes":"[1]"}`, `{"data":{"a":1},"revision":"3"}`, `{"data":[1]}`, `{"date_created":"yesterday"}`, `null`, `{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = decodeTask(b, `"1"`)
		_, _ = decodeWorker(b, `"1"`)
		_, _ = decodeReservation(b, `"1"`)
		if d, err := decodeDocument(b, ""); err == nil && d.Revision != "" && d.ETag != d.Revision {
			t.Fatalf("ETag %q should fall back to revision %q", d.ETag, d.Revision)
		}
		_, _ = decodeListItem(b, "")
		_, _ = decodeMapItem(b, "")
	})
}

// encodeForm is url.Values.Encode, byte for byte.
func FuzzEncodeForm(f *testing.F) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	for _, s := range []string{"", " ", "a b+c&d=e", `{"n":1,"k":"<é>"}`, "~-_.*'()!", string(all)} {
		f.Add("Attributes", s, "Priority", "5")
		f.Add(s, "x", s+"2", s)
	}
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		form := url.Values{}
		form.Add(k1, v1)
		form.Add(k2, v2) // k2 may be k1: two values of one key
		form.Set("Empty", "")
		form["None"] = nil
		b := encodeForm(form)
		if got, want := string(b), form.Encode(); got != want {
			t.Fatalf("encodeForm = %q, want %q", got, want)
		}
		if len(b) != cap(b) {
			t.Fatalf("encodeForm sized its buffer %d for %d bytes", cap(b), len(b))
		}
		if got := encodeForm(url.Values{}); len(got) != 0 {
			t.Fatalf("empty form encoded as %q", got)
		}
	})
}
