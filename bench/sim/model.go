// Command sim is a deterministic model of the contention grid of
// BENCHMARKS.md: W writers share W·K increments of one resource through a
// server with a simulated round trip, in virtual time, so a retry design can
// be measured over hundreds of configurations in seconds, free of this
// machine's noise. It was calibrated against the real grid (BENCHMARKS.md, "A
// model of the design space"), and used to map what issue 14 asks for: the
// tail latency, requests and wall time every design family can reach.
//
//	cd bench && go run ./sim -sweep all
package main

import "math/rand/v2"

// us is virtual time in microseconds.
type us = int64

// params are the model's constants, calibrated against the real grid.
type params struct {
	rtt    us // the fixed part of one request's round trip
	jitter us // plus a uniform delay of up to this
	cpu    us // CPU time of one request, on a 2-core machine
	ovh    us // a client's processing between an answer and its next request
}

var calibrated = params{rtt: 2000, jitter: 1000, cpu: 120, ovh: 40}

type kind int

const (
	kGet kind = iota
	kPost
	kSleep
	kDone
)

// action is a client's one outstanding request or sleep.
type action struct {
	k     kind
	etag  int64
	at    us
	sent  us // when the writer sent it
	who   int
	reply chan reply
}

type reply struct {
	now     us
	version int64
	ok      bool
}

type queue []*action

func (q queue) Len() int { return len(q) }

// Less orders by time, then first sent first (a core frees for the request
// that has queued longest), then by writer: each writer has one action out
// at a time, so the order never depends on which goroutine reached the
// channel first (a run is a function of its seed).
func (q queue) Less(i, j int) bool {
	switch {
	case q[i].at != q[j].at:
		return q[i].at < q[j].at
	case q[i].sent != q[j].sent:
		return q[i].sent < q[j].sent
	}
	return q[i].who < q[j].who
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(*action)) }
func (q *queue) Pop() any {
	o := *q
	x := o[len(o)-1]
	*q = o[:len(o)-1]
	return x
}

// Client is one writer: the calls a strategy makes, and what the writer
// keeps between its updates (its client's cache and learned state).
type Client struct {
	p   params
	in  chan *action
	id  int
	now us
	rng *rand.Rand

	cache    int64 // the version of its own last write; -1: none
	lastDone us    // when its last write was answered
	level    us    // the default backoff's remembered level
	st       map[string]float64
}

func (c *Client) do(k kind, etag int64, d us) reply {
	ch := make(chan reply)
	at := c.now + d
	if k != kSleep {
		at = c.now + c.p.ovh + c.rng.Int64N(c.p.ovh+1) + c.p.rtt + c.rng.Int64N(c.p.jitter+1)
	}
	c.in <- &action{k: k, etag: etag, at: at, sent: c.now, reply: ch, who: c.id}
	r := <-ch
	c.now = r.now
	return r
}

// Get reads the resource's version.
func (c *Client) Get() int64 { return c.do(kGet, 0, 0).version }

// Post writes with If-Match etag: the new version and true, or false (412).
func (c *Client) Post(etag int64) (int64, bool) {
	r := c.do(kPost, etag, 0)
	return r.version, r.ok
}

// Sleep waits d.
func (c *Client) Sleep(d us) {
	if d > 0 {
		c.do(kSleep, 0, d)
	}
}

// RTT is the mean round trip a client would measure.
func (c *Client) RTT() us { return c.p.rtt + c.p.jitter/2 }

// Strategy is a retry design: Update makes one increment land.
type Strategy struct {
	Name   string
	Update func(c *Client)
}

// Result is one run.
type Result struct {
	Wall     us
	Reqs     int
	Commits  int
	Lat      []us // every update's latency, sorted
	Fairness float64
	Owners   []int // the writer of each commit
}

// Pct is the p-quantile of the latencies (nearest rank, as bench does).
func (r Result) Pct(p float64) us {
	i := int(float64(len(r.Lat))*p+0.999999) - 1
	return r.Lat[min(max(i, 0), len(r.Lat)-1)]
}
