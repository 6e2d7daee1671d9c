//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/h2loop/h2loop/bench/internal/procstat"
)

// serverSpec is a server the comparison can run.
type serverSpec struct {
	name   string
	goMem  bool                                   // serves /debug/vars with memstats (Go servers)
	binary string                                 // for profiles
	argv   func(port, debugPort int) []string     // command line, without the taskset prefix
	skip   func(w *workload) string               // reason a workload does not apply, "" if it does
	setup  func(dir string, port int) (err error) // writes config files before a start
}

// proc is a running server.
type proc struct {
	spec      *serverSpec
	cmd       *exec.Cmd
	pid       int
	port      int
	debugPort int
	done      chan struct{}
}

func (p *proc) addr() string { return "127.0.0.1:" + strconv.Itoa(p.port) }

// procs are the servers started and not yet stopped, killed on exit.
var (
	procsMu sync.Mutex
	procs   = map[*proc]bool{}
)

// startServer starts spec pinned to CPU cpu on port, with env added to the
// environment, and waits until it accepts.
func startServer(spec *serverSpec, cpu string, port, debugPort int, dir string, logw *os.File, env ...string) (*proc, error) {
	if spec.setup != nil {
		if err := spec.setup(dir, port); err != nil {
			return nil, err
		}
	}
	args := append([]string{"-c", cpu}, spec.argv(port, debugPort)...)
	cmd := exec.Command("taskset", args...)
	cmd.Stdout, cmd.Stderr = logw, logw
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{spec: spec, cmd: cmd, pid: cmd.Process.Pid, port: port, debugPort: debugPort, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.done)
	}()
	procsMu.Lock()
	procs[p] = true
	procsMu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", p.addr(), time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("%s exited at start (see the server log)", spec.name)
		default:
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("%s does not accept on %s: %v", spec.name, p.addr(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if spec.goMem {
		for {
			if _, err := p.mallocs(); err == nil {
				break
			}
			if time.Now().After(deadline) {
				p.stop()
				return nil, fmt.Errorf("%s: no /debug/vars on port %d", spec.name, debugPort)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return p, nil
}

// stop ends the server (SIGTERM, then SIGKILL after 3 s) and waits for it.
func (p *proc) stop() {
	procsMu.Lock()
	delete(procs, p)
	procsMu.Unlock()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(3 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// stopAll stops every server still running.
func stopAll() {
	procsMu.Lock()
	ps := make([]*proc, 0, len(procs))
	for p := range procs {
		ps = append(ps, p)
	}
	procsMu.Unlock()
	for _, p := range ps {
		p.stop()
	}
}

// cpuSeconds is the user+system CPU time of the whole process (all its
// threads, exited ones included), from /proc/PID/stat.
func (p *proc) cpuSeconds() (float64, error) { return procstat.CPUSeconds(p.pid) }

// runqueueSeconds is the time the process's live threads spent runnable
// but waiting for a CPU (/proc/PID/task/*/schedstat, second field): other
// processes on the server's CPU show up here.
func (p *proc) runqueueSeconds() float64 {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", p.pid))
	var ns float64
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) >= 2 {
			v, _ := strconv.ParseFloat(f[1], 64)
			ns += v
		}
	}
	return ns / 1e9
}

// rssKB is VmRSS from /proc/PID/status, in KiB.
func (p *proc) rssKB() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", p.pid)
}

var debugClient = &http.Client{Timeout: 5 * time.Second}

// mallocs reads runtime.MemStats.Mallocs from the server's expvar page.
func (p *proc) mallocs() (uint64, error) {
	resp, err := debugClient.Get(fmt.Sprintf("http://127.0.0.1:%d/debug/vars", p.debugPort))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var v struct {
		Memstats struct{ Mallocs uint64 } `json:"memstats"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return 0, err
	}
	return v.Memstats.Mallocs, nil
}

// docroot holds the static files h2o and nghttpd serve: the 14-byte body at
// / (index.html), /bytes/1048576 with examples/hello's pattern.
func writeDocroot(dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, "bytes"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("hello, world!\n"), 0o644); err != nil {
		return err
	}
	b := make([]byte, 1<<20)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return os.WriteFile(filepath.Join(dir, "bytes", "1048576"), b, 0o644)
}

// h2oConfig is h2o's configuration: one thread, no access log, the docroot
// for GET and an mruby handler echoing the body of POST /echo.
const h2oConfig = `num-threads: 1
max-connections: 30000
user: root
pid-file: %[1]s/h2o-%[2]d.pid
error-log: %[1]s/h2o-%[2]d.log
listen:
  host: 127.0.0.1
  port: %[2]d
hosts:
  default:
    paths:
      /echo:
        mruby.handler: |
          Proc.new do |env|
            input = env["rack.input"]
            body = input ? input.read : ""
            [200, {"content-type" => "application/octet-stream"}, [body]]
          end
      /:
        file.dir: %[1]s/docroot
`

// serverSpecs are the servers in the order of the table.
func serverSpecs(bin, dir string, debugFlag, baseDebug bool) []*serverSpec {
	goArgv := func(path string, extra ...string) func(int, int) []string {
		return func(port, debugPort int) []string {
			a := []string{path, "-addr", "127.0.0.1:" + strconv.Itoa(port)}
			debug := debugFlag
			if path == filepath.Join(bin, "base", "hello") {
				debug = baseDebug
			}
			if debug || !strings.HasSuffix(path, "/hello") {
				a = append(a, "-debug", "127.0.0.1:"+strconv.Itoa(debugPort))
			}
			return append(a, extra...)
		}
	}
	hello := filepath.Join(bin, "hello")
	base := filepath.Join(bin, "base", "hello")
	nethttpd := filepath.Join(bin, "nethttpd")
	return []*serverSpec{
		{name: "h2loop", goMem: debugFlag, binary: hello, argv: goArgv(hello)},
		{name: "h2loop-inline", goMem: debugFlag, binary: hello, argv: goArgv(hello, "-inline")},
		{name: "h2loop-base", goMem: baseDebug, binary: base, argv: goArgv(base)},
		{name: "net/http", goMem: true, binary: nethttpd, argv: goArgv(nethttpd)},
		{name: "h2o", binary: "h2o",
			argv: func(port, _ int) []string {
				return []string{"h2o", "-c", filepath.Join(dir, fmt.Sprintf("h2o-%d.conf", port))}
			},
			setup: func(dir string, port int) error {
				return os.WriteFile(filepath.Join(dir, fmt.Sprintf("h2o-%d.conf", port)),
					[]byte(fmt.Sprintf(h2oConfig, dir, port)), 0o644)
			}},
		{name: "nghttpd", binary: "nghttpd",
			argv: func(port, _ int) []string {
				return []string{"nghttpd", "--no-tls", "--echo-upload", "-a", "127.0.0.1",
					"-d", filepath.Join(dir, "docroot"), strconv.Itoa(port)}
			}},
	}
}
