package ifmatch

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// redacted is what every print path shows in place of a credential.
const redacted = "[redacted]"

// secret holds a credential (auth token or API key secret) so that no
// formatting path can print it: the value lives only inside a closure, which
// fmt, encoding/json, log/slog and reflection-based dumpers cannot look into
// (they print a func as an address, or not at all), and every method a
// printer may call on the type itself redacts.
type secret struct{ reveal func() string }

func newSecret(s string) secret { return secret{reveal: func() string { return s }} }

// value returns the credential, for the Authorization header only.
func (s secret) value() string {
	if s.reveal == nil {
		return ""
	}
	return s.reveal()
}

// String redacts.
func (secret) String() string { return redacted }

// GoString redacts.
func (secret) GoString() string { return redacted }

// Format redacts for every verb and flag.
func (secret) Format(f fmt.State, _ rune) { io.WriteString(f, redacted) }

// MarshalJSON redacts.
func (secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText redacts.
func (secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// LogValue redacts.
func (secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// minRedactLen is the shortest credential searched for in server-provided
// text: shorter strings would match ordinary words. Twilio's auth tokens and
// API key secrets are 32 characters.
const minRedactLen = 8

// scrubber replaces a Client's credentials, as they could be echoed by a
// server (raw, or as the base64 of the Basic authorization), in text.
type scrubber struct{ needles func() []string }

func newScrubber(username string, password secret) scrubber {
	return scrubber{needles: func() []string {
		p := password.value()
		if len(p) < minRedactLen {
			return nil
		}
		basic := base64.StdEncoding.EncodeToString([]byte(username + ":" + p))
		return []string{basic, strings.TrimRight(basic, "="), p}
	}}
}

// String redacts (a scrubber holds the credentials).
func (scrubber) String() string { return redacted }

// scrub returns s with every credential replaced by [redacted].
func (sc scrubber) scrub(s string) string {
	if sc.needles == nil {
		return s
	}
	for _, n := range sc.needles() {
		if n != "" && strings.Contains(s, n) {
			s = strings.ReplaceAll(s, n, redacted)
		}
	}
	return s
}

func (sc scrubber) leaks(s string) bool { return sc.scrub(s) != s }

// scrubValue scrubs the strings of a decoded JSON value (keys included).
func (sc scrubber) scrubValue(v any) any {
	switch v := v.(type) {
	case string:
		return sc.scrub(v)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[sc.scrub(k)] = sc.scrubValue(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = sc.scrubValue(e)
		}
		return out
	}
	return v
}

// scrubError removes the credentials from the text of err, which may hold
// what a server sent (an error body, a malformed response quoted by
// net/http). Errors of this package are cleaned field by field and keep
// their type; any other error whose text still holds a credential is
// replaced by a [redactedError] that keeps errors.Is working.
func (sc scrubber) scrubError(err error) error {
	if err == nil || sc.needles == nil {
		return err
	}
	var ae *APIError
	if errors.As(err, &ae) {
		ae.Message, ae.MoreInfo, ae.RequestID = sc.scrub(ae.Message), sc.scrub(ae.MoreInfo), sc.scrub(ae.RequestID)
		if ae.Details != nil {
			ae.Details, _ = sc.scrubValue(ae.Details).(map[string]any)
		}
	}
	var be *badResponseError
	if errors.As(err, &be) {
		be.Reason = sc.scrub(be.Reason)
	}
	var te *transportError
	if errors.As(err, &te) && sc.leaks(te.Err.Error()) {
		te.Err = &redactedError{msg: sc.scrub(te.Err.Error()), orig: te.Err}
	}
	if sc.leaks(err.Error()) {
		return &redactedError{msg: sc.scrub(err.Error()), orig: err}
	}
	return err
}

// redactedError stands for an error whose text held a credential.
type redactedError struct {
	msg  string
	orig error
}

// Error is the redacted message.
func (e *redactedError) Error() string { return e.msg }

// Is reports whether the original error matches target.
func (e *redactedError) Is(target error) bool { return errors.Is(e.orig, target) }

// Format prints the redacted message for every verb.
func (e *redactedError) Format(f fmt.State, _ rune) { io.WriteString(f, e.msg) }

// The scoped values hold a *Client; they print their SID and the account,
// never the Client's fields, for every verb.

// String describes the Workspace by its SID and account.
func (w Workspace) String() string {
	return "ifmatch.Workspace{SID: " + w.sid + ", " + accountOf(w.c) + "}"
}

// GoString is like String, for %#v.
func (w Workspace) GoString() string { return w.String() }

// Format prints the Workspace as String does for every verb.
func (w Workspace) Format(f fmt.State, _ rune) { io.WriteString(f, w.String()) }

// MarshalJSON encodes the workspace SID only.
func (w Workspace) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"workspace_sid": w.sid})
}

// LogValue logs the workspace SID only.
func (w Workspace) LogValue() slog.Value { return slog.StringValue(w.sid) }

// String describes the SyncService by its SID and account.
func (s SyncService) String() string {
	return "ifmatch.SyncService{SID: " + s.sid + ", " + accountOf(s.c) + "}"
}

// GoString is like String, for %#v.
func (s SyncService) GoString() string { return s.String() }

// Format prints the SyncService as String does for every verb.
func (s SyncService) Format(f fmt.State, _ rune) { io.WriteString(f, s.String()) }

// MarshalJSON encodes the service SID only.
func (s SyncService) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"service_sid": s.sid})
}

// LogValue logs the service SID only.
func (s SyncService) LogValue() slog.Value { return slog.StringValue(s.sid) }

func accountOf(c *Client) string {
	if c == nil {
		return "Client: nil"
	}
	return "AccountSID: " + c.accountSID
}
