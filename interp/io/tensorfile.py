"""One file format for everything interp stores: tensors in safetensors, a JSON object in its metadata.

Written atomically, with the same JSON beside it as ``<name>.json`` for people to read; read back
without pickle. Checkpoints (:mod:`interp.io.checkpoint`) and instruments (:mod:`interp.io.instrument_files`)
both use it, each under its own metadata key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import safetensors
import safetensors.torch
import torch

from interp.io.atomic import atomic_write_bytes, atomic_write_text


def json_default(obj: Any) -> Any:
    """JSON encoder fallback for paths and numpy scalars."""
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")


def write_tensor_file(path: Path, tensors: dict[str, torch.Tensor], meta_key: str, meta: dict[str, Any]) -> Path:
    """Atomically write ``tensors`` (moved to CPU, contiguous) with ``meta`` as JSON under ``meta_key``,
    plus the ``.json`` sidecar. Raises TypeError/ValueError if ``meta`` is not JSON-serialisable."""
    text = json.dumps(meta, sort_keys=True, default=json_default)
    cpu = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    atomic_write_bytes(path, safetensors.torch.save(cpu, metadata={meta_key: text}))
    pretty = json.dumps(meta, indent=2, sort_keys=True, default=json_default) + "\n"
    atomic_write_text(path.with_suffix(".json"), pretty)
    return path


def read_tensor_file(path: Path, meta_key: str, error: type[Exception], what: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(tensors, meta) of a file written by :func:`write_tensor_file`; ``error`` (naming the file)
    for a missing or corrupt file, missing metadata (not an interp ``what``) or non-object JSON."""
    if not path.is_file():
        raise error(f"{path}: no such {what} file")
    try:
        with safetensors.safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:  # safetensors raises its own error types for corrupt headers
        raise error(f"{path}: not a readable safetensors file ({exc})") from exc
    if meta_key not in header:
        raise error(f"{path}: safetensors file has no '{meta_key}' metadata; not an interp {what}")
    try:
        meta = json.loads(header[meta_key])
    except json.JSONDecodeError as exc:
        raise error(f"{path}: {what} metadata is not valid JSON ({exc})") from exc
    if not isinstance(meta, dict):
        raise error(f"{path}: {what} metadata is {type(meta).__name__}, expected a JSON object")
    return tensors, meta
