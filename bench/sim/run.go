package main

import (
	"container/heap"
	"math/rand/v2"
	"slices"
)

// server is the resource and the machine's two cores.
type server struct {
	p       params
	version int64
	reqs    int
	owners  []int
	cpu     [2]us // when each core is free
}

// Run runs W writers of s, K updates each, and returns what happened. The
// same seed gives the same run.
func Run(s Strategy, p params, W, K int, seed uint64) Result {
	in := make(chan *action)
	lat := make([][]us, W)
	for i := range W {
		c := &Client{p: p, in: in, id: i, cache: -1, st: map[string]float64{},
			rng: rand.New(rand.NewPCG(seed, uint64(i)+100))}
		go func() {
			for range K {
				t0 := c.now
				s.Update(c)
				lat[i] = append(lat[i], c.now-t0)
			}
			in <- &action{k: kDone}
		}()
	}
	srv := &server{p: p}
	wall := srv.loop(in, W)
	return result(srv, wall, lat)
}

// loop is the event loop: once every live writer waits on an action, the
// earliest fires, and its writer runs until its next action.
func (srv *server) loop(in chan *action, live int) us {
	var q queue
	var now us
	waiting := 0
	for {
		for waiting < live {
			a := <-in
			if a.k == kDone {
				live--
				continue
			}
			heap.Push(&q, a)
			waiting++
		}
		if live == 0 {
			return now
		}
		a := heap.Pop(&q).(*action)
		now = a.at
		r, busy := srv.serve(a)
		if busy {
			heap.Push(&q, a) // a core is free at a.at: fire then
			continue
		}
		waiting--
		a.reply <- r
	}
}

// serve fires a: a sleep ends; a request takes a free core (or reports busy,
// a.at moved to when one is free) and reads or writes the resource.
func (srv *server) serve(a *action) (reply, bool) {
	r := reply{now: a.at}
	if a.k == kSleep {
		return r, false
	}
	if srv.p.cpu > 0 {
		i := 0
		if srv.cpu[1] < srv.cpu[0] {
			i = 1
		}
		if srv.cpu[i] > a.at {
			a.at = srv.cpu[i]
			return r, true
		}
		srv.cpu[i] = a.at + srv.p.cpu
		r.now = a.at + srv.p.cpu
	}
	srv.reqs++
	if a.k == kPost && a.etag == srv.version {
		srv.version++
		srv.owners = append(srv.owners, a.who)
		r.ok = true
	}
	r.version = srv.version
	return r, false
}

func result(srv *server, wall us, lat [][]us) Result {
	r := Result{Wall: wall, Reqs: srv.reqs, Commits: int(srv.version), Owners: srv.owners}
	lo, hi := 1e18, 0.0
	for _, l := range lat {
		var sum us
		for _, x := range l {
			sum += x
		}
		m := float64(sum) / float64(len(l))
		lo, hi = min(lo, m), max(hi, m)
		r.Lat = append(r.Lat, l...)
	}
	slices.Sort(r.Lat)
	r.Fairness = hi / lo
	return r
}
