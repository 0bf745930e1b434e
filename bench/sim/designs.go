package main

import "math"

// fk are variations of ifmatch's default loop; the zero value is the default.
type fk struct {
	yield        us   // % of an RTT a call waits after its client's own last write before writing from the cache (a blind yield)
	staleBackoff bool // a 412 on a write from the cache backs off like a conflict (the default re-reads and writes at once)
	halveFrom    int  // from this wait of a call on, the bound halves instead of growing (0: never)
	noListen     bool
	growth       us
	capRTT       us
	noLevel      bool
}

// ifmatchWith is the default loop with k's changes (a hybrid without aging).
func ifmatchWith(k fk) func(c *Client) { return hybrid(hk{f: k}) }

func pick(v, def us) us {
	if v > 0 {
		return v
	}
	return def
}

// firstRead takes the cached version (after a blind yield of yield% of an
// RTT since the client's last write), or reads.
func firstRead(c *Client, yield us) (int64, bool) {
	if c.cache < 0 {
		return c.Get(), false
	}
	if y := yield * c.RTT() / 100; c.now-c.lastDone < y {
		c.Sleep(c.lastDone + y - c.now)
	}
	return c.cache, true
}

// ak is the "aging" design: a writer that lost retries with hazard rate
// alpha·age^power (age: time since its update began, in round trips), so the
// writers that have waited longest retry most often. alpha is the writer's
// own, kept across its calls: lowered on each refused write, raised on each
// success. A writer that knows of contention (alpha > 0) starts its next
// update the same way (deferNew: it defers to the old ones, then reads);
// otherwise it yields blindly (yield% of an RTT) and writes from its cache.
type ak struct {
	yield     us
	first     float64 // alpha after the first refused write
	down, up  float64
	power     float64
	deferNew  bool
	floorPct  us // each wait is at least this % of an RTT
	minAlpha  float64
	upFree    float64 // alpha ×= upFree on a success without waiting (0: up²)
	idleReset bool    // a deferral whose read shows no write since the writer's own forgets the contention
}

func aging(k ak) func(c *Client) {
	return func(c *Client) {
		start := c.now
		alpha := c.st["alpha"]
		var cur int64
		if c.cache >= 0 && alpha > 0 && k.deferNew {
			c.Sleep(max(hazardWait(c, k.power, alpha, start), k.floorPct*c.RTT()/100))
			cur = c.Get()
			if k.idleReset && cur == c.cache {
				alpha = 0
			}
		} else {
			cur, _ = firstRead(c, k.yield)
		}
		for waited := false; ; waited = true {
			v, ok := c.Post(cur)
			if ok {
				c.st["alpha"] = agingSuccess(k, alpha, waited)
				c.cache, c.lastDone = v, c.now
				return
			}
			c.cache = -1
			if alpha == 0 {
				alpha = k.first
			} else {
				alpha = max(alpha*k.down, k.minAlpha)
			}
			c.Sleep(max(hazardWait(c, k.power, alpha, start), k.floorPct*c.RTT()/100))
			cur = c.Get()
		}
	}
}

func agingSuccess(k ak, alpha float64, waited bool) float64 {
	switch {
	case alpha == 0:
		return 0
	case waited:
		return alpha * k.up
	}
	up := k.up * k.up
	if k.upFree > 0 {
		up = k.upFree
	}
	if alpha*up > 4 {
		return 0 // no conflict for a while: contention is gone
	}
	return alpha * up
}

// hazardWait draws the time to the next event of the hazard alpha·age^p by
// inverting its integral: age' = (age^(p+1) + (p+1)·E/alpha)^(1/(p+1)).
func hazardWait(c *Client, p, alpha float64, start us) us {
	rtt := float64(c.RTT())
	age := float64(c.now-start) / rtt
	next := math.Pow(math.Pow(age, p+1)+(p+1)*c.rng.ExpFloat64()/alpha, 1/(p+1))
	return us((next - age) * rtt)
}
