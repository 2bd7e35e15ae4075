"""Shared fixtures: thread settings, one cache per session, tiny data that trains in a second on a CPU.

* Threads: every test runs with ``INTERP_TEST_THREADS`` torch threads (default 1: the models in the
  tests are tiny, and on a small shared CPU one thread is several times faster than two fighting).
* Cache: one ``INTERP_CACHE_DIR`` for the whole session (renders, the quick instruments), so the
  quick instruments are trained once per session and the developer's ``~/.cache/interp`` is never
  touched. A test that needs an empty cache sets its own ``INTERP_CACHE_DIR`` under ``tmp_path``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch


@pytest.fixture(scope="session", autouse=True)
def _session_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Thread count and the session's INTERP_CACHE_DIR (also inherited by subprocesses and kernels)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(int(os.environ.get("INTERP_TEST_THREADS", "1")))
    path = tmp_path_factory.mktemp("session-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INTERP_CACHE_DIR", str(path))
        yield path
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def session_cache(_session_settings: Path) -> Path:
    """The session's INTERP_CACHE_DIR (renders and quick instruments, made once and shared)."""
    return _session_settings


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
def cache(session_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The session's INTERP_CACHE_DIR, set again for this test (in case another test changed it)."""
    monkeypatch.setenv("INTERP_CACHE_DIR", str(session_cache))
    return session_cache


@pytest.fixture
def stand_in_domain(cache: Path):
    """A ``get_domain`` for stand-in instruments: ``stand_in_domain({name: net})`` fits each net's domain on
    64 held-out renders of its world (what the registry does with 1,000 for the trained instruments)."""
    from interp.data import open_dataset
    from interp.instruments.domain import fit_domain

    def factory(nets):
        def get_domain(name, *, image_size, quick=False, progress=True):
            world = "rooms" if name == "room_segmenter" else "faces"
            real = open_dataset(world, split="val", n=64, image_size=image_size).uint8_images()
            return fit_domain(nets[name], np.asarray(real))

        return get_domain

    return factory
