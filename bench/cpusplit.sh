#!/bin/bash
# cpusplit.sh PID PORT [h2load flags...]: loads http://127.0.0.1:PORT/ with
# h2load -t 1 (pinned to CPU 1) and prints the user and system CPU time per
# request of the server process PID, read from /proc/PID/stat before and
# after. Start the server pinned to another CPU (taskset -c 0) and alternate
# servers over several rounds; e.g.
#   bench/cpusplit.sh "$(pgrep -f 'hello -addr 127.0.0.1:8080')" 8080 -D 6 -c 64 -m 16
set -euo pipefail
pid=$1 port=$2
shift 2
read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$pid/stat")
out=$(taskset -c 1 h2load -t 1 "$@" "http://127.0.0.1:$port/" 2>&1)
read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
n=$(echo "$out" | awk '/^requests:/{print $8}')
if [ -z "$n" ] || [ "$n" = 0 ]; then
	echo "cpusplit.sh: no request succeeded:" >&2
	echo "$out" >&2
	exit 1
fi
awk -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v n="$n" -v tk="$(getconf CLK_TCK)" 'BEGIN {
	printf "user %.0f ns/req  system %.0f ns/req  total %.0f ns/req  (%d requests)\n",
		u * 1e9 / tk / n, s * 1e9 / tk / n, (u + s) * 1e9 / tk / n, n
}'
