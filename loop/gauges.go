package loop

// Gauges are the Core's current levels, each read at the moment of the call
// (they are not one consistent snapshot).
type Gauges struct {
	// OpenConns counts accepted connections not yet closed, of every kind
	// (admitted under MaxConns: HTTP/2, HTTP/1.1, TLS, not yet speaking).
	OpenConns int64
	// OpenStreams counts HTTP/2 streams open now.
	OpenStreams int64
	// Workers counts live handler workers, BusyWorkers the ones running a
	// handler, and QueuedRequests the requests waiting for a worker.
	Workers, BusyWorkers, QueuedRequests int
}

// Gauges reads the current levels. It takes the worker pool's lock for a
// moment and nothing else: cheap enough for every metrics scrape.
func (c *Core) Gauges() Gauges {
	return Gauges{
		OpenConns:      c.open.Load(),
		OpenStreams:    c.Metrics.OpenStreams.Load(),
		Workers:        c.pool.Workers(),
		BusyWorkers:    c.pool.Busy(),
		QueuedRequests: c.pool.Queued(),
	}
}
