# The two commands a newcomer needs:
#   make dev    run the product (database, migrations, demo tenant, then everything)
#   make test   run every test
.PHONY: dev test build lint bench fuzz

GO ?= go

dev:
	$(GO) run ./cmd/hookline dev

test:
	scripts/test-env.sh
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || (echo "gofmt needed on:"; gofmt -l .; exit 1)
	$(GO) test -race -count=1 -timeout 20m ./...

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/hookline ./cmd/hookline

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./worker/

# Each fuzz target for FUZZTIME (go test runs their seed corpora in `make test`).
FUZZTIME ?= 20s
FUZZ_TARGETS = \
	./api/:FuzzDecodeBodies ./api/:FuzzCheckUID ./api/:FuzzParseIterator ./api/:FuzzCheckBodyBytes \
	./tenants/:FuzzCheckEndpointTarget ./tenants/:FuzzParseLegacyIPv4 \
	./worker/:FuzzIsBlocked ./cmd/hookline/:FuzzVerifySignature

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$pkg $$fn for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) $$pkg; \
	done
