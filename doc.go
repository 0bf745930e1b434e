// Package ifmatch is a Go client for Twilio's REST resources that support
// optimistic concurrency (ETag / If-Match): TaskRouter Tasks, Workers and
// reservations, and Sync Documents, List items and Map items. It turns the
// tedious and subtle read-modify-write dance into one call:
//
//	client, err := ifmatch.NewClient(accountSID, authToken)
//	task, err := client.Workspace("WS...").UpdateTask(ctx, "WT...", func(t *ifmatch.Task) error {
//		t.Attributes["foo"] = "bar-SFO"
//		return nil
//	})
//
// # Conditional updates
//
// Every Task response carries an ETag, the Task's version. A write sent with
// If-Match: <etag> lands only if the Task is still at that version; otherwise
// Twilio answers 412 and nothing changes. [Workspace.UpdateTask] reads the
// Task, applies the mutator to a copy, sends only the fields that changed
// with If-Match, and on a 412 reads again and re-applies the mutator, with
// jittered backoff, until the write lands. A mutator that changes nothing
// causes no write. [Workspace.UpdateTaskIf] is the single conditional write,
// without a loop. Workers, reservations and Sync Documents, List Items and
// Map Items have the same calls, all on one engine.
//
// Goroutines that update one resource through one Client are coalesced: the
// calls that arrive while a write is in flight are applied together, in
// order, by the next single write (group commit).
//
// # Retries
//
// Two layers retry, with separate jobs. The transport (go-retryablehttp)
// repeats a GET or DELETE after a connection error, a 429 or a 5xx, and a
// POST only when it provably never reached Twilio (a dial error) or Twilio
// refused it unprocessed (429). Server Retry-After hints are honoured,
// clamped, and never waited past the context's deadline. The update loop
// retries 412s only. A write whose outcome is unknown (connection lost after
// sending, 5xx) is never blindly repeated: the loop reads the Task back and
// repeats it only when the ETag proves it did not land; see
// [ErrOutcomeUnknown] and [Idempotent].
//
// # Exactly once, merge patches, typed attributes
//
// [IdempotencyKey] applies an update at most once per event (a TaskRouter
// callback, a queue message), however often and however concurrently it is
// delivered: the key is recorded with the change, in the same conditional
// write, and a later delivery finds it and reports [AlreadyApplied].
// [MergeTaskAttributes] and its siblings deep-merge an RFC 7386 patch into
// attributes or Sync data. [UpdateTaskAttributes], [UpdateTaskWithAttributes]
// and their siblings let a function work on a struct kept in attributes or
// data, and write back only the keys it changed.
//
// # Errors
//
// API failures are [*APIError] values; test them with errors.Is against
// [ErrNotFound], [ErrPreconditionFailed], [ErrRateLimited], [ErrUnauthorized]
// and [ErrAlreadyExists]. The loop adds [ErrConflict] (a [*ConflictError] that
// still wraps the last 412), [ErrMutatorAborted] and [ErrOutcomeUnknown].
// Bad input is [ErrInvalidArgument], caught before any request. No error, log
// line or formatted value ever holds the auth token or API secret.
// [HTTPStatus] maps any of them to the status a service should answer with,
// checking them in the right order.
//
// # Limits and security
//
// Every bound is stated and enforced, so no server, however broken or
// hostile, can crash a caller, hang it without a deadline or exhaust its
// memory:
//   - each attempt of a request has a timeout, [DefaultTryTimeout] (30 s),
//     unless the http.Client given to [WithHTTPClient] sets its own; bound a
//     whole call with the context;
//   - a body is read up to [MaxBodyBytes] (10 MiB) for a list page and
//     [MaxResourceBytes] (1 MiB) for one resource or list item; a larger one
//     is an [ErrBadResponse] and is not downloaded again;
//   - a 2xx body of one resource (or list item) must be a JSON object that
//     names the resource asked for: its sid (of the right prefix), a Sync
//     List item's index or a Map item's key, and a Document asked for by
//     unique name, its unique_name; a create's answer, a well-formed one.
//     A read answered otherwise is an [ErrBadResponse], on which no write
//     is built; a write answered 2xx otherwise landed all the same (see
//     [ErrBadResponse]);
//   - a list ends with [ErrBadResponse] after [MaxEmptyPages] empty pages in
//     a row that link onward, and checks its context before each page; a
//     next_page_url is followed only on the Client's own base URL, below its
//     path;
//   - the credentials are unprintable by construction (every fmt verb,
//     copies of a Client, encoding/json, log/slog); constructor errors never
//     quote a value that may be a secret; and text a server sends back
//     (error messages, details, bodies) has the Client's credentials
//     replaced by "[redacted]" before any error or log line shows it;
//   - redirects are never followed, certificate errors are never retried,
//     and plain http is accepted only on loopback.
//
// # Testing
//
// Package ifmatchtest is an in-memory Twilio with Twilio's ETag semantics and
// fault injection, served on loopback ([ifmatchtest.NewServer]) or behind an
// httpmock transport ([ifmatchtest.Fake.MockClient]). For the lightest unit
// tests, depend on the [TaskAPI], [WorkerAPI] and [SyncAPI] interfaces and
// substitute ifmatchtest's in-memory implementations
// ([ifmatchtest.NewMemoryWorkspace], [ifmatchtest.NewMemorySync]), which keep
// the Client's contract; a stub of your own honours the options with
// [ResolveOptions] or runs this package's loop with [RunUpdate].
package ifmatch
