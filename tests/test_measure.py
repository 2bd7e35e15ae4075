"""Measuring generators with the world instruments (quick instruments, tiny generators)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from interp.analysis.measure import measure_generator
from interp.cli.measure import main
from interp.core.config import ModelConfig
from interp.core.generation import sample_images
from interp.core.models import build_gan
from interp.io.checkpoint import load_gan, save_checkpoint


@pytest.fixture
def tiny_checkpoint(tmp_path: Path, cache: Path):

    def make(world: str) -> Path:
        torch.manual_seed(0)
        cfg = ModelConfig.from_preset("examples", 64, ngf=4, ndf=4)
        G, D = build_gan(cfg)
        return save_checkpoint(tmp_path / f"{world}.safetensors", G, D, cfg, {"dataset": {"name": world}, "step": 0})

    return make


def test_generate_is_seeded_and_batch_independent(tiny_checkpoint) -> None:
    G = load_gan(tiny_checkpoint("rooms")).G
    a = sample_images(G, 12, seed=3, batch_size=5)
    b = sample_images(G, 12, seed=3, batch_size=12)
    assert a.shape == (12, 3, 64, 64) and torch.allclose(a, b, atol=1e-6)
    assert not G.training


@pytest.mark.slow
def test_rooms_generator_numbers(tiny_checkpoint) -> None:
    res = measure_generator(load_gan(tiny_checkpoint("rooms")), n=64, progress=False, quick_instruments=True)
    assert res["world"] == "rooms" and res["n"] == 64
    assert abs(sum(res["generated"]["class_fractions"].values()) - 1) < 1e-3
    # on real renders the (quick) segmenter finds windows and beds in most images
    assert res["real"]["share_with_window"] > 0.5 and res["real"]["share_with_bed"] > 0.5
    # an untrained generator's noise is much farther from real rooms than real rooms are from each other
    assert res["fd"] > 3 * res["fd_floor"]
    d = res["diversity"]
    assert d["near_duplicate_share_real"] == 0.05 and d["nn_distance_ratio"] >= 0
    # ... and draws nearly the same image every time: far more near-duplicates than real renders have
    assert d["near_duplicate_share"] > 0.5 and d["nn_distance_ratio"] < 0.5


def test_needs_a_world_checkpoint(tiny_checkpoint, capsys: pytest.CaptureFixture[str]) -> None:
    path = tiny_checkpoint("cifar10")
    assert main(["--checkpoint", str(path)]) == 2
    assert "embedded world" in capsys.readouterr().err
