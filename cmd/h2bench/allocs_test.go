//go:build linux

package main

import (
	"net"
	"runtime"
	"testing"

	"github.com/h2loop/h2loop/codec"
)

// quietServer is an HTTP/2 server that allocates nothing per request, so
// that the process's allocation count measures h2bench alone: it answers
// every HEADERS with :status 200 and "ok".
func quietServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serveQuiet(c)
		}
	}()
	return "http://" + ln.Addr().String() + "/"
}

func serveQuiet(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 256<<10)
	out := make([]byte, 0, 256<<10)
	n, off := 0, len(codec.ClientPreface)
	out = codec.AppendSettings(out)
	c.Write(out)
	for {
		k, err := c.Read(buf[n:])
		if err != nil {
			return
		}
		n += k
		out = out[:0]
		for {
			if n-off < 9 {
				break
			}
			h := codec.ParseFrameHeader(buf[off:])
			if n-off < 9+int(h.Length) {
				break
			}
			switch h.Type {
			case codec.FrameSettings:
				if !h.Flags.Has(codec.FlagAck) {
					out = codec.AppendSettingsAck(out)
				}
			case codec.FrameHeaders:
				out = codec.AppendHeaders(out, h.StreamID, false, true, []byte{0x88})
				out = codec.AppendData(out, h.StreamID, true, []byte("ok"))
			}
			off += 9 + int(h.Length)
		}
		copy(buf, buf[off:n])
		n -= off
		off = 0
		if len(out) > 0 {
			if _, err := c.Write(out); err != nil {
				return
			}
		}
	}
}

// TestSteadyStateAllocs measures the allocations of whole runs of
// different lengths against a non-allocating server: the difference,
// divided by the extra requests, is what h2bench allocates per request
// (workers, clients, sessions, statistics), and must be zero.
func TestSteadyStateAllocs(t *testing.T) {
	url := quietServer(t)
	mallocs := func(n string) uint64 {
		var a, b runtime.MemStats
		cfg, err := parseArgs([]string{"-n", n, "-c", "4", "-m", "16", "-q", url}, nil)
		if err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&a)
		testHookRunDone = func() { runtime.ReadMemStats(&b) }
		defer func() { testHookRunDone = nil }()
		res, err := bench(cfg, discard{}, false)
		if err != nil || res.Requests.Succeeded != cfg.nreqs {
			t.Fatalf("run -n %s: %v %+v", n, err, res.Requests)
		}
		return b.Mallocs - a.Mallocs
	}
	mallocs("1000") // warm up (TLS-free, but lazy runtime init)
	small, large := mallocs("20000"), mallocs("120000")
	per := (float64(large) - float64(small)) / 100000
	t.Logf("mallocs: %d for 20000 requests, %d for 120000: %.4f per request", small, large, per)
	if per > 0.001 {
		t.Fatalf("%.4f allocations per request in the steady state, want 0", per)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
