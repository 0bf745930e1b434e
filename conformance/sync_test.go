package conformance

import (
	"slices"
	"testing"

	syncv1 "github.com/twilio/twilio-go/rest/sync/v1"
)

// TestSync: twilio-go creates its own Service, Documents, Lists and Maps on
// the fake, and runs every conditional operation on their items.
func TestSync(t *testing.T) {
	t.Parallel()
	_, rc := setup(t)
	sy := rc.SyncV1

	// Service.
	svc, err := sy.CreateServiceWithMetadata((&syncv1.CreateServiceParams{}).SetFriendlyName("s").SetAclEnabled(true).
		SetReachabilityDebouncingWindow(6000).SetWebhookUrl("https://example.com/hook"))
	ok(t, "create service", err)
	if svc.GetStatusCode() != 201 {
		t.Errorf("create service: %d", svc.GetStatusCode())
	}
	is := str(svc.Resource.Sid)
	fs, err := sy.FetchService(is)
	ok(t, "fetch service", err)
	if str(fs.FriendlyName) != "s" || fs.AclEnabled == nil || !*fs.AclEnabled {
		t.Errorf("fetch service: %+v", fs)
	}
	us, err := sy.UpdateService(is, (&syncv1.UpdateServiceParams{}).SetFriendlyName("t"))
	ok(t, "update service", err)
	if str(us.FriendlyName) != "t" {
		t.Errorf("update service: %+v", us)
	}
	ls, err := sy.ListService(&syncv1.ListServiceParams{})
	ok(t, "list services", err)
	if got := sids(ls, func(x syncv1.SyncV1Service) *string { return x.Sid }); !slices.Equal(got, []string{is}) {
		t.Errorf("list services: %v", got)
	}

	// Document.
	doc, err := sy.CreateDocumentWithMetadata(is, (&syncv1.CreateDocumentParams{}).SetUniqueName("d").SetData(map[string]any{"n": 1}))
	ok(t, "create document", err)
	et := str(doc.Resource.Sid)
	e0 := etagOf(t, "create document", doc.GetStatusCode(), doc.GetHeaders(), 201)
	fd, err := sy.FetchDocumentWithMetadata(is, "d")
	ok(t, "fetch document by unique name", err)
	if e := etagOf(t, "fetch document", fd.GetStatusCode(), fd.GetHeaders(), 200); e != e0 || str(fd.Resource.Sid) != et {
		t.Errorf("fetch document: %s %s", e, str(fd.Resource.Sid))
	}
	ud, err := sy.UpdateDocumentWithMetadata(is, et, (&syncv1.UpdateDocumentParams{}).SetIfMatch(e0).SetData(map[string]any{"n": 2}))
	ok(t, "update document with the current If-Match", err)
	if e1 := etagOf(t, "update document", ud.GetStatusCode(), ud.GetHeaders(), 200); e1 == e0 || str(ud.Resource.Revision) != "1" {
		t.Errorf("update document: ETag %s, revision %s", e1, str(ud.Resource.Revision))
	}
	_, err = sy.UpdateDocument(is, et, (&syncv1.UpdateDocumentParams{}).SetIfMatch(e0).SetData(map[string]any{"n": 3}))
	wantError(t, "update document with a stale If-Match", err, 412, 54103, "")
	ld, err := sy.ListDocument(is, &syncv1.ListDocumentParams{})
	ok(t, "list documents", err)
	if got := sids(ld, func(x syncv1.SyncV1Document) *string { return x.Sid }); !slices.Equal(got, []string{et}) {
		t.Errorf("list documents: %v", got)
	}
	// DeleteDocument takes no If-Match in the spec (nor in twilio-go).
	ok(t, "delete document", sy.DeleteDocument(is, et))
	_, err = sy.FetchDocument(is, et)
	wantError(t, "fetch document after delete", err, 404, 20404, "")

	// List and its items.
	l, err := sy.CreateSyncListWithMetadata(is, (&syncv1.CreateSyncListParams{}).SetUniqueName("l").SetTtl(3600))
	ok(t, "create list", err)
	if l.GetStatusCode() != 201 || str(l.Resource.Revision) != "0" {
		t.Errorf("create list: %d %+v", l.GetStatusCode(), l.Resource)
	}
	es := str(l.Resource.Sid)
	if fl, err := sy.FetchSyncList(is, "l"); err != nil || str(fl.Sid) != es {
		t.Errorf("fetch list by unique name: %v %v", fl, err)
	}
	if ul, err := sy.UpdateSyncList(is, es, (&syncv1.UpdateSyncListParams{}).SetCollectionTtl(7200)); err != nil || str(ul.Revision) != "1" {
		t.Errorf("update list: %v %v", ul, err)
	}
	if ll, err := sy.ListSyncList(is, &syncv1.ListSyncListParams{}); err != nil || len(ll) != 1 || str(ll[0].Sid) != es {
		t.Errorf("list lists: %v %v", ll, err)
	}
	for i := 0; i < 5; i++ {
		li, err := sy.CreateSyncListItemWithMetadata(is, es, (&syncv1.CreateSyncListItemParams{}).SetData(map[string]any{"i": i}))
		ok(t, "create list item", err)
		etagOf(t, "create list item", li.GetStatusCode(), li.GetHeaders(), 201)
		if li.Resource.Index != i {
			t.Errorf("item %d has index %d", i, li.Resource.Index)
		}
	}
	fi, err := sy.FetchSyncListItemWithMetadata(is, es, 2)
	ok(t, "fetch list item", err)
	i0 := etagOf(t, "fetch list item", fi.GetStatusCode(), fi.GetHeaders(), 200)
	ui, err := sy.UpdateSyncListItemWithMetadata(is, es, 2, (&syncv1.UpdateSyncListItemParams{}).SetIfMatch(i0).SetData(map[string]any{"i": 20}))
	ok(t, "update list item with the current If-Match", err)
	if e := etagOf(t, "update list item", ui.GetStatusCode(), ui.GetHeaders(), 200); e == i0 {
		t.Errorf("update list item: ETag stayed %s", e)
	}
	_, err = sy.UpdateSyncListItem(is, es, 2, (&syncv1.UpdateSyncListItemParams{}).SetIfMatch(i0).SetData(map[string]any{}))
	wantError(t, "update list item with a stale If-Match", err, 412, 54155, "")
	err = sy.DeleteSyncListItem(is, es, 2, (&syncv1.DeleteSyncListItemParams{}).SetIfMatch(i0))
	wantError(t, "delete list item with a stale If-Match", err, 412, 54155, "")
	for _, c := range []struct {
		name string
		p    *syncv1.ListSyncListItemParams
		want []int
	}{
		{"none", &syncv1.ListSyncListItemParams{}, []int{0, 1, 2, 3, 4}},
		{"Order", (&syncv1.ListSyncListItemParams{}).SetOrder("desc"), []int{4, 3, 2, 1, 0}},
		{"From", (&syncv1.ListSyncListItemParams{}).SetFrom("1"), []int{1, 2, 3, 4}},
		{"From Bounds", (&syncv1.ListSyncListItemParams{}).SetFrom("1").SetBounds("exclusive"), []int{2, 3, 4}},
		{"From Order Bounds", (&syncv1.ListSyncListItemParams{}).SetFrom("3").SetOrder("desc").SetBounds("exclusive"), []int{2, 1, 0}},
		{"PageSize", (&syncv1.ListSyncListItemParams{}).SetPageSize(2), []int{0, 1, 2, 3, 4}},
	} {
		items, err := sy.ListSyncListItem(is, es, c.p)
		ok(t, "list list items "+c.name, err)
		var got []int
		for _, it := range items {
			got = append(got, it.Index)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("list list items %s: %v, want %v", c.name, got, c.want)
		}
	}
	_, err = sy.ListSyncListItem(is, es, (&syncv1.ListSyncListItemParams{}).SetOrder("sideways"))
	wantError(t, "list list items with a bad Order", err, 400, 20001, "Order")
	cur, err := sy.FetchSyncListItemWithMetadata(is, es, 2)
	ok(t, "fetch list item before delete", err)
	ok(t, "delete list item with the current If-Match", sy.DeleteSyncListItem(is, es, 2, (&syncv1.DeleteSyncListItemParams{}).SetIfMatch(cur.GetHeader("ETag"))))
	_, err = sy.FetchSyncListItem(is, es, 2)
	wantError(t, "fetch list item after delete", err, 404, 20404, "")

	// Map and its items.
	m, err := sy.CreateSyncMapWithMetadata(is, (&syncv1.CreateSyncMapParams{}).SetUniqueName("m"))
	ok(t, "create map", err)
	if m.GetStatusCode() != 201 {
		t.Errorf("create map: %d", m.GetStatusCode())
	}
	mp := str(m.Resource.Sid)
	if fm, err := sy.FetchSyncMap(is, "m"); err != nil || str(fm.Sid) != mp {
		t.Errorf("fetch map by unique name: %v %v", fm, err)
	}
	if um, err := sy.UpdateSyncMap(is, mp, (&syncv1.UpdateSyncMapParams{}).SetTtl(60)); err != nil || str(um.Revision) != "1" || um.DateExpires == nil {
		t.Errorf("update map: %v %v", um, err)
	}
	if lm, err := sy.ListSyncMap(is, &syncv1.ListSyncMapParams{}); err != nil || len(lm) != 1 || str(lm[0].Sid) != mp {
		t.Errorf("list maps: %v %v", lm, err)
	}
	for i, k := range []string{"a", "b", "c", "d"} {
		mi, err := sy.CreateSyncMapItemWithMetadata(is, mp, (&syncv1.CreateSyncMapItemParams{}).SetKey(k).SetData(map[string]any{"i": i}))
		ok(t, "create map item", err)
		etagOf(t, "create map item "+k, mi.GetStatusCode(), mi.GetHeaders(), 201)
	}
	fmi, err := sy.FetchSyncMapItemWithMetadata(is, mp, "b")
	ok(t, "fetch map item", err)
	k0 := etagOf(t, "fetch map item", fmi.GetStatusCode(), fmi.GetHeaders(), 200)
	umi, err := sy.UpdateSyncMapItemWithMetadata(is, mp, "b", (&syncv1.UpdateSyncMapItemParams{}).SetIfMatch(k0).SetData(map[string]any{"i": 10}))
	ok(t, "update map item with the current If-Match", err)
	if e := etagOf(t, "update map item", umi.GetStatusCode(), umi.GetHeaders(), 200); e == k0 {
		t.Errorf("update map item: ETag stayed %s", e)
	}
	_, err = sy.UpdateSyncMapItem(is, mp, "b", (&syncv1.UpdateSyncMapItemParams{}).SetIfMatch(k0).SetData(map[string]any{}))
	wantError(t, "update map item with a stale If-Match", err, 412, 54205, "")
	err = sy.DeleteSyncMapItem(is, mp, "b", (&syncv1.DeleteSyncMapItemParams{}).SetIfMatch(k0))
	wantError(t, "delete map item with a stale If-Match", err, 412, 54205, "")
	for _, c := range []struct {
		name string
		p    *syncv1.ListSyncMapItemParams
		want string
	}{
		{"none", &syncv1.ListSyncMapItemParams{}, "abcd"},
		{"Order", (&syncv1.ListSyncMapItemParams{}).SetOrder("desc"), "dcba"},
		{"From", (&syncv1.ListSyncMapItemParams{}).SetFrom("b"), "bcd"},
		{"From Bounds", (&syncv1.ListSyncMapItemParams{}).SetFrom("b").SetBounds("exclusive"), "cd"},
		{"From Order", (&syncv1.ListSyncMapItemParams{}).SetFrom("c").SetOrder("desc"), "cba"},
		{"PageSize", (&syncv1.ListSyncMapItemParams{}).SetPageSize(3), "abcd"},
	} {
		items, err := sy.ListSyncMapItem(is, mp, c.p)
		ok(t, "list map items "+c.name, err)
		got := ""
		for _, it := range items {
			got += str(it.Key)
		}
		if got != c.want {
			t.Errorf("list map items %s: %s, want %s", c.name, got, c.want)
		}
	}
	_, err = sy.ListSyncMapItem(is, mp, (&syncv1.ListSyncMapItemParams{}).SetBounds("maybe"))
	wantError(t, "list map items with a bad Bounds", err, 400, 20001, "Bounds")
	curm, err := sy.FetchSyncMapItemWithMetadata(is, mp, "b")
	ok(t, "fetch map item before delete", err)
	ok(t, "delete map item with the current If-Match", sy.DeleteSyncMapItem(is, mp, "b", (&syncv1.DeleteSyncMapItemParams{}).SetIfMatch(curm.GetHeader("ETag"))))
	_, err = sy.FetchSyncMapItem(is, mp, "b")
	wantError(t, "fetch map item after delete", err, 404, 20404, "")

	// Containers go with their items; then the service with everything.
	ok(t, "delete list", sy.DeleteSyncList(is, es))
	_, err = sy.FetchSyncList(is, es)
	wantError(t, "fetch list after delete", err, 404, 20404, "")
	_, err = sy.FetchSyncListItem(is, es, 0)
	wantError(t, "list item after its list's delete", err, 404, 20404, "")
	ok(t, "delete map", sy.DeleteSyncMap(is, mp))
	_, err = sy.FetchSyncMap(is, "m")
	wantError(t, "fetch map after delete", err, 404, 20404, "")
	ok(t, "delete service", sy.DeleteService(is))
	_, err = sy.FetchService(is)
	wantError(t, "fetch service after delete", err, 404, 20404, "")
}
