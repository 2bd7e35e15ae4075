"""One ``metrics.json`` beside the figures: one section per figure, merged atomically.

    update_metrics("figures/metrics.json", "fig4", {"max_step_ratio": 2.1},
                   provenance={"checkpoint": "...", "data": "rooms", "seed": 0, "quick": False})

The fixed keys (:data:`FIXED_KEYS`, documented in docs/METRICS.md) are always present in their section: a key a
figure could not measure is written as ``null`` and the section must then carry a ``"note"``
saying why. Every section also holds ``checkpoint``, ``data``, ``seed`` (and ``quick``).
Non-finite floats become ``null``. Concurrent writers are serialised with a lock file
(``.metrics.json.lock`` beside it); the file itself is only ever replaced atomically.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from interp.io.atomic import atomic_write_text

FIXED_KEYS: dict[str, tuple[str, ...]] = {
    "fig2": ("fd", "fd_floor"),
    "fig3": ("fd", "fd_floor"),
    "memorization": ("nn_ratio",),
    "fig4": ("max_step_ratio",),
    "fig5": ("object_energy_trained", "object_energy_random"),
    "fig6": ("window_frac_before", "window_frac_after", "window_frac_random_control", "other_classes_abs_change",
             "maps_dropped", "auc"),
    "fig7": ("success", "pixel_baseline_success"),
    "fig8": ("spearman",),
    "table1": ("accuracy", "accuracy_std", "dataset"),
}
PROVENANCE_KEYS: tuple[str, ...] = ("checkpoint", "data", "seed")


def jsonable(value: Any) -> Any:
    """Plain JSON types: numpy scalars/arrays -> Python, Paths -> str, NaN/inf -> None."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", None) == 0:  # torch scalar
        return jsonable(value.item())
    return value


def read_metrics(path: str | Path) -> dict[str, Any]:
    """The whole file ({} if it does not exist)."""
    path = Path(path)
    if not path.is_file():
        return {}
    text = path.read_text()
    try:
        data = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc}); fix or delete it") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object of sections, got {type(data).__name__}")
    return data


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows: atomic replace only
        yield
        return
    fd = os.open(path.parent / f".{path.name}.lock", os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def complete_section(section: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with the fixed keys of ``section`` filled in (``None``) and a note where any is null."""
    out = dict(jsonable(dict(values)))
    missing = [k for k in PROVENANCE_KEYS if k not in out]
    if missing:
        raise ValueError(f"metrics section {section!r} lacks provenance key(s) {missing} "
                         f"(every section records {list(PROVENANCE_KEYS)})")
    for key in FIXED_KEYS.get(section, ()):
        out.setdefault(key, None)
    nulls = [k for k in FIXED_KEYS.get(section, ()) if out[k] is None]
    if nulls and not out.get("note"):
        out["note"] = f"not measured: {', '.join(nulls)}"
    return out


def update_metrics(path: str | Path, section: str, values: Mapping[str, Any],
                   provenance: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Replace section ``section`` of the metrics file at ``path`` with ``provenance | values`` (other
    sections untouched), atomically; returns the section as written."""
    path = Path(path)
    new = complete_section(section, {**dict(provenance or {}), **dict(values)})
    with _locked(path):
        data = read_metrics(path)
        data[section] = new
        atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n")
    return new


__all__ = ["FIXED_KEYS", "PROVENANCE_KEYS", "complete_section", "jsonable", "read_metrics", "update_metrics"]
