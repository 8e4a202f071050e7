#!/usr/bin/env bash
# Reproduces the HTTP numbers in BENCHMARKS.md: a bare net/http handler and
# Tollgate measured by wrk in the same run, on SQLite and on PostgreSQL.
#
#   bench/run.sh [sqlite|postgres] [runs]
#
# Needs wrk (apt-get install wrk) and, for postgres, a local server with
# trust auth (postgres://postgres@127.0.0.1:5432).
set -euo pipefail
cd "$(dirname "$0")/.."
backend="${1:-sqlite}"
runs="${2:-3}"
dur="${DURATION:-10s}"
db=tollgate_bench
port=9298
# shellcheck source=bench/lib.sh
. bench/lib.sh

# wrk prints "Requests/sec: N" and, with --latency, percentile lines.
pct() { awk -v p="$1" '$1 == p {print $2}'; }

echo "# backend=$backend cpus=$(nproc) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs) duration=$dur"
echo "## /v1/auth/me vs bare handler (wrk -t2 -c32)"
for i in $(seq 1 "$runs"); do
	bare="$(wrk -t2 -c32 -d"$dur" "$bare_url" | rps)"
	out="$(wrk -t2 -c32 -d"$dur" --latency -s bench/wrk/bearer.lua "$base"/v1/auth/me)"
	me="$(echo "$out" | rps)"
	echo "run $i: bare=$bare me=$me ratio=$(echo "scale=3; $me/$bare" | bc) me_p50=$(echo "$out" | pct 50%) me_p99=$(echo "$out" | pct 99%) non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')"
done

echo "## one argon2id hash (go test -bench BenchmarkHashDefault -cpu 1)"
hash_ns="$(go test -run '^$' -bench 'BenchmarkHashDefault$' -benchtime 40x -cpu 1 ./password | awk '/BenchmarkHashDefault/ {print $3}')"
echo "hash=${hash_ns}ns ceiling=$(echo "scale=1; $(nproc)*1000000000/$hash_ns" | bc) logins/s"

echo "## login, one client (wrk -t1 -c1)"
for i in $(seq 1 "$runs"); do
	out="$(wrk -t1 -c1 -d"$dur" --latency -s bench/wrk/login.lua "$base"/v1/auth/login)"
	echo "run $i: rps=$(echo "$out" | rps) p50=$(echo "$out" | pct 50%) p99=$(echo "$out" | pct 99%)"
done

echo "## login, saturated (wrk -t2 -c8)"
for i in $(seq 1 "$runs"); do
	out="$(wrk -t2 -c8 -d"$dur" --latency -s bench/wrk/login.lua "$base"/v1/auth/login)"
	echo "run $i: rps=$(echo "$out" | rps) p50=$(echo "$out" | pct 50%) non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')"
done

echo "## /v1/auth/me alone, then while logins saturate the hasher (wrk -t1 -c16 each)"
for i in $(seq 1 "$runs"); do
	alone="$(wrk -t1 -c16 -d"$dur" -s bench/wrk/bearer.lua "$base"/v1/auth/me | rps)"
	wrk -t1 -c8 -d"$dur" -s bench/wrk/login.lua "$base"/v1/auth/login > "$work/login.out" &
	loaded="$(wrk -t1 -c16 -d"$dur" -s bench/wrk/bearer.lua "$base"/v1/auth/me | rps)"
	wait $!
	echo "run $i: me_alone=$alone me_under_logins=$loaded kept=$(echo "scale=3; $loaded/$alone" | bc) logins=$(rps < "$work/login.out")"
done
