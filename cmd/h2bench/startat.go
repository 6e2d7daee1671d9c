//go:build linux

package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// parseStartAt parses --start-at: an RFC 3339 time (2026-12-02T10:00:00Z),
// Unix seconds (1764669600, fractions allowed), or +DURATION from now.
// Every instance given the same value starts its run at the same
// wall-clock instant (as well as their clocks agree), so runs launched on
// several machines by any orchestrator overlap and can be merged.
func parseStartAt(v string, now time.Time) (time.Time, error) {
	if d, ok := strings.CutPrefix(v, "+"); ok {
		dur, err := parseDuration(d)
		if err != nil {
			return time.Time{}, fmt.Errorf("--start-at: %v", err)
		}
		return now.Add(dur), nil
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && f > 0 && f < 1e11 {
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)), nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("--start-at: %q: want RFC 3339 (2026-12-02T10:00:00Z), Unix seconds or +DURATION", v)
	}
	return t, nil
}

// waitStart sleeps until the --start-at time. A time already past starts
// the run at once with a warning: the JSON's start field says when it
// really began, and merge says when runs did not overlap.
func waitStart(at time.Time, warn func(string)) {
	d := time.Until(at)
	if d < -time.Second {
		warn(fmt.Sprintf("--start-at: %s was %v ago: starting now", at.UTC().Format(time.RFC3339Nano), (-d).Round(time.Millisecond)))
		return
	}
	if d > 0 {
		time.Sleep(d)
	}
}
