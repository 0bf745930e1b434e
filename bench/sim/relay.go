package main

import "fmt"

// rl is the "relay" design: writers hand the resource round in streaks. A
// streak ends at a version that is a multiple of S; a writer that knows of
// contention (or any writer, with always) then pauses (hand% of an RTT)
// before it writes from its cache again, which opens a window: a waiter whose read lands in it writes the
// next version and holds the next streak. A refused writer reads, aims at
// one of the next spread windows (doubling per refusal, at most maxSpread),
// sleeps until it predicts the window opens (from the versions per unit of
// time it has seen), reads, and writes. With turn, a writer that held a
// streak aims, at the end of it, at the same window one cycle later (the
// versions between its last two streaks' starts). A writer forgets
// contention when nobody took two windows in a row.
type rl struct {
	S         int64
	hand      us // pause at a streak's end, % of an RTT
	late      us // a waiter's read lands late% of an RTT after the predicted commit
	spread    int64
	maxSpread int64
	turn      bool
	listens   int
	always    bool  // pause at every streak's end, contention known or not
	sync      int64 // a window further than sync versions away is aimed at twice: a read sync versions before it re-times the last sleep
}

func relay(k rl) func(c *Client) {
	return func(c *Client) {
		rtt := c.RTT()
		var cur int64
		fromCache := false
		switch d := int64(c.st["d"]); {
		case c.cache < 0:
			cur = relayRead(c)
		case c.cache%k.S != 0 || (c.st["contended"] == 0 && !k.always):
			cur, fromCache = c.cache, true
		case k.turn && d > 0:
			cur = awaitWindow(c, k, int64(c.st["start"])-1+d)
		default:
			if w := c.lastDone + k.hand*rtt/100 - c.now; w > 0 {
				c.Sleep(w)
			}
			cur, fromCache = c.cache, true
		}
		for spread := k.spread; ; spread = min(2*spread, k.maxSpread) {
			v, ok := c.Post(cur)
			if ok {
				relayWon(c, k, v, fromCache)
				return
			}
			c.cache, fromCache = -1, false
			c.st["contended"], c.st["d"] = 1, 0
			cur = relayRead(c)
			target := (cur+k.S-1)/k.S*k.S + k.S*c.rng.Int64N(max(spread, 1))
			if target > cur {
				cur = awaitWindow(c, k, target)
			}
		}
	}
}

// relayRead reads and keeps the observation (version, time) for predictions.
func relayRead(c *Client) int64 {
	v := c.Get()
	relayObserve(c, v)
	return v
}

// relayObserve learns the time per version from two observations.
func relayObserve(c *Client, v int64) {
	ov, ot := int64(c.st["ov"]), us(c.st["ot"])
	if ot > 0 && v > ov && c.now > ot {
		obs := float64(c.now-ot) / float64(v-ov)
		obs = min(max(obs, float64(c.RTT())/2), float64(8*c.RTT()))
		if c.st["tau"] == 0 {
			c.st["tau"] = obs
		} else {
			c.st["tau"] = 0.7*c.st["tau"] + 0.3*obs
		}
	}
	c.st["ov"], c.st["ot"] = float64(v), float64(c.now)
}

func relayTau(c *Client) us {
	if t := c.st["tau"]; t > 0 {
		return us(t)
	}
	return c.RTT() * 11 / 10
}

// awaitWindow sleeps until the predicted commit of version target, reads
// (up to listens more times while early), and returns what it read.
func awaitWindow(c *Client, k rl, target int64) int64 {
	cur := sleepTo(c, k, target)
	if k.sync > 0 && cur < target-k.sync/2 && cur != c.cache {
		cur = sleepTo(c, k, target)
	}
	prev := int64(-1)
	for i := 0; i < k.listens && cur < target && cur != prev && cur != c.cache; i++ {
		c.Sleep(us(target-cur)*relayTau(c) - c.RTT()/2)
		prev, cur = cur, relayRead(c)
	}
	return cur
}

// sleepTo sleeps until a read lands just after the predicted commit of
// target (or, with sync, sync versions before it) and reads.
func sleepTo(c *Client, k rl, target int64) int64 {
	ov, ot := int64(c.st["ov"]), us(c.st["ot"])
	if ot == 0 || ov > target {
		ov, ot = c.cache, c.lastDone
	}
	aim := target
	if k.sync > 0 && target-ov > k.sync {
		aim = target - k.sync
	}
	at := ot + us(aim-ov)*relayTau(c) - c.RTT() + k.late*c.RTT()/100
	if at > c.now {
		c.Sleep(at - c.now)
	}
	return relayRead(c)
}

// relayWon keeps what a successful write of v shows.
func relayWon(c *Client, k rl, v int64, fromCache bool) {
	if !fromCache {
		if s := int64(c.st["start"]); s > 0 && k.turn && v > s {
			c.st["d"] = float64(min(v-s, 64*k.S))
		}
		c.st["start"] = float64(v)
	} else if v%k.S == 1 && c.st["contended"] > 0 {
		// nobody took the window: count it; two in a row end contention
		c.st["empty"]++
		if c.st["empty"] >= 2 {
			c.st["contended"], c.st["d"], c.st["empty"] = 0, 0, 0
		}
	}
	if !fromCache {
		c.st["empty"] = 0
	}
	c.cache, c.lastDone = v, c.now
	c.st["ov"], c.st["ot"] = float64(v), float64(c.now)
}

func init() {
	families["relay"] = func() []Strategy {
		var ss []Strategy
		for _, S := range []int64{1, 2, 3, 4} {
			for _, h := range []us{50, 100, 150} {
				for _, late := range []us{20, 50} {
					for _, sp := range [][2]int64{{1, 4}, {4, 16}} {
						for _, turn := range []bool{false, true} {
							for _, l := range [][2]int64{{0, 0}, {1, 0}, {0, 2}, {1, 3}} {
								for _, always := range []bool{false, true} {
									k := rl{S: S, hand: h, late: late, spread: sp[0], maxSpread: sp[1], turn: turn, listens: int(l[0]), sync: l[1], always: always}
									ss = append(ss, Strategy{fmt.Sprintf("relay %+v", k), relay(k)})
								}
							}
						}
					}
				}
			}
		}
		return ss
	}
}
