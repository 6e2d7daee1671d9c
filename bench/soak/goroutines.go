package main

import (
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"
)

// goroutineCensus counts the process's goroutines, setting apart the idle
// workers of h2loop's pool (they wait for work and are stopped by the
// pool's janitor after an idle period of 10 s or more: their number follows
// the recent peak of concurrent handlers, not a leak). Groups are keyed by
// state and the first two frames outside the runtime, for a leak report.
type goroutineCensus struct {
	total      int
	idleWorker int
	groups     map[string]int
}

// counted is the number the goroutine check uses.
func (g goroutineCensus) counted() int { return g.total - g.idleWorker }

func takeCensus() goroutineCensus {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	g := goroutineCensus{groups: map[string]int{}}
	for _, block := range strings.Split(string(buf), "\n\n") {
		lines := strings.Split(strings.TrimSpace(block), "\n")
		if len(lines) == 0 || !strings.HasPrefix(lines[0], "goroutine ") {
			continue
		}
		g.total++
		state := lines[0]
		if i := strings.IndexByte(state, '['); i >= 0 {
			state = state[i+1:]
			if j := strings.IndexAny(state, ",]"); j >= 0 {
				state = state[:j]
			}
		}
		var funcs []string
		for _, l := range lines[1:] {
			if strings.HasPrefix(l, "\t") || strings.HasPrefix(l, "created by ") {
				continue
			}
			fn := l
			if i := strings.LastIndexByte(fn, '('); i > 0 {
				fn = fn[:i]
			}
			if strings.HasPrefix(fn, "runtime.") || strings.HasPrefix(fn, "internal/") || strings.HasPrefix(fn, "sync.") {
				continue
			}
			funcs = append(funcs, fn)
			if len(funcs) == 2 {
				break
			}
		}
		// An idle pool worker waits for a task on a channel in the pool's
		// own code (its first frame outside the runtime is in package pool).
		if state == "chan receive" && len(funcs) > 0 && strings.Contains(funcs[0], "h2loop/pool.") {
			g.idleWorker++
			continue
		}
		for i := range funcs {
			funcs[i] = shortFunc(funcs[i])
		}
		g.groups["["+state+"] "+strings.Join(funcs, " < ")]++
	}
	return g
}

func shortFunc(fn string) string {
	if i := strings.LastIndexByte(fn, '/'); i >= 0 {
		fn = fn[i+1:]
	}
	return fn
}

// printGrowth lists the groups that grew from before to after.
func printGrowth(w io.Writer, indent string, before, after goroutineCensus, max int) {
	type row struct {
		k string
		d int
	}
	var rows []row
	for k, n := range after.groups {
		if d := n - before.groups[k]; d > 0 {
			rows = append(rows, row{k, d})
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].d > rows[j].d })
	for i, r := range rows {
		if i == max {
			fmt.Fprintf(w, "%s... %d more groups\n", indent, len(rows)-max)
			break
		}
		fmt.Fprintf(w, "%s+%d %s\n", indent, r.d, r.k)
	}
}
