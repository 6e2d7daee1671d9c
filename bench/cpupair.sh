#!/usr/bin/env bash
# Compares the server CPU per request of examples/hello at a git revision
# (the baseline) and in the working tree, both running at once: both
# servers pinned to CPU 0, one h2load per server on CPU 1, started
# together for D seconds (GET / -c 64 -m 16). Running the two side by
# side, rather than one after the other, exposes both to the same
# machine load: on a shared machine it halves the spread of the ratio.
# Prints each run's ticks, requests and ratio (working tree ÷ baseline,
# server user+system time from /proc/PID/stat per request) and the median.
# Usage: bench/cpupair.sh REV [RUNS]   Environment: D (seconds, default 5),
# LOAD (h2load flags and path instead of "-c 64 -m 16 /", e.g.
# "-c 64 -m 16 -d bench/out/post4k /echo").
set -euo pipefail
rev=${1:?usage: bench/cpupair.sh REV [RUNS]}
runs=${2:-9}
cd "$(dirname "$0")/.."
out=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$out"' EXIT
mkdir "$out/base"
git archive --format=tar "$rev" | tar -x -C "$out/base"
(cd "$out/base" && go build -o "$out/hello-base" ./examples/hello)
go build -o "$out/hello-new" ./examples/hello
command -v h2load >/dev/null || { echo "cpupair.sh: h2load not found (apt-get install nghttp2-client)" >&2; exit 1; }

load=${LOAD:--c 64 -m 16 /}
flags=${load% *}
path=${load##* }

ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
listening() {
	for _ in $(seq 1 100); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
		sleep 0.05
	done
	echo "cpupair.sh: nothing listens on port $1" >&2
	exit 1
}
ratios=()
for i in $(seq 1 "$runs"); do
	pa=$((24000 + 2 * i)); pb=$((pa + 1))
	taskset -c 0 "$out/hello-base" -addr "127.0.0.1:$pa" 2>/dev/null & a=$!
	taskset -c 0 "$out/hello-new" -addr "127.0.0.1:$pb" 2>/dev/null & b=$!
	pids=("$a" "$b")
	listening "$pa"; listening "$pb"
	h2load -n 20000 $flags "http://127.0.0.1:$pa$path" >/dev/null 2>&1
	h2load -n 20000 $flags "http://127.0.0.1:$pb$path" >/dev/null 2>&1
	a0=$(ticks "$a"); b0=$(ticks "$b")
	taskset -c 1 h2load -D "${D:-5}" $flags "http://127.0.0.1:$pa$path" >"$out/a.txt" 2>&1 & la=$!
	taskset -c 1 h2load -D "${D:-5}" $flags "http://127.0.0.1:$pb$path" >"$out/b.txt" 2>&1 & lb=$!
	wait "$la" "$lb"
	a1=$(ticks "$a"); b1=$(ticks "$b")
	kill "$a" "$b"; wait "$a" "$b" 2>/dev/null || true
	na=$(grep -o '[0-9]* succeeded' "$out/a.txt" | awk '{print $1}')
	nb=$(grep -o '[0-9]* succeeded' "$out/b.txt" | awk '{print $1}')
	r=$(awk -v ta=$((a1 - a0)) -v tb=$((b1 - b0)) -v na="$na" -v nb="$nb" 'BEGIN {printf "%.3f", (tb / nb) / (ta / na)}')
	ratios+=("$r")
	echo "run $i: baseline $((a1 - a0)) ticks / $na requests, working tree $((b1 - b0)) ticks / $nb requests: ratio $r"
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{v[NR] = $1} END {printf "working tree ÷ %s, server CPU per request: median %s (min %s, max %s) over %d runs\n", "'"$rev"'", v[int((NR + 1) / 2)], v[1], v[NR], NR}'
