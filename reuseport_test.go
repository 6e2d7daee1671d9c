package h2loop_test

import (
	"context"
	"errors"
	"net"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/h2loop/h2loop"
)

// Two Servers in one process with ReusePort listen on one port through
// ListenAndServe; a third without it gets EADDRINUSE. (Two processes
// sharing a port: examples/hello's TestReusePortTwoProcesses.)
func TestReusePortListenAndServe(t *testing.T) {
	if runtime.GOOS == "windows" {
		srv := &h2loop.Server{Handler: h2loop.HandlerFunc(helloHandler), ReusePort: true}
		if err := srv.ListenAndServe(); !errors.Is(err, h2loop.ErrReusePortUnsupported) {
			t.Fatalf("ListenAndServe with ReusePort on windows: %v", err)
		}
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var srvs []*h2loop.Server
	errs := make(chan error, 2)
	for range 2 {
		srv := &h2loop.Server{Addr: addr, Handler: h2loop.HandlerFunc(helloHandler), ReusePort: true}
		srvs = append(srvs, srv)
		go func() { errs <- srv.ListenAndServe() }()
	}
	// Both serve: each one's listener stays open until Shutdown.
	if err := waitServing(addr); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errs:
		t.Fatalf("a ReusePort server returned %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	plain := &h2loop.Server{Addr: addr, Handler: h2loop.HandlerFunc(helloHandler)}
	if err := plain.ListenAndServe(); !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("a server without ReusePort on the shared port: %v, want EADDRINUSE", err)
	}
	for _, srv := range srvs {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		srv.Shutdown(ctx)
		cancel()
		if err := <-errs; err != h2loop.ErrServerClosed {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	}
}

func waitServing(addr string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := helloOK(addr)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}
