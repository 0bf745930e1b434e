package ifmatchtest

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/internal/inputcheck"
	"github.com/ifmatch-go/ifmatch/internal/jsonx"
)

// MemorySync is an in-memory Sync service: it implements [ifmatch.SyncAPI]
// with the contract of [ifmatch.SyncService], without HTTP, as
// [MemoryWorkspace] does for TaskRouter (deep copies, exact numbers,
// ifmatch's own update loop with every option, 404s matching
// [ifmatch.ErrNotFound], 412s with Sync's codes, 409s matching
// [ifmatch.ErrAlreadyExists]). Revisions (ETags) start at "0". Lists and
// Maps are made by [MemorySync.AddList] and [MemorySync.AddMap] (or on
// first use by AddListItem and AddMapItem, as the fake server's
// [Fake.AddListItem] and [Fake.AddMapItem] do). List calls check their
// parameters as the Client does: a PageSize outside Sync's 1-100 matches
// [ifmatch.ErrInvalidArgument]. A call whose context has ended returns
// its error and writes nothing, as a Client's does. It is safe for
// concurrent use.
type MemorySync struct {
	mu     sync.Mutex
	sid    string
	seq    int
	docs   map[string]*memEntry[ifmatch.Document] // by SID
	lists  map[string]*memContainer[ifmatch.ListItem]
	maps   map[string]*memContainer[ifmatch.MapItem]
	writes int
}

// memContainer is a Sync List or Map: its items by index or key.
type memContainer[T any] struct {
	sid, name string
	items     map[string]*memEntry[T]
	next      int // the next List index
}

var _ ifmatch.SyncAPI = (*MemorySync)(nil)

// NewMemorySync returns an empty in-memory Sync service with a new SID.
func NewMemorySync() *MemorySync {
	return &MemorySync{sid: NewSID("IS"), docs: map[string]*memEntry[ifmatch.Document]{},
		lists: map[string]*memContainer[ifmatch.ListItem]{}, maps: map[string]*memContainer[ifmatch.MapItem]{}}
}

// SID returns the service's SID.
func (s *MemorySync) SID() string { return s.sid }

// Writes returns how many writes (creates, updates, deletes) landed.
func (s *MemorySync) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

// syncAcc gives the generic code access to one Sync type's fields.
type syncAcc[T any] struct {
	kind     string
	data     func(*T) *map[string]any
	etag     func(*T) *string
	rev      func(*T) *string
	updated  func(*T) *time.Time
	expires  func(*T) *time.Time
	clone    func(*T) *T
	mismatch int
	item     bool
}

var (
	docAcc = syncAcc[ifmatch.Document]{kind: "Document", mismatch: 54103, clone: (*ifmatch.Document).Clone,
		data: func(v *ifmatch.Document) *map[string]any { return &v.Data }, etag: func(v *ifmatch.Document) *string { return &v.ETag },
		rev: func(v *ifmatch.Document) *string { return &v.Revision }, updated: func(v *ifmatch.Document) *time.Time { return &v.DateUpdated },
		expires: func(v *ifmatch.Document) *time.Time { return &v.DateExpires }}
	listAcc = syncAcc[ifmatch.ListItem]{kind: "List item", mismatch: 54155, clone: (*ifmatch.ListItem).Clone, item: true,
		data: func(v *ifmatch.ListItem) *map[string]any { return &v.Data }, etag: func(v *ifmatch.ListItem) *string { return &v.ETag },
		rev: func(v *ifmatch.ListItem) *string { return &v.Revision }, updated: func(v *ifmatch.ListItem) *time.Time { return &v.DateUpdated },
		expires: func(v *ifmatch.ListItem) *time.Time { return &v.DateExpires }}
	mapAcc = syncAcc[ifmatch.MapItem]{kind: "Map item", mismatch: 54205, clone: (*ifmatch.MapItem).Clone, item: true,
		data: func(v *ifmatch.MapItem) *map[string]any { return &v.Data }, etag: func(v *ifmatch.MapItem) *string { return &v.ETag },
		rev: func(v *ifmatch.MapItem) *string { return &v.Revision }, updated: func(v *ifmatch.MapItem) *time.Time { return &v.DateUpdated },
		expires: func(v *ifmatch.MapItem) *time.Time { return &v.DateExpires }}
)

// setVersion sets the ETag and revision of version n.
func (a syncAcc[T]) setVersion(v *T, n int) {
	*a.etag(v), *a.rev(v) = memETag(n), strconv.Itoa(n)
}

// checkSyncName is ifmatch's check of a Sync SID, unique name or map key.
func checkSyncName(what, s string) error {
	if !inputcheck.ValidName(s) {
		return memInvalid("%s %q is malformed: want a SID or a unique name of 1-320 characters of printable UTF-8", what, trunc(s))
	}
	return nil
}

// syncData checks and normalizes Sync data as the client and Twilio do.
func syncData(m map[string]any) (map[string]any, error) {
	enc, err := jsonx.Encode(m)
	if err != nil {
		return nil, memInvalid("Sync data cannot be encoded as JSON: %v", err)
	}
	if len(enc) > ifmatch.MaxSyncDataBytes {
		return nil, memInvalid("Sync data is %d bytes encoded, over Twilio's limit of %d", len(enc), ifmatch.MaxSyncDataBytes)
	}
	return exactObject(m)
}

// checkWrite validates a SyncWrite as the client does and returns its data
// (nil when it sets none).
func checkWrite(w ifmatch.SyncWrite, item bool) (map[string]any, error) {
	if reflect.ValueOf(w).IsZero() {
		return nil, memInvalid("SyncWrite sets no field")
	}
	ttls := inputcheck.SyncTTLs{TTL: w.TTL, ItemTTL: w.ItemTTL, CollectionTTL: w.CollectionTTL}
	if err := inputcheck.CheckSyncTTLs(ifmatch.ErrInvalidArgument, ttls, item, w.Data != nil); err != nil {
		return nil, err
	}
	if w.Data == nil {
		return nil, nil
	}
	return syncData(w.Data)
}

// applyWrite applies a checked SyncWrite to v.
func applyWrite[T any](a syncAcc[T], v *T, data map[string]any, w ifmatch.SyncWrite, now time.Time) {
	if data != nil {
		*a.data(v) = data
	}
	for _, d := range []*time.Duration{w.TTL, w.ItemTTL} {
		if d != nil {
			*a.expires(v) = time.Time{}
			if *d > 0 {
				*a.expires(v) = now.Add(*d)
			}
		}
	}
	*a.updated(v) = now
}

// syncLoop runs ifmatch's update loop on one Sync object.
func syncLoop[T ifmatch.Resource](ctx context.Context, s *MemorySync, a syncAcc[T], get func() (*memEntry[T], error),
	mutate func(*T) error, opts []ifmatch.UpdateOption) (*T, error) {
	return memLoop(ctx, &s.mu, func() (*T, error) {
		e, err := get()
		if err != nil {
			return nil, err
		}
		return e.v, nil
	}, func(next *T) (*T, error) {
		e, _ := get()
		data, err := syncData(*a.data(next))
		if err != nil {
			return nil, err
		}
		*a.data(next), *a.updated(next) = data, memNow()
		*a.rev(next) = strconv.Itoa(memVersion(*a.etag(next)))
		e.v = next
		s.writes++
		return next, nil
	}, a.etag, a.clone, a.mismatch, mutate, opts)
}

// syncWriteIf is one conditional (etag != "") Sync write.
func syncWriteIf[T any](s *MemorySync, a syncAcc[T], get func() (*memEntry[T], error), etag string, w ifmatch.SyncWrite) (*T, error) {
	if err := memCheckETag(etag); err != nil {
		return nil, err
	}
	data, err := checkWrite(w, a.item)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := get()
	if err != nil {
		return nil, err
	}
	if !memMatches(etag, *a.etag(e.v)) {
		return nil, memStale(http.MethodPost, a.mismatch)
	}
	v := a.clone(e.v)
	applyWrite(a, v, data, w, memNow())
	a.setVersion(v, memVersion(etag)+1)
	e.v = v
	s.writes++
	return a.clone(v), nil
}

// syncFetch returns a copy of one Sync object.
func syncFetch[T any](s *MemorySync, a syncAcc[T], get func() (*memEntry[T], error)) (*T, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := get()
	if err != nil {
		return nil, err
	}
	return a.clone(e.v), nil
}

func checkSyncList(p *ifmatch.SyncListParams, item bool) error {
	if p == nil {
		return nil
	}
	if err := checkPageSizeMax(p.PageSize, inputcheck.SyncMaxPageSize); err != nil {
		return err
	}
	if !item && (p.Order != "" || p.From != "" || p.Bounds != "") {
		return memInvalid("Order, From and Bounds apply to List and Map items only")
	}
	if p.Order != "" && p.Order != "asc" && p.Order != "desc" {
		return memInvalid("Order %q must be asc or desc", trunc(p.Order))
	}
	if p.Bounds != "" && p.Bounds != "inclusive" && p.Bounds != "exclusive" {
		return memInvalid("Bounds %q must be inclusive or exclusive", trunc(p.Bounds))
	}
	return nil
}

// ---- Documents ----

// AddDocument seeds a Document (uniqueName may be "") and returns its SID.
func (s *MemorySync) AddDocument(uniqueName string, data map[string]any) string {
	d := mustExact(data)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.newDocument(uniqueName, d).SID
}

func (s *MemorySync) newDocument(name string, data map[string]any) *ifmatch.Document {
	now := memNow()
	d := &ifmatch.Document{SID: NewSID("ET"), UniqueName: name, AccountSID: AccountSID, ServiceSID: s.sid,
		Data: data, DateCreated: now, DateUpdated: now, CreatedBy: "system"}
	d.URL = "https://sync.twilio.com/v1/Services/" + s.sid + "/Documents/" + d.SID
	docAcc.setVersion(d, 0)
	s.seq++
	s.docs[d.SID] = &memEntry[ifmatch.Document]{v: d, seq: s.seq}
	return d
}

// document finds a Document by SID or unique name. Called with mu held.
func (s *MemorySync) document(method, doc string) (*memEntry[ifmatch.Document], error) {
	if e := s.docs[doc]; e != nil {
		return e, nil
	}
	for _, e := range s.docs {
		if e.v.UniqueName != "" && e.v.UniqueName == doc {
			return e, nil
		}
	}
	return nil, memNotFound(method, "Document "+doc)
}

// Document returns a copy of a stored Document (SID or unique name), or ok=false.
func (s *MemorySync) Document(doc string) (d *ifmatch.Document, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.document(http.MethodGet, doc)
	if err != nil {
		return nil, false
	}
	return e.v.Clone(), true
}

// SetDocumentData overwrites a Document's data as another writer would,
// bumping its revision. It reports whether the Document exists.
func (s *MemorySync) SetDocumentData(doc string, data map[string]any) bool {
	d := mustExact(data)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.document(http.MethodPost, doc)
	if err == nil {
		e.v.Data, e.v.DateUpdated = d, memNow()
		docAcc.setVersion(e.v, memVersion(e.v.ETag)+1)
		s.writes++
	}
	return err == nil
}

func (s *MemorySync) docGetter(method, doc string) func() (*memEntry[ifmatch.Document], error) {
	return func() (*memEntry[ifmatch.Document], error) { return s.document(method, doc) }
}

// FetchDocument implements [ifmatch.SyncAPI].
func (s *MemorySync) FetchDocument(ctx context.Context, doc string) (*ifmatch.Document, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkSyncName("document", doc); err != nil {
		return nil, err
	}
	return syncFetch(s, docAcc, s.docGetter(http.MethodGet, doc))
}

// CreateDocument implements [ifmatch.SyncAPI].
func (s *MemorySync) CreateDocument(ctx context.Context, uniqueName string, w ifmatch.SyncWrite) (*ifmatch.Document, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if uniqueName != "" {
		if err := checkSyncName("document unique name", uniqueName); err != nil {
			return nil, err
		}
	}
	if w.Data == nil {
		w.Data = map[string]any{}
	}
	data, err := checkWrite(w, false)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if uniqueName != "" {
		if _, err := s.document(http.MethodPost, uniqueName); err == nil {
			return nil, &ifmatch.APIError{Status: http.StatusConflict, Code: 54301, Method: http.MethodPost,
				Message: "Unique name already exists"}
		}
	}
	d := s.newDocument(uniqueName, data)
	applyWrite(docAcc, d, nil, w, d.DateCreated)
	s.writes++
	return d.Clone(), nil
}

// ListDocuments implements [ifmatch.SyncAPI].
func (s *MemorySync) ListDocuments(ctx context.Context, p *ifmatch.SyncListParams) iter.Seq2[*ifmatch.Document, error] {
	return ctxSeq(ctx, s.listDocuments(p))
}

func (s *MemorySync) listDocuments(p *ifmatch.SyncListParams) iter.Seq2[*ifmatch.Document, error] {
	if err := checkSyncList(p, false); err != nil {
		return errSeq[ifmatch.Document](err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*memEntry[ifmatch.Document]
	for _, e := range s.docs {
		out = append(out, &memEntry[ifmatch.Document]{v: e.v.Clone(), seq: e.seq})
	}
	return seqOf(out)
}

// UpdateDocument implements [ifmatch.SyncAPI] with ifmatch's own update loop.
func (s *MemorySync) UpdateDocument(ctx context.Context, doc string, mutate ifmatch.DocumentMutator, opts ...ifmatch.UpdateOption) (*ifmatch.Document, error) {
	if err := checkSyncName("document", doc); err != nil {
		return nil, err
	}
	return syncLoop(ctx, s, docAcc, s.docGetter(http.MethodPost, doc), mutate, opts)
}

// UpdateDocumentIf implements [ifmatch.SyncAPI].
func (s *MemorySync) UpdateDocumentIf(ctx context.Context, doc, etag string, w ifmatch.SyncWrite) (*ifmatch.Document, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkSyncName("document", doc); err != nil {
		return nil, err
	}
	return syncWriteIf(s, docAcc, s.docGetter(http.MethodPost, doc), etag, w)
}

// DeleteDocument implements [ifmatch.SyncAPI].
func (s *MemorySync) DeleteDocument(ctx context.Context, doc string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkSyncName("document", doc); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.document(http.MethodDelete, doc)
	if err != nil {
		return err
	}
	delete(s.docs, e.v.SID)
	s.writes++
	return nil
}

// ---- Lists and Maps ----

// AddList creates a Sync List (uniqueName may be "") and returns its SID.
func (s *MemorySync) AddList(uniqueName string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return addContainer(s.lists, "ES", uniqueName).sid
}

// AddMap creates a Sync Map (uniqueName may be "") and returns its SID.
func (s *MemorySync) AddMap(uniqueName string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return addContainer(s.maps, "MP", uniqueName).sid
}

func addContainer[T any](cs map[string]*memContainer[T], prefix, name string) *memContainer[T] {
	c := &memContainer[T]{sid: NewSID(prefix), name: name, items: map[string]*memEntry[T]{}}
	cs[c.sid] = c
	return c
}

// container finds a List or Map by SID or unique name. Called with mu held.
func container[T any](cs map[string]*memContainer[T], what, name string) (*memContainer[T], error) {
	if c := cs[name]; c != nil {
		return c, nil
	}
	for _, c := range cs {
		if c.name != "" && c.name == name {
			return c, nil
		}
	}
	return nil, memNotFound(http.MethodGet, what+" "+name)
}

// AddListItem appends an item to List l (SID or unique name; created with
// l as its unique name if missing, as [Fake.AddListItem] does) and returns
// its index.
func (s *MemorySync) AddListItem(l string, data map[string]any) int {
	d := mustExact(data)
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := container(s.lists, "List", l)
	if err != nil {
		c = addContainer(s.lists, "ES", l)
	}
	return s.newListItem(c, d).Index
}

func (s *MemorySync) newListItem(c *memContainer[ifmatch.ListItem], data map[string]any) *ifmatch.ListItem {
	now := memNow()
	it := &ifmatch.ListItem{Index: c.next, AccountSID: AccountSID, ServiceSID: s.sid, ListSID: c.sid, Data: data,
		DateCreated: now, DateUpdated: now, CreatedBy: "system"}
	it.URL = "https://sync.twilio.com/v1/Services/" + s.sid + "/Lists/" + c.sid + "/Items/" + strconv.Itoa(c.next)
	listAcc.setVersion(it, 0)
	c.next++
	s.seq++
	c.items[strconv.Itoa(it.Index)] = &memEntry[ifmatch.ListItem]{v: it, seq: s.seq}
	return it
}

// AddMapItem seeds item key of Map m (SID or unique name; created with m as
// its unique name if missing, as [Fake.AddMapItem] does).
func (s *MemorySync) AddMapItem(m, key string, data map[string]any) {
	d := mustExact(data)
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := container(s.maps, "Map", m)
	if err != nil {
		c = addContainer(s.maps, "MP", m)
	}
	s.newMapItem(c, key, d)
}

func (s *MemorySync) newMapItem(c *memContainer[ifmatch.MapItem], key string, data map[string]any) *ifmatch.MapItem {
	now := memNow()
	it := &ifmatch.MapItem{Key: key, AccountSID: AccountSID, ServiceSID: s.sid, MapSID: c.sid, Data: data,
		DateCreated: now, DateUpdated: now, CreatedBy: "system"}
	it.URL = "https://sync.twilio.com/v1/Services/" + s.sid + "/Maps/" + c.sid + "/Items/" + url.PathEscape(key)
	mapAcc.setVersion(it, 0)
	s.seq++
	c.items[key] = &memEntry[ifmatch.MapItem]{v: it, seq: s.seq}
	return it
}

func itemGetter[T any](cs map[string]*memContainer[T], what, c, id, method string) func() (*memEntry[T], error) {
	return func() (*memEntry[T], error) {
		ct, err := container(cs, what, c)
		if err != nil {
			return nil, err
		}
		e := ct.items[id]
		if e == nil {
			return nil, memNotFound(method, what+" item "+id)
		}
		return e, nil
	}
}

func (s *MemorySync) listItem(list string, index int, method string) func() (*memEntry[ifmatch.ListItem], error) {
	return itemGetter(s.lists, "List", list, strconv.Itoa(index), method)
}

func (s *MemorySync) mapItem(m, key, method string) func() (*memEntry[ifmatch.MapItem], error) {
	return itemGetter(s.maps, "Map", m, key, method)
}

// ListItem returns a copy of a stored List item, or ok=false.
func (s *MemorySync) ListItem(list string, index int) (it *ifmatch.ListItem, ok bool) {
	v, err := syncFetch(s, listAcc, s.listItem(list, index, http.MethodGet))
	return v, err == nil
}

// MapItem returns a copy of a stored Map item, or ok=false.
func (s *MemorySync) MapItem(m, key string) (it *ifmatch.MapItem, ok bool) {
	v, err := syncFetch(s, mapAcc, s.mapItem(m, key, http.MethodGet))
	return v, err == nil
}

// SetListItemData overwrites a List item's data as another writer would,
// bumping its revision. It reports whether the item exists.
func (s *MemorySync) SetListItemData(list string, index int, data map[string]any) bool {
	return setData(s, listAcc, s.listItem(list, index, http.MethodPost), data)
}

// SetMapItemData overwrites a Map item's data as another writer would,
// bumping its revision. It reports whether the item exists.
func (s *MemorySync) SetMapItemData(m, key string, data map[string]any) bool {
	return setData(s, mapAcc, s.mapItem(m, key, http.MethodPost), data)
}

func setData[T any](s *MemorySync, a syncAcc[T], get func() (*memEntry[T], error), data map[string]any) bool {
	d := mustExact(data)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := get()
	if err == nil {
		*a.data(e.v), *a.updated(e.v) = d, memNow()
		a.setVersion(e.v, memVersion(*a.etag(e.v))+1)
		s.writes++
	}
	return err == nil
}

func checkListItem(list string, index int) error {
	if err := checkSyncName("Sync List", list); err != nil {
		return err
	}
	if index < 0 {
		return memInvalid("list item index %d is negative", index)
	}
	return nil
}

func checkMapItem(m, key string) error {
	if err := checkSyncName("Sync Map", m); err != nil {
		return err
	}
	return checkSyncName("map item key", key)
}

// FetchListItem implements [ifmatch.SyncAPI].
func (s *MemorySync) FetchListItem(ctx context.Context, list string, index int) (*ifmatch.ListItem, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkListItem(list, index); err != nil {
		return nil, err
	}
	return syncFetch(s, listAcc, s.listItem(list, index, http.MethodGet))
}

// CreateListItem implements [ifmatch.SyncAPI].
func (s *MemorySync) CreateListItem(ctx context.Context, list string, w ifmatch.SyncWrite) (*ifmatch.ListItem, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkSyncName("Sync List", list); err != nil {
		return nil, err
	}
	if w.Data == nil {
		return nil, memInvalid("a list item needs Data")
	}
	data, err := checkWrite(w, true)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := container(s.lists, "List", list)
	if err != nil {
		return nil, err
	}
	it := s.newListItem(c, data)
	applyWrite(listAcc, it, nil, w, it.DateCreated)
	s.writes++
	return it.Clone(), nil
}

// ListListItems implements [ifmatch.SyncAPI].
func (s *MemorySync) ListListItems(ctx context.Context, list string, p *ifmatch.SyncListParams) iter.Seq2[*ifmatch.ListItem, error] {
	return ctxSeq(ctx, s.listListItems(list, p))
}

func (s *MemorySync) listListItems(list string, p *ifmatch.SyncListParams) iter.Seq2[*ifmatch.ListItem, error] {
	if err := checkSyncName("Sync List", list); err != nil {
		return errSeq[ifmatch.ListItem](err)
	}
	return listItems(s, s.lists, "List", list, p, func(a, b *ifmatch.ListItem) bool { return a.Index < b.Index },
		func(v *ifmatch.ListItem) string { return strconv.Itoa(v.Index) }, listAcc.clone)
}

// listItems lists a container's items in key order, with Order, From and
// Bounds applied.
func listItems[T any](s *MemorySync, cs map[string]*memContainer[T], what, name string, p *ifmatch.SyncListParams,
	less func(a, b *T) bool, id func(*T) string, clone func(*T) *T) iter.Seq2[*T, error] {
	if err := checkSyncList(p, true); err != nil {
		return errSeq[T](err)
	}
	var q ifmatch.SyncListParams
	if p != nil {
		q = *p
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := container(cs, what, name)
	if err != nil {
		return errSeq[T](err)
	}
	var all []*T
	var from *T
	for _, e := range c.items {
		all = append(all, clone(e.v))
		if q.From != "" && id(e.v) == q.From {
			from = e.v
		}
	}
	sort.Slice(all, func(i, j int) bool { return less(all[i], all[j]) })
	if q.Order == "desc" {
		for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
			all[i], all[j] = all[j], all[i]
		}
	}
	if q.From != "" && from != nil {
		var kept []*T
		for _, v := range all {
			before := less(v, from)
			if q.Order == "desc" {
				before = less(from, v)
			}
			if !before && (q.Bounds != "exclusive" || id(v) != q.From) {
				kept = append(kept, v)
			}
		}
		all = kept
	}
	return func(yield func(*T, error) bool) {
		for _, v := range all {
			if !yield(v, nil) {
				return
			}
		}
	}
}

// UpdateListItem implements [ifmatch.SyncAPI] with ifmatch's own update loop.
func (s *MemorySync) UpdateListItem(ctx context.Context, list string, index int, mutate ifmatch.ListItemMutator, opts ...ifmatch.UpdateOption) (*ifmatch.ListItem, error) {
	if err := checkListItem(list, index); err != nil {
		return nil, err
	}
	return syncLoop(ctx, s, listAcc, s.listItem(list, index, http.MethodPost), mutate, opts)
}

// UpdateListItemIf implements [ifmatch.SyncAPI].
func (s *MemorySync) UpdateListItemIf(ctx context.Context, list string, index int, etag string, w ifmatch.SyncWrite) (*ifmatch.ListItem, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkListItem(list, index); err != nil {
		return nil, err
	}
	return syncWriteIf(s, listAcc, s.listItem(list, index, http.MethodPost), etag, w)
}

// DeleteListItem implements [ifmatch.SyncAPI].
func (s *MemorySync) DeleteListItem(ctx context.Context, list string, index int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkListItem(list, index); err != nil {
		return err
	}
	return deleteItem(s, s.lists, "List", list, strconv.Itoa(index), "", listAcc)
}

// DeleteListItemIf implements [ifmatch.SyncAPI].
func (s *MemorySync) DeleteListItemIf(ctx context.Context, list string, index int, etag string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkListItem(list, index); err != nil {
		return err
	}
	if err := memCheckETag(etag); err != nil {
		return err
	}
	return deleteItem(s, s.lists, "List", list, strconv.Itoa(index), etag, listAcc)
}

func deleteItem[T any](s *MemorySync, cs map[string]*memContainer[T], what, name, id, etag string, a syncAcc[T]) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := itemGetter(cs, what, name, id, http.MethodDelete)()
	if err != nil {
		return err
	}
	if etag != "" && !memMatches(etag, *a.etag(e.v)) {
		return memStale(http.MethodDelete, a.mismatch)
	}
	c, _ := container(cs, what, name)
	delete(c.items, id)
	s.writes++
	return nil
}

// FetchMapItem implements [ifmatch.SyncAPI].
func (s *MemorySync) FetchMapItem(ctx context.Context, m, key string) (*ifmatch.MapItem, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkMapItem(m, key); err != nil {
		return nil, err
	}
	return syncFetch(s, mapAcc, s.mapItem(m, key, http.MethodGet))
}

// CreateMapItem implements [ifmatch.SyncAPI].
func (s *MemorySync) CreateMapItem(ctx context.Context, m, key string, w ifmatch.SyncWrite) (*ifmatch.MapItem, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkMapItem(m, key); err != nil {
		return nil, err
	}
	if w.Data == nil {
		return nil, memInvalid("a map item needs Data")
	}
	data, err := checkWrite(w, true)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := container(s.maps, "Map", m)
	if err != nil {
		return nil, err
	}
	if c.items[key] != nil {
		return nil, &ifmatch.APIError{Status: http.StatusConflict, Code: 54208, Method: http.MethodPost,
			Message: "Map Item with the key already exists"}
	}
	it := s.newMapItem(c, key, data)
	applyWrite(mapAcc, it, nil, w, it.DateCreated)
	s.writes++
	return it.Clone(), nil
}

// ListMapItems implements [ifmatch.SyncAPI].
func (s *MemorySync) ListMapItems(ctx context.Context, m string, p *ifmatch.SyncListParams) iter.Seq2[*ifmatch.MapItem, error] {
	return ctxSeq(ctx, s.listMapItems(m, p))
}

func (s *MemorySync) listMapItems(m string, p *ifmatch.SyncListParams) iter.Seq2[*ifmatch.MapItem, error] {
	if err := checkSyncName("Sync Map", m); err != nil {
		return errSeq[ifmatch.MapItem](err)
	}
	return listItems(s, s.maps, "Map", m, p, func(a, b *ifmatch.MapItem) bool { return a.Key < b.Key },
		func(v *ifmatch.MapItem) string { return v.Key }, mapAcc.clone)
}

// UpdateMapItem implements [ifmatch.SyncAPI] with ifmatch's own update loop.
func (s *MemorySync) UpdateMapItem(ctx context.Context, m, key string, mutate ifmatch.MapItemMutator, opts ...ifmatch.UpdateOption) (*ifmatch.MapItem, error) {
	if err := checkMapItem(m, key); err != nil {
		return nil, err
	}
	return syncLoop(ctx, s, mapAcc, s.mapItem(m, key, http.MethodPost), mutate, opts)
}

// UpdateMapItemIf implements [ifmatch.SyncAPI].
func (s *MemorySync) UpdateMapItemIf(ctx context.Context, m, key, etag string, w ifmatch.SyncWrite) (*ifmatch.MapItem, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkMapItem(m, key); err != nil {
		return nil, err
	}
	return syncWriteIf(s, mapAcc, s.mapItem(m, key, http.MethodPost), etag, w)
}

// DeleteMapItem implements [ifmatch.SyncAPI].
func (s *MemorySync) DeleteMapItem(ctx context.Context, m, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkMapItem(m, key); err != nil {
		return err
	}
	return deleteItem(s, s.maps, "Map", m, key, "", mapAcc)
}

// DeleteMapItemIf implements [ifmatch.SyncAPI].
func (s *MemorySync) DeleteMapItemIf(ctx context.Context, m, key, etag string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkMapItem(m, key); err != nil {
		return err
	}
	if err := memCheckETag(etag); err != nil {
		return err
	}
	return deleteItem(s, s.maps, "Map", m, key, etag, mapAcc)
}
