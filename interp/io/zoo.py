"""The model zoo: trained models and instruments shipped in the repository's ``zoo/`` folder.

    zoo_dir()                  # <repository>/zoo, or $INTERP_ZOO_DIR
    shipped_models()           # ["faces", "rooms"]: the names with a final checkpoint and provenance
    zoo_run("rooms")           # zoo/rooms: laid out like a run directory (checkpoints/final, epoch_001 ...)
    resolve_model_name("rooms")  # Path of zoo/rooms when "rooms" is not a file or folder here

A shipped model is ``zoo/<name>/`` with ``checkpoints/final.safetensors`` (G and D),
``checkpoints/epoch_001`` / ``epoch_005`` (G only, for Figs. 2-3), ``provenance.json`` (command, git
revision, hardware, wall time, steps, metrics) and the run's ``log.csv``. Shipped instruments are
``zoo/instruments/<name>-<config hash>.safetensors`` (+ ``.json``), found by the instrument registry
before its cache. ``zoo/wip/`` holds resumable state of reference runs still in training (not shipped).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

PROVENANCE = "provenance.json"
FINAL = "checkpoints/final.safetensors"


def zoo_dir() -> Path:
    """``$INTERP_ZOO_DIR`` if set, else the ``zoo/`` folder of the source tree this package runs from."""
    env = os.environ.get("INTERP_ZOO_DIR")
    return Path(env).expanduser() if env else Path(__file__).resolve().parents[2] / "zoo"


def shipped_models(root: Path | None = None) -> list[str]:
    """Names of the shipped GANs (folders of the zoo with a final checkpoint and a provenance file), sorted."""
    root = zoo_dir() if root is None else root
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / FINAL).is_file() and (p / PROVENANCE).is_file())


def zoo_run(name: str, root: Path | None = None) -> Path:
    """The run-like folder of shipped model ``name``; KeyError naming the shipped ones if there is none."""
    root = zoo_dir() if root is None else root
    if name not in shipped_models(root):
        raise KeyError(f"no shipped model {name!r} in {root}; shipped: {shipped_models(root) or 'none'}")
    return root / name


def provenance(name: str, root: Path | None = None) -> dict[str, Any]:
    """The provenance record of shipped model ``name``."""
    return json.loads((zoo_run(name, root) / PROVENANCE).read_text())


def resolve_model_name(path: str | os.PathLike) -> Path:
    """``path`` itself when it exists (or is not a bare name); a bare shipped-model name (``"rooms"``)
    otherwise resolves to its zoo folder."""
    p = Path(path).expanduser()
    if p.exists() or len(p.parts) != 1 or p.suffix:
        return p
    return zoo_run(str(path)) if str(path) in shipped_models() else p


def shipped_instrument(file_name: str) -> Path | None:
    """``zoo/instruments/<file_name>`` if it is shipped, else None."""
    path = zoo_dir() / "instruments" / file_name
    return path if path.is_file() else None


__all__ = ["FINAL", "PROVENANCE", "provenance", "resolve_model_name", "shipped_instrument", "shipped_models",
           "zoo_dir", "zoo_run"]
