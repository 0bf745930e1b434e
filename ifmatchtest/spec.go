package ifmatchtest

import (
	"hash/fnv"
	"net/http"
	"strconv"
	"strings"
)

// SpecExact makes the fake follow Twilio's OpenAPI specs where the fake
// otherwise does more than they declare. Today that is one place: fetching
// or updating a reservation through its Worker
// (/Workers/WK…/Reservations/WR…) answers without an ETag header, as the spec
// declares (the Task path, /Tasks/WT…/Reservations/WR…, declares and sends
// one). Without SpecExact the Worker path sends the reservation's ETag too.
func SpecExact() Option { return func(f *Fake) { f.specExact = true } }

// Twilio's hosts: the fake names them in url and links fields when it has
// no listener of its own (see [NewFake]).
const (
	taskRouterHost = "https://taskrouter.twilio.com"
	syncHost       = "https://sync.twilio.com"
)

// syncBase is the base URL of Sync resources' url and links fields: the
// Sync host under NewFake, else the fake's own base URL.
func (f *Fake) syncBase() string {
	if f.base == taskRouterHost {
		return syncHost
	}
	return f.base
}

// hostFor is the base URL of the resources under path.
func (f *Fake) hostFor(path string) string {
	if strings.HasPrefix(path, "/v1/Services") {
		return f.syncBase()
	}
	return f.base
}

// resvETag is the version sent as a reservation's ETag, or -1 for none.
func (f *Fake) resvETag(rv *resvRec, fromWorker bool) string {
	if fromWorker && f.specExact {
		return ""
	}
	return f.etag(rv.sid, rv.version)
}

// methodNotAllowed answers 405 with Twilio's JSON error (code 20004).
func methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusMethodNotAllowed, 20004, "Method "+r.Method+" not allowed on "+r.URL.Path)
}

// badQuery answers 400 (code 20001) to a query parameter the fake cannot
// honour; msg names the parameter.
func badQuery(w http.ResponseWriter, msg string) {
	writeError(w, http.StatusBadRequest, 20001, msg)
}

// listETag is the ETag of a list answer: a strong tag over the SID and
// version of every item the list's filters select (all pages), so it
// changes when any of them is written, added or removed.
func listETag(versions []string) string {
	h := fnv.New64a()
	for _, v := range versions {
		_, _ = h.Write([]byte(v))
		_, _ = h.Write([]byte{0})
	}
	return `"` + strconv.FormatUint(h.Sum64(), 16) + `"`
}

// itemVersion is one item's entry in the versions of [listETag].
func itemVersion(sid string, version int) string { return sid + "=" + strconv.Itoa(version) }

// workerLinks are a Worker's links, as Twilio sends them.
func (f *Fake) workerLinks(w *workerRec) map[string]string {
	ws := f.base + "/v1/Workspaces/" + w.ws
	u := ws + "/Workers/" + w.sid
	return map[string]string{
		"activity":              ws + "/Activities/" + w.activitySID,
		"workspace":             ws,
		"channels":              u + "/Channels",
		"reservations":          u + "/Reservations",
		"statistics":            ws + "/Workers/Statistics",
		"real_time_statistics":  ws + "/Workers/RealTimeStatistics",
		"cumulative_statistics": ws + "/Workers/CumulativeStatistics",
		"worker_statistics":     u + "/Statistics",
		"worker_channels":       u + "/Channels",
	}
}
