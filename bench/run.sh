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
work="$(mktemp -d)"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ "$backend" = postgres ]; then psql -q -h 127.0.0.1 -U postgres -d test -c 'DROP DATABASE IF EXISTS tollgate_bench' >/dev/null; fi
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/tollgate" ./cmd/tollgate
go build -o "$work/bare" ./bench/bare

export TOLLGATE_DATA_DIR="$work/data" TOLLGATE_LISTEN=127.0.0.1:9298 TOLLGATE_LOG_FORMAT=json
if [ "$backend" = postgres ]; then
	psql -q -h 127.0.0.1 -U postgres -d test -c 'DROP DATABASE IF EXISTS tollgate_bench' -c 'CREATE DATABASE tollgate_bench' >/dev/null
	export TOLLGATE_DATABASE_URL="postgres://postgres@127.0.0.1:5432/tollgate_bench?sslmode=disable"
	export TOLLGATE_MASTER_KEY="$(head -c 32 /dev/urandom | base64)"
fi

"$work/bare" -listen 127.0.0.1:9299 & pids+=($!)
"$work/tollgate" serve >/dev/null 2>&1 & pids+=($!)
for _ in $(seq 1 100); do curl -sf localhost:9298/readyz >/dev/null && break; sleep 0.1; done
echo 'a long and unusual passphrase' | "$work/tollgate" admin bootstrap --email bench@example.com --tenant bench --password-stdin >/dev/null
TOKEN="$(curl -sf localhost:9298/v1/auth/login --json '{"email":"bench@example.com","password":"a long and unusual passphrase"}' | jq -r .access_token)"
export TOKEN

# wrk prints "Requests/sec: N" and, with --latency, percentile lines.
rps() { awk '/Requests\/sec/ {print $2}'; }
pct() { awk -v p="$1" '$1 == p {print $2}'; }

echo "# backend=$backend cpus=$(nproc) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs) duration=$dur"
echo "## /v1/auth/me vs bare handler (wrk -t2 -c32)"
for i in $(seq 1 "$runs"); do
	bare="$(wrk -t2 -c32 -d"$dur" http://127.0.0.1:9299/ | rps)"
	out="$(wrk -t2 -c32 -d"$dur" --latency -s bench/wrk/bearer.lua http://127.0.0.1:9298/v1/auth/me)"
	me="$(echo "$out" | rps)"
	echo "run $i: bare=$bare me=$me ratio=$(echo "scale=3; $me/$bare" | bc) me_p50=$(echo "$out" | pct 50%) me_p99=$(echo "$out" | pct 99%) non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')"
done

echo "## one argon2id hash (go test -bench BenchmarkHashDefault -cpu 1)"
hash_ns="$(go test -run '^$' -bench 'BenchmarkHashDefault$' -benchtime 40x -cpu 1 ./password | awk '/BenchmarkHashDefault/ {print $3}')"
echo "hash=${hash_ns}ns ceiling=$(echo "scale=1; $(nproc)*1000000000/$hash_ns" | bc) logins/s"

echo "## login, one client (wrk -t1 -c1)"
for i in $(seq 1 "$runs"); do
	out="$(wrk -t1 -c1 -d"$dur" --latency -s bench/wrk/login.lua http://127.0.0.1:9298/v1/auth/login)"
	echo "run $i: rps=$(echo "$out" | rps) p50=$(echo "$out" | pct 50%) p99=$(echo "$out" | pct 99%)"
done

echo "## login, saturated (wrk -t2 -c8)"
for i in $(seq 1 "$runs"); do
	out="$(wrk -t2 -c8 -d"$dur" --latency -s bench/wrk/login.lua http://127.0.0.1:9298/v1/auth/login)"
	echo "run $i: rps=$(echo "$out" | rps) p50=$(echo "$out" | pct 50%) non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')"
done

echo "## /v1/auth/me alone, then while logins saturate the hasher (wrk -t1 -c16 each)"
for i in $(seq 1 "$runs"); do
	alone="$(wrk -t1 -c16 -d"$dur" -s bench/wrk/bearer.lua http://127.0.0.1:9298/v1/auth/me | rps)"
	wrk -t1 -c8 -d"$dur" -s bench/wrk/login.lua http://127.0.0.1:9298/v1/auth/login > "$work/login.out" &
	loaded="$(wrk -t1 -c16 -d"$dur" -s bench/wrk/bearer.lua http://127.0.0.1:9298/v1/auth/me | rps)"
	wait $!
	echo "run $i: me_alone=$alone me_under_logins=$loaded kept=$(echo "scale=3; $loaded/$alone" | bc) logins=$(rps < "$work/login.out")"
done
