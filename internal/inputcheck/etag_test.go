package inputcheck

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckIfMatch(t *testing.T) {
	invalid, unusable := errors.New("invalid"), errors.New("unusable")
	for _, tc := range []struct {
		etag, want string // want: "" for valid, else a part of the message
		unusable   bool
	}{
		{`"0"`, "", false},
		{`0`, "", false},
		{`"a-b/c=="`, "", false},
		{"", "empty ETag", true},
		{`W/"0"`, "weak ETag", true},
		{` W/"0"`, "weak ETag", true},
		{`*`, `"*" (it matches any version)`, true},
		{`"0"` + "\r\nX-Evil: 1", `byte '\r' at 3`, false},
		{"\x01", `byte '\x01' at 0`, false},
		{`"a b"`, `byte ' ' at 2`, false},
		{"\"0\"\x7f", `byte '\x7f' at 3`, false},
	} {
		err := CheckIfMatch(invalid, unusable, tc.etag)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v, want nil", tc.etag, err)
		case tc.want != "" && (!errors.Is(err, invalid) || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: %v, want an invalid error saying %q", tc.etag, err, tc.want)
		case tc.want != "" && errors.Is(err, unusable) != tc.unusable:
			t.Errorf("%q: %v matches unusable: %v, want %v", tc.etag, err, !tc.unusable, tc.unusable)
		case err != nil && strings.ContainsAny(err.Error(), "\r\n"):
			t.Errorf("%q: the message carries a raw CR or LF: %q", tc.etag, err)
		}
	}
}
