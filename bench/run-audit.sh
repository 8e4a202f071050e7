#!/usr/bin/env bash
# Decision auditing on against off, over HTTP (issue 14's throughput target;
# figures in BENCHMARKS.md):
#
#   bench/run-audit.sh [rounds] [denies-per-ten]
#
# Starts two Tollgate servers from one build on SQLite, each with its own
# data folder: one with its defaults (every deny and 1 % of permits written
# to the audit log), one with TOLLGATE_AUDIT_DECISIONS=false. In each, a
# service holding authz:check asks POST /v1/authorize about the tenant's
# owner: SEND_MESSAGE to a channel listing them (a permit), and, for
# DENIES of every ten requests (default 1), SEND_MESSAGE to a channel that
# does not list them (a deny). wrk rounds (DURATION each, default 10s)
# alternate between the two, the audited one first in odd rounds; each
# reports req/s and the server's CPU µs per request (utime+stime from
# /proc/<pid>/stat over the round), and the ratios off→on. Needs wrk, jq,
# bc, curl and Go. PROFILE_OUT=FILE keeps the audited server's profile
# (and its binary as FILE.bin).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-5}"
denies="${2:-1}"
dur="${DURATION:-10s}"
backend=sqlite
port=9301
cpuprofile=1
export TOLLGATE_ACCESS_TOKEN_TTL=1h
# shellcheck source=bench/lib.sh
. bench/lib.sh
on_pid="$tollgate_pid" on_base="$base"

# The same binary without decision auditing, on a data folder of its own.
off_base="http://127.0.0.1:$((port + 2))"
TOLLGATE_AUDIT_DECISIONS=false TOLLGATE_DATA_DIR="$work/data-off" TOLLGATE_LISTEN="127.0.0.1:$((port + 2))" \
	"$work/tollgate" serve >/dev/null 2>&1 & pids+=($!)
off_pid=$!
for _ in $(seq 1 100); do curl -sf "$off_base/readyz" >/dev/null && break; sleep 0.1; done
echo 'a long and unusual passphrase' | TOLLGATE_DATA_DIR="$work/data-off" \
	"$work/tollgate" admin bootstrap --email bench@example.com --tenant bench --password-stdin >/dev/null

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
prepare "$on_base" on
prepare "$off_base" off

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

echo "# cpus=$(nproc) duration=$dur rounds=$rounds denies=$denies/10 load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "round  on: req/s cpuµs/request  |  off: req/s cpuµs/request  |  on/off: req/s, off/on cpu"
rr=() cr=()
for i in $(seq 1 "$rounds"); do
	if [ $((i % 2)) = 1 ]; then a="$(round on "$on_pid" "$on_base")"; o="$(round off "$off_pid" "$off_base")"
	else o="$(round off "$off_pid" "$off_base")"; a="$(round on "$on_pid" "$on_base")"; fi
	read -r arps acpu <<<"$a"
	read -r orps ocpu <<<"$o"
	r="$(echo "scale=3; $arps / $orps" | bc)" c="$(echo "scale=3; $ocpu / $acpu" | bc)"
	echo "$i  $arps $acpu  |  $orps $ocpu  |  $r $c"
	rr+=("$r") cr+=("$c")
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
echo "median of the rounds' ratios: throughput $(median "${rr[@]}"), by CPU $(median "${cr[@]}") (target ≥ 0.9)"
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "## the audited server's CPU profile during one more round (not counted), cumulative"
kill -USR1 "$on_pid"
round on "$on_pid" "$on_base" >/dev/null
kill -USR2 "$on_pid"
sleep 1
go tool pprof -top -cum -nodecount=60 "$work/tollgate" "$work/cpu.pprof" 2>/dev/null | tail -n +6
if [ -n "${PROFILE_OUT:-}" ]; then cp "$work/cpu.pprof" "$PROFILE_OUT"; cp "$work/tollgate" "$PROFILE_OUT.bin"; fi
