package inputcheck

import (
	"fmt"
	"time"
)

// MaxSyncTTL is the longest time-to-live Sync accepts: 31,536,000 s, one
// year (Twilio error 54011, "Invalid TTL"; the spec's TTL descriptions
// point to Sync's limits page for it).
const MaxSyncTTL = 365 * 24 * time.Hour

// SyncTTLs are the time-to-live fields of one Sync write (nil: not sent).
type SyncTTLs struct {
	TTL, ItemTTL, CollectionTTL *time.Duration
}

// CheckSyncTTLs reports, wrapping invalid (the caller's ErrInvalidArgument),
// TTL fields a Sync write may not send: ItemTTL or CollectionTTL on a
// Document (item false); a TTL that is negative, not whole seconds or over
// [MaxSyncTTL]; TTL together with ItemTTL (the spec's Ttl is an alias of
// ItemTtl, ignored when both are sent); CollectionTTL without Data, TTL or
// ItemTTL in the same write (the spec: it "can only be used when the
// item's data or ttl is updated in the same request").
func CheckSyncTTLs(invalid error, t SyncTTLs, item, data bool) error {
	for _, f := range []struct {
		name string
		d    *time.Duration
	}{{"TTL", t.TTL}, {"ItemTTL", t.ItemTTL}, {"CollectionTTL", t.CollectionTTL}} {
		switch d := f.d; {
		case d == nil:
		case !item && f.name != "TTL":
			return fmt.Errorf("%w: SyncWrite.%s applies to List and Map items only", invalid, f.name)
		case *d < 0 || *d%time.Second != 0:
			return fmt.Errorf("%w: SyncWrite.%s must be a non-negative whole number of seconds, got %s", invalid, f.name, *d)
		case *d > MaxSyncTTL:
			return fmt.Errorf("%w: SyncWrite.%s %s is over Sync's maximum of one year (%d s)", invalid, f.name, *d, int64(MaxSyncTTL/time.Second))
		}
	}
	if t.TTL != nil && t.ItemTTL != nil {
		return fmt.Errorf("%w: SyncWrite.TTL and SyncWrite.ItemTTL both set the item's time-to-live (Twilio would ignore TTL); give one", invalid)
	}
	if t.CollectionTTL != nil && !data && t.TTL == nil && t.ItemTTL == nil {
		return fmt.Errorf("%w: SyncWrite.CollectionTTL can only be sent with Data, TTL or ItemTTL in the same write (the spec's UpdateSyncListItem/UpdateSyncMapItem)", invalid)
	}
	return nil
}
