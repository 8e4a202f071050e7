# The two commands a newcomer needs are `make run` and `make test`.

GO ?= go

.PHONY: run test build lint bench fuzz

## run: the server on the embedded default (SQLite + in-process), data in ./tollgate-data
run:
	$(GO) run ./cmd/tollgate serve

## test: every test, with the race detector; PostgreSQL, Redis and NATS tests run when
## TOLLGATE_TEST_POSTGRES_URL, TOLLGATE_TEST_REDIS_URL and TOLLGATE_TEST_NATS_URL are set (.ci/run sets them).
## The store packages run every conformance case on both databases under -race: on a busy
## 2-core machine that takes longer than go test's default 10 minutes per package.
test:
	$(GO) test -race -count=1 -timeout 30m ./...

build:
	$(GO) build -o bin/tollgate ./cmd/tollgate

lint:
	test -z "$$(gofmt -l .)"
	$(GO) vet ./...
	staticcheck ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem -cpu 1,2 ./token ./password

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzVerify -fuzztime 30s ./token
	$(GO) test -run '^$$' -fuzz FuzzVerifyEncoded -fuzztime 30s ./password
	$(GO) test -run '^$$' -fuzz FuzzDecodeJSON -fuzztime 30s ./httpapi
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./secret
	$(GO) test -run '^$$' -fuzz FuzzParseRequest -fuzztime 30s ./oauth
	$(GO) test -run '^$$' -fuzz FuzzParseJWKS -fuzztime 30s ./sdk/internal/jwks
	$(GO) test -run '^$$' -fuzz FuzzParsePolicy -fuzztime 30s ./ratelimit
	$(GO) test -run '^$$' -fuzz FuzzCompile -fuzztime 30s ./policy
	$(GO) test -run '^$$' -fuzz FuzzAuthorizeRequest -fuzztime 30s ./httpapi
