#!/usr/bin/env bash
# Two settings of one Tollgate build side by side over HTTP (figures in
# BENCHMARKS.md):
#
#   A_ENV='…' B_ENV='…' bench/run-ab.sh [rounds] [denies-per-ten]
#
# Starts two servers from one build on SQLite, each with its own data
# folder, A with the environment in A_ENV and B with B_ENV (space-separated
# NAME=value settings on top of bench/lib.sh's), by default A with
# Tollgate's defaults and B with TOLLGATE_AUDIT_DECISIONS=false: decision
# auditing on against off, issue 14's target. In each, a service holding
# authz:check asks POST /v1/authorize about the tenant's owner:
# SEND_MESSAGE to a channel listing them (a permit) and, for DENIES of every
# ten requests (default 1), to a channel that does not (a deny). wrk rounds
# (DURATION each, default 10s) alternate between the two, A first in odd
# rounds; each reports req/s and the server's CPU µs per request
# (utime+stime from /proc/<pid>/stat over the round), and the ratios A/B.
# The access log's cost, issue 16's:
#
#   A_ENV='TOLLGATE_LOG_LEVEL=info' B_ENV='TOLLGATE_LOG_LEVEL=warn' bench/run-ab.sh 9 1
#
# Needs wrk, jq, bc, curl and Go. PROFILE_OUT=FILE keeps A's CPU profile
# during one more round (and its binary as FILE.bin).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5}"
denies="${2:-1}"
dur="${DURATION:-10s}"
backend=sqlite
port=9301
cpuprofile=1
a_env="${A_ENV-}"
b_env="${B_ENV-TOLLGATE_AUDIT_DECISIONS=false}"
export TOLLGATE_ACCESS_TOKEN_TTL=1h
# shellcheck source=bench/lib.sh
. bench/lib.sh
# lib.sh started one server; A and B are started here with their settings.
kill "$tollgate_pid"
wait "$tollgate_pid" 2>/dev/null || true

# start NAME PORT ENV starts a server on a data folder of its own and
# bootstraps its account; it sets NAME_pid and NAME_base.
start() {
	local dir="$work/data-$1"
	# shellcheck disable=SC2086 # ENV is a list of NAME=value words
	env $3 TOLLGATE_DATA_DIR="$dir" TOLLGATE_LISTEN="127.0.0.1:$2" "$work/tollgate" serve >/dev/null 2>&1 &
	pids+=($!)
	printf -v "$1_pid" %s "$!"
	printf -v "$1_base" %s "http://127.0.0.1:$2"
	for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$2/readyz" >/dev/null && break; sleep 0.1; done
	echo 'a long and unusual passphrase' | TOLLGATE_DATA_DIR="$dir" \
		"$work/tollgate" admin bootstrap --email bench@example.com --tenant bench --password-stdin >/dev/null
}
start a $((port + 2)) "$a_env"
start b $((port + 3)) "$b_env"

# prepare BASE NAME registers two channels and a PEP service in BASE's
# tenant and writes NAME.bodies (ten requests, $denies of them denied) and
# NAME.auth.
prepare() {
	local b="$1" tok me tenant principal svc i
	tok="$(curl -sf "$b/v1/auth/login" --json '{"email":"bench@example.com","password":"a long and unusual passphrase"}' | jq -r .access_token)"
	me="$(curl -sf "$b/v1/auth/me" -H "Authorization: Bearer $tok")"
	tenant="$(jq -r .tenant_id <<<"$me")" principal="$(jq -r .actor_id <<<"$me")"
	curl -sf -X PUT "$b/v1/tenants/$tenant/resources/channel/general" -H "Authorization: Bearer $tok" \
		--json "{\"attrs\":{\"visibility\":\"private\",\"members\":[\"$principal\"]}}" >/dev/null
	curl -sf -X PUT "$b/v1/tenants/$tenant/resources/channel/board" -H "Authorization: Bearer $tok" \
		--json '{"attrs":{"visibility":"private","members":[]}}' >/dev/null
	svc="$(curl -sf "$b/v1/services" -H "Authorization: Bearer $tok" --json "{\"name\":\"bench-pdp\",\"scopes\":[\"authz:check\"],\"tenants\":[\"$tenant\"]}")"
	echo "Bearer $(curl -sf "$b/oauth/token" -u "$(jq -r .client_id <<<"$svc"):$(jq -r .client_secret <<<"$svc")" -d grant_type=client_credentials | jq -r .access_token)" >"$work/$2.auth"
	: >"$work/$2.bodies"
	for i in $(seq 1 10); do
		local ch=general
		if [ "$i" -le "$denies" ]; then ch=board; fi
		echo "{\"tenant_id\":\"$tenant\",\"principal\":\"$principal\",\"action\":\"SEND_MESSAGE\",\"resource\":{\"type\":\"channel\",\"id\":\"$ch\"}}" >>"$work/$2.bodies"
	done
	# A deny is a 200 too: check the mix by hand.
	local got
	got="$(while read -r body; do curl -sf "$b/v1/authorize" -H "Authorization: $(cat "$work/$2.auth")" --json "$body" | jq -r .decision; done <"$work/$2.bodies" | sort | uniq -c | xargs)"
	if [ "$got" != "$(if [ "$denies" -gt 0 ]; then echo -n "$denies deny "; fi)$((10 - denies)) permit" ] && [ "$got" != "$((10 - denies)) permit" ]; then
		echo "$2: the ten requests answered $got, not $denies denies" >&2
		exit 1
	fi
}
prepare "$a_base" a
prepare "$b_base" b

clk="$(getconf CLK_TCK)"
cpu() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
# round NAME PID BASE prints "rps cpu_us".
round() {
	local before after out reqs errs
	before="$(cpu "$2")"
	out="$(BODIES="$work/$1.bodies" AUTHORIZATION="$(cat "$work/$1.auth")" wrk -t2 -c32 -d"$dur" -s bench/wrk/bodies.lua "$3/v1/authorize")"
	after="$(cpu "$2")"
	errs="$(awk '/Non-2xx|Socket errors/' <<<"$out")"
	if [ -n "$errs" ]; then
		echo "$1: $errs" >&2
		exit 1
	fi
	reqs="$(awk '/requests in/ {print $1}' <<<"$out")"
	echo "$(rps <<<"$out") $(echo "scale=1; ($after - $before) * 1000000 / $clk / $reqs" | bc)"
}

echo "# cpus=$(nproc) duration=$dur rounds=$rounds denies=$denies/10 A=[$a_env] B=[$b_env] load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "round  A: req/s cpuµs/request  |  B: req/s cpuµs/request  |  A/B: req/s, B/A cpu"
rr=() cr=()
for i in $(seq 1 "$rounds"); do
	if [ $((i % 2)) = 1 ]; then a="$(round a "$a_pid" "$a_base")"; o="$(round b "$b_pid" "$b_base")"
	else o="$(round b "$b_pid" "$b_base")"; a="$(round a "$a_pid" "$a_base")"; fi
	read -r arps acpu <<<"$a"
	read -r orps ocpu <<<"$o"
	r="$(echo "scale=3; $arps / $orps" | bc)" c="$(echo "scale=3; $ocpu / $acpu" | bc)"
	echo "$i  $arps $acpu  |  $orps $ocpu  |  $r $c"
	rr+=("$r") cr+=("$c")
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
echo "median of the rounds' ratios: throughput $(median "${rr[@]}"), by CPU $(median "${cr[@]}")"
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "## A's CPU profile during one more round (not counted), cumulative"
kill -USR1 "$a_pid"
round a "$a_pid" "$a_base" >/dev/null
kill -USR2 "$a_pid"
sleep 1
go tool pprof -top -cum -nodecount=60 "$work/tollgate" "$work/cpu.pprof" 2>/dev/null | tail -n +6
if [ -n "${PROFILE_OUT:-}" ]; then cp "$work/cpu.pprof" "$PROFILE_OUT"; cp "$work/tollgate" "$PROFILE_OUT.bin"; fi
