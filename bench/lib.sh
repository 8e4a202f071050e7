# Shared by the bench/run*.sh scripts: builds the binaries, starts a bare
# net/http handler and Tollgate on loopback (SQLite or a fresh PostgreSQL
# database), bootstraps an account and signs it in. Source it after setting
#   backend  sqlite | postgres
#   db       the PostgreSQL database to create and drop
#   port     Tollgate's port; the bare handler listens on port+1
# and optionally
#   cpuprofile=1  build Tollgate with bench/cpuprofile: SIGUSR1 to the
#                 server starts a CPU profile into $work/cpu.pprof, SIGUSR2
#                 stops it
# It sets work (a temporary folder, removed on exit), base (Tollgate's URL),
# tollgate_pid, bare_url and TOKEN (the account's access token), and
# defines rps.

work="$(mktemp -d)"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ "$backend" = postgres ]; then
		PGOPTIONS=--client-min-messages=warning psql -q -h 127.0.0.1 -U postgres -d test -c "DROP DATABASE IF EXISTS $db" >/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT

build_flags=()
if [ "${cpuprofile:-0}" = 1 ]; then
	printf '{"Replace":{"%s/cmd/tollgate/zz_cpuprofile.go":"%s/bench/cpuprofile/cpuprofile.go"}}' "$PWD" "$PWD" >"$work/overlay.json"
	build_flags=(-tags tollgate_cpuprofile -overlay "$work/overlay.json")
	export TOLLGATE_CPUPROFILE="$work/cpu.pprof"
fi
go build "${build_flags[@]}" -o "$work/tollgate" ./cmd/tollgate
go build -o "$work/bare" ./bench/bare

export TOLLGATE_DATA_DIR="$work/data" TOLLGATE_LISTEN="127.0.0.1:$port" TOLLGATE_LOG_FORMAT=json
# Load from one address and one account would meet the default rate limits
# at once; limits this high never refuse but are still counted, so their
# cost is in the numbers.
for tier in IP TENANT ACTOR LOGIN LOGIN_ACCOUNT TOKEN; do
	export "TOLLGATE_RATE_LIMIT_$tier=${RATE_LIMIT:-1000000000/1h}"
done
if [ "$backend" = postgres ]; then
	PGOPTIONS=--client-min-messages=warning psql -q -h 127.0.0.1 -U postgres -d test \
		-c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
	export TOLLGATE_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable"
	export TOLLGATE_MASTER_KEY="$(head -c 32 /dev/urandom | base64)"
fi

base="http://127.0.0.1:$port"
bare_url="http://127.0.0.1:$((port + 1))/"
"$work/bare" -listen "127.0.0.1:$((port + 1))" & pids+=($!)
"$work/tollgate" serve >/dev/null 2>&1 & pids+=($!)
tollgate_pid=$!
for _ in $(seq 1 100); do curl -sf "$base/readyz" >/dev/null && break; sleep 0.1; done
echo 'a long and unusual passphrase' | "$work/tollgate" admin bootstrap --email bench@example.com --tenant bench --password-stdin >/dev/null
TOKEN="$(curl -sf "$base/v1/auth/login" --json '{"email":"bench@example.com","password":"a long and unusual passphrase"}' | jq -r .access_token)"
export TOKEN

rps() { awk '/Requests\/sec/ {print $2}'; }
