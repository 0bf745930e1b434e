package ifmatch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// identity is what a 2xx body about one resource must carry to be about the
// resource its request names: a body that lacks it, or names another
// resource, is not an answer to the request (see readOne).
type identity struct {
	field  string // the JSON field naming the resource: "sid", "index" or "key"; "" for none known
	prefix string // for "sid": the SID's two letters
	want   string // the value the request names; "" for a create without one, or a list page
	byName bool   // want may be a Sync Document's unique name (carried in unique_name), or its SID
}

// collections maps each collection this package reads or writes to the
// identity of its members.
var collections = map[string]identity{
	"Tasks":        {field: "sid", prefix: "WT"},
	"Workers":      {field: "sid", prefix: "WK"},
	"Reservations": {field: "sid", prefix: "WR"},
	"Documents":    {field: "sid", prefix: "ET"},
	"Lists/Items":  {field: "index"},
	"Maps/Items":   {field: "key"},
}

// identityOf returns the identity an answer to r must carry. Every path this
// package builds alternates fixed names (at indexes 0, 1, 3, 5) with SIDs,
// names, indexes or keys, so the collection is read at a fixed position:
//
//	v1/Workspaces/WS…/{Tasks,Workers}[/sid[/Reservations[/WR…]]]
//	v1/Services/IS…/Documents[/sid-or-unique-name]
//	v1/Services/IS…/{Lists,Maps}/list/Items[/index-or-key]
//
// A path naming a member names the identity wanted; a collection (a create,
// a list page) names none, except a Map item's create, whose form names its
// key. An unknown shape has no field: the body must still be a JSON object.
func identityOf(r *request) identity {
	p := r.path
	var coll string
	n := 4 // the length of the collection's path
	switch {
	case len(p) >= 6 && (p[5] == "Reservations" || p[5] == "Items"):
		coll, n = p[5], 6
		if coll == "Items" {
			coll = p[3] + "/Items"
		}
	case len(p) >= 4:
		coll = p[3]
	}
	id, ok := collections[coll]
	switch {
	case !ok || len(p) > n+1:
		return identity{}
	case len(p) == n+1:
		id.want = p[n]
	case id.field == "key":
		id.want = r.form.Get("Key")
	}
	id.byName = id.prefix == "ET" && id.want != "" && !twilioSID(id.want)
	return id
}

// twilioSID reports whether s matches Twilio's SID pattern, two capitals
// and 32 lower-case hex digits: Twilio refuses such unique names (error
// 54302), so anything else in a Sync path ("ETABC…" included) may be one.
func twilioSID(s string) bool {
	return len(s) == 34 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' &&
		validSID(s[:2], s) && s[2:] == strings.ToLower(s[2:])
}

// stableName reports whether path names one resource for ever, so that an
// ETag cached for it can never match another resource: every name in it is
// a SID, or a List item's index under a List SID (indexes are not reused).
// A Sync unique name or Map key can name a new resource after a delete, whose
// revisions start again from the first, so the ETag of the old one could
// match the new one (ABA) and a write built on the old copy would land on
// it.
func stableName(path []string) bool {
	for i := 2; i < len(path); i += 2 {
		switch seg := path[i]; {
		case i == 6 && path[3] == "Maps":
			return false // a key
		case i == 6 && path[3] == "Lists":
			// an index
		case path[1] == "Services" && !twilioSID(seg), len(seg) < 2 || !validSID(seg[:2], seg):
			return false
		}
	}
	return true
}

// readOne decodes a 2xx body of one resource with dec, after checking that it
// is a JSON object, and then that it names the resource id names. It returns
// why the body is unusable, or "", and whether the body names another
// resource of the collection (whose version, not ours, its ETag is).
func readOne[T any](id identity, body []byte, etag string, dec func([]byte, string) (*T, error)) (*T, string, bool) {
	b := bytes.TrimSpace(body)
	switch {
	case len(b) == 0:
		return nil, "empty body", false
	case b[0] != '{' && json.Valid(b):
		return nil, "the body is " + jsonKind(b[0]) + ", not a JSON object", false
	}
	v, err := dec(body, etag)
	if err != nil {
		return nil, "decoding: " + err.Error(), false
	}
	if why := id.checkDecoded(v, b); why != "" {
		return nil, why, identity{field: id.field, prefix: id.prefix}.checkDecoded(v, b) == ""
	}
	return v, "", false
}

// checkDecoded is check on the decoded resource where its fields tell a
// missing identity from a present one (a SID or key is never ""), which
// spares a second parse of the body; a List item (whose index 0 is also
// the zero value) and any other type go through check.
func (id identity) checkDecoded(v any, b []byte) string {
	switch r := v.(type) {
	case *Task:
		return id.checkNamed(r.SID, "")
	case *Worker:
		return id.checkNamed(r.SID, "")
	case *Reservation:
		return id.checkNamed(r.SID, "")
	case *Document:
		return id.checkNamed(r.SID, r.UniqueName)
	case *MapItem:
		return id.checkNamed("", r.Key)
	}
	return id.check(b)
}

// checkNamed checks the identity id names against a resource's sid, and its
// unique name or Map key ("": absent).
func (id identity) checkNamed(sid, name string) string {
	switch id.field {
	case "sid":
		return id.checkSID(sid, name)
	case "key":
		return id.checkKey(name)
	}
	return ""
}

// jsonKind names the kind of a JSON value that is not an object, from its
// first byte.
func jsonKind(c byte) string {
	switch c {
	case 'n':
		return "null"
	case '[':
		return "a JSON array"
	case '"':
		return "a JSON string"
	case 't', 'f':
		return "a JSON boolean"
	}
	return "a JSON number"
}

// check returns why the JSON object b does not name the resource id
// names, or "". Only the fields id needs are decoded.
func (id identity) check(b []byte) string {
	var raw struct {
		SID        json.RawMessage `json:"sid"`
		UniqueName json.RawMessage `json:"unique_name"`
		Index      json.RawMessage `json:"index"`
		Key        json.RawMessage `json:"key"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return "decoding: " + err.Error()
	}
	switch id.field {
	case "sid":
		return id.checkSID(rawString(raw.SID), rawString(raw.UniqueName))
	case "index":
		var n *int
		switch {
		case json.Unmarshal(raw.Index, &n) != nil || n == nil:
			return "the body has no index (an integer)" + id.asked()
		case *n < 0:
			return fmt.Sprintf("index %d is negative", *n)
		case id.want != "" && strconv.Itoa(*n) != id.want:
			return fmt.Sprintf("index %d, but %s was asked for", *n, id.want)
		}
	case "key":
		return id.checkKey(rawString(raw.Key))
	}
	return ""
}

// rawString decodes a JSON string, "" for anything else (absent, null, not
// a string).
func rawString(b json.RawMessage) string {
	var s string
	if json.Unmarshal(b, &s) != nil {
		return ""
	}
	return s
}

// checkKey is check for a Map item, named by its key ("": absent).
func (id identity) checkKey(k string) string {
	switch {
	case k == "":
		return "the body has no key" + id.asked()
	case id.want != "" && k != id.want:
		return fmt.Sprintf("key %q, but %q was asked for", truncate(k), truncate(id.want))
	}
	return ""
}

// checkSID is check for a resource named by its SID (or, for a Sync
// Document asked for by what may be a unique name, by that SID or name, and
// a well-formed SID); "" is an absent sid or name.
func (id identity) checkSID(sid, name string) string {
	switch {
	case sid == "":
		return "the body has no sid" + id.asked()
	case !validSID(id.prefix, sid):
		return fmt.Sprintf("sid %q is not a %s SID", truncate(sid), id.prefix)
	case id.want == "" || strings.EqualFold(sid, id.want):
		return ""
	case id.byName && name != "" && name == id.want:
		return ""
	case !id.byName:
		return fmt.Sprintf("sid %q, but %q was asked for", sid, truncate(id.want))
	case name == "":
		return "the body has no unique_name" + id.asked()
	}
	return fmt.Sprintf("unique_name %q, but %q was asked for", truncate(name), truncate(id.want))
}

// asked names the value the request asked for, for a message about a body
// that lacks it.
func (id identity) asked() string {
	if id.want == "" {
		return ""
	}
	return fmt.Sprintf(", but %q was asked for", truncate(id.want))
}
