#!/usr/bin/env bash
# Proves that a stock Debian 12 machine with Go gets through the README's
# set-up: it debootstraps Debian 12 (bookworm) once into .cache/debian-base
# (reused), copies the host's Go (/usr/local/go) into it, and on every run
# starts from a fresh copy of that base in .cache/debian-root, so that
# scripts/test-env.sh really installs postgresql, redis-server, make, gcc,
# curl, chromium… from Debian's packages. In the chroot, as root, it then
# runs what the README tells a stock-Debian user to run, on a clean
# `git archive` of HEAD (commit first):
#
#   1. scripts/test-env.sh, which must install and start everything, then
#      stop on Debian's scram-sha-256 login and say how to go on;
#   2. the documented fix: HOOKLINE_TEST_PG_TRUST=1 scripts/test-env.sh
#      (or, with CHECK_DEBIAN_PG_LOGIN=password, a password for postgres
#      and HOOKLINE_TEST_DATABASE_URL naming it);
#   3. make build, bin/hookline migrate up, and the end-to-end tests of
#      `make dev`'s path and of the `all` role (go test -race) against the
#      chroot's own PostgreSQL and Redis.
#
# The whole `make test` takes far too long on a loaded two-core machine
# for a routine check; CHECK_DEBIAN_FULL=1 runs it (in place of step 3's
# tests) all the same.
#
# The chroot shares the host's network, where PostgreSQL and Redis may
# already listen on 5432 and 6379, so its own run on 5499 and 6399
# (HOOKLINE_TEST_DATABASE_URL, HOOKLINE_TEST_REDIS_URL; test-env.sh looks
# on those ports and sets the fresh cluster's). As in Debian's Docker
# images, a policy-rc.d keeps apt from starting services itself. Nothing
# on the host is stopped, reloaded or edited: only paths under .cache/ are
# written, the chroot's services are stopped by their own commands and the
# mounts it made are undone on exit. The host's extra CA certificates
# (/usr/local/share/ca-certificates) are copied in, for a host whose
# HTTPS goes through an inspecting proxy.
#
# Go's module and build caches live in .cache/debian-go and are kept
# between runs (the first run compiles everything: many minutes here).
# helm and stripe-mock, which test-env.sh would `go install` (long builds
# of programs that are not Hookline), are copied from the host's
# $(go env GOPATH)/bin when it has them; CHECK_DEBIAN_GO_TOOLS=build makes
# test-env.sh build them instead. Needs root and debootstrap (installed
# with apt-get when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
cache="$repo/.cache"
base="$cache/debian-base"
root="$cache/debian-root"
gocache="$cache/debian-go"
aptcache="$cache/debian-apt"
pg_port=5499
redis_port=6399
mirror="${CHECK_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
started=$(date +%s)

say() { echo "check-debian: $*"; }
# The one-line verdict, printed last (by cleanup once the chroot is set up).
result="FAIL: stock Debian 12 check stopped"
verdict() { echo "check-debian: $result ($(($(date +%s) - started)) s)"; }
fail() {
  echo "check-debian: $*" >&2
  result="FAIL: stock Debian 12 check failed: $*"
  exit 1
}
trap verdict EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || fail "needs root (debootstrap, chroot, mounts): sudo $0"
[ -x /usr/local/go/bin/go ] || fail "no Go at /usr/local/go (the README's \"a machine with Go\")"

# Paths mounted under $1, deepest first.
mounts_under() { awk -v r="$1" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/mounts | sort -r; }

cleanup() {
  set +e
  if [ -d "$root/src" ]; then
    say "stopping the chroot's PostgreSQL and Redis"
    chroot "$root" sh -c 'for v in $(ls /etc/postgresql 2>/dev/null); do pg_ctlcluster --skip-systemctl-redirect "$v" main stop -m fast 2>/dev/null; done' </dev/null
    chroot "$root" sh -c "command -v redis-cli >/dev/null && redis-cli -p $redis_port shutdown nosave 2>/dev/null" </dev/null >/dev/null
  fi
  # Anything else still running inside the chroot (a test's server, say)
  # was started by this run.
  for p in /proc/[0-9]*; do
    if [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ]; then kill "${p#/proc/}" 2>/dev/null; fi
  done
  for m in $(mounts_under "$root"); do umount "$m" 2>/dev/null || umount -l "$m"; done
  verdict
}

# 0. The base system, once: debootstrap and the host's Go.
if ! command -v debootstrap >/dev/null 2>&1; then
  say "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap
fi
mkdir -p "$cache"
if [ ! -f "$base/.complete" ]; then
  [ -z "$(mounts_under "$base.tmp")" ] || fail "something is mounted under $base.tmp; unmount it first"
  rm -rf "$base.tmp"
  say "debootstrap bookworm into $base (once; a few minutes)"
  debootstrap --variant=minbase bookworm "$base.tmp" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
    fail "debootstrap failed; see $cache/debootstrap.log"
  mv "$base.tmp" "$base"
  touch "$base/.complete"
fi
if ! cmp -s /usr/local/go/VERSION "$base/usr/local/go/VERSION"; then
  say "copying the host's Go ($(head -1 /usr/local/go/VERSION)) into the base"
  rm -rf "$base/usr/local/go"
  cp -a /usr/local/go "$base/usr/local/go"
fi

# 1. A fresh machine from the base, the caches and a clean HEAD.
[ -z "$(mounts_under "$root")" ] || fail "something is still mounted under $root (an interrupted run?); unmount it first"
rm -rf "$root"
say "fresh root in $root"
cp -a "$base" "$root"
trap cleanup EXIT
# As Debian's Docker images do: apt installs services but does not start them.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
# A host behind a TLS-inspecting proxy trusts its CA through
# /usr/local/share/ca-certificates; so must the chroot, or Go cannot fetch
# modules. Debian's ca-certificates (which test-env.sh installs) adds them.
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
fi
mkdir -p "$root/src" "$gocache/gopath/bin" "$gocache/build" "$aptcache"
git -C "$repo" archive HEAD | tar -x -C "$root/src"
say "source: $(git -C "$repo" rev-parse --short HEAD) ($(git -C "$repo" status --porcelain | grep -qv '^??' && echo 'uncommitted changes are NOT in the check' || echo clean))"
if [ "${CHECK_DEBIAN_GO_TOOLS:-}" != build ]; then
  hostbin="$(/usr/local/go/bin/go env GOPATH)/bin"
  for tool in helm stripe-mock; do
    if [ -x "$hostbin/$tool" ] && [ ! -x "$gocache/gopath/bin/$tool" ]; then cp "$hostbin/$tool" "$gocache/gopath/bin/"; fi
  done
fi
mkdir -p "$root/root/go" "$root/root/.cache/go-build" "$root/var/cache/apt/archives"
mount -t proc proc "$root/proc"
mount -t sysfs sys "$root/sys"
# rslave: nothing mounted or unmounted under the chroot reaches the host.
mount --bind /dev "$root/dev" && mount --make-rslave "$root/dev"
mount --bind /dev/pts "$root/dev/pts" && mount --make-rslave "$root/dev/pts"
mount -t tmpfs -o mode=1777 tmpfs "$root/dev/shm" # Chromium's shared memory, not the host's
mount --bind "$gocache/gopath" "$root/root/go"
mount --bind "$gocache/build" "$root/root/.cache/go-build"
mount --bind "$aptcache" "$root/var/cache/apt/archives"

db_url="postgres://postgres@127.0.0.1:$pg_port/postgres?sslmode=disable"
# Runs $1 in the chroot as root, in /src, with a stock environment plus Go
# on PATH and the test ports; further arguments are VAR=value.
in_chroot() {
  local cmd=$1
  shift
  chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
    PATH=/usr/local/go/bin:/root/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOOKLINE_TEST_DATABASE_URL="$db_url" HOOKLINE_TEST_REDIS_URL="redis://127.0.0.1:$redis_port/0" "$@" \
    /bin/bash -c "cd /src && $cmd" </dev/null
}
step() {
  local name=$1 t0
  shift
  say "== $name"
  t0=$(date +%s)
  "$@" || fail "step failed: $name"
  say "   $name: ok ($(($(date +%s) - t0)) s)"
}

# 2. test-env.sh installs and starts everything, then must stop on
# Debian's password login and say how to go on.
first_env() {
  local out status=0
  out=$(in_chroot 'scripts/test-env.sh' 2>&1) || status=$?
  echo "$out" >"$cache/check-debian-test-env.log"
  # Its own lines and its explanation, not apt's.
  echo "$out" | awk '/^test-env:/ { p = /refuses/ } p || /^test-env:/ { print "    | " $0 }'
  say "   (all of its output: $cache/check-debian-test-env.log)"
  [ "$status" -ne 0 ] || { echo "test-env.sh passed against a fresh Debian PostgreSQL: its scram-sha-256 login went unnoticed" >&2; return 1; }
  for want in 'scram-sha-256' 'HOOKLINE_TEST_PG_TRUST=1' "runuser -u postgres -- psql -c \"ALTER USER postgres PASSWORD" ":$pg_port/"; do
    [[ "$out" == *"$want"* ]] || { echo "test-env.sh's explanation lacks \"$want\"" >&2; return 1; }
  done
  for tool in make gcc curl psql pg_ctlcluster redis-server /usr/bin/chromium pgbouncer; do
    in_chroot "command -v $tool >/dev/null" || { echo "test-env.sh did not install $tool" >&2; return 1; }
  done
}
step "scripts/test-env.sh installs and starts everything, then explains Debian's login" first_env

# 3. The documented fix, then test-env.sh again must pass.
if [ "${CHECK_DEBIAN_PG_LOGIN:-trust}" = password ]; then
  step "give postgres a password (README)" in_chroot "runuser -u postgres -- psql -qc \"ALTER USER postgres PASSWORD 'postgres'\""
  db_url="postgres://postgres:postgres@127.0.0.1:$pg_port/postgres?sslmode=disable"
  step "scripts/test-env.sh with HOOKLINE_TEST_DATABASE_URL naming it" in_chroot 'scripts/test-env.sh'
else
  step "HOOKLINE_TEST_PG_TRUST=1 scripts/test-env.sh" in_chroot 'scripts/test-env.sh' HOOKLINE_TEST_PG_TRUST=1
  step "scripts/test-env.sh again (nothing left to do)" in_chroot 'scripts/test-env.sh'
fi

# 4. What make dev builds and runs, and the tests of that path.
hook_db="${db_url/\/postgres\?//hookline_check?}"
step "make build" in_chroot 'make build'
step "bin/hookline migrate up" in_chroot "psql -w '$db_url' -qc 'create database hookline_check' && bin/hookline migrate up" HOOKLINE_DATABASE_URL="$hook_db"
if [ "${CHECK_DEBIAN_FULL:-}" = 1 ]; then
  step "make test (all of it)" in_chroot 'make test'
else
  step "go test -race: make dev's first run and the all role, end to end" \
    in_chroot "go test -race -count=1 -run 'TestDev_FirstRunToVisibleDelivery|TestAll_EndToEnd' -v ./cmd/hookline/ 2>&1 | grep -E '^(=== RUN|--- |PASS|FAIL|ok|panic)' ; exit \${PIPESTATUS[0]}"
fi

result="PASS: stock Debian 12 + Go: test-env.sh installed and started everything, explained the login, and the build, migrations and $([ "${CHECK_DEBIAN_FULL:-}" = 1 ] && echo 'make test' || echo 'end-to-end tests') passed"
