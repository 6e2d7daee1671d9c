//go:build linux

// Command h2bench is a load generator for HTTP/2 servers with the options of
// nghttp2's h2load (same names, same meanings, same report layout) and more:
// lossless latency percentiles, an open-loop mode that corrects for
// coordinated omission, reconnection after GOAWAY, JSON output and merging
// of runs from several machines, and live progress.
//
//	h2bench -n 1000000 -c 64 -m 16 -t 1 http://127.0.0.1:8080/
//	h2bench -D 30s -R 50000 -c 64 -m 16 --json run.json https://host/
//	h2bench merge a.json b.json
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/h2loop/h2loop/client"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is main without os.Exit, for tests.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "merge" {
		return mergeMain(args[1:], stdout, stderr)
	}
	cfg, err := parseArgs(args, stdin)
	if errors.Is(err, errHelp) {
		fmt.Fprint(stdout, usageText)
		return 0
	}
	if errors.Is(err, errVersion) {
		fmt.Fprintln(stdout, versionString())
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	for _, w := range cfg.warnings {
		fmt.Fprintln(stderr, w)
	}
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		pprof.StartCPUProfile(f)
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	// With --json -, standard output carries the JSON only; the text
	// report goes to standard error.
	text := stdout
	if cfg.jsonFile == "-" {
		text = stderr
	}
	res, err := bench(cfg, text, isTerminal(text) && !cfg.quiet)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	res.Args = args
	writeReport(text, res)
	if cfg.jsonFile != "" {
		if err := writeJSON(cfg.jsonFile, stdout, res); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	if cfg.htmlFile != "" {
		if err := writeHTML(cfg.htmlFile, res); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
	}
	if lines := checkThresholds(cfg.failOn, res); len(lines) > 0 {
		for _, l := range lines {
			fmt.Fprintln(stderr, l)
		}
		return exitThreshold
	}
	return 0
}

// versionString is what --version prints: the module version h2bench was
// built from, the Go version, and the h2load version whose options it takes.
func versionString() string {
	v, gov := "(devel)", runtime.Version()
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && v == "(devel)" {
				v += " " + s.Value
			}
		}
	}
	return "h2bench " + v + " " + gov + " (options of h2load nghttp2/1.52.0)"
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// bench runs the benchmark described by cfg and returns its result.
func bench(cfg *config, stdout io.Writer, live bool) (*result, error) {
	set := client.NewRequestSet(cfg.reqs)
	addr, fam, err := resolve(cfg)
	if err != nil && !cfg.tls() {
		return nil, fmt.Errorf("getaddrinfo() failed: %v", err)
	}
	var logf *os.File
	if cfg.logFile != "" {
		logf, err = os.OpenFile(cfg.logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
		if err != nil {
			return nil, fmt.Errorf("--log-file: Could not open file %s", cfg.logFile)
		}
		defer logf.Close()
	}
	if !cfg.startAt.IsZero() {
		fmt.Fprintf(stdout, "waiting for --start-at %s\n", cfg.startAt.UTC().Format(time.RFC3339Nano))
		waitStart(cfg.startAt, func(s string) { fmt.Fprintln(stdout, s) })
	}
	fmt.Fprintln(stdout, "starting benchmark...")
	var pr *progress
	if live {
		pr = newProgress(cfg, stdout)
	}
	base := time.Now()
	wallUS := base.UnixMicro()
	workers := make([]*worker, cfg.nthreads)
	for i := range workers {
		nclients := cfg.nclients / cfg.nthreads
		if i < cfg.nclients%cfg.nthreads {
			nclients++
		}
		nreqs := cfg.nreqs / int64(cfg.nthreads)
		if int64(i) < cfg.nreqs%int64(cfg.nthreads) {
			nreqs++
		}
		rate := 0
		if cfg.connRate > 0 {
			rate = cfg.connRate / cfg.nthreads
			if i < cfg.connRate%cfg.nthreads {
				rate++
			}
		}
		w, err := newWorker(i, cfg, set, base, addr, fam, nclients, nreqs, rate, pr)
		if err != nil {
			return nil, err
		}
		defer w.close()
		if logf != nil {
			w.log = &logWriter{f: logf, wall: wallUS}
		}
		workers[i] = w
		if cfg.timed() {
			fmt.Fprintf(stdout, "spawning thread #%d: %d total client(s). Timing-based test with %gs of warm-up time and %gs of main duration for measurements.\n",
				i, nclients, cfg.warmup.Seconds(), cfg.duration.Seconds())
		} else {
			fmt.Fprintf(stdout, "spawning thread #%d: %d total client(s).", i, nclients)
			if rate > 0 && nclients > rate {
				fmt.Fprintf(stdout, " Up to %d client(s) will be created every %v", rate, cfg.ratePeriod)
			}
			fmt.Fprintf(stdout, " %d total requests\n", nreqs)
		}
	}
	if pr != nil {
		pr.start()
	}
	start := time.Now()
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if cfg.nthreads > 1 {
				runtime.LockOSThread()
			}
			w.run()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if testHookRunDone != nil {
		testHookRunDone()
	}
	if pr != nil {
		pr.stop()
	}
	stats := make([]*threadStats, len(workers))
	var notes []string
	for i, w := range workers {
		stats[i] = w.st
		notes = append(notes, w.notes...)
	}
	res := collect(cfg, stats, elapsed)
	res.Start = base.UTC().Format(time.RFC3339Nano)
	res.Protocol = protocolSummary(workers)
	res.Notes = dedup(notes)
	return res, nil
}

// testHookRunDone, when set by a test, runs when the workers have finished
// and before the results are collected.
var testHookRunDone func()

// h2cfg returns the HTTP/2 settings of the run.
func (w *worker) h2cfg() client.H2Config {
	c := w.cfg
	return client.H2Config{MaxConcurrentStreams: c.maxStreams, StreamWindowBits: c.windowBits,
		ConnWindowBits: c.connWinBits, HeaderTableSize: c.headerTable, EncoderTableSize: c.encoderTable,
		MaxFrameSize: c.maxFrame, EnablePush: c.enablePush}
}

// noteProto remembers the application protocols used.
func (w *worker) noteProto(proto string, fallback bool) {
	if w.protos == nil {
		w.protos = map[string]bool{}
	}
	name := proto
	if proto == "h2" && !w.cfg.tls() {
		name = "h2c"
	}
	if w.cfg.upgrade && !w.cfg.tls() && proto != "http/1.1" {
		name = "h2c (upgrade)"
	}
	if !w.protos[name] {
		w.protos[name] = true
		if fallback {
			w.notes = append(w.notes, "the server negotiated no protocol with ALPN (it offers no h2): fell back to HTTP/1.1")
		}
	}
}

func protocolSummary(ws []*worker) string {
	seen := map[string]bool{}
	var names []string
	for _, w := range ws {
		for p := range w.protos {
			if !seen[p] {
				seen[p] = true
				names = append(names, p)
			}
		}
		if w.st.UpgradeNo > 0 && !seen["http/1.1"] {
			seen["http/1.1"] = true
			names = append(names, "http/1.1")
		}
	}
	return strings.Join(names, ", ")
}

func dedup(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
