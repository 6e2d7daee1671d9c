package h2loop_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/h2loop/h2loop"
	"golang.org/x/net/http2"
)

// startWrapped serves h through WrapHandler on a loopback port (h2c and
// HTTP/1.1) and returns its base URL.
func startWrapped(t *testing.T, h http.Handler, configure func(*h2loop.Server)) string {
	t.Helper()
	addr, _ := startServer(t, func(s *h2loop.Server) {
		s.Handler = h2loop.WrapHandler(h)
		if configure != nil {
			configure(s)
		}
	})
	return "http://" + addr
}

// h2cClientConn is an h2c client whose connections report their local
// address to *local.
func h2cClientConn(local *string) *http.Client {
	var mu sync.Mutex
	return &http.Client{Transport: &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, network, addr)
			if err == nil {
				mu.Lock()
				*local = c.LocalAddr().String()
				mu.Unlock()
			}
			return c, err
		},
	}, Timeout: 30 * time.Second}
}

func mustDo(t *testing.T, c *http.Client, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	return resp, b
}

// seenRequest is what a handler saw of its *http.Request.
type seenRequest struct {
	Method, Proto            string
	ProtoMajor, ProtoMinor   int
	Path, RawQuery, URLHost  string
	Host, RemoteAddr, RURI   string
	ContentLength            int64
	Header                   http.Header
	Body                     string
	NoBody, TLS              bool
	TrailerBefore, Trailer   http.Header
	Scheme, ReadErr          string
	ContextErrDuringHandler  error
	ContextDoneDuringHandler bool
}

func recordRequest(r *http.Request) seenRequest {
	s := seenRequest{
		Method: r.Method, Proto: r.Proto, ProtoMajor: r.ProtoMajor, ProtoMinor: r.ProtoMinor,
		Path: r.URL.Path, RawQuery: r.URL.RawQuery, URLHost: r.URL.Host, Scheme: r.URL.Scheme,
		Host: r.Host, RemoteAddr: r.RemoteAddr, RURI: r.RequestURI,
		ContentLength: r.ContentLength, Header: r.Header.Clone(),
		NoBody: r.Body == http.NoBody, TLS: r.TLS != nil,
		TrailerBefore:           r.Trailer.Clone(),
		ContextErrDuringHandler: r.Context().Err(),
	}
	select {
	case <-r.Context().Done():
		s.ContextDoneDuringHandler = true
	default:
	}
	b, err := io.ReadAll(r.Body)
	s.Body = string(b)
	if err != nil {
		s.ReadErr = err.Error()
	}
	s.Trailer = r.Trailer.Clone()
	return s
}

// recorder is a handler that sends what it saw of each request on a channel.
func recorder() (http.Handler, chan seenRequest) {
	ch := make(chan seenRequest, 16)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := recordRequest(r)
		ch <- s
		io.WriteString(w, "ok")
	}), ch
}

func TestWrapHandlerRequestFields(t *testing.T) {
	h, seen := recorder()
	base := startWrapped(t, h, nil)
	var local string
	c := h2cClientConn(&local)

	req, _ := http.NewRequest("POST", base+"/p/a%20th?x=1&y=two", strings.NewReader("hello"))
	req.Header.Add("X-Multi", "a")
	req.Header.Add("X-Multi", "b")
	req.Header.Set("Cookie", "a=1; b=2") // Go's transport sends each crumb as its own field
	req.Header.Set("User-Agent", "wrap-test")
	resp, body := mustDo(t, c, req)
	if resp.StatusCode != 200 || string(body) != "ok" || resp.ProtoMajor != 2 {
		t.Fatalf("response %d %q proto %d", resp.StatusCode, body, resp.ProtoMajor)
	}
	s := <-seen
	host := strings.TrimPrefix(base, "http://")
	want := seenRequest{
		Method: "POST", Proto: "HTTP/2.0", ProtoMajor: 2, ProtoMinor: 0,
		Path: "/p/a th", RawQuery: "x=1&y=two", URLHost: "", Scheme: "",
		Host: host, RemoteAddr: local, RURI: "/p/a%20th?x=1&y=two",
		ContentLength: 5,
		Header: http.Header{
			"X-Multi":         {"a", "b"},
			"Cookie":          {"a=1; b=2"},
			"User-Agent":      {"wrap-test"},
			"Accept-Encoding": {"gzip"},
			"Content-Length":  {"5"},
		},
		Body: "hello",
	}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("request seen by the handler:\n got %+v\nwant %+v", s, want)
	}

	// A request without a body: ContentLength 0 and http.NoBody, as net/http.
	req, _ = http.NewRequest("GET", base+"/", nil)
	mustDo(t, c, req)
	s = <-seen
	if s.Method != "GET" || s.ContentLength != 0 || !s.NoBody || s.Body != "" || s.RURI != "/" || s.RawQuery != "" {
		t.Fatalf("GET: %+v", s)
	}
}

// The handler starts before the body is complete: a
// body of unknown length has ContentLength -1 and is read as it arrives.
func TestWrapHandlerStreamingRequestBody(t *testing.T) {
	h, seen := recorder()
	base := startWrapped(t, h, nil)
	c := h2cClient()
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("PUT", base+"/up", pr)
	go func() {
		for i := 0; i < 5; i++ {
			fmt.Fprintf(pw, "part %d;", i)
			time.Sleep(10 * time.Millisecond)
		}
		pw.Close()
	}()
	resp, body := mustDo(t, c, req)
	if resp.StatusCode != 200 || string(body) != "ok" {
		t.Fatalf("response %d %q", resp.StatusCode, body)
	}
	s := <-seen
	if s.ContentLength != -1 || s.NoBody || s.Body != "part 0;part 1;part 2;part 3;part 4;" || s.ReadErr != "" {
		t.Fatalf("seen %+v", s)
	}
}

// A full-duplex exchange: the handler answers each piece of the body
// before the client sends the next one.
func TestWrapHandlerFullDuplex(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.EnableFullDuplex(); err != nil {
			t.Errorf("EnableFullDuplex: %v", err)
		}
		w.WriteHeader(200)
		rc.Flush()
		buf := make([]byte, 64)
		for {
			n, err := r.Body.Read(buf)
			if n > 0 {
				fmt.Fprintf(w, "pong(%s)", buf[:n])
				if err := rc.Flush(); err != nil {
					t.Errorf("Flush: %v", err)
					return
				}
			}
			if err == io.EOF {
				io.WriteString(w, "bye")
				return
			}
			if err != nil {
				t.Errorf("Read: %v", err)
				return
			}
		}
	})
	base := startWrapped(t, h, nil)
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", base+"/duplex", pr)
	resp, err := h2cClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ContentLength != -1 {
		t.Fatalf("a flushed response has content-length %d", resp.ContentLength)
	}
	for i := 0; i < 4; i++ {
		msg := fmt.Sprintf("ping%d", i)
		if _, err := io.WriteString(pw, msg); err != nil {
			t.Fatal(err)
		}
		want := "pong(" + msg + ")"
		got := make([]byte, len(want))
		if _, err := io.ReadFull(resp.Body, got); err != nil || string(got) != want {
			t.Fatalf("exchange %d: %q %v, want %q", i, got, err, want)
		}
	}
	pw.Close()
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "bye" {
		t.Fatalf("end: %q %v", rest, err)
	}
}

// A streamed response: the client reads each flushed chunk while the
// handler waits for it, before the handler finishes.
func TestWrapHandlerStreamingResponse(t *testing.T) {
	next := make(chan struct{})
	finished := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(finished)
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 0; i < 4; i++ {
			fmt.Fprintf(w, "chunk %d\n", i)
			if i%2 == 0 {
				w.(http.Flusher).Flush()
			} else if err := http.NewResponseController(w).Flush(); err != nil {
				t.Errorf("ResponseController.Flush: %v", err)
			}
			select {
			case <-next:
			case <-time.After(10 * time.Second):
				t.Errorf("the client did not read chunk %d", i)
				return
			}
		}
	})
	base := startWrapped(t, h, nil)
	resp, err := h2cClient().Get(base + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" || resp.ContentLength != -1 {
		t.Fatalf("%d %q content-length %d", resp.StatusCode, resp.Header.Get("Content-Type"), resp.ContentLength)
	}
	for i := 0; i < 4; i++ {
		want := fmt.Sprintf("chunk %d\n", i)
		got := make([]byte, len(want))
		if _, err := io.ReadFull(resp.Body, got); err != nil || string(got) != want {
			t.Fatalf("chunk %d: %q %v", i, got, err)
		}
		select {
		case <-finished:
			t.Fatalf("the handler finished before the client read chunk %d", i)
		default:
		}
		next <- struct{}{}
	}
	if rest, err := io.ReadAll(resp.Body); err != nil || len(rest) != 0 {
		t.Fatalf("after the chunks: %q %v", rest, err)
	}
	<-finished
}

// trailerBody is a request body that sets the request's trailer when it
// reaches its end, as http.Request.Trailer documents.
type trailerBody struct {
	r    io.Reader
	req  *http.Request
	vals map[string]string
}

func (b *trailerBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		for k, v := range b.vals {
			b.req.Trailer.Set(k, v)
		}
	}
	return n, err
}

func TestWrapHandlerRequestTrailers(t *testing.T) {
	h, seen := recorder()
	base := startWrapped(t, h, nil)
	req, _ := http.NewRequest("POST", base+"/t", nil)
	req.Trailer = http.Header{"X-Checksum": nil, "X-Count": nil}
	req.Body = io.NopCloser(&trailerBody{r: strings.NewReader("body with trailers"), req: req,
		vals: map[string]string{"X-Checksum": "abc123", "X-Count": "18"}})
	req.ContentLength = -1
	resp, body := mustDo(t, h2cClient(), req)
	if resp.StatusCode != 200 || string(body) != "ok" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
	s := <-seen
	wantBefore := http.Header{"X-Checksum": nil, "X-Count": nil}
	wantAfter := http.Header{"X-Checksum": {"abc123"}, "X-Count": {"18"}}
	if s.Body != "body with trailers" || !reflect.DeepEqual(s.TrailerBefore, wantBefore) || !reflect.DeepEqual(s.Trailer, wantAfter) {
		t.Fatalf("body %q trailer before %v after %v", s.Body, s.TrailerBefore, s.Trailer)
	}
	if _, ok := s.Header["Trailer"]; ok {
		t.Fatalf("the Trailer declaration stayed in Header: %v", s.Header)
	}
}

func TestWrapHandlerResponseTrailers(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Sum, X-Undeclared-Later")
		w.Header().Set("Content-Type", "text/plain")
		switch r.URL.Path {
		case "/flushed":
			io.WriteString(w, "part one,")
			w.(http.Flusher).Flush()
			io.WriteString(w, "part two")
		case "/buffered":
			io.WriteString(w, "part one,part two")
		case "/empty":
		}
		w.Header().Set("X-Sum", "sum-"+r.URL.Path)
		w.Header().Set(http.TrailerPrefix+"X-Late", "late-value")
		w.Header().Add(http.TrailerPrefix+"Content-Length", "99") // not a valid trailer: dropped
	})
	base := startWrapped(t, h, nil)
	c := h2cClient()
	for _, path := range []string{"/flushed", "/buffered", "/empty"} {
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		wantDeclared := http.Header{"X-Sum": nil, "X-Undeclared-Later": nil}
		if !reflect.DeepEqual(resp.Trailer, wantDeclared) {
			t.Fatalf("%s: trailer before the body %v, want %v", path, resp.Trailer, wantDeclared)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantBody := "part one,part two"
		if path == "/empty" {
			wantBody = ""
		}
		if err != nil || string(b) != wantBody {
			t.Fatalf("%s: body %q %v", path, b, err)
		}
		wantTrailer := http.Header{"X-Sum": {"sum-" + path}, "X-Late": {"late-value"}, "X-Undeclared-Later": nil}
		if !reflect.DeepEqual(resp.Trailer, wantTrailer) {
			t.Fatalf("%s: trailer %v, want %v", path, resp.Trailer, wantTrailer)
		}
		if _, ok := resp.Header["X-Sum"]; ok {
			t.Fatalf("%s: a trailer was sent in the header: %v", path, resp.Header)
		}
	}
}

// The client cancels a request; the handler sees r.Context().Done() and a
// failing body read, and the context is canceled once ServeHTTP returns.
func TestWrapHandlerCancel(t *testing.T) {
	type result struct {
		err     error
		readErr error
		ctx     context.Context
	}
	results := make(chan result, 4)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(202)
		w.(http.Flusher).Flush()
		var res result
		res.ctx = r.Context()
		if r.URL.Path == "/read" {
			_, res.readErr = io.ReadAll(r.Body)
		}
		select {
		case <-r.Context().Done():
			res.err = r.Context().Err()
		case <-time.After(10 * time.Second):
			res.err = errors.New("not canceled within 10s")
		}
		results <- res
	})
	base := startWrapped(t, h, nil)
	c := h2cClient()
	for _, path := range []string{"/wait", "/read"} {
		ctx, cancel := context.WithCancel(context.Background())
		var req *http.Request
		var pw *io.PipeWriter
		if path == "/wait" {
			req, _ = http.NewRequestWithContext(ctx, "GET", base+path, nil)
		} else {
			var pr *io.PipeReader
			pr, pw = io.Pipe()
			req, _ = http.NewRequestWithContext(ctx, "POST", base+path, pr)
			go io.WriteString(pw, "x") // the body does not end
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 202 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		// Go's transport sends RST_STREAM(CANCEL) when the context ends,
		// once the request body (if any) stops blocking its writer.
		cancel()
		if pw != nil {
			pw.CloseWithError(context.Canceled)
		}
		res := <-results
		if res.err != context.Canceled {
			t.Fatalf("%s: handler's context error %v, want context.Canceled", path, res.err)
		}
		if path == "/read" && res.readErr == nil {
			t.Fatalf("%s: reading the body of a canceled request did not fail", path)
		}
		resp.Body.Close()
	}

	// Without a reset, the context is live during ServeHTTP and canceled
	// after it returns.
	type live struct {
		ctx context.Context
		err error
	}
	lives := make(chan live, 1)
	h2 := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lives <- live{r.Context(), r.Context().Err()}
	})
	base2 := startWrapped(t, h2, nil)
	resp, _ := mustDo(t, c, mustRequest(t, "GET", base2+"/", nil))
	l := <-lives
	saved, during := l.ctx, l.err
	if resp.StatusCode != 200 || during != nil {
		t.Fatalf("status %d, context error during the handler %v", resp.StatusCode, during)
	}
	select {
	case <-saved.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the context was not canceled when the handler returned")
	}
	if saved.Err() != context.Canceled {
		t.Fatalf("after the handler: %v", saved.Err())
	}
}

func mustRequest(t *testing.T, method, url string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestWrapHandlerContentLength(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789"), 10000) // 100 kB: more than the adapter buffers
	writeErr := make(chan error, 8)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/small":
			io.WriteString(w, "small body")
		case "/big":
			w.Write(big)
		case "/big-declared":
			w.Header().Set("Content-Length", fmt.Sprint(len(big)))
			for i := 0; i < len(big); i += 7000 {
				w.Write(big[i:min(i+7000, len(big))])
			}
		case "/too-much":
			w.Header().Set("Content-Length", "5")
			io.WriteString(w, "12345")
			_, err := io.WriteString(w, "6")
			writeErr <- err
		case "/too-little":
			w.Header().Set("Content-Length", "10")
			io.WriteString(w, "12345")
		case "/head":
			io.WriteString(w, "twelve bytes")
		case "/head-declared":
			w.Header().Set("Content-Length", "1234")
		case "/no-content":
			w.Header().Set("Content-Length", "0")
			w.WriteHeader(http.StatusNoContent)
			_, err := io.WriteString(w, "x")
			writeErr <- err
		case "/not-modified":
			w.Header().Set("Content-Length", "777")
			w.Header().Set("Etag", `"v1"`)
			w.WriteHeader(http.StatusNotModified)
		}
	})
	base := startWrapped(t, h, nil)
	c := h2cClient()

	resp, b := mustDo(t, c, mustRequest(t, "GET", base+"/small", nil))
	if resp.ContentLength != 10 || string(b) != "small body" {
		t.Fatalf("/small: content-length %d body %q", resp.ContentLength, b)
	}
	resp, b = mustDo(t, c, mustRequest(t, "GET", base+"/big", nil))
	if resp.ContentLength != -1 || !bytes.Equal(b, big) {
		t.Fatalf("/big: content-length %d, %d bytes", resp.ContentLength, len(b))
	}
	resp, b = mustDo(t, c, mustRequest(t, "GET", base+"/big-declared", nil))
	if resp.ContentLength != int64(len(big)) || !bytes.Equal(b, big) {
		t.Fatalf("/big-declared: content-length %d, %d bytes", resp.ContentLength, len(b))
	}
	resp, b = mustDo(t, c, mustRequest(t, "GET", base+"/too-much", nil))
	if err := <-writeErr; err != http.ErrContentLength || resp.ContentLength != 5 || string(b) != "12345" {
		t.Fatalf("/too-much: write error %v, content-length %d, body %q", err, resp.ContentLength, b)
	}
	resp, err := c.Get(base + "/too-little")
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Fatal("/too-little: a body shorter than its content-length was not aborted")
	}
	resp, b = mustDo(t, c, mustRequest(t, "HEAD", base+"/head", nil))
	if resp.StatusCode != 200 || resp.ContentLength != 12 || len(b) != 0 {
		t.Fatalf("HEAD /head: %d content-length %d body %q", resp.StatusCode, resp.ContentLength, b)
	}
	resp, b = mustDo(t, c, mustRequest(t, "HEAD", base+"/head-declared", nil))
	if resp.StatusCode != 200 || resp.ContentLength != 1234 || len(b) != 0 {
		t.Fatalf("HEAD /head-declared: %d content-length %d body %q", resp.StatusCode, resp.ContentLength, b)
	}
	resp, b = mustDo(t, c, mustRequest(t, "GET", base+"/no-content", nil))
	if err := <-writeErr; err != http.ErrBodyNotAllowed {
		t.Fatalf("/no-content: write error %v", err)
	}
	if _, ok := resp.Header["Content-Length"]; resp.StatusCode != 204 || ok || len(b) != 0 {
		t.Fatalf("/no-content: %d header %v body %q", resp.StatusCode, resp.Header, b)
	}
	resp, b = mustDo(t, c, mustRequest(t, "GET", base+"/not-modified", nil))
	// Over HTTP/2 a 304 carries no content-length (RFC 9110 §8.6 allows
	// omitting it): see responseWriter.finish.
	if _, ok := resp.Header["Content-Length"]; resp.StatusCode != 304 || ok || resp.Header.Get("Etag") != `"v1"` || len(b) != 0 {
		t.Fatalf("/not-modified: %d header %v body %q", resp.StatusCode, resp.Header, b)
	}
}

func TestWrapHandlerHeaders(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		switch r.URL.Path {
		case "/status":
			hd.Set("X-Before", "1")
			w.WriteHeader(http.StatusEarlyHints) // ignored
			w.WriteHeader(http.StatusContinue)   // ignored
			w.WriteHeader(http.StatusCreated)
			w.WriteHeader(http.StatusTeapot) // superfluous: ignored
			hd.Set("X-After", "1")           // after the snapshot: not sent
			io.WriteString(w, "created")
		case "/conn":
			for _, k := range []string{"Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade"} {
				hd.Set(k, "x")
			}
			hd.Add("X-Multi", "one")
			hd.Add("X-Multi", "two")
			hd["X-Raw-Case"] = []string{"v"}
			io.WriteString(w, "conn")
		case "/sniff":
			io.WriteString(w, "<!DOCTYPE html><html><body>hi</body></html>")
		case "/nosniff":
			hd["Content-Type"] = nil
			hd["Date"] = nil
			io.WriteString(w, "<!DOCTYPE html><html></html>")
		}
	})
	base := startWrapped(t, h, nil)
	c := h2cClient()

	resp, b := mustDo(t, c, mustRequest(t, "GET", base+"/status", nil))
	if resp.StatusCode != 201 || string(b) != "created" || resp.Header.Get("X-Before") != "1" || resp.Header.Get("X-After") != "" {
		t.Fatalf("/status: %d %q %v", resp.StatusCode, b, resp.Header)
	}
	if d, err := http.ParseTime(resp.Header.Get("Date")); err != nil || time.Since(d) > time.Minute {
		t.Fatalf("Date %q: %v", resp.Header.Get("Date"), err)
	}
	resp, b = mustDo(t, c, mustRequest(t, "GET", base+"/conn", nil))
	if string(b) != "conn" {
		t.Fatalf("/conn: %q", b)
	}
	var names []string
	for k := range resp.Header {
		names = append(names, k)
	}
	slices.Sort(names)
	if want := []string{"Content-Length", "Content-Type", "Date", "X-Multi", "X-Raw-Case"}; !slices.Equal(names, want) {
		t.Fatalf("/conn: header fields %v, want %v", names, want)
	}
	if !slices.Equal(resp.Header["X-Multi"], []string{"one", "two"}) || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("/conn: %v", resp.Header)
	}
	resp, _ = mustDo(t, c, mustRequest(t, "GET", base+"/sniff", nil))
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Fatalf("/sniff: content-type %q", ct)
	}
	resp, _ = mustDo(t, c, mustRequest(t, "GET", base+"/nosniff", nil))
	if _, ok := resp.Header["Content-Type"]; ok {
		t.Fatalf("/nosniff: content-type %q", resp.Header.Get("Content-Type"))
	}
	if _, ok := resp.Header["Date"]; ok {
		t.Fatalf("/nosniff: date %q", resp.Header.Get("Date"))
	}
}

// A handler that closes the body from another goroutine while a read
// waits ends that read (gRPC's ServeHTTP does this); a handler that
// panics with http.ErrAbortHandler resets its stream.
func TestWrapHandlerBodyCloseAndAbort(t *testing.T) {
	readErr := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/close":
			done := make(chan error)
			go func() {
				_, err := io.ReadAll(r.Body)
				done <- err
			}()
			time.Sleep(50 * time.Millisecond)
			r.Body.Close()
			readErr <- <-done
			io.WriteString(w, "closed")
		case "/abort":
			io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
	})
	base := startWrapped(t, h, nil)
	c := h2cClient()
	pr, pw := io.Pipe()
	defer pw.Close()
	go io.WriteString(pw, "some bytes")
	resp, err := c.Do(mustRequest(t, "POST", base+"/close", pr))
	if err := <-readErr; err != http.ErrBodyReadAfterClose {
		t.Fatalf("the pending read ended with %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(b) != "closed" {
		t.Fatalf("/close: %q %v", b, err)
	}

	resp, err = c.Get(base + "/abort")
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "CANCEL") {
		t.Fatalf("/abort: %v", err)
	}
}

// WrapHandler over HTTP/1.1 (the same port serves both).
func TestWrapHandlerHTTP1(t *testing.T) {
	h, seen := recorder()
	base := startWrapped(t, h, nil)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	resp, b := mustDo(t, c, mustRequest(t, "POST", base+"/h1?q=1", strings.NewReader("one")))
	if resp.ProtoMajor != 1 || resp.StatusCode != 200 || string(b) != "ok" {
		t.Fatalf("%s %d %q", resp.Proto, resp.StatusCode, b)
	}
	s := <-seen
	if s.Proto != "HTTP/1.1" || s.ProtoMajor != 1 || s.ProtoMinor != 1 || s.Body != "one" || s.ContentLength != 3 ||
		s.RawQuery != "q=1" || s.Host != strings.TrimPrefix(base, "http://") {
		t.Fatalf("%+v", s)
	}
}

// A net/http ServeMux behind WrapHandler, queried by Go's HTTP/2 client.
func ExampleWrapHandler() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello/{name}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Done")
		fmt.Fprintf(w, "hello, %s, over %s\n", r.PathValue("name"), r.Proto)
		w.Header().Set("X-Done", "yes")
	})
	srv := &h2loop.Server{Handler: h2loop.WrapHandler(mux)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go srv.Serve(ln)
	defer srv.Close()

	resp, err := h2cClient().Get("http://" + ln.Addr().String() + "/hello/gopher")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(resp.Status, " ", string(body))
	fmt.Println("trailer X-Done:", resp.Trailer.Get("X-Done"))
	// Output:
	// 200 OK hello, gopher, over HTTP/2.0
	// trailer X-Done: yes
}
