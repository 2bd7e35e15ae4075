#!/usr/bin/env bash
# The test command: set up .venv if needed, then run the whole test suite on the CPU.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. "${INTERP_VENV:-.venv}/bin/activate"
export CUDA_VISIBLE_DEVICES="${CUDA_VISIBLE_DEVICES-}"   # tests are CPU tests, as in CI
exec python -m pytest -q "$@"
