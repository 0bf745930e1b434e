// Package marker keeps the commit markers of ifmatch's update loop: a short
// history of write tokens stored in a resource's JSON object, from which a
// read after a lost answer tells whether a write landed.
//
// A token is "<seq>.<random>", where seq is one more than the highest seq in
// the history of the version the write is based on. Every marked write is
// conditional (If-Match), so the versions whose history tops out at seq-1
// form one run of the resource's history, and the first marked write to land
// on any of them ends that run with the token of number seq. Hence, reading
// the history later:
//
//   - our token is there: our write landed;
//   - another token has our seq: another marked write ended the run our write
//     was based on, so ours can never land;
//   - every seq is below ours: no marked write landed since ours was built;
//     ours has not landed (it may still, if the resource is still at its
//     base version);
//   - otherwise our seq was pushed out of the bounded history (or the history
//     was edited by someone else): nobody can tell.
//
// The reasoning needs no ordering of ETags, so it holds for opaque ETags too.
// It needs every writer to leave the history alone, which ifmatch's own
// mutators do (they never see it).
package marker

import (
	"crypto/rand"
	"encoding/base64"
	"strconv"
	"strings"
)

// Verdict is what a history says about one write token.
type Verdict int

// The verdicts of [Check].
const (
	// Absent: no marked write landed since the token was built.
	Absent Verdict = iota
	// Landed: the token is in the history.
	Landed
	// Superseded: another write took the token's place; it can never land.
	Superseded
	// Unknown: the token's place is no longer in the history.
	Unknown
)

// Next returns a new token for a write based on a version whose stored
// history is v (decoded JSON).
func Next(v any) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	hi, _ := bounds(v)
	return strconv.FormatUint(hi+1, 10) + "." + base64.RawURLEncoding.EncodeToString(b[:])
}

// Append returns the history v (decoded JSON: a list of strings) plus tok,
// keeping only the last max entries. Idempotency keys use it too.
func Append(v any, tok string, max int) []any {
	var out []any
	if list, ok := v.([]any); ok {
		for _, e := range list {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
	}
	out = append(out, tok)
	if len(out) > max {
		out = out[len(out)-max:]
	}
	return out
}

// IsHistory reports whether v (decoded JSON) is a history of tokens: a
// list of strings, each of the form "<seq>.<random>".
func IsHistory(v any) bool {
	list, ok := v.([]any)
	if !ok {
		return false
	}
	for _, e := range list {
		s, _ := e.(string)
		if _, ok := seqOf(s); !ok {
			return false
		}
	}
	return true
}

// Top returns the newest token of the history v, "" when it has none.
func Top(v any) string {
	list, _ := v.([]any)
	for i := len(list) - 1; i >= 0; i-- {
		if s, _ := list[i].(string); s != "" {
			return s
		}
	}
	return ""
}

// Has reports whether the history v holds tok ("" is never held).
func Has(v any, tok string) bool {
	list, _ := v.([]any)
	for _, e := range list {
		if s, _ := e.(string); s == tok && tok != "" {
			return true
		}
	}
	return false
}

// PushedOut reports whether the history v once held tok and no longer
// does: every token of v is newer (higher seq) than tok, so later writes
// pushed it out of the bounded history.
func PushedOut(v any, tok string) bool {
	seq, ok := seqOf(tok)
	if !ok || Has(v, tok) {
		return false
	}
	list, _ := v.([]any)
	for _, e := range list {
		s, _ := e.(string)
		if n, ok := seqOf(s); ok && n <= seq {
			return false
		}
	}
	return len(list) > 0
}

// Check tells what the history v says about tok.
func Check(v any, tok string) Verdict {
	seq, ok := seqOf(tok)
	if !ok {
		return Unknown
	}
	list, _ := v.([]any)
	taken := false
	for _, e := range list {
		s, _ := e.(string)
		if s == tok {
			return Landed
		}
		if n, ok := seqOf(s); ok && n == seq {
			taken = true
		}
	}
	if taken {
		return Superseded
	}
	if hi, any := bounds(v); !any || hi < seq {
		return Absent
	}
	return Unknown
}

// bounds returns the highest seq in the history v.
func bounds(v any) (hi uint64, found bool) {
	list, _ := v.([]any)
	for _, e := range list {
		s, _ := e.(string)
		if n, ok := seqOf(s); ok {
			hi, found = max(hi, n), true
		}
	}
	return hi, found
}

func seqOf(tok string) (uint64, bool) {
	s, _, ok := strings.Cut(tok, ".")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil && n > 0
}
