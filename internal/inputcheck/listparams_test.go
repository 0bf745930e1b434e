package inputcheck

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckPageSize(t *testing.T) {
	invalid := errors.New("invalid")
	for _, tc := range []struct {
		n, max int
		ok     bool
	}{
		{0, SyncMaxPageSize, true}, // the server's default
		{1, SyncMaxPageSize, true},
		{100, SyncMaxPageSize, true},
		{101, SyncMaxPageSize, false},
		{1000, TaskRouterMaxPageSize, true},
		{1001, TaskRouterMaxPageSize, false},
		{-1, TaskRouterMaxPageSize, false},
	} {
		err := CheckPageSize(invalid, tc.n, tc.max)
		if (err == nil) != tc.ok {
			t.Errorf("CheckPageSize(%d, max %d) = %v, want ok %t", tc.n, tc.max, err, tc.ok)
		}
		if err != nil && (!errors.Is(err, invalid) || !strings.Contains(err.Error(), "1-")) {
			t.Errorf("CheckPageSize(%d): %v does not wrap the caller's error and name the range", tc.n, err)
		}
	}
}
