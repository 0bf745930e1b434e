package ifmatch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/ifmatch-go/ifmatch/internal/jsonx"
)

// This file holds the typed helpers: update loops for users who keep a
// struct in Task or Worker attributes or in Sync data. Each decodes the JSON
// object into a T, runs fn, and encodes T back over the object. Keys that T
// does not know are preserved, so two services that each own part of the
// attributes do not erase each other's fields.

// UpdateTaskAttributes runs [Workspace.UpdateTask] with fn working on the
// Task's attributes decoded into a T (a struct with json tags). It returns
// the updated Task and its attributes as a T.
func UpdateTaskAttributes[T any](ctx context.Context, ws Workspace, sid string, fn func(*T) error, opts ...UpdateOption) (*T, *Task, error) {
	var out *T
	task, err := ws.UpdateTask(ctx, sid, func(t *Task) error {
		v, err := mutateTyped(&t.Attributes, fn)
		out = v
		return err
	}, opts...)
	if err != nil {
		return nil, nil, err
	}
	return typedResult(out, task.Attributes, task)
}

// UpdateWorkerAttributes is [UpdateTaskAttributes] for a Worker.
func UpdateWorkerAttributes[T any](ctx context.Context, ws Workspace, sid string, fn func(*T) error, opts ...UpdateOption) (*T, *Worker, error) {
	var out *T
	w, err := ws.UpdateWorker(ctx, sid, func(w *Worker) error {
		v, err := mutateTyped(&w.Attributes, fn)
		out = v
		return err
	}, opts...)
	if err != nil {
		return nil, nil, err
	}
	return typedResult(out, w.Attributes, w)
}

// UpdateDocumentData is [UpdateTaskAttributes] for a Sync Document's data.
func UpdateDocumentData[T any](ctx context.Context, s SyncService, doc string, fn func(*T) error, opts ...UpdateOption) (*T, *Document, error) {
	var out *T
	d, err := s.UpdateDocument(ctx, doc, func(d *Document) error {
		v, err := mutateTyped(&d.Data, fn)
		out = v
		return err
	}, opts...)
	if err != nil {
		return nil, nil, err
	}
	return typedResult(out, d.Data, d)
}

// UpdateMapItemData is [UpdateTaskAttributes] for a Sync Map item's data.
func UpdateMapItemData[T any](ctx context.Context, s SyncService, m, key string, fn func(*T) error, opts ...UpdateOption) (*T, *MapItem, error) {
	var out *T
	it, err := s.UpdateMapItem(ctx, m, key, func(it *MapItem) error {
		v, err := mutateTyped(&it.Data, fn)
		out = v
		return err
	}, opts...)
	if err != nil {
		return nil, nil, err
	}
	return typedResult(out, it.Data, it)
}

// UpdateListItemData is [UpdateTaskAttributes] for a Sync List item's data.
func UpdateListItemData[T any](ctx context.Context, s SyncService, list string, index int, fn func(*T) error, opts ...UpdateOption) (*T, *ListItem, error) {
	var out *T
	it, err := s.UpdateListItem(ctx, list, index, func(it *ListItem) error {
		v, err := mutateTyped(&it.Data, fn)
		out = v
		return err
	}, opts...)
	if err != nil {
		return nil, nil, err
	}
	return typedResult(out, it.Data, it)
}

// typedResult decodes the final object into a T when the loop wrote nothing
// (fn's value is then still the right answer, but decoding keeps one path).
func typedResult[T any, R any](_ *T, obj map[string]any, r *R) (*T, *R, error) {
	v, err := decodeInto[T](obj)
	if err != nil {
		return nil, r, err
	}
	return v, r, nil
}

func decodeInto[T any](obj map[string]any) (*T, error) {
	v := new(T)
	if obj == nil {
		return v, nil
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("%w: encoding object: %v", ErrInvalidArgument, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return nil, fmt.Errorf("%w: decoding into %T: %v", ErrBadResponse, v, err)
	}
	return v, nil
}

// mutateTyped decodes *obj into a T, runs fn, and writes T's fields back over
// *obj: keys T knows are replaced (or removed when T omits them); the rest
// stay as they were.
func mutateTyped[T any](obj *map[string]any, fn func(*T) error) (*T, error) {
	v, err := decodeInto[T](*obj)
	if err != nil {
		return nil, err
	}
	if err := fn(v); err != nil {
		return nil, err
	}
	enc, err := jsonx.Encode(v)
	if err != nil {
		return nil, fmt.Errorf("%w: encoding %T: %v", ErrInvalidArgument, v, err)
	}
	decoded, err := jsonx.DecodeObject(enc)
	if err != nil {
		return nil, fmt.Errorf("%w: %T does not encode to a JSON object", ErrInvalidArgument, v)
	}
	out := jsonx.CloneMap(*obj)
	if out == nil {
		out = map[string]any{}
	}
	for k := range jsonFieldNames(reflect.TypeOf(v).Elem()) {
		delete(out, k)
	}
	for k, val := range decoded {
		out[k] = val
	}
	*obj = out
	return v, nil
}

// jsonFieldNames returns the JSON object keys a struct type encodes, with
// embedded structs flattened; nil for non-struct types.
func jsonFieldNames(t reflect.Type) map[string]bool {
	names := map[string]bool{}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return names
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			for k := range jsonFieldNames(f.Type) {
				names[k] = true
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		names[name] = true
	}
	return names
}
