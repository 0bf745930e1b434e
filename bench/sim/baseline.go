package main

// The strategies of the real grid, modelled: the hand-written loops and
// ifmatch's default (its cache, conflict backoff, remembered level and
// listening rule, as in retry.go and conditional.go).

func noBackoff(c *Client) {
	for {
		if _, ok := c.Post(c.Get()); ok {
			return
		}
	}
}

func fullJitter(c *Client) {
	for i := 0; ; i++ {
		if _, ok := c.Post(c.Get()); ok {
			return
		}
		c.Sleep(c.rng.Int64N(min(us(5000)<<min(i, 20), 1_000_000)))
	}
}

func decorrelated(c *Client) {
	wait := us(5000)
	for {
		if _, ok := c.Post(c.Get()); ok {
			return
		}
		wait = min(1_000_000, 5000+c.rng.Int64N(3*wait-5000+1))
		c.Sleep(wait)
	}
}

// cb models conflictBackoff (retry.go) with its knobs exposed.
type cb struct {
	initial, max, start, rtt, bound us
	succeeded                       bool
	growth, capRTT, progRTT, floorR us
}

func newCB(c *Client) *cb {
	return &cb{initial: 5000, max: 1_000_000, start: c.level, growth: 8, capRTT: 96, progRTT: 4, floorR: 3}
}

func (b *cb) observeRTT(d us) {
	if b.rtt == 0 || d < b.rtt {
		b.rtt = d
	}
}

func (b *cb) observeProgress(n int64) {
	if n <= 1 || b.rtt <= 0 {
		return
	}
	if want := us(n) * b.progRTT * b.rtt; want > b.bound {
		b.bound = min(want, b.max, b.capRTT*b.rtt)
	}
}

func (b *cb) remember() us {
	level := max(b.bound, b.start)
	if b.succeeded {
		level /= 2
	}
	if level < max(b.initial, 2*b.rtt) {
		return 0
	}
	return level
}

func (b *cb) next(c *Client) us {
	if b.bound == 0 {
		b.bound = max(b.initial, 2*b.rtt, b.start)
	} else {
		b.bound *= b.growth
	}
	b.bound = min(b.bound, b.max)
	if cp := b.capRTT * b.rtt; b.rtt > 0 && b.bound > cp {
		b.bound = max(cp, b.initial)
	}
	return b.draw(c)
}

// draw is a wait from the current bound: uniform on [floor, 3/2·bound −
// floor], floor = min(bound/2, floorR round trips).
func (b *cb) draw(c *Client) us {
	floor := min(b.bound/2, b.floorR*b.rtt)
	if floor <= 0 {
		floor = b.bound / 2
	}
	return min(floor+c.rng.Int64N(b.bound*3/2-2*floor+1), b.max)
}

// ifmatchDefault is the engine's loop for one separate client.
func ifmatchDefault(c *Client) { ifmatchWith(fk{})(c) }
