# A thin wrapper: npm scripts are the source of truth.
.PHONY: run test bench build lint deps test-deps clean

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

test-deps:
	@scripts/test-deps.sh

lint: deps
	npm run gen && npm run lint && npx tsc -p tsconfig.json

bench: build test-deps
	npm run bench

clean:
	rm -rf dist src/gen
