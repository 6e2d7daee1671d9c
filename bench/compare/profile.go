//go:build linux

package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuProfile records h2loop under workload w with perf (kernel and user
// stacks, the whole process) and, when the server has a debug listener,
// with pprof, and writes text reports named after the workload.
func cpuProfile(cfg *config, p *proc, w *workload, n int, postFile string) error {
	data := filepath.Join(cfg.out, "perf-"+w.key+".data")
	rec := exec.Command("perf", "record", "-F", "1999", "-g", "-o", data, "-p", strconv.Itoa(p.pid))
	rec.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var recErr strings.Builder
	rec.Stderr = &recErr
	if err := rec.Start(); err != nil {
		return err
	}
	time.Sleep(300 * time.Millisecond)
	pprofFile := filepath.Join(cfg.out, "h2loop-"+w.key+".pprof")
	pprofDone := make(chan error, 1)
	if p.spec.goMem {
		secs := max(1, int(cfg.dur.Seconds()))
		go func() {
			pprofDone <- fetch(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/profile?seconds=%d", p.debugPort, secs),
				pprofFile, time.Duration(secs+30)*time.Second)
		}()
	} else {
		pprofDone <- errors.New("no debug listener")
	}
	lr, lerr := runLoad("h2load", cfg.toolCPU, w, n, p.addr(), postFile, max(90*time.Second, 30*cfg.dur))
	rec.Process.Signal(syscall.SIGINT)
	rec.Wait()
	if lerr != nil {
		return lerr
	}
	perr := <-pprofDone
	reports := [][]string{
		{"perf-" + w.key + "-symbols.txt", "perf", "report", "-i", data, "--stdio", "--no-children", "--sort", "symbol", "--percent-limit", "0.4", "-g", "none"},
		{"perf-" + w.key + "-dso.txt", "perf", "report", "-i", data, "--stdio", "--no-children", "--sort", "dso", "-g", "none"},
		{"perf-" + w.key + "-children.txt", "perf", "report", "-i", data, "--stdio", "--children", "--sort", "symbol", "--percent-limit", "2", "-g", "none"},
	}
	if perr == nil {
		reports = append(reports,
			[]string{"pprof-" + w.key + "-top.txt", "go", "tool", "pprof", "-top", "-nodecount=60", p.spec.binary, pprofFile},
			[]string{"pprof-" + w.key + "-cum.txt", "go", "tool", "pprof", "-top", "-cum", "-nodecount=60", p.spec.binary, pprofFile})
	} else {
		log.Printf("pprof %s: %v", w.key, perr)
	}
	if err := writeReports(cfg.out, reports); err != nil {
		return err
	}
	if err := groupProfile(data, filepath.Join(cfg.out, "perf-"+w.key+"-groups.txt")); err != nil {
		log.Printf("perf groups: %v", err)
	}
	log.Printf("profile %s: %d requests at %.0f req/s; reports in %s/perf-%s-*.txt, pprof-%s-*.txt",
		w.key, lr.done, lr.reqPerSec, cfg.out, w.key, w.key)
	return nil
}

// allocProfile starts a fresh h2loop recording every allocation
// (GODEBUG=memprofilerate=1), warms it up with workload w, and writes the
// allocation sites of a second run of w (a pprof -base difference) per
// request.
func allocProfile(cfg *config, s *serverSpec, w *workload, port int, postFile string, logw *os.File) error {
	p, err := startServer(s, cfg.serverCPU, port, port+1, cfg.out, logw, "GODEBUG=memprofilerate=1")
	if err != nil {
		return err
	}
	defer p.stop()
	n := w.calibN
	if w.fixedN > 0 {
		n = w.fixedN / 4
	}
	timeout := max(90*time.Second, 15*cfg.dur)
	if _, err := runLoad("h2load", cfg.toolCPU, w, n, p.addr(), postFile, timeout); err != nil {
		return err
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/heap?gc=1", p.debugPort)
	base := filepath.Join(cfg.out, "allocs-"+w.key+"-base.pprof")
	after := filepath.Join(cfg.out, "allocs-"+w.key+".pprof")
	if err := fetch(url, base, 30*time.Second); err != nil {
		return err
	}
	m0, err := p.mallocs()
	if err != nil {
		return err
	}
	lr, err := runLoad("h2load", cfg.toolCPU, w, n, p.addr(), postFile, timeout)
	if err != nil {
		return err
	}
	m1, err := p.mallocs()
	if err != nil {
		return err
	}
	if err := fetch(url, after, 30*time.Second); err != nil {
		return err
	}
	out := "allocs-" + w.key + ".txt"
	if err := writeReports(cfg.out, [][]string{
		{out, "go", "tool", "pprof", "-sample_index=alloc_objects", "-ignore", measurementFrames, "-top", "-nodecount=40", "-base", base, p.spec.binary, after},
		{"allocs-" + w.key + "-cum.txt", "go", "tool", "pprof", "-sample_index=alloc_objects", "-ignore", measurementFrames, "-top", "-cum", "-nodecount=60", "-base", base, p.spec.binary, after},
		{"allocs-" + w.key + "-stacks.txt", "go", "tool", "pprof", "-sample_index=alloc_objects", "-ignore", measurementFrames, "-traces", "-base", base, p.spec.binary, after},
	}); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(cfg.out, out), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = fmt.Fprintf(f, "\n%d requests on %d connections; MemStats.Mallocs grew by %d (%.3f per request), "+
		"which includes the profile download and /debug/vars (left out of the profile above)\n",
		lr.done, w.c, m1-m0, float64(m1-m0)/float64(max(lr.done, 1)))
	log.Printf("alloc profile %s: %.3f allocs/req; %s/%s", w.key, float64(m1-m0)/float64(max(lr.done, 1)), cfg.out, out)
	return err
}

// measurementFrames are the frames of the profile and /debug/vars
// downloads, left out of allocation profiles.
const measurementFrames = `runtime/pprof\.|net/http/pprof\.|expvar\.`

// symbolGroups map symbol prefixes to the part of the server they belong
// to; the first match wins.
var symbolGroups = []struct{ prefix, group string }{
	{"golang.org/x/net/http2/hpack.", "HPACK (x/net hpack)"},
	{"github.com/h2loop/h2loop/codec.", "h2loop codec (frames, HPACK glue, validation)"},
	{"github.com/h2loop/h2loop/engine.", "h2loop engine"},
	{"github.com/h2loop/h2loop/streamtable.", "h2loop streamtable"},
	{"github.com/h2loop/h2loop/window.", "h2loop window"},
	{"github.com/h2loop/h2loop/loop.", "h2loop loop"},
	{"github.com/h2loop/h2loop/pool.", "h2loop pool"},
	{"github.com/h2loop/h2loop.", "h2loop server/handler API"},
	{"main.", "handler (examples/hello)"},
	{"github.com/cloudwego/netpoll.", "netpoll"},
	{"github.com/bytedance/", "netpoll's gopool and helpers"},
	{"internal/runtime/maps.", "Go maps"},
	{"runtime.map", "Go maps"},
	{"aeshash", "Go maps"},
	{"runtime.mallocgc", "Go allocation and GC"},
	{"runtime.gc", "Go allocation and GC"},
	{"runtime.scanobject", "Go allocation and GC"},
	{"runtime.greyobject", "Go allocation and GC"},
	{"runtime.findObject", "Go allocation and GC"},
	{"runtime.memmove", "memmove/memclr"},
	{"runtime.memclr", "memmove/memclr"},
	{"runtime.", "Go runtime (scheduler, syscalls, other)"},
	{"internal/runtime/syscall", "Go runtime (scheduler, syscalls, other)"},
	{"sync.", "sync"},
	{"sync/atomic.", "sync"},
}

// groupProfile sums a perf profile's self time by part of the server
// (kernel, runtime, netpoll, h2loop packages...) and writes the table.
func groupProfile(data, file string) error {
	out, err := exec.Command("perf", "report", "-i", data, "--stdio", "--no-children", "--sort", "symbol",
		"--percent-limit", "0", "-g", "none").Output()
	if err != nil {
		return err
	}
	sums := map[string]float64{}
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) < 3 || !strings.HasSuffix(f[0], "%") {
			continue
		}
		pct, err := strconv.ParseFloat(strings.TrimSuffix(f[0], "%"), 64)
		if err != nil {
			continue
		}
		sym := f[2]
		g := "other user space"
		switch {
		case f[1] == "[k]":
			g = kernelGroup(sym)
		default:
			for _, sg := range symbolGroups {
				if strings.HasPrefix(sym, sg.prefix) {
					g = sg.group
					break
				}
			}
		}
		sums[g] += pct
	}
	type kv struct {
		g string
		v float64
	}
	var l []kv
	for g, v := range sums {
		l = append(l, kv{g, v})
	}
	slices.SortFunc(l, func(a, b kv) int { return cmp.Compare(b.v, a.v) })
	var b strings.Builder
	fmt.Fprintf(&b, "# self time of %s by part (perf report --no-children --sort symbol)\n", filepath.Base(data))
	for _, e := range l {
		fmt.Fprintf(&b, "%6.2f%%  %s\n", e.v, e.g)
	}
	return os.WriteFile(file, []byte(b.String()), 0o644)
}

// kernelGroup names the kernel part a kernel symbol belongs to.
func kernelGroup(sym string) string {
	switch {
	case strings.Contains(sym, "tcp") || strings.Contains(sym, "ip_") || strings.Contains(sym, "skb") ||
		strings.Contains(sym, "sock") || strings.Contains(sym, "net_") || strings.Contains(sym, "inet") ||
		strings.Contains(sym, "copy_to_iter") || strings.Contains(sym, "copy_from_iter") || strings.Contains(sym, "dev_"):
		return "kernel: TCP/IP and socket copies"
	case strings.Contains(sym, "epoll") || strings.Contains(sym, "ep_"):
		return "kernel: epoll"
	case strings.Contains(sym, "futex") || strings.Contains(sym, "sched") || strings.Contains(sym, "switch") ||
		strings.Contains(sym, "wake") || strings.Contains(sym, "enqueue") || strings.Contains(sym, "dequeue"):
		return "kernel: scheduler and futex (thread wake-ups)"
	case strings.Contains(sym, "syscall") || strings.Contains(sym, "entry_") || strings.Contains(sym, "fdget") ||
		strings.Contains(sym, "fput") || strings.Contains(sym, "vfs_") || strings.Contains(sym, "rw_verify"):
		return "kernel: system call entry, VFS"
	}
	return "kernel: other"
}

// fetch saves the body of url to file.
func fetch(url, file string, timeout time.Duration) error {
	resp, err := (&http.Client{Timeout: timeout}).Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// writeReports runs each command (r[1:]) and writes its output to dir/r[0].
func writeReports(dir string, reports [][]string) error {
	for _, r := range reports {
		out, err := exec.Command(r[1], r[2:]...).Output()
		if err != nil {
			log.Printf("%s: %v", r[0], err)
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, r[0]), out, 0o644); err != nil {
			return err
		}
	}
	return nil
}
