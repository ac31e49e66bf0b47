# The two commands: `make run` and `make test`. Both install what is missing first.
SHELL := /bin/bash
CARGO ?= cargo
LISTEN ?= 127.0.0.1:8080

.PHONY: run test setup setup-test build lint unit demo clean

run: setup
	$(CARGO) build --release
	./target/release/gridmap serve --listen $(LISTEN) --demo data/demo

test: setup-test lint
	$(CARGO) test --lib --bins --tests -- --test-threads=4
	$(CARGO) test --doc
	bash scripts/schemathesis.sh
	node web/tests/public.test.mjs
	node web/tests/plan.test.mjs
	node web/tests/wall.test.mjs
	node web/tests/docs.test.mjs
	node web/tests/field.test.mjs
	node web/tests/staff.test.mjs
	node web/tests/dept.test.mjs

setup:
	@bash scripts/setup.sh build

setup-test:
	@bash scripts/setup.sh test

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

build: setup
	$(CARGO) build --release

# Regenerate the committed demo deployment (needs ../shared/data/divisions).
demo:
	$(CARGO) run --release -- demo --out data/demo

clean:
	$(CARGO) clean
