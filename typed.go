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
	return updateTyped(func(t *Task) *map[string]any { return &t.Attributes },
		func(m func(*Task) error) (*Task, error) { return ws.UpdateTask(ctx, sid, m, opts...) }, fn)
}

// UpdateWorkerAttributes is [UpdateTaskAttributes] for a Worker.
func UpdateWorkerAttributes[T any](ctx context.Context, ws Workspace, sid string, fn func(*T) error, opts ...UpdateOption) (*T, *Worker, error) {
	return updateTyped(func(w *Worker) *map[string]any { return &w.Attributes },
		func(m func(*Worker) error) (*Worker, error) { return ws.UpdateWorker(ctx, sid, m, opts...) }, fn)
}

// UpdateDocumentData is [UpdateTaskAttributes] for a Sync Document's data.
func UpdateDocumentData[T any](ctx context.Context, s SyncService, doc string, fn func(*T) error, opts ...UpdateOption) (*T, *Document, error) {
	return updateTyped(func(d *Document) *map[string]any { return &d.Data },
		func(m func(*Document) error) (*Document, error) { return s.UpdateDocument(ctx, doc, m, opts...) }, fn)
}

// UpdateMapItemData is [UpdateTaskAttributes] for a Sync Map item's data.
func UpdateMapItemData[T any](ctx context.Context, s SyncService, m, key string, fn func(*T) error, opts ...UpdateOption) (*T, *MapItem, error) {
	return updateTyped(func(it *MapItem) *map[string]any { return &it.Data },
		func(mu func(*MapItem) error) (*MapItem, error) { return s.UpdateMapItem(ctx, m, key, mu, opts...) }, fn)
}

// UpdateListItemData is [UpdateTaskAttributes] for a Sync List item's data.
func UpdateListItemData[T any](ctx context.Context, s SyncService, list string, index int, fn func(*T) error, opts ...UpdateOption) (*T, *ListItem, error) {
	return updateTyped(func(it *ListItem) *map[string]any { return &it.Data },
		func(m func(*ListItem) error) (*ListItem, error) {
			return s.UpdateListItem(ctx, list, index, m, opts...)
		}, fn)
}

// updateTyped runs an update loop (run) whose mutator decodes the resource's
// JSON object (obj) into a T for fn, and returns the result decoded again.
func updateTyped[T, R any](obj func(*R) *map[string]any, run func(func(*R) error) (*R, error), fn func(*T) error) (*T, *R, error) {
	r, err := run(func(v *R) error {
		_, err := mutateTyped(obj(v), fn)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	t, err := decodeInto[T](*obj(r))
	if err != nil {
		return nil, r, err
	}
	return t, r, nil
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
