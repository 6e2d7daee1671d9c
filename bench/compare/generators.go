//go:build linux

package main

import (
	"fmt"
	"log"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The load generator comparison: h2bench against h2load, same server,
// same flags, alternated in every round.
//
//   - gen: GET / -c 64 -m 16 -t 1 with a fixed request count against the
//     fast servers (h2loop, h2o): the generators' own CPU time per request.
//   - paced: GET /delay/10 -c 16 -m 4 against the Go servers, where the
//     server sets the pace (64 requests in flight, 10 ms each): both
//     generators should report the same throughput.
var (
	genWorkload   = &workload{key: "gen", title: "GET / -c 64 -m 16 (generators)", path: "/", c: 64, m: 16, respB: 14}
	pacedWorkload = &workload{key: "paced", title: "GET /delay/10 -c 16 -m 4 (server-paced)", path: "/delay/10", c: 16, m: 4, respB: int64(len("delayed 10ms\n"))}
)

// genCase is one workload of the generator comparison against one server.
type genCase struct {
	Workload string
	Server   string
	N        int
	Runs     map[string][]run // by tool
}

// runGenerators runs both tools against each server that fits the
// workload, alternating which goes first.
func runGenerators(cfg *config, procs map[string]*proc, specs []*serverSpec, h2bench, postFile string) []*genCase {
	tools := []string{"h2load", h2bench}
	var out []*genCase
	plan := []struct {
		w       *workload
		n       int
		servers []string
	}{
		{genWorkload, cfg.genN, []string{"h2loop", "h2o"}},
		{pacedWorkload, 20000, []string{"h2loop", "net/http"}},
	}
	for _, p := range plan {
		for _, s := range specs {
			proc := procs[s.name]
			if proc == nil || !slices.Contains(p.servers, s.name) {
				continue
			}
			gc := &genCase{Workload: p.w.key, Server: s.name, N: p.n, Runs: map[string][]run{}}
			log.Printf("== generators: %s against %s, %d requests", p.w.title, s.name, p.n)
			timeout := max(120*time.Second, 20*cfg.dur)
			for round := range cfg.rounds {
				for i := range tools {
					tool := tools[(i+round)%len(tools)]
					r := runOne(cfg, proc, p.w, tool, p.n, postFile, timeout)
					r.Round = round
					gc.Runs[filepath.Base(tool)] = append(gc.Runs[filepath.Base(tool)], r)
				}
			}
			out = append(out, gc)
		}
	}
	return out
}

// genRatios pairs h2bench's and h2load's runs by round and returns
// f(h2bench)/f(h2load).
func genRatios(gc *genCase, f func(run) float64) []float64 {
	byRound := map[int]run{}
	for _, r := range gc.Runs["h2load"] {
		if r.Err == "" {
			byRound[r.Round] = r
		}
	}
	var v []float64
	for _, r := range gc.Runs["h2bench"] {
		if o, ok := byRound[r.Round]; ok && r.Err == "" && f(o) > 0 {
			v = append(v, f(r)/f(o))
		}
	}
	return v
}

// reportGenerators writes the generator comparison.
func reportGenerators(b *strings.Builder, cfg *config, cases []*genCase) {
	if len(cases) == 0 {
		return
	}
	b.WriteString("\n### Load generators: h2bench and h2load against the same server\n\n")
	b.WriteString("Both tools pinned to the same CPU, `-t 1`, alternated in every round. Tool CPU is the generator's " +
		"user+system time divided by the requests done; the ratios pair the two tools' runs of one round.\n\n")
	b.WriteString("| workload | server | tool | requests | succeeded | req/s | tool CPU µs/req | server CPU µs/req | tool CPU busy |\n|---|---|---|---|---|---|---|---|---|\n")
	ok := func(runs []run) []run {
		var l []run
		for _, r := range runs {
			if r.Err == "" {
				l = append(l, r)
			}
		}
		return l
	}
	for _, gc := range cases {
		w := genWorkload
		if gc.Workload == pacedWorkload.key {
			w = pacedWorkload
		}
		for _, tool := range []string{"h2load", "h2bench"} {
			runs := ok(gc.Runs[tool])
			fmt.Fprintf(b, "| %s | %s | %s | %d | %s | %s | %s | %s | %s |\n", w.title, gc.Server, tool, gc.N,
				cell(series(runs, func(r run) float64 { return float64(r.Succeeded) }), "%.0f"),
				reqCell(runs),
				cell(series(runs, func(r run) float64 { return r.CliCPUus }), "%.2f"),
				cell(series(runs, cpuOf), "%.2f"),
				cell(series(runs, func(r run) float64 { return 100 * r.CliBusy }), "%.0f%%"))
		}
	}
	b.WriteString("\n| workload | server | h2bench ÷ h2load: tool CPU per request | h2bench ÷ h2load: req/s | succeeded equal in every round |\n|---|---|---|---|---|\n")
	for _, gc := range cases {
		same := "yes"
		byRound := map[int]uint64{}
		for _, r := range gc.Runs["h2load"] {
			byRound[r.Round] = r.Succeeded
		}
		for _, r := range gc.Runs["h2bench"] {
			if r.Succeeded != byRound[r.Round] {
				same = fmt.Sprintf("no (round %d: %d against %d)", r.Round, r.Succeeded, byRound[r.Round])
			}
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", gc.Workload, gc.Server,
			cell(genRatios(gc, func(r run) float64 { return r.CliCPUus }), "%.2f"),
			cell(genRatios(gc, func(r run) float64 { return r.ReqPerSec }), "%.3f"), same)
	}
	for _, gc := range cases {
		for tool, runs := range gc.Runs {
			for _, r := range runs {
				if r.Err != "" {
					fmt.Fprintf(b, "\n- failed: %s %s %s round %d: %s", gc.Workload, gc.Server, tool, r.Round, r.Err)
				}
			}
		}
	}
	b.WriteString("\n")
}
