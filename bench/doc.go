// Package bench holds the benchmarks that pair h2loop with Go's net/http
// (cleartext HTTP/2, Go 1.26 http.Protocols) on the same handler logic
// (bench/internal/hello), the same client (bench/internal/h2c, a pipelined
// raw HTTP/2 client that allocates nothing) and the same parameters:
//
//	go test ./bench -run '^$' -bench . -benchmem
//
// Each benchmark reports ns/op and allocs/op for the whole process and
// srv-allocs/req, the runtime.MemStats count of allocations per request
// during the timed part; the client's share of it is zero.
//
// The side-by-side comparison with h2o and nghttpd, pinned to CPUs and
// driven by h2load and h2bench, is a program: go run ./bench/compare
// (see PERF.md). bench/nethttpd is the net/http server it runs, and
// bench/idleconns opens idle connections to measure memory per connection.
package bench
