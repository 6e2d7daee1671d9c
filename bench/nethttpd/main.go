// Command nethttpd is the Go net/http counterpart of examples/hello: the same
// endpoints (see bench/internal/hello) over cleartext HTTP/2 with prior
// knowledge (h2c, Go 1.26 http.Protocols) and HTTP/1.1, for the comparisons
// in bench/compare.
//
//	-addr host:port   listen address (default 127.0.0.1:8081)
//	-debug host:port  serve net/http/pprof and expvar (/debug/vars, with
//	                  memstats) on a separate listener, as examples/hello does
package main

import (
	"context"
	"errors"
	_ "expvar"
	"flag"
	"log"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/h2loop/h2loop/bench/internal/hello"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "listen address (h2c and HTTP/1.1)")
	debugAddr := flag.String("debug", "", "serve net/http/pprof and expvar on this address")
	flag.Parse()

	srv := &http.Server{Addr: *addr, Handler: hello.NetHTTP}
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetUnencryptedHTTP2(true)
	if *debugAddr != "" {
		// http.DefaultServeMux carries /debug/vars and /debug/pprof.
		go func() { log.Println(http.ListenAndServe(*debugAddr, nil)) }()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Printf("nethttpd: serving on %s", *addr)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			log.Fatal(err)
		}
	case <-sig:
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}
}
