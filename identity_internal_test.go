package ifmatch

import (
	"net/url"
	"testing"
)

// Every path this package builds has an identity rule: a resource added
// without one would have its answers checked for nothing but being objects.
func TestIdentityOfEveryPath(t *testing.T) {
	t.Parallel()
	const (
		ws  = "WS0123456789abcdef0123456789abcdef"
		wt  = "WT0123456789abcdef0123456789abcdef"
		wk  = "WK0123456789abcdef0123456789abcdef"
		wr  = "WR0123456789abcdef0123456789abcdef"
		is  = "IS0123456789abcdef0123456789abcdef"
		et  = "ET0123456789abcdef0123456789abcdef"
		key = "Items" // a user's name where a fixed one sits elsewhere
	)
	w, s := Workspace{sid: ws}, SyncService{sid: is}
	must := func(p []string, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		path []string
		form url.Values
		want identity
	}{
		{must(w.taskPath(wt)), nil, identity{field: "sid", prefix: "WT", want: wt}},
		{[]string{"v1", "Workspaces", ws, "Tasks"}, nil, identity{field: "sid", prefix: "WT"}},
		{must(w.workerPath(wk)), nil, identity{field: "sid", prefix: "WK", want: wk}},
		{[]string{"v1", "Workspaces", ws, "Workers"}, nil, identity{field: "sid", prefix: "WK"}},
		{must(w.reservationPath(taskParent, wt, wr)), nil, identity{field: "sid", prefix: "WR", want: wr}},
		{must(w.reservationPath(workerParent, wk, wr)), nil, identity{field: "sid", prefix: "WR", want: wr}},
		{must(w.reservationsPath(workerParent, wk)), nil, identity{field: "sid", prefix: "WR"}},
		{must(s.documentPath(et)), nil, identity{field: "sid", prefix: "ET", want: et}},
		{must(s.documentPath("ET0123456789ABCDEF0123456789ABCDEF")), nil, identity{field: "sid", prefix: "ET", want: "ET0123456789ABCDEF0123456789ABCDEF", byName: true}},
		{must(s.documentPath("Documents")), nil, identity{field: "sid", prefix: "ET", want: "Documents", byName: true}},
		{must(s.documentsPath()), nil, identity{field: "sid", prefix: "ET"}},
		{must(s.listItemPath("Items", 7)), nil, identity{field: "index", want: "7"}},
		{append(must(s.base("Lists", "Lists")), "Items"), nil, identity{field: "index"}},
		{must(s.mapItemPath("Maps", key)), nil, identity{field: "key", want: key}},
		{append(must(s.base("Maps", "m")), "Items"), url.Values{"Key": {"k"}}, identity{field: "key", want: "k"}},
	} {
		if got := identityOf(&request{path: tc.path, form: tc.form}); got != tc.want {
			t.Errorf("identityOf(%q) = %+v, want %+v", tc.path, got, tc.want)
		}
	}
}
