#!/usr/bin/env bash
# The main job: set up .venv, train the default DCGAN on the embedded `rooms` world, then draw the
# paper's figures that exist so far, with their numbers, into runs/figures/ (PNGs + metrics.json).
# Re-running continues (or skips) the run in runs/rooms-default. Extra arguments go to
# `python -m interp.train` (e.g. `bash scripts/main.sh --epochs 10`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. "${INTERP_VENV:-.venv}/bin/activate"
OUT="${INTERP_RUN_DIR:-runs/rooms-default}"
if [ -f "$OUT/checkpoints/final.safetensors" ] && [ "$#" -eq 0 ]; then
  echo "[main] $OUT is already trained (delete it to train again)"
else
  python -m interp.train --data rooms --preset examples --size 64 --ngf 32 --ndf 32 \
    --epochs 5 --out "$OUT" --resume "$@"
fi
FIGS="${INTERP_FIGURES_DIR:-runs/figures}"
python -m interp.figures --all --checkpoint "$OUT" --out "$FIGS"
echo "[main] samples after each epoch: $OUT/samples/ ; checkpoints: $OUT/checkpoints/"
echo "[main] figures and metrics.json: $FIGS/"
