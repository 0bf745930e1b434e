package main

import (
	"fmt"
	"math/rand/v2"
)

// hk combines the default's backoff (with its knobs) and aging: after a
// conflict the wait is the shorter of the two (aging off: power 0, which
// is the default loop itself, see ifmatchWith).
type hk struct {
	f        fk
	a        ak
	deferNew bool
}

func hybrid(k hk) func(c *Client) {
	return func(c *Client) {
		b := newCB(c)
		b.growth = pick(k.f.growth, b.growth)
		b.capRTT = pick(k.f.capRTT, b.capRTT)
		if k.f.noLevel {
			b.start = 0
		}
		start := c.now
		alpha := c.st["alpha"]
		aged := func(w us) us {
			if k.a.power == 0 || alpha == 0 {
				return w
			}
			return min(w, hazardWait(c, k.a.power, alpha, start))
		}
		var cur int64
		fromCache := false
		if c.cache >= 0 && alpha > 0 && k.deferNew && k.a.power > 0 {
			c.Sleep(hazardWait(c, k.a.power, alpha, start))
			cur = c.Get()
		} else {
			cur, fromCache = firstRead(c, k.f.yield)
		}
		for waits := 0; ; waits++ {
			t0 := c.now
			v, ok := c.Post(cur)
			if ok {
				c.st["alpha"] = agingSuccess(k.a, alpha, waits > 0)
				c.cache, c.lastDone = v, c.now
				b.succeeded = true
				c.level = b.remember()
				return
			}
			c.cache = -1
			if fromCache && !k.f.staleBackoff {
				cur, fromCache = c.Get(), false
				continue
			}
			fromCache = false
			if alpha == 0 {
				alpha = k.a.first
			} else {
				alpha = max(alpha*k.a.down, 1e-6)
			}
			b.observeRTT(c.now - t0)
			cur = hybridWait(c, b, k, cur, waits, aged)
		}
	}
}

// hybridWait sleeps after a refused write of base (the default's wait,
// shortened by aging), reads, and listens (waits and reads once more) when
// the read shows a run of writes.
func hybridWait(c *Client, b *cb, k hk, base int64, waits int, aged func(us) us) int64 {
	var wait us
	if k.f.halveFrom > 0 && waits+1 >= k.f.halveFrom {
		b.bound = max(b.bound/2, 2*b.rtt)
		wait = b.draw(c)
	} else {
		wait = b.next(c)
	}
	wait = aged(wait)
	c.Sleep(wait)
	cur := c.Get()
	b.observeProgress(cur - base)
	if !k.f.noListen && wait < 8*b.rtt && cur-base >= 2 {
		c.Sleep(aged(b.next(c)))
		now := c.Get()
		b.observeProgress(now - cur)
		cur = now
	}
	return cur
}

func init() {
	families["hybrid"] = func() []Strategy { // 1500 random combinations of the default's knobs and aging
		rng := rand.New(rand.NewPCG(14, 14))
		one := func(xs ...us) us { return xs[rng.IntN(len(xs))] }
		var ss []Strategy
		for range 1500 {
			k := hk{
				f: fk{yield: one(0, 50, 100), growth: one(2, 4, 8), capRTT: one(16, 32, 64, 96), halveFrom: int(one(0, 2, 3, 4)),
					noListen: rng.IntN(2) == 0, staleBackoff: rng.IntN(2) == 0},
				a:        ak{power: float64(one(0, 1, 2, 3)), first: []float64{0.01, 0.05, 0.2}[rng.IntN(3)], down: []float64{0.7, 0.85}[rng.IntN(2)], up: 1.1},
				deferNew: rng.IntN(2) == 0,
			}
			ss = append(ss, Strategy{fmt.Sprintf("hybrid %+v", k), hybrid(k)})
		}
		return ss
	}
}
