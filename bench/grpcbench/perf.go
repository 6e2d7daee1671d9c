//go:build linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// writeSyscalls are the system calls that send bytes to a socket.
var writeSyscalls = []string{"write", "writev", "sendmsg", "sendto"}

// countWrites counts pid's write system calls with perf stat until the
// returned function is called, which returns the count.
func countWrites(pid int) (func() (uint64, error), error) {
	f, err := os.CreateTemp("", "grpcbench-perf-*.csv")
	if err != nil {
		return nil, err
	}
	f.Close()
	var ev []string
	for _, e := range writeSyscalls {
		ev = append(ev, "syscalls:sys_enter_"+e)
	}
	cmd := exec.Command("perf", "stat", "-x", ",", "-o", f.Name(), "-e", strings.Join(ev, ","), "-p", strconv.Itoa(pid))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		os.Remove(f.Name())
		return nil, err
	}
	time.Sleep(300 * time.Millisecond) // let perf attach
	return func() (uint64, error) {
		defer os.Remove(f.Name())
		cmd.Process.Signal(syscall.SIGINT)
		cmd.Wait()
		b, err := os.ReadFile(f.Name())
		if err != nil {
			return 0, err
		}
		var n uint64
		counted := false
		for _, l := range strings.Split(string(b), "\n") {
			fs := strings.Split(l, ",")
			if len(fs) < 3 || !strings.HasPrefix(fs[2], "syscalls:") {
				continue
			}
			if v, err := strconv.ParseUint(fs[0], 10, 64); err == nil {
				n += v
				counted = true
			}
		}
		if !counted {
			return 0, fmt.Errorf("perf stat counted nothing: %s", b)
		}
		return n, nil
	}, nil
}
