//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// workload is one h2load command line, run against every server.
type workload struct {
	key    string // short name, for -workloads
	title  string
	path   string
	c, m   int
	post   bool  // send the 4 KiB body file with -d
	calibN int   // requests of the calibration run
	fixedN int   // requests of every run (no calibration) when > 0
	respB  int64 // response body bytes per request, for Gbit/s
}

var workloads = []*workload{
	{key: "main", title: "GET / -c 64 -m 16", path: "/", c: 64, m: 16, calibN: 50000, respB: 14},
	{key: "latency", title: "GET / -c 1 -m 1", path: "/", c: 1, m: 1, calibN: 5000, respB: 14},
	{key: "m100", title: "GET / -c 64 -m 100", path: "/", c: 64, m: 100, calibN: 100000, respB: 14},
	{key: "1mb", title: "GET 1 MiB -c 4 -m 1", path: "/bytes/1048576", c: 4, m: 1, calibN: 400, respB: 1 << 20},
	{key: "post", title: "POST 4 KiB echo -c 64 -m 16", path: "/echo", c: 64, m: 16, post: true, calibN: 20000, respB: 4096},
	{key: "10k", title: "GET / 10,000 conns -m 1", path: "/", c: 10000, m: 1, fixedN: 100000, respB: 14},
}

// loadResult is what one load tool run reports.
type loadResult struct {
	total, done, succeeded, failed, errored uint64
	status2xx                               uint64
	reqPerSec                               float64
	elapsed                                 time.Duration
	dataBytes                               uint64
	clientCPU                               time.Duration // user+system time of the load tool
	wall                                    time.Duration
	output                                  string
}

var (
	reFinished = regexp.MustCompile(`finished in ([0-9.]+)(us|ms|s), ([0-9.]+) req/s`)
	reRequests = regexp.MustCompile(`requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored`)
	reStatus   = regexp.MustCompile(`status codes: (\d+) 2xx`)
	reTraffic  = regexp.MustCompile(`\((\d+)\) data`)
)

// parseLoad reads h2load's report (h2bench prints the same lines).
func parseLoad(out string) (loadResult, error) {
	r := loadResult{output: out}
	m := reFinished.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no 'finished in' line in:\n%s", out)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	unit := map[string]float64{"us": 1e-6, "ms": 1e-3, "s": 1}[m[2]]
	r.elapsed = time.Duration(v * unit * float64(time.Second))
	r.reqPerSec, _ = strconv.ParseFloat(m[3], 64)
	m = reRequests.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no 'requests:' line in:\n%s", out)
	}
	n := make([]uint64, 7)
	for i := 1; i <= 6; i++ {
		n[i], _ = strconv.ParseUint(m[i], 10, 64)
	}
	r.total, r.done, r.succeeded, r.failed, r.errored = n[1], n[3], n[4], n[5], n[6]
	if m = reStatus.FindStringSubmatch(out); m != nil {
		r.status2xx, _ = strconv.ParseUint(m[1], 10, 64)
	}
	if m = reTraffic.FindStringSubmatch(out); m != nil {
		r.dataBytes, _ = strconv.ParseUint(m[1], 10, 64)
	}
	return r, nil
}

// runLoad runs tool (h2load or h2bench) pinned to cpu with n requests of w
// against addr, killing it after timeout.
func runLoad(tool, cpu string, w *workload, n int, addr, postFile string, timeout time.Duration) (loadResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	args := []string{"-c", cpu, tool, "-n", strconv.Itoa(n), "-c", strconv.Itoa(w.c),
		"-m", strconv.Itoa(w.m), "-t", "1"}
	if w.post {
		args = append(args, "-d", postFile)
	}
	args = append(args, "http://"+addr+w.path)
	cmd := exec.CommandContext(ctx, "taskset", args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if ctx.Err() != nil {
		return loadResult{output: out.String()}, fmt.Errorf("%s did not finish within %v", tool, timeout)
	}
	if err != nil {
		return loadResult{output: out.String()}, fmt.Errorf("%s: %v\n%s", tool, err, out.String())
	}
	r, err := parseLoad(out.String())
	r.wall = wall
	if cmd.ProcessState != nil {
		r.clientCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	return r, err
}

// syscallEvents are the tracepoints counted by countSyscalls.
var syscallEvents = []string{
	"write", "writev", "sendmsg", "sendto",
	"read", "readv", "recvfrom", "recvmsg",
	"epoll_wait", "epoll_pwait",
}

// perfStat counts system calls of pid with perf stat until the returned
// function is called; that function returns the counts by name.
func perfStat(pid int, dir string) (func() (map[string]uint64, error), error) {
	var ev []string
	for _, e := range syscallEvents {
		ev = append(ev, "syscalls:sys_enter_"+e)
	}
	out := fmt.Sprintf("%s/perfstat-%d.csv", dir, pid)
	cmd := exec.Command("perf", "stat", "-x", ",", "-o", out, "-e", strings.Join(ev, ","), "-p", strconv.Itoa(pid))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	time.Sleep(300 * time.Millisecond) // let perf attach
	return func() (map[string]uint64, error) {
		cmd.Process.Signal(syscall.SIGINT)
		cmd.Wait()
		b, err := os.ReadFile(out)
		if err != nil {
			return nil, fmt.Errorf("perf stat: %v %s", err, stderr.String())
		}
		counts := map[string]uint64{}
		for _, l := range strings.Split(string(b), "\n") {
			f := strings.Split(l, ",")
			if len(f) < 3 {
				continue
			}
			v, err := strconv.ParseUint(f[0], 10, 64)
			if err != nil {
				continue
			}
			counts[strings.TrimPrefix(f[2], "syscalls:sys_enter_")] = v
		}
		if len(counts) == 0 {
			return nil, fmt.Errorf("perf stat counted nothing: %s", b)
		}
		return counts, nil
	}, nil
}
