package ifmatchtest

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// ETagStyle is how the fake spells a resource's version in its ETag header
// (and in a Sync object's revision field). Whatever the style, the fake keeps
// an integer version per resource internally (see [Commit]); the style only
// changes what a client sees and must send back in If-Match.
type ETagStyle int

// The ETag styles. Every resource that has an ETag (Tasks, Workers,
// reservations, Sync Documents, List Items and Map Items) uses the Fake's
// style.
const (
	// QuotedIntETags is Twilio's: the version as a quoted integer, "0", "1",
	// "2"… The default. If-Match is accepted quoted or bare.
	QuotedIntETags ETagStyle = iota
	// BareIntETags sends the version as an unquoted integer: 0, 1, 2… as some
	// proxies and older endpoints do. If-Match is accepted quoted or bare.
	BareIntETags
	// HexETags sends an opaque quoted hex string per version ("9f3c01d2…"),
	// with no order a client could infer.
	HexETags
	// DecimalETags sends an opaque quoted string of random digits per version
	// ("8302174496", "51"…): it looks like Twilio's integers but is not
	// ordered, so a client that compares such ETags as numbers is wrong.
	DecimalETags
)

// String returns the style's name, as used in test names.
func (s ETagStyle) String() string {
	switch s {
	case QuotedIntETags:
		return "quoted"
	case BareIntETags:
		return "bare"
	case HexETags:
		return "hex"
	case DecimalETags:
		return "decimal"
	}
	return "ETagStyle(" + strconv.Itoa(int(s)) + ")"
}

// ETagStyles lists every style, for tests that range over them.
var ETagStyles = []ETagStyle{QuotedIntETags, BareIntETags, HexETags, DecimalETags}

// WithETagStyle sets how the fake spells ETags; the default is
// [QuotedIntETags].
func WithETagStyle(s ETagStyle) Option { return func(f *Fake) { f.etagStyle = s } }

// revision returns the unquoted token of a resource's version: what a Sync
// object's revision field holds and what its ETag quotes. id names the
// resource (its SID or store key), so that opaque tokens differ between
// resources.
func (f *Fake) revision(id string, version int) string {
	switch f.etagStyle {
	case HexETags:
		// A bijection of the version for this resource: unique, unordered.
		return fmt.Sprintf("%016x", mix64(uint64(version)^f.idSalt(id)))
	case DecimalETags:
		// A bijection on 32 bits: up to 10 digits, fits any integer type,
		// unique per version of the resource and in no particular order.
		return strconv.FormatUint(uint64(mix32(uint32(version)^uint32(f.idSalt(id)))), 10)
	}
	return strconv.Itoa(version)
}

// etag returns the ETag header value of a resource's version.
func (f *Fake) etag(id string, version int) string {
	if f.etagStyle == BareIntETags {
		return f.revision(id, version)
	}
	return `"` + f.revision(id, version) + `"`
}

// etagMatches compares an If-Match value with a resource's version: the
// quoted or bare token of the version matches, as does "*"; a weak validator
// (W/…) never does, since If-Match uses strong comparison.
func (f *Fake) etagMatches(ifMatch, id string, version int) bool {
	v := strings.TrimSpace(ifMatch)
	if v == "*" {
		return true
	}
	if strings.HasPrefix(v, "W/") {
		return false
	}
	return strings.Trim(v, `"`) == f.revision(id, version)
}

// idSalt derives a per-resource salt from the Fake's salt and the id.
func (f *Fake) idSalt(id string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	return h.Sum64() ^ f.etagSalt
}

// mix64 is splitmix64's finalizer, a bijection on uint64.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// mix32 is murmur3's finalizer, a bijection on uint32.
func mix32(x uint32) uint32 {
	x ^= x >> 16
	x *= 0x85ebca6b
	x ^= x >> 13
	x *= 0xc2b2ae35
	return x ^ x>>16
}
