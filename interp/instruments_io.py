"""Saving and loading small "instrument" networks (dedup autoencoder, segmenters, classifiers).

Same conventions as :mod:`interp.checkpoint`, without any GAN specifics: ONE file
``NAME.safetensors`` holding the module's state dict, written atomically, whose safetensors
metadata carries the instrument's JSON config under the key ``"interp_instrument"``. The same
JSON is written beside it as ``NAME.json`` for people to read; the loader trusts only the
embedded copy. No pickle anywhere.

    save_instrument("ae.safetensors", model, {"kind": "hash_autoencoder", "code_dim": 128})
    state, config = load_instrument("ae.safetensors")
    model = HashAutoencoder(**config["model"]); model.load_state_dict(state)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import safetensors
import safetensors.torch
import torch

from .atomic import atomic_write_bytes, atomic_write_text

META_KEY = "interp_instrument"
SUFFIX = ".safetensors"


class InstrumentError(ValueError):
    """An instrument file that cannot be used; the message names the file and what is wrong."""


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"not JSON-serialisable: {type(obj).__name__}")


def instrument_path(path: str | Path) -> Path:
    """``path`` with the ``.safetensors`` suffix (a ``.json`` sidecar path maps to its weights)."""
    path = Path(path).expanduser()
    return path if path.suffix == SUFFIX else path.with_suffix(SUFFIX)


def save_instrument(path: str | Path, module: torch.nn.Module, config: dict[str, Any]) -> Path:
    """Write ``module``'s state dict + ``config`` (JSON-able dict) atomically; return the file.

    The suffix is forced to ``.safetensors``; the sidecar ``.json`` holds the same config.
    """
    path = instrument_path(path)
    try:
        text = json.dumps(config, sort_keys=True, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise InstrumentError(f"{path}: config is not JSON-serialisable ({exc})") from exc
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in module.state_dict().items()}
    atomic_write_bytes(path, safetensors.torch.save(tensors, metadata={META_KEY: text}))
    pretty = json.dumps(config, indent=2, sort_keys=True, default=_json_default) + "\n"
    atomic_write_text(path.with_suffix(".json"), pretty)
    return path


def load_instrument(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(state_dict on CPU, config) of a file written by :func:`save_instrument`."""
    path = instrument_path(path)
    if not path.is_file():
        raise InstrumentError(f"{path}: no such instrument file")
    try:
        with safetensors.safe_open(str(path), framework="pt") as f:
            header = f.metadata() or {}
            state = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:  # safetensors raises its own error types for corrupt headers
        raise InstrumentError(f"{path}: not a readable safetensors file ({exc})") from exc
    if META_KEY not in header:
        raise InstrumentError(f"{path}: safetensors file has no '{META_KEY}' metadata; not an interp instrument")
    try:
        config = json.loads(header[META_KEY])
    except json.JSONDecodeError as exc:
        raise InstrumentError(f"{path}: instrument metadata is not valid JSON ({exc})") from exc
    if not isinstance(config, dict):
        raise InstrumentError(f"{path}: instrument metadata is {type(config).__name__}, expected a JSON object")
    return state, config
