package jsonx

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestEqual(t *testing.T) {
	t.Parallel()
	m := func(s string) any {
		v, err := Decode([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		a, b any
		want bool
	}{
		{m(`5`), 5, true},
		{m(`5.0`), 5, true},
		{m(`5`), 5.5, false},
		{m(`1234567890123456789`), m(`1234567890123456788`), false},
		{m(`1234567890123456789`), int64(1234567890123456789), true},
		{m(`{"a":[1,{"b":null}]}`), map[string]any{"a": []any{1, map[string]any{"b": nil}}}, true},
		{m(`{"a":1}`), map[string]any{"a": "1"}, false},
		{m(`[1,2]`), []any{2, 1}, false},
		{m(`{}`), map[string]any(nil), true},
		{m(`null`), nil, true},
		{m(`"x"`), "x", true},
		{m(`true`), false, false},
		{m(`{"a":{"b":1}}`), map[string]any{"a": struct {
			B int `json:"b"`
		}{1}}, true},
	} {
		if got := Equal(tc.a, tc.b); got != tc.want {
			t.Errorf("Equal(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestRoundTripKeepsNumbers(t *testing.T) {
	t.Parallel()
	in := `{"big":12345678901234567890123,"f":1.50,"e":1e400,"s":"<&>"}`
	m, err := DecodeObject(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"big":12345678901234567890123,"e":1e400,"f":1.50,"s":"<&>"}`; out != want {
		t.Errorf("got %s want %s", out, want)
	}
	if _, ok := m["big"].(json.Number); !ok {
		t.Errorf("number decoded as %T", m["big"])
	}
	c := CloneMap(map[string]any{"a": []any{map[string]any{"x": 1}}})
	c2 := CloneMap(c)
	c2["a"].([]any)[0].(map[string]any)["x"] = 2
	if !Equal(c["a"], []any{map[string]any{"x": 1}}) {
		t.Error("clone shares nested values")
	}
	for _, bad := range []string{`[1]`, `{"a":1} x`, `{`, `"s"`} {
		if _, err := DecodeObject(bad); err == nil {
			t.Errorf("DecodeObject(%q) accepted", bad)
		}
	}
}

// Comparing a large decoded object with its copy allocates nothing: the
// update loop compares the whole object on every attempt.
func TestEqualCopyAllocatesNothing(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"n":1.50,"s":"x","t":true,"z":null,"a":[1,"y",{"k":12345678901234567890}]`)
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&b, `,"k%d":{"v":%d,"w":"%d"}`, i, i, i)
	}
	m, err := DecodeObject(b.String() + "}")
	if err != nil {
		t.Fatal(err)
	}
	c := CloneMap(m)
	if n := testing.AllocsPerRun(5, func() {
		if !Equal(m, c) {
			t.Fatal("copy not equal")
		}
	}); n != 0 {
		t.Errorf("Equal of an object and its copy: %v allocations, want 0", n)
	}
	c["k7"].(map[string]any)["v"] = json.Number("7.0")
	if !Equal(m, c) {
		t.Error("7 and 7.0 differ")
	}
	c["k7"].(map[string]any)["v"] = json.Number("8")
	if Equal(m, c) {
		t.Error("7 and 8 equal")
	}
}

// A number big.Rat refuses (its exponent) is not the string of its text.
func TestEqualHugeExponentIsNotAString(t *testing.T) {
	n := json.Number("1e1000001")
	if Equal(n, "1e1000001") || Equal("1e1000001", n) {
		t.Error("json.Number(1e1000001) equals the string \"1e1000001\"")
	}
	if !Equal(n, json.Number("1e1000001")) || Equal(n, json.Number("1e1000002")) {
		t.Error("huge numbers compare wrongly as text")
	}
}
