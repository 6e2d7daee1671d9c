package h2loop_test

import (
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// http.ResponseController's SetReadDeadline over HTTP/2: a read waiting
// for body bytes fails with os.ErrDeadlineExceeded when the deadline
// passes; the stream still answers, and the connection serves on.
func TestWrapHandlerReadDeadlineHTTP2(t *testing.T) {
	results := make(chan string, 2)
	url := startWrapped(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/other" {
			io.WriteString(w, "other")
			return
		}
		rc := http.NewResponseController(w)
		buf := make([]byte, 64)
		n, err := io.ReadAtLeast(r.Body, buf, 5)
		if err != nil {
			t.Errorf("first read: %v", err)
		}
		if err := rc.SetReadDeadline(time.Now().Add(100 * time.Millisecond)); err != nil {
			t.Errorf("SetReadDeadline: %v", err)
		}
		_, err = r.Body.Read(buf) // the client sends nothing more: it waits for the deadline
		if errors.Is(err, os.ErrDeadlineExceeded) {
			results <- "deadline after " + string(buf[:n])
		} else {
			results <- "read: " + errString(err)
		}
		_, err = r.Body.Read(buf)
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("read after the deadline: %v", err)
		}
		io.WriteString(w, "answered")
	}), nil)
	c := h2cClient()
	pr, pw := io.Pipe()
	defer pw.Close()
	go io.WriteString(pw, "hello")
	resp, body := mustDo(t, c, mustRequest(t, "POST", url+"/", pr))
	if got := <-results; got != "deadline after hello" {
		t.Fatalf("handler: %s", got)
	}
	if resp.StatusCode != 200 || string(body) != "answered" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
	if _, b := mustDo(t, c, mustRequest(t, "GET", url+"/other", nil)); string(b) != "other" {
		t.Fatalf("the connection after the deadline: %q", b)
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// SetWriteDeadline over HTTP/2: a write blocked by flow control (the
// client does not read) fails with os.ErrDeadlineExceeded when the
// deadline passes; only the stream is reset.
func TestWrapHandlerWriteDeadlineHTTP2(t *testing.T) {
	results := make(chan error, 1)
	url := startWrapped(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/other" {
			io.WriteString(w, "other")
			return
		}
		rc := http.NewResponseController(w)
		if err := rc.Flush(); err != nil { // the response header first: the client sees a response
			results <- err
			return
		}
		rc.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
		chunk := []byte(strings.Repeat("z", 32<<10))
		var err error
		for i := 0; i < 64<<20/len(chunk) && err == nil; i++ { // far beyond any window
			if _, err = w.Write(chunk); err == nil {
				err = rc.Flush()
			}
		}
		results <- err
	}), nil)
	c := h2cClient()
	resp, err := c.Get(url + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close() // not read: the stream window fills
	if err := <-results; !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("write past the deadline: %v, want os.ErrDeadlineExceeded", err)
	}
	if _, err := io.Copy(io.Discard, resp.Body); err == nil {
		t.Fatalf("the aborted response ended cleanly")
	}
	if _, b := mustDo(t, c, mustRequest(t, "GET", url+"/other", nil)); string(b) != "other" {
		t.Fatalf("the connection after the deadline: %q", b)
	}
}

// Over HTTP/1.1 (the body is whole before the handler runs) a read
// deadline that passed fails reads at once, one in the future does not,
// and a write deadline that passed aborts the response: its writes fail
// with os.ErrDeadlineExceeded and the connection closes.
func TestWrapHandlerDeadlinesHTTP1(t *testing.T) {
	results := make(chan string, 4)
	url := startWrapped(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		switch r.URL.Path {
		case "/read":
			rc.SetReadDeadline(time.Now().Add(time.Hour))
			buf := make([]byte, 2)
			if _, err := io.ReadFull(r.Body, buf); err != nil {
				results <- "future deadline: " + err.Error()
				return
			}
			rc.SetReadDeadline(time.Now().Add(-time.Second))
			_, err := r.Body.Read(buf)
			results <- "past deadline: " + errString(errors.Unwrap(err)) + " " + boolString(errors.Is(err, os.ErrDeadlineExceeded))
			io.WriteString(w, "read done")
		case "/write":
			io.WriteString(w, "before")
			if err := rc.Flush(); err != nil {
				results <- "flush before the deadline: " + err.Error()
				return
			}
			rc.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
			var err error
			for i := 0; i < 1000 && err == nil; i++ { // until the timer fired, at most 10 s
				time.Sleep(10 * time.Millisecond)
				if _, err = io.WriteString(w, "x"); err == nil {
					err = rc.Flush()
				}
			}
			results <- "write: " + boolString(errors.Is(err, os.ErrDeadlineExceeded))
		}
	}), nil)
	c := &http.Client{Timeout: 30 * time.Second}
	resp, b := mustDo(t, c, mustRequest(t, "POST", url+"/read", strings.NewReader("body")))
	if got := <-results; got != "past deadline: "+os.ErrDeadlineExceeded.Error()+" true" {
		t.Fatalf("handler: %s", got)
	}
	if resp.StatusCode != 200 || string(b) != "read done" {
		t.Fatalf("%d %q", resp.StatusCode, b)
	}

	resp, err := c.Get(url + "/write")
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if got := <-results; got != "write: true" {
		t.Fatalf("handler: %s", got)
	}
	if err == nil {
		t.Fatalf("the aborted chunked response ended cleanly")
	}
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
