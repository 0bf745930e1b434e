package ifmatchtest

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// syncService is a stored Sync Service's settings.
type syncService struct {
	sid, friendlyName, webhookURL    string
	aclEnabled, webhooksFromREST     bool
	reachabilityWebhooks, debouncing bool
	debouncingWindow                 int
	created, updated                 time.Time
	seq                              int
}

// syncContainer is a stored Sync List or Map (kind "Lists" or "Maps").
type syncContainer struct {
	kind, svc, sid, uniqueName string
	revision                   int
	created, updated, expires  time.Time
	seq                        int
	nextIndex                  int // Lists: the index the next item gets
}

// AddSyncService creates a Sync service and returns its SID.
func (f *Fake) AddSyncService() string {
	sid := NewSID("IS")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.services[sid] = true
	f.serviceRec(sid)
	return sid
}

// AddSyncList creates a Sync List named uniqueName ("" for none) in service
// svc and returns its SID.
func (f *Fake) AddSyncList(svc, uniqueName string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addContainer(svc, "Lists", uniqueName).sid
}

// AddSyncMap creates a Sync Map named uniqueName ("" for none) in service
// svc and returns its SID.
func (f *Fake) AddSyncMap(svc, uniqueName string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addContainer(svc, "Maps", uniqueName).sid
}

// addContainer stores a new List or Map. Called with f.mu held.
func (f *Fake) addContainer(svc, kind, name string) *syncContainer {
	prefix := map[string]string{"Lists": "ES", "Maps": "MP"}[kind]
	now := f.now()
	f.contSeq++
	c := &syncContainer{kind: kind, svc: svc, sid: NewSID(prefix), uniqueName: name, created: now, updated: now, seq: f.contSeq}
	f.services[svc] = true
	f.serviceRec(svc)
	f.contRecs[svc+"/"+kind+"/"+c.sid] = c
	f.containers[svc+"/"+kind+"/"+c.sid] = c.sid
	if name != "" {
		f.containers[svc+"/"+kind+"/"+name] = c.sid
	}
	return c
}

// serviceRec returns service sid's settings, made with Twilio's defaults
// the first time (services seeded through AddDocument and the like have
// none yet). Called with f.mu held.
func (f *Fake) serviceRec(sid string) *syncService {
	if s := f.svcRecs[sid]; s != nil {
		return s
	}
	now := f.now()
	f.contSeq++
	s := &syncService{sid: sid, debouncingWindow: 5000, created: now, updated: now, seq: f.contSeq}
	f.svcRecs[sid] = s
	return s
}

func (f *Fake) serviceJSON(s *syncService) map[string]any {
	u := f.syncBase() + "/v1/Services/" + s.sid
	var name, hook any
	if s.friendlyName != "" {
		name = s.friendlyName
	}
	if s.webhookURL != "" {
		hook = s.webhookURL
	}
	return map[string]any{"sid": s.sid, "unique_name": nil, "account_sid": AccountSID, "friendly_name": name,
		"date_created": s.created.Format(time.RFC3339), "date_updated": s.updated.Format(time.RFC3339), "url": u,
		"webhook_url": hook, "webhooks_from_rest_enabled": s.webhooksFromREST,
		"reachability_webhooks_enabled": s.reachabilityWebhooks, "acl_enabled": s.aclEnabled,
		"reachability_debouncing_enabled": s.debouncing, "reachability_debouncing_window": s.debouncingWindow,
		"links": map[string]string{"documents": u + "/Documents", "lists": u + "/Lists", "maps": u + "/Maps",
			"streams": u + "/Streams"}}
}

func (f *Fake) containerJSON(c *syncContainer) map[string]any {
	u := f.syncBase() + "/v1/Services/" + c.svc + "/" + c.kind + "/" + c.sid
	m := map[string]any{"sid": c.sid, "unique_name": nil, "account_sid": AccountSID, "service_sid": c.svc, "url": u,
		"links":    map[string]string{"items": u + "/Items", "permissions": u + "/Permissions"},
		"revision": strconv.Itoa(c.revision), "date_expires": nil, "date_created": c.created.Format(time.RFC3339),
		"date_updated": c.updated.Format(time.RFC3339), "created_by": "system"}
	if c.uniqueName != "" {
		m["unique_name"] = c.uniqueName
	}
	if !c.expires.IsZero() {
		m["date_expires"] = c.expires.Format(time.RFC3339)
	}
	return m
}

// applyServiceForm validates and applies CreateService's and
// UpdateService's fields; it returns a 400 message or "".
func applyServiceForm(s *syncService, form url.Values, now time.Time) string {
	if v, ok := form["FriendlyName"]; ok {
		s.friendlyName = v[0]
	}
	if v, ok := form["WebhookUrl"]; ok {
		if v[0] != "" {
			if u, err := url.Parse(v[0]); err != nil || u.Scheme == "" || u.Host == "" {
				return "WebhookUrl must be an absolute URL"
			}
		}
		s.webhookURL = v[0]
	}
	for _, b := range []struct {
		name string
		to   *bool
	}{{"AclEnabled", &s.aclEnabled}, {"WebhooksFromRestEnabled", &s.webhooksFromREST},
		{"ReachabilityWebhooksEnabled", &s.reachabilityWebhooks}, {"ReachabilityDebouncingEnabled", &s.debouncing}} {
		if v, ok := form[b.name]; ok {
			x, err := strconv.ParseBool(v[0])
			if err != nil {
				return b.name + " must be true or false"
			}
			*b.to = x
		}
	}
	if v, ok := form["ReachabilityDebouncingWindow"]; ok {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 1000 || n > 30000 {
			return "ReachabilityDebouncingWindow must be an integer from 1000 to 30000 (milliseconds)"
		}
		s.debouncingWindow = n
	}
	s.updated = now
	return ""
}

// applyContainerForm validates and applies a List's or Map's Ttl and
// CollectionTtl (an alias of Ttl); it returns a 400 message or "".
func applyContainerForm(c *syncContainer, form url.Values, now time.Time) string {
	for _, k := range []string{"Ttl", "CollectionTtl"} {
		v, ok := form[k]
		if !ok {
			continue
		}
		n, msg := parseTTL(k, v[0])
		if msg != "" {
			return msg
		}
		c.expires = time.Time{}
		if n > 0 {
			c.expires = now.Add(time.Duration(n) * time.Second)
		}
	}
	c.updated = now
	return ""
}

// servicesCollection serves /v1/Services. Called with f.mu held.
func (f *Fake) servicesCollection(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		var all []*syncService
		for sid := range f.services {
			all = append(all, f.serviceRec(sid))
		}
		sort.Slice(all, func(i, j int) bool { return all[i].seq < all[j].seq })
		var items []any
		for _, s := range all {
			items = append(items, f.serviceJSON(s))
		}
		f.writePage(w, r, "services", items, "")
	case http.MethodPost:
		scratch := syncService{debouncingWindow: 5000}
		if msg := applyServiceForm(&scratch, r.PostForm, f.now()); msg != "" {
			writeError(w, http.StatusBadRequest, 20001, msg)
			return
		}
		sid := NewSID("IS")
		f.services[sid] = true
		s := f.serviceRec(sid)
		_ = applyServiceForm(s, r.PostForm, f.now())
		writeJSON(w, http.StatusCreated, "", f.serviceJSON(s))
	default:
		methodNotAllowed(w, r)
	}
}

// service serves /v1/Services/IS…. Called with f.mu held.
func (f *Fake) service(w http.ResponseWriter, r *http.Request, sid string) {
	s := f.serviceRec(sid)
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, "", f.serviceJSON(s))
	case http.MethodPost:
		next := *s
		if msg := applyServiceForm(&next, r.PostForm, f.now()); msg != "" {
			writeError(w, http.StatusBadRequest, 20001, msg)
			return
		}
		*s = next
		writeJSON(w, http.StatusOK, "", f.serviceJSON(s))
	case http.MethodDelete:
		// Everything in the service goes with it.
		for k, o := range f.syncObjs {
			if o.svc == sid {
				delete(f.syncObjs, k)
			}
		}
		for _, c := range f.contRecs {
			if c.svc == sid {
				f.dropContainer(c)
			}
		}
		for k := range f.containers {
			if strings.HasPrefix(k, sid+"/") {
				delete(f.containers, k)
			}
		}
		delete(f.services, sid)
		delete(f.svcRecs, sid)
		w.WriteHeader(http.StatusNoContent)
	default:
		methodNotAllowed(w, r)
	}
}

// containerCollection serves /v1/Services/IS…/Lists and …/Maps. Called with
// f.mu held.
func (f *Fake) containerCollection(w http.ResponseWriter, r *http.Request, svc, kind string) {
	switch r.Method {
	case http.MethodGet:
		var all []*syncContainer
		for _, c := range f.contRecs {
			if c.svc == svc && c.kind == kind {
				all = append(all, c)
			}
		}
		sort.Slice(all, func(i, j int) bool { return all[i].seq < all[j].seq })
		var items []any
		for _, c := range all {
			items = append(items, f.containerJSON(c))
		}
		f.writePage(w, r, map[string]string{"Lists": "lists", "Maps": "maps"}[kind], items, "")
	case http.MethodPost:
		name := r.PostForm.Get("UniqueName")
		if utf8.RuneCountInString(name) > 320 {
			writeError(w, http.StatusBadRequest, 20001, "UniqueName can be up to 320 characters long")
			return
		}
		if name != "" && f.containers[svc+"/"+kind+"/"+name] != "" {
			writeError(w, http.StatusConflict, 54301, "Unique name already exists")
			return
		}
		var scratch syncContainer
		if msg := applyContainerForm(&scratch, r.PostForm, f.now()); msg != "" {
			writeError(w, http.StatusBadRequest, 20001, msg)
			return
		}
		c := f.addContainer(svc, kind, name)
		_ = applyContainerForm(c, r.PostForm, f.now())
		writeJSON(w, http.StatusCreated, "", f.containerJSON(c))
	default:
		methodNotAllowed(w, r)
	}
}

// container serves /v1/Services/IS…/Lists/{SID or unique name} and the
// same for Maps. Called with f.mu held.
func (f *Fake) container(w http.ResponseWriter, r *http.Request, svc, kind, id string) {
	c := f.contRecs[svc+"/"+kind+"/"+f.containers[svc+"/"+kind+"/"+id]]
	if c == nil {
		notFound(w, r)
		return
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, "", f.containerJSON(c))
	case http.MethodPost:
		next := *c
		if msg := applyContainerForm(&next, r.PostForm, f.now()); msg != "" {
			writeError(w, http.StatusBadRequest, 20001, msg)
			return
		}
		next.revision++
		*c = next
		writeJSON(w, http.StatusOK, "", f.containerJSON(c))
	case http.MethodDelete:
		f.dropContainer(c)
		w.WriteHeader(http.StatusNoContent)
	default:
		methodNotAllowed(w, r)
	}
}

// dropContainer deletes a List or Map, its names and its items. Called
// with f.mu held.
func (f *Fake) dropContainer(c *syncContainer) {
	for k, o := range f.syncObjs {
		if o.svc == c.svc && o.kind == c.kind && o.container == c.sid {
			delete(f.syncObjs, k)
		}
	}
	delete(f.contRecs, c.svc+"/"+c.kind+"/"+c.sid)
	delete(f.containers, c.svc+"/"+c.kind+"/"+c.sid)
	if c.uniqueName != "" {
		delete(f.containers, c.svc+"/"+c.kind+"/"+c.uniqueName)
	}
}
