package h2loop_test

// grpc-go's own interop cases (google.golang.org/grpc/interop, the code behind
// its interop_client and interop_server binaries, described in
// https://github.com/grpc/grpc/blob/master/doc/interop-test-descriptions.md)
// against interop.NewTestServer served by a grpc.Server through WrapHandler
// on an h2loop.Server with default settings: over h2c (the gRPC client's
// prior knowledge) and over TLS (ALPN h2).
//
// Every case gets a fresh server and client connection, a deadline, and a
// check that no handler is left running once the client is gone.

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	_ "unsafe" // go:linkname, for orca_oob's reporting interval

	"github.com/h2loop/h2loop"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/grpclog"
	"google.golang.org/grpc/interop"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/orca"
	"google.golang.org/grpc/status"
)

// The interop functions report failure with grpclog's Fatal, which exits the
// process (grpclog calls os.Exit after the logger). interopLogger panics
// with an interopFatal instead, before grpclog gets to os.Exit, and
// runInterop turns the panic into a test failure. It is installed in init,
// before any gRPC code runs, because grpclog's logger is a global that gRPC
// goroutines read without synchronization. For every other test of the
// package it keeps grpclog's default behaviour (errors to stderr, more with
// GRPC_GO_LOG_SEVERITY_LEVEL), except that a Fatal panics instead of exiting.
func init() {
	var info, warning io.Writer = io.Discard, io.Discard
	switch strings.ToLower(os.Getenv("GRPC_GO_LOG_SEVERITY_LEVEL")) {
	case "info":
		info, warning = os.Stderr, os.Stderr
	case "warning":
		warning = os.Stderr
	}
	grpclog.SetLoggerV2(interopLogger{grpclog.NewLoggerV2(info, warning, os.Stderr)})
}

// interopFatal is what interopLogger panics with.
type interopFatal struct{ msg string }

type interopLogger struct{ grpclog.LoggerV2 }

func (interopLogger) Fatal(args ...any) { panic(interopFatal{fmt.Sprint(args...)}) }
func (interopLogger) Fatalln(args ...any) {
	panic(interopFatal{strings.TrimSuffix(fmt.Sprintln(args...), "\n")})
}
func (interopLogger) Fatalf(format string, args ...any) {
	panic(interopFatal{fmt.Sprintf(format, args...)})
}

// FatalDepth is what component loggers (grpclog.Component, used by the
// interop package) call; grpclog.FatalDepth exits after it.
func (interopLogger) FatalDepth(_ int, args ...any) { panic(interopFatal{fmt.Sprintln(args...)}) }

func (l interopLogger) InfoDepth(_ int, args ...any)    { l.Infoln(args...) }
func (l interopLogger) WarningDepth(_ int, args ...any) { l.Warningln(args...) }
func (l interopLogger) ErrorDepth(_ int, args ...any)   { l.Errorln(args...) }

// orcaAllowAnyMinReportingInterval is grpc's internal hook that lets an ORCA
// service report more often than every 30 s. grpc-go's own interop server
// uses it (interop/server/server.go) so that orca_oob's 1 s reports arrive
// within the case's deadline.
//
//go:linkname orcaAllowAnyMinReportingInterval google.golang.org/grpc/internal.ORCAAllowAnyMinReportingInterval
var orcaAllowAnyMinReportingInterval any

// interopCaseTimeout bounds each case: its context's deadline. A case that
// has not returned interopGrace after it fails as hung.
const (
	interopCaseTimeout = 10 * time.Second
	interopGrace       = 5 * time.Second
)

// interopEnv is one case's server and client connection.
type interopEnv struct {
	addr     string
	dialOpts []grpc.DialOption
	cc       *grpc.ClientConn
	inflight *atomic.Int64 // ServeHTTP calls running
}

func (e *interopEnv) dial(t *testing.T, extra ...grpc.DialOption) *grpc.ClientConn {
	cc, err := grpc.NewClient(e.addr, append(append([]grpc.DialOption(nil), e.dialOpts...), extra...)...)
	if err != nil {
		t.Fatalf("grpc.NewClient(%q): %v", e.addr, err)
	}
	return cc
}

// startInterop serves grpc-go's interop test server (with ORCA, as the
// interop_server binary has it) through WrapHandler on an h2loop.Server with
// default settings, over TLS when useTLS, and connects a client to it.
func startInterop(t *testing.T, useTLS bool, clientOpts ...grpc.DialOption) *interopEnv {
	t.Helper()
	gs := grpc.NewServer(orca.CallMetricsServerOption(nil))
	recorder := orca.NewServerMetricsRecorder()
	sopts := orca.ServiceOptions{MinReportingInterval: time.Second, ServerMetricsProvider: recorder}
	orcaAllowAnyMinReportingInterval.(func(*orca.ServiceOptions))(&sopts)
	if err := orca.Register(gs, sopts); err != nil {
		t.Fatal(err)
	}
	testgrpc.RegisterTestServiceServer(gs, interop.NewTestServer(interop.NewTestServerOptions{MetricsRecorder: recorder}))

	inflight := new(atomic.Int64)
	counted := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inflight.Add(1)
		defer inflight.Add(-1)
		gs.ServeHTTP(w, r)
	})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Default settings: only Addr, Handler and, for TLS, TLSConfig.
	srv := &h2loop.Server{Addr: ln.Addr().String(), Handler: h2loop.WrapHandler(counted)}
	var creds credentials.TransportCredentials = insecure.NewCredentials()
	served := make(chan error, 1)
	if useTLS {
		cert, pool := selfSigned(t)
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		creds = credentials.NewTLS(&tls.Config{RootCAs: pool, NextProtos: []string{"h2"}})
		go func() { served <- srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { served <- srv.Serve(ln) }()
	}
	e := &interopEnv{addr: srv.Addr, inflight: inflight}
	e.dialOpts = append([]grpc.DialOption{grpc.WithTransportCredentials(creds)}, clientOpts...)
	e.cc = e.dial(t)

	// Cleanups run last-registered first: the client goes, every handler
	// must then end, then the servers stop. None may hang the suite.
	t.Cleanup(func() {
		bounded(t, "h2loop Server.Close", srv.Close)
		select {
		case err := <-served:
			if err != h2loop.ErrServerClosed {
				t.Errorf("Serve returned %v, want ErrServerClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Serve did not return within 5s of Close")
		}
	})
	t.Cleanup(func() { bounded(t, "grpc Server.Stop", func() error { gs.Stop(); return nil }) })
	t.Cleanup(func() {
		bounded(t, "grpc ClientConn.Close", e.cc.Close)
		// Once the client is gone (its connection closed, every stream
		// reset or finished), no handler may still run.
		deadline := time.Now().Add(3 * time.Second)
		for inflight.Load() != 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if n := inflight.Load(); n != 0 {
			t.Errorf("%d gRPC handler(s) still running 3s after the client closed its connection; stacks:\n%s", n, interopStacks())
		}
	})
	return e
}

// bounded runs f and fails the test if it errs or takes over 5 s.
func bounded(t *testing.T, what string, f func() error) {
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		if err != nil && !strings.Contains(err.Error(), "closing") {
			t.Errorf("%s: %v", what, err)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("%s did not return within 5s; stacks:\n%s", what, interopStacks())
	}
}

// runInterop runs one interop function with a context whose deadline is
// interopCaseTimeout and fails the test with the function's message if it
// reports a failure (panics through interopLogger) or does not return.
func runInterop(t *testing.T, f func(ctx context.Context)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), interopCaseTimeout)
	defer cancel()
	start := time.Now()
	done := make(chan string, 1)
	go func() {
		defer func() {
			switch r := recover().(type) {
			case nil:
			case interopFatal:
				done <- "interop check failed: " + strings.TrimSpace(r.msg)
			default:
				buf := make([]byte, 64<<10)
				done <- fmt.Sprintf("panic: %v\n%s", r, buf[:runtime.Stack(buf, false)])
			}
		}()
		f(ctx)
		done <- ""
	}()
	select {
	case msg := <-done:
		if msg != "" {
			t.Fatalf("after %v: %s", time.Since(start).Round(time.Millisecond), msg)
		}
	case <-time.After(interopCaseTimeout + interopGrace):
		t.Fatalf("hung: no result %v after the case's %v deadline; stacks:\n%s", interopGrace, interopCaseTimeout, interopStacks())
	}
}

// interopStacks returns the stacks of the goroutines in h2loop's code or
// gRPC's server and interop code, the ones that tell why a case is stuck.
func interopStacks() string {
	buf := make([]byte, 8<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var b strings.Builder
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "github.com/h2loop/h2loop") || strings.Contains(g, "grpc/interop") ||
			strings.Contains(g, "grpc/internal/transport.(*serverHandlerTransport)") {
			if strings.Contains(g, "interopStacks") {
				continue
			}
			b.WriteString(g)
			b.WriteString("\n\n")
		}
	}
	if b.Len() > 256<<10 {
		return b.String()[:256<<10] + "\n...(truncated)"
	}
	return b.String()
}

// soakConfig is interop_client's default soak configuration (10 iterations
// of a 271828-byte request and a 314159-byte response, no failure allowed)
// with two workers, each iteration within 5 s instead of 1 s: what is under
// test is that every RPC completes, and under -race on a loaded 2-core
// machine one may take longer than a second.
func soakConfig(addr string, channel func() (*grpc.ClientConn, func())) interop.SoakTestConfig {
	return interop.SoakTestConfig{
		RequestSize:                      271828,
		ResponseSize:                     314159,
		PerIterationMaxAcceptableLatency: 5 * time.Second,
		OverallTimeout:                   interopCaseTimeout - time.Second,
		ServerAddr:                       addr,
		NumWorkers:                       2,
		Iterations:                       10,
		MaxFailures:                      0,
		ChannelForTest:                   channel,
	}
}

// orcaServiceConfig selects the interop package's ORCA test balancer, as
// grpc-go's interop_test.sh does for orca_per_rpc and orca_oob.
const orcaServiceConfig = `{"loadBalancingConfig": [{"test_backend_metrics_load_balancer": {}}]}`

// interopCases are the interop_client cases that need neither credentials
// beyond TLS nor a cloud: all of them but pick_first_unary (xDS: it wants
// a server id that only the xDS interop server fills in) and the auth ones.
var interopCases = []struct {
	name       string
	clientOpts []grpc.DialOption
	run        func(t *testing.T, ctx context.Context, e *interopEnv)
}{
	{name: "empty_unary", run: func(t *testing.T, ctx context.Context, e *interopEnv) {
		interop.DoEmptyUnaryCall(ctx, testgrpc.NewTestServiceClient(e.cc))
	}},
	{name: "large_unary", run: func(t *testing.T, ctx context.Context, e *interopEnv) {
		interop.DoLargeUnaryCall(ctx, testgrpc.NewTestServiceClient(e.cc))
	}},
	{name: "client_streaming", run: func(t *testing.T, ctx context.Context, e *interopEnv) {
		interop.DoClientStreaming(ctx, testgrpc.NewTestServiceClient(e.cc))
	}},
	{name: "server_streaming", run: func(t *testing.T, ctx context.Context, e *interopEnv) {
		interop.DoServerStreaming(ctx, testgrpc.NewTestServiceClient(e.cc))
	}},
	{name: "ping_pong", run: func(t *testing.T, ctx context.Context, e *interopEnv) {
		interop.DoPingPong(ctx, testgrpc.NewTestServiceClient(e.cc))
	}},
	{name: "empty_stream", run: func(t *testing.T, ctx context.Context, e *interopEnv) {
		interop.DoEmptyStream(ctx, testgrpc.NewTestServiceClient(e.cc))
	}},
	{name: "timeout_on_sleeping_server", run: func(t *testing.T, ctx context.Context, e *interopEnv) {
		interop.DoTimeoutOnSleepingServer(ctx, testgrpc.NewTestServiceClient(e.cc))
	}},
	{name: "cancel_after_begin", run: func(t *testing.T, ctx context.Context, e *interopEnv) {
		// interop.DoCancelAfterBegin cancels and then half-closes
		// (CloseAndRecv). grpc-go acts on the cancellation from a goroutine of
		// its own; when that goroutine runs late, the half-close leaves first,
		// the server answers the call it now holds complete with OK, and the
		// check fails on the client's own race (seen in CI under -race, 1 run
		// in several hundred). The same case without the half-close can only
		// end by the cancellation: the server's StreamingInputCall waits for
		// the end of the client's messages, so nothing but CANCELLED can reach
		// the client.
		ctx, cancel := context.WithCancel(metadata.NewOutgoingContext(ctx, metadata.Pairs("x-case", "cancel_after_begin")))
		stream, err := testgrpc.NewTestServiceClient(e.cc).StreamingInputCall(ctx)
		if err != nil {
			panic(interopFatal{fmt.Sprintf("StreamingInputCall: %v", err)})
		}
		cancel()
		if err := stream.RecvMsg(new(testgrpc.StreamingInputCallResponse)); status.Code(err) != codes.Canceled {
			panic(interopFatal{fmt.Sprintf("RecvMsg after cancel: %v (code %v), want code Canceled", err, status.Code(err))})
		}
		if _, err := stream.CloseAndRecv(); status.Code(err) != codes.Canceled {
			panic(interopFatal{fmt.Sprintf("CloseAndRecv after cancel: %v (code %v), want code Canceled", err, status.Code(err))})
		}
	}},
	{name: "cancel_after_first_response", run: func(t *testing.T, ctx context.Context, e *interopEnv) {
		interop.DoCancelAfterFirstResponse(ctx, testgrpc.NewTestServiceClient(e.cc))
	}},
	{name: "custom_metadata", run: func(t *testing.T, ctx context.Context, e *interopEnv) {
		interop.DoCustomMetadata(ctx, testgrpc.NewTestServiceClient(e.cc))
	}},
	{name: "status_code_and_message", run: func(t *testing.T, ctx context.Context, e *interopEnv) {
		interop.DoStatusCodeAndMessage(ctx, testgrpc.NewTestServiceClient(e.cc))
	}},
	{name: "special_status_message", run: func(t *testing.T, ctx context.Context, e *interopEnv) {
		interop.DoSpecialStatusMessage(ctx, testgrpc.NewTestServiceClient(e.cc))
	}},
	{name: "unimplemented_method", run: func(t *testing.T, ctx context.Context, e *interopEnv) {
		interop.DoUnimplementedMethod(ctx, e.cc)
	}},
	{name: "unimplemented_service", run: func(t *testing.T, ctx context.Context, e *interopEnv) {
		interop.DoUnimplementedService(ctx, testgrpc.NewUnimplementedServiceClient(e.cc))
	}},
	{name: "rpc_soak", run: func(t *testing.T, ctx context.Context, e *interopEnv) {
		// Every iteration on the one connection.
		interop.DoSoakTest(ctx, soakConfig(e.addr, func() (*grpc.ClientConn, func()) { return e.cc, func() {} }))
	}},
	{name: "channel_soak", run: func(t *testing.T, ctx context.Context, e *interopEnv) {
		// Every iteration on a new connection.
		interop.DoSoakTest(ctx, soakConfig(e.addr, func() (*grpc.ClientConn, func()) {
			// Called on the soak's worker goroutines: no t.Fatal here.
			cc, err := grpc.NewClient(e.addr, e.dialOpts...)
			if err != nil {
				t.Errorf("grpc.NewClient(%q): %v", e.addr, err)
				return e.cc, func() {}
			}
			return cc, func() { cc.Close() }
		}))
	}},
	{name: "orca_per_rpc", clientOpts: []grpc.DialOption{grpc.WithDefaultServiceConfig(orcaServiceConfig)},
		run: func(t *testing.T, ctx context.Context, e *interopEnv) {
			interop.DoORCAPerRPCTest(ctx, testgrpc.NewTestServiceClient(e.cc))
		}},
	{name: "orca_oob", clientOpts: []grpc.DialOption{grpc.WithDefaultServiceConfig(orcaServiceConfig)},
		run: func(t *testing.T, ctx context.Context, e *interopEnv) {
			interop.DoORCAOOBTest(ctx, testgrpc.NewTestServiceClient(e.cc))
		}},
}

func testGRPCInterop(t *testing.T, useTLS bool) {
	for _, c := range interopCases {
		t.Run(c.name, func(t *testing.T) {
			e := startInterop(t, useTLS, c.clientOpts...)
			runInterop(t, func(ctx context.Context) { c.run(t, ctx, e) })
		})
	}
}

// TestGRPCInteropH2C runs the interop cases over cleartext HTTP/2 (the gRPC
// client speaks h2c with prior knowledge).
func TestGRPCInteropH2C(t *testing.T) {
	t.Parallel()
	testGRPCInterop(t, false)
}

// TestGRPCInteropTLS runs the interop cases over TLS, ALPN h2. The two
// transports run in parallel, each on its own servers.
func TestGRPCInteropTLS(t *testing.T) {
	t.Parallel()
	testGRPCInterop(t, true)
}
