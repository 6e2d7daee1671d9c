package h2prom_test

import (
	"log"
	"net/http"

	"github.com/h2loop/h2loop"
	"github.com/h2loop/h2loop/h2prom"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// A server whose metrics Prometheus scrapes from another port's /metrics.
func Example() {
	srv := &h2loop.Server{
		Addr: "127.0.0.1:8080",
		Handler: h2loop.HandlerFunc(func(ctx *h2loop.RequestCtx) {
			ctx.SetBodyString("hello\n")
		}),
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(h2prom.NewCollector(srv, h2prom.Options{}))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	go func() { log.Fatal(http.ListenAndServe("127.0.0.1:9090", mux)) }()
	log.Fatal(srv.ListenAndServe())
}
