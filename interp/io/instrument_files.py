"""Saving and loading small "instrument" networks (dedup autoencoder, segmenters, classifiers).

Same conventions as :mod:`interp.io.checkpoint`, without any GAN specifics: ONE file
``NAME.safetensors`` holding the module's state dict, written atomically, whose safetensors
metadata carries the instrument's JSON config under the key ``"interp_instrument"``. The same
JSON is written beside it as ``NAME.json`` for people to read; the loader trusts only the
embedded copy. No pickle anywhere.

    save_instrument("ae.safetensors", model, {"kind": "hash_autoencoder", "code_dim": 128})
    state, config = load_instrument("ae.safetensors")
    model = HashAutoencoder(**config["model"]); model.load_state_dict(state)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from interp.io.tensorfile import read_tensor_file, write_tensor_file

META_KEY = "interp_instrument"
SUFFIX = ".safetensors"


class InstrumentError(ValueError):
    """An instrument file that cannot be used; the message names the file and what is wrong."""


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
        return write_tensor_file(path, module.state_dict(), META_KEY, config)
    except (TypeError, ValueError) as exc:
        raise InstrumentError(f"{path}: config is not JSON-serialisable ({exc})") from exc


def load_instrument(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(state_dict on CPU, config) of a file written by :func:`save_instrument`."""
    return read_tensor_file(instrument_path(path), META_KEY, InstrumentError, "instrument")
