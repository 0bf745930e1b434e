package marker

import (
	"fmt"
	"strings"
	"testing"
)

func hist(toks ...string) any {
	out := make([]any, len(toks))
	for i, t := range toks {
		out[i] = t
	}
	return out
}

func TestNextNumbersAfterTheHistory(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{nil, "1."},
		{hist(), "1."},
		{hist("3.a", "4.b"), "5."},
		{hist("old@7", "2.x"), "3."}, // tokens of another format are ignored
		{"not a list", "1."},
	} {
		if got := Next(tc.v); !strings.HasPrefix(got, tc.want) || len(got) != len(tc.want)+8 {
			t.Errorf("Next(%v) = %q, want %s + 8 random characters", tc.v, got, tc.want)
		}
	}
	if a, b := Next(nil), Next(nil); a == b {
		t.Error("two tokens for the same base are equal")
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
		tok  string
		want Verdict
	}{
		{"ours is there", hist("1.a", "2.ours", "3.c"), "2.ours", Landed},
		{"another took our seq", hist("1.a", "2.other", "3.c"), "2.ours", Superseded},
		{"nothing marked since our base", hist("1.a"), "2.ours", Absent},
		{"empty history", nil, "1.ours", Absent},
		{"our seq pushed out", hist("5.a", "6.b"), "2.ours", Unknown},
		{"gap in the history (edited)", hist("1.a", "3.c"), "2.ours", Unknown},
		{"unparsable token", hist("1.a"), "ours", Unknown},
		// Opaque decimal ETags played no part: only our own sequence counts.
		{"old-format tokens ignored", hist("x@123", "y@5"), "1.ours", Absent},
	} {
		if got := Check(tc.v, tc.tok); got != tc.want {
			t.Errorf("%s: Check = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestAppendKeepsTheLastMax(t *testing.T) {
	var v any
	for i := 1; i <= 40; i++ {
		v = Append(v, fmt.Sprintf("%d.t", i), 32)
	}
	list := v.([]any)
	if len(list) != 32 || list[0] != "9.t" || list[31] != "40.t" {
		t.Fatalf("history %v", list)
	}
	if Top(v) != "40.t" || !Has(v, "9.t") || Has(v, "8.t") || Has(v, "") {
		t.Fatal("Top/Has disagree with the history")
	}
	// A token 33 writes back is out of the history: nobody can tell.
	if got := Check(v, "8.t"); got != Unknown {
		t.Fatalf("Check of a pushed-out token = %v", got)
	}
}

func TestPushedOut(t *testing.T) {
	h := []any{"3.a", "4.b"}
	for _, c := range []struct {
		tok  string
		want bool
	}{{"2.x", true}, {"1.x", true}, {"3.a", false}, {"3.z", false}, {"5.x", false}, {"bad", false}} {
		if got := PushedOut(h, c.tok); got != c.want {
			t.Errorf("PushedOut(%v, %q) = %t", h, c.tok, got)
		}
	}
	if PushedOut(nil, "1.x") || PushedOut([]any{}, "1.x") {
		t.Error("an empty history pushed nothing out: it was edited, or never had the token")
	}
}
