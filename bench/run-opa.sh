#!/usr/bin/env bash
# Tollgate and Open Policy Agent side by side on the channel workload
# (issue 16, section 5; figures in BENCHMARKS.md):
#
#   bench/run-opa.sh [rounds]
#
# 1. Installs OPA at a pinned version from the Go module proxy into a cache
#    folder (once; $TOLLGATE_BENCH_CACHE, default ~/.cache/tollgate-bench).
# 2. Starts Tollgate (SQLite, as lib.sh does) and OPA on loopback.
# 3. bench/opa generates the workload — 100 tenants, 10,000 users, 1,000
#    channels with visibility and members, 10,000 channel requests — loads
#    it into Tollgate through the CLI and the API, and writes OPA's data
#    document, which is PUT into OPA with bench/opa/channel.rego (the
#    shipped channel defaults in Rego).
# 4. Checks that both answer all 10,000 requests as the reference does
#    (decision and reasons); any difference stops the run.
# 5. Runs interleaved wrk rounds (DURATION each, default 10s; Tollgate
#    first in odd rounds, OPA first in even ones) against POST
#    /v1/authorize, asked by a service holding authz:check, and OPA's POST
#    /v1/data/tollgate/channel/decision, each cycling through the 10,000
#    requests, and reports req/s, p50, p99 and CPU µs per decision
#    (utime+stime of the server from /proc/<pid>/stat over the round,
#    divided by the round's requests), and the ratios.
# 6. Takes a CPU profile of Tollgate during one more round (not counted)
#    and prints its top 15 functions.
#
# Tollgate runs with its defaults, so every deny (and 1 % of permits) is
# written to the audit log; OPA logs no decisions by default.
# TOLLGATE_AUDIT_DECISIONS=false measures Tollgate without that, and
# PROFILE_OUT=FILE keeps the profile. Loading creates 10,000 users with the
# CLI, one process each: allow a few minutes. Needs wrk, jq, bc, curl and Go.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
dur="${DURATION:-10s}"
opa_version=v1.22.2
cache="${TOLLGATE_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tollgate-bench}"
opa="$cache/opa-$opa_version/opa"
if [ ! -x "$opa" ]; then
	echo "installing OPA $opa_version into $cache/opa-$opa_version (once)" >&2
	GOBIN="$cache/opa-$opa_version" go install "github.com/open-policy-agent/opa@$opa_version"
fi
if ! "$opa" version | grep -qx "Version: ${opa_version#v}"; then
	echo "$opa is not OPA $opa_version" >&2
	exit 1
fi

backend=sqlite
port=9295
cpuprofile=1
# The service's token must outlast loading and every round.
export TOLLGATE_ACCESS_TOKEN_TTL=1h
# shellcheck source=bench/lib.sh
. bench/lib.sh

opa_base="http://127.0.0.1:$((port + 2))"
"$opa" run --server --addr "127.0.0.1:$((port + 2))" --log-level error >"$work/opa.log" 2>&1 & pids+=($!)
opa_pid=$!
for _ in $(seq 1 100); do curl -sf "$opa_base/health" >/dev/null && break; sleep 0.1; done

go build -o "$work/opabench" ./bench/opa
mkdir "$work/data-set"
"$work/opabench" load -dir "$work/data-set" -url "$base" -tollgate "$work/tollgate" \
	-email bench@example.com -password 'a long and unusual passphrase'
curl -sf -X PUT "$opa_base/v1/data" -H 'Content-Type: application/json' --data-binary @"$work/data-set/opa-data.json" >/dev/null
curl -sf -X PUT "$opa_base/v1/policies/channel" -H 'Content-Type: text/plain' --data-binary @bench/opa/channel.rego >/dev/null
opa_url="$opa_base/v1/data/tollgate/channel/decision"
"$work/opabench" check -dir "$work/data-set" -url "$base" -opa "$opa_url"

clk="$(getconf CLK_TCK)"
# cpu prints a process's user+system time in clock ticks; the fields
# after "pid (comm) " start at the state, so utime and stime are 12 and 13.
cpu() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
pct() { awk -v p="$1" '$1 == p {print $2}'; }
# us converts wrk's latency (1.23ms, 456.78us, 1.02s) to microseconds.
us() { awk '{v = $1 + 0; if ($1 ~ /us$/) print v; else if ($1 ~ /ms$/) print v * 1000; else print v * 1000000}' <<<"$1"; }

# round NAME PID URL BODIES AUTHORIZATION prints "rps p50us p99us cpu_us".
round() {
	local before after out reqs errs
	before="$(cpu "$2")"
	out="$(BODIES="$4" AUTHORIZATION="$5" wrk -t2 -c32 -d"$dur" --latency -s bench/wrk/bodies.lua "$3")"
	after="$(cpu "$2")"
	errs="$(awk '/Non-2xx|Socket errors/' <<<"$out")"
	if [ -n "$errs" ]; then
		echo "$1: $errs" >&2
		exit 1
	fi
	reqs="$(awk '/requests in/ {print $1}' <<<"$out")"
	echo "$(rps <<<"$out") $(us "$(pct 50% <<<"$out")") $(us "$(pct 99% <<<"$out")") $(echo "scale=1; ($after - $before) * 1000000 / $clk / $reqs" | bc)"
}
tollgate_round() { round tollgate "$tollgate_pid" "$base/v1/authorize" "$work/data-set/tollgate.bodies" "Bearer $(cat "$work/data-set/service.token")"; }
opa_round() { round opa "$opa_pid" "$opa_url" "$work/data-set/opa.bodies" ""; }

echo "# cpus=$(nproc) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs) duration=$dur rounds=$rounds opa=$opa_version audit_decisions=${TOLLGATE_AUDIT_DECISIONS:-true}"
echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "round  tollgate: req/s p50µs p99µs cpuµs/decision  |  opa: req/s p50µs p99µs cpuµs/decision  |  tollgate/opa: req/s cpu"
tr=() orr=() tc=() oc=()
for i in $(seq 1 "$rounds"); do
	if [ $((i % 2)) = 1 ]; then t="$(tollgate_round)"; o="$(opa_round)"; else o="$(opa_round)"; t="$(tollgate_round)"; fi
	read -r trps tp50 tp99 tcpu <<<"$t"
	read -r orps op50 op99 ocpu <<<"$o"
	rr="$(echo "scale=2; $trps / $orps" | bc)" cr="$(echo "scale=2; $tcpu / $ocpu" | bc)"
	echo "$i  $trps $tp50 $tp99 $tcpu  |  $orps $op50 $op99 $ocpu  |  $rr $cr"
	tr+=("$trps") orr+=("$orps") tc+=("$tcpu") oc+=("$ocpu")
done
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
mt="$(median "${tr[@]}")" mo="$(median "${orr[@]}")" mtc="$(median "${tc[@]}")" moc="$(median "${oc[@]}")"
echo "median  tollgate $mt req/s, $mtc cpuµs/decision  |  opa $mo req/s, $moc cpuµs/decision  |  tollgate/opa req/s $(echo "scale=2; $mt / $mo" | bc) (target ≥ 2), cpu $(echo "scale=2; $mtc / $moc" | bc) (target ≤ 0.5)"
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "## Tollgate CPU profile during one more round (not counted)"
kill -USR1 "$tollgate_pid"
tollgate_round >/dev/null
kill -USR2 "$tollgate_pid"
sleep 1
go tool pprof -top -nodecount=15 "$work/tollgate" "$work/cpu.pprof" 2>/dev/null
echo "## the same, cumulative"
go tool pprof -top -cum -nodecount=40 "$work/tollgate" "$work/cpu.pprof" 2>/dev/null | tail -n +6
if [ -n "${PROFILE_OUT:-}" ]; then cp "$work/cpu.pprof" "$PROFILE_OUT"; fi
