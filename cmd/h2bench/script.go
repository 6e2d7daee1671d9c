//go:build linux

package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// readTimingScript reads --timing-script-file (h2load's format): lines of
// "<offset>\t<URI>", the offset in milliseconds (fractions down to a
// microsecond) from the client's start. It returns the offsets in
// nanoseconds, made non-decreasing (a line earlier than the one before it
// goes out right after it, as in h2load), and the URIs.
func readTimingScript(path string, stdin io.Reader) ([]int64, []string, error) {
	r := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, nil, fmt.Errorf("--timing-script-file: cannot read %s", path)
		}
		defer f.Close()
		r = f
	}
	var offsets []int64
	var uris []string
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		ms, uri, ok := strings.Cut(line, "\t")
		v, err := strconv.ParseFloat(strings.TrimSpace(ms), 64)
		if !ok || err != nil || v < 0 || math.IsInf(v, 0) || v > 1e12 || strings.TrimSpace(uri) == "" {
			return nil, nil, fmt.Errorf("--timing-script-file: line %d: want <milliseconds>TAB<URI>: %q", n, line)
		}
		at := int64(math.Round(v*1e3)) * 1e3 // microsecond resolution
		if k := len(offsets); k > 0 && at < offsets[k-1] {
			at = offsets[k-1]
		}
		offsets = append(offsets, at)
		uris = append(uris, strings.TrimSpace(uri))
	}
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("--timing-script-file: %v", err)
	}
	if len(offsets) == 0 {
		return nil, nil, fmt.Errorf("--timing-script-file: %s has no script line", path)
	}
	return offsets, uris, nil
}

// originURI returns the URI whose scheme, host and port are used for every
// request: -B's (unless it is unix:PATH), else the first URI's. With -B,
// the URIs may be paths.
func (c *config) originURI(first string) (*url.URL, error) {
	if c.baseURI != "" && !strings.HasPrefix(c.baseURI, "unix:") {
		u, err := url.Parse(c.baseURI)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("-B: invalid base URI: %s", c.baseURI)
		}
		return u, nil
	}
	u, err := url.Parse(first)
	if err == nil && c.baseURI != "" && u.Scheme == "" && u.Host == "" {
		// unix:PATH with paths only: h2load's defaults
		return &url.URL{Scheme: "http", Host: "localhost"}, nil
	}
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("invalid URI: %s", first)
	}
	return u, nil
}
