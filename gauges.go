package h2loop

// Gauges are the server's current levels, where Stats holds its counters.
// Each field is read at the moment of the call: they are not one
// consistent snapshot.
type Gauges struct {
	// OpenConns counts accepted connections not yet closed, of every kind
	// (HTTP/2 and HTTP/1.1, cleartext and TLS, and ones that have not sent
	// anything yet): what MaxConns bounds.
	OpenConns int64
	// OpenStreams counts HTTP/2 streams open now, over every connection.
	OpenStreams int64
	// Workers counts live handler workers (at most MaxWorkers),
	// BusyWorkers the ones running a handler, and QueuedRequests the
	// requests waiting for a worker (at most QueueSize).
	Workers, BusyWorkers, QueuedRequests int
}

// Gauges returns the server's current levels: all zero before the server
// is set up (by Serve, or by Metrics). Cheap enough for every metrics scrape.
func (s *Server) Gauges() Gauges {
	core := s.coreNow()
	if core == nil {
		return Gauges{}
	}
	g := core.Gauges()
	return Gauges{
		OpenConns:      g.OpenConns,
		OpenStreams:    g.OpenStreams,
		Workers:        g.Workers,
		BusyWorkers:    g.BusyWorkers,
		QueuedRequests: g.QueuedRequests,
	}
}
