//go:build linux

package main

import (
	"fmt"
	"os"
	"strings"
	"sync"
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
