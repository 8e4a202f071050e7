#!/usr/bin/env bash
# Reproduces the POST /v1/authorize numbers in BENCHMARKS.md: a bare net/http
# handler and the decision endpoint on the real binary, measured by wrk in
# the same run.
#
#   bench/run-authorize.sh [sqlite|postgres] [runs]
#
# A service holding authz:check asks whether the bootstrapped owner may send
# to a registered channel listing them (a permit through channel_member),
# as a messaging service does before each message. Needs wrk, jq, bc.
set -euo pipefail
cd "$(dirname "$0")/.."
backend="${1:-sqlite}"
runs="${2:-3}"
dur="${DURATION:-10s}"
db=tollgate_bench_authorize
port=9297
# shellcheck source=bench/lib.sh
. bench/lib.sh
admin="$TOKEN"

me="$(curl -sf "$base/v1/auth/me" -H "Authorization: Bearer $admin")"
export TENANT="$(jq -r .tenant_id <<<"$me")" PRINCIPAL="$(jq -r .actor_id <<<"$me")" CHANNEL=general
curl -sf -X PUT "$base/v1/tenants/$TENANT/resources/channel/$CHANNEL" -H "Authorization: Bearer $admin" \
	--json "{\"attrs\":{\"members\":[\"$PRINCIPAL\"]}}" >/dev/null
svc="$(curl -sf "$base/v1/services" -H "Authorization: Bearer $admin" --json "{\"name\":\"bench-pdp\",\"scopes\":[\"authz:check\"],\"tenants\":[\"$TENANT\"]}")"
SERVICE_TOKEN="$(curl -sf "$base/oauth/token" -u "$(jq -r .client_id <<<"$svc"):$(jq -r .client_secret <<<"$svc")" -d grant_type=client_credentials | jq -r .access_token)"
export SERVICE_TOKEN

# A deny is a 200 too: check by hand that the answer is the permit.
permit() {
	curl -sf "$base/v1/authorize" -H "Authorization: Bearer $SERVICE_TOKEN" \
		--json "{\"tenant_id\":\"$TENANT\",\"principal\":\"$PRINCIPAL\",\"action\":\"SEND_MESSAGE\",\"resource\":{\"type\":\"channel\",\"id\":\"$CHANNEL\"}}" |
		jq -e '.decision == "permit" and (.reasons | index("channel_member"))' >/dev/null ||
		{ echo "the benchmark request is not a permit" >&2; exit 1; }
}
pct() { awk -v p="$1" '$1 == p {print $2}'; }

echo "# backend=$backend cpus=$(nproc) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs) duration=$dur"
echo "## POST /v1/authorize vs bare handler (wrk -t2 -c32)"
for i in $(seq 1 "$runs"); do
	permit
	bare="$(wrk -t2 -c32 -d"$dur" "$bare_url" | rps)"
	out="$(wrk -t2 -c32 -d"$dur" --latency -s bench/wrk/authorize.lua "$base/v1/authorize")"
	permit
	got="$(echo "$out" | rps)"
	echo "run $i: bare=$bare authorize=$got ratio=$(echo "scale=3; $got/$bare" | bc) p50=$(echo "$out" | pct 50%) p99=$(echo "$out" | pct 99%) non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')"
done
