#!/usr/bin/env bash
# The whole test run: lint, then the suite. Database and cache tests run on SQLite and
# the in-process cache, and again on PostgreSQL and Redis (127.0.0.1:5432 / :6379 by
# default; FOUNDRYCORD_TEST_POSTGRES / FOUNDRYCORD_TEST_REDIS override). Absent servers
# make those tests skip with the reason. Extra arguments go to pytest. The suite runs in
# FOUNDRYCORD_TEST_WORKERS processes (default 2), so tests that wait on real timers (rate
# limits, timeouts) overlap with the rest; 1 runs it in this process.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh --dev

echo "== ruff check"
.venv/bin/ruff check .
echo "== ruff format --check"
.venv/bin/ruff format --check .
echo "== pytest"
workers="${FOUNDRYCORD_TEST_WORKERS:-2}"
if [ "$workers" -gt 1 ]; then
  .venv/bin/python -m pytest -n "$workers" "$@"
else
  .venv/bin/python -m pytest "$@"
fi
