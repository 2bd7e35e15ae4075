#!/usr/bin/env bash
# Create/refresh the project's virtual environment in .venv (idempotent; fast when nothing changed).
#
# torch goes in FIRST and pinned (TORCH_SPEC, default torch==2.13.0): on machines that carry a
# CPU build of it locally this avoids pulling several GB of CUDA packages. On a GPU machine set
# e.g. TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu126".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${INTERP_PYTHON:-python3}"
TORCH_SPEC="${TORCH_SPEC:-torch==2.13.0}"
VENV="${INTERP_VENV:-.venv}"

if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating $VENV with $($PYTHON --version 2>&1)"
  "$PYTHON" -m venv "$VENV"
fi
# shellcheck disable=SC1091
. "$VENV/bin/activate"

stamp="$VENV/.interp-setup-stamp"
want="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16) $TORCH_SPEC"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "[setup] installing $TORCH_SPEC first, then interp and its dependencies"
python -m pip install -q --disable-pip-version-check $TORCH_SPEC
python -m pip install -q --disable-pip-version-check -e ".[dev,notebooks]"
python -c "import torch, captum, safetensors, sklearn, matplotlib; print('[setup] torch', torch.__version__, '| cuda:', torch.cuda.is_available())"
echo "$want" > "$stamp"
