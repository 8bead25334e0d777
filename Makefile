# A thin wrapper: npm scripts are the source of truth.
.PHONY: run test test-faults bench build lint deps test-deps clean

deps: node_modules/.package-lock.json
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

build: deps
	npm run build

## make run: everything in one process on the embedded broker, demo page on http://localhost:8080
run: build
	node dist/cli/main.js dev

## make test: installs what the tests need (nats-server, chromium, haproxy, nginx), then runs every test
test: build test-deps
	npm test

## make test-faults: the fault run at full size (3 nats-servers, 2 workers, 2 edges behind HAProxy, 2,000 SSE clients, 200 events/s, 60 s; docs/faults.md)
test-faults: build test-deps
	npm run test:faults

test-deps:
	@scripts/test-deps.sh

lint: deps
	npm run gen && npm run lint && npx tsc -p tsconfig.json

bench: build test-deps
	npm run bench

clean:
	rm -rf dist src/gen
