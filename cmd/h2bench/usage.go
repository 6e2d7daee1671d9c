//go:build linux

package main

const usageText = `Usage: h2bench [OPTIONS]... [URI]...
       h2bench merge [--json FILE|-] [--html FILE] RESULT.json...
benchmarking tool for HTTP/2 servers, with h2load's options and more.

  <URI>       URIs to access, used in turn by each client. The scheme, host
              and port of the first one are used for all (http:// is h2c
              with prior knowledge, https:// is TLS with ALPN).
Options (h2load 1.52's, with h2load's meanings and units):
  -n, --requests=<N>            Requests across all clients. Default: 1
  -c, --clients=<N>             Concurrent clients (connections); with -r,
                                the most connections made. Default: 1
  -t, --threads=<N>             Worker threads. Default: 1
  -i, --input-file=<PATH>       File of URIs, one a line ('-' for stdin).
  -m, --max-concurrent-streams=<N>  Streams per client (HTTP/1.1: pipelined
                                requests). Default: 1
  -f, --max-frame-size=<SIZE>   SETTINGS_MAX_FRAME_SIZE. Default: 16K
  -w, --window-bits=<N>         Stream window 2^N-1. Default: 30
  -W, --connection-window-bits=<N>  Connection window 2^N-1. Default: 30
  -H, --header=<HEADER>         Add or override a request header.
  -p, --no-tls-proto=<PROTO>    h2c or http/1.1 for http:// URIs. Default: h2c
  -d, --data=<PATH>             POST the file's content.
  -r, --rate=<N>                Connections made per rate period, up to -c,
                                shared among the threads. Default: 0 (all
                                at once). -r and -D are mutually exclusive.
      --rate-period=<DURATION>  The period of -r. Default: 1s
  -D, --duration=<DURATION>     Timing-based run: the main duration of the
                                measurements (-n is ignored).
      --warm-up-time=<DURATION> Time before -D's measurements start
                                (needs -D).
  -T, --connection-active-timeout=<DURATION>
                                Close a client's connection this long after
                                its last request was issued (as h2load);
                                requests in flight count as timed out.
  -N, --connection-inactivity-timeout=<DURATION>
                                Close a connection after this long without
                                any byte read or written; requests in
                                flight count as timed out. Against a server
                                that may stall, set -N (or -D): nothing else
                                ends a request it never answers.
      --timing-script-file=<PATH>  Lines of <ms offset>TAB<URI> ('-' for
                                stdin): each client issues line k at its
                                start + the offset, on that URI. -n is then
                                per client, at most (and by default) the
                                number of lines. Exclusive with --rps.
  -B, --base-uri=(<URI>|unix:<PATH>)  Scheme, host and port for every
                                request (the URIs may be paths); unix:PATH
                                connects to that Unix socket instead.
      --ciphers=<SUITE>         TLS 1.2 suites, OpenSSL names separated by
                                ':' (IANA names too); those Go's crypto/tls
                                lacks (DHE, CCM) are skipped with a warning.
      --tls13-ciphers=<SUITE>   Checked, but Go's crypto/tls chooses its TLS
                                1.3 suites itself (one line says so).
      --groups=<GROUPS>         Key exchange groups: X25519, P-256, P-384,
                                P-521, X25519MLKEM768. Default: Go's.
      --npn-list=<LIST>         ALPN identifiers. Default: h2,http/1.1
      --alpn-list=<LIST>        Same as --npn-list.
      --h1                      Force HTTP/1.1 for http and https URIs.
      --header-table-size=<SIZE>          Decoder table size. Default: 4K
      --encoder-header-table-size=<SIZE>  Encoder table size. Default: 4K
      --log-file=<PATH>         Per-request lines: start (us since epoch),
                                status (-1 failed), duration (us).
      --connect-to=<HOST>[:<PORT>]  Connect here instead of the URI's host.
      --rps=<N>                 Requests per second per client.
  -v, --verbose                 Print the ALTSVC, ORIGIN and PUSH_PROMISE frames servers send.
      --version                 Print the version and exit.
  -h, --help
  --qlog-file-base, --no-udp-gso, --max-udp-payload-size: HTTP/3 only, not
  supported (ignored with one line on stderr); --ktls: ignored likewise.
Options (h2bench's own):
  -R, --request-rate=<R>        Open-loop mode (wrk2's -R): R requests per
                                second in total, each with an intended
                                start; latency is reported raw and
                                corrected for coordinated omission. Every
                                scheduled request is counted: sent (done or
                                in flight at the end) or not sent.
      --connection-rate=<N>     Same as -r (h2bench's earlier name).
      --max-requests-per-conn=<N>  Reconnect after N requests.
      --json=<FILE>             Write every figure and the histograms ('-':
                                standard output; the text report then goes
                                to standard error).
      --fail-on=<COND>          Exit 2 with one line naming COND when it
                                holds after the run (repeatable), e.g.
                                failed>1% (share of total), failed>0,
                                errored>0, timeout>0, not-sent>0, p99>50ms,
                                p50/p90/p95/p99.9/p99.99/max/mean (raw
                                latency of successful requests),
                                corrected.p99>1s (open loop), rps<1000.
                                Without it a completed run exits 0, as
                                h2load, however many requests failed.
      --start-at=<TIME>         Start the run at this wall-clock time: RFC
                                3339 (2026-12-02T10:00:00Z), Unix seconds,
                                or +DURATION. Instances on several machines
                                given the same TIME run together; combine
                                their --json results with h2bench merge.
      --html=<FILE>             Write a self-contained report page: latency
                                by percentile (HdrHistogram's log axis),
                                requests per second, status codes, and the
                                text report (charts by uPlot, inlined).
      --upgrade                 http:// via HTTP/1.1 Upgrade to h2c.
      --enable-push             Accept server push (SETTINGS_ENABLE_PUSH = 1,
                                up to -m pushed streams): the report adds
                                pushes received and refused and pushed
                                bytes (--json: "push"); -v prints promises.
      --verify                  Verify the server's TLS certificate (h2load
                                does not, nor does h2bench by default).
  -k, --insecure                Do not verify (the default; undoes --verify).
  -q, --quiet                   No live progress.
      --cpuprofile=<FILE>       Write a Go CPU profile of the run.

  A client whose connections fail 3 times in a row before the server
  completes a request gives up; the errors table of the report gives the
  first cause of each row. Servers that break HTTP/2 or flood the client
  (endless CONTINUATION, PING/SETTINGS floods, frames that advance no
  request) fail the connection with GOAWAY instead of hanging it.

  <SIZE> is an integer with an optional unit K, M or G (powers of 1024).
  <DURATION> is an integer with an optional unit h, m, s or ms (seconds when
  omitted), or a Go duration such as 1.5s.
`
