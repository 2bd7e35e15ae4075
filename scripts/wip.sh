#!/usr/bin/env bash
# Keep a reference run that is still training across machines: its resumable state lives in zoo/wip/.
#
#   bash scripts/wip.sh save runs/ref-rooms-s0      # -> zoo/wip/rooms-s0 (latest + Adam, kept epochs 1 and 5,
#                                                   #    log.csv, train_config.json, sample grids)
#   bash scripts/wip.sh restore runs/ref-rooms-s0   # zoo/wip/rooms-s0 -> runs/ref-rooms-s0, then resume:
#   OMP_NUM_THREADS=1 python -m interp.train --out runs/ref-rooms-s0 --resume --no-progress
#
# `save` copies into a temporary folder and swaps it in, so an interrupted save leaves the old state whole
# (in zoo/wip/<name>.old if it stopped between the two renames; `restore` looks there too).
# `restore` refuses to overwrite a run that is further along than the saved state.
# INTERP_WIP_EPOCHS="001 002 005 010" keeps other epoch checkpoints (default: 001 005, for Figs. 2-3).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
usage() { echo "usage: bash scripts/wip.sh save|restore runs/ref-<world>-s<seed>" >&2; exit 2; }
[ $# -eq 2 ] || usage
action=$1 run=${2%/}
name=$(basename "$run"); name=${name#ref-}
root=${INTERP_WIP_DIR:-zoo/wip}   # (tests point this elsewhere)
mkdir -p "$root"
wip=$root/$name
step_of() {  # the step recorded beside a latest checkpoint, or -1
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("step", -1))' "$1" 2>/dev/null || echo -1
}
case $action in
  save)
    [ -f "$run/checkpoints/latest.safetensors" ] || { echo "wip.sh: no $run/checkpoints/latest.safetensors" >&2; exit 1; }
    tmp=$(mktemp -d "$root/.$name.XXXX") && chmod 755 "$tmp"
    trap 'rm -rf "$tmp"' EXIT   # an interrupted save leaves no half-copied folder behind
    cp "$run/checkpoints/latest.safetensors" "$run/checkpoints/latest.json" "$tmp/"
    for e in ${INTERP_WIP_EPOCHS:-001 005}; do
      [ -f "$run/checkpoints/epoch_$e.safetensors" ] && cp "$run/checkpoints/epoch_$e".{safetensors,json} "$tmp/"
    done
    cp "$run/log.csv" "$run/train_config.json" "$tmp/"
    mkdir -p "$tmp/samples" && cp "$run"/samples/*.png "$tmp/samples/" 2>/dev/null || true
    rm -rf "$wip.old"; [ -d "$wip" ] && mv "$wip" "$wip.old"
    mv "$tmp" "$wip" && rm -rf "$wip.old"
    echo "[wip] saved $run at step $(step_of "$wip/latest.json") -> $wip"
    ;;
  restore)
    # a save interrupted between its two renames left the previous state in $wip.old
    [ -f "$wip/latest.safetensors" ] || [ ! -f "$wip.old/latest.safetensors" ] || mv "$wip.old" "$wip"
    [ -f "$wip/latest.safetensors" ] || { echo "wip.sh: no saved state $wip" >&2; exit 1; }
    have=$(step_of "$run/checkpoints/latest.json") saved=$(step_of "$wip/latest.json")
    if [ "$have" -ge "$saved" ]; then echo "[wip] $run is at step $have >= saved $saved: left as it is"; exit 0; fi
    mkdir -p "$run/checkpoints" "$run/samples"
    cp "$wip"/*.safetensors "$wip"/latest.json "$run/checkpoints/"
    for f in "$wip"/epoch_*.json; do [ -f "$f" ] && cp "$f" "$run/checkpoints/"; done
    cp "$wip/train_config.json" "$run/" && cp "$wip/log.csv" "$run/"
    cp "$wip"/samples/*.png "$run/samples/" 2>/dev/null || true
    echo "[wip] restored $wip (step $saved) -> $run; resume with:"
    echo "OMP_NUM_THREADS=1 python -m interp.train --out $run --resume --no-progress"
    ;;
  *) usage ;;
esac
