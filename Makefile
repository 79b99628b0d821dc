# The README's commands. `make test` is what CI runs.
.PHONY: run test build bench

run:
	go run ./cmd/gatehouse serve

build:
	go build -o bin/gatehouse ./cmd/gatehouse

test:
	go test -race -count=1 -timeout 15m ./...

bench:
	go test -run '^$$' -bench . -benchmem ./adapter/token ./adapter/password ./adapter/rest ./usecase ./cmd/gatehouse
