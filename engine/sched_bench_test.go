package engine

import (
	"bytes"
	"testing"

	"github.com/h2loop/h2loop/codec"
)

// BenchmarkSchedule16 is one round of 16 concurrent streams on a
// connection: 16 GETs arrive in one read, 16 responses of 4 KiB are
// answered, framed and written, and the client returns the window. equal
// is the common case (every stream of the default priority); mixed gives
// the streams urgencies 0..7, half of them incremental. It uses the
// engine's public calls only, so the same file runs at older revisions
// (where the priority fields are ignored) for a side-by-side comparison.
func BenchmarkSchedule16(b *testing.B) {
	for _, mixed := range []bool{false, true} {
		name := "equal"
		if mixed {
			name = "mixed"
		}
		b.Run(name, func(b *testing.B) {
			tc := newTConn(b, Config{})
			tc.c.Feed([]byte(codec.ClientPreface))
			tc.c.Feed(codec.AppendSettings(nil))
			tc.c.Feed(codec.AppendSettingsAck(nil))
			tc.c.ConsumeOutput(len(tc.c.Output()))
			prios := []string{"u=0", "u=1, i", "u=2", "u=3, i", "u=4", "u=5, i", "u=6", "u=7, i"}
			blocks := make([][]byte, 16)
			for i := range blocks {
				kv := []string{":method", "GET", ":scheme", "http", ":path", "/", ":authority", "example.com", "user-agent", "bench"}
				if mixed {
					kv = append(kv, "priority", prios[i%8])
				}
				blocks[i] = tc.headerBlock(kv...)
			}
			body := bytes.Repeat([]byte("x"), 4096)
			var in []byte
			id := uint32(1)
			round := func() {
				in = in[:0]
				for j := range blocks {
					in = codec.AppendHeaders(in, id+uint32(2*j), true, true, blocks[j])
				}
				tc.c.Feed(in)
				if len(tc.cb.reqs) != len(blocks) || tc.c.Closed() {
					b.Fatalf("%d requests dispatched, closed %v", len(tc.cb.reqs), tc.c.Closed())
				}
				for _, r := range tc.cb.reqs {
					r.AddHeader("content-type", "text/plain")
					r.SetStaticBody(body)
					tc.c.Respond(r)
				}
				tc.cb.reqs = tc.cb.reqs[:0]
				for {
					tc.c.ConsumeOutput(len(tc.c.Output()))
					if !tc.c.HasPendingData() {
						break
					}
					tc.c.WritePending()
				}
				in = codec.AppendWindowUpdate(in[:0], 0, 16*4096)
				tc.c.Feed(in)
				tc.c.ConsumeOutput(len(tc.c.Output()))
				if tc.c.ActiveStreams() != 0 {
					b.Fatalf("%d streams still open", tc.c.ActiveStreams())
				}
				id += 32
			}
			round()
			// from the second round on, the blocks are fully indexed
			for i := range blocks {
				kv := []string{":method", "GET", ":scheme", "http", ":path", "/", ":authority", "example.com", "user-agent", "bench"}
				if mixed {
					kv = append(kv, "priority", prios[i%8])
				}
				blocks[i] = tc.headerBlock(kv...)
			}
			round()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				round()
			}
		})
	}
}
