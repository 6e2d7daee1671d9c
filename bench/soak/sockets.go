package main

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

// sockets is a census of this process's TCP sockets on the server's port
// (Linux: /proc/self/fd and /proc/net/tcp{,6}). Clients and server share
// the process, so once every client closed its connections, any socket
// left on the server's port other than the listener is a connection the
// server did not close.
type sockets struct {
	ok      bool // the census could be taken
	fds     int  // open file descriptors
	server  int  // server-side connection sockets (local port = server port, not LISTEN)
	byState map[string]int
}

var tcpStates = map[string]string{
	"01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1", "05": "FIN_WAIT2",
	"06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT", "09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING",
}

func socketCensus(port int) sockets {
	s := sockets{byState: map[string]int{}}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return s
	}
	s.fds = len(ents)
	inodes := map[string]bool{}
	for _, e := range ents {
		l, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	portHex := fmt.Sprintf(":%04X", port)
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(file)
		if err != nil {
			continue
		}
		s.ok = true
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 {
				continue
			}
			local, state, inode := fields[1], fields[3], fields[9]
			if !inodes[inode] || !strings.HasSuffix(local, portHex) || state == "0A" {
				continue
			}
			s.server++
			name := tcpStates[state]
			if name == "" {
				name = state
			}
			s.byState[name]++
		}
		f.Close()
	}
	return s
}

func (s sockets) String() string {
	if !s.ok {
		return "n/a"
	}
	if s.server == 0 {
		return "0"
	}
	keys := make([]string, 0, len(s.byState))
	for k := range s.byState {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, k+" "+strconv.Itoa(s.byState[k]))
	}
	return fmt.Sprintf("%d (%s)", s.server, strings.Join(parts, ", "))
}
