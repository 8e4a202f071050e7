#!/usr/bin/env bash
# Reproduces the introspection numbers in BENCHMARKS.md: a bare net/http
# handler and POST /v1/auth/introspect on the real binary, measured by wrk
# in the same run, on SQLite or PostgreSQL.
#
#   bench/run-credentials.sh [sqlite|postgres] [runs]
#
# A registered service introspects an API key with its client-credentials
# token, as sdk/authn does on a cache miss; then, for comparison, a session
# access token. Needs wrk, jq, bc and, for postgres, a local server with
# trust auth (postgres://postgres@127.0.0.1:5432).
set -euo pipefail
cd "$(dirname "$0")/.."
backend="${1:-sqlite}"
runs="${2:-3}"
dur="${DURATION:-10s}"
db=tollgate_bench_credentials
port=9296
# shellcheck source=bench/lib.sh
. bench/lib.sh
admin="$TOKEN"

# A registered service and its token, and an API key for it to introspect.
svc="$(curl -sf "$base/v1/services" -H "Authorization: Bearer $admin" --json '{"name":"bench-service"}')"
SERVICE_TOKEN="$(curl -sf "$base/oauth/token" -u "$(jq -r .client_id <<<"$svc"):$(jq -r .client_secret <<<"$svc")" -d grant_type=client_credentials | jq -r .access_token)"
API_KEY="$(curl -sf "$base/v1/api-keys" -H "Authorization: Bearer $admin" --json '{"name":"bench","scopes":["tenant:read","members:read"]}' | jq -r .key)"
export SERVICE_TOKEN

# An inactive answer is a 200 too, which wrk would count as a success:
# check by hand that the subject is active before and after each run.
active() {
	curl -sf "$base/v1/auth/introspect" -H "Authorization: Bearer $SERVICE_TOKEN" --json "{\"token\":\"$1\"}" | jq -e '.active == true' >/dev/null ||
		{ echo "introspection of the $2 is not active" >&2; exit 1; }
}

pct() { awk -v p="$1" '$1 == p {print $2}'; }

echo "# backend=$backend cpus=$(nproc) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs) duration=$dur"
for subject in api_key access_token; do
	if [ "$subject" = api_key ]; then SUBJECT="$API_KEY"; else SUBJECT="$admin"; fi
	export SUBJECT
	echo "## POST /v1/auth/introspect of an $subject vs bare handler (wrk -t2 -c32)"
	for i in $(seq 1 "$runs"); do
		active "$SUBJECT" "$subject"
		bare="$(wrk -t2 -c32 -d"$dur" "$bare_url" | rps)"
		out="$(wrk -t2 -c32 -d"$dur" --latency -s bench/wrk/introspect.lua "$base/v1/auth/introspect")"
		active "$SUBJECT" "$subject"
		got="$(echo "$out" | rps)"
		echo "run $i: bare=$bare introspect=$got ratio=$(echo "scale=3; $got/$bare" | bc) p50=$(echo "$out" | pct 50%) p99=$(echo "$out" | pct 99%) non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')"
	done
done

# The same run's GET /v1/auth/me, the foundation's hot path, for reference.
echo "## GET /v1/auth/me vs bare handler (wrk -t2 -c32), for reference"
export TOKEN="$admin"
for i in $(seq 1 "$runs"); do
	bare="$(wrk -t2 -c32 -d"$dur" "$bare_url" | rps)"
	out="$(wrk -t2 -c32 -d"$dur" --latency -s bench/wrk/bearer.lua "$base/v1/auth/me")"
	got="$(echo "$out" | rps)"
	echo "run $i: bare=$bare me=$got ratio=$(echo "scale=3; $got/$bare" | bc) p50=$(echo "$out" | pct 50%) p99=$(echo "$out" | pct 99%) non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')"
done
