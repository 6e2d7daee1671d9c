// Command soak runs one in-process h2loop.Server (default settings) under a
// bounded mix of load for a while and checks, after every phase, that the
// server held up: every request completed or ended in a defined way, no
// handler outlived its client by more than a second, goroutines and heap
// came back, and the server's counters agree with what the clients saw.
//
//	go run ./bench/soak -d 10m            # 10 minutes of load in 10 s phases
//	go run ./bench/soak -d 60s -phase 20s -v
//
// The load, all on 127.0.0.1 and all at once: short GETs over many h2c
// connections (http2.Transport); /delay long polls on the same
// connections, some canceled by the client (RST_STREAM); streaming echoes
// over raw HTTP/2 connections (x/net/http2.Framer) that advertise a 1 or
// 2 KiB SETTINGS_INITIAL_WINDOW_SIZE (bulk, ping-pong, reset mid-body) and
// a 12 MiB full-duplex echo through http2.Transport; gRPC (grpc-go client,
// h2c) unary, client-, server- and bidi streaming calls, some canceled
// mid-stream, and a 10 MiB client stream; connection churn (sockets closed
// in the middle of requests, fresh transports, bare connects); HTTP/1.1
// keep-alive requests (net/http and raw sockets) and abrupt disconnects
// under /delay.
//
// After each phase the load stops and drains (every client operation is
// bounded in time, every load loop in time and count), the clients close
// everything, and the phase fails on any of:
//
//   - a request that ended in an unexplained way: an error the harness did
//     not cause, wrong bytes, or a client timeout on a request that should
//     have finished (planned cancellations and aborts are "explained");
//   - a handler that outlived its client by more than 1 s (/delay, /echo
//     and the gRPC streams record when they end and how; the clients record
//     when they left), that still runs after the drain, or that saw its
//     request canceled while its client still waited ("spurious");
//   - a server socket still open 2 s after every client closed its side;
//   - goroutines (idle pool workers aside) or heap in use (after GC) not
//     back near the phase's starting point;
//   - server counters that disagree with the clients (requests below the
//     handler calls or the completed requests, resets_received below the
//     RST_STREAMs sent mid-body, conns below the raw connections) or that
//     moved although every client is well-behaved (protocol errors, floods,
//     timeouts, limits, overload, panics), or a panic in the error log;
//   - DATA beyond the 1-2 KiB windows the raw clients advertise.
//
// The report of each phase lists requests by kind (ok, explained,
// UNEXPLAINED, latency), errors by kind with an example, the handlers that
// outlived their client, goroutines, heap and server sockets before and
// after, the server's counters and its error log; the summary adds them
// up. The command exits 1 when any check failed. TestSoak (soak_test.go)
// runs the same for 60 s (20 s under -race).
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	d := flag.Duration("d", 60*time.Second, "total load time")
	ph := flag.Duration("phase", 10*time.Second, "load time of one phase (each ends with a drain and the checks)")
	v := flag.Bool("v", false, "verbose reports (all lag violations, goroutine growth, more log kinds)")
	seed := flag.Int64("seed", 0, "random seed (0: from the clock)")
	flag.Parse()
	cfg := DefaultConfig(*d, *ph, raceEnabled)
	cfg.Verbose = *v
	cfg.Out = os.Stdout
	if *seed != 0 {
		cfg.Seed = *seed
	}
	res, err := Run(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(2)
	}
	if res.Failed() {
		os.Exit(1)
	}
}
