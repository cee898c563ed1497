# The two commands a newcomer needs:
#   make dev    build bin/hookline and run the product (database, migrations, demo tenant,
#               app and receiver, then everything)
#   make test   run every test
.PHONY: dev test test-scale build lint bench fuzz release pgo

GO ?= go

HOOKLINE_BIN ?= ./bin/hookline

# dev runs the built binary with exec, so that Ctrl-C or SIGTERM stops
# hookline cleanly (exit 0) and make has no failed command to report.
dev: build
	exec $(HOOKLINE_BIN) dev

# Most tests wait on real servers (deliveries, retries, a browser) rather
# than compute, so four packages and four tests in each run at once (go's
# default is GOMAXPROCS, two here): about 2.5 minutes instead of 6 on two
# cores, with at most about 60 PostgreSQL connections in use.
# scripts/test.sh holds the steps, so that a machine without make (stock
# Debian) runs the same thing: scripts/test.sh (which installs make too).
test:
	GO=$(GO) scripts/test.sh

# Tests too slow for make test: the scale tests (build tag "scale": Redis
# Sentinel failover, Redis Cluster, PgBouncer, processes in network
# namespaces; they start their own redis-server, sentinel and pgbouncer
# processes), and, at production timing, the chaos test of an endpoint
# refusing connections for 60 s (make test runs it at 1/4 scale). A few
# minutes in all.
test-scale:
	scripts/test-env.sh
	$(GO) test -race -count=1 -tags scale -run '^TestScale' -timeout 9m ./cmd/hookline/
	HOOKLINE_TEST_SCALE=1 $(GO) test -race -count=1 -timeout 20m -run 'TestChaos_RefusesThenRecovers' ./worker/

# scripts/build.sh: a first build says it takes minutes and shows its
# progress (package n of N); without make, run it and then bin/hookline dev.
build:
	GO=$(GO) scripts/build.sh bin/hookline

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./worker/


# Each fuzz target for FUZZTIME (go test runs their seed corpora in `make test`).
FUZZTIME ?= 20s
FUZZ_TARGETS = \
	./api/:FuzzDecodeBodies ./api/:FuzzCheckUID ./api/:FuzzParseIterator ./api/:FuzzCheckBodyBytes \
	./tenants/:FuzzCheckEndpointTarget ./tenants/:FuzzParseLegacyIPv4 \
	./worker/:FuzzIsBlocked ./cmd/hookline/:FuzzVerifySignature \
	./transform/:FuzzRun

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$pkg $$fn for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

# The binary we ship: built with profile-guided optimisation from a bench
# profile (build/hookline.pgo; about 2.5 % fewer instructions per delivery,
# measured under callgrind). Compiling with a profile takes a few times
# longer, so `make build` and `make dev` do without it.
release:
	CGO_ENABLED=0 $(GO) build -trimpath -pgo=build/hookline.pgo -o bin/hookline ./cmd/hookline

# Refresh the profile from a flat-out bench (PostgreSQL and Redis as for
# `make dev`; HOOKLINE_DATABASE_URL may name a database of its own).
pgo: build
	$(HOOKLINE_BIN) bench --messages 20000 --skip-baselines --cpuprofile build/hookline.pgo
