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
