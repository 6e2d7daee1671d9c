package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/h2loop/h2loop/codec"
)

// TestLifeTable checks every (state, event) pair of the request lifecycle:
// what the legal ones do, and that the illegal ones are counted and
// logged and change nothing.
func TestLifeTable(t *testing.T) {
	type want struct {
		next    lifeState
		woken   bool
		release bool
		bug     bool
	}
	legal := map[[2]uint8]want{
		{uint8(lifeNew), uint8(lifeStart)}:          {next: lifeRunning},
		{uint8(lifeNew), uint8(lifeAnswer)}:         {next: lifeAnswered},
		{uint8(lifeNew), uint8(lifeStreamEnd)}:      {next: lifeReleased, release: true},
		{uint8(lifeRunning), uint8(lifeAnswer)}:     {next: lifeAnswered},
		{uint8(lifeRunning), uint8(lifeReturn)}:     {next: lifeAnswered},
		{uint8(lifeRunning), uint8(lifeStreamEnd)}:  {next: lifeOrphaned, woken: true},
		{uint8(lifeOrphaned), uint8(lifeAnswer)}:    {next: lifeReleased, release: true},
		{uint8(lifeOrphaned), uint8(lifeReturn)}:    {next: lifeReleased, release: true},
		{uint8(lifeOrphaned), uint8(lifeStreamEnd)}: {next: lifeOrphaned},
		{uint8(lifeAnswered), uint8(lifeStreamEnd)}: {next: lifeReleased, release: true},
	}
	for s := lifeState(0); s < numLifeStates; s++ {
		for ev := lifeEvent(0); ev < numLifeEvents; ev++ {
			w, ok := legal[[2]uint8{uint8(s), uint8(ev)}]
			if !ok {
				w = want{next: s, bug: true}
			}
			var logs []string
			cfg := Config{Logf: func(f string, a ...any) { logs = append(logs, f) }}
			cfg.Normalize()
			cb := &lifeCB{}
			m := new(Metrics)
			c := NewConn(&cfg, cb, m, time.Unix(1000, 0))
			r := &Request{life: s, conn: c, StreamID: 1}
			c.lifeStep(r, ev)
			woken := cb.wakes == 1
			name := s.String() + " + " + ev.String()
			if r.life != w.next || woken != w.woken || (cb.released == 1) != w.release || (m.Panics.Load() == 1) != w.bug {
				t.Errorf("%s: state %v, woken %v, released %d, bugs %d; want %+v", name, r.life, woken, cb.released, m.Panics.Load(), w)
			}
			if w.bug && (len(logs) != 1 || !strings.Contains(logs[0], "a server bug")) {
				t.Errorf("%s: logs %q", name, logs)
			}
			if w.release && r.conn != nil {
				t.Errorf("%s: released request still points at its connection", name)
			}
		}
	}
}

// The lifecycle of the requests of the liveness issue, named as
// transitions: a reset while the handler runs orphans the request (the
// handler is woken) and its return releases it; a request refused while
// queued is answered without its handler ever running.
func TestLifeNamedTransitions(t *testing.T) {
	tc := newTConn(t, Config{})
	tc.handshake()
	tc.feed(tc.get(1, "/"))
	r := tc.cb.reqs[0]
	if r.life != lifeRunning {
		t.Fatalf("dispatched request in state %v", r.life)
	}
	tc.feed(codec.AppendRSTStream(nil, 1, codec.ErrCodeCancel))
	if r.life != lifeOrphaned || !r.Canceled || !r.StreamDone() || r.HandlerDone() {
		t.Fatalf("after the client's reset: state %v canceled %v", r.life, r.Canceled)
	}
	before := tc.cb.released
	tc.c.Respond(r) // the handler returns: released (the kit resets it)
	if tc.cb.released != before+1 {
		t.Fatalf("after the handler returned: %d released", tc.cb.released-before)
	}

	tc.feed(tc.get(3, "/"))
	r = tc.cb.reqs[1]
	before = tc.cb.released
	tc.c.Refuse(r) // no worker
	tc.wantRST(3, codec.ErrCodeRefusedStream)
	if tc.cb.released != before+1 {
		t.Fatalf("refused request: %d released", tc.cb.released-before)
	}
}

// lifeCB records releases without resetting the request, so the test sees
// the state a transition left.
type lifeCB struct {
	fakeCB
	released int
}

func (l *lifeCB) ReleaseRequest(r *Request) { l.released++ }
