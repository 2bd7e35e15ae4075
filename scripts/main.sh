#!/usr/bin/env bash
# The main job: set up .venv, then draw every figure of the paper with its numbers into figures/
# (PNGs + metrics.json). Figures draw the shipped models and instruments of zoo/ (nothing is trained);
# a world with no shipped model yet, or every world with --train, uses models trained here instead:
# runs/rooms-default and runs/faces-default (the CPU-budget recipe, ~20 min on 2 cores, with a
# progress bar; an interrupted training resumes; with a GPU, `--train --device cuda` trains the
# reference recipe into runs/*-reference). Instruments that are not shipped are trained and cached
# in ~/.cache/interp. Extra arguments go to `python -m interp.figures`
# (e.g. `bash scripts/main.sh --quick`, `--train`, or `--checkpoint runs/my-run`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. "${INTERP_VENV:-.venv}/bin/activate"
FIGS="${INTERP_FIGURES_DIR:-figures}"
# one worker process per core (at most 4): the figures are independent; `--jobs 1` in "$@" overrides
JOBS="${INTERP_JOBS:-$(python -c 'import os; print(max(1, min(4, len(os.sched_getaffinity(0)))))')}"
python -m interp.figures --all --out "$FIGS" --jobs "$JOBS" "$@"
echo "[main] figures and metrics.json: $FIGS/ ; models: see the 'model:' line of each figure above"
