package testutil

import (
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// FreePort returns a loopback TCP port that nothing listens on, for an
// outside program that must be told its port (one that can pick its own
// and report it should be asked to instead). A port the kernel hands out
// for ":0" lies in the ephemeral range, where every outgoing connection of
// the machine, those of tests running beside this one included, also takes
// its local port: between the probe and the program's bind, a client
// socket can take it, and the program fails to listen. The port is drawn at
// random below that range and checked free.
func FreePort(t testing.TB) string {
	t.Helper()
	low := ephemeralLow()
	for range 100 {
		p := 10000 + rand.IntN(low-10000)
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		ln.Close()
		return strconv.Itoa(p)
	}
	t.Fatalf("no free port in 10000-%d after 100 tries", low-1)
	return ""
}

// ephemeralLow is the first port of the range the kernel picks local ports
// from (32768 when unknown, Linux's default; darwin and windows start at
// 49152).
func ephemeralLow() int {
	low := 32768
	if runtime.GOOS == "linux" {
		if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
			if f := strings.Fields(string(b)); len(f) == 2 {
				if n, err := strconv.Atoi(f[0]); err == nil {
					low = n
				}
			}
		}
	}
	return max(low, 10000+1000)
}
