package ifmatch

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/ifmatch-go/ifmatch/internal/inputcheck"
	"github.com/ifmatch-go/ifmatch/internal/jsonx"
)

// MaxSyncDataBytes is Twilio's limit on the JSON data of one Sync Document,
// List Item or Map Item (16 KiB). Larger data is refused before sending.
const MaxSyncDataBytes = 16 << 10

// SyncService scopes Sync calls to one Sync service ("IS…"). Like
// [Workspace], it is a small value.
type SyncService struct {
	c   *Client
	sid string
}

// SyncService returns a value scoping Sync calls to the service sid. A
// malformed sid is reported by the first call made with it.
func (c *Client) SyncService(sid string) SyncService { return SyncService{c: c, sid: sid} }

// SID returns the Sync service SID.
func (s SyncService) SID() string { return s.sid }

// Document is a Sync Document (the spec's sync.v1.service.document). In an
// update loop's mutator only Data may change.
type Document struct {
	SID        string
	UniqueName string
	AccountSID string
	ServiceSID string
	URL        string
	Links      map[string]string
	// Revision is Sync's version of the document; ETag carries the same.
	Revision string
	// Data is the document's JSON object, numbers kept exactly. Never nil
	// in a mutator; set to nil or to an empty map by a mutator, it is
	// cleared, as [Task.Attributes] are.
	Data        map[string]any
	DateExpires time.Time
	DateCreated time.Time
	DateUpdated time.Time
	CreatedBy   string
	ETag        string
}

// ListItem is an item of a Sync List (the spec's sync_list_item). In an
// update loop's mutator only Data may change.
type ListItem struct {
	Index      int
	AccountSID string
	ServiceSID string
	ListSID    string
	URL        string
	Revision   string
	// Data is the item's JSON object, as [Document.Data].
	Data        map[string]any
	DateExpires time.Time
	DateCreated time.Time
	DateUpdated time.Time
	CreatedBy   string
	ETag        string
}

// MapItem is an item of a Sync Map (the spec's sync_map_item). In an update
// loop's mutator only Data may change.
type MapItem struct {
	Key        string
	AccountSID string
	ServiceSID string
	MapSID     string
	URL        string
	Revision   string
	// Data is the item's JSON object, as [Document.Data].
	Data        map[string]any
	DateExpires time.Time
	DateCreated time.Time
	DateUpdated time.Time
	CreatedBy   string
	ETag        string
}

// syncWire is the union of the three Sync shapes.
type syncWire struct {
	SID         string            `json:"sid"`
	UniqueName  string            `json:"unique_name"`
	Index       int               `json:"index"`
	Key         string            `json:"key"`
	AccountSID  string            `json:"account_sid"`
	ServiceSID  string            `json:"service_sid"`
	ListSID     string            `json:"list_sid"`
	MapSID      string            `json:"map_sid"`
	URL         string            `json:"url"`
	Links       map[string]string `json:"links"`
	Revision    string            `json:"revision"`
	Data        json.RawMessage   `json:"data"`
	DateExpires time.Time         `json:"date_expires"`
	DateCreated time.Time         `json:"date_created"`
	DateUpdated time.Time         `json:"date_updated"`
	CreatedBy   string            `json:"created_by"`
}

// decodeSync decodes any Sync body. The ETag falls back to the revision
// when the header is missing: Sync carries the same value in both.
func decodeSync(b []byte, etag string) (*syncWire, map[string]any, string, error) {
	var w syncWire
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, nil, "", err
	}
	var data map[string]any
	if len(w.Data) > 0 && string(w.Data) != "null" {
		v, err := jsonx.Decode(w.Data)
		if err != nil {
			return nil, nil, "", fmt.Errorf("data: %v", err)
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, nil, "", fmt.Errorf("data is not a JSON object")
		}
		data = m
	}
	if etag == "" && w.Revision != "" {
		etag = w.Revision
	}
	return &w, data, etag, nil
}

func decodeDocument(b []byte, etag string) (*Document, error) {
	w, data, etag, err := decodeSync(b, etag)
	if err != nil {
		return nil, err
	}
	return &Document{SID: w.SID, UniqueName: w.UniqueName, AccountSID: w.AccountSID, ServiceSID: w.ServiceSID,
		URL: w.URL, Links: w.Links, Revision: w.Revision, Data: data, DateExpires: w.DateExpires,
		DateCreated: w.DateCreated, DateUpdated: w.DateUpdated, CreatedBy: w.CreatedBy, ETag: etag}, nil
}

func decodeListItem(b []byte, etag string) (*ListItem, error) {
	w, data, etag, err := decodeSync(b, etag)
	if err != nil {
		return nil, err
	}
	return &ListItem{Index: w.Index, AccountSID: w.AccountSID, ServiceSID: w.ServiceSID, ListSID: w.ListSID,
		URL: w.URL, Revision: w.Revision, Data: data, DateExpires: w.DateExpires, DateCreated: w.DateCreated,
		DateUpdated: w.DateUpdated, CreatedBy: w.CreatedBy, ETag: etag}, nil
}

func decodeMapItem(b []byte, etag string) (*MapItem, error) {
	w, data, etag, err := decodeSync(b, etag)
	if err != nil {
		return nil, err
	}
	return &MapItem{Key: w.Key, AccountSID: w.AccountSID, ServiceSID: w.ServiceSID, MapSID: w.MapSID,
		URL: w.URL, Revision: w.Revision, Data: data, DateExpires: w.DateExpires, DateCreated: w.DateCreated,
		DateUpdated: w.DateUpdated, CreatedBy: w.CreatedBy, ETag: etag}, nil
}

// Clone returns a deep copy of d.
func (d *Document) Clone() *Document {
	c := *d
	c.Data = jsonx.CloneMap(d.Data)
	c.Links = cloneLinks(d.Links)
	return &c
}

// Clone returns a deep copy of i.
func (i *ListItem) Clone() *ListItem {
	c := *i
	c.Data = jsonx.CloneMap(i.Data)
	return &c
}

// Clone returns a deep copy of i.
func (i *MapItem) Clone() *MapItem {
	c := *i
	c.Data = jsonx.CloneMap(i.Data)
	return &c
}

// DocumentMutator changes a Sync Document in an update loop: only Data may
// change. The contract of [TaskMutator] applies. It is an alias, so a plain
// func(*Document) error is one (and implementations of [SyncAPI] written
// with the func type still satisfy it).
type DocumentMutator = func(d *Document) error

// ListItemMutator is [DocumentMutator] for a Sync List item.
type ListItemMutator = func(i *ListItem) error

// MapItemMutator is [DocumentMutator] for a Sync Map item.
type MapItemMutator = func(i *MapItem) error

// SyncWrite holds the fields of one Sync write: the data (replaced as a
// whole; nil sends none) and optional time-to-live values. A TTL of 0 clears
// the expiry; nil sends nothing. Checked before any request, as
// [ErrInvalidArgument]: a TTL is whole seconds, at most one year
// (31,536,000 s, Sync's limit); ItemTTL and CollectionTTL apply to List and
// Map items only; TTL and ItemTTL are one field of an item under two names
// (Twilio ignores TTL when both are sent), so setting both is refused;
// CollectionTTL (the parent List's or Map's time-to-live) must come with
// Data, TTL or ItemTTL in the same write, as the spec requires.
type SyncWrite struct {
	Data          map[string]any
	TTL           *time.Duration
	ItemTTL       *time.Duration
	CollectionTTL *time.Duration
}

// TTL returns a pointer to d, for [SyncWrite] fields.
func TTL(d time.Duration) *time.Duration { return &d }

func (u *SyncWrite) form(item bool) (url.Values, error) {
	ttls := inputcheck.SyncTTLs{TTL: u.TTL, ItemTTL: u.ItemTTL, CollectionTTL: u.CollectionTTL}
	if err := inputcheck.CheckSyncTTLs(ErrInvalidArgument, ttls, item, u.Data != nil); err != nil {
		return nil, err
	}
	f := url.Values{}
	if u.Data != nil {
		if err := setSyncData(f, u.Data); err != nil {
			return nil, err
		}
	}
	for _, t := range []struct {
		key string
		d   *time.Duration
	}{{"Ttl", u.TTL}, {"ItemTtl", u.ItemTTL}, {"CollectionTtl", u.CollectionTTL}} {
		if t.d != nil {
			f.Set(t.key, strconv.FormatInt(int64(*t.d/time.Second), 10))
		}
	}
	if len(f) == 0 {
		return nil, fmt.Errorf("%w: SyncWrite sets no field", ErrInvalidArgument)
	}
	return f, nil
}

// setSyncData encodes data into the Data field, refusing more than 16 KiB.
func setSyncData(f url.Values, data map[string]any) error {
	if err := setJSON(f, "Data", "Sync data", data); err != nil {
		return err
	}
	if n := len(f.Get("Data")); n > MaxSyncDataBytes {
		return fmt.Errorf("%w: Sync data is %d bytes encoded, over Twilio's limit of %d", ErrInvalidArgument, n, MaxSyncDataBytes)
	}
	return nil
}

// diffData is the diff of every Sync resource: only Data is writable.
func diffData[T any](kind string, data func(*T) map[string]any) func(old, cur *T) (url.Values, error) {
	return func(old, cur *T) (url.Values, error) {
		if f := readOnlyChanged(old, cur, "Data"); f != "" {
			return nil, readOnlyError(kind, f)
		}
		d := changedObject(data(old), data(cur))
		if d == nil {
			return nil, nil
		}
		f := url.Values{}
		if err := setSyncData(f, d); err != nil {
			return nil, err
		}
		return f, nil
	}
}

// checkName accepts a SID or a unique name: 1-320 characters of printable
// UTF-8, and not "." or "..", which would change the meaning of the URL path.
func checkName(what, s string) error {
	if !inputcheck.ValidName(s) {
		return fmt.Errorf("%w: %s %q is malformed: want a SID or a unique name of 1-320 characters of printable UTF-8", ErrInvalidArgument, what, truncate(s))
	}
	return nil
}

func (s SyncService) base(kind, name string) ([]string, error) {
	if err := checkSID("Sync service SID", "IS", s.sid); err != nil {
		return nil, err
	}
	what := map[string]string{"Documents": "document", "Lists": "Sync List", "Maps": "Sync Map"}[kind]
	if err := checkName(what, name); err != nil {
		return nil, err
	}
	return []string{"v1", "Services", s.sid, kind, name}, nil
}

func (s SyncService) documentPath(doc string) ([]string, error) { return s.base("Documents", doc) }

func (s SyncService) documentsPath() ([]string, error) {
	if err := checkSID("Sync service SID", "IS", s.sid); err != nil {
		return nil, err
	}
	return []string{"v1", "Services", s.sid, "Documents"}, nil
}

func (s SyncService) listItemPath(list string, index int) ([]string, error) {
	p, err := s.base("Lists", list)
	if err != nil {
		return nil, err
	}
	if index < 0 {
		return nil, fmt.Errorf("%w: list item index %d is negative", ErrInvalidArgument, index)
	}
	return append(p, "Items", strconv.Itoa(index)), nil
}

func (s SyncService) mapItemPath(m, key string) ([]string, error) {
	p, err := s.base("Maps", m)
	if err != nil {
		return nil, err
	}
	if err := checkName("map item key", key); err != nil {
		return nil, err
	}
	return append(p, "Items", key), nil
}

// syncRes bundles what differs between the three Sync resources.
type syncRes[T any] struct {
	kind  string
	op    string // the update method's name, for an Observer
	dec   func([]byte, string) (*T, error)
	clone func(*T) *T
	data  func(*T) *map[string]any
	etag  func(*T) *string
	item  bool
	// born names the incarnation of a resource (see resourceOps.born)
	born func(*T) string
}

var (
	documentRes = syncRes[Document]{kind: "Document", op: "UpdateDocument", dec: decodeDocument, clone: (*Document).Clone,
		data: func(d *Document) *map[string]any { return &d.Data }, etag: func(d *Document) *string { return &d.ETag },
		born: func(d *Document) string { return d.SID }}
	listItemRes = syncRes[ListItem]{kind: "ListItem", op: "UpdateListItem", dec: decodeListItem, clone: (*ListItem).Clone, item: true,
		data: func(i *ListItem) *map[string]any { return &i.Data }, etag: func(i *ListItem) *string { return &i.ETag },
		born: func(i *ListItem) string { return i.ListSID + " " + i.DateCreated.Format(time.RFC3339Nano) }}
	mapItemRes = syncRes[MapItem]{kind: "MapItem", op: "UpdateMapItem", dec: decodeMapItem, clone: (*MapItem).Clone, item: true,
		data: func(i *MapItem) *map[string]any { return &i.Data }, etag: func(i *MapItem) *string { return &i.ETag },
		born: func(i *MapItem) string { return i.MapSID + " " + i.DateCreated.Format(time.RFC3339Nano) }}
)

func syncFetch[T any](ctx context.Context, c *Client, r syncRes[T], path []string, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	return call(ctx, c, &request{method: http.MethodGet, product: productSync, path: path}, r.dec)
}

func syncCreate[T any](ctx context.Context, c *Client, r syncRes[T], path []string, err error, extra url.Values, w SyncWrite) (*T, error) {
	if err != nil {
		return nil, err
	}
	f, err := w.form(r.item)
	if err != nil {
		return nil, err
	}
	for k, v := range extra {
		f[k] = v
	}
	return createOnce(ctx, c, &request{method: http.MethodPost, product: productSync, path: path, form: f}, r.dec)
}

func syncWriteIf[T any](ctx context.Context, c *Client, r syncRes[T], path []string, err error, etag string, w SyncWrite) (*T, error) {
	if err != nil {
		return nil, err
	}
	if err := checkIfMatch(etag); err != nil {
		return nil, err
	}
	f, err := w.form(r.item)
	if err != nil {
		return nil, err
	}
	return writeOnce(ctx, c, &request{method: http.MethodPost, product: productSync, path: path, form: f, ifMatch: etag}, r.dec)
}

func syncUpdate[T any](ctx context.Context, c *Client, r syncRes[T], path []string, err error, mutate func(*T) error, opts []UpdateOption) (*T, error) {
	if err != nil {
		return nil, err
	}
	ops := newOps(c, productSync, path, r.dec, r.clone, diffData(r.kind, func(v *T) map[string]any { return *r.data(v) }), r.etag, r.data)
	ops.born = r.born
	return runUpdate(ctx, c, ops.named(r.op, r.kind), mutate, opts)
}

func syncDelete(ctx context.Context, c *Client, path []string, err error, etag string, conditional bool) error {
	if err != nil {
		return err
	}
	if conditional {
		if err := checkIfMatch(etag); err != nil {
			return err
		}
	}
	return deleteOnce(ctx, c, productSync, path, etag)
}

// SyncListParams pages Sync lists; zero fields are not sent.
type SyncListParams struct {
	// PageSize is the page size asked for (1-100, Sync's limit); 0 leaves
	// Twilio's default.
	PageSize int
	// Order ("asc" or "desc"), From and Bounds ("inclusive" or "exclusive")
	// apply to List and Map items.
	Order  string
	From   string
	Bounds string
}

func (p *SyncListParams) query(item bool) (url.Values, error) {
	q := url.Values{}
	if p == nil {
		return q, nil
	}
	if err := setPageSizeMax(q, p.PageSize, inputcheck.SyncMaxPageSize); err != nil {
		return nil, err
	}
	if !item && (p.Order != "" || p.From != "" || p.Bounds != "") {
		return nil, fmt.Errorf("%w: Order, From and Bounds apply to List and Map items only", ErrInvalidArgument)
	}
	if p.Order != "" && p.Order != "asc" && p.Order != "desc" {
		return nil, fmt.Errorf("%w: Order %q must be asc or desc", ErrInvalidArgument, truncate(p.Order))
	}
	if p.Bounds != "" && p.Bounds != "inclusive" && p.Bounds != "exclusive" {
		return nil, fmt.Errorf("%w: Bounds %q must be inclusive or exclusive", ErrInvalidArgument, truncate(p.Bounds))
	}
	for k, v := range map[string]string{"Order": p.Order, "From": p.From, "Bounds": p.Bounds} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q, nil
}

func syncList[T any](ctx context.Context, c *Client, r syncRes[T], path []string, err error, p *SyncListParams, key string) iter.Seq2[*T, error] {
	if err != nil {
		return errSeq[T](err)
	}
	q, err := p.query(r.item)
	if err != nil {
		return errSeq[T](err)
	}
	return list(ctx, c, &request{method: http.MethodGet, product: productSync, path: path, query: q}, key, r.dec)
}

// FetchDocument reads a Sync Document by SID ("ET…") or unique name.
//
// Twilio API docs: https://www.twilio.com/docs/sync/api/document-resource
func (s SyncService) FetchDocument(ctx context.Context, doc string) (*Document, error) {
	p, err := s.documentPath(doc)
	return syncFetch(ctx, s.c, documentRes, p, err)
}

// CreateDocument creates a Sync Document, named uniqueName unless empty.
func (s SyncService) CreateDocument(ctx context.Context, uniqueName string, w SyncWrite) (*Document, error) {
	p, err := s.documentsPath()
	extra := url.Values{}
	if uniqueName != "" {
		if err := checkName("document unique name", uniqueName); err != nil {
			return nil, err
		}
		extra.Set("UniqueName", uniqueName)
	}
	if w.Data == nil {
		w.Data = map[string]any{}
	}
	return syncCreate(ctx, s.c, documentRes, p, err, extra, w)
}

// ListDocuments iterates over the service's Documents.
func (s SyncService) ListDocuments(ctx context.Context, p *SyncListParams) iter.Seq2[*Document, error] {
	path, err := s.documentsPath()
	return syncList(ctx, s.c, documentRes, path, err, p, "documents")
}

// UpdateDocument runs the update loop of [Workspace.UpdateTask] on a Sync
// Document's data.
//
// Twilio API docs: https://www.twilio.com/docs/sync/api/document-resource#update-a-document-resource
func (s SyncService) UpdateDocument(ctx context.Context, doc string, mutate DocumentMutator, opts ...UpdateOption) (*Document, error) {
	p, err := s.documentPath(doc)
	return syncUpdate(ctx, s.c, documentRes, p, err, mutate, opts)
}

// UpdateDocumentIf sends one conditional Document write (data and/or TTL).
func (s SyncService) UpdateDocumentIf(ctx context.Context, doc, etag string, w SyncWrite) (*Document, error) {
	p, err := s.documentPath(doc)
	return syncWriteIf(ctx, s.c, documentRes, p, err, etag, w)
}

// DeleteDocument deletes a Sync Document. Twilio's DeleteDocument takes no
// If-Match, so there is no conditional variant.
func (s SyncService) DeleteDocument(ctx context.Context, doc string) error {
	p, err := s.documentPath(doc)
	return syncDelete(ctx, s.c, p, err, "", false)
}

// FetchListItem reads the item at index of a Sync List (SID "ES…" or unique name).
//
// Twilio API docs: https://www.twilio.com/docs/sync/api/listitem-resource
func (s SyncService) FetchListItem(ctx context.Context, list string, index int) (*ListItem, error) {
	p, err := s.listItemPath(list, index)
	return syncFetch(ctx, s.c, listItemRes, p, err)
}

// CreateListItem appends an item to a Sync List.
func (s SyncService) CreateListItem(ctx context.Context, list string, w SyncWrite) (*ListItem, error) {
	p, err := s.base("Lists", list)
	if w.Data == nil {
		return nil, fmt.Errorf("%w: a list item needs Data", ErrInvalidArgument)
	}
	return syncCreate(ctx, s.c, listItemRes, append(p, "Items"), err, nil, w)
}

// ListListItems iterates over a Sync List's items.
func (s SyncService) ListListItems(ctx context.Context, list string, p *SyncListParams) iter.Seq2[*ListItem, error] {
	path, err := s.base("Lists", list)
	return syncList(ctx, s.c, listItemRes, append(path, "Items"), err, p, "items")
}

// UpdateListItem runs the update loop on a Sync List item's data.
func (s SyncService) UpdateListItem(ctx context.Context, list string, index int, mutate ListItemMutator, opts ...UpdateOption) (*ListItem, error) {
	p, err := s.listItemPath(list, index)
	return syncUpdate(ctx, s.c, listItemRes, p, err, mutate, opts)
}

// UpdateListItemIf sends one conditional List item write.
func (s SyncService) UpdateListItemIf(ctx context.Context, list string, index int, etag string, w SyncWrite) (*ListItem, error) {
	p, err := s.listItemPath(list, index)
	return syncWriteIf(ctx, s.c, listItemRes, p, err, etag, w)
}

// DeleteListItem deletes a Sync List item unconditionally.
func (s SyncService) DeleteListItem(ctx context.Context, list string, index int) error {
	p, err := s.listItemPath(list, index)
	return syncDelete(ctx, s.c, p, err, "", false)
}

// DeleteListItemIf deletes a Sync List item only if it is still at version etag.
func (s SyncService) DeleteListItemIf(ctx context.Context, list string, index int, etag string) error {
	p, err := s.listItemPath(list, index)
	return syncDelete(ctx, s.c, p, err, etag, true)
}

// FetchMapItem reads the item at key of a Sync Map (SID "MP…" or unique name).
//
// Twilio API docs: https://www.twilio.com/docs/sync/api/map-item-resource
func (s SyncService) FetchMapItem(ctx context.Context, m, key string) (*MapItem, error) {
	p, err := s.mapItemPath(m, key)
	return syncFetch(ctx, s.c, mapItemRes, p, err)
}

// CreateMapItem adds the item key to a Sync Map.
func (s SyncService) CreateMapItem(ctx context.Context, m, key string, w SyncWrite) (*MapItem, error) {
	p, err := s.base("Maps", m)
	if err == nil {
		err = checkName("map item key", key)
	}
	if w.Data == nil {
		return nil, fmt.Errorf("%w: a map item needs Data", ErrInvalidArgument)
	}
	return syncCreate(ctx, s.c, mapItemRes, append(p, "Items"), err, url.Values{"Key": {key}}, w)
}

// ListMapItems iterates over a Sync Map's items.
func (s SyncService) ListMapItems(ctx context.Context, m string, p *SyncListParams) iter.Seq2[*MapItem, error] {
	path, err := s.base("Maps", m)
	return syncList(ctx, s.c, mapItemRes, append(path, "Items"), err, p, "items")
}

// UpdateMapItem runs the update loop on a Sync Map item's data.
func (s SyncService) UpdateMapItem(ctx context.Context, m, key string, mutate MapItemMutator, opts ...UpdateOption) (*MapItem, error) {
	p, err := s.mapItemPath(m, key)
	return syncUpdate(ctx, s.c, mapItemRes, p, err, mutate, opts)
}

// UpdateMapItemIf sends one conditional Map item write.
func (s SyncService) UpdateMapItemIf(ctx context.Context, m, key, etag string, w SyncWrite) (*MapItem, error) {
	p, err := s.mapItemPath(m, key)
	return syncWriteIf(ctx, s.c, mapItemRes, p, err, etag, w)
}

// DeleteMapItem deletes a Sync Map item unconditionally.
func (s SyncService) DeleteMapItem(ctx context.Context, m, key string) error {
	p, err := s.mapItemPath(m, key)
	return syncDelete(ctx, s.c, p, err, "", false)
}

// DeleteMapItemIf deletes a Sync Map item only if it is still at version etag.
func (s SyncService) DeleteMapItemIf(ctx context.Context, m, key, etag string) error {
	p, err := s.mapItemPath(m, key)
	return syncDelete(ctx, s.c, p, err, etag, true)
}

// DocumentUpdater is the one call [MergeDocumentData] and
// [UpdateDocumentData] need: a [SyncAPI], a [SyncService] or a stub of this
// one method will do.
type DocumentUpdater interface {
	UpdateDocument(ctx context.Context, doc string, mutate DocumentMutator, opts ...UpdateOption) (*Document, error)
}

// ListItemUpdater is the one call [MergeListItemData] and
// [UpdateListItemData] need.
type ListItemUpdater interface {
	UpdateListItem(ctx context.Context, list string, index int, mutate ListItemMutator, opts ...UpdateOption) (*ListItem, error)
}

// MapItemUpdater is the one call [MergeMapItemData] and [UpdateMapItemData]
// need.
type MapItemUpdater interface {
	UpdateMapItem(ctx context.Context, m, key string, mutate MapItemMutator, opts ...UpdateOption) (*MapItem, error)
}

// SyncAPI is the set of calls a [SyncService] offers, for substituting a
// stub in unit tests (see [TaskAPI]).
type SyncAPI interface {
	FetchDocument(ctx context.Context, doc string) (*Document, error)
	CreateDocument(ctx context.Context, uniqueName string, w SyncWrite) (*Document, error)
	ListDocuments(ctx context.Context, p *SyncListParams) iter.Seq2[*Document, error]
	UpdateDocument(ctx context.Context, doc string, mutate DocumentMutator, opts ...UpdateOption) (*Document, error)
	UpdateDocumentIf(ctx context.Context, doc, etag string, w SyncWrite) (*Document, error)
	DeleteDocument(ctx context.Context, doc string) error
	FetchListItem(ctx context.Context, list string, index int) (*ListItem, error)
	CreateListItem(ctx context.Context, list string, w SyncWrite) (*ListItem, error)
	ListListItems(ctx context.Context, list string, p *SyncListParams) iter.Seq2[*ListItem, error]
	UpdateListItem(ctx context.Context, list string, index int, mutate ListItemMutator, opts ...UpdateOption) (*ListItem, error)
	UpdateListItemIf(ctx context.Context, list string, index int, etag string, w SyncWrite) (*ListItem, error)
	DeleteListItem(ctx context.Context, list string, index int) error
	DeleteListItemIf(ctx context.Context, list string, index int, etag string) error
	FetchMapItem(ctx context.Context, m, key string) (*MapItem, error)
	CreateMapItem(ctx context.Context, m, key string, w SyncWrite) (*MapItem, error)
	ListMapItems(ctx context.Context, m string, p *SyncListParams) iter.Seq2[*MapItem, error]
	UpdateMapItem(ctx context.Context, m, key string, mutate MapItemMutator, opts ...UpdateOption) (*MapItem, error)
	UpdateMapItemIf(ctx context.Context, m, key, etag string, w SyncWrite) (*MapItem, error)
	DeleteMapItem(ctx context.Context, m, key string) error
	DeleteMapItemIf(ctx context.Context, m, key, etag string) error
}

var _ SyncAPI = SyncService{}
