// Package listparams holds the list-parameter checks that ifmatch's Client
// makes before sending a request, shared with ifmatchtest's in-memory
// stubs so that both refuse exactly the same input.
package listparams

import "fmt"

// Page-size limits of the specs: TaskRouter lists take 1-1000, Sync lists
// 1-100.
const (
	TaskRouterMaxPageSize = 1000
	SyncMaxPageSize       = 100
)

// CheckPageSize reports a PageSize outside 1-max, wrapping invalid (the
// caller's ErrInvalidArgument). 0 (leave the server's default) is valid.
func CheckPageSize(invalid error, n, max int) error {
	if n != 0 && (n < 1 || n > max) {
		return fmt.Errorf("%w: PageSize %d is outside 1-%d", invalid, n, max)
	}
	return nil
}
