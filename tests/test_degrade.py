"""The GAN-like corruptions the instruments train with (interp.instruments.degrade)."""

import numpy as np
import pytest
import torch

from interp.instruments.degrade import KINDS, checkerboard, degrade, degraded_copy, gaussian_blur, jpeg_roundtrip


def _images(n: int = 6, size: int = 16, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    smooth = torch.nn.functional.avg_pool2d(torch.rand((n, 3, size, size), generator=g), 3, 1, 1)
    return smooth * 1.6 - 0.8


def test_deterministic_given_the_generator():
    x = _images()
    a = degrade(x, torch.Generator().manual_seed(3), p=0.7)
    b = degrade(x, torch.Generator().manual_seed(3), p=0.7)
    c = degrade(x, torch.Generator().manual_seed(4), p=0.7)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_p_zero_is_the_identity_and_input_is_not_modified():
    x = _images()
    before = x.clone()
    assert torch.equal(degrade(x, torch.Generator().manual_seed(0), p=0.0), x)
    degrade(x, torch.Generator().manual_seed(0), p=1.0)
    assert torch.equal(x, before)


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_alone_changes_every_image_and_stays_in_range(kind):
    x = _images()
    y = degrade(x, torch.Generator().manual_seed(0), p=1.0, kinds=(kind,))
    assert y.shape == x.shape and y.dtype == x.dtype
    assert float(y.min()) >= -1 and float(y.max()) <= 1
    assert bool(((y - x).abs().flatten(1).amax(1) > 1e-3).all())


def test_unknown_kind_is_named():
    with pytest.raises(ValueError, match="sharpen"):
        degrade(_images(), torch.Generator(), kinds=("blur", "sharpen"))


def test_checkerboard_has_period_two_zero_mean_and_the_given_amplitude():
    x = torch.zeros(2, 3, 8, 8)
    y = checkerboard(x, torch.tensor([0.1, 0.05]), torch.Generator().manual_seed(0))
    assert torch.allclose(y[..., 2:, :], y[..., :-2, :]) and torch.allclose(y[..., :, 2:], y[..., :, :-2])
    assert torch.allclose(y.mean(dim=(2, 3)), torch.zeros(2, 3), atol=1e-6)
    assert torch.allclose(y.abs().amax(dim=(1, 2, 3)), torch.tensor([0.1, 0.05]))


def test_blur_keeps_a_constant_image_and_jpeg_at_high_quality_is_close():
    const = torch.full((2, 3, 16, 16), 0.25)
    assert torch.allclose(gaussian_blur(const, torch.tensor([0.5, 1.5])), const, atol=1e-6)
    ramp = torch.linspace(-0.6, 0.6, 32)
    x = torch.stack([ramp.view(1, 32, 1).expand(3, 32, 32),  # smooth ramps: what JPEG keeps
                     (ramp.view(1, 1, 32) * torch.tensor([1.0, 0.5, -0.5]).view(3, 1, 1)).expand(3, 32, 32)])
    hi = jpeg_roundtrip(x, [95, 95])
    lo = jpeg_roundtrip(x, [15, 15])
    assert float((hi - x).abs().mean()) < 0.03
    assert float((lo - x).abs().mean()) > float((hi - x).abs().mean())


def test_degraded_copy_corrupts_every_image_reproducibly():
    u8 = ((_images(10) + 1) * 127.5).round().to(torch.uint8).numpy()
    clean = torch.from_numpy(u8).float() / 127.5 - 1
    a, b = degraded_copy(u8, seed=1), degraded_copy(u8, seed=1)
    assert torch.equal(a, b)
    assert bool(((a - clean).abs().flatten(1).amax(1) > 1e-3).all())
    assert degraded_copy(np.zeros((0, 3, 16, 16), np.uint8)).shape == (0, 3, 16, 16)
