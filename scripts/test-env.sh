#!/usr/bin/env bash
# Brings a machine to what the test suite needs, doing only what is
# missing: PostgreSQL and Redis running on 127.0.0.1 (started with the
# machine's own commands), Debian's Chromium for the portal's browser tests,
# and Stripe's official mock server for the billing tests. Idempotent and
# quick when everything is there; `make test` and CI run it first.
set -euo pipefail

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  echo "test-env: starting PostgreSQL"
  $sudo pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start
  for _ in $(seq 1 50); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 0.2; done
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "test-env: starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 50); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.2; done
fi

# The portal's browser tests drive Debian's Chromium at /usr/bin/chromium.
if [ ! -x /usr/bin/chromium ]; then
  echo "test-env: installing chromium"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium
fi

# The scale tests (make test-scale) run Debian's pgbouncer; the package's
# own service is not started (the tests start theirs).
if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; then
  echo "test-env: installing pgbouncer"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends pgbouncer
fi

# The billing tests run Stripe's official mock server (a Go program); the
# tests look for it on PATH and in $(go env GOPATH)/bin.
if ! command -v stripe-mock >/dev/null 2>&1 && [ ! -x "$(go env GOPATH)/bin/stripe-mock" ]; then
  echo "test-env: installing stripe-mock"
  go install github.com/stripe/stripe-mock@v0.203.0
fi

# The Helm chart's test runs helm lint and helm template (a Go program; the
# first build takes minutes, later runs find it in $(go env GOPATH)/bin).
if ! command -v helm >/dev/null 2>&1 && [ ! -x "$(go env GOPATH)/bin/helm" ]; then
  echo "test-env: installing helm"
  go install helm.sh/helm/v3/cmd/helm@v3.22.0
fi
