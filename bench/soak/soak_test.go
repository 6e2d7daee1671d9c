package main

import (
	"os"
	"testing"
	"time"
)

// TestSoak runs the soak harness against an in-process server: 60 s of
// load in 10 s phases (20 s under -race), failing on any failed check. It
// is skipped with -short. H2LOOP_SOAK_DURATION overrides the load time.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak: skipped with -short")
	}
	d := 60 * time.Second
	if raceEnabled {
		d = 20 * time.Second
	}
	if s := os.Getenv("H2LOOP_SOAK_DURATION"); s != "" {
		v, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("H2LOOP_SOAK_DURATION: %v", err)
		}
		d = v
	}
	cfg := DefaultConfig(d, 10*time.Second, raceEnabled)
	cfg.Verbose = testing.Verbose()
	// The reports go straight to stdout, as they are written: a phase that
	// crashes the process still leaves the earlier ones.
	cfg.Out = os.Stdout
	res, err := Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Failures {
		t.Error(f)
	}
}
