//go:build linux

// Command idleconns opens idle HTTP/2 cleartext connections to a server and
// reports how much the server's resident memory grew per connection. Each
// connection sends the preface, SETTINGS and one GET, reads the whole
// response and then stays open, idle, until the command exits (after -hold,
// or on Ctrl-C). With -h1 the connections are HTTP/1.1 keep-alive ones
// instead: one GET each, then idle.
//
//	idleconns -addr 127.0.0.1:8080 -n 10000 -pid $(pgrep -n hello)
//
// Without -pid it only opens the connections. The open file limit is raised
// to its hard limit; ask for no more connections than that allows.
package main

import (
	"bufio"
	"cmp"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/h2loop/h2loop/bench/internal/h2c"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "server address (cleartext HTTP/2, prior knowledge)")
	path := flag.String("path", "/", "path of the one GET on each connection")
	n := flag.Int("n", 5000, "connections")
	pid := flag.Int("pid", 0, "server process whose VmRSS is read before and after")
	parallel := flag.Int("parallel", 64, "connections being opened at a time")
	settle := flag.Duration("settle", time.Second, "wait after opening before reading VmRSS")
	hold := flag.Duration("hold", 0, "keep the connections open this long after measuring (0: exit at once)")
	h1 := flag.Bool("h1", false, "HTTP/1.1 keep-alive connections instead of HTTP/2")
	flag.Parse()

	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err == nil {
		l.Cur = l.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
		if uint64(*n)+64 > l.Cur {
			log.Fatalf("%d connections need more than the open file limit of %d", *n, l.Cur)
		}
	}
	var before int64
	if *pid > 0 {
		var err error
		if before, err = rssKB(*pid); err != nil {
			log.Fatal(err)
		}
	}
	start := time.Now()
	open := h2c.OpenIdle
	if *h1 {
		open = openIdleH1
	}
	conns, err := open(*addr, *path, *n, *parallel, 30*time.Second)
	if err != nil {
		log.Fatal(err)
	}
	defer h2c.CloseAll(conns)
	fmt.Printf("%d connections open in %v\n", len(conns), time.Since(start).Round(time.Millisecond))
	if *pid > 0 {
		time.Sleep(*settle)
		after, err := rssKB(*pid)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("server VmRSS %d kB -> %d kB: %.0f bytes per idle connection\n",
			before, after, float64(after-before)*1024/float64(*n))
	}
	if *hold > 0 {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		select {
		case <-sig:
		case <-time.After(*hold):
		}
	}
}

// rssKB is VmRSS of pid in KiB, from /proc/PID/status.
func rssKB(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// openIdleH1 opens n HTTP/1.1 connections, parallel at a time, each
// left idle after one keep-alive GET of path.
func openIdleH1(addr, path string, n, parallel int, timeout time.Duration) ([]net.Conn, error) {
	conns := make([]net.Conn, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range max(parallel, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				nc, err := openH1(addr, path, timeout)
				if err != nil {
					mu.Lock()
					first = cmp.Or(first, err)
					mu.Unlock()
					return
				}
				conns[i] = nc
			}
		}()
	}
	wg.Wait()
	if first != nil {
		h2c.CloseAll(conns)
		return nil, first
	}
	return conns, nil
}

func openH1(addr, path string, timeout time.Duration) (net.Conn, error) {
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	nc.SetDeadline(time.Now().Add(timeout))
	_, err = fmt.Fprintf(nc, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, addr)
	if err == nil {
		var resp *http.Response
		if resp, err = http.ReadResponse(bufio.NewReader(nc), nil); err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	return nc, nil
}
