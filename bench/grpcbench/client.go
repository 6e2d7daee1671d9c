package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// The workloads.
const (
	caseUnary  = "unary"  // UnaryCall, one message each way
	caseStream = "stream" // FullDuplexCall ping-pong: one message each way per round trip
)

// client is one grpc-go channel (one HTTP/2 connection) to a server.
type client struct {
	cc *grpc.ClientConn
	tc testpb.TestServiceClient
}

func dial(addr string) (*client, error) {
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	return &client{cc: cc, tc: testpb.NewTestServiceClient(cc)}, nil
}

// load runs workload on conc goroutines for d and returns the calls (or
// messages echoed) done. Every answer is checked: a wrong payload or an
// error fails the run.
func (c *client) load(workload string, conc, size int, d time.Duration) (int64, error) {
	payload := bytes.Repeat([]byte{'x'}, size)
	var calls atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, conc)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := make(chan struct{})
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			switch workload {
			case caseUnary:
				err = c.unary(ctx, payload, start, &stop, &calls)
			case caseStream:
				err = c.stream(ctx, payload, start, &stop, &calls)
			default:
				err = fmt.Errorf("unknown workload %q", workload)
			}
			if err != nil {
				errs <- err
				stop.Store(true)
			}
		}()
	}
	close(start)
	t := time.NewTimer(d)
	select {
	case <-t.C:
	case err := <-errs:
		t.Stop()
		stop.Store(true)
		wg.Wait()
		return calls.Load(), err
	}
	stop.Store(true)
	wg.Wait()
	select {
	case err := <-errs:
		return calls.Load(), err
	default:
	}
	return calls.Load(), nil
}

func (c *client) unary(ctx context.Context, payload []byte, start chan struct{}, stop *atomic.Bool, calls *atomic.Int64) error {
	req := &testpb.SimpleRequest{Payload: &testpb.Payload{Body: payload}}
	<-start
	for !stop.Load() {
		resp, err := c.tc.UnaryCall(ctx, req)
		if err != nil {
			return err
		}
		if !bytes.Equal(resp.GetPayload().GetBody(), payload) {
			return fmt.Errorf("UnaryCall: wrong payload %q", resp.GetPayload().GetBody())
		}
		calls.Add(1)
	}
	return nil
}

func (c *client) stream(ctx context.Context, payload []byte, start chan struct{}, stop *atomic.Bool, calls *atomic.Int64) error {
	s, err := c.tc.FullDuplexCall(ctx)
	if err != nil {
		return err
	}
	req := &testpb.StreamingOutputCallRequest{Payload: &testpb.Payload{Body: payload}}
	<-start
	for !stop.Load() {
		if err := s.Send(req); err != nil {
			return err
		}
		resp, err := s.Recv()
		if err != nil {
			return err
		}
		if !bytes.Equal(resp.GetPayload().GetBody(), payload) {
			return fmt.Errorf("FullDuplexCall: wrong payload %q", resp.GetPayload().GetBody())
		}
		calls.Add(1)
	}
	if err := s.CloseSend(); err != nil {
		return err
	}
	if _, err := s.Recv(); err != io.EOF {
		return fmt.Errorf("FullDuplexCall: end: %v", err)
	}
	return nil
}
