package ifmatch

import (
	"net/url"
	"testing"
)

// SIDs of each kind, for building paths.
const (
	ws = "WS0123456789abcdef0123456789abcdef"
	wt = "WT0123456789abcdef0123456789abcdef"
	wk = "WK0123456789abcdef0123456789abcdef"
	wr = "WR0123456789abcdef0123456789abcdef"
	is = "IS0123456789abcdef0123456789abcdef"
	et = "ET0123456789abcdef0123456789abcdef"
	es = "ES0123456789abcdef0123456789abcdef"
	mp = "MP0123456789abcdef0123456789abcdef"
)

// pathRig returns a Workspace and a SyncService to build paths with, and
// must, which fails t on a path builder's error.
func pathRig(t *testing.T) (Workspace, SyncService, func([]string, error) []string) {
	return Workspace{sid: ws}, SyncService{sid: is}, func(p []string, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
}

// Every path this package builds has an identity rule: a resource added
// without one would have its answers checked for nothing but being objects.
func TestIdentityOfEveryPath(t *testing.T) {
	t.Parallel()
	const key = "Items" // a user's name where a fixed one sits elsewhere
	w, s, must := pathRig(t)
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

// The identity of a Task (and of every resource whose decoded SID or key
// tells a missing one) is checked on the decoded value: no second parse of
// the body, so the rule costs no allocation (a second parse cost 12 per
// request, about 8% of an uncontended update).
func TestIdentityCheckOfADecodedTaskAllocatesNothing(t *testing.T) {
	body := []byte(`{"sid":"` + wt + `","attributes":"{\"n\":1}","priority":0}`)
	id := identity{field: "sid", prefix: "WT", want: wt}
	plain := testing.AllocsPerRun(50, func() { _, _ = decodeTask(body, `"0"`) })
	checked := testing.AllocsPerRun(50, func() {
		if _, why, _ := readOne(id, body, `"0"`, decodeTask); why != "" {
			t.Fatal(why)
		}
	})
	if checked > plain {
		t.Errorf("readOne: %.0f allocations, decodeTask alone %.0f", checked, plain)
	}
}

// Only paths made of SIDs (and a List item's index under a List SID) may be
// served from the ETag cache: a unique name or Map key can be reused.
func TestStableName(t *testing.T) {
	t.Parallel()
	w, s, must := pathRig(t)
	for _, tc := range []struct {
		path   []string
		stable bool
	}{
		{must(w.taskPath(wt)), true},
		{must(w.workerPath(wk)), true},
		{must(w.reservationPath(taskParent, wt, wr)), true},
		{must(w.reservationPath(workerParent, wk, wr)), true},
		{must(s.documentPath(et)), true},
		{must(s.documentPath("config")), false},
		{must(s.documentPath("ET0123456789ABCDEF0123456789ABCDEF")), false}, // a unique name to Twilio
		{must(s.listItemPath(es, 7)), true},
		{must(s.listItemPath("cart", 7)), false},
		{must(s.mapItemPath(mp, "k")), false},
		{must(s.mapItemPath(mp, mp)), false}, // a key shaped like a SID is still a key
		{must(s.mapItemPath("sessions", "k")), false},
	} {
		if got := stableName(tc.path); got != tc.stable {
			t.Errorf("stableName(%q) = %v, want %v", tc.path, got, tc.stable)
		}
	}
}
