package otelifmatch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"testing"
)

func TestRedactURL(t *testing.T) {
	const (
		ws  = "WSaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		wt  = "WTbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
		svc = "IScccccccccccccccccccccccccccccccc"
		mp  = "MPdddddddddddddddddddddddddddddddd"
	)
	for _, c := range []struct{ in, want string }{
		{"https://taskrouter.twilio.com/v1/Workspaces/" + ws + "/Tasks/" + wt, "https://taskrouter.twilio.com/v1/Workspaces/" + ws + "/Tasks/" + wt},
		{"https://taskrouter.twilio.com/v1/Workspaces/" + ws + "/Tasks?Page=1&TaskQueueName=alice", "https://taskrouter.twilio.com/v1/Workspaces/" + ws + "/Tasks"},
		{"https://sync.twilio.com/v1/Services/" + svc + "/Maps/phonebook/Items/alice@example.com", "https://sync.twilio.com/v1/Services/" + svc + "/Maps/{name}/Items/{key}"},
		{"https://sync.twilio.com/v1/Services/" + svc + "/Maps/" + mp + "/Items/a%2Fb%3Fc", "https://sync.twilio.com/v1/Services/" + svc + "/Maps/" + mp + "/Items/{key}"},
		{"https://sync.twilio.com/v1/Services/" + svc + "/Maps/Tasks/Items/v1", "https://sync.twilio.com/v1/Services/" + svc + "/Maps/{name}/Items/{key}"},
		{"https://sync.twilio.com/v1/Services/" + svc + "/Lists/shopping/Items/7", "https://sync.twilio.com/v1/Services/" + svc + "/Lists/{name}/Items/{index}"},
		{"https://sync.twilio.com/v1/Services/" + svc + "/Documents/bob-private", "https://sync.twilio.com/v1/Services/" + svc + "/Documents/{name}"},
		{"https://sync.twilio.com/v1/Services/" + svc + "/Documents/bob/Permissions/bob@example.com", "https://sync.twilio.com/v1/Services/" + svc + "/Documents/{name}/Permissions/{identity}"},
		{"https://user:pw@proxy.example/twilio/v1/Services/" + svc + "/Documents#frag", "https://proxy.example/{name}/v1/Services/" + svc + "/Documents"},
		{"https://sync.twilio.com/v1/Services/my-service/Documents", "https://sync.twilio.com/v1/Services/{name}/Documents"},
	} {
		u, err := url.Parse(c.in)
		if err != nil {
			t.Fatal(err)
		}
		r := redactURL(u)
		if got := r.String(); got != c.want {
			t.Errorf("redactURL(%s) = %s, want %s", c.in, got, c.want)
		}
		if r.Host != u.Host || r.Scheme != u.Scheme {
			t.Errorf("redactURL(%s): host %q scheme %q", c.in, r.Host, r.Scheme)
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout at https://example/Maps/x" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestTransportClass(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{context.Canceled, "canceled"},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), "deadline_exceeded"},
		{&net.DNSError{Err: "no such host", Name: "sync.twilio.com"}, "dns"},
		{timeoutErr{}, "timeout"},
		{io.ErrUnexpectedEOF, "connection_closed"},
		{&net.OpError{Op: "dial", Err: errors.New("refused")}, "dial"},
		{&net.OpError{Op: "read", Err: errors.New("reset")}, "connection"},
		{errors.New("refused https://sync.twilio.com/v1/Services/IS/Maps/m/Items/alice"), "other"},
	} {
		if got := transportClass(c.err); got != c.want {
			t.Errorf("transportClass(%v) = %s, want %s", c.err, got, c.want)
		}
		if got := (&transportError{c.err}).Error(); got != "transport error: "+c.want {
			t.Errorf("transportError(%v) = %s", c.err, got)
		}
	}
}
