//go:build !windows

package loop

import (
	"sync"
	"time"
)

// fdReaper closes fd connections off the poller without a goroutine, a
// timer or a closure per close: connections to close at once and
// lingering ones (closeSocket) wait in lists threaded through the
// connections themselves, and the Core's ticker goroutine closes them
// (at once when woken, lingering ones at the first tick after their
// lingerTime has passed). closeNow frees the operator, so it never runs
// on a poller; the ticker is no poller. A connection whose close calls
// the ConnState hook (which may block) is closed on a goroutine of its
// own, so that no hook holds up the others' closes and ticks.
//
// A connection is in at most one list, once (fdQueued): one that is
// queued already is closed by that entry.
type fdReaper struct {
	mu      sync.Mutex
	now     *fdConn // to close at once (fdConn.reapNext), newest first
	head    *fdConn // lingering, oldest first (each due at its at)
	tail    *fdConn
	stopped bool          // the ticker has stopped: closes take their own goroutine or timer
	wake    chan struct{} // capacity 1: there is something in now
}

func (r *fdReaper) init() { r.wake = make(chan struct{}, 1) }

// queue puts c in a list: at once, or lingering until lingerTime from
// now. It never blocks. It reports false when c was queued already; a
// close at once asked of a connection queued already (lingering, whose
// peer has now closed too) is done on a goroutine of its own, so that it
// does not wait for the lingering's end: closeNow runs once, and the
// lingering entry then finds it closed.
func (c *fdConn) queue(linger bool) bool {
	for {
		st := c.state.Load()
		if st&fdQueued != 0 {
			if !linger {
				go c.closeNow()
			}
			return false
		}
		if c.state.CompareAndSwap(st, st|fdQueued) {
			break
		}
	}
	r := &c.core.reap
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		if linger {
			time.AfterFunc(lingerTime, c.closeNow)
		} else {
			go c.closeNow()
		}
		return true
	}
	if linger {
		c.at.Store(nanotime() + int64(lingerTime))
		if r.tail == nil {
			r.head = c
		} else {
			r.tail.reapNext = c
		}
		r.tail = c
		r.mu.Unlock()
		return true
	}
	c.reapNext = r.now
	r.now = c
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return true
}

// closeSoon closes c off the poller, soon (queued for the ticker): a
// connection lingering already is closed when its lingering ends.
func (c *fdConn) closeSoon() { c.queue(false) }

// run closes the connections due at now (unix nanoseconds); it runs on
// the ticker's goroutine.
func (r *fdReaper) run(now int64) {
	r.mu.Lock()
	list := r.now
	r.now = nil
	var due *fdConn
	if r.head != nil && r.head.at.Load() <= now {
		due = r.head
		last := due
		for last.reapNext != nil && last.reapNext.at.Load() <= now {
			last = last.reapNext
		}
		r.head = last.reapNext
		if r.head == nil {
			r.tail = nil
		}
		last.reapNext = nil
	}
	r.mu.Unlock()
	reapList(list)
	reapList(due)
}

// reapList closes the connections of a list taken out of the reaper.
func reapList(c *fdConn) {
	for c != nil {
		next := c.reapNext
		c.reapNext = nil
		if c.hk != nil {
			go c.closeNow()
		} else {
			c.closeNow()
		}
		c = next
	}
}

// stop runs when the ticker stops (Core.Close): what waits is closed on
// goroutines and timers of its own, and so are later closes.
func (r *fdReaper) stop() {
	r.mu.Lock()
	r.stopped = true
	list, head := r.now, r.head
	r.now, r.head, r.tail = nil, nil, nil
	r.mu.Unlock()
	for c := list; c != nil; {
		next := c.reapNext
		c.reapNext = nil
		go c.closeNow()
		c = next
	}
	now := nanotime()
	for c := head; c != nil; {
		next := c.reapNext
		c.reapNext = nil
		time.AfterFunc(time.Duration(max(c.at.Load()-now, 0)), c.closeNow)
		c = next
	}
}
