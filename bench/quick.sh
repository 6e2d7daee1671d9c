#!/usr/bin/env bash
# Builds examples/hello and h2bench, starts the server, loads it with h2bench
# (-n 200000 -c 64 -m 16 by default) and prints h2bench's report.
# Environment: N (requests), PORT, ARGS (extra h2bench flags).
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench/out
mkdir -p "$out"
go build -o "$out/hello" ./examples/hello
go build -o "$out/h2bench" ./cmd/h2bench
port=${PORT:-18080}
"$out/hello" -addr "127.0.0.1:$port" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null' EXIT
for _ in $(seq 1 100); do
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "quick.sh: the server exited (is port $port taken? set PORT)" >&2
		exit 1
	fi
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
	sleep 0.05
done
sleep 0.2
kill -0 "$pid" 2>/dev/null || { echo "quick.sh: the server exited (is port $port taken? set PORT)" >&2; exit 1; }
"$out/h2bench" -n "${N:-200000}" -c 64 -m 16 -t 1 ${ARGS:-} "http://127.0.0.1:$port/"
