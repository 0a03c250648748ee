# Quick start: `make run` (the bot; offline sandbox without a token) and `make test`.
.PHONY: run test lint bench

run:
	@scripts/bootstrap.sh
	.venv/bin/python -m bot

test:
	@scripts/test.sh

lint:
	@scripts/bootstrap.sh --dev
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

bench:
	@scripts/bootstrap.sh --dev
	.venv/bin/python bench/startup.py
	.venv/bin/python bench/sandbox.py
