package ifmatch_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ifmatch-go/ifmatch"
	"github.com/ifmatch-go/ifmatch/ifmatchtest"
)

// Twilio refuses a unique name that matches its SID pattern
// [A-Z]{2}[a-f0-9]{32} (error 54302), so "ET" and 32 upper-case hex digits
// is a legal unique name, and Twilio looks it up as one. ifmatch's own
// validSID accepts upper-case hex, so identityOf took the name for a SID
// and refused the Document's real answer (another sid, the unique_name
// asked for) as naming another resource.
func TestAdv4DocumentNamedLikeUpperCaseSID(t *testing.T) {
	t.Parallel()
	srv := ifmatchtest.NewServer()
	t.Cleanup(srv.Close)
	svc := srv.AddSyncService()
	name := "ET" + strings.Repeat("ABCDEF0123456789", 2)
	sid := srv.AddDocument(svc, name, map[string]any{"n": 1})
	s := srv.Client().SyncService(svc)
	d, err := s.FetchDocument(ctxT(t), name)
	if err != nil || d.SID != sid || d.UniqueName != name {
		t.Fatalf("FetchDocument(%q) = %+v, %v; want the Document %s", name, d, err, sid)
	}
	if _, err := s.UpdateDocument(ctxT(t), name, func(d *ifmatch.Document) error { d.Data["n"] = 2; return nil }); err != nil {
		t.Fatalf("UpdateDocument: %v", err)
	}
	if data, _, _ := srv.DocumentData(svc, sid); fmt.Sprint(data["n"]) != "2" {
		t.Fatalf("data = %v, want n 2", data)
	}
}
