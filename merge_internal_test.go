package ifmatch

import (
	"testing"

	"github.com/ifmatch-go/ifmatch/internal/jsonx"
)

// The examples of RFC 7386, Appendix A.
func TestMergePatchRFC7386Appendix(t *testing.T) {
	t.Parallel()
	for _, c := range [][3]string{
		{`{"a":"b"}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"b"}`, `{"b":"c"}`, `{"a":"b","b":"c"}`},
		{`{"a":"b"}`, `{"a":null}`, `{}`},
		{`{"a":"b","b":"c"}`, `{"a":null}`, `{"b":"c"}`},
		{`{"a":["b"]}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"c"}`, `{"a":["b"]}`, `{"a":["b"]}`},
		{`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`, `{"a":{"b":"d"}}`},
		{`{"a":[{"b":"c"}]}`, `{"a":[1]}`, `{"a":[1]}`},
		{`["a","b"]`, `["c","d"]`, `["c","d"]`},
		{`{"a":"b"}`, `["c"]`, `["c"]`},
		{`{"a":"foo"}`, `null`, `null`},
		{`{"a":"foo"}`, `"bar"`, `"bar"`},
		{`{"e":null}`, `{"a":1}`, `{"e":null,"a":1}`},
		{`[1,2]`, `{"a":"b","c":null}`, `{"a":"b"}`},
		{`{}`, `{"a":{"bb":{"ccc":null}}}`, `{"a":{"bb":{}}}`},
		// and a big number, kept exactly
		{`{"id":1}`, `{"id":12345678901234567890123}`, `{"id":12345678901234567890123}`},
	} {
		target, err1 := jsonx.Decode([]byte(c[0]))
		patch, err2 := jsonx.Decode([]byte(c[1]))
		want, err3 := jsonx.Decode([]byte(c[2]))
		if err1 != nil || err2 != nil || err3 != nil {
			t.Fatal(c, err1, err2, err3)
		}
		if got := mergePatch(target, patch); !jsonx.Equal(got, want) {
			t.Errorf("MergePatch(%s, %s) = %v, want %s", c[0], c[1], got, c[2])
		}
	}
}
