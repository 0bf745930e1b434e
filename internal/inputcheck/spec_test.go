package inputcheck

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestValidNameCountsCharacters(t *testing.T) {
	for _, tc := range []struct {
		s  string
		ok bool
	}{
		{strings.Repeat("a", 320), true},
		{strings.Repeat("a", 321), false},
		{strings.Repeat("é", 320), true}, // 640 bytes
		{strings.Repeat("é", 321), false},
		{strings.Repeat("日", 200), true},
		{"", false}, {".", false}, {"..", false}, {"a\nb", false}, {"\xff", false},
	} {
		if got := ValidName(tc.s); got != tc.ok {
			t.Errorf("ValidName(%d runes, %d bytes) = %v, want %v", len([]rune(tc.s)), len(tc.s), got, tc.ok)
		}
	}
}

func TestCheckSyncTTLs(t *testing.T) {
	invalid := errors.New("invalid")
	d := func(x time.Duration) *time.Duration { return &x }
	for _, tc := range []struct {
		name       string
		ttls       SyncTTLs
		item, data bool
		want       string // "" for valid
	}{
		{"TTL alone", SyncTTLs{TTL: d(time.Hour)}, false, false, ""},
		{"a year", SyncTTLs{ItemTTL: d(MaxSyncTTL), CollectionTTL: d(MaxSyncTTL)}, true, true, ""},
		{"over a year", SyncTTLs{TTL: d(MaxSyncTTL + time.Second)}, false, true, "SyncWrite.TTL"},
		{"negative", SyncTTLs{ItemTTL: d(-time.Second)}, true, true, "SyncWrite.ItemTTL"},
		{"fraction", SyncTTLs{ItemTTL: d(time.Millisecond)}, true, true, "whole number"},
		{"ItemTTL on a document", SyncTTLs{ItemTTL: d(time.Hour)}, false, true, "List and Map items only"},
		{"TTL and ItemTTL", SyncTTLs{TTL: d(time.Hour), ItemTTL: d(time.Hour)}, true, true, "give one"},
		{"CollectionTTL alone", SyncTTLs{CollectionTTL: d(time.Hour)}, true, false, "SyncWrite.CollectionTTL"},
		{"CollectionTTL with TTL", SyncTTLs{TTL: d(0), CollectionTTL: d(time.Hour)}, true, false, ""},
		{"CollectionTTL with data", SyncTTLs{CollectionTTL: d(time.Hour)}, true, true, ""},
	} {
		err := CheckSyncTTLs(invalid, tc.ttls, tc.item, tc.data)
		if tc.want == "" && err != nil || tc.want != "" && (!errors.Is(err, invalid) || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestCheckReservationParams(t *testing.T) {
	invalid := errors.New("invalid")
	for _, tc := range []struct {
		params url.Values
		worker bool
		want   string // "" for valid
	}{
		{url.Values{"DequeueFrom": {"+1"}, "Supervisor": {"client:a"}, "SupervisorMode": {"monitor"}}, false, ""},
		{url.Values{"DequeueFrom": {"+1"}}, true, ""},
		{url.Values{"Supervisor": {"client:a"}}, true, "Task reservation update only"},
		{url.Values{"SupervisorMode": {"monitor"}}, true, "SupervisorMode"},
		{url.Values{"ReservationStatus": {"canceled"}}, false, "ReservationUpdate.ReservationStatus instead"},
		{url.Values{"WorkerActivitySid": {"../x"}}, true, "ReservationUpdate.WorkerActivitySID instead"},
		{url.Values{"Instruction": {"x"}}, false, "ReservationUpdate.Instruction instead"},
		{url.Values{"PostWorkActivitySid": {"x"}}, false, "ReservationUpdate.PostWorkActivitySID instead"},
		{url.Values{"Nope": {"1"}}, false, "not a form field"},
	} {
		err := CheckReservationParams(invalid, tc.params, tc.worker)
		if tc.want == "" && err != nil || tc.want != "" && (!errors.Is(err, invalid) || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%v (worker path %v): %v, want %q", tc.params, tc.worker, err, tc.want)
		}
	}
	if n, m := len(ReservationParams(false)), len(ReservationParams(true)); n != 54 || m != 52 {
		t.Errorf("the spec's UpdateTaskReservation takes 54 fields, UpdateWorkerReservation 52; the lists have %d, %d", n, m)
	}
}
