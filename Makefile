# uzdik — see README.md. The first two targets are the README's first two commands.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test venv up down up-federation down-federation check lint typecheck unit bench-survey bench-replay bench-audit bench-protocols bench-latency clean

demo: venv            ## run a whole edition embedded (SQLite, nothing to start)
	$(BIN)/uzdik demo

test:                 ## install deps, start PostgreSQL + Kafka, run every test tier
	scripts/test.sh

venv:
	scripts/venv.sh

up: venv              ## start PostgreSQL and Kafka locally (no Docker)
	deploy/local/up.sh

down:                 ## stop them
	deploy/local/down.sh

up-federation: venv   ## regions and the republic side by side: a Kafka each, MirrorMaker 2 between
	deploy/local/federation.sh start

down-federation:      ## stop the federation's clusters and MirrorMaker 2
	deploy/local/federation.sh stop

check: lint typecheck ## ruff + mypy --strict + the import contracts

lint: venv
	$(BIN)/ruff check shared services demo tests
	$(BIN)/ruff format --check shared services demo

typecheck: venv
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

unit: venv
	$(BIN)/python -m pytest tests/unit -q

bench-survey: venv
	$(BIN)/python -m bench.survey

bench-replay: venv
	$(BIN)/python -m bench.replay

bench-audit: venv
	$(BIN)/python -m bench.audit

bench-protocols: venv
	$(BIN)/python -m bench.protocols

bench-latency: venv
	$(BIN)/python -m bench.latency

clean:
	rm -rf .uzdik
