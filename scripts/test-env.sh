#!/usr/bin/env bash
# Brings a machine to what the test suite needs, doing only what is
# missing: the tools (make, a C compiler for -race, curl), PostgreSQL and
# Redis running on 127.0.0.1 (installed from Debian's packages when absent,
# started with the machine's own commands), a PostgreSQL login the tests
# can use, Debian's Chromium for the browser tests, pgbouncer for the
# scale tests, and Stripe's official mock server and helm (Go programs).
# Idempotent and quick when everything is there; `make test`,
# scripts/test.sh and CI run it first.
#
# PostgreSQL login: the tests connect as postgres@127.0.0.1 without a
# password, or with HOOKLINE_TEST_DATABASE_URL. Debian's packages ask TCP
# connections for a password (scram-sha-256); this script then stops and
# says how to go on, unless HOOKLINE_TEST_PG_TRUST=1 lets it allow local
# trust for the postgres user on 127.0.0.1 and ::1 itself.
#
# Ports: PostgreSQL and Redis are looked for on the ports of
# HOOKLINE_TEST_DATABASE_URL and HOOKLINE_TEST_REDIS_URL (5432 and 6379
# by default), so a machine whose usual ports are taken (a chroot sharing
# the host's network, scripts/check-debian.sh) runs its own on others.
set -euo pipefail

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The port in a URL like scheme://user:pass@host:port/path, or $2.
url_port() {
  if [[ "$1" =~ ^[a-z]+://([^/@]*@)?[^/:@]+:([0-9]+)(/|\?|$) ]]; then echo "${BASH_REMATCH[2]}"; else echo "$2"; fi
}
pg_url="${HOOKLINE_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}"
pg_port=$(url_port "$pg_url" 5432)
redis_port=$(url_port "${HOOKLINE_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}" 6379)

# What is missing, installed in one apt-get run.
need=()
command -v make >/dev/null 2>&1 || need+=(make)
# go test -race needs cgo, so a C compiler.
command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)
command -v curl >/dev/null 2>&1 || need+=(curl) # the dev test runs the printed curl
# Go fetches modules over HTTPS; a minimal Debian has no CA certificates.
[ -f /etc/ssl/certs/ca-certificates.crt ] || need+=(ca-certificates)
installed_pg=""
if ! listening "$pg_port" && [ ! -d /etc/postgresql ]; then need+=(postgresql); installed_pg=1; fi
if ! listening "$redis_port" && ! command -v redis-server >/dev/null 2>&1; then need+=(redis-server); fi
# The browser tests drive Debian's Chromium at /usr/bin/chromium.
[ -x /usr/bin/chromium ] || need+=(chromium)
# The scale tests (make test-scale) run pgbouncer; its own service is not
# started (the tests start theirs).
command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] || need+=(pgbouncer)
if [ ${#need[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null 2>&1 || { [ -n "$sudo" ] && ! command -v sudo >/dev/null 2>&1; }; then
    echo "test-env: missing ${need[*]}; install them (on Debian: apt-get install -y ${need[*]}) and run again" >&2
    exit 1
  fi
  echo "test-env: installing ${need[*]}"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
fi

if ! listening "$pg_port"; then
  pg_ver=$(ls /etc/postgresql | sort -V | tail -1)
  cluster_port=$(pg_conftool -s "$pg_ver" main show port 2>/dev/null || echo 5432)
  if [ "$cluster_port" != "$pg_port" ] && [ -n "$installed_pg" ]; then
    # Debian gave the new cluster the next free port; the tests want theirs.
    echo "test-env: setting the new PostgreSQL $pg_ver/main to port $pg_port (was $cluster_port)"
    $sudo pg_conftool "$pg_ver" main set port "$pg_port"
    $sudo pg_ctlcluster --skip-systemctl-redirect "$pg_ver" main stop 2>/dev/null || true
  elif [ "$cluster_port" != "$pg_port" ]; then
    echo "test-env: PostgreSQL $pg_ver/main listens on port $cluster_port, the tests look on $pg_port; set HOOKLINE_TEST_DATABASE_URL to its port" >&2
    exit 1
  fi
  echo "test-env: starting PostgreSQL $pg_ver/main on port $pg_port"
  $sudo pg_ctlcluster --skip-systemctl-redirect "$pg_ver" main start
  for _ in $(seq 1 50); do listening "$pg_port" && break; sleep 0.2; done
fi
if ! listening "$redis_port"; then
  echo "test-env: starting Redis on port $redis_port"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no
  for _ in $(seq 1 50); do listening "$redis_port" && break; sleep 0.2; done
fi

# The login the tests use. Without psql (PostgreSQL in Docker, say) the
# tests themselves will say if it is refused.
# A URL without a password to this machine can be let in by local trust.
pg_nopass=""
if [[ "$pg_url" =~ ^[a-z]+://postgres@(127\.0\.0\.1|localhost|\[::1\]):[0-9]+/ ]]; then pg_nopass=1; fi
if command -v psql >/dev/null 2>&1 && ! out=$(PGCONNECT_TIMEOUT=5 psql -w "$pg_url" -Atqc 'select 1' 2>&1); then
  if [[ "$out" == *password* && -n "$pg_nopass" && "${HOOKLINE_TEST_PG_TRUST:-}" == 1 ]]; then
    if [ -z "$sudo" ]; then as_postgres=(runuser -u postgres --); else as_postgres=(sudo -u postgres); fi
    hba=$("${as_postgres[@]}" psql -Atqc 'show hba_file')
    echo "test-env: allowing local trust for postgres on 127.0.0.1 and ::1 in $hba (HOOKLINE_TEST_PG_TRUST=1)"
    $sudo sed -i '1i host all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust' "$hba"
    $sudo pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main reload
    # The reload is asynchronous: poll until the new lines apply.
    for _ in $(seq 1 25); do
      out=$(PGCONNECT_TIMEOUT=5 psql -w "$pg_url" -Atqc 'select 1' 2>&1) && break
      sleep 0.2
    done
    PGCONNECT_TIMEOUT=5 psql -w "$pg_url" -Atqc 'select 1' >/dev/null 2>&1 || { echo "test-env: PostgreSQL still refuses: $out" >&2; exit 1; }
  elif [[ "$out" == *password* && -z "$pg_nopass" ]]; then
    echo "test-env: PostgreSQL refuses HOOKLINE_TEST_DATABASE_URL (${pg_url%%\?*}): $(echo "$out" | head -1); check its user and password" >&2
    exit 1
  elif [[ "$out" == *password* ]]; then
    # As root (a stock Debian has no sudo), runuser does what sudo -u would.
    as_pg="sudo -u postgres"
    if [ -z "$sudo" ]; then as_pg="runuser -u postgres --"; fi
    cat >&2 <<MSG
test-env: PostgreSQL refuses ${pg_url%%\?*} ($(echo "$out" | head -1)).
Debian's packages ask TCP connections for a password (scram-sha-256). Either run again with
HOOKLINE_TEST_PG_TRUST=1 (this script then allows local trust for the postgres user on 127.0.0.1),
or give postgres a password and name it:
  $as_pg psql -c "ALTER USER postgres PASSWORD 'postgres'"
  export HOOKLINE_TEST_DATABASE_URL='postgres://postgres:postgres@127.0.0.1:$pg_port/postgres?sslmode=disable'
MSG
    exit 1
  else
    echo "test-env: cannot log in to PostgreSQL at ${pg_url%%\?*}: $out" >&2
    exit 1
  fi
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
