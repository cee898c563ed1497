#!/usr/bin/env bash
# Builds bin/hookline (what `make build` and `make dev` run). A first build
# compiles every dependency, which takes minutes; it says so first, then
# shows which package of how many is compiling, so a slow build does not
# look like a hang. Later builds are quiet and take seconds.
set -euo pipefail
GO="${GO:-go}"
out="${1:-bin/hookline}"
export CGO_ENABLED=0
if [ -x "$out" ]; then
  exec "$GO" build -trimpath -o "$out" ./cmd/hookline
fi
echo "build: first build of $out: fetching modules, then compiling every dependency; a few minutes" >&2
echo "build: on a fast machine, over 10 on a slow or busy one. Later builds take seconds." >&2
total=$("$GO" list -deps ./cmd/hookline | wc -l)
tty=0
if [ -t 2 ]; then tty=1; fi
# go build -v names each package as it compiles (cached ones are skipped);
# compiler errors pass through whole.
set +e
"$GO" build -trimpath -v -o "$out" ./cmd/hookline 2>&1 | awk -v total="$total" -v tty="$tty" '
  /^#|\.go:[0-9]|^go: / { if (tty && n) printf "\n" > "/dev/stderr"; print > "/dev/stderr"; next }
  {
    n++
    if (tty) printf "\rbuild: [%d/%d] %-70.70s", n, total, $0 > "/dev/stderr"
    else if (n % 50 == 0) printf "build: %d of up to %d packages compiled\n", n, total > "/dev/stderr"
  }
  END { if (tty && n) printf "\rbuild: %d packages compiled%-70s\n", n, "" > "/dev/stderr" }'
status=${PIPESTATUS[0]}
set -e
exit "$status"
