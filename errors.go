package ifmatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Sentinel errors. Test for them with [errors.Is]; every error ifmatch returns
// for an API failure is an [*APIError] whose Is method maps its status to one
// of these, and the loop's own outcomes wrap them.
var (
	// ErrNotFound reports an HTTP 404: the resource (or its parent) does not exist.
	ErrNotFound = errors.New("ifmatch: not found")
	// ErrPreconditionFailed reports an HTTP 412: the If-Match ETag sent was stale.
	ErrPreconditionFailed = errors.New("ifmatch: precondition failed")
	// ErrRateLimited reports an HTTP 429 that the transport retries did not absorb.
	ErrRateLimited = errors.New("ifmatch: rate limited")
	// ErrUnauthorized reports an HTTP 401 or 403: wrong credentials or no permission.
	ErrUnauthorized = errors.New("ifmatch: unauthorized")
	// ErrAlreadyExists reports an HTTP 409: the resource to create already
	// exists, for example a Sync Document or Map item whose unique name or
	// key is taken (Twilio code 54301 or 54208).
	ErrAlreadyExists = errors.New("ifmatch: already exists")
	// ErrConflict reports that an update loop gave up under contention: every
	// attempt it was allowed met a 412. The error also wraps the last 412, so
	// errors.As(err, &apiErr) finds it. See [ConflictError].
	ErrConflict = errors.New("ifmatch: conflict")
	// ErrMutatorAborted wraps the error a mutator returned. Nothing was written
	// by the attempt whose mutator failed, and the loop does not retry it.
	ErrMutatorAborted = errors.New("ifmatch: mutator aborted")
	// ErrNoETag reports a response that carried no usable strong ETag, so no
	// conditional write can be built on it.
	ErrNoETag = errors.New("ifmatch: no ETag in response")
	// ErrOutcomeUnknown reports a write that was sent but whose result cannot be
	// known (connection lost after sending, a 5xx, a timeout): either another
	// write has since overtaken it, or the call ran out of attempts, time or
	// context while that write could still land. See [OutcomeUnknownError].
	ErrOutcomeUnknown = errors.New("ifmatch: outcome of write unknown")
	// ErrInvalidArgument reports bad input caught before any request was sent:
	// a malformed SID, a read-only field changed by a mutator, an invalid
	// option value.
	ErrInvalidArgument = errors.New("ifmatch: invalid argument")
	// ErrBadResponse reports a response ifmatch could not understand: a body
	// that is not the JSON the API documents, one over the size cap, or one
	// that does not name the resource asked for (no sid, index or key, or
	// another resource's; a create's answer without a well-formed SID). A
	// write answered 2xx with such a body did land, so it is never reported
	// as this error alone: the update loop returns the state it wrote, a
	// one-shot write reads the resource back, and a create (or a write whose
	// read-back fails too) reports [ErrOutcomeUnknown] wrapping it.
	ErrBadResponse = errors.New("ifmatch: bad response")
)

// APIError is a non-2xx answer from Twilio. Status is the HTTP status; Code,
// Message and MoreInfo come from Twilio's JSON error body when there is one.
// URL holds only the scheme, host and path of the request: never credentials.
//
// Use errors.Is with the sentinels ([ErrNotFound], [ErrPreconditionFailed],
// [ErrRateLimited], [ErrUnauthorized], [ErrAlreadyExists]) rather than
// comparing fields.
type APIError struct {
	// Status is the HTTP status code, for example 412.
	Status int
	// Code is Twilio's error code, for example 20412; 0 when the body had none.
	Code int
	// Message is Twilio's message, or a short snippet of a non-JSON body.
	Message string
	// MoreInfo is Twilio's documentation link for Code.
	MoreInfo string
	// Details holds Twilio's optional "details" object.
	Details map[string]any
	// RequestID is the Twilio-Request-Id response header, for Twilio support.
	RequestID string
	// Method is the HTTP method of the request.
	Method string
	// URL is the request URL without query string or user info.
	URL string
	// RetryAfter is the server's Retry-After hint, 0 when none was sent.
	RetryAfter time.Duration
}

// Error returns a one-line description of the failure.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("ifmatch: ")
	if e.Method != "" {
		b.WriteString(e.Method)
		b.WriteByte(' ')
	}
	if e.URL != "" {
		b.WriteString(e.URL)
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "%d %s (code %d)", e.Status, http.StatusText(e.Status), e.Code)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// Is maps the HTTP status to a sentinel, so errors.Is(err, ErrNotFound) works
// on any error chain holding an *APIError with status 404.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrPreconditionFailed:
		return e.Status == http.StatusPreconditionFailed
	case ErrRateLimited:
		return e.Status == http.StatusTooManyRequests
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
	case ErrAlreadyExists:
		return e.Status == http.StatusConflict
	}
	return false
}

// ConflictError is returned when an update loop runs out of attempts or time
// while every write meets a 412. errors.Is(err, ErrConflict) is true and
// errors.As(err, &apiErr) finds the last 412.
type ConflictError struct {
	// Attempts is the number of conditional writes sent.
	Attempts int
	// Elapsed is the time from the first read to giving up.
	Elapsed time.Duration
	// Last is the error of the last write (usually an *APIError with status 412).
	Last error
}

// Error describes how long the loop tried, and the last write's error when
// there is one (a ConflictError built by hand, in a stub, may have none).
func (e *ConflictError) Error() string {
	msg := fmt.Sprintf("ifmatch: conflict: gave up after %d attempts over %s",
		e.Attempts, e.Elapsed.Round(time.Millisecond))
	if e.Last == nil {
		return msg
	}
	return msg + ": " + e.Last.Error()
}

// Unwrap returns [ErrConflict] and the last write's error.
func (e *ConflictError) Unwrap() []error { return []error{ErrConflict, e.Last} }

// OutcomeUnknownError is returned when a conditional write was sent but its
// result was lost (connection dropped after sending, timeout, 500/502/503/504),
// and either reading the resource back showed that some write has landed
// since (it may have been ours or another writer's), or the call ran out of
// attempts, time or context while the write was unanswered and could still
// land (the resource unmoved, every resend unanswered too). The caller must
// decide; re-reading the resource and checking for the intended state is the
// usual way. The loop resolves the first case by itself when the call is
// marked [Idempotent] or when commit markers are on (up to their history).
type OutcomeUnknownError struct {
	// ETag is the If-Match value sent with the write whose outcome is unknown.
	ETag string
	// Cause is what the write returned.
	Cause error
}

// Error describes the ambiguous write, and its cause when there is one (an
// OutcomeUnknownError built by hand, in a stub, may have none).
func (e *OutcomeUnknownError) Error() string {
	msg := "ifmatch: outcome of write unknown"
	if e.ETag != "" {
		msg = fmt.Sprintf("ifmatch: outcome of write with If-Match %s unknown", truncate(e.ETag))
	}
	if e.Cause == nil {
		return msg
	}
	return msg + ": " + e.Cause.Error()
}

// Unwrap returns [ErrOutcomeUnknown] and the write's error, seen through a
// filter: a refusal that came after the write whose outcome is unknown says
// nothing of that write, so the error never matches a sentinel that means
// "not applied" ([ErrInvalidArgument], [ErrMutatorAborted], [ErrConflict],
// [ErrPreconditionFailed], [ErrNotFound], [ErrAlreadyExists]), is never a
// [*ConflictError], and hides a mutator's own error; context errors,
// [*APIError] and the rest still match, and the message is whole.
func (e *OutcomeUnknownError) Unwrap() []error {
	if e.Cause == nil {
		return []error{ErrOutcomeUnknown}
	}
	return []error{ErrOutcomeUnknown, unknownCause{e.Cause}}
}

// unknownCause is the cause of an [OutcomeUnknownError]: err, except that it
// matches none of the sentinels that claim nothing was applied
// ([ErrInvalidArgument], [ErrMutatorAborted], [ErrConflict],
// [ErrPreconditionFailed], [ErrNotFound], [ErrAlreadyExists]), is never a
// [*ConflictError], and hides the error a mutator refused with (a caller
// that checks its own errors first would read "refused"). Everything else
// (context errors, [*APIError], [ErrRateLimited], transport failures)
// still matches, for diagnosis; the message is err's, whole.
type unknownCause struct{ err error }

// Error is err's message, whole.
func (c unknownCause) Error() string { return c.err.Error() }

// Is matches target as err does, except the sentinels that claim nothing
// was applied, and never inside a mutator's refusal (see walkCause).
func (c unknownCause) Is(target error) bool {
	switch target {
	case ErrInvalidArgument, ErrMutatorAborted, ErrConflict, ErrPreconditionFailed, ErrNotFound, ErrAlreadyExists:
		return false
	}
	return walkCause(c.err, func(e error) bool { return errors.Is(e, target) })
}

// As finds target in err as errors.As does, but never a [*ConflictError],
// and never inside a mutator's refusal (see walkCause).
func (c unknownCause) As(target any) bool {
	if _, ok := target.(**ConflictError); ok {
		return false
	}
	return walkCause(c.err, func(e error) bool { return errors.As(e, target) })
}

// walkCause reports whether match holds for err, looking through the joins
// and wraps that hold a mutator's refusal (an error wrapping
// [ErrMutatorAborted]) without ever looking into one. match sees err itself
// only where err has no refusal inside.
func walkCause(err error, match func(error) bool) bool {
	if err == nil || refusal(err) {
		return false
	}
	if !errors.Is(err, ErrMutatorAborted) {
		return match(err)
	}
	switch x := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range x.Unwrap() {
			if walkCause(e, match) {
				return true
			}
		}
	case interface{ Unwrap() error }:
		return walkCause(x.Unwrap(), match)
	}
	return false
}

// refusal reports whether err is a mutator's refusal: it wraps
// [ErrMutatorAborted] itself.
func refusal(err error) bool {
	x, ok := err.(interface{ Unwrap() []error })
	return ok && slices.Contains(x.Unwrap(), ErrMutatorAborted)
}

// twilioErrorBody is Twilio's JSON error shape.
type twilioErrorBody struct {
	Code     int            `json:"code"`
	Message  string         `json:"message"`
	MoreInfo string         `json:"more_info"`
	Status   int            `json:"status"`
	Details  map[string]any `json:"details"`
}

// maxSnippet bounds how much of a non-JSON error body an APIError keeps.
const maxSnippet = 200

// parseAPIError builds an *APIError from a status and body. It never fails:
// a body that is not Twilio's JSON becomes a short, printable snippet.
func parseAPIError(status int, body []byte) *APIError {
	e := &APIError{Status: status}
	var tb twilioErrorBody
	if len(body) > 0 && json.Unmarshal(body, &tb) == nil && (tb.Code != 0 || tb.Message != "") {
		e.Code, e.Message, e.MoreInfo, e.Details = tb.Code, tb.Message, tb.MoreInfo, tb.Details
		return e
	}
	e.Message = snippet(body)
	return e
}

// snippet returns a printable, bounded excerpt of b.
func snippet(b []byte) string {
	s := strings.TrimSpace(strings.ToValidUTF8(string(b), "\uFFFD"))
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if utf8.RuneCountInString(s) > maxSnippet {
		r := []rune(s)
		s = string(r[:maxSnippet]) + "…"
	}
	return s
}

// HTTPStatus maps an error returned by ifmatch to the HTTP status a service
// built on it should answer its own client with (200 for nil). It checks, in
// this order, because several of the tests can hold at once:
//
//  1. context.DeadlineExceeded → 504, context.Canceled → 503: a context error
//     is joined with the last API error (a 412, a 503…), which must not
//     decide the answer;
//  2. [ErrMutatorAborted] → 422: your mutator refused the change. Check your
//     own errors first (errors.Is(err, yourErr) works through the wrapping)
//     when they deserve another status: it never holds when an earlier
//     write of the call may have landed ([ErrOutcomeUnknown]);
//  3. [ErrOutcomeUnknown] → 502: the write may or may not have landed. The
//     service's client must not blindly resend a non-idempotent request
//     (with [IdempotencyKey] it may);
//  4. [ErrConflict] → 503: the loop gave up under contention; trying again
//     later is the remedy. It also matches [ErrPreconditionFailed] (it wraps
//     the last 412), so it must be checked before it;
//  5. [ErrInvalidArgument] → 400: input caught before any request (a
//     malformed SID, a bad option, a read-only field changed);
//  6. [ErrNotFound] → 404; [ErrPreconditionFailed] → 412 (a single
//     conditional write, such as [Workspace.UpdateTaskIf], with a stale
//     ETag); [ErrAlreadyExists] → 409;
//  7. [ErrRateLimited] → 503 (the APIError's RetryAfter, when set, is a good
//     Retry-After for your answer);
//  8. [ErrUnauthorized], [ErrBadResponse], [ErrNoETag], any other
//     [*APIError] and a transport failure → 502: Twilio, or the way to it,
//     failed. Twilio's 401 means the service's own credentials are wrong,
//     which its client cannot fix;
//  9. anything else → 500.
//
// The result for a nil error is 200; use 201 or 204 yourself where they fit.
func HTTPStatus(err error) int {
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	case errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrMutatorAborted):
		return http.StatusUnprocessableEntity
	case errors.Is(err, ErrOutcomeUnknown):
		return http.StatusBadGateway
	case errors.Is(err, ErrConflict):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrInvalidArgument):
		return http.StatusBadRequest
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrPreconditionFailed):
		return http.StatusPreconditionFailed
	case errors.Is(err, ErrAlreadyExists):
		return http.StatusConflict
	case errors.Is(err, ErrRateLimited):
		return http.StatusServiceUnavailable
	}
	var ae *APIError
	var te *transportError
	if errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrBadResponse) || errors.Is(err, ErrNoETag) ||
		errors.As(err, &ae) || errors.As(err, &te) {
		return http.StatusBadGateway
	}
	return http.StatusInternalServerError
}
