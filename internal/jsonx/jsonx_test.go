package jsonx

import (
	"encoding/json"
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
