//go:build linux

package main

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// environment describes the machine, the versions and the revision measured.
type environment struct {
	Start, End         string
	Commit             string
	Dirty              bool
	CPU                string
	CPUs               string
	Kernel             string
	Go, H2load, H2o    string
	Nghttpd            string
	LoadStart, LoadEnd string
	Args               string
	Notes              []string
}

func cmdLine(name string, args ...string) string {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil && len(out) == 0 {
		return "n/a"
	}
	return firstLine(strings.TrimSpace(string(out)))
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "n/a"
	}
	return strings.Join(f[:3], " ")
}

func describe(root string, cfg *config) environment {
	e := environment{
		Start:     time.Now().UTC().Format(time.RFC3339),
		Go:        cmdLine("go", "version"),
		H2load:    cmdLine("h2load", "--version"),
		H2o:       cmdLine("h2o", "--version"),
		Nghttpd:   cmdLine("nghttpd", "--version"),
		Kernel:    cmdLine("uname", "-r"),
		LoadStart: loadavg(),
		Args:      strings.Join(os.Args[1:], " "),
	}
	git := func(args ...string) string { return git(root, args...) }
	rev := cfg.rev
	if rev == "" {
		rev = "HEAD"
		e.Dirty = git("status", "--porcelain", "--untracked-files=no") != ""
	}
	e.Commit = git("rev-parse", "--short=12", rev) + " " + git("log", "-1", "--format=%s", rev)
	lscpu := cmdLine("sh", "-c", "lscpu | sed -n 's/^Model name: *//p' | head -1")
	e.CPU = lscpu
	e.CPUs = cmdLine("nproc")
	return e
}

// git runs git in root and returns its output, trimmed ("" on failure).
func git(root string, args ...string) string {
	cmd := exec.Command("git", args...)
	cmd.Dir = root
	out, _ := cmd.Output()
	return strings.TrimSpace(string(out))
}

// stats are the median and range of a series.
type stats struct{ med, lo, hi float64 }

func summarize(v []float64) (stats, bool) {
	var x []float64
	for _, f := range v {
		if !math.IsNaN(f) && !math.IsInf(f, 0) {
			x = append(x, f)
		}
	}
	if len(x) == 0 {
		return stats{}, false
	}
	slices.Sort(x)
	m := x[len(x)/2]
	if len(x)%2 == 0 {
		m = (x[len(x)/2-1] + x[len(x)/2]) / 2
	}
	return stats{m, x[0], x[len(x)-1]}, true
}

// measured returns the runs of the alternated rounds (not the calibration)
// that succeeded.
func measured(c *caseResult, server string) []run {
	var l []run
	for _, r := range c.Runs[server] {
		if r.Round >= 0 && r.Err == "" {
			l = append(l, r)
		}
	}
	return l
}

func series(runs []run, f func(run) float64) []float64 {
	var v []float64
	for _, r := range runs {
		v = append(v, f(r))
	}
	return v
}

// ratios pairs the runs of two servers by round and returns f(a)/f(b).
func ratios(c *caseResult, a, b string, f func(run) float64) []float64 {
	byRound := map[int]run{}
	for _, r := range measured(c, b) {
		byRound[r.Round] = r
	}
	var v []float64
	for _, r := range measured(c, a) {
		if o, ok := byRound[r.Round]; ok && f(o) > 0 {
			v = append(v, f(r)/f(o))
		}
	}
	return v
}

// cell formats the median and range of v with format f; "–" if empty.
func cell(v []float64, f string) string {
	s, ok := summarize(v)
	if !ok {
		return "–"
	}
	if len(v) == 1 || s.lo == s.hi {
		return fmt.Sprintf(f, s.med)
	}
	return fmt.Sprintf(f+" ("+f+"–"+f+")", s.med, s.lo, s.hi)
}

func kilo(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func reqCell(runs []run) string {
	s, ok := summarize(series(runs, func(r run) float64 { return r.ReqPerSec }))
	if !ok {
		return "–"
	}
	return fmt.Sprintf("%s (%s–%s)", kilo(s.med), kilo(s.lo), kilo(s.hi))
}

func gbpsCell(runs []run) string {
	return cell(series(runs, func(r run) float64 { return r.Gbps }), "%.2f")
}

func cpuOf(r run) float64 { return r.CPUus }

func errorsOf(c *caseResult, server string) string {
	var errs []string
	for _, r := range c.Runs[server] {
		if r.Err != "" {
			errs = append(errs, fmt.Sprintf("round %d: %s", r.Round, r.Err))
		}
	}
	return strings.Join(errs, "; ")
}

// report writes the markdown report.
func report(b *strings.Builder, env environment, cfg *config, specs []*serverSpec, cases []*caseResult, extras map[string]*extra) {
	dirty := ""
	if env.Dirty {
		dirty = " + uncommitted changes in the working tree"
	}
	fmt.Fprintf(b, "## Comparison, %s\n\n", env.Start[:10])
	fmt.Fprintf(b, "- commit measured: `%s`%s\n", env.Commit, dirty)
	fmt.Fprintf(b, "- machine: %s, %s CPUs, Linux %s; servers pinned to CPU %s, load tools to CPU %s\n",
		env.CPU, env.CPUs, env.Kernel, cfg.serverCPU, cfg.toolCPU)
	fmt.Fprintf(b, "- %s; %s; %s; %s\n", env.Go, env.H2load, env.H2o, env.Nghttpd)
	fmt.Fprintf(b, "- `go run ./bench/compare %s`: %d alternated rounds, each run calibrated to about %v per server; %s to %s UTC; load average %s at the start, %s at the end\n",
		env.Args, cfg.rounds, cfg.dur, env.Start[11:19], env.End[11:19], env.LoadStart, env.LoadEnd)
	for _, n := range env.Notes {
		fmt.Fprintf(b, "- note: %s\n", n)
	}
	b.WriteString("\nCells are median (min–max) over the rounds. CPU is the server's user+system time from /proc/PID/stat divided by the requests done; " +
		"÷h2o is the per-round ratio of CPU per request to h2o's (goal ≤ 1.0), net/http÷ is net/http's CPU per request divided by the server's (goal ≥ 15). " +
		"Allocations per request are runtime.MemStats.Mallocs deltas of the whole server process (Go servers only).\n")

	mainIdle := cfg.idle
	for _, c := range cases {
		if c.Key != "main" {
			continue
		}
		fmt.Fprintf(b, "\n### %s, %s -t 1\n\n", c.W.title, c.Tool)
		b.WriteString("| server | req/s | server CPU µs/req | ÷h2o | net/http÷ | allocs/req |")
		if c.Tool == "h2load" {
			for _, n := range mainIdle {
				fmt.Fprintf(b, " idle RSS/conn (%d) |", n)
			}
			b.WriteString(" writes/req | reads/req | epoll waits/req |")
		}
		b.WriteString(" server CPU busy | server waiting for CPU | client CPU busy |\n|---|---|---|---|---|---|")
		if c.Tool == "h2load" {
			b.WriteString(strings.Repeat("---|", len(mainIdle)+3))
		}
		b.WriteString("---|---|---|\n")
		for _, s := range specs {
			runs := measured(c, s.name)
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s |", s.name, reqCell(runs),
				cell(series(runs, cpuOf), "%.2f"),
				cell(ratios(c, s.name, "h2o", cpuOf), "%.2f"),
				cell(ratios(c, "net/http", s.name, cpuOf), "%.1f"),
				cell(series(runs, func(r run) float64 { return float64(r.Allocs) }), "%.3f"))
			if c.Tool == "h2load" {
				x := extras[s.name]
				for _, n := range mainIdle {
					if v, ok := x.IdleRSS[n]; ok {
						fmt.Fprintf(b, " %.1f KB |", v/1000)
					} else {
						b.WriteString(" – |")
					}
				}
				if x.Syscalls != nil {
					fmt.Fprintf(b, " %.3f | %.3f | %.3f |", sumOf(x.Syscalls, "write", "writev", "sendmsg", "sendto"),
						sumOf(x.Syscalls, "read", "readv", "recvfrom", "recvmsg"), sumOf(x.Syscalls, "epoll_wait", "epoll_pwait"))
				} else {
					b.WriteString(" – | – | – |")
				}
			}
			fmt.Fprintf(b, " %s | %s | %s |\n", cell(series(runs, func(r run) float64 { return 100 * r.SrvBusy }), "%.0f%%"),
				cell(series(runs, func(r run) float64 { return 100 * r.SrvWait }), "%.0f%%"),
				cell(series(runs, func(r run) float64 { return 100 * r.CliBusy }), "%.0f%%"))
		}
	}

	first := true
	for _, c := range cases {
		if c.Key == "main" {
			continue
		}
		if first {
			b.WriteString("\n### Other workloads (h2load -t 1 unless noted)\n\n")
			b.WriteString("| workload | server | req/s | Gbit/s | server CPU µs/req | ÷h2o | net/http÷ | allocs/req | server CPU busy | server waiting for CPU | client CPU busy |\n")
			b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|\n")
			first = false
		}
		title := c.W.title
		if c.Tool != "h2load" {
			title += " (" + c.Tool + ")"
		}
		for _, s := range specs {
			runs := measured(c, s.name)
			gb := "–"
			if c.W.respB >= 4096 {
				gb = gbpsCell(runs)
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", title, s.name, reqCell(runs), gb,
				cell(series(runs, cpuOf), "%.2f"),
				cell(ratios(c, s.name, "h2o", cpuOf), "%.2f"),
				cell(ratios(c, "net/http", s.name, cpuOf), "%.1f"),
				cell(series(runs, func(r run) float64 { return float64(r.Allocs) }), "%.3f"),
				cell(series(runs, func(r run) float64 { return 100 * r.SrvBusy }), "%.0f%%"),
				cell(series(runs, func(r run) float64 { return 100 * r.SrvWait }), "%.0f%%"),
				cell(series(runs, func(r run) float64 { return 100 * r.CliBusy }), "%.0f%%"))
		}
	}

	if cfg.baseline != "" {
		b.WriteString("\n### Against the baseline (h2loop-base, see the note above)\n\n")
		b.WriteString("h2loop÷base is the per-round ratio of h2loop's server CPU per request to h2loop-base's, from runs alternated within each round.\n\n")
		b.WriteString("| workload | h2loop CPU µs/req | h2loop-base CPU µs/req | h2loop÷base |\n|---|---|---|---|\n")
		for _, c := range cases {
			title := c.W.title
			if c.Tool != "h2load" {
				title += " (" + c.Tool + ")"
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s |\n", title,
				cell(series(measured(c, "h2loop"), cpuOf), "%.2f"),
				cell(series(measured(c, "h2loop-base"), cpuOf), "%.2f"),
				cell(ratios(c, "h2loop", "h2loop-base", cpuOf), "%.3f"))
		}
	}

	var probs []string
	for _, c := range cases {
		for _, s := range specs {
			if e := errorsOf(c, s.name); e != "" {
				probs = append(probs, fmt.Sprintf("%s %s %s: %s", c.Key, c.Tool, s.name, e))
			}
		}
	}
	for _, s := range specs {
		x := extras[s.name]
		if x == nil {
			continue
		}
		for n, e := range x.IdleErr {
			probs = append(probs, fmt.Sprintf("idle %d %s: %s", n, s.name, e))
		}
		if x.SysErr != "" {
			probs = append(probs, fmt.Sprintf("syscalls %s: %s", s.name, x.SysErr))
		}
	}
	if len(probs) > 0 {
		b.WriteString("\nFailed runs (left out of the figures):\n\n")
		for _, p := range probs {
			fmt.Fprintf(b, "- %s\n", p)
		}
	}
	b.WriteString("\nRequests per run (calibrated):")
	for _, c := range cases {
		fmt.Fprintf(b, " %s/%s", c.Key, c.Tool)
		for _, s := range specs {
			fmt.Fprintf(b, " %s=%d", s.name, c.N[s.name])
		}
		b.WriteString(";")
	}
	b.WriteString("\n")
}
