package window

import (
	"encoding/binary"
	"errors"
	"testing"
)

// The fuzz model keeps absolute windows (no relative adjustments, no table)
// and, for receive windows, running totals instead of the four-way split the
// package keeps. It uses int64: an input is at most a few hundred thousand
// operations of at most 2^32 octets each, so every total stays below 2^52.

const fuzzStreams = 6

type sendModel struct {
	conn    int64
	initial int64
	open    [fuzzStreams]bool
	win     [fuzzStreams]int64 // absolute stream windows, meaningful while open
}

func (m *sendModel) setInitial(v uint32) error {
	if int64(v) > MaxWindow {
		return ErrOverflow
	}
	d := int64(v) - m.initial
	for i := range m.win {
		if m.open[i] && m.win[i]+d > MaxWindow {
			return ErrOverflow
		}
	}
	for i := range m.win {
		if m.open[i] {
			m.win[i] += d
		}
	}
	m.initial = int64(v)
	return nil
}

func (m *sendModel) add(w *int64, incr uint32) error {
	if incr == 0 {
		return ErrZeroIncrement
	}
	if *w+int64(incr) > MaxWindow {
		return ErrOverflow
	}
	*w += int64(incr)
	return nil
}

func (m *sendModel) allowed(i, want int) int {
	a := min(int64(want), m.win[i], m.conn)
	if a < 0 {
		return 0
	}
	return int(a)
}

// maxOpenWindow returns the largest open stream window and whether any is open.
func (m *sendModel) maxOpenWindow() (int64, bool) {
	var best int64
	any := false
	for i := range m.win {
		if m.open[i] && (!any || m.win[i] > best) {
			best, any = m.win[i], true
		}
	}
	return best, any
}

// recvModel is a receive window described by totals: advertised (initial
// size plus every increment sent), received, released, and the target.
type recvModel struct {
	target, advertised, received, released int64
	frac                                   int64
}

func (m *recvModel) available() int64 { return m.advertised - m.received }
func (m *recvModel) pending() int64   { return m.target + m.released - m.advertised }

func (m *recvModel) consume(n uint32) error {
	if int64(n) > m.available() {
		return ErrExceeded
	}
	m.received += int64(n)
	return nil
}

func (m *recvModel) release(n uint32) uint32 {
	m.released += min(int64(n), m.received-m.released)
	if p := m.pending(); p > 0 && p >= m.target*m.frac/256 {
		m.advertised += p
		return uint32(p)
	}
	return 0
}

func (m *recvModel) setTarget(size uint32) uint32 {
	s := min(int64(size), MaxWindow)
	grow := s > m.target
	m.target = s
	if p := m.pending(); grow && p > 0 {
		m.advertised += p
		return uint32(p)
	}
	return 0
}

// FuzzWindows applies a random sequence of operations to the package and to
// the model and compares every result, every error and every window after
// each operation. Input: 4 bytes of initial stream window, 4 of receive
// window size, then 6-byte operations (op, arg, 32-bit big-endian value).
func FuzzWindows(f *testing.F) {
	f.Add(fuzzSeed(65535, 65535,
		op(6, 0, 0), op(6, 1, 0), op(8, 0, 70000), op(9, 1, 100000),
		op(1, 0, 16384), op(4, 0, 1), op(5, 0, 0), op(5, 1, 1),
		op(10, 0, 0), op(10, 1, 1), op(7, 1, 0), op(10, 0, 1)))
	f.Add(fuzzSeed(0, 65535,
		op(3, 0, 0), op(3, 1, 0), op(2, 0, 0), op(6, 2, 0), op(5, 2, 0),
		op(1, 0, MaxWindow), op(0, 0, 1<<31), op(8, 2, 1)))
	f.Add(fuzzSeed(65535, 65535,
		op(11, 0, 40000), op(12, 0, 32766), op(12, 0, 1), op(13, 0, 1<<20),
		op(11, 0, 1<<21), op(14, 0, 0), op(12, 0, 5), op(13, 0, 1000),
		op(11, 1, 0), op(12, 1, 1<<31), op(13, 1, 1<<32-1), op(14, 1, 255)))
	// The stream holding the largest window consumes, then the setting moves
	// to exactly the edge of the new largest window and one past it.
	f.Add(fuzzSeed(65535, 65535,
		op(6, 0, 0), op(6, 1, 0), op(4, 0, 1000), op(4, 1, 500), op(8, 0, 600),
		op(10, 12, 0), op(10, 13, 0), op(7, 1, 0), op(10, 12, 0), op(10, 13, 0)))
	f.Add(fuzzSeed(1<<31, 1<<32-1, op(0, 0, 1<<32-1), op(6, 3, 0), op(4, 3, MaxWindow)))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 8 {
			return
		}
		initial := binary.BigEndian.Uint32(data)
		size := binary.BigEndian.Uint32(data[4:])
		data = data[8:]

		c := NewSendConn(initial)
		var streams [fuzzStreams]SendStream
		m := sendModel{conn: InitialWindow, initial: min(int64(initial), MaxWindow)}
		r := [2]Recv{NewRecv(size), NewRecv(InitialWindow)}
		rs := min(int64(size), MaxWindow)
		rm := [2]recvModel{
			{target: rs, advertised: rs, frac: DefaultThreshold},
			{target: InitialWindow, advertised: InitialWindow, frac: DefaultThreshold},
		}

		for step := 0; len(data) >= 6; step++ {
			code, arg := data[0]%15, data[1]
			v := binary.BigEndian.Uint32(data[2:])
			data = data[6:]
			i := int(arg) % fuzzStreams
			s := &streams[i]
			fail := func(format string, args ...any) {
				t.Helper()
				t.Fatalf("step %d op %d(arg %d, v %d): "+format, append([]any{step, code, arg, v}, args...)...)
			}
			sameErr := func(got, want error) {
				t.Helper()
				if !errors.Is(got, want) || (got == nil) != (want == nil) {
					fail("error %v, model %v", got, want)
				}
			}
			// Stream operations act on open streams only; a closed slot is opened.
			if code >= 4 && code <= 10 && code != 6 && code != 7 && !m.open[i] {
				code = 6
			}
			switch code {
			case 0: // SETTINGS_INITIAL_WINDOW_SIZE, raw value (may exceed 2^31-1)
				sameErr(c.SetInitialStreamWindow(v), m.setInitial(v))
			case 1: // SETTINGS_INITIAL_WINDOW_SIZE, legal value
				sameErr(c.SetInitialStreamWindow(v&MaxWindow), m.setInitial(v&MaxWindow))
			case 2: // WINDOW_UPDATE on stream 0
				sameErr(c.AddConn(v), m.add(&m.conn, v))
			case 3: // WINDOW_UPDATE on stream 0 landing near the limit
				incr := near(MaxWindow-m.conn, arg)
				sameErr(c.AddConn(incr), m.add(&m.conn, incr))
			case 4: // WINDOW_UPDATE on a stream
				sameErr(c.AddStream(s, v&MaxWindow), m.add(&m.win[i], v&MaxWindow))
			case 5: // WINDOW_UPDATE on a stream landing near the limit
				incr := near(MaxWindow-m.win[i], arg/fuzzStreams)
				sameErr(c.AddStream(s, incr), m.add(&m.win[i], incr))
			case 6:
				c.OpenStream(s)
				m.open[i], m.win[i] = true, m.initial
			case 7:
				c.CloseStream(s)
				m.open[i] = false
			case 8: // DATA sent: at most what Allowed grants
				want := int(v)
				a := c.Allowed(s, want)
				if wa := m.allowed(i, want); a != wa {
					fail("Allowed = %d, model %d", a, wa)
				}
				n := a
				if arg&0x80 != 0 && a > 0 {
					n = int(v) % (a + 1)
				}
				c.Consume(s, n)
				if n > 0 {
					m.conn -= int64(n)
					m.win[i] -= int64(n)
				}
			case 9: // query with a signed want
				want := int(int32(v))
				if a, wa := c.Allowed(s, want), m.allowed(i, want); a != wa {
					fail("Allowed(%d) = %d, model %d", want, a, wa)
				}
			case 10: // SETTINGS_INITIAL_WINDOW_SIZE at the edge of the largest open window
				if top, ok := m.maxOpenWindow(); ok {
					edge := MaxWindow - (top - m.initial) // largest legal value
					x := edge + int64(arg&7) - 4
					if x >= 0 && x <= 1<<32-1 {
						sameErr(c.SetInitialStreamWindow(uint32(x)), m.setInitial(uint32(x)))
					}
				}
			case 11, 12, 13, 14: // receive windows
				j := int(arg & 1)
				switch code {
				case 11:
					n := v
					if arg&2 != 0 {
						n = uint32(int64(v) % (max(rm[j].available(), 0) + 2))
					}
					sameErr(r[j].Consume(n), rm[j].consume(n))
				case 12:
					n := v
					if arg&2 != 0 {
						n = uint32(int64(v) % (rm[j].received - rm[j].released + 2))
					}
					if got, want := r[j].Release(n), rm[j].release(n); got != want {
						fail("Release(%d) = %d, model %d", n, got, want)
					}
				case 13:
					if got, want := r[j].SetTarget(v), rm[j].setTarget(v); got != want {
						fail("SetTarget(%d) = %d, model %d", v, got, want)
					}
				case 14:
					r[j].SetThreshold(uint8(v))
					rm[j].frac = int64(uint8(v))
				}
			}

			// Compare the whole state after every operation.
			if c.ConnAvailable() != m.conn {
				fail("ConnAvailable = %d, model %d", c.ConnAvailable(), m.conn)
			}
			if int64(c.InitialStreamWindow()) != m.initial {
				fail("InitialStreamWindow = %d, model %d", c.InitialStreamWindow(), m.initial)
			}
			open := 0
			for k := range streams {
				if !m.open[k] {
					continue
				}
				open++
				if got := c.StreamAvailable(&streams[k]); got != m.win[k] {
					fail("stream %d window = %d, model %d", k, got, m.win[k])
				}
				if m.win[k] > MaxWindow {
					fail("model stream %d above 2^31-1", k)
				}
			}
			if c.OpenStreams() != open {
				fail("OpenStreams = %d, model %d", c.OpenStreams(), open)
			}
			checkMaxBound(t, &c)
			for j := range r {
				if r[j].Available() != rm[j].available() || r[j].Pending() != rm[j].pending() ||
					int64(r[j].Target()) != rm[j].target {
					fail("recv %d: available %d pending %d target %d, model %d %d %d", j,
						r[j].Available(), r[j].Pending(), r[j].Target(),
						rm[j].available(), rm[j].pending(), rm[j].target)
				}
				if rm[j].available() < 0 || rm[j].available() > MaxWindow {
					fail("recv %d: model window %d out of range", j, rm[j].available())
				}
			}
		}
	})
}

// checkMaxBound checks the SendConn's private invariant: the remembered
// maximum bounds every tracked value and is exact unless marked stale.
func checkMaxBound(t *testing.T, c *SendConn) {
	t.Helper()
	top := c.pos.max()
	if top > c.maxAdj || (!c.maxStale && top != c.maxAdj) {
		t.Fatalf("maxAdj %d (stale %v), table max %d", c.maxAdj, c.maxStale, top)
	}
}

// near returns an increment of room-4+arg%8 clamped to uint32, so updates
// land on, just below and just past the 2^31-1 limit.
func near(room int64, arg uint8) uint32 {
	x := room + int64(arg%8) - 4
	return uint32(min(max(x, 0), 1<<32-1))
}

func op(code, arg byte, v uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{code, arg}, v)
}

func fuzzSeed(initial, size uint32, ops ...[]byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, initial)
	b = binary.BigEndian.AppendUint32(b, size)
	for _, o := range ops {
		b = append(b, o...)
	}
	return b
}
