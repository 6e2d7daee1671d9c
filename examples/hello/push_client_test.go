package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/h2loop/h2loop/client"
	"github.com/h2loop/h2loop/codec"
)

// pushRecorder is the Handler and PushHandler of pushExchange.
type pushRecorder struct {
	status   int
	closed   bool
	result   client.Result
	promises []string
	refused  []string
	pushed   map[uint32][]byte
	pstatus  map[uint32]int
	pclosed  map[uint32]client.Result
}

func (r *pushRecorder) Response(_ int32, status int) { r.status = status }
func (r *pushRecorder) Closed(_ int32, res client.Result, _ codec.ErrCode) {
	r.closed, r.result = true, res
}
func (r *pushRecorder) PushPromise(_ int32, id uint32, m, s, a, p []byte) {
	r.promises = append(r.promises, fmt.Sprintf("%d %s %s %s %s", id, m, s, a, p))
}
func (r *pushRecorder) PushRefused(id uint32, err *codec.StreamError) {
	r.refused = append(r.refused, fmt.Sprintf("%d %v", id, err))
}
func (r *pushRecorder) PushData(id uint32, p []byte)       { r.pushed[id] = append(r.pushed[id], p...) }
func (r *pushRecorder) PushResponse(id uint32, status int) { r.pstatus[id] = status }
func (r *pushRecorder) PushClosed(id uint32, res client.Result, _ codec.ErrCode) {
	r.pclosed[id] = res
}

// pushExchange sends GET path on one connection with the project's client
// (push enabled or not) and runs it until the request and every push have
// ended.
func pushExchange(t *testing.T, addr, path string, push bool) (*pushRecorder, *client.H2Conn) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(30 * time.Second)) // a hang fails, it does not block the run
	cfg := client.DefaultH2Config()
	cfg.EnablePush = push
	cfg.MaxConcurrentStreams = 4
	rec := &pushRecorder{pushed: map[uint32][]byte{}, pstatus: map[uint32]int{}, pclosed: map[uint32]client.Result{}}
	set := client.NewRequestSet([]client.Request{{Scheme: "http", Authority: addr, Path: path}})
	c := client.NewH2Conn(cfg, set, rec)
	c.Start()
	if err := c.Submit(0, 1); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	have := 0
	for !rec.closed || c.Pushes() > 0 {
		if out := c.Output(); len(out) > 0 {
			if _, err := nc.Write(out); err != nil {
				t.Fatal(err)
			}
			c.Wrote(len(out))
		}
		n, err := nc.Read(buf[have:])
		if err != nil {
			t.Fatalf("read: %v (response closed %v, %d pushes open)", err, rec.closed, c.Pushes())
		}
		have += n
		used, ferr := c.Feed(buf[:have])
		if ferr != nil {
			t.Fatalf("Feed: %v", ferr)
		}
		have = copy(buf, buf[used:have])
	}
	return rec, c
}

// TestPushClient: the project's client with push enabled gets the promise
// of GET /bytes/1000 on its request to /push, then the pushed response (200
// and the 1000 bytes 'a'+i%26) beside the 200 "pushed\n"; without push, no
// PUSH_PROMISE comes (the client would fail the connection with
// ErrPushPromise) and the response is the same.
func TestPushClient(t *testing.T) {
	addr := startHello(t).addr
	rec, c := pushExchange(t, addr, "/push", true)
	if rec.status != 200 || rec.result != client.ResultOK || c.BytesBody != uint64(len("pushed\n")) {
		t.Fatalf("response %d %v, %d body bytes", rec.status, rec.result, c.BytesBody)
	}
	want := fmt.Sprintf("2 GET http %s /bytes/1000", addr)
	if len(rec.promises) != 1 || rec.promises[0] != want || len(rec.refused) != 0 {
		t.Fatalf("promises %q (refused %q), want [%q]", rec.promises, rec.refused, want)
	}
	body := rec.pushed[2]
	if rec.pstatus[2] != 200 || rec.pclosed[2] != client.ResultOK || len(body) != 1000 || c.BytesPushed != 1000 || c.PushesReceived != 1 {
		t.Fatalf("pushed stream: status %d, end %v, %d bytes (counted %d), %d pushes",
			rec.pstatus[2], rec.pclosed[2], len(body), c.BytesPushed, c.PushesReceived)
	}
	for i, b := range body {
		if b != byte('a'+i%26) {
			t.Fatalf("pushed byte %d = %q, want %q", i, b, byte('a'+i%26))
		}
	}

	rec, c = pushExchange(t, addr, "/push", false)
	if rec.status != 200 || rec.result != client.ResultOK || c.BytesBody != uint64(len("pushed\n")) ||
		len(rec.promises)+len(rec.refused) != 0 || c.PushesReceived != 0 || c.BytesPushed != 0 {
		t.Fatalf("without push: response %d %v, %d body bytes, promises %q", rec.status, rec.result, c.BytesBody, rec.promises)
	}
}

// TestPushH2bench: h2bench --enable-push counts one push of 1000 bytes per
// request to /push, in the report and in --json; without the flag the run
// has no push line and no push section (and would fail on a PUSH_PROMISE).
func TestPushH2bench(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("h2bench runs on Linux only")
	}
	addr := startHello(t).addr
	out, err := exec.Command(h2bench(t), "--enable-push", "-n", "40", "-c", "2", "-m", "4", "--json", "-", "http://"+addr+"/push").Output()
	if err != nil {
		t.Fatalf("h2bench --enable-push: %v\n%s", err, out)
	}
	var res struct {
		Requests struct {
			Succeeded int64 `json:"succeeded"`
		} `json:"requests"`
		Traffic struct {
			Data int64 `json:"data"`
		} `json:"traffic"`
		Push *struct {
			Received int64 `json:"received"`
			Refused  int64 `json:"refused"`
			Bytes    int64 `json:"bytes"`
		} `json:"push"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	// the server pushes when fewer than the client's
	// SETTINGS_MAX_CONCURRENT_STREAMS (-m) pushed streams are open, so not
	// always: every push is counted whole and none is refused
	if res.Requests.Succeeded != 40 || res.Traffic.Data != 40*7 || res.Push == nil ||
		res.Push.Received < 1 || res.Push.Received > 40 || res.Push.Refused != 0 || res.Push.Bytes != res.Push.Received*1000 {
		t.Fatalf("h2bench --enable-push --json:\n%s", out)
	}
	text, err := exec.Command(h2bench(t), "--enable-push", "-n", "10", "-c", "1", "-m", "2", "-v", "http://"+addr+"/push").CombinedOutput()
	m := regexp.MustCompile(`\npush: (\d+) received, 0 refused, \S+ \((\d+)\) pushed data\n`).FindStringSubmatch(string(text))
	if err != nil || m == nil || m[2] != m[1]+"000" || m[1] == "0" ||
		strconv.Itoa(strings.Count(string(text), "recv PUSH_PROMISE promised_stream_id=")) != m[1] ||
		strings.Count(string(text), ":method=GET :scheme=http :authority="+addr+" :path=/bytes/1000\n") != strings.Count(string(text), "recv PUSH_PROMISE") {
		t.Fatalf("h2bench --enable-push -v: %v\n%s", err, text)
	}
	text, err = exec.Command(h2bench(t), "-n", "10", "-c", "1", "-m", "2", "--json", "-", "http://"+addr+"/push").Output()
	if err != nil || strings.Contains(string(text), `"push"`) || !strings.Contains(string(text), `"succeeded": 10`) {
		t.Fatalf("h2bench without --enable-push: %v\n%s", err, text)
	}
}
