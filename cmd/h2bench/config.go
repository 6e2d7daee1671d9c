//go:build linux

package main

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/h2loop/h2loop/client"
)

// config is the parsed command line. It is immutable once the run starts.
type config struct {
	nreqs         int64 // -n
	nreqsSet      bool
	nclients      int // -c
	nthreads      int // -t
	maxStreams    int // -m
	duration      time.Duration
	warmup        time.Duration
	headers       []client.Field // -H, names lower-cased
	dataFile      string
	body          []byte
	inputFile     string
	activeTimeout time.Duration // -T
	idleTimeout   time.Duration // -N
	windowBits    int
	connWinBits   int
	headerTable   uint32
	encoderTable  uint32
	maxFrame      uint32
	rps           float64 // --rps, per client
	connRate      int     // -r
	ratePeriod    time.Duration
	h1            bool
	noTLSProto    string // -p: h2c or http/1.1
	alpn          []string
	connectTo     string
	logFile       string
	verbose       bool

	// beyond h2load
	reqRate     float64 // -R, --request-rate: total requests per second (open loop)
	maxPerConn  int64   // --max-requests-per-conn
	jsonFile    string  // --json ("-": standard output)
	htmlFile    string  // --html
	quiet       bool
	verify      bool // --verify: verify the server's certificate (h2load does not)
	enablePush  bool // --enable-push: SETTINGS_ENABLE_PUSH = 1, pushes received and counted
	upgrade     bool // --upgrade
	connectWait time.Duration
	cpuProfile  string      // --cpuprofile
	warnings    []string    // printed once on standard error before the run
	failOn      []threshold // --fail-on
	startAt     time.Time   // --start-at (zero: at once)

	// TLS: --ciphers, --groups (nil: Go's defaults)
	cipherSuites []uint16
	curves       []tls.CurveID

	baseURI    string  // -B: URI or unix:PATH
	unixPath   string  // -B unix:PATH: connect to this socket
	scriptFile string  // --timing-script-file
	timings    []int64 // its offsets (ns from a client's start)

	// derived
	uris      []string
	scheme    string
	host      string // for SNI and :authority
	port      string
	authority string
	dialAddr  string
	reqs      []client.Request
}

func (c *config) tls() bool      { return c.scheme == "https" }
func (c *config) timed() bool    { return c.duration > 0 }
func (c *config) openLoop() bool { return c.reqRate > 0 }

// parseSize parses an integer with an optional K, M or G unit.
func parseSize(s string) (uint64, error) {
	mul := uint64(1)
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'k', 'K':
			mul, s = 1<<10, s[:n-1]
		case 'm', 'M':
			mul, s = 1<<20, s[:n-1]
		case 'g', 'G':
			mul, s = 1<<30, s[:n-1]
		}
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, err
	}
	return v * mul, nil
}

// parseDuration parses h2load's <DURATION> (integer, unit h/m/s/ms, seconds
// by default) or a Go duration.
func parseDuration(s string) (time.Duration, error) {
	if v, err := strconv.ParseUint(s, 10, 63); err == nil {
		return time.Duration(v) * time.Second, nil
	}
	for _, u := range []struct {
		suf string
		d   time.Duration
	}{{"ms", time.Millisecond}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second}} {
		if strings.HasSuffix(s, u.suf) {
			if v, err := strconv.ParseUint(strings.TrimSuffix(s, u.suf), 10, 63); err == nil {
				return time.Duration(v) * u.d, nil
			}
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	return d, nil
}

// option describes one command-line option.
type option struct {
	long  string
	short byte
	arg   bool
	set   func(c *config, v string) error
}

func intOpt(dst func(*config) *int, name string, minimum int) func(*config, string) error {
	return func(c *config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < minimum {
			return fmt.Errorf("-%s: bad option value: %s", name, v)
		}
		*dst(c) = n
		return nil
	}
}

func durOpt(dst func(*config) *time.Duration, name string) func(*config, string) error {
	return func(c *config, v string) error {
		d, err := parseDuration(v)
		if err != nil {
			return fmt.Errorf("--%s: %v", name, err)
		}
		*dst(c) = d
		return nil
	}
}

func tableOpt(dst func(*config) *uint32, name string) func(*config, string) error {
	return func(c *config, v string) error {
		n, err := parseSize(v)
		if err != nil || n > 1<<32-1 {
			return fmt.Errorf("--%s: bad option value: %s", name, v)
		}
		*dst(c) = uint32(n)
		return nil
	}
}

func floatOpt(dst func(*config) *float64, name string) func(*config, string) error {
	return func(c *config, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 || f > 1e9 {
			return fmt.Errorf("--%s: invalid value %s", name, v)
		}
		*dst(c) = f
		return nil
	}
}

var options = []option{
	{"requests", 'n', true, func(c *config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("-n: bad option value: %s", v)
		}
		c.nreqs, c.nreqsSet = n, true
		return nil
	}},
	{"clients", 'c', true, intOpt(func(c *config) *int { return &c.nclients }, "c", 0)},
	{"threads", 't', true, intOpt(func(c *config) *int { return &c.nthreads }, "t", 0)},
	{"max-concurrent-streams", 'm', true, intOpt(func(c *config) *int { return &c.maxStreams }, "m", 0)},
	{"window-bits", 'w', true, func(c *config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 30 {
			return errors.New("-w: specify the integer in the range [0, 30], inclusive")
		}
		c.windowBits = n
		return nil
	}},
	{"connection-window-bits", 'W', true, func(c *config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 30 {
			return errors.New("-W: specify the integer in the range [0, 30], inclusive")
		}
		c.connWinBits = n
		return nil
	}},
	{"max-frame-size", 'f', true, func(c *config, v string) error {
		n, err := parseSize(v)
		if err != nil {
			return fmt.Errorf("--max-frame-size: bad option value: %s", v)
		}
		if n < 16384 {
			return errors.New("--max-frame-size: minimum 16384")
		}
		if n > 1<<24-1 {
			return errors.New("--max-frame-size: maximum 16777215")
		}
		c.maxFrame = uint32(n)
		return nil
	}},
	{"header", 'H', true, func(c *config, v string) error {
		i := strings.IndexByte(v[min(1, len(v)):], ':')
		if i < 0 {
			return fmt.Errorf("-H: invalid header: %s", v)
		}
		i += min(1, len(v))
		name, value := strings.ToLower(v[:i]), strings.TrimLeft(v[i+1:], " \t")
		if name == ":" || name == "" {
			return fmt.Errorf("-H: invalid header: %s", v)
		}
		if value == "" {
			return fmt.Errorf("-H: invalid header - value missing: %s", v)
		}
		c.headers = append(c.headers, client.Field{Name: name, Value: value})
		return nil
	}},
	{"input-file", 'i', true, func(c *config, v string) error { c.inputFile = v; return nil }},
	{"no-tls-proto", 'p', true, func(c *config, v string) error {
		switch strings.ToLower(v) {
		case "h2c":
			c.noTLSProto = "h2c"
		case "http/1.1":
			c.noTLSProto = "http/1.1"
		default:
			return fmt.Errorf("-p: unsupported protocol %s", v)
		}
		return nil
	}},
	{"data", 'd', true, func(c *config, v string) error { c.dataFile = v; return nil }},
	{"rate", 'r', true, connRateOpt},
	{"connection-rate", 0, true, connRateOpt}, // h2bench's earlier name for -r
	{"rate-period", 0, true, durOpt(func(c *config) *time.Duration { return &c.ratePeriod }, "rate-period")},
	{"duration", 'D', true, durOpt(func(c *config) *time.Duration { return &c.duration }, "duration")},
	{"warm-up-time", 0, true, durOpt(func(c *config) *time.Duration { return &c.warmup }, "warm-up-time")},
	{"connection-active-timeout", 'T', true, durOpt(func(c *config) *time.Duration { return &c.activeTimeout }, "connection-active-timeout")},
	{"connection-inactivity-timeout", 'N', true, durOpt(func(c *config) *time.Duration { return &c.idleTimeout }, "connection-inactivity-timeout")},
	{"alpn-list", 0, true, func(c *config, v string) error { c.alpn = strings.Split(v, ","); return nil }},
	{"npn-list", 0, true, func(c *config, v string) error { c.alpn = strings.Split(v, ","); return nil }},
	{"h1", 0, false, func(c *config, _ string) error {
		c.h1, c.alpn, c.noTLSProto = true, []string{"http/1.1"}, "http/1.1"
		return nil
	}},
	{"header-table-size", 0, true, tableOpt(func(c *config) *uint32 { return &c.headerTable }, "header-table-size")},
	{"encoder-header-table-size", 0, true, tableOpt(func(c *config) *uint32 { return &c.encoderTable }, "encoder-header-table-size")},
	{"log-file", 0, true, func(c *config, v string) error { c.logFile = v; return nil }},
	{"connect-to", 0, true, func(c *config, v string) error { c.connectTo = v; return nil }},
	{"rps", 0, true, floatOpt(func(c *config) *float64 { return &c.rps }, "rps")},
	{"verbose", 'v', false, func(c *config, _ string) error { c.verbose = true; return nil }},
	{"request-rate", 'R', true, floatOpt(func(c *config) *float64 { return &c.reqRate }, "request-rate")},
	{"max-requests-per-conn", 0, true, func(c *config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return fmt.Errorf("--max-requests-per-conn: bad option value: %s", v)
		}
		c.maxPerConn = n
		return nil
	}},
	{"json", 0, true, func(c *config, v string) error { c.jsonFile = v; return nil }},
	{"html", 0, true, func(c *config, v string) error { c.htmlFile = v; return nil }},
	{"upgrade", 0, false, func(c *config, _ string) error { c.upgrade = true; return nil }},
	{"enable-push", 0, false, func(c *config, _ string) error { c.enablePush = true; return nil }},
	{"insecure", 'k', false, func(c *config, _ string) error { c.verify = false; return nil }},
	{"base-uri", 'B', true, func(c *config, v string) error { c.baseURI = v; return nil }},
	{"timing-script-file", 0, true, func(c *config, v string) error { c.scriptFile = v; return nil }},
	{"ciphers", 0, true, (*config).parseCiphers},
	{"tls13-ciphers", 0, true, (*config).parseTLS13Ciphers},
	{"groups", 0, true, (*config).parseGroups},
	{"start-at", 0, true, func(c *config, v string) error {
		t, err := parseStartAt(v, time.Now())
		c.startAt = t
		return err
	}},
	{"fail-on", 0, true, func(c *config, v string) error {
		t, err := parseThreshold(v)
		c.failOn = append(c.failOn, t)
		return err
	}},
	{"verify", 0, false, func(c *config, _ string) error { c.verify = true; return nil }},
	{"version", 0, false, func(*config, string) error { return errVersion }},
	{"ktls", 0, false, func(c *config, _ string) error {
		c.warnings = append(c.warnings, "--ktls: not supported (Go's crypto/tls does not hand TLS to the kernel): ignored")
		return nil
	}},
	{"qlog-file-base", 0, true, http3Only("qlog-file-base")},
	{"no-udp-gso", 0, false, http3Only("no-udp-gso")},
	{"max-udp-payload-size", 0, true, http3Only("max-udp-payload-size")},
	{"quiet", 'q', false, func(c *config, _ string) error { c.quiet = true; return nil }},
	{"cpuprofile", 0, true, func(c *config, v string) error { c.cpuProfile = v; return nil }},
}

// errHelp asks the caller to print the usage and exit 0; errVersion, the
// version.
var (
	errHelp    = errors.New("help requested")
	errVersion = errors.New("version requested")
)

// connRateOpt parses -r/--rate, h2load's connection rate: connections made
// per --rate-period.
func connRateOpt(c *config, v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return errors.New("-r: the rate at which connections are made must be positive")
	}
	c.connRate = n
	return nil
}

// http3Only answers h2load's options that only apply to HTTP/3 (QUIC) runs:
// h2load ignores them on TCP too, so the run goes on, with one line saying so.
func http3Only(name string) func(*config, string) error {
	return func(c *config, _ string) error {
		c.warnings = append(c.warnings, "--"+name+": not supported (HTTP/3 only; h2bench speaks HTTP/2 and HTTP/1.1): ignored")
		return nil
	}
}

func defaultConfig() *config {
	return &config{
		nreqs: 1, nclients: 1, nthreads: 1, maxStreams: 1,
		windowBits: 30, connWinBits: 30,
		headerTable: 4096, encoderTable: 4096, maxFrame: 16384,
		ratePeriod: time.Second, noTLSProto: "h2c",
		connectWait: 10 * time.Second,
	}
}

// parseArgs parses the command line the way getopt_long does for h2load:
// options and URIs may be mixed; "--" ends the options. Every option h2load
// has keeps h2load's meaning and units (-r/--rate is the connection rate);
// h2bench's own options have names h2load does not use.
func parseArgs(args []string, stdin io.Reader) (*config, error) {
	c := defaultConfig()
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i+1:]...)
			break
		}
		if a == "-h" || a == "--help" {
			return nil, errHelp
		}
		if a == "--version" {
			return nil, errVersion
		}
		if strings.HasPrefix(a, "--") {
			name, val, hasVal := strings.Cut(a[2:], "=")
			o := findLong(name)
			if o == nil {
				return nil, fmt.Errorf("unrecognized option '%s'", a)
			}
			if o.arg && !hasVal {
				if i+1 >= len(args) {
					return nil, fmt.Errorf("option '--%s' requires an argument", name)
				}
				i++
				val = args[i]
			}
			if err := o.set(c, val); err != nil {
				return nil, err
			}
			continue
		}
		if len(a) > 1 && a[0] == '-' {
			for j := 1; j < len(a); j++ {
				o := findShort(a[j])
				if o == nil {
					return nil, fmt.Errorf("invalid option -- '%c'", a[j])
				}
				if !o.arg {
					if err := o.set(c, ""); err != nil {
						return nil, err
					}
					continue
				}
				val := a[j+1:]
				if val == "" {
					if i+1 >= len(args) {
						return nil, fmt.Errorf("option requires an argument -- '%c'", a[j])
					}
					i++
					val = args[i]
				}
				if err := o.set(c, val); err != nil {
					return nil, err
				}
				break
			}
			continue
		}
		rest = append(rest, a)
	}
	return c, c.finish(rest, stdin)
}

func findLong(name string) *option {
	for i := range options {
		if options[i].long == name {
			return &options[i]
		}
	}
	return nil
}

func findShort(b byte) *option {
	for i := range options {
		if options[i].short == b && b != 0 {
			return &options[i]
		}
	}
	return nil
}

// finish validates the options (with h2load's messages) and builds the
// requests.
func (c *config) finish(uris []string, stdin io.Reader) error {
	if c.inputFile != "" {
		var r io.Reader = stdin
		if c.inputFile != "-" {
			f, err := os.Open(c.inputFile)
			if err != nil {
				return fmt.Errorf("cannot read input file: %s", c.inputFile)
			}
			defer f.Close()
			r = f
		}
		uris = uris[:0]
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); l != "" {
				uris = append(uris, l)
			}
		}
	}
	if c.scriptFile != "" {
		if c.rps > 0 {
			return errors.New("--timing-script-file, --rps: they are mutually exclusive")
		}
		if c.openLoop() {
			return errors.New("--timing-script-file, -R: they are mutually exclusive")
		}
		var err error
		if c.timings, uris, err = readTimingScript(c.scriptFile, stdin); err != nil {
			return err
		}
		// -n is per client here, at most the script's lines, which it
		// defaults to
		n := int64(len(c.timings))
		if c.nreqsSet && c.nreqs < n {
			n = c.nreqs
		}
		c.timings = c.timings[:n]
		c.nreqs = n * int64(c.nclients)
	}
	if len(uris) == 0 {
		return errors.New("no URI or input file given")
	}
	switch {
	case c.nclients == 0:
		return errors.New("-c: the number of clients must be strictly greater than 0")
	case c.maxStreams == 0:
		return errors.New("-m: the max concurrent streams must be strictly greater than 0")
	case c.nthreads == 0:
		return errors.New("-t: the number of threads must be strictly greater than 0")
	case c.timed() && c.connRate > 0:
		return errors.New("-r, -D: they are mutually exclusive")
	case c.nreqs == 0 && !c.timed():
		return errors.New("-n: the number of requests must be strictly greater than 0 if timing-based test is not being run")
	case !c.timed() && !c.openLoop() && c.nreqs < int64(c.nclients):
		return errors.New("-n, -c: the number of requests must be greater than or equal to the clients")
	case c.nclients < c.nthreads:
		return errors.New("-c, -t: the number of clients must be greater than or equal to the number of threads")
	case c.connRate > 0 && c.connRate < c.nthreads:
		return errors.New("-r, -t: the connection rate must be greater than or equal to the number of threads")
	case c.connRate > c.nclients:
		return errors.New("-r, -c: the connection rate must be smaller than or equal to the number of clients")
	case c.openLoop() && c.rps > 0:
		return errors.New("-R, --rps: they are mutually exclusive")
	case c.warmup > 0 && !c.timed():
		return errors.New("--warm-up-time: needs -D")
	}
	if c.nthreads > runtime.NumCPU() {
		c.warnings = append(c.warnings, "-t: warning: the number of threads is greater than hardware cores.")
	}
	if c.timed() {
		c.nreqs = 0
	}
	if len(c.alpn) == 0 {
		c.alpn = []string{"h2", "http/1.1"}
	}
	if c.dataFile != "" {
		b, err := os.ReadFile(c.dataFile)
		if err != nil {
			return fmt.Errorf("-d: Could not open file %s", c.dataFile)
		}
		if b == nil {
			b = []byte{}
		}
		c.body = b
	}
	u, err := c.originURI(uris[0])
	if err != nil {
		return err
	}
	if p, ok := strings.CutPrefix(c.baseURI, "unix:"); ok {
		if p == "" {
			return errors.New("-B: unix: needs a path")
		}
		c.unixPath = p
	}
	c.uris = uris
	c.scheme = u.Scheme
	c.host = u.Hostname()
	c.port = u.Port()
	defPort := "80"
	if c.scheme == "https" {
		defPort = "443"
	}
	if c.port == "" {
		c.port = defPort
	}
	c.authority = c.host
	if strings.Contains(c.host, ":") {
		c.authority = "[" + c.host + "]"
	}
	if c.port != defPort {
		c.authority += ":" + c.port
	}
	dh, dp := c.host, c.port
	if c.connectTo != "" {
		h, p, err := net.SplitHostPort(c.connectTo)
		if err != nil {
			h, p = c.connectTo, ""
		}
		if h != "" {
			dh = h
		}
		if p != "" {
			dp = p
		}
	}
	c.dialAddr = net.JoinHostPort(dh, dp)

	// Shared fields, with -H overrides of :authority/host, :method, :scheme
	// and user-agent as h2load does.
	method, scheme, authority, ua := "GET", c.scheme, c.authority, "h2bench"
	if c.body != nil {
		method = "POST"
	}
	var extra []client.Field
	for _, h := range c.headers {
		switch h.Name {
		case ":authority", "host":
			authority = h.Value
		case ":method":
			method = h.Value
		case ":scheme":
			scheme = h.Value
		case "user-agent":
			ua = h.Value
		default:
			extra = append(extra, h)
		}
	}
	hdr := append([]client.Field{{Name: "user-agent", Value: ua}}, extra...)
	for _, s := range uris {
		ru, err := url.Parse(s)
		if err != nil {
			return fmt.Errorf("invalid URI: %s", s)
		}
		path := ru.EscapedPath()
		if path == "" {
			path = "/"
		}
		if ru.RawQuery != "" {
			path += "?" + ru.RawQuery
		}
		c.reqs = append(c.reqs, client.Request{Method: method, Scheme: scheme, Authority: authority,
			Path: path, Header: hdr, Body: c.body})
	}
	return nil
}

// proto returns the protocol used for cleartext connections.
func (c *config) cleartextProto() string {
	if c.h1 || c.noTLSProto == "http/1.1" {
		return "http/1.1"
	}
	return "h2c"
}
