#!/usr/bin/env bash
# The scale benchmark of BENCHMARKS.md: `hookline bench --api` against two
# `hookline serve` and two `hookline worker` processes (split), or against
# one `hookline all` (all), on this machine's PostgreSQL and Redis, in a
# database and queue of their own.
#   go build -o /tmp/hl ./cmd/hookline
#   scripts/bench-scale.sh split --messages 20000
#   scripts/bench-scale.sh all --messages 20000
# HL (default /tmp/hl) is the binary; SPLIT_DB_CONNS (default 15) the pool
# of each split process, so that four stay under PostgreSQL's default 100
# connections.
set -euo pipefail
HL=${HL:-/tmp/hl}
mode=$1; shift
export HOOKLINE_DATABASE_URL='postgres://postgres@127.0.0.1:5432/hookline_bench14?sslmode=disable'
export HOOKLINE_JWT_SECRET=a-jwt-secret-of-at-least-32-characters!
export HOOKLINE_ENCRYPTION_KEY=MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=
export HOOKLINE_ALLOW_PRIVATE_TARGETS=true HOOKLINE_QUEUE=bench14 HOOKLINE_LOG_LEVEL=warn
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS hookline_bench14" >/dev/null
psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE hookline_bench14" >/dev/null
"$HL" migrate up >/dev/null
redis-cli --scan --pattern 'asynq:{bench14}:*' | xargs -r redis-cli unlink >/dev/null
pids=()
[ "$mode" = split ] && export HOOKLINE_DB_MAX_CONNS=${SPLIT_DB_CONNS:-15}
if [ "$mode" = split ]; then
  HOOKLINE_LISTEN=127.0.0.1:18081 "$HL" serve 2>/tmp/bench-scale-s1.log & pids+=($!)
  HOOKLINE_LISTEN=127.0.0.1:18082 "$HL" serve 2>/tmp/bench-scale-s2.log & pids+=($!)
  HOOKLINE_LISTEN=127.0.0.1:18083 "$HL" worker 2>/tmp/bench-scale-w1.log & pids+=($!)
  HOOKLINE_LISTEN=127.0.0.1:18084 "$HL" worker 2>/tmp/bench-scale-w2.log & pids+=($!)
  api=http://127.0.0.1:18081,http://127.0.0.1:18082
else
  HOOKLINE_LISTEN=127.0.0.1:18081 "$HL" all 2>/tmp/bench-scale-a.log & pids+=($!)
  api=http://127.0.0.1:18081
fi
trap 'kill ${pids[@]} 2>/dev/null; wait' EXIT
for p in 18081 18082 18083 18084; do
  for _ in $(seq 50); do curl -fs http://127.0.0.1:$p/readyz >/dev/null 2>&1 && break; [ "$mode" = all ] && [ $p != 18081 ] && break; sleep 0.2; done
done
key=$("$HL" tenant create --name bench --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["apiKey"])')
"$HL" bench --api "$api" --key "$key" --receiver-listen 127.0.0.1:0 --skip-baselines "$@"
