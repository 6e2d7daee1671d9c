package engine

// The life of a Request, as a table beside the stream's (state.go). A
// request has two owners that finish independently: its handler (started
// by dispatch, done when it returns, or never started when the engine
// answers by itself or refuses it) and its stream (closed when the
// exchange completes, or aborted by a reset, a timeout or the connection's
// end). The request goes back to the pool exactly once, when both are done,
// and is never touched after that:
//
//	           start              return
//	   new ----------> running ----------> answered
//	    |  \              |                 |   ^
//	    |   \ answer      | stream ends     |   | answer (refused
//	    |    `------------+-----------------+---'  before running)
//	    |                 v                 |
//	    | stream ends  orphaned             | stream ends
//	    |                 | return/answer   |
//	    v                 v                 v
//	  released <----------+-----------------'
//
// new: the header section arrived; no handler yet. running: the handler
// runs and the stream is live. orphaned: the handler runs but its stream
// is gone (the handler is woken and sees its request canceled). answered:
// the handler is done (or there is none), the stream is live: the
// response is in flight or the rest of the body drains. released: back in
// the pool.
//
// Every other (state, event) pair is a bug in the server (an event on a
// released request is the use-after-release that let one request context
// have two owners): it is counted in Metrics.Panics, logged, and changes
// nothing.

type lifeState uint8

const (
	lifeNew lifeState = iota
	lifeRunning
	lifeOrphaned
	lifeAnswered
	lifeReleased
	numLifeStates
)

var lifeNames = [numLifeStates]string{"new", "running", "orphaned", "answered", "released"}

func (s lifeState) String() string { return lifeNames[s] }

type lifeEvent uint8

const (
	lifeStart     lifeEvent = iota // dispatch: the handler is started (or queued for a worker)
	lifeAnswer                     // the engine answers without a handler (413, 431, 408) or refuses it (no worker)
	lifeReturn                     // the handler returned
	lifeStreamEnd                  // the stream closed: the exchange completed, or a reset, a timeout, the connection's end
	numLifeEvents
)

var lifeEventNames = [numLifeEvents]string{"start", "answer", "return", "stream end"}

func (e lifeEvent) String() string { return lifeEventNames[e] }

// lifeAction is what a transition asks the engine to do.
type lifeAction uint8

const (
	lifeNone    lifeAction = iota
	lifeWake               // wake the handler: its stream is gone
	lifeRelease            // hand the request back (Callbacks.ReleaseRequest)
	lifeBug                // an illegal event: count, log, ignore
)

type lifeTransition struct {
	next lifeState
	act  lifeAction
}

var lifeTable = [numLifeStates][numLifeEvents]lifeTransition{
	lifeNew: {
		lifeStart:     {lifeRunning, lifeNone},
		lifeAnswer:    {lifeAnswered, lifeNone},
		lifeReturn:    {lifeNew, lifeBug},
		lifeStreamEnd: {lifeReleased, lifeRelease}, // never dispatched: nobody else holds it
	},
	lifeRunning: {
		lifeStart:     {lifeRunning, lifeBug},
		lifeAnswer:    {lifeAnswered, lifeNone}, // refused while queued: its handler never runs
		lifeReturn:    {lifeAnswered, lifeNone},
		lifeStreamEnd: {lifeOrphaned, lifeWake},
	},
	lifeOrphaned: {
		lifeStart:     {lifeOrphaned, lifeBug},
		lifeAnswer:    {lifeReleased, lifeRelease}, // refused after its stream died
		lifeReturn:    {lifeReleased, lifeRelease},
		lifeStreamEnd: {lifeOrphaned, lifeNone}, // the stream ends once: only a second abort path
	},
	lifeAnswered: {
		lifeStart:     {lifeAnswered, lifeBug},
		lifeAnswer:    {lifeAnswered, lifeBug},
		lifeReturn:    {lifeAnswered, lifeBug},
		lifeStreamEnd: {lifeReleased, lifeRelease},
	},
	lifeReleased: {
		lifeStart:     {lifeReleased, lifeBug},
		lifeAnswer:    {lifeReleased, lifeBug},
		lifeReturn:    {lifeReleased, lifeBug},
		lifeStreamEnd: {lifeReleased, lifeBug},
	},
}

// lifeStep applies ev to r and carries out the transition's action. After
// a step that releases r, the caller must not touch r again.
func (c *Conn) lifeStep(r *Request, ev lifeEvent) {
	tr := lifeTable[r.life][ev]
	switch tr.act {
	case lifeBug:
		c.m.inc(&c.m.Panics)
		c.cfg.logf("h2: stream %d: request event %v in state %v (a server bug; ignored)", r.StreamID, ev, r.life)
		return
	case lifeWake:
		r.life = tr.next
		c.cb.Wake(r)
	case lifeRelease:
		r.life = tr.next
		r.conn = nil
		c.cb.ReleaseRequest(r)
	default:
		r.life = tr.next
	}
}

// started reports whether the request left the new state: its handler
// was started, or the engine answered it itself.
func (r *Request) started() bool { return r.life != lifeNew }
