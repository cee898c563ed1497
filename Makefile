# The two commands a newcomer needs:
#   make dev    run the product (database, migrations, demo tenant, then everything)
#   make test   run every test
.PHONY: dev test test-scale build lint bench

GO ?= go

dev:
	$(GO) run ./cmd/hookline dev

test:
	scripts/test-env.sh
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || (echo "gofmt needed on:"; gofmt -l .; exit 1)
	$(GO) test -race -count=1 -timeout 20m ./...

# The scale tests (build tag "scale"): Redis Sentinel failover, Redis
# Cluster, PgBouncer, processes in network namespaces. They start their own
# redis-server, sentinel and pgbouncer processes; a few minutes in all.
test-scale:
	scripts/test-env.sh
	$(GO) test -race -count=1 -tags scale -run '^TestScale' -timeout 9m ./cmd/hookline/

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/hookline ./cmd/hookline

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./worker/
