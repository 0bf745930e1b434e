package inputcheck

import (
	"fmt"
	"strings"
)

// CheckIfMatch reports an ETag a caller passes for a conditional write that
// cannot make one, wrapping invalid (the caller's ErrInvalidArgument): empty,
// weak (If-Match compares strongly) or "*" (it matches any version), which
// also match unusable (ErrNoETag: such a value comes from a response without
// a usable ETag, a list's for one), or holding a byte no ETag holds (a
// control character or a space, which could not travel in the header or
// would change its meaning). Quoted and bare ETags both pass; the value is
// quoted in the message, so a CR or LF shows escaped.
func CheckIfMatch(invalid, unusable error, etag string) error {
	why := ""
	switch v := strings.TrimSpace(etag); {
	case etag == "":
		why = "empty ETag (a resource from a list carries none; fetch it)"
	case strings.HasPrefix(v, "W/"):
		why = fmt.Sprintf("weak ETag %q (If-Match compares strongly)", clip(etag))
	case v == "*":
		why = `ETag "*" (it matches any version)`
	}
	if why != "" {
		return &both{msg: invalid.Error() + ": " + why + ": pass the ETag of the version read", errs: []error{invalid, unusable}}
	}
	for i := 0; i < len(etag); i++ {
		if b := etag[i]; b <= ' ' || b == 0x7f {
			return fmt.Errorf("%w: ETag %q has byte %q at %d, which no ETag holds", invalid, clip(etag), b, i)
		}
	}
	return nil
}

// both is an error that matches two sentinels, with its own message.
type both struct {
	msg  string
	errs []error
}

// Error is the error's own message.
func (e *both) Error() string { return e.msg }

// Unwrap returns the two sentinels.
func (e *both) Unwrap() []error { return e.errs }

// clip shortens s for a message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
