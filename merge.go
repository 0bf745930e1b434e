package ifmatch

import (
	"context"
	"fmt"

	"github.com/ifmatch-go/ifmatch/internal/jsonx"
)

// This file holds merge patches (RFC 7386, JSON Merge Patch) for the
// resources with a JSON object: Task and Worker attributes, Sync data. It is
// how Twilio's own Flex code updates attributes, here inside the update loop:
//
//   - a key whose patch value is nil (JSON null) is removed;
//   - a patch value that is an object is merged into the object there,
//     recursively (a key holding something else is replaced by the merge of
//     the patch into {});
//   - any other value (a string, a number, an array) replaces the key's value:
//     arrays are replaced whole, never merged.
//
// The patch is encoded as JSON first, so it may hold any Go values that
// encode to JSON (structs, ints…); numbers are kept exactly. Applying a patch
// twice gives what applying it once gives, so the loop treats the calls as
// [Idempotent]: after a write whose answer was lost, it re-reads and applies
// again, and the diff finds nothing more to do. A patch that changes nothing
// writes nothing ([Unchanged]).

// MergeTaskAttributes merges patch into the Task's attributes (RFC 7386) in
// an update loop and returns the updated Task.
func MergeTaskAttributes(ctx context.Context, api TaskUpdater, sid string, patch map[string]any, opts ...UpdateOption) (*Task, error) {
	p, err := normalizePatch(patch)
	if err != nil {
		return nil, err
	}
	return api.UpdateTask(ctx, sid, func(t *Task) error { t.Attributes = mergeObject(t.Attributes, p); return nil },
		mergeOpts(opts)...)
}

// MergeWorkerAttributes is [MergeTaskAttributes] for a Worker.
func MergeWorkerAttributes(ctx context.Context, api WorkerUpdater, sid string, patch map[string]any, opts ...UpdateOption) (*Worker, error) {
	p, err := normalizePatch(patch)
	if err != nil {
		return nil, err
	}
	return api.UpdateWorker(ctx, sid, func(w *Worker) error { w.Attributes = mergeObject(w.Attributes, p); return nil },
		mergeOpts(opts)...)
}

// MergeDocumentData is [MergeTaskAttributes] for a Sync Document's data.
func MergeDocumentData(ctx context.Context, api DocumentUpdater, doc string, patch map[string]any, opts ...UpdateOption) (*Document, error) {
	p, err := normalizePatch(patch)
	if err != nil {
		return nil, err
	}
	return api.UpdateDocument(ctx, doc, func(d *Document) error { d.Data = mergeObject(d.Data, p); return nil },
		mergeOpts(opts)...)
}

// MergeListItemData is [MergeTaskAttributes] for a Sync List item's data.
func MergeListItemData(ctx context.Context, api ListItemUpdater, list string, index int, patch map[string]any, opts ...UpdateOption) (*ListItem, error) {
	p, err := normalizePatch(patch)
	if err != nil {
		return nil, err
	}
	return api.UpdateListItem(ctx, list, index, func(it *ListItem) error { it.Data = mergeObject(it.Data, p); return nil },
		mergeOpts(opts)...)
}

// MergeMapItemData is [MergeTaskAttributes] for a Sync Map item's data.
func MergeMapItemData(ctx context.Context, api MapItemUpdater, m, key string, patch map[string]any, opts ...UpdateOption) (*MapItem, error) {
	p, err := normalizePatch(patch)
	if err != nil {
		return nil, err
	}
	return api.UpdateMapItem(ctx, m, key, func(it *MapItem) error { it.Data = mergeObject(it.Data, p); return nil },
		mergeOpts(opts)...)
}

func mergeOpts(opts []UpdateOption) []UpdateOption {
	return append([]UpdateOption{Idempotent()}, opts...)
}

// normalizePatch turns patch into decoded JSON (json.Number numbers).
func normalizePatch(patch map[string]any) (map[string]any, error) {
	if patch == nil {
		return map[string]any{}, nil
	}
	enc, err := jsonx.Encode(patch)
	if err != nil {
		return nil, fmt.Errorf("%w: the merge patch cannot be encoded as JSON: %v", ErrInvalidArgument, err)
	}
	m, err := jsonx.DecodeObject(enc)
	if err != nil {
		return nil, fmt.Errorf("%w: the merge patch is not a JSON object: %v", ErrInvalidArgument, err)
	}
	return m, nil
}

// mergeObject applies an object patch to target (which it may change) and
// returns the result.
func mergeObject(target, patch map[string]any) map[string]any {
	if target == nil {
		target = map[string]any{}
	}
	for k, v := range patch {
		if v == nil {
			delete(target, k)
			continue
		}
		target[k] = mergePatch(target[k], v)
	}
	return target
}

// mergePatch is RFC 7386's MergePatch(Target, Patch) on decoded JSON; the
// result shares no maps or slices with patch.
func mergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return jsonx.Clone(patch)
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = nil
	}
	return mergeObject(t, p)
}
