#!/usr/bin/env bash
# What `make test` runs, for machines without make: the test environment
# (scripts/test-env.sh installs and starts what is missing), go vet, a
# gofmt check and every test with the race detector.
#
# Most tests wait on real servers (deliveries, retries, a browser) rather
# than compute, so four packages and four tests in each run at once (go's
# default is GOMAXPROCS, two here): about 2.5 minutes instead of 6 on two
# cores, with at most about 60 PostgreSQL connections in use.
set -euo pipefail
cd "$(dirname "$0")/.."
GO="${GO:-go}"
scripts/test-env.sh
"$GO" vet ./...
# Dot directories are skipped as go's ./... skips them: .cache holds
# scripts/check-debian.sh's Debian root and module cache.
unformatted=$(find . -path './.*' -prune -o -name '*.go' -type f -print0 | xargs -0 gofmt -l)
if [ -n "$unformatted" ]; then
  echo "gofmt needed on:"; echo "$unformatted"; exit 1
fi
if [ "$("$GO" env CGO_ENABLED)" != 1 ]; then
  echo "test: go test -race needs cgo and a C compiler (CGO_ENABLED is $("$GO" env CGO_ENABLED)); install gcc (scripts/test-env.sh does, with apt-get)" >&2
  exit 1
fi
exec "$GO" test -race -count=1 -p 4 -parallel 4 -timeout 20m ./...
