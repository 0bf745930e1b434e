package ifmatch

import (
	"fmt"
	"unicode/utf8"

	"github.com/ifmatch-go/ifmatch/internal/marker"
)

// This file holds idempotency keys: exactly-once application of a mutation
// per event (a TaskRouter event callback, a queue message, a retried
// webhook), however often and however concurrently the event is delivered.

// AlreadyApplied means the call's [IdempotencyKey] was found in the
// resource: the mutation had been applied before (by an earlier delivery of
// the same event, in this process or another), so nothing was written.
const AlreadyApplied OperationResult = "already applied"

// IdempotencyKeysField is the attribute (or Sync data) key under which
// [IdempotencyKey] records the keys of the updates applied.
const IdempotencyKeysField = "_ifmatch_keys"

// MaxIdempotencyKeys bounds how many keys a resource remembers; the oldest go
// first. MaxIdempotencyKeyLen bounds one key, in bytes.
const (
	MaxIdempotencyKeys   = 64
	MaxIdempotencyKeyLen = 64
)

// IdempotencyKey makes the update apply at most once per key: the key (an
// event's ID, a message ID) is recorded in the resource's attributes (Tasks,
// Workers) or data (Sync) with the write that applies the mutation, in the
// same conditional write, under [IdempotencyKeysField]. A call whose key is
// already there applies nothing, writes nothing, returns the resource and a
// nil error, and reports [AlreadyApplied] (see [ReportResult]).
//
// Because the check and the record travel in one If-Match write, it holds
// across goroutines, clients and processes, and for concurrent deliveries:
// of two writes based on the same version only one lands, and the other's
// re-read finds the key. It also makes the call idempotent, so the loop
// treats it as [Idempotent]: after a write whose answer was lost, the
// re-read settles it (the key there: done; not there: apply again).
//
// The history is bounded: the last [MaxIdempotencyKeys] (64) keys of each
// resource are kept. A redelivery is recognised as long as fewer than 64
// other keyed updates of the same resource landed since the first delivery;
// after that it is applied again. For a Task that sees a few events in its
// life that is never reached; for a Sync Document fed 10 keyed updates a
// second it is about 6 seconds of redelivery window, too short for most
// queues: key such streams per item instead. The history costs the key's
// length plus 3 bytes per key, at most 64 × 67 ≈ 4.3 KB (Sync data is
// limited to 16 KiB), about 2.4 KB with 34-character event SIDs.
//
// A mutator that changes nothing records nothing (no write; [Unchanged]), so
// a later delivery of the same event is applied if by then it changes
// something. The history is hidden from the mutator and from the returned
// values (a value the mutator sets under [IdempotencyKeysField] is replaced
// by the history); readers without the option see it as an ordinary
// attribute, and a writer that replaces the whole attributes erases it: the
// guarantee holds only while every writer of the resource (a twilio-go
// service, a Flex plugin, the Console) keeps that key. key must be 1 to 64
// bytes of valid UTF-8. Reservations have no JSON object to keep it in: the
// option is an [ErrInvalidArgument] there, as it is among a Client's
// defaults ([WithUpdateDefaults]: every call would share one key). Given
// twice to one call, the last key is the one used.
//
// The history is per resource. An event that changes several resources (a
// Task, then its Worker, then a Sync Map item) passes its key to each call,
// and a redelivery runs every call again rather than stopping at the first
// that reports [AlreadyApplied]: the first delivery may have failed after
// that call, before the others.
func IdempotencyKey(key string) UpdateOption {
	return func(u *updateConfig) { u.eventKey, u.hasEventKey = key, true }
}

// withEventKey wraps mutate for [IdempotencyKey]: a resource whose history
// holds key is left as it is (and *seen set); otherwise mutate runs with the
// history hidden, and key is added to it when mutate changed anything.
func withEventKey[T any](ops *resourceOps[T], key string, mutate func(*T) error, seen *bool) (func(*T) error, error) {
	if ops.obj == nil {
		return nil, fmt.Errorf("%w: IdempotencyKey needs a resource with attributes or data", ErrInvalidArgument)
	}
	if err := checkEventKey(key); err != nil {
		return nil, err
	}
	return func(v *T) error {
		obj := ops.obj(v)
		hist, had := (*obj)[IdempotencyKeysField]
		if marker.Has(hist, key) {
			*seen = true
			return nil
		}
		*seen = false
		delete(*obj, IdempotencyKeysField)
		before := ops.clone(v)
		if err := mutate(v); err != nil {
			return err
		}
		obj = ops.obj(v)
		if *obj == nil {
			*obj = map[string]any{}
		}
		if form, err := ops.diff(before, v); err == nil && len(form) == 0 {
			if had { // nothing to apply: leave the history as it was
				(*obj)[IdempotencyKeysField] = hist
			}
			return nil
		}
		(*obj)[IdempotencyKeysField] = marker.Append(hist, key, MaxIdempotencyKeys)
		return nil
	}, nil
}

// hideEventKeys returns v without the idempotency key history.
func hideEventKeys[T any](ops *resourceOps[T], v *T) *T {
	if v == nil || ops.obj == nil {
		return v
	}
	if _, ok := (*ops.obj(v))[IdempotencyKeysField]; !ok {
		return v
	}
	cp := ops.clone(v)
	delete(*ops.obj(cp), IdempotencyKeysField)
	return cp
}

// checkEventKey refuses an idempotency key that is empty, too long or not UTF-8.
func checkEventKey(key string) error {
	if key == "" || len(key) > MaxIdempotencyKeyLen || !utf8.ValidString(key) {
		return fmt.Errorf("%w: an idempotency key must be 1 to %d bytes of UTF-8, got %d bytes",
			ErrInvalidArgument, MaxIdempotencyKeyLen, len(key))
	}
	return nil
}
