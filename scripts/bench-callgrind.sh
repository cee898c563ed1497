#!/usr/bin/env bash
# bench-callgrind.sh counts the instructions the Hookline process executes
# per delivery, flat out: `hookline all` under valgrind's callgrind, a
# warm-up, the counters zeroed, a fixed load from `hookline bench --api`
# in another process, the counters dumped, instructions ÷ deliveries.
# A count, unlike CPU time, is moved little by the other jobs of a shared
# machine (only through timing: how work batches; see BENCHMARKS.md,
# "Instructions per delivery").
#
# Usage: scripts/bench-callgrind.sh [--transform|--trivial] [--runs N] [--messages N] [--keep]
#   --transform   a transformation on every endpoint (hookline bench --transform:
#                 every field renamed and a header added)
#   --trivial     a trivial transformation (return webhook) on every endpoint
#   --runs N      repeat N times, a fresh database each time (default 1)
#   --messages N  measured messages (default 2000; the warm-up is 300)
#   --keep        keep the callgrind dumps (/tmp/hl-cg/cg.*) for callgrind_annotate
# Environment: HL_BIN a binary built before (CGO_ENABLED=0) instead of this
# checkout's; HL_CG_OUT the working directory (default /tmp/hl-cg); HL_CG_DB
# and HL_CG_REDIS_DB the database and Redis index (to run two at once).
#
# Needs: go, valgrind (callgrind_control), PostgreSQL on 127.0.0.1:5432
# (user postgres, trust), Redis on 127.0.0.1:6379 (database 9 is flushed).
# Prints one line per run: instructions, deliveries, instructions per delivery,
# and the load average.
set -euo pipefail

transform=()
runs=1
messages=2000
keep=0
while [ $# -gt 0 ]; do
	case "$1" in
	--transform) transform=(--transform) ;;
	--trivial) transform=(--transform --transform-handler trivial) ;;
	--runs) runs=$2; shift ;;
	--messages) messages=$2; shift ;;
	--keep) keep=1 ;;
	*) echo "unknown argument: $1" >&2; exit 2 ;;
	esac
	shift
done

cd "$(dirname "$0")/.."
out=${HL_CG_OUT:-/tmp/hl-cg}
mkdir -p "$out"
# The load comes from this checkout's binary; the one measured is the same,
# or HL_BIN (a binary of another commit, built with CGO_ENABLED=0).
client=$out/hookline
# CGO_ENABLED=0: callgrind aborts on a cgo binary's signal handling.
CGO_ENABLED=0 go build -o "$client" ./cmd/hookline
bin=${HL_BIN:-$client}

db=${HL_CG_DB:-hookline_bench_cg}
rdb=${HL_CG_REDIS_DB:-9}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

export HOOKLINE_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable"
export HOOKLINE_REDIS_URL="redis://127.0.0.1:6379/$rdb"
export HOOKLINE_JWT_SECRET="bench-callgrind-jwt-secret-0123456789abcdef"
export HOOKLINE_ENCRYPTION_KEY="MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
export HOOKLINE_ALLOW_PRIVATE_TARGETS=true
export HOOKLINE_API_RATE_LIMIT=0
export HOOKLINE_LOG_LEVEL=warn

pid=
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid"
		wait "$pid" 2>/dev/null || true
	fi
	pid=
}
trap cleanup EXIT

for run in $(seq 1 "$runs"); do
	dropdb -h 127.0.0.1 -U postgres --if-exists "$db" 2>/dev/null
	createdb -h 127.0.0.1 -U postgres "$db"
	redis-cli -n "$rdb" flushdb >/dev/null
	"$client" migrate up >/dev/null
	key=$("$client" tenant create --name bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["apiKey"])')

	port=$(free_port)
	export HOOKLINE_LISTEN=127.0.0.1:$port
	if [ "$keep" = 0 ]; then rm -f "$out"/cg.*; fi
	# asyncpreemptoff: the same for every binary measured; callgrind
	# serialises threads, and preemption signals only add noise.
	# cpu.rdtscp=off: the runtime reads the clock with RDTSCP when a lock is
	# contended, an instruction valgrind 3.19 does not know (SIGILL).
	GODEBUG=asyncpreemptoff=1,cpu.rdtscp=off valgrind --tool=callgrind --callgrind-out-file="$out/cg.%p" \
		"$bin" all >"$out/hookline.log" 2>&1 &
	pid=$!
	for _ in $(seq 1 600); do
		curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
		sleep 0.5
	done
	curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null

	bench() {
		"$client" bench --api "http://127.0.0.1:$port" --key "$key" --receiver-listen "127.0.0.1:$(free_port)" \
			--skip-baselines --apps 10 --endpoints 1 --concurrency 8 "${transform[@]}" "$@" >"$out/bench.log" 2>&1
	}
	bench --messages 300
	callgrind_control -z "$pid" >/dev/null 2>&1
	bench --messages "$messages" --json
	callgrind_control -d "$pid" >/dev/null 2>&1
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	# A dump's totals line (or its summary line) is the instruction count
	# since the counters were zeroed.
	dump=$(ls -t "$out"/cg."$pid".* | head -1)
	total=$(awk '/^(totals|summary):/ {print $2; exit}' "$dump")
	delivered=$(grep -o '"delivered": *[0-9]*' "$out/bench.log" | grep -o '[0-9]*$' || echo 0)
	[ "$delivered" -gt 0 ] || delivered=$messages
	printf 'run %d%s: %d instructions, %d deliveries, %d per delivery, load %s\n' \
		"$run" "${transform[*]:+ (${transform[*]})}" "$total" "$delivered" "$((total / delivered))" "$load"
	cleanup
	if [ "$keep" = 0 ]; then rm -f "$out"/cg.*; fi
	dropdb -h 127.0.0.1 -U postgres --if-exists "$db"
done
