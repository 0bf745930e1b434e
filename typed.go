package ifmatch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/ifmatch-go/ifmatch/internal/jsonx"
)

// This file holds the typed helpers: update loops for users who keep a
// struct in Task or Worker attributes or in Sync data. Their rules are in
// UpdateTaskAttributes's doc comment, where go doc shows them.

// UpdateTaskAttributes runs [TaskAPI.UpdateTask] with fn working on the
// Task's attributes decoded into a T (a struct with json tags). It returns
// the updated Task's attributes as a T, and the Task. It decodes the JSON
// object into a T, runs fn, and writes back only the keys whose values fn
// changed:
//
//   - keys that T does not know are preserved, so two services that each own
//     part of the attributes do not erase each other's fields;
//   - keys T knows but fn left alone are not written either (not even as
//     null or "" when the object lacked them), so a function that changes
//     nothing writes nothing and the call reports [Unchanged];
//   - numbers are decoded as json.Number into fields of type any,
//     map[string]any or []any, so a 19-digit ID keeps its exact value, as in
//     the untyped calls;
//   - an object that does not decode into a T (a string where T has an int)
//     fails the call before fn runs, and nothing is written; the error
//     matches [ErrBadResponse] and, since the decoding runs in the loop's
//     mutator, [ErrMutatorAborted] too (so [HTTPStatus] answers 422: check
//     ErrBadResponse first where stored data of the wrong shape deserves
//     another status).
//
// fn may run several times, as a [TaskMutator] does; a nil fn is an
// [ErrInvalidArgument]. The helpers take one-method interfaces
// ([TaskUpdater], [WorkerUpdater], [DocumentUpdater], [ListItemUpdater],
// [MapItemUpdater]), which the larger API interfaces, the Client's values and
// the in-memory implementations of package ifmatchtest satisfy, so code
// using them can be tested with a stub of that one method. The other
// typed helpers ([UpdateWorkerAttributes], [UpdateDocumentData],
// [UpdateListItemData], [UpdateMapItemData], [UpdateTaskWithAttributes],
// [UpdateWorkerWithAttributes]) follow the same rules.
func UpdateTaskAttributes[T any](ctx context.Context, api TaskUpdater, sid string, fn func(*T) error, opts ...UpdateOption) (*T, *Task, error) {
	return updateTyped(func(t *Task) *map[string]any { return &t.Attributes },
		func(m func(*Task) error) (*Task, error) { return api.UpdateTask(ctx, sid, m, opts...) }, fn)
}

// UpdateTaskWithAttributes runs [TaskAPI.UpdateTask] with fn getting both the
// Task and its attributes decoded into an A, so that a change of a Task field
// (Priority, AssignmentStatus…) and of the typed attributes goes out in one
// write. Changes fn makes to a are written back as [UpdateTaskAttributes]
// does, over whatever fn left in t.Attributes.
func UpdateTaskWithAttributes[A any](ctx context.Context, api TaskUpdater, sid string, fn func(t *Task, a *A) error, opts ...UpdateOption) (*Task, *A, error) {
	a, t, err := updateTypedWith(func(t *Task) *map[string]any { return &t.Attributes },
		func(m func(*Task) error) (*Task, error) { return api.UpdateTask(ctx, sid, m, opts...) }, fn)
	return t, a, err
}

// UpdateWorkerAttributes is [UpdateTaskAttributes] for a Worker.
func UpdateWorkerAttributes[T any](ctx context.Context, api WorkerUpdater, sid string, fn func(*T) error, opts ...UpdateOption) (*T, *Worker, error) {
	return updateTyped(func(w *Worker) *map[string]any { return &w.Attributes },
		func(m func(*Worker) error) (*Worker, error) { return api.UpdateWorker(ctx, sid, m, opts...) }, fn)
}

// UpdateWorkerWithAttributes is [UpdateTaskWithAttributes] for a Worker: fn
// may change the Worker's activity or name and its typed attributes in one
// write.
func UpdateWorkerWithAttributes[A any](ctx context.Context, api WorkerUpdater, sid string, fn func(w *Worker, a *A) error, opts ...UpdateOption) (*Worker, *A, error) {
	a, w, err := updateTypedWith(func(w *Worker) *map[string]any { return &w.Attributes },
		func(m func(*Worker) error) (*Worker, error) { return api.UpdateWorker(ctx, sid, m, opts...) }, fn)
	return w, a, err
}

// UpdateDocumentData is [UpdateTaskAttributes] for a Sync Document's data.
func UpdateDocumentData[T any](ctx context.Context, api DocumentUpdater, doc string, fn func(*T) error, opts ...UpdateOption) (*T, *Document, error) {
	return updateTyped(func(d *Document) *map[string]any { return &d.Data },
		func(m func(*Document) error) (*Document, error) { return api.UpdateDocument(ctx, doc, m, opts...) }, fn)
}

// UpdateMapItemData is [UpdateTaskAttributes] for a Sync Map item's data.
func UpdateMapItemData[T any](ctx context.Context, api MapItemUpdater, m, key string, fn func(*T) error, opts ...UpdateOption) (*T, *MapItem, error) {
	return updateTyped(func(it *MapItem) *map[string]any { return &it.Data },
		func(mu func(*MapItem) error) (*MapItem, error) { return api.UpdateMapItem(ctx, m, key, mu, opts...) }, fn)
}

// UpdateListItemData is [UpdateTaskAttributes] for a Sync List item's data.
func UpdateListItemData[T any](ctx context.Context, api ListItemUpdater, list string, index int, fn func(*T) error, opts ...UpdateOption) (*T, *ListItem, error) {
	return updateTyped(func(it *ListItem) *map[string]any { return &it.Data },
		func(m func(*ListItem) error) (*ListItem, error) {
			return api.UpdateListItem(ctx, list, index, m, opts...)
		}, fn)
}

// updateTyped runs an update loop (run) whose mutator decodes the resource's
// JSON object (obj) into a T for fn, and returns the result decoded again.
func updateTyped[T, R any](obj func(*R) *map[string]any, run func(func(*R) error) (*R, error), fn func(*T) error) (*T, *R, error) {
	if fn == nil {
		return nil, nil, fmt.Errorf("%w: nil mutator", ErrInvalidArgument)
	}
	return updateTypedWith(obj, run, func(_ *R, v *T) error { return fn(v) })
}

// updateTypedWith is updateTyped for a function that also gets the resource.
func updateTypedWith[T, R any](obj func(*R) *map[string]any, run func(func(*R) error) (*R, error), fn func(*R, *T) error) (*T, *R, error) {
	if fn == nil {
		return nil, nil, fmt.Errorf("%w: nil mutator", ErrInvalidArgument)
	}
	r, err := run(func(res *R) error {
		v, before, err := decodeTyped[T](*obj(res))
		if err != nil {
			return err
		}
		if err := fn(res, v); err != nil {
			return err
		}
		return writeBackTyped(obj(res), v, before)
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

// decodeInto decodes a JSON object into a new T, numbers in untyped fields
// as json.Number.
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
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return nil, fmt.Errorf("%w: the stored JSON object does not fit %T (the type given to a typed helper): %v", ErrBadResponse, v, err)
	}
	return v, nil
}

// decodeTyped decodes obj into a T and returns it with its own encoding, the
// baseline writeBackTyped compares with.
func decodeTyped[T any](obj map[string]any) (*T, map[string]any, error) {
	v, err := decodeInto[T](obj)
	if err != nil {
		return nil, nil, err
	}
	before, err := encodeObject(v)
	if err != nil {
		return nil, nil, err
	}
	return v, before, nil
}

// writeBackTyped writes over *obj the keys whose values differ between v's
// encoding and before: a changed or new key is set, a key v no longer
// encodes is removed, and every other key stays as it was.
func writeBackTyped[T any](obj *map[string]any, v *T, before map[string]any) error {
	after, err := encodeObject(v)
	if err != nil {
		return err
	}
	var out map[string]any
	set := func(k string, val any, del bool) {
		if out == nil {
			out = jsonx.CloneMap(*obj)
			if out == nil {
				out = map[string]any{}
			}
		}
		if del {
			delete(out, k)
		} else {
			out[k] = val
		}
	}
	for k, a := range after {
		if b, ok := before[k]; !ok || !jsonx.Equal(a, b) {
			set(k, a, false)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			set(k, nil, true)
		}
	}
	if out != nil {
		*obj = out
	}
	return nil
}

// encodeObject encodes v as a JSON object decoded with exact numbers.
func encodeObject(v any) (map[string]any, error) {
	enc, err := jsonx.Encode(v)
	if err != nil {
		return nil, fmt.Errorf("%w: encoding %T: %v", ErrInvalidArgument, v, err)
	}
	m, err := jsonx.DecodeObject(enc)
	if err != nil {
		return nil, fmt.Errorf("%w: %T does not encode to a JSON object", ErrInvalidArgument, v)
	}
	return m, nil
}
