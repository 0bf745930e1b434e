package ifmatchtest

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ifmatch-go/ifmatch/internal/jsonx"
)

// syncObj is a stored Sync Document, List Item or Map Item.
type syncObj struct {
	kind       string // "Documents", "Lists" or "Maps"
	svc        string
	container  string // the List's or Map's SID; "" for Documents
	sid        string // Documents
	uniqueName string // Documents
	index      int    // List items
	key        string // Map items
	version    int
	data       string
	created    time.Time
	updated    time.Time
	expires    time.Time
}

// Sync's revision-mismatch codes, from Twilio's error dictionary: 54103
// (Document), 54155 (List Item) and 54205 (Map Item).
var syncMismatch = map[string]int{"Documents": 54103, "Lists": 54155, "Maps": 54205}

// maxSyncData is Twilio's 16 KiB data limit.
const maxSyncData = 16 << 10

// AddDocument seeds a Sync Document (uniqueName may be "") and returns its SID.
func (f *Fake) AddDocument(svc, uniqueName string, data map[string]any) string {
	s := encodeSyncData(data)
	f.mu.Lock()
	defer f.mu.Unlock()
	o := &syncObj{kind: "Documents", svc: svc, sid: NewSID("ET"), uniqueName: uniqueName}
	f.storeSeeded(o, s)
	return o.sid
}

// AddMapItem seeds an item of Sync Map m (SID or unique name). A Map that
// does not exist yet is created with m as its unique name, as
// [MemorySync.AddMapItem] does.
func (f *Fake) AddMapItem(svc, m, key string, data map[string]any) {
	s := encodeSyncData(data)
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.seedContainer(svc, "Maps", m)
	f.storeSeeded(&syncObj{kind: "Maps", svc: svc, container: c, key: key}, s)
}

// AddListItem appends an item to Sync List l (SID or unique name) and returns
// its index. A List that does not exist yet is created with l as its unique
// name, as [MemorySync.AddListItem] does. Like a create through the API, it
// never reuses an index, not even one whose item was deleted.
func (f *Fake) AddListItem(svc, l string, data map[string]any) int {
	s := encodeSyncData(data)
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.seedContainer(svc, "Lists", l)
	o := &syncObj{kind: "Lists", svc: svc, container: c, index: f.nextIndex(svc, c)}
	f.storeSeeded(o, s)
	return o.index
}

// seedContainer returns the SID of List or Map name (SID or unique name) in
// svc, creating it with name as its unique name when missing. Called with
// f.mu held.
func (f *Fake) seedContainer(svc, kind, name string) string {
	if c := f.containers[svc+"/"+kind+"/"+name]; c != "" {
		return c
	}
	return f.addContainer(svc, kind, name).sid
}

// encodeSyncData encodes seeded data (nil: {}); it panics on data JSON
// cannot hold, a mistake in the test.
func encodeSyncData(data map[string]any) string { return mustEncode("Sync data", data) }

// storeSeeded stores a seeded Sync object with encoded data s. Called with
// f.mu held, in the same critical section that chose its index or key.
func (f *Fake) storeSeeded(o *syncObj, s string) {
	f.services[o.svc] = true
	o.data, o.created, o.updated = s, f.now(), f.now()
	f.syncObjs[o.storeKey()] = o
}

func (o *syncObj) id() string {
	switch o.kind {
	case "Lists":
		return strconv.Itoa(o.index)
	case "Maps":
		return o.key
	}
	return o.sid
}

func (o *syncObj) storeKey() string { return o.svc + "/" + o.kind + "/" + o.container + "/" + o.id() }

// SyncData returns the data and revision of a Sync object: kind is
// "Documents" (id: SID or unique name), "Lists" (container: List SID or
// name, id: index) or "Maps" (container: Map SID or name, id: key).
//
// Deprecated: use [Fake.DocumentData], [Fake.ListItemData] or
// [Fake.MapItemData], which name the kind and take typed arguments (or
// [SyncKind] constants, whose values are these strings).
func (f *Fake) SyncData(svc, kind, container, id string) (data map[string]any, revision int, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.findSync(svc, kind, container, id)
	if o == nil {
		return nil, 0, false
	}
	m, _ := jsonx.DecodeObject(o.data)
	return m, o.version, true
}

func (f *Fake) findSync(svc, kind, container, id string) *syncObj {
	if kind == "Documents" {
		if o := f.syncObjs[svc+"/Documents//"+id]; o != nil {
			return o
		}
		for _, o := range f.syncObjs {
			if o.kind == "Documents" && o.svc == svc && o.uniqueName != "" && o.uniqueName == id {
				return o
			}
		}
		return nil
	}
	c := f.containers[svc+"/"+kind+"/"+container]
	if c == "" {
		return nil
	}
	return f.syncObjs[svc+"/"+kind+"/"+c+"/"+id]
}

// nextIndex takes the next index of List c in svc. As on Twilio, an index is
// never given twice, even after its item (the last one included) is
// deleted: each List counts the indexes it gave. Called with f.mu held.
func (f *Fake) nextIndex(svc, c string) int {
	rec := f.contRecs[svc+"/Lists/"+c]
	if rec == nil { // unreachable: every List item's List has a record
		panic("ifmatchtest: no record of List " + c)
	}
	n := rec.nextIndex
	rec.nextIndex++
	return n
}

func (f *Fake) syncJSON(o *syncObj) map[string]any {
	var data any
	data, _ = jsonx.Decode([]byte(o.data))
	base := f.syncBase() + "/v1/Services/" + o.svc + "/" + o.kind
	m := map[string]any{"account_sid": AccountSID, "service_sid": o.svc, "revision": f.revision(o.storeKey(), o.version),
		"data": data, "date_created": o.created.Format(time.RFC3339), "date_updated": o.updated.Format(time.RFC3339),
		"date_expires": nil, "created_by": "system"}
	if !o.expires.IsZero() {
		m["date_expires"] = o.expires.Format(time.RFC3339)
	}
	switch o.kind {
	case "Documents":
		m["sid"], m["url"] = o.sid, base+"/"+o.sid
		m["unique_name"] = nil
		if o.uniqueName != "" {
			m["unique_name"] = o.uniqueName
		}
		m["links"] = map[string]string{"permissions": base + "/" + o.sid + "/Permissions"}
	case "Lists":
		m["index"], m["list_sid"], m["url"] = o.index, o.container, base+"/"+o.container+"/Items/"+strconv.Itoa(o.index)
	case "Maps":
		m["key"], m["map_sid"], m["url"] = o.key, o.container, base+"/"+o.container+"/Items/"+url.PathEscape(o.key)
	}
	return m
}

// applySyncForm validates and applies Data and TTL fields, as Sync does:
// Ttl is an alias of ItemTtl, ignored when both are sent; a TTL is 0 to one
// year; CollectionTtl comes only with Data, Ttl or ItemTtl.
func applySyncForm(o *syncObj, form url.Values, now time.Time, item bool) string {
	if v, ok := form["Data"]; ok {
		if len(v[0]) > maxSyncData {
			return "Data exceeds the 16 KiB limit"
		}
		if _, err := jsonx.DecodeObject(v[0]); err != nil || v[0] == "" {
			return "Data must be a valid JSON object"
		}
		o.data = v[0]
	}
	ttl := map[string]int{}
	for _, k := range []string{"Ttl", "ItemTtl", "CollectionTtl"} {
		v, ok := form[k]
		if !ok {
			continue
		}
		if !item && k != "Ttl" {
			return k + " is not a parameter of a Document"
		}
		n, msg := parseTTL(k, v[0])
		if msg != "" {
			return msg
		}
		ttl[k] = n
	}
	_, hasTTL := ttl["Ttl"]
	_, hasItemTTL := ttl["ItemTtl"]
	if _, ok := ttl["CollectionTtl"]; ok && form["Data"] == nil && !hasTTL && !hasItemTTL {
		return "CollectionTtl can only be used when the item's Data or Ttl is updated in the same request"
	}
	if n, ok := ttl["ItemTtl"]; ok || hasTTL {
		if !ok {
			n = ttl["Ttl"]
		}
		o.expires = time.Time{}
		if n > 0 {
			o.expires = now.Add(time.Duration(n) * time.Second)
		}
	}
	o.updated = now
	return ""
}

// maxSyncTTL is Sync's longest time-to-live in seconds (one year).
const maxSyncTTL = 31536000

// parseTTL parses a TTL field; it returns a 400 message or "".
func parseTTL(k, v string) (int, string) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > maxSyncTTL {
		return 0, k + " must be an integer between 0 and 31536000 (1 year)"
	}
	return n, ""
}

// serveSync handles /v1/Services and /v1/Services/{svc}/... (seg starts
// after "Services").
func (f *Fake) serveSync(w http.ResponseWriter, r *http.Request, seg []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(seg) == 0 {
		f.servicesCollection(w, r)
		return
	}
	svc := seg[0]
	if !validSID("IS", svc) || !f.services[svc] {
		notFound(w, r)
		return
	}
	if len(seg) == 1 {
		f.service(w, r, svc)
		return
	}
	kind := seg[1]
	switch {
	case (kind == "Lists" || kind == "Maps") && len(seg) == 2:
		f.containerCollection(w, r, svc, kind)
	case (kind == "Lists" || kind == "Maps") && len(seg) == 3:
		f.container(w, r, svc, kind, seg[2])
	case kind == "Documents" && len(seg) == 2:
		f.syncCollection(w, r, svc, kind, "")
	case kind == "Documents" && len(seg) == 3:
		f.syncObject(w, r, f.findSync(svc, kind, "", seg[2]))
	case (kind == "Lists" || kind == "Maps") && len(seg) >= 4 && seg[3] == "Items":
		c := f.containers[svc+"/"+kind+"/"+seg[2]]
		if c == "" {
			notFound(w, r)
			return
		}
		if len(seg) == 4 {
			f.syncCollection(w, r, svc, kind, c)
			return
		}
		if len(seg) == 5 {
			f.syncObject(w, r, f.syncObjs[svc+"/"+kind+"/"+c+"/"+seg[4]])
			return
		}
		notFound(w, r)
	default:
		notFound(w, r)
	}
}

func (f *Fake) syncCollection(w http.ResponseWriter, r *http.Request, svc, kind, c string) {
	switch r.Method {
	case http.MethodGet:
		var all []*syncObj
		for _, o := range f.syncObjs {
			if o.svc == svc && o.kind == kind && o.container == c {
				all = append(all, o)
			}
		}
		sort.Slice(all, func(i, j int) bool {
			if kind == "Lists" {
				return all[i].index < all[j].index
			}
			return all[i].id() < all[j].id()
		})
		all, msg := itemRange(r.URL.Query(), kind, all)
		if msg != "" {
			badQuery(w, msg)
			return
		}
		var items []any
		for _, o := range all {
			items = append(items, f.syncJSON(o))
		}
		key := "items"
		if kind == "Documents" {
			key = "documents"
		}
		f.writePage(w, r, key, items, "")
	case http.MethodPost:
		f.syncCreate(w, r, svc, kind, c)
	default:
		methodNotAllowed(w, r)
	}
}

// syncCreate creates a Document, List item or Map item (POST to the
// collection). Called with f.mu held.
func (f *Fake) syncCreate(w http.ResponseWriter, r *http.Request, svc, kind, c string) {
	item := kind != "Documents"
	o := &syncObj{kind: kind, svc: svc, container: c, data: "{}"}
	switch kind {
	case "Documents":
		o.sid, o.uniqueName = NewSID("ET"), r.PostForm.Get("UniqueName")
		if utf8.RuneCountInString(o.uniqueName) > 320 {
			writeError(w, http.StatusBadRequest, 20001, "UniqueName can be up to 320 characters long")
			return
		}
		if o.uniqueName != "" && f.findSync(svc, kind, "", o.uniqueName) != nil {
			writeError(w, http.StatusConflict, 54301, "Unique name already exists")
			return
		}
	case "Maps":
		o.key = r.PostForm.Get("Key")
		if o.key == "" {
			writeError(w, http.StatusBadRequest, 20001, "Missing required parameter Key in the post body")
			return
		}
		if utf8.RuneCountInString(o.key) > 320 {
			writeError(w, http.StatusBadRequest, 20001, "Key can be up to 320 characters long")
			return
		}
		if f.syncObjs[o.storeKey()] != nil {
			writeError(w, http.StatusConflict, 54208, "Map Item with the key already exists")
			return
		}
	}
	if item && r.PostForm.Get("Data") == "" {
		writeError(w, http.StatusBadRequest, 20001, "Missing required parameter Data in the post body")
		return
	}
	if msg := applySyncForm(o, r.PostForm, f.now(), item); msg != "" {
		writeError(w, http.StatusBadRequest, 20001, msg)
		return
	}
	if kind == "Lists" { // only once the create is accepted: a refused one takes no index
		o.index = f.nextIndex(svc, c)
	}
	o.created = f.now()
	f.syncObjs[o.storeKey()] = o
	f.commit(r, o.storeKey(), -1, o.version)
	writeJSON(w, http.StatusCreated, f.etag(o.storeKey(), o.version), f.syncJSON(o))
}

func (f *Fake) syncObject(w http.ResponseWriter, r *http.Request, o *syncObj) {
	if o == nil {
		notFound(w, r)
		return
	}
	if o.kind == "Documents" && r.Method == http.MethodDelete {
		// DeleteDocument declares no If-Match: the fake ignores one, so it
		// never promises a conditional delete the spec does not.
		delete(f.syncObjs, o.storeKey())
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if ifm := r.Header.Get("If-Match"); ifm != "" && strings.TrimSpace(ifm) == "" {
		writeError(w, http.StatusBadRequest, 54003, "Invalid If-Match header")
		return
	}
	if !f.precondition(w, r, o.storeKey(), o.version, syncMismatch[o.kind]) {
		return
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, f.etag(o.storeKey(), o.version), f.syncJSON(o))
	case http.MethodPost:
		next := *o
		if msg := applySyncForm(&next, r.PostForm, f.now(), o.kind != "Documents"); msg != "" {
			writeError(w, http.StatusBadRequest, 20001, msg)
			return
		}
		next.version++
		*o = next
		f.commit(r, o.storeKey(), o.version-1, o.version)
		writeJSON(w, http.StatusOK, f.etag(o.storeKey(), o.version), f.syncJSON(o))
	case http.MethodDelete:
		delete(f.syncObjs, o.storeKey())
		f.commit(r, o.storeKey(), o.version, -1)
		w.WriteHeader(http.StatusNoContent)
	default:
		methodNotAllowed(w, r)
	}
}
