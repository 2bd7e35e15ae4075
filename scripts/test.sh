#!/usr/bin/env bash
# The test command: set up .venv if needed, then lint (ruff), type-check (mypy) and run the whole
# test suite on the CPU. Extra arguments go to pytest (e.g. `-m "not slow"` for a fast inner loop).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. "${INTERP_VENV:-.venv}/bin/activate"
export CUDA_VISIBLE_DEVICES="${CUDA_VISIBLE_DEVICES-}"   # tests are CPU tests, as in CI
echo "[test] ruff"
ruff check interp tests bench scripts
echo "[test] mypy"
mypy
echo "[test] pytest"
exec python -m pytest -q "$@"
