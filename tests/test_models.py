"""Both presets, both sizes: shapes, init statistics, layer names and their errors."""

from __future__ import annotations

import pytest
import torch

from interp.core.config import ConfigError, ModelConfig
from interp.core.latent import sample_z
from interp.core.models import Discriminator, Generator, LayerNotFoundError, build_gan


@pytest.mark.parametrize("preset", ["paper", "examples"])
@pytest.mark.parametrize("size", [32, 64])
def test_presets_shapes(preset: str, size: int) -> None:
    cfg = ModelConfig.from_preset(preset, size, ngf=8, ndf=8)
    G, D = build_gan(cfg)
    z = sample_z(3, cfg, seed=1)
    x = G(z)
    assert x.shape == (3, 3, size, size)
    assert x.abs().max() <= 1.0
    assert D(x).shape == (3,)
    k = 5 if preset == "paper" else 4
    assert G.get_layer("out.conv").kernel_size == (k, k)
    assert D.get_layer("conv1.conv").kernel_size == (k, k)
    # the penultimate generator layer is at half resolution, the last D conv at 4x4
    feats = {}
    h1 = G.get_layer("penultimate").register_forward_hook(lambda m, i, o: feats.setdefault("g", o))
    h2 = D.get_layer("last_conv").register_forward_hook(lambda m, i, o: feats.setdefault("d", o))
    try:
        D(G(z))
    finally:
        h1.remove(), h2.remove()
    assert feats["g"].shape[-1] == size // 2 and feats["g"].shape[1] == 8
    assert feats["d"].shape[-1] == 4
    if preset == "paper":
        assert isinstance(G.project.linear, torch.nn.Linear) and cfg.z_distribution == "uniform"
        assert z.min() >= -1 and z.max() <= 1
    else:
        assert isinstance(G.project.conv, torch.nn.ConvTranspose2d) and cfg.z_distribution == "normal"


def test_paper_preset_defaults() -> None:
    cfg = ModelConfig.from_preset("paper", 64)
    assert (cfg.ngf, cfg.ndf, cfg.kernel_size) == (128, 128, 5)
    G = Generator(cfg)
    assert G.up1.conv.in_channels == 8 * 128
    ex = ModelConfig.from_preset("examples", 64)
    assert (ex.ngf, ex.ndf, ex.kernel_size) == (64, 64, 4)
    # the PyTorch example's netG has exactly this many parameters
    assert sum(p.numel() for p in Generator(ex).parameters()) == 3_576_704


def test_init_statistics() -> None:
    torch.manual_seed(0)
    G = Generator(ModelConfig.from_preset("examples", 64))
    w = G.up1.conv.weight
    assert abs(w.mean().item()) < 1e-3 and abs(w.std().item() - 0.02) < 1e-3
    assert abs(G.up1.bn.weight.mean().item() - 1) < 0.01 and abs(G.up1.bn.weight.std().item() - 0.02) < 0.01
    assert torch.all(G.up1.bn.bias == 0)


def test_unknown_layer_error_lists_names() -> None:
    D = Discriminator(ModelConfig.from_preset("examples", 32, ndf=4))
    with pytest.raises(LayerNotFoundError) as err:
        D.get_layer("conv9")
    assert "conv9" in str(err.value) and "last_conv" in str(err.value) and "conv3.act" in str(err.value)
    assert D.resolve_layer_name("last_conv") == "conv3.act"


@pytest.mark.parametrize(
    "field,value",
    [("image_size", 48), ("kernel_size", 3), ("projection", "mlp"), ("z_distribution", "cauchy"), ("ngf", 0)],
)
def test_bad_config_names_field(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field):
        ModelConfig.from_preset("examples", **{"image_size": 64, field: value})


def test_unknown_preset_and_field() -> None:
    with pytest.raises(ConfigError, match="preset"):
        ModelConfig.from_preset("dcgan2")
    with pytest.raises(ConfigError, match="colour"):
        ModelConfig.from_dict({"colour": 1})


def test_sample_z_prefix_stable() -> None:
    cfg = ModelConfig.from_preset("paper", 32)
    a, b = sample_z(5, cfg, seed=3), sample_z(50, cfg, seed=3)
    assert torch.equal(a, b[:5])
    assert not torch.equal(sample_z(5, cfg, seed=4), a)
