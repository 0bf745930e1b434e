package otelifmatch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// The HTTP spans must not record what a user chose as a Sync unique name,
// list index, map key or permission identity: otelhttp records url.full from
// the request it is given (and a span name formatter or filter sees that
// request), and puts a failed try's err.Error() in the span status. So
// [Observer.Transport] hands otelhttp a copy of each request whose URL is
// redacted (redactedTransport), and the transport beneath otelhttp
// (restoreTransport) sends the real URL and gives otelhttp only a bounded
// stand-in of an error, which redactedTransport swaps back: the caller sees
// the request, the response and the error unchanged.

// realURLKey keys the request's real URL in the context of the redacted copy.
type realURLKey struct{}

// redactedTransport sits above otelhttp.
type redactedTransport struct{ next http.RoundTripper }

// RoundTrip sends a copy of r whose URL is redacted, the real one in its
// context for restoreTransport, and hands back the error restoreTransport
// stood in for.
func (t *redactedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL == nil {
		return t.next.RoundTrip(r) // the transport beneath refuses it
	}
	red := r.WithContext(context.WithValue(r.Context(), realURLKey{}, r.URL))
	red.URL = redactURL(r.URL)
	resp, err := t.next.RoundTrip(red)
	if te, ok := err.(*transportError); ok {
		err = te.err // otelhttp returns the error it got
	}
	return resp, err
}

// restoreTransport sits beneath otelhttp.
type restoreTransport struct{ base http.RoundTripper }

// RoundTrip sends r to its real URL, if it carries one, and wraps a
// transport error in a transportError for otelhttp to see.
func (t *restoreTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	real, ok := r.Context().Value(realURLKey{}).(*url.URL)
	if !ok {
		return t.base.RoundTrip(r)
	}
	r = r.WithContext(r.Context()) // a copy: otelhttp's headers and body, the real URL
	r.URL = real
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return resp, &transportError{err: err}
	}
	return resp, nil
}

// transportError is what otelhttp sees of a transport error: its class, never
// its text (which may quote the URL). It does not unwrap.
type transportError struct{ err error }

// Error names the error's class only.
func (e *transportError) Error() string { return "transport error: " + transportClass(e.err) }

// transportClass classifies a transport error into a bounded set.
func transportClass(err error) string {
	var (
		dns  *net.DNSError
		op   *net.OpError
		ne   net.Error
		cert *tls.CertificateVerificationError
		ua   x509.UnknownAuthorityError
		hn   x509.HostnameError
		ci   x509.CertificateInvalidError
		rh   tls.RecordHeaderError
	)
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline_exceeded"
	case errors.As(err, &dns):
		return "dns"
	case errors.As(err, &cert), errors.As(err, &ua), errors.As(err, &hn), errors.As(err, &ci), errors.As(err, &rh):
		return "tls"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection_closed"
	case errors.As(err, &op) && op.Op == "dial":
		return "dial"
	case errors.As(err, &op):
		return "connection"
	}
	return "other"
}

// redactURL returns scheme, host and redacted path of u: no user info,
// query or fragment. Its String is the URL with "{name}"-style placeholders
// unescaped (Opaque); Path holds the same path.
func redactURL(u *url.URL) *url.URL {
	p := redactPath(u.EscapedPath())
	return &url.URL{Scheme: u.Scheme, Host: u.Host, Opaque: "//" + u.Host + p, Path: p}
}

// fixedSegments are the resource names of the Twilio APIs ifmatch calls
// (see redactPath). A name this list misses is redacted, never leaked.
var fixedSegments = map[string]bool{
	"Workspaces": true, "Tasks": true, "Workers": true, "Reservations": true, "TaskQueues": true,
	"Workflows": true, "Activities": true, "TaskChannels": true, "Events": true, "Statistics": true,
	"CumulativeStatistics": true, "RealTimeStatistics": true, "Services": true, "Documents": true,
	"Lists": true, "Maps": true, "Items": true, "Permissions": true, "Streams": true, "Channels": true,
}

// redactPath replaces the segments of an escaped path that a user may have
// chosen. The segment after a resource name is an identifier: kept when it
// is a SID, else "{key}" after Maps/…/Items, "{index}" after Lists/…/Items,
// "{identity}" after Permissions and "{name}" elsewhere (a Document, List
// or Map unique name), even when it reads like a resource name. Any other
// segment is kept only when it is a resource name or a version ("v1").
func redactPath(p string) string {
	segs := strings.Split(p, "/")
	slot := false // segs[i] follows a resource name: an identifier
	for i, s := range segs {
		name := false // segs[i] is kept as a resource name
		switch {
		case s == "":
		case slot && isSID(s):
		case !slot && fixedSegments[s]:
			name = true
		case !slot && isVersion(s):
		case slot && segs[i-1] == "Items" && i >= 3 && segs[i-3] == "Lists":
			segs[i] = "{index}"
		case slot && segs[i-1] == "Items":
			segs[i] = "{key}"
		case slot && segs[i-1] == "Permissions":
			segs[i] = "{identity}"
		default:
			segs[i] = "{name}"
		}
		slot = name
	}
	return strings.Join(segs, "/")
}

func isVersion(s string) bool {
	if len(s) < 2 || s[0] != 'v' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
