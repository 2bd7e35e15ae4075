#!/usr/bin/env bash
# The main job: set up .venv, then draw every figure of the paper with its numbers into figures/
# (PNGs + metrics.json). With no --checkpoint, `python -m interp.figures` trains the project's
# default models first (rooms and faces, runs/rooms-default and runs/faces-default, with a progress
# bar; an interrupted training resumes) and the world instruments (cached in ~/.cache/interp).
# Re-running reuses what is trained. Extra arguments go to `python -m interp.figures`
# (e.g. `bash scripts/main.sh --quick`, or `--checkpoint runs/my-run`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. "${INTERP_VENV:-.venv}/bin/activate"
FIGS="${INTERP_FIGURES_DIR:-figures}"
python -m interp.figures --all --out "$FIGS" "$@"
echo "[main] figures and metrics.json: $FIGS/ ; default models: runs/rooms-default, runs/faces-default"
