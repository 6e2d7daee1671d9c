//go:build linux

// Command grpcbench serves one grpc-go service several ways, side by side,
// and measures the server CPU time each spends per call:
//
//   - grpc-native: grpc-go's own server (grpc.NewServer on a TCP listener);
//   - grpc-h2loop: the same grpc.Server as an http.Handler through
//     h2loop.WrapHandler, over h2c;
//   - grpc-nethttp: the same grpc.Server on net/http's h2c
//     (http.Server with Protocols.SetUnencryptedHTTP2);
//   - connect-h2loop and connect-nethttp: the same procedures written
//     with connect-go (connectrpc.com/connect, which answers the gRPC
//     protocol on plain http.Handlers) on h2loop and on net/http.
//
// The client is grpc-go for every server: one channel (one HTTP/2
// connection), -c concurrent calls of -size byte messages. Workloads:
// "unary" (UnaryCall) and "stream" (FullDuplexCall, one message each way
// per round trip on -c streams). Each server runs as its own process (this
// program re-executed with -serve), pinned to CPU 0 with taskset; the
// client runs pinned to CPU 1. Server CPU per call is the utime + stime of
// the server process from /proc/PID/stat over the run, divided by the
// calls done; allocations per call come from the server's
// runtime.MemStats (/debug/vars). Every round runs every server once, in
// an order rotated by one each round; the tables give medians and ranges
// over the rounds, and the ratios to grpc-native are taken per round.
//
//	go run ./bench/grpcbench                            # 5 rounds of 2 s per server and workload, about 2 minutes
//	go run ./bench/grpcbench -rounds 3 -cases unary -servers grpc-native,grpc-h2loop
//	go run ./bench/grpcbench -profile /tmp/prof        # and one CPU profile per server and workload
//	go run ./bench/grpcbench -base /tmp/grpcbench-old -servers grpc-native,grpc-h2loop,grpc-h2loop@base
//	                                                     # h2loop now and at the commit /tmp/grpcbench-old was built at
//
// All traffic is on loopback; the server processes die with this one.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	_ "expvar" // /debug/vars on a server process's debug listener
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/h2loop/h2loop/bench/internal/procstat"
)

type config struct {
	rounds     int
	dur        time.Duration
	warm       time.Duration
	conc       int
	size       int
	servers    []string
	cases      []string
	profile    string
	profileDur time.Duration
	serverCPU  string
	clientCPU  string
	baseBin    string // another build of this program (-base)
	syscalls   bool   // count write system calls with perf
	workers    int    // grpc.NumStreamWorkers of the grpc-go servers
}

func main() {
	var cfg config
	serveKind := flag.String("serve", "", "run as the server process of this `kind` (used by the benchmark itself)")
	addr := flag.String("addr", "127.0.0.1:0", "with -serve: the address to listen on")
	debug := flag.String("debug", "", "with -serve: the address of the pprof and /debug/vars listener")
	flag.IntVar(&cfg.workers, "stream-workers", 0, "grpc.NumStreamWorkers for the grpc-go servers (0: grpc-go's default, a goroutine per call)")
	flag.IntVar(&cfg.rounds, "rounds", 5, "rounds (each runs every server once per workload)")
	flag.DurationVar(&cfg.dur, "d", 2*time.Second, "duration of one measured run")
	flag.DurationVar(&cfg.warm, "warm", time.Second, "warm-up load per server and workload, before the rounds")
	flag.IntVar(&cfg.conc, "c", 64, "concurrent calls (streams) on the one channel")
	flag.IntVar(&cfg.size, "size", 16, "message payload size in bytes")
	servers := flag.String("servers", strings.Join(allServers, ","), "servers to compare (the first is the reference of the ratios)")
	cases := flag.String("cases", caseUnary+","+caseStream, "workloads: unary, stream")
	flag.StringVar(&cfg.profile, "profile", "", "if set, a `dir` for one CPU profile of each server per workload, taken after the rounds")
	flag.DurationVar(&cfg.profileDur, "profile-d", 5*time.Second, "length of each CPU profile")
	flag.StringVar(&cfg.serverCPU, "server-cpu", "0", "CPU list for the servers (taskset -c)")
	flag.StringVar(&cfg.clientCPU, "client-cpu", "1", "CPU list for the client (taskset -c)")
	flag.BoolVar(&cfg.syscalls, "syscalls", false, "count the servers' write system calls per call with perf stat (needs perf and tracepoint access)")
	flag.StringVar(&cfg.baseBin, "base", "", "a `binary` of this program built at another commit: servers named KIND@base in -servers run from it (before/after comparisons)")
	flag.Parse()
	log.SetFlags(0)
	if *serveKind != "" {
		if err := serve(*serveKind, *addr, *debug, cfg.workers); err != nil {
			log.Fatalf("grpcbench -serve %s: %v", *serveKind, err)
		}
		return
	}
	cfg.servers = split(*servers)
	cfg.cases = split(*cases)
	if cfg.rounds < 1 || cfg.dur <= 0 || cfg.conc < 1 || cfg.size < 0 || len(cfg.servers) == 0 || cfg.rounds > 50 || cfg.dur > time.Minute ||
		cfg.warm < 0 || cfg.warm > time.Minute || cfg.profileDur < time.Second || cfg.profileDur > time.Minute || cfg.conc > 10000 || cfg.size > 4<<20 {
		log.Fatal("grpcbench: need 1–50 rounds, -d in (0, 1m], -warm and -profile-d up to 1m, -c in [1, 10000], -size in [0, 4 MiB] and servers")
	}
	for _, s := range cfg.servers {
		kind, base := strings.CutSuffix(s, "@base")
		if base && cfg.baseBin == "" {
			log.Fatalf("grpcbench: %s needs -base", s)
		}
		if !slices.Contains(allServers, kind) {
			log.Fatalf("grpcbench: unknown server %q (known: %s)", s, strings.Join(allServers, ", "))
		}
	}
	for _, c := range cfg.cases {
		if c != caseUnary && c != caseStream {
			log.Fatalf("grpcbench: unknown workload %q", c)
		}
	}
	if pinSelf(cfg.clientCPU) {
		return
	}
	if err := run(&cfg); err != nil {
		log.Fatalf("grpcbench: %v", err)
	}
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

const pinnedEnv = "GRPCBENCH_PINNED"

var haveTaskset = func() bool { _, err := exec.LookPath("taskset"); return err == nil }()

// pinSelf runs this program again under taskset on cpu (once) and reports
// whether it did; the caller then exits with it.
func pinSelf(cpu string) bool {
	if !haveTaskset || os.Getenv(pinnedEnv) != "" {
		return false
	}
	self, err := os.Executable()
	if err != nil {
		return false
	}
	cmd := exec.Command("taskset", append([]string{"-c", cpu, self}, os.Args[1:]...)...)
	cmd.Env = append(os.Environ(), pinnedEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			os.Exit(ee.ExitCode())
		}
		log.Fatalf("grpcbench: %v", err)
	}
	return true
}

// proc is a server process.
type proc struct {
	kind  string
	cmd   *exec.Cmd
	pid   int
	addr  string
	debug string
	cl    *client
}

// startServer starts name (a server kind, or KIND@base run from baseBin)
// as a server process pinned to cpu, and waits for its address.
func startServer(name, cpu, baseBin string, workers int) (*proc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	kind, base := strings.CutSuffix(name, "@base")
	if base {
		self = baseBin
	}
	argv := []string{self, "-serve", kind, "-addr", "127.0.0.1:0", "-debug", "127.0.0.1:0", "-stream-workers", strconv.Itoa(workers)}
	var cmd *exec.Cmd
	if haveTaskset {
		cmd = exec.Command("taskset", append([]string{"-c", cpu}, argv...)...)
	} else {
		cmd = exec.Command(argv[0], argv[1:]...)
	}
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{kind: name, cmd: cmd, pid: cmd.Process.Pid}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	select {
	case l := <-lines:
		f := strings.Fields(l)
		if len(f) != 4 || f[0] != "listening" || f[2] != "debug" {
			p.stop()
			return nil, fmt.Errorf("%s: unexpected first line %q", kind, l)
		}
		p.addr, p.debug = f[1], f[3]
	case <-time.After(20 * time.Second):
		p.stop()
		return nil, fmt.Errorf("%s: no address within 20 s", kind)
	}
	if p.cl, err = dial(p.addr); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

func (p *proc) stop() {
	if p.cl != nil {
		p.cl.cc.Close()
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

// cpuSeconds is the user+system CPU time of the whole process (all its
// threads, exited ones included), from /proc/PID/stat.
func (p *proc) cpuSeconds() (float64, error) { return procstat.CPUSeconds(p.pid) }

// mallocs is the server's runtime.MemStats.Mallocs.
func (p *proc) mallocs() (uint64, error) {
	resp, err := http.Get("http://" + p.debug + "/debug/vars")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var v struct{ Memstats struct{ Mallocs uint64 } }
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return 0, err
	}
	return v.Memstats.Mallocs, nil
}

// result is one measured run.
type result struct {
	calls  int64
	cpuUS  float64 // server CPU µs per call
	rate   float64 // calls per second
	allocs float64 // server allocations per call
	writes float64 // server write system calls per call (-syscalls)
}

// measure runs workload against p for d.
func measure(p *proc, workload string, cfg *config) (result, error) {
	m0, err := p.mallocs()
	if err != nil {
		return result{}, err
	}
	var stopCount func() (uint64, error)
	if cfg.syscalls {
		if stopCount, err = countWrites(p.pid); err != nil {
			return result{}, fmt.Errorf("perf stat: %w", err)
		}
	}
	c0, err := p.cpuSeconds()
	if err != nil {
		return result{}, err
	}
	t0 := time.Now()
	calls, err := p.cl.load(workload, cfg.conc, cfg.size, cfg.dur)
	el := time.Since(t0)
	c1, err2 := p.cpuSeconds()
	m1, err3 := p.mallocs()
	if err = errors.Join(err, err2, err3); err != nil {
		return result{}, fmt.Errorf("%s %s: %w", p.kind, workload, err)
	}
	if calls == 0 {
		return result{}, fmt.Errorf("%s %s: no call completed", p.kind, workload)
	}
	res := result{
		calls:  calls,
		cpuUS:  (c1 - c0) * 1e6 / float64(calls),
		rate:   float64(calls) / el.Seconds(),
		allocs: float64(m1-m0) / float64(calls),
	}
	if stopCount != nil {
		n, err := stopCount()
		if err != nil {
			return result{}, err
		}
		res.writes = float64(n) / float64(calls)
	}
	return res, nil
}

func run(cfg *config) error {
	fmt.Printf("grpcbench: %s, GOMAXPROCS %d here; servers on CPU %s, client on CPU %s (taskset %v); %d rounds of %v, -c %d, %d-byte messages, grpc.NumStreamWorkers %d\n\n",
		runtime.Version(), runtime.GOMAXPROCS(0), cfg.serverCPU, cfg.clientCPU, haveTaskset, cfg.rounds, cfg.dur, cfg.conc, cfg.size, cfg.workers)
	procs := make([]*proc, 0, len(cfg.servers))
	defer func() {
		for _, p := range procs {
			p.stop()
		}
	}()
	for _, kind := range cfg.servers {
		p, err := startServer(kind, cfg.serverCPU, cfg.baseBin, cfg.workers)
		if err != nil {
			return err
		}
		procs = append(procs, p)
	}
	for _, p := range procs {
		for _, w := range cfg.cases {
			if _, err := p.cl.load(w, cfg.conc, cfg.size, cfg.warm); err != nil {
				return fmt.Errorf("%s %s warm-up: %w", p.kind, w, err)
			}
		}
	}
	// results[workload][server][round]
	results := map[string]map[string][]result{}
	for _, w := range cfg.cases {
		results[w] = map[string][]result{}
	}
	for r := range cfg.rounds {
		for i := range procs {
			p := procs[(i+r)%len(procs)]
			for _, w := range cfg.cases {
				res, err := measure(p, w, cfg)
				if err != nil {
					return err
				}
				results[w][p.kind] = append(results[w][p.kind], res)
			}
		}
		fmt.Fprintf(os.Stderr, "round %d/%d done\n", r+1, cfg.rounds)
	}
	for _, w := range cfg.cases {
		report(os.Stdout, w, cfg, results[w])
	}
	if cfg.profile != "" {
		return profiles(cfg, procs)
	}
	return nil
}

// report prints one workload's table.
func report(out io.Writer, workload string, cfg *config, res map[string][]result) {
	ref := cfg.servers[0]
	fmt.Fprintf(out, "### %s, -c %d, %d-byte messages (%d rounds of %v)\n\n", workload, cfg.conc, cfg.size, cfg.rounds, cfg.dur)
	wcol, wsep := "", ""
	if cfg.syscalls {
		wcol, wsep = " writes/call |", "---|"
	}
	fmt.Fprintf(out, "| server | calls/s | server CPU µs/call | ÷ %s | allocs/call |%s\n|---|---|---|---|---|%s\n", ref, wcol, wsep)
	for _, s := range cfg.servers {
		rs := res[s]
		var ratio []float64
		for i, r := range rs {
			ratio = append(ratio, r.cpuUS/res[ref][i].cpuUS)
		}
		fmt.Fprintf(out, "| %s | %s | %s | %s | %s |", s,
			cell(pick(rs, func(r result) float64 { return r.rate }), "%.0f"),
			cell(pick(rs, func(r result) float64 { return r.cpuUS }), "%.1f"),
			cell(ratio, "%.2f"),
			cell(pick(rs, func(r result) float64 { return r.allocs }), "%.0f"))
		if cfg.syscalls {
			fmt.Fprintf(out, " %s |", cell(pick(rs, func(r result) float64 { return r.writes }), "%.2f"))
		}
		fmt.Fprintln(out)
	}
	fmt.Fprintln(out)
}

func pick(rs []result, f func(result) float64) []float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = f(r)
	}
	return v
}

// cell is "median (min–max)".
func cell(v []float64, format string) string {
	if len(v) == 0 {
		return "–"
	}
	s := slices.Clone(v)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	if len(s) == 1 {
		return fmt.Sprintf(format, med)
	}
	return fmt.Sprintf(format+" ("+format+"–"+format+")", med, s[0], s[len(s)-1])
}

// profiles takes one CPU profile and one allocation profile (sampled) of
// each server under each workload, written to
// cfg.profile/WORKLOAD-SERVER.pprof and WORKLOAD-SERVER.allocs.pprof.
func profiles(cfg *config, procs []*proc) error {
	if err := os.MkdirAll(cfg.profile, 0o755); err != nil {
		return err
	}
	for _, w := range cfg.cases {
		for _, p := range procs {
			file := filepath.Join(cfg.profile, w+"-"+p.kind+".pprof")
			errc := make(chan error, 1)
			go func() {
				_, err := p.cl.load(w, cfg.conc, cfg.size, cfg.profileDur+time.Second)
				errc <- err
			}()
			time.Sleep(300 * time.Millisecond)
			secs := int(cfg.profileDur.Seconds())
			afile := filepath.Join(cfg.profile, w+"-"+p.kind+".allocs.pprof")
			aerrc := make(chan error, 1)
			go func() {
				aerrc <- fetch(fmt.Sprintf("http://%s/debug/pprof/allocs?seconds=%d", p.debug, secs), afile)
			}()
			perr := fetch(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", p.debug, secs), file)
			if err := errors.Join(<-errc, perr, <-aerrc); err != nil {
				return fmt.Errorf("profile of %s %s: %w", p.kind, w, err)
			}
			fmt.Printf("profiles: %s, %s (go tool pprof -top FILE)\n", file, afile)
		}
	}
	return nil
}

func fetch(url, file string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(file, b, 0o644)
}
