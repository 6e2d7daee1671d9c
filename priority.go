package h2loop

import "github.com/h2loop/h2loop/codec"

// Priority returns the priority the client asked for (RFC 9218): urgency 0
// (most urgent) to 7, default 3, and whether it processes the response
// incrementally. It comes from the request's priority header field, or
// from a PRIORITY_UPDATE frame that arrived before the request; updates
// that arrive while the handler runs change the scheduling, not this value.
// Over HTTP/1.1 it is read from the header field.
func (ctx *RequestCtx) Priority() (urgency int, incremental bool) {
	p := ctx.req.Priority
	if ctx.req.StreamID == 0 {
		p = codec.DefaultPriority
		if v, ok := ctx.req.Header.Get("priority"); ok {
			p = codec.ParsePriorityField(p, v)
		}
	}
	return int(p.Urgency), p.Incremental
}

// priorityValues are the priority field values SetPriority sends,
// indexed by urgency and incremental.
var priorityValues = func() (v [8][2]string) {
	for u := range v {
		for i := range v[u] {
			v[u][i] = string(codec.AppendPriorityField(nil, codec.Priority{Urgency: uint8(u), Incremental: i == 1}))
		}
	}
	return v
}()

// SetPriority overrides the response's priority (RFC 9218 §5): the server
// schedules the response's DATA by it, against the other responses on the
// connection (lower urgency first; non-incremental responses of one
// urgency one after another, incremental ones interleaved), and sends it
// to the client in the priority response header field. urgency is clamped
// to 0..7. Setting a priority header field with SetHeader does the same.
func (ctx *RequestCtx) SetPriority(urgency int, incremental bool) {
	urgency = min(max(urgency, 0), 7)
	i := 0
	if incremental {
		i = 1
	}
	v := priorityValues[urgency][i]
	if v == "" {
		v = "u=3" // the default, explicit: it must override the client's
	}
	ctx.SetHeader("priority", v)
}
