#!/usr/bin/env bash
# Compares h2bench with h2load against the same server on loopback: succeeded
# requests, throughput, and process CPU time (user + system) per request.
#
#   bash cmd/h2bench/compare_h2load.sh [URL]
#
# Without URL it starts a server pinned to CPU 0 on a free port: h2o serving
# a 14-byte file with one thread, or with SERVER=hello the repository's
# examples/hello, fetching $URLPATH (default /; /delay/20 makes the server
# latency-bound, so that throughput no longer depends on the generator). Each generator runs pinned to CPU 1 with
# -n $N -c 64 -m 16 -t 1 (N defaults to 1000000), alternately, $RUNS times
# (default 5); the script prints every run and the medians.
# Environment: N, RUNS, ARGS (extra flags for both generators), SERVER,
# URLPATH.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-1000000}
RUNS=${RUNS:-5}
ARGS=${ARGS:-}
out=$(mktemp -d)
trap 'kill ${srv:-} 2>/dev/null || true; rm -rf "$out"' EXIT
go build -o "$out/h2bench" ./cmd/h2bench
url=${1:-}
if [ -z "$url" ] && [ "${SERVER:-h2o}" = hello ]; then
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	go build -o "$out/hello" ./examples/hello
	taskset -c 0 "$out/hello" -addr "127.0.0.1:$port" > "$out/hello.out" 2>&1 &
	srv=$!
	for _ in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
		sleep 0.05
	done
	url="http://127.0.0.1:$port${URLPATH:-/}"
fi
if [ -z "$url" ]; then
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	mkdir -p "$out/www"
	printf 'hello, world!\n' > "$out/www/index.html"
	{
		[ "$(id -u)" = 0 ] && echo "user: root"
		printf 'listen:\n  port: %s\n  host: 127.0.0.1\nnum-threads: 1\n' "$port"
		printf 'hosts:\n  default:\n    paths:\n      /:\n        file.dir: %s/www\n' "$out"
		printf 'access-log: /dev/null\nerror-log: %s/error.log\npid-file: %s/h2o.pid\n' "$out" "$out"
	} > "$out/h2o.conf"
	taskset -c 0 h2o -c "$out/h2o.conf" > "$out/h2o.out" 2>&1 &
	srv=$!
	for _ in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
		sleep 0.05
	done
	url="http://127.0.0.1:$port/index.html"
fi
echo "server: $url; N=$N, $RUNS runs each, alternating"
run() { # tool -> "cpu_s req_per_s succeeded"
	local o
	# shellcheck disable=SC2086
	o=$( { /usr/bin/time -f "TIME %U %S" taskset -c 1 "$1" -n "$N" -c 64 -m 16 -t 1 $ARGS "$url"; } 2>&1 ) || true
	[ -n "${DEBUG:-}" ] && echo "$o" >&2
	echo "$(echo "$o" | awk '/^TIME/{print $2+$3}') $(echo "$o" | awk '/^finished/{print $4}') $(echo "$o" | awk '/^requests:/{print $8}')"
}
for tool in h2load h2bench; do : > "$out/$tool.runs"; done
for i in $(seq 1 "$RUNS"); do
	for tool in h2load "$out/h2bench"; do
		name=$(basename "$tool")
		read -r cpu rps ok < <(run "$tool")
		echo "$cpu $rps $ok" >> "$out/$name.runs"
		printf '%-8s run %d: cpu %5.2f s, %6.3f us/request, %10.2f req/s, %s succeeded\n' \
			"$name" "$i" "$cpu" "$(echo "$cpu * 1000000 / $N" | bc -l)" "$rps" "$ok"
	done
done
for name in h2load h2bench; do
	sort -n -k1 "$out/$name.runs" | awk -v n="$N" -v name="$name" '{c[NR]=$1} END {printf "%-8s median cpu %.3f us/request\n", name, c[int((NR+1)/2)]*1e6/n}'
	sort -n -k2 "$out/$name.runs" | awk -v name="$name" '{r[NR]=$2} END {printf "%-8s median %.2f req/s\n", name, r[int((NR+1)/2)]}'
done
