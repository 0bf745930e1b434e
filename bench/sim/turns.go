package main

// Two designs that learn a schedule from the versions a writer sees.

// rk is the "rest" design: after its own write, a writer rests before its
// next one for as long as the others took last time (restPct% of two RTTs
// per write of theirs it saw land between its own two), at least yield% of
// an RTT; a refused write backs off exponentially (×growth from 2 RTTs, at
// most capRTT).
type rk struct {
	yield, restPct, growth, capRTT us
	freshAfterRest                 bool // after a rest longer than the yield, read before writing
}

func rest(k rk) func(c *Client) {
	return func(c *Client) {
		rtt := c.RTT()
		var cur int64
		if c.cache >= 0 {
			r := max(k.yield*rtt/100, us(c.st["rest"]))
			if c.now-c.lastDone < r {
				c.Sleep(c.lastDone + r - c.now)
			}
			cur = c.cache
			if k.freshAfterRest && us(c.st["rest"]) > k.yield*rtt/100 {
				cur = c.Get()
			}
		} else {
			cur = c.Get()
		}
		for bound := 2 * rtt; ; bound = min(bound*k.growth, k.capRTT*rtt) {
			v, ok := c.Post(cur)
			if ok {
				others := 0.0
				if c.st["lastv"] > 0 {
					others = float64(v-1) - c.st["lastv"]
				}
				c.st["rest"] = c.st["rest"] / 2
				if others > 0 {
					c.st["rest"] = min(others*float64(k.restPct*2*rtt/100), float64(400*rtt))
				}
				c.st["lastv"] = float64(v)
				c.cache, c.lastDone = v, c.now
				return
			}
			c.cache = -1
			c.Sleep(bound/2 + c.rng.Int64N(bound+1))
			cur = c.Get()
		}
	}
}

// tk is the "turns" design, time division by versions: a writer learns d,
// the number of versions between its own last two writes, and takes its
// next turn when the version reaches its last one + d − 1 (it sleeps until
// then, lateTC% of a write's time late, reads, and reads again up to listens
// times while early, unless the resource is idle). Without a learned turn it
// yields blindly (yield% of an RTT) and writes from its cache; a refused
// write backs off exponentially (×2 from 2 RTTs, at most capRTT), or, in
// turn, for a random part of half a turn (reslot).
type tk struct {
	yield, capRTT, lateTC us
	listens               int
	reslot                bool
}

func turns(k tk) func(c *Client) {
	return func(c *Client) {
		rtt := c.RTT()
		tc := max(us(c.st["tc"]), 2*rtt) // one write's share of a turn
		d := int64(c.st["d"])
		var cur int64
		inTurn := c.st["lastv"] > 0 && d >= 2
		switch {
		case inTurn:
			cur = awaitTurn(c, k, int64(c.st["lastv"])+d-1, d, tc)
		case c.cache >= 0:
			cur, _ = firstRead(c, k.yield)
		default:
			cur = c.Get()
		}
		for bound := 2 * rtt; ; {
			v, ok := c.Post(cur)
			if ok {
				learnTurn(c, v, d, tc)
				return
			}
			c.cache = -1
			if inTurn && k.reslot {
				c.Sleep(c.rng.Int64N(us(d)*tc/2 + 1))
			} else {
				c.Sleep(bound/2 + c.rng.Int64N(bound+1))
				bound = min(bound*2, k.capRTT*rtt)
			}
			cur = c.Get()
		}
	}
}

// awaitTurn sleeps until the predicted time of version target and reads.
func awaitTurn(c *Client, k tk, target, d int64, tc us) int64 {
	at := c.lastDone + us(d-1)*tc - c.RTT() + k.lateTC*tc/100
	if c.now < at {
		c.Sleep(at - c.now)
	}
	cur := c.Get()
	for i := 0; i < k.listens && cur < target; i++ {
		c.Sleep(us(target-cur) * tc)
		prev := cur
		if cur = c.Get(); cur == prev {
			break // idle: go
		}
	}
	return cur
}

// learnTurn keeps what the write of version v shows: the versions since the
// writer's last (growing by at most one a turn, so that one late turn does
// not lengthen the next) and the time each took.
func learnTurn(c *Client, v, d int64, tc us) {
	lv := int64(c.st["lastv"])
	switch n := v - lv; {
	case lv == 0 || n < 1:
		c.st["d"] = 0
	default:
		c.st["d"] = float64(n)
		if n > d && d >= 2 {
			c.st["d"] = float64(d + 1)
		}
		if n > 1 {
			rtt := c.RTT()
			obs := min(max((c.now-c.lastDone)/us(n), 3*rtt/2), 4*rtt)
			c.st["tc"] = 0.7*float64(tc) + 0.3*float64(obs)
		}
	}
	c.st["lastv"] = float64(v)
	c.cache, c.lastDone = v, c.now
}
