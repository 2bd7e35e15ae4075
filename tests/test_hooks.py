"""record / ablate / channel_means / penultimate_features (interp.core.hooks).

Convention checked here: ``record`` sees the POST-ablation output of a layer (ablation hooks are
prepended), whichever context is entered first.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from interp.core.config import ModelConfig
from interp.core.hooks import LayerNotFoundError, ablate, channel_means, penultimate_features, record
from interp.core.models import Generator


def no_hooks(model: nn.Module) -> bool:
    return all(
        not m._forward_hooks and not m._forward_pre_hooks and not m._backward_hooks
        for m in model.modules()
    )


@pytest.fixture
def net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.Conv2d(3, 2, 1))


@pytest.fixture
def x() -> torch.Tensor:
    return torch.randn(4, 2, 5, 5, generator=torch.Generator().manual_seed(1))


@pytest.fixture(scope="module")
def G() -> Generator:
    torch.manual_seed(0)
    return Generator(ModelConfig.from_preset("examples", 32, ngf=4, ndf=4)).eval()


def test_record_fills_outputs_and_resolves_aliases(G):
    z = torch.randn(3, G.cfg.nz)
    with record(G, ["penultimate", "up1.conv"]) as rec:
        img = G(z)
    assert set(rec) == {"penultimate", "up1.conv"}
    assert rec.dotted["penultimate"] == "up2.act"
    assert rec["penultimate"].shape == (3, 4, 16, 16)
    assert not rec["penultimate"].requires_grad
    assert img.shape == (3, 3, 32, 32)
    assert no_hooks(G)


def test_record_keep_grad(net, x):
    with record(net, ["1"], keep_grad=True) as rec:
        net(x).sum().backward()
    assert rec["1"].requires_grad and rec["1"].grad is not None
    assert rec.calls["1"] == 1


def test_penultimate_features_restores_mode(G):
    z = torch.randn(2, G.cfg.nz)
    f_eval = penultimate_features(G, z)
    G.train()
    try:
        f = penultimate_features(G, z)  # eval mode inside, whatever the caller's mode
        assert G.training and all(m.training for m in G.modules())
    finally:
        G.eval()
    assert f.shape == (2, 4, 16, 16) and not f.requires_grad
    assert torch.equal(f, f_eval)


def test_empty_mask_changes_nothing(net, x):
    ref = net(x)
    with ablate(net, "1", mask=torch.zeros(3)):
        out = net(x)
    with ablate(net, "1", channels=[]):
        out2 = net(x)
    assert torch.equal(out, ref) and torch.equal(out2, ref)


@pytest.mark.parametrize("order", ["record_inside", "record_outside"])
def test_full_mask_gives_replacement_post_ablation(net, x, order):
    r = torch.arange(3.0).reshape(3, 1, 1) + 0.5  # broadcastable to (C, H, W)
    if order == "record_inside":
        with ablate(net, "1", mask=torch.ones(3), replacement=r), record(net, ["1"]) as rec:
            net(x)
    else:
        with record(net, ["1"]) as rec, ablate(net, "1", mask=torch.ones(3), replacement=r):
            net(x)
    assert torch.equal(rec["1"], r.expand(4, 3, 5, 5))
    assert no_hooks(net)


def test_one_channel_changes_only_that_channel(net, x):
    with record(net, ["1"]) as rec:
        net(x)
    clean = rec["1"]
    with ablate(net, "1", [1]), record(net, ["1"]) as rec:
        net(x)
    abl = rec["1"]
    assert torch.equal(abl[:, [0, 2]], clean[:, [0, 2]])
    assert torch.equal(abl[:, 1], torch.zeros_like(abl[:, 1]))
    assert not torch.equal(clean[:, 1], abl[:, 1])


def test_per_location_mask_and_fractional(net, x):
    with record(net, ["0"]) as rec:
        net(x)
    clean = rec["0"]
    mask = torch.zeros(3, 5, 5)
    mask[2, 1:3, 0:4] = 1.0
    mask[0, 4, 4] = 0.25
    with ablate(net, "0", mask=mask, replacement=torch.tensor(7.0)), record(net, ["0"]) as rec:
        net(x)
    expected = clean * (1 - mask) + 7.0 * mask
    assert torch.allclose(rec["0"], expected)
    assert torch.equal(rec["0"][:, 2, 1:3, 0:4], torch.full((4, 2, 4), 7.0))
    untouched = mask == 0
    assert torch.equal(rec["0"][:, untouched], clean[:, untouched])


def test_mean_replacement_uses_means(G):
    zs = [torch.randn(4, G.cfg.nz) for _ in range(2)]
    means = channel_means(G, "penultimate", zs)
    with torch.no_grad():
        with record(G, ["penultimate"]) as rec:
            G(torch.cat(zs))
    assert torch.allclose(means, rec["penultimate"].mean(dim=(0, 2, 3)), atol=1e-6)
    with torch.no_grad(), ablate(G, "penultimate", [0, 3], replacement="mean", means=means):
        f = penultimate_features(G, zs[0])
    assert torch.allclose(f[:, 0], means[0].expand_as(f[:, 0]))
    assert torch.allclose(f[:, 3], means[3].expand_as(f[:, 3]))
    with pytest.raises(ValueError, match="channel_means"):
        with ablate(G, "penultimate", [0], replacement="mean"):
            pass


def test_ablation_changes_generator_output(G):
    z = torch.randn(2, G.cfg.nz)
    with torch.no_grad():
        ref = G(z)
        with ablate(G, "penultimate", list(range(4))):
            out = G(z)
    assert not torch.equal(ref, out)
    assert no_hooks(G)


def test_bad_channel_and_shape_errors(net, x):
    with pytest.raises(IndexError, match=r"out of range .* 3 channels"):
        with ablate(net, "1", [5]):
            net(x)
    with pytest.raises(IndexError, match="negative"):
        with ablate(net, "1", [-1]):
            net(x)
    with pytest.raises(ValueError, match=r"does not match .* 3 channels"):
        with ablate(net, "1", mask=torch.ones(4)):
            net(x)
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        with ablate(net, "1", mask=torch.ones(3, 4, 4)):
            net(x)
    with pytest.raises(ValueError, match=r"\(C,\) or \(C, H, W\)"):
        with ablate(net, "1", mask=torch.ones(3, 5)):
            pass
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        with ablate(net, "1", mask=torch.full((3,), 2.0)):
            pass
    with pytest.raises(ValueError, match="not broadcastable"):
        with ablate(net, "1", [0], replacement=torch.zeros(2, 5, 5)):
            net(x)
    with pytest.raises(ValueError, match="exactly one"):
        with ablate(net, "1"):
            pass
    assert no_hooks(net)


def test_unknown_layer_lists_names(net, G):
    with pytest.raises(LayerNotFoundError, match=r"'0', '1', '2'"):
        with record(net, ["nope"]):
            pass
    with pytest.raises(LayerNotFoundError, match="penultimate"):
        with ablate(G, "nope", [0]):
            pass
    assert no_hooks(net) and no_hooks(G)


def test_no_hooks_leak_after_success_and_error(net, x):
    with record(net, ["0", "1"]), ablate(net, "1", [0]):
        net(x)
    assert no_hooks(net)
    with pytest.raises(RuntimeError, match="boom"):
        with record(net, ["0", "2"]), ablate(net, "1", [0]):
            net(x)
            raise RuntimeError("boom")
    assert no_hooks(net)
