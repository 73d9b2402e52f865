# uzdik — see README.md. The first two targets are the README's first two commands.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test venv up down check lint typecheck unit bench-survey bench-replay clean

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

clean:
	rm -rf .uzdik
