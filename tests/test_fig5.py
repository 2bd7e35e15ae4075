"""Fig. 5 (guided backprop of D's last-conv features): shapes, energy measure, hooks, CLI end to end.

Tiny 64-px D (ndf = 4), 16 rooms renders, data cache in a tmp dir."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from interp.analysis.filters import class_lift, compute_fig5, object_energy
from interp.cli.figures import main
from interp.core.config import ModelConfig
from interp.core.models import Discriminator, Generator
from interp.data import open_dataset
from interp.figures import read_metrics
from interp.figures.discriminator_filters import gbp_to_uint8, plot_fig5
from interp.io.checkpoint import load_gan, save_checkpoint


@pytest.fixture
def tiny_ckpt(tmp_path):
    cfg = ModelConfig.from_preset("examples", 64, ngf=4, ndf=4)
    torch.manual_seed(0)
    G, D = Generator(cfg), Discriminator(cfg)
    path = tmp_path / "ck" / "final"
    save_checkpoint(path, G, D, cfg, {"dataset": {"name": "rooms"}})
    return tmp_path / "ck" / "final.safetensors"


def _hooks(model: torch.nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._backward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def test_object_energy_hand_made():
    mask = np.zeros((2, 8, 8), bool)
    mask[:, 2:5, 3:7] = True                       # 12 of 64 pixels
    g = np.zeros((2, 3, 8, 8))
    g[0, :, 3, 4] = 1.0                            # all energy inside the object
    g[1] = 0.7                                     # uniform
    e = object_energy(g, mask)
    assert e[0] == pytest.approx(1.0)
    assert e[1] == pytest.approx(12 / 64)
    assert np.isnan(object_energy(np.zeros((1, 3, 8, 8)), mask[:1]))[0]
    maps = np.zeros((2, 8, 8), np.int64)
    maps[:, 2:5, 3:7] = 2
    energy, pixel = class_lift(g, maps, 3)
    assert pixel == pytest.approx([52 / 64, 0, 12 / 64])
    assert energy == pytest.approx([(0 + 52 / 64) / 2, 0, (1 + 12 / 64) / 2])


def test_gbp_to_uint8_grey_is_zero():
    g = np.zeros((2, 3, 4, 4))
    g[0, 0, 0, 0] = 5.0
    u = gbp_to_uint8(g, pct=100)
    assert u.dtype == np.uint8 and u.shape == (2, 3, 4, 4)
    assert u[1].min() == u[1].max() == 128 and u[0, 0, 0, 0] == 255


def test_compute_fig5_tiny(cache, tiny_ckpt):
    gan = load_gan(tiny_ckpt)
    ds = open_dataset("rooms", split="test", n=16, image_size=64)
    images, maps = np.asarray(ds.uint8_images()), np.asarray(ds.maps())
    training_before = [m.training for m in gan.D.modules()]
    rng_before = torch.get_rng_state()
    data = compute_fig5(gan, images, maps, ds.class_names, seed=3, n_filters=6, k=4)
    assert torch.equal(torch.get_rng_state(), rng_before)      # random D seeded without touching global RNG
    assert _hooks(gan.D) == 0
    assert [m.training for m in gan.D.modules()] == training_before
    assert len(data.sets) == 2
    for fs in data.sets:
        assert len(fs.filters) == 6 and len(set(fs.filters)) == 6
        assert fs.index.shape == (6, 4) and fs.response.shape == (6, 4)
        assert fs.grads.shape == (6, 4, 3, 64, 64)
        assert all(len(set(row)) == 4 for row in fs.index.tolist())
        assert ((fs.object_energy >= 0) & (fs.object_energy <= 1)).all()
        assert ((fs.object_pixel_share >= 0) & (fs.object_pixel_share <= 1)).all()
        assert len(fs.preferred) == 6
        # top-k really are the top responses, in decreasing order
        assert (np.diff(fs.response, axis=1) <= 1e-6).all()
    for key in ("object_energy_trained", "object_energy_random"):
        assert 0 <= data.numbers[key] <= 1
    fig = plot_fig5(data, "test")
    assert fig.get_axes()


def test_compute_fig5_without_maps(cache, tiny_ckpt):
    gan = load_gan(tiny_ckpt)
    images = np.asarray(open_dataset("rooms", split="test", n=8, image_size=64).uint8_images())
    data = compute_fig5(gan, images, None, seed=0, k=2)
    assert data.note and "object_energy_trained" not in data.numbers
    assert data.sets[0].object_energy is None


def test_cli_fig5_end_to_end(tmp_path, cache, tiny_ckpt, monkeypatch):
    import interp.figures.discriminator_filters as fig5mod

    monkeypatch.setitem(fig5mod.N_IMAGES, True, 16)
    out = tmp_path / "figs"
    assert main(["--only", "fig5", "--quick", "--checkpoint", str(tiny_ckpt), "--out", str(out),
                 "--no-progress"]) == 0
    assert (out / "fig5_guided_backprop.png").stat().st_size > 10_000
    sec = read_metrics(out / "metrics.json")["fig5"]
    for key in ("object_energy_trained", "object_energy_random", "checkpoint", "data", "seed"):
        assert key in sec
    assert sec["data"] == "rooms"
    assert 0 <= sec["object_energy_trained"] <= 1 and 0 <= sec["object_energy_random"] <= 1
    assert len(sec["preferred_class_trained"]) == 6


def test_fig5_on_a_foreign_theano_svhn_discriminator(tmp_path, monkeypatch):
    """The authors' 32x32 SVHN D format (Theano .npy files) probed on SVHN test digits written in
    the real .mat format: the figure is drawn, and object energy is null with a note (no masks)."""
    import scipy.io
    from test_foreign_checkpoints import theano_params, write_theano

    gen, dis = theano_params(nc=3)
    write_theano(tmp_path / "authors", "svhn", gen, dis)
    x = np.random.default_rng(0).integers(0, 256, (32, 32, 3, 40), dtype=np.uint8)
    y = (np.arange(40) % 10 + 1).reshape(-1, 1).astype(np.uint8)
    scipy.io.savemat(tmp_path / "test_32x32.mat", {"X": x, "y": y})
    monkeypatch.setenv("INTERP_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "figs"
    ckpt = next((tmp_path / "authors").glob("svhn_discrim_params*"))
    rc = main(["--only", "fig5", "--quick", "--checkpoint", str(ckpt), "--data", "svhn",
               "--data-root", str(tmp_path), "--out", str(out), "--no-progress"])
    assert rc == 0
    assert (out / "fig5_guided_backprop.png").is_file()
    fig5 = read_metrics(out / "metrics.json")["fig5"]
    assert fig5["object_energy_trained"] is None and fig5["object_energy_random"] is None
    assert "note" in fig5 and "svhn test images" in fig5["images"]
