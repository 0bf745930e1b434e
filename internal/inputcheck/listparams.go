// Package inputcheck holds the input checks that ifmatch's Client makes
// before sending a request (list page sizes, Sync names, the ETags of one-shot conditional writes), shared with
// ifmatchtest's in-memory stubs so that both refuse exactly the same input.
package inputcheck

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Page-size limits of the specs: TaskRouter lists take 1-1000, Sync lists
// 1-100.
const (
	TaskRouterMaxPageSize = 1000
	SyncMaxPageSize       = 100
)

// CheckPageSize reports a PageSize outside 1-max, wrapping invalid (the
// caller's ErrInvalidArgument). 0 (leave the server's default) is valid.
func CheckPageSize(invalid error, n, max int) error {
	if n != 0 && (n < 1 || n > max) {
		return fmt.Errorf("%w: PageSize %d is outside 1-%d", invalid, n, max)
	}
	return nil
}

// MaxNameChars is the longest Sync unique name or map key, in characters
// (the spec: "up to 320 characters").
const MaxNameChars = 320

// ValidName reports whether s can be a Sync SID, unique name or map key in
// a URL path: 1-320 characters (runes, not bytes) of UTF-8 without control
// characters, and not "." or "..", which would change the path's meaning.
func ValidName(s string) bool {
	if s == "" || s == "." || s == ".." || !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxNameChars {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}
