"""Shared fixtures: tiny configs that train in a second on a CPU."""

from __future__ import annotations

import numpy as np
import pytest
import torch

torch.set_num_threads(max(1, min(2, torch.get_num_threads())))


@pytest.fixture
def tiny_images() -> np.ndarray:
    """96 random-ish uint8 images (96, 3, 32, 32) with some structure (a bright square)."""
    rng = np.random.default_rng(0)
    imgs = (rng.random((96, 3, 32, 32)) * 60).astype(np.uint8)
    for i in range(len(imgs)):
        y, x = rng.integers(0, 24, size=2)
        imgs[i, :, y : y + 8, x : x + 8] = 220
    return imgs


@pytest.fixture
def cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """A fresh INTERP_CACHE_DIR (renders, instruments) for one test."""
    d = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("INTERP_CACHE_DIR", str(d))
    return d
