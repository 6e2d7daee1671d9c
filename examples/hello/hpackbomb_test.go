//go:build linux

package main

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/h2loop/h2loop/codec"
	"github.com/h2loop/h2loop/internal/testutil"
	"golang.org/x/net/http2/hpack"
)

// vmRSS reads a process's resident set size in bytes.
func vmRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// TestHPACKBombRSS: the HPACK bomb of the hardening issue against the
// example server, as a separate process. One 4,000-byte field enters the
// client's dynamic table, then 20,000 small header blocks refer to it 20
// times each (1.5 GB of header list), written as fast as the socket takes
// them. The server answers 431 up to MaxRejectedHeaderSections, then
// GOAWAY(ENHANCE_YOUR_CALM); a victim connection is served throughout, and
// the server's RSS grows by less than 32 MiB (it grew by 341 to 482 MB
// before the reactor bounded unprocessed input on every pass).
func TestHPACKBombRSS(t *testing.T) {
	p := startHelloProc(t, helloBin(t))
	addr, cmd := p.addr, p.cmd

	victim := testutil.H2CClient()
	get := func() error {
		resp, err := victim.Get("http://" + addr + "/")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && (resp.StatusCode != 200 || string(b) != "hello, world!\n") {
			err = &unexpected{status: resp.Status, body: string(b)}
		}
		return err
	}
	if err := get(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	rss0 := vmRSS(t, cmd.Process.Pid)

	stop := make(chan struct{})
	var served atomic.Int64
	victimErr := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				victimErr <- nil
				return
			default:
			}
			if err := get(); err != nil {
				victimErr <- err
				return
			}
			served.Add(1)
		}
	}()

	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	big := strings.Repeat("b", 4000)
	out := append([]byte(codec.ClientPreface), codec.AppendSettings(nil)...)
	for id := uint32(1); id < 2*20000; id += 2 {
		hb.Reset()
		for _, f := range []hpack.HeaderField{{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"},
			{Name: ":path", Value: "/"}, {Name: ":authority", Value: "localhost"}} {
			enc.WriteField(f)
		}
		for i := 0; i < 20; i++ {
			enc.WriteField(hpack.HeaderField{Name: "x-bomb", Value: big})
		}
		out = codec.AppendHeaders(out, id, true, true, hb.Bytes())
	}
	peak := rss0
	done := make(chan struct{})
	go func() { // the bomb, as fast as the server reads
		defer close(done)
		nc.SetWriteDeadline(time.Now().Add(20 * time.Second))
		nc.Write(out)
	}()
	// Read until GOAWAY, sampling the server's RSS.
	br := bufio.NewReader(nc)
	var goAway *codec.GoAwayFrame
	nc.SetReadDeadline(time.Now().Add(20 * time.Second))
	for goAway == nil {
		if r := vmRSS(t, cmd.Process.Pid); r > peak {
			peak = r
		}
		var hdr [codec.FrameHeaderLen]byte
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			t.Fatalf("no GOAWAY before %v", err)
		}
		h := codec.ParseFrameHeader(hdr[:])
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(br, p); err != nil {
			t.Fatal(err)
		}
		if h.Type == codec.FrameGoAway {
			ga, err := codec.ParseGoAway(h, p)
			if err != nil {
				t.Fatal(err)
			}
			goAway = &ga
		}
	}
	nc.Close()
	<-done
	if r := vmRSS(t, cmd.Process.Pid); r > peak {
		peak = r
	}
	close(stop)
	if err := <-victimErr; err != nil || served.Load() == 0 {
		t.Fatalf("victim: %d requests served, %v", served.Load(), err)
	}
	if goAway.Code != codec.ErrCodeEnhanceYourCalm {
		t.Fatalf("GOAWAY %v %q, want ENHANCE_YOUR_CALM", goAway.Code, goAway.DebugData)
	}
	growth := peak - rss0
	t.Logf("RSS %d KiB before, peak %d KiB (+%d KiB); victim served %d requests; GOAWAY %v %q",
		rss0>>10, peak>>10, growth>>10, served.Load(), goAway.Code, goAway.DebugData)
	if growth >= 32<<20 {
		t.Fatalf("RSS grew by %d MiB under the HPACK bomb, want less than 32", growth>>20)
	}
}
