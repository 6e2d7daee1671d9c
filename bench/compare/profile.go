package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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
