package main

import (
	"bytes"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// helloProc is one hello process started by a test.
type helloProc struct {
	cmd    *exec.Cmd
	exited chan error // receives Wait's result once; put it back after reading
	stderr helloLog
	// The addresses bound, from the process's log ("" for listeners it was
	// not asked for).
	addr, tlsAddr, debugAddr string
}

// helloLog keeps a process's stderr and reads the addresses it logs.
type helloLog struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	serving chan struct{} // closed at the "hello: serving on" line
	addrs   map[string]string
}

func (l *helloLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	if l.addrs["serving"] != "" {
		return len(p), nil
	}
	for line := range strings.Lines(l.buf.String()) {
		for _, kind := range []string{"serving", "TLS", "debug"} {
			if _, a, ok := strings.Cut(line, "hello: "+kind+" on "); ok && strings.HasSuffix(a, "\n") {
				l.addrs[kind] = strings.TrimSpace(a)
			}
		}
	}
	if l.addrs["serving"] != "" {
		close(l.serving)
	}
	return len(p), nil
}

func (l *helloLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// launchHello starts bin with args (and -addr 127.0.0.1:0 when args have
// no -addr) and does not wait for it to listen. The process is killed when
// the test ends; its stderr is logged if the test failed.
func launchHello(t *testing.T, bin string, args ...string) *helloProc {
	t.Helper()
	if !slices.Contains(args, "-addr") {
		args = append([]string{"-addr", "127.0.0.1:0"}, args...)
	}
	p := &helloProc{cmd: exec.Command(bin, args...), exited: make(chan error, 1)}
	p.stderr.serving = make(chan struct{})
	p.stderr.addrs = map[string]string{}
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		err := <-p.exited
		p.exited <- err
		if t.Failed() {
			t.Logf("hello %s:\n%s", strings.Join(args, " "), &p.stderr)
		}
	})
	return p
}

// startHelloProc is launchHello that returns once every listener of the
// process is bound, with their addresses; the test fails if the process
// exits first or does not log within 30 s. Tests let hello pick its ports
// (port 0) and read them from its log: a port found free beforehand can be
// taken meanwhile, as the local port of any outgoing connection.
func startHelloProc(t *testing.T, bin string, args ...string) *helloProc {
	t.Helper()
	p := launchHello(t, bin, args...)
	select {
	case <-p.stderr.serving:
	case err := <-p.exited:
		p.exited <- err
		t.Fatalf("hello %s exited before serving: %v\n%s", strings.Join(p.cmd.Args[1:], " "), err, &p.stderr)
	case <-time.After(30 * time.Second):
		t.Fatalf("hello %s: not serving after 30 s\n%s", strings.Join(p.cmd.Args[1:], " "), &p.stderr)
	}
	p.stderr.mu.Lock()
	defer p.stderr.mu.Unlock()
	p.addr, p.tlsAddr, p.debugAddr = p.stderr.addrs["serving"], p.stderr.addrs["TLS"], p.stderr.addrs["debug"]
	return p
}
