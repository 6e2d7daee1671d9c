package h2loop_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/h2loop/h2loop"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// testService implements grpc.testing.TestService's unary and full-duplex
// calls.
type testService struct {
	testpb.UnimplementedTestServiceServer
}

// UnaryCall echoes the payload with an "echo:" prefix, or fails with the
// requested status. It sets a header and a trailer.
func (testService) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	grpc.SetHeader(ctx, metadata.Pairs("x-unary-header", "h"))
	grpc.SetTrailer(ctx, metadata.Pairs("x-unary-trailer", "t"))
	if s := req.GetResponseStatus(); s != nil && s.Code != 0 {
		return nil, status.Error(codes.Code(s.Code), s.Message)
	}
	body := append([]byte("echo:"), req.GetPayload().GetBody()...)
	return &testpb.SimpleResponse{Payload: &testpb.Payload{Body: body}}, nil
}

// FullDuplexCall answers every request at once with one response per
// ResponseParameters: a pattern of Size bytes, or when Size is 0 the
// request's payload followed by "-i". A request with a ResponseStatus ends
// the call with that status.
func (testService) FullDuplexCall(stream testpb.TestService_FullDuplexCallServer) error {
	stream.SetTrailer(metadata.Pairs("x-duplex-trailer", "done"))
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if s := req.GetResponseStatus(); s != nil && s.Code != 0 {
			return status.Error(codes.Code(s.Code), s.Message)
		}
		for i, p := range req.GetResponseParameters() {
			body := pattern(int(p.GetSize()))
			if p.GetSize() == 0 {
				body = fmt.Appendf(nil, "%s-%d", req.GetPayload().GetBody(), i)
			}
			if err := stream.Send(&testpb.StreamingOutputCallResponse{Payload: &testpb.Payload{Body: body}}); err != nil {
				return err
			}
		}
	}
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}

// startGRPC serves a grpc.Server with the health and test services through
// WrapHandler over h2c and returns a client connection to it.
func startGRPC(t *testing.T) (*grpc.ClientConn, *health.Server) {
	t.Helper()
	gs := grpc.NewServer()
	hs := health.NewServer()
	hs.SetServingStatus("h2loop.Test", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(gs, hs)
	testpb.RegisterTestServiceServer(gs, testService{})
	t.Cleanup(gs.Stop)
	addr, _ := startServer(t, func(s *h2loop.Server) {
		s.Handler = h2loop.WrapHandler(gs) // default settings
	})
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc, hs
}

func wantStatus(t *testing.T, err error, code codes.Code, msg string) {
	t.Helper()
	s, ok := status.FromError(err)
	if !ok || s.Code() != code || s.Message() != msg {
		t.Fatalf("error %v, want status %v %q", err, code, msg)
	}
}

func TestGRPCHealth(t *testing.T) {
	cc, hs := startGRPC(t)
	hc := healthpb.NewHealthClient(cc)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "h2loop.Test"})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("Check: %v %v", resp, err)
	}
	// An error status travels in the trailers of a response without messages.
	_, err = hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "no.such.Service"})
	wantStatus(t, err, codes.NotFound, "unknown service")

	// Watch is server streaming: each status change arrives while the call
	// stays open; canceling it ends the server's handler.
	wctx, wcancel := context.WithCancel(ctx)
	w, err := hc.Watch(wctx, &healthpb.HealthCheckRequest{Service: "h2loop.Test"})
	if err != nil {
		t.Fatal(err)
	}
	for i, st := range []healthpb.HealthCheckResponse_ServingStatus{
		healthpb.HealthCheckResponse_SERVING, healthpb.HealthCheckResponse_NOT_SERVING, healthpb.HealthCheckResponse_SERVING,
	} {
		if i > 0 { // the first message is the current status
			hs.SetServingStatus("h2loop.Test", st)
		}
		m, err := w.Recv()
		if err != nil || m.GetStatus() != st {
			t.Fatalf("Watch: got %v %v, want %v", m, err, st)
		}
	}
	wcancel()
	_, err = w.Recv()
	wantStatus(t, err, codes.Canceled, "context canceled")
}

func TestGRPCUnary(t *testing.T) {
	cc, _ := startGRPC(t)
	tc := testpb.NewTestServiceClient(cc)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	var header, trailer metadata.MD
	resp, err := tc.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("hello")}},
		grpc.Header(&header), grpc.Trailer(&trailer))
	if err != nil || string(resp.GetPayload().GetBody()) != "echo:hello" {
		t.Fatalf("UnaryCall: %v %v", resp, err)
	}
	if got := header.Get("x-unary-header"); len(got) != 1 || got[0] != "h" {
		t.Fatalf("header %v", header)
	}
	if got := trailer.Get("x-unary-trailer"); len(got) != 1 || got[0] != "t" {
		t.Fatalf("trailer %v", trailer)
	}

	// A large request and response (beyond the default windows).
	big := pattern(3 << 20)
	resp, err = tc.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: big}}, grpc.MaxCallRecvMsgSize(8<<20))
	if err != nil || !bytes.Equal(resp.GetPayload().GetBody(), append([]byte("echo:"), big...)) {
		t.Fatalf("big UnaryCall: %d bytes, %v", len(resp.GetPayload().GetBody()), err)
	}

	trailer = nil
	_, err = tc.UnaryCall(ctx, &testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{
		Code: int32(codes.NotFound), Message: "no such thing: ünïcode % message"}}, grpc.Trailer(&trailer))
	wantStatus(t, err, codes.NotFound, "no such thing: ünïcode % message")
	if got := trailer.Get("x-unary-trailer"); len(got) != 1 || got[0] != "t" {
		t.Fatalf("trailer of the failed call %v", trailer)
	}

	// A method the server does not have.
	err = cc.Invoke(ctx, "/grpc.testing.TestService/NoSuchMethod", &testpb.Empty{}, &testpb.Empty{})
	wantStatus(t, err, codes.Unimplemented, "unknown method NoSuchMethod for service grpc.testing.TestService")
}

func TestGRPCFullDuplex(t *testing.T) {
	cc, _ := startGRPC(t)
	tc := testpb.NewTestServiceClient(cc)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	stream, err := tc.FullDuplexCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	two := []*testpb.ResponseParameters{{}, {}}
	// Ping-pong: each request is answered before the next is sent.
	for i := 0; i < 5; i++ {
		msg := fmt.Sprintf("msg%d", i)
		if err := stream.Send(&testpb.StreamingOutputCallRequest{ResponseParameters: two, Payload: &testpb.Payload{Body: []byte(msg)}}); err != nil {
			t.Fatal(err)
		}
		for j := 0; j < 2; j++ {
			m, err := stream.Recv()
			if want := fmt.Sprintf("%s-%d", msg, j); err != nil || string(m.GetPayload().GetBody()) != want {
				t.Fatalf("exchange %d.%d: %q %v, want %q", i, j, m.GetPayload().GetBody(), err, want)
			}
		}
	}
	// Large messages both ways, over the flow-control windows.
	big := pattern(2 << 20)
	err = stream.Send(&testpb.StreamingOutputCallRequest{
		ResponseParameters: []*testpb.ResponseParameters{{Size: 1 << 20}, {}},
		Payload:            &testpb.Payload{Body: big},
	})
	if err != nil {
		t.Fatal(err)
	}
	m, err := stream.Recv()
	if err != nil || !bytes.Equal(m.GetPayload().GetBody(), pattern(1<<20)) {
		t.Fatalf("1 MiB response: %d bytes %v", len(m.GetPayload().GetBody()), err)
	}
	m, err = stream.Recv()
	if err != nil || !bytes.Equal(m.GetPayload().GetBody(), append(big, "-1"...)) {
		t.Fatalf("2 MiB echo: %d bytes %v", len(m.GetPayload().GetBody()), err)
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if m, err := stream.Recv(); err != io.EOF {
		t.Fatalf("after CloseSend: %v %v, want io.EOF", m, err)
	}
	if got := stream.Trailer().Get("x-duplex-trailer"); len(got) != 1 || got[0] != "done" {
		t.Fatalf("trailer %v", stream.Trailer())
	}

	// The server ends a call with an error after the client half-closed.
	stream, err = tc.FullDuplexCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stream.Send(&testpb.StreamingOutputCallRequest{ResponseParameters: two, Payload: &testpb.Payload{Body: []byte("a")}})
	stream.Send(&testpb.StreamingOutputCallRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(codes.NotFound), Message: "gone"}})
	stream.CloseSend()
	for j := 0; j < 2; j++ {
		if m, err := stream.Recv(); err != nil || string(m.GetPayload().GetBody()) != fmt.Sprintf("a-%d", j) {
			t.Fatalf("before the error: %v %v", m, err)
		}
	}
	_, err = stream.Recv()
	wantStatus(t, err, codes.NotFound, "gone")
}

// Many concurrent calls on one connection.
func TestGRPCConcurrent(t *testing.T) {
	cc, _ := startGRPC(t)
	tc := testpb.NewTestServiceClient(cc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	errs := make(chan error, 32)
	for g := 0; g < 32; g++ {
		go func(g int) {
			for i := 0; i < 20; i++ {
				body := fmt.Appendf(nil, "g%d-i%d", g, i)
				resp, err := tc.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: body}})
				if err != nil {
					errs <- err
					return
				}
				if want := "echo:" + string(body); string(resp.GetPayload().GetBody()) != want {
					errs <- fmt.Errorf("got %q, want %q", resp.GetPayload().GetBody(), want)
					return
				}
			}
			errs <- nil
		}(g)
	}
	for g := 0; g < 32; g++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// A server that ends a bidirectional call while the client has not
// half-closed (an error after the first message) delivers its status:
// gRPC's ServeHTTP closes the request body to stop its reader goroutine,
// and the read waiting for bytes ends without a reset of the stream.
func TestGRPCErrorBeforeHalfClose(t *testing.T) {
	cc, _ := startGRPC(t)
	tc := testpb.NewTestServiceClient(cc)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := 0; i < 10; i++ {
		stream, err := tc.FullDuplexCall(ctx)
		if err != nil {
			t.Fatal(err)
		}
		err = stream.Send(&testpb.StreamingOutputCallRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(codes.NotFound), Message: "gone"}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = stream.Recv()
		s, _ := status.FromError(err)
		if s.Code() != codes.NotFound || s.Message() != "gone" {
			t.Fatalf("call %d: %v", i, err)
		}
	}
}

// Serving a grpc.Server, here with the standard health service, on h2loop:
// grpc.Server is an http.Handler.
func ExampleWrapHandler_grpc() {
	gs := grpc.NewServer()
	defer gs.Stop()
	hs := health.NewServer()
	hs.SetServingStatus("example.Service", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(gs, hs)

	srv := &h2loop.Server{
		Handler: h2loop.WrapHandler(gs),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go srv.Serve(ln)
	defer srv.Close()

	cc, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		panic(err)
	}
	defer cc.Close()
	hc := healthpb.NewHealthClient(cc)
	ctx := context.Background()
	resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "example.Service"})
	fmt.Println(resp.GetStatus(), err)
	_, err = hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "other.Service"})
	fmt.Println(status.Code(err), status.Convert(err).Message())
	// Output:
	// SERVING <nil>
	// NotFound unknown service
}
