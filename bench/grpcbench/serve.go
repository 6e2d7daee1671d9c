package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	_ "net/http/pprof" // the debug listener of a server process
	"os"
	"os/signal"
	"syscall"

	"connectrpc.com/connect"
	"github.com/h2loop/h2loop"
	"google.golang.org/grpc"
	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// The servers, by the name the benchmark gives them.
const (
	srvNative        = "grpc-native"     // grpc.NewServer on a TCP listener
	srvH2loop        = "grpc-h2loop"     // grpc.Server through h2loop.WrapHandler (h2c)
	srvNetHTTP       = "grpc-nethttp"    // grpc.Server as the handler of net/http h2c
	srvConnectH2loop = "connect-h2loop"  // connect-go handlers through h2loop.WrapHandler
	srvConnectNet    = "connect-nethttp" // connect-go handlers on net/http h2c
)

var allServers = []string{srvNative, srvH2loop, srvNetHTTP, srvConnectH2loop, srvConnectNet}

// Procedure names of grpc.testing.TestService, which both stacks serve.
const (
	unaryProcedure  = "/grpc.testing.TestService/UnaryCall"
	duplexProcedure = "/grpc.testing.TestService/FullDuplexCall"
)

// service is the grpc-go service: UnaryCall echoes the payload,
// FullDuplexCall answers each message with its payload.
type service struct {
	testpb.UnimplementedTestServiceServer
}

func (service) UnaryCall(_ context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	return &testpb.SimpleResponse{Payload: req.GetPayload()}, nil
}

func (service) FullDuplexCall(stream testpb.TestService_FullDuplexCallServer) error {
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := stream.Send(&testpb.StreamingOutputCallResponse{Payload: req.GetPayload()}); err != nil {
			return err
		}
	}
}

// connectMux serves the same two procedures with connect-go handlers
// (which speak the gRPC protocol the grpc-go client uses).
func connectMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle(unaryProcedure, connect.NewUnaryHandler(unaryProcedure,
		func(_ context.Context, req *connect.Request[testpb.SimpleRequest]) (*connect.Response[testpb.SimpleResponse], error) {
			return connect.NewResponse(&testpb.SimpleResponse{Payload: req.Msg.GetPayload()}), nil
		}))
	mux.Handle(duplexProcedure, connect.NewBidiStreamHandler(duplexProcedure,
		func(_ context.Context, stream *connect.BidiStream[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
			for {
				req, err := stream.Receive()
				if errors.Is(err, io.EOF) {
					return nil
				}
				if err != nil {
					return err
				}
				if err := stream.Send(&testpb.StreamingOutputCallResponse{Payload: req.GetPayload()}); err != nil {
					return err
				}
			}
		}))
	return mux
}

// serve is the server process: it serves kind on addr (and pprof and
// /debug/vars on debugAddr, if set), prints "listening ADDR debug ADDR" on stdout and runs until SIGTERM or SIGINT.
func serve(kind, addr, debugAddr string, workers int) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	debug := "-"
	if debugAddr != "" {
		dl, err := net.Listen("tcp", debugAddr)
		if err != nil {
			return err
		}
		debug = dl.Addr().String()
		go http.Serve(dl, http.DefaultServeMux)
	}
	var opts []grpc.ServerOption
	if workers > 0 {
		opts = append(opts, grpc.NumStreamWorkers(uint32(workers)))
	}
	gs := grpc.NewServer(opts...)
	testpb.RegisterTestServiceServer(gs, service{})
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)

	var run func() error
	var stop func()
	switch kind {
	case srvNative:
		run, stop = func() error { return gs.Serve(ln) }, gs.Stop
	case srvH2loop, srvConnectH2loop:
		var h http.Handler = gs
		if kind == srvConnectH2loop {
			h = connectMux()
		}
		s := &h2loop.Server{Handler: h2loop.WrapHandler(h)}
		run, stop = func() error { return s.Serve(ln) }, func() { s.Close() }
	case srvNetHTTP, srvConnectNet:
		var h http.Handler = gs
		if kind == srvConnectNet {
			h = connectMux()
		}
		s := &http.Server{Handler: h, Protocols: &p}
		run, stop = func() error { return s.Serve(ln) }, func() { s.Close() }
	default:
		return fmt.Errorf("unknown server %q", kind)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		stop()
	}()
	fmt.Printf("listening %s debug %s\n", ln.Addr(), debug)
	err = run()
	if errors.Is(err, http.ErrServerClosed) || errors.Is(err, h2loop.ErrServerClosed) || errors.Is(err, grpc.ErrServerStopped) {
		return nil
	}
	return err
}
