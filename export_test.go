package ifmatch

// QueuedForTest returns how many callers wait in c's coalescing queues.
func QueuedForTest(c *Client) int {
	if c.co == nil {
		return 0
	}
	c.co.mu.Lock()
	defer c.co.mu.Unlock()
	n := 0
	for _, q := range c.co.groups {
		n += len(q.queue)
	}
	return n
}

// SecretForTest and ScrubberForTest return the unexported credential
// holders, for the canary test to print them on every path: their own
// methods are the second line of defence behind the closure.
func SecretForTest(s string) any { return newSecret(s) }

// ScrubberForTest returns a scrubber of the credentials user:s.
func ScrubberForTest(user, s string) any { return newScrubber(user, newSecret(s)) }
