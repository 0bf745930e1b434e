// Package jsonx holds the JSON value helpers behind Task attributes and Sync
// data: decoding that keeps every number exactly, deep copies, comparison as
// JSON values (not bytes), and compact encoding.
package jsonx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"reflect"
	"strings"
)

// DecodeObject decodes a JSON object, keeping numbers as json.Number so that
// a 19-digit ID survives a round trip. "null" and "" decode to nil.
func DecodeObject(s string) (map[string]any, error) {
	if s == "" || s == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(strings.NewReader(s)) // no copy of s
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after JSON object")
	}
	return m, nil
}

// Decode decodes any JSON value with numbers kept as json.Number.
func Decode(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after JSON value")
	}
	return v, nil
}

// Encode encodes v compactly, without HTML escaping.
func Encode(v any) (string, error) {
	var buf strings.Builder // its String is not a copy
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// CloneMap deep-copies a decoded JSON object.
func CloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = Clone(v)
	}
	return out
}

// Clone deep-copies a decoded JSON value. Values of other types (a struct the
// caller stored) are copied by assignment.
func Clone(v any) any {
	switch t := v.(type) {
	case map[string]any:
		return CloneMap(t)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = Clone(e)
		}
		return out
	default:
		return v
	}
}

// Equal reports whether a and b are the same JSON value: objects compare by
// keys, arrays by order, numbers by value (5, 5.0 and json.Number("5") are
// equal; a nil map or slice is the empty one). Values that are not plain
// JSON types are compared by their JSON encoding.
func Equal(a, b any) bool {
	if same(a, b) {
		return true // most values of a large object: no need to normalize them
	}
	na, aok := normalize(a)
	nb, bok := normalize(b)
	if !aok || !bok {
		ea, err1 := Encode(a)
		eb, err2 := Encode(b)
		if err1 != nil || err2 != nil {
			return reflect.DeepEqual(a, b)
		}
		da, err1 := Decode([]byte(ea))
		db, err2 := Decode([]byte(eb))
		if err1 != nil || err2 != nil {
			return ea == eb
		}
		return Equal(da, db)
	}
	return equalNorm(na, nb)
}

// same reports, without allocating, that a and b are the same string,
// number text or bool. False proves nothing: 5 and 5.0 are equal too.
func same(a, b any) bool {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case json.Number:
		y, ok := b.(json.Number)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	}
	return false
}

// normalize maps Go numbers to *big.Rat; ok is false for non-JSON types.
func normalize(v any) (any, bool) {
	switch t := v.(type) {
	case nil, string, bool, map[string]any, []any:
		return v, true
	case json.Number:
		r, ok := new(big.Rat).SetString(string(t))
		if !ok { // an exponent big.Rat refuses: compared as text, never equal to a string
			return numText(t), true
		}
		return r, true
	case float64:
		r := new(big.Rat)
		if r.SetFloat64(t) == nil {
			return nil, false
		}
		return r, true
	case float32:
		return normalize(float64(t))
	case int:
		return new(big.Rat).SetInt64(int64(t)), true
	case int8:
		return new(big.Rat).SetInt64(int64(t)), true
	case int16:
		return new(big.Rat).SetInt64(int64(t)), true
	case int32:
		return new(big.Rat).SetInt64(int64(t)), true
	case int64:
		return new(big.Rat).SetInt64(t), true
	case uint:
		return new(big.Rat).SetUint64(uint64(t)), true
	case uint8:
		return new(big.Rat).SetUint64(uint64(t)), true
	case uint16:
		return new(big.Rat).SetUint64(uint64(t)), true
	case uint32:
		return new(big.Rat).SetUint64(uint64(t)), true
	case uint64:
		return new(big.Rat).SetUint64(t), true
	}
	return nil, false
}

// numText is the text of a number big.Rat cannot hold (1e1000001).
type numText string

func equalNorm(a, b any) bool {
	switch x := a.(type) {
	case *big.Rat:
		y, ok := b.(*big.Rat)
		return ok && x.Cmp(y) == 0
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, va := range x {
			vb, ok := y[k]
			if !ok || !Equal(va, vb) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !Equal(x[i], y[i]) {
				return false
			}
		}
		return true
	default:
		if _, ok := b.(*big.Rat); ok {
			return false
		}
		if _, ok := b.(map[string]any); ok {
			return false
		}
		if _, ok := b.([]any); ok {
			return false
		}
		return a == b
	}
}
