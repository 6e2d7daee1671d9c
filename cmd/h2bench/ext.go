//go:build linux

package main

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/h2loop/h2loop/client"
	"github.com/h2loop/h2loop/codec"
)

// verboseMu serialises the -v lines of the workers.
var verboseMu sync.Mutex

// AltSvc implements client.ExtHandler: with -v, the ALTSVC frames the
// server sends (RFC 7838) are printed.
func (c *benchClient) AltSvc(streamID uint32, origin, value []byte) {
	if !c.w.cfg.verbose {
		return
	}
	verboseMu.Lock()
	defer verboseMu.Unlock()
	fmt.Fprintf(os.Stdout, "recv ALTSVC stream_id=%d origin=%q value=%q\n", streamID, origin, value)
}

// Origin implements client.ExtHandler: with -v, the ORIGIN frames the
// server sends (RFC 8336) are printed.
func (c *benchClient) Origin(origins [][]byte) {
	if !c.w.cfg.verbose {
		return
	}
	s := make([]string, len(origins))
	for i, o := range origins {
		s[i] = string(o)
	}
	verboseMu.Lock()
	defer verboseMu.Unlock()
	fmt.Fprintf(os.Stdout, "recv ORIGIN %s\n", strings.Join(s, " "))
}

// PushPromise implements client.PushHandler (--enable-push): an accepted
// promise is counted; with -v it is printed.
func (c *benchClient) PushPromise(parent int32, promised uint32, method, scheme, authority, path []byte) {
	if c.w.phase == phaseMain {
		c.w.st.PushesReceived++
	}
	if !c.w.cfg.verbose {
		return
	}
	verboseMu.Lock()
	defer verboseMu.Unlock()
	fmt.Fprintf(os.Stdout, "recv PUSH_PROMISE promised_stream_id=%d :method=%s :scheme=%s :authority=%s :path=%s\n",
		promised, method, scheme, authority, path)
}

// PushRefused implements client.PushHandler: a promise the client reset
// (invalid, or above its SETTINGS_MAX_CONCURRENT_STREAMS) is counted; with
// -v it is printed.
func (c *benchClient) PushRefused(promised uint32, err *codec.StreamError) {
	if c.w.phase == phaseMain {
		c.w.st.PushesRefused++
	}
	if !c.w.cfg.verbose {
		return
	}
	verboseMu.Lock()
	defer verboseMu.Unlock()
	fmt.Fprintf(os.Stdout, "send RST_STREAM stream_id=%d error_code=%v (%s)\n", promised, err.Code, err.Reason)
}

// PushData implements client.PushHandler (the octets are counted by the
// connection).
func (c *benchClient) PushData(uint32, []byte) {}

// PushResponse implements client.PushHandler.
func (c *benchClient) PushResponse(uint32, int) {}

// PushClosed implements client.PushHandler.
func (c *benchClient) PushClosed(uint32, client.Result, codec.ErrCode) {}
