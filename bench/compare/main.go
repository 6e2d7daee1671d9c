//go:build linux

// Command compare runs h2loop (examples/hello), Go's net/http h2c
// (bench/nethttpd) and, when installed, h2o and nghttpd side by side, each
// pinned to one CPU and loaded by h2load (and h2bench) pinned to another, and
// prints a markdown table of requests per second, server CPU time per
// request (from /proc/PID/stat), ratios to h2o and net/http, allocations per
// request (Go servers, from runtime.MemStats via /debug/vars), idle RSS per
// connection and write system calls per request (perf stat).
//
//	go run ./bench/compare                       # everything, about 10 minutes
//	go run ./bench/compare -workloads main -rounds 5 -idle 5000 -syscalls=false -profile= -allocprofile=
//
// Servers run alternately: every round runs each server once, in an order
// rotated from round to round; figures are medians over the rounds with
// their range. All traffic is on loopback; every server is killed on exit.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/h2loop/h2loop/bench/internal/h2c"
)

// config is the command line.
type config struct {
	rounds        int
	dur           time.Duration
	workloads     []string
	servers       []string
	idle          []int
	syscalls      bool
	profiles      []string // workloads to CPU-profile h2loop on
	allocProfiles []string // workloads to allocation-profile h2loop on
	h2bench       bool
	h2benchAll    bool
	generators    bool
	genN          int
	rev           string
	baseline      string // a git revision served as h2loop-base beside h2loop
	out           string
	md            string
	serverCPU     string
	toolCPU       string
	port          int
}

// run is one load run against one server.
type run struct {
	Server    string
	Round     int // -1: calibration
	N         int
	ReqPerSec float64
	CPUus     float64  // server CPU µs per request
	Allocs    optFloat // per request, NaN (JSON null) if unknown
	SrvBusy   float64  // server CPU time / wall time
	CliBusy   float64  // load tool CPU time / wall time
	CliCPUus  float64  // load tool CPU µs per request
	Succeeded uint64
	SrvWait   float64 // server's run-queue wait time / wall time (CPU contention)
	Gbps      float64 // response DATA, Gbit/s
	Err       string
}

// optFloat is a float64 whose NaN is null in JSON.
type optFloat float64

// MarshalJSON implements json.Marshaler.
func (f optFloat) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(f))
}

// caseResult is one workload driven by one tool.
type caseResult struct {
	W    *workload `json:"-"`
	Key  string
	Tool string
	N    map[string]int
	Runs map[string][]run
}

// extra holds the per-server figures of the main workload.
type extra struct {
	IdleRSS  map[int]float64 // bytes per idle connection, by connection count
	IdleErr  map[int]string
	Syscalls map[string]float64 // per request
	SysErr   string
}

func main() {
	log.SetFlags(log.Ltime)
	var cfg config
	var wl, sv, idle string
	flag.IntVar(&cfg.rounds, "rounds", 3, "alternated rounds per workload")
	flag.DurationVar(&cfg.dur, "dur", 3*time.Second, "target duration of one run (requests are calibrated per server)")
	flag.StringVar(&wl, "workloads", "main,latency,m100,1mb,post,10k", "workloads to run")
	flag.StringVar(&sv, "servers", "h2loop,net/http,h2o,nghttpd", "servers to run (also: h2loop-inline)")
	flag.StringVar(&idle, "idle", "5000,10000", "idle connection counts for RSS per connection (empty: skip)")
	flag.BoolVar(&cfg.syscalls, "syscalls", true, "count system calls of each server on the main workload (perf stat)")
	var prof, aprof string
	flag.StringVar(&prof, "profile", "main,post,10k", "workloads to CPU-profile h2loop on (perf record and pprof; empty: none)")
	flag.StringVar(&aprof, "allocprofile", "main,latency,post,10k", "workloads to allocation-profile h2loop on (GODEBUG=memprofilerate=1; empty: none)")
	flag.BoolVar(&cfg.h2bench, "h2bench", true, "also drive the main workload with h2bench (cmd/h2bench)")
	flag.BoolVar(&cfg.h2benchAll, "h2bench-all", false, "drive every workload with h2bench too")
	flag.BoolVar(&cfg.generators, "generators", true, "compare h2bench with h2load: CPU per request against h2loop and h2o, throughput against a server-paced workload")
	flag.IntVar(&cfg.genN, "generators-n", 1000000, "requests per run of the generator comparison's GET / workload")
	flag.StringVar(&cfg.rev, "rev", "", "build examples/hello from this git revision (default: the working tree)")
	flag.StringVar(&cfg.baseline, "baseline", "", "also serve examples/hello built from this git revision, as server h2loop-base, in the same alternated rounds (÷base: CPU per request against it)")
	flag.StringVar(&cfg.out, "out", "", "directory for logs, profiles and results.json (default: a new temporary directory)")
	flag.StringVar(&cfg.md, "md", "", "also write the report to this file")
	flag.StringVar(&cfg.serverCPU, "server-cpu", "0", "CPU list the servers are pinned to (taskset -c)")
	flag.StringVar(&cfg.toolCPU, "tool-cpu", "1", "CPU list the load tools are pinned to")
	flag.IntVar(&cfg.port, "port", 19400, "first port to use (each server uses a few)")
	flag.Parse()
	cfg.workloads = splitList(wl)
	cfg.servers = splitList(sv)
	if cfg.baseline != "" && !slices.Contains(cfg.servers, "h2loop-base") {
		cfg.servers = append(cfg.servers, "h2loop-base")
	}
	cfg.profiles = splitList(prof)
	cfg.allocProfiles = splitList(aprof)
	for _, s := range splitList(idle) {
		n, err := strconv.Atoi(s)
		if err != nil {
			log.Fatalf("-idle: %v", err)
		}
		cfg.idle = append(cfg.idle, n)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	go func() {
		s := <-sig
		log.Printf("%v: stopping the servers", s)
		stopAll()
		os.Exit(2)
	}()
	err := compare(&cfg)
	stopAll()
	if err != nil {
		log.Fatal(err)
	}
}

func splitList(s string) []string {
	var l []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			l = append(l, f)
		}
	}
	return l
}

func compare(cfg *config) error {
	raiseNoFile()
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	if cfg.out == "" {
		if cfg.out, err = os.MkdirTemp("", "h2loop-compare-"); err != nil {
			return err
		}
	}
	bin := filepath.Join(cfg.out, "bin")
	docs := filepath.Join(cfg.out, "docroot")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	if err := writeDocroot(docs); err != nil {
		return err
	}
	postFile := filepath.Join(cfg.out, "post4k")
	if err := os.WriteFile(postFile, patternBytes(4096), 0o644); err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(cfg.out, "servers.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	log.Printf("output in %s", cfg.out)

	env := describe(root, cfg)
	if err := build(root, bin, cfg.rev, &env); err != nil {
		return err
	}
	helpOut, _ := exec.Command(filepath.Join(bin, "hello"), "-h").CombinedOutput()
	debugFlag := strings.Contains(string(helpOut), "-debug")
	if !debugFlag {
		env.Notes = append(env.Notes, "examples/hello has no -debug flag at this revision: no allocation counts for h2loop")
	}
	baseDebug := false
	if cfg.baseline != "" {
		if err := buildHello(root, filepath.Join(bin, "base"), cfg.baseline); err != nil {
			return err
		}
		out, _ := exec.Command(filepath.Join(bin, "base", "hello"), "-h").CombinedOutput()
		baseDebug = strings.Contains(string(out), "-debug")
		env.Notes = append(env.Notes, "h2loop-base is examples/hello at "+git(root, "rev-parse", "--short=12", cfg.baseline)+" "+git(root, "log", "-1", "--format=%s", cfg.baseline))
	}

	var specs []*serverSpec
	for _, s := range serverSpecs(bin, cfg.out, debugFlag, baseDebug) {
		if !slices.Contains(cfg.servers, s.name) {
			continue
		}
		if _, err := exec.LookPath(s.argv(0, 0)[0]); err != nil {
			env.Notes = append(env.Notes, s.name+" is not installed: left out")
			continue
		}
		specs = append(specs, s)
	}
	tools := []string{"h2load"}
	if _, err := exec.LookPath("h2load"); err != nil {
		return errors.New("h2load is not installed (apt-get install nghttp2-client)")
	}
	h2bench := filepath.Join(bin, "h2bench")
	if cfg.h2bench {
		if _, err := os.Stat(h2bench); err == nil {
			tools = append(tools, h2bench)
		} else {
			env.Notes = append(env.Notes, "cmd/h2bench did not build: h2bench left out")
		}
	}

	// start every server once, each on its own ports
	port := cfg.port
	procs := map[string]*proc{}
	for _, s := range specs {
		p, err := startServer(s, cfg.serverCPU, port, port+1, cfg.out, logf)
		if err != nil {
			return err
		}
		procs[s.name] = p
		port += 2
	}
	log.Printf("servers: %s", strings.Join(names(specs), ", "))

	var cases []*caseResult
	for _, key := range cfg.workloads {
		w := findWorkload(key)
		if w == nil {
			return fmt.Errorf("unknown workload %q", key)
		}
		for _, tool := range tools {
			if tool != "h2load" && w.key != "main" && !cfg.h2benchAll {
				continue
			}
			cases = append(cases, runCase(cfg, w, tool, specs, procs, postFile))
		}
	}

	var gens []*genCase
	if cfg.generators && slices.Contains(tools, h2bench) {
		gens = runGenerators(cfg, procs, specs, h2bench, postFile)
	}

	extras := map[string]*extra{}
	for _, s := range specs {
		extras[s.name] = &extra{IdleRSS: map[int]float64{}, IdleErr: map[int]string{}}
	}
	var mainCase *caseResult
	for _, c := range cases {
		if c.Key == "main" && c.Tool == "h2load" {
			mainCase = c
		}
	}
	mainW := workloads[0]
	nFor := func(name string) int {
		if mainCase != nil && mainCase.N[name] > 0 {
			return mainCase.N[name]
		}
		return mainW.calibN
	}
	if cfg.syscalls {
		for _, s := range specs {
			p := procs[s.name]
			counts, n, err := countSyscalls(cfg, p, mainW, nFor(s.name), postFile)
			if err != nil {
				extras[s.name].SysErr = err.Error()
				log.Printf("syscalls %s: %v", s.name, err)
				continue
			}
			m := map[string]float64{}
			for k, v := range counts {
				m[k] = float64(v) / float64(n)
			}
			extras[s.name].Syscalls = m
			log.Printf("syscalls %s: %.3f writes/req, %.3f reads/req", s.name, sumOf(m, "write", "writev", "sendmsg", "sendto"),
				sumOf(m, "read", "readv", "recvfrom", "recvmsg"))
		}
	}
	if p := procs["h2loop"]; p != nil {
		for _, key := range cfg.profiles {
			w := findWorkload(key)
			if w == nil {
				return fmt.Errorf("-profile: unknown workload %q", key)
			}
			n := w.calibN * 4
			for _, c := range cases {
				if c.Key == key && c.Tool == "h2load" {
					n = 2 * c.N["h2loop"]
				}
			}
			if w.fixedN > 0 {
				n = w.fixedN
			}
			if err := cpuProfile(cfg, p, w, n, postFile); err != nil {
				env.Notes = append(env.Notes, "profile "+key+": "+err.Error())
			}
		}
	}
	for _, p := range procs {
		p.stop()
	}
	for _, s := range specs {
		if s.name != "h2loop" || !s.goMem {
			continue
		}
		for _, key := range cfg.allocProfiles {
			w := findWorkload(key)
			if w == nil {
				return fmt.Errorf("-allocprofile: unknown workload %q", key)
			}
			if err := allocProfile(cfg, s, w, port, postFile, logf); err != nil {
				env.Notes = append(env.Notes, "alloc profile "+key+": "+err.Error())
			}
			port += 2
		}
	}
	for _, n := range cfg.idle {
		for _, s := range specs {
			v, err := idleRSS(cfg, s, n, port, logf)
			port += 2
			if err != nil {
				extras[s.name].IdleErr[n] = err.Error()
				log.Printf("idle %s %d: %v", s.name, n, err)
				continue
			}
			extras[s.name].IdleRSS[n] = v
			log.Printf("idle %s: %d connections, %.0f bytes each", s.name, n, v)
		}
	}
	env.LoadEnd = loadavg()
	env.End = time.Now().UTC().Format(time.RFC3339)

	var md strings.Builder
	report(&md, env, cfg, specs, cases, extras)
	reportGenerators(&md, cfg, gens)
	fmt.Print(md.String())
	if cfg.md != "" {
		if err := os.WriteFile(cfg.md, []byte(md.String()), 0o644); err != nil {
			return err
		}
	}
	raw, err := json.MarshalIndent(struct {
		Env        environment
		Cases      []*caseResult
		Extras     map[string]*extra
		Generators []*genCase
	}{env, cases, extras, gens}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(cfg.out, "results.json"), raw, 0o644)
}

func findWorkload(key string) *workload {
	i := slices.IndexFunc(workloads, func(w *workload) bool { return w.key == key })
	if i < 0 {
		return nil
	}
	return workloads[i]
}

func names(specs []*serverSpec) []string {
	var l []string
	for _, s := range specs {
		l = append(l, s.name)
	}
	return l
}

func patternBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}

// raiseNoFile raises the open file limit to its hard limit, for this process
// (idle connections) and the servers and load tools it starts.
func raiseNoFile() {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err == nil {
		l.Cur = l.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("run compare inside the h2loop module")
	}
	return filepath.Dir(gomod), nil
}

// build compiles examples/hello (from the working tree or from rev),
// bench/nethttpd and cmd/h2bench into bin.
func build(root, bin, rev string, env *environment) error {
	helloSrc := root
	if rev != "" {
		src, err := exportRev(root, filepath.Join(bin, "src"), rev)
		if err != nil {
			return err
		}
		helloSrc = src
	}
	for _, b := range []struct{ dir, pkg, out string }{
		{helloSrc, "./examples/hello", "hello"},
		{root, "./bench/nethttpd", "nethttpd"},
		{root, "./cmd/h2bench", "h2bench"},
	} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(bin, b.out), b.pkg)
		cmd.Dir = b.dir
		if out, err := cmd.CombinedOutput(); err != nil {
			if b.out == "h2bench" {
				log.Printf("cmd/h2bench does not build: %v\n%s", err, out)
				continue
			}
			return fmt.Errorf("go build %s: %v\n%s", b.pkg, err, out)
		}
	}
	return nil
}

// exportRev writes the tree of git revision rev into dir.
func exportRev(root, dir, rev string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	arch := exec.Command("sh", "-c", "git archive --format=tar \"$0\" | tar -x -C \"$1\"", rev, dir)
	arch.Dir = root
	if out, err := arch.CombinedOutput(); err != nil {
		return "", fmt.Errorf("git archive %s: %v\n%s", rev, err, out)
	}
	return dir, nil
}

// buildHello compiles examples/hello at git revision rev into dir/hello.
func buildHello(root, dir, rev string) error {
	src, err := exportRev(root, filepath.Join(dir, "src"), rev)
	if err != nil {
		return err
	}
	cmd := exec.Command("go", "build", "-o", filepath.Join(dir, "hello"), "./examples/hello")
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./examples/hello at %s: %v\n%s", rev, err, out)
	}
	return nil
}

// runCase calibrates the number of requests per server, then runs
// cfg.rounds alternated rounds.
func runCase(cfg *config, w *workload, tool string, specs []*serverSpec, procs map[string]*proc, postFile string) *caseResult {
	c := &caseResult{W: w, Key: w.key, Tool: filepath.Base(tool), N: map[string]int{}, Runs: map[string][]run{}}
	log.Printf("== %s (%s)", w.title, c.Tool)
	timeout := max(90*time.Second, 15*cfg.dur)
	for _, s := range specs {
		if w.fixedN > 0 {
			c.N[s.name] = w.fixedN
			continue
		}
		r := runOne(cfg, procs[s.name], w, tool, w.calibN, postFile, timeout)
		r.Round = -1
		c.Runs[s.name] = append(c.Runs[s.name], r)
		n := w.calibN
		if r.Err == "" && r.ReqPerSec > 0 {
			n = int(r.ReqPerSec * cfg.dur.Seconds())
		}
		c.N[s.name] = min(max(n, w.calibN, w.c), 20_000_000)
	}
	for round := range cfg.rounds {
		for i := range specs {
			s := specs[(i+round)%len(specs)]
			r := runOne(cfg, procs[s.name], w, tool, c.N[s.name], postFile, timeout)
			r.Round = round
			c.Runs[s.name] = append(c.Runs[s.name], r)
		}
	}
	return c
}

// runOne runs the tool once against p and measures the server around it.
func runOne(cfg *config, p *proc, w *workload, tool string, n int, postFile string, timeout time.Duration) run {
	r := run{Server: p.spec.name, N: n, Allocs: optFloat(math.NaN())}
	var m0, m1, self uint64
	var err error
	if p.spec.goMem {
		// the cost of one /debug/vars request, subtracted below
		a, err1 := p.mallocs()
		b, err2 := p.mallocs()
		if err1 == nil && err2 == nil {
			self, m0 = b-a, b
		}
	}
	c0, _ := p.cpuSeconds()
	q0 := p.runqueueSeconds()
	lr, err := runLoad(tool, cfg.toolCPU, w, n, p.addr(), postFile, timeout)
	c1, _ := p.cpuSeconds()
	q1 := p.runqueueSeconds()
	if p.spec.goMem && m0 > 0 {
		if m1, err = p.mallocs(); err == nil && lr.done > 0 {
			r.Allocs = optFloat((float64(m1-m0) - float64(self)) / float64(lr.done))
		}
	}
	if lr.done > 0 {
		r.CPUus = (c1 - c0) * 1e6 / float64(lr.done)
		r.CliCPUus = float64(lr.clientCPU.Microseconds()) / float64(lr.done)
	}
	r.Succeeded = lr.succeeded
	r.ReqPerSec = lr.reqPerSec
	if lr.elapsed > 0 {
		r.Gbps = float64(lr.dataBytes) * 8 / lr.elapsed.Seconds() / 1e9
	}
	if lr.wall > 0 {
		r.SrvBusy = (c1 - c0) / lr.wall.Seconds()
		r.CliBusy = lr.clientCPU.Seconds() / lr.wall.Seconds()
		r.SrvWait = (q1 - q0) / lr.wall.Seconds()
	}
	switch {
	case err != nil:
		r.Err = firstLine(err.Error())
	case lr.succeeded != uint64(n) || lr.status2xx != uint64(n):
		r.Err = fmt.Sprintf("%d of %d succeeded, %d 2xx, %d failed, %d errored", lr.succeeded, n, lr.status2xx, lr.failed, lr.errored)
	case w.respB > 0 && lr.dataBytes != uint64(n)*uint64(w.respB):
		r.Err = fmt.Sprintf("%d body bytes, want %d", lr.dataBytes, uint64(n)*uint64(w.respB))
	}
	status := "ok"
	if r.Err != "" {
		status = r.Err
	}
	log.Printf("%-13s n=%-8d %9.0f req/s %8.2f µs/req cpu  %6.2f allocs/req  srv %3.0f%% (waiting %3.0f%%)  client %3.0f%%  %s",
		p.spec.name, n, r.ReqPerSec, r.CPUus, r.Allocs, 100*r.SrvBusy, 100*r.SrvWait, 100*r.CliBusy, status)
	return r
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// countSyscalls runs the main workload once under perf stat.
func countSyscalls(cfg *config, p *proc, w *workload, n int, postFile string) (map[string]uint64, uint64, error) {
	stop, err := perfStat(p.pid, cfg.out)
	if err != nil {
		return nil, 0, err
	}
	lr, lerr := runLoad("h2load", cfg.toolCPU, w, n, p.addr(), postFile, max(90*time.Second, 15*cfg.dur))
	counts, err := stop()
	if lerr != nil {
		return nil, 0, lerr
	}
	if err != nil {
		return nil, 0, err
	}
	if lr.done == 0 {
		return nil, 0, errors.New("no requests done")
	}
	return counts, lr.done, nil
}

// idleRSS starts a fresh instance of s, opens n connections that each do one
// GET / and stay open, and returns the growth of the server's RSS per
// connection, in bytes.
func idleRSS(cfg *config, s *serverSpec, n, port int, logw *os.File) (float64, error) {
	p, err := startServer(s, cfg.serverCPU, port, port+1, cfg.out, logw)
	if err != nil {
		return 0, err
	}
	defer p.stop()
	warm, err := h2c.OpenIdle(p.addr(), "/", 1, 1, 10*time.Second)
	if err != nil {
		return 0, err
	}
	defer h2c.CloseAll(warm)
	time.Sleep(500 * time.Millisecond)
	before, err := p.rssKB()
	if err != nil {
		return 0, err
	}
	conns, err := h2c.OpenIdle(p.addr(), "/", n, 64, 30*time.Second)
	if err != nil {
		return 0, err
	}
	defer h2c.CloseAll(conns)
	time.Sleep(time.Second)
	after, err := p.rssKB()
	if err != nil {
		return 0, err
	}
	return float64(after-before) * 1024 / float64(n), nil
}

func sumOf(m map[string]float64, keys ...string) float64 {
	var s float64
	for _, k := range keys {
		s += m[k]
	}
	return s
}
