"""The corruptions a DCGAN's samples show, for training instruments that still read them.

    x = degrade(x, generator)                        # float (N, 3, S, S) in [-1, 1] -> same shape
    x = degrade(x, generator, p=1.0, kinds=("jpeg",))
    x_test = degraded_copy(images_u8, seed=0)        # a fixed degraded held-out set, uint8 -> float

Kinds (each applied to an image with probability ``p``, in this order, with a strength drawn per image):

* ``colour``: brightness / contrast change, per-channel gain and offset (the tints of weak generators);
* ``blur``: gaussian blur, sigma 0.3-1.5 px (an under-trained G's soft edges);
* ``checkerboard``: the period-2 pattern of a stride-2 transposed convolution, a random 2x2 tile per
  channel, amplitude up to 0.12;
* ``noise``: gaussian pixel noise, std up to 0.1;
* ``jpeg``: a JPEG round trip at quality 15-60 (block artefacts; PIL's encoder).

Everything is deterministic given the ``torch.Generator``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from interp.data.base import to_float_image

KINDS: tuple[str, ...] = ("colour", "blur", "checkerboard", "noise", "jpeg")


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Blur each image of x (N, C, H, W) with its own sigma (N,) (sigma ~0 = identity); separable, reflect pad."""
    n, c, h, w = x.shape
    r = 2 if float(sigma.max()) <= 1.1 else 3
    t = torch.arange(-r, r + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-0.5 * (t[None] / sigma.to(x.dtype).clamp_min(1e-3)[:, None]) ** 2)  # (N, 2r+1)
    k = k / k.sum(1, keepdim=True)
    k = k.repeat_interleave(c, 0)  # (N*C, 2r+1)
    y = F.pad(x.reshape(1, n * c, h, w), (r, r, r, r), mode="reflect")
    y = F.conv2d(y, k[:, None, None, :], groups=n * c)
    y = F.conv2d(y, k[:, None, :, None], groups=n * c)
    return y.reshape(n, c, h, w)


def jpeg_roundtrip(x: torch.Tensor, quality: Sequence[int]) -> torch.Tensor:
    """Encode and decode each image of x (N, 3, H, W) in [-1, 1] as JPEG at its own quality (N ints)."""
    u8 = ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    out = []
    for img, q in zip(u8, quality, strict=True):
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=int(q))
        buf.seek(0)
        out.append(np.asarray(Image.open(buf).convert("RGB")))
    dec = torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2)
    return to_float_image(dec).to(x.device, x.dtype)


def checkerboard(x: torch.Tensor, amplitude: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """x (N, C, H, W) plus a period-2 pattern: a random zero-mean 2x2 tile per image and channel, scaled so
    its largest entry is ``amplitude`` (N,), tiled over the image (H, W even)."""
    n, c, h, w = x.shape
    tile = torch.randn((n, c, 2, 2), generator=generator)
    tile = tile - tile.mean(dim=(2, 3), keepdim=True)
    tile = tile / tile.abs().amax(dim=(1, 2, 3), keepdim=True).clamp_min(1e-6)
    pattern = tile.repeat(1, 1, h // 2 + 1, w // 2 + 1)[:, :, :h, :w]
    return x + amplitude.view(n, 1, 1, 1) * pattern.to(x.device, x.dtype)


def degrade(x: torch.Tensor, generator: torch.Generator, p: float = 0.5,
            kinds: Sequence[str] = KINDS) -> torch.Tensor:
    """GAN-like corruption of images x (N, 3, S, S) in [-1, 1]: each kind of :data:`KINDS` named in ``kinds``
    is applied to each image with probability ``p`` at a random strength. Returns a new tensor in [-1, 1]."""
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown degradation(s) {unknown}; choose from {list(KINDS)}")
    n = len(x)

    def u(lo: float, hi: float, *shape: int) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand((n, *shape), generator=generator)

    def on() -> torch.Tensor:  # (N,) bool; drawn for every kind so that the stream does not depend on ``kinds``
        return torch.rand(n, generator=generator) < p

    x = x.clone()
    # colour: contrast about the image mean, brightness, per-channel gain/offset
    mask, contrast, bright = on(), u(0.75, 1.25, 1, 1, 1), u(-0.15, 0.15, 1, 1, 1)
    gain, offset = u(0.88, 1.12, 3, 1, 1), u(-0.08, 0.08, 3, 1, 1)
    if "colour" in kinds and bool(mask.any()):
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        shifted = ((x - mean) * contrast + mean + bright) * gain + offset
        x = torch.where(mask[:, None, None, None], shifted, x)
    mask, sigma = on(), u(0.3, 1.5)
    if "blur" in kinds and bool(mask.any()):
        x = torch.where(mask[:, None, None, None], gaussian_blur(x, torch.where(mask, sigma, 1e-3)), x)
    mask, amp = on(), u(0.02, 0.12)
    if "checkerboard" in kinds and bool(mask.any()):
        x = torch.where(mask[:, None, None, None], checkerboard(x, amp, generator), x)
    mask, std = on(), u(0.01, 0.1)
    noise = torch.randn(x.shape, generator=generator)
    if "noise" in kinds:
        x = x + (mask.float() * std)[:, None, None, None] * noise.to(x.device, x.dtype)
    mask, quality = on(), torch.randint(15, 61, (n,), generator=generator)
    if "jpeg" in kinds and bool(mask.any()):
        idx = mask.nonzero().flatten()
        x[idx] = jpeg_roundtrip(x[idx], quality[idx].tolist())
    return x.clamp(-1, 1)


def augment_photometric(x: torch.Tensor, generator: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """The lighter augmentation the Fréchet feature nets train with (instrument config version 2): colour
    jitter (brightness, contrast, per-channel gain), gaussian blur (sigma 0.3-1.1 px) and gaussian noise (std
    up to 0.08), each with probability ``p``, on images (N, 3, S, S) in [-1, 1]. A feature space that should
    *see* a generator's artefacts must not learn to ignore them, so these nets never saw checkerboards or
    JPEG blocks. Returns a new tensor clamped to [-1, 1]."""
    n = len(x)

    def u(lo: float, hi: float, *shape: int) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand((n, *shape), generator=generator)

    def on() -> torch.Tensor:
        return (torch.rand(n, generator=generator) < p).float()

    j = on()[:, None, None, None]
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    jittered = (x - mean) * u(0.8, 1.2, 1, 1, 1) + mean + u(-0.12, 0.12, 1, 1, 1)
    jittered = jittered * u(0.92, 1.08, 3, 1, 1) + u(-0.04, 0.04, 3, 1, 1)
    x = j * jittered + (1 - j) * x
    sigma = on() * u(0.3, 1.1)
    if bool((sigma > 0).any()):
        x = torch.where((sigma > 0)[:, None, None, None], gaussian_blur(x, sigma), x)
    x = x + on()[:, None, None, None] * u(0.0, 0.08, 1, 1, 1) * torch.randn(x.shape, generator=generator)
    return x.clamp(-1, 1)


def augment(x: torch.Tensor, generator: torch.Generator, p: float, kinds: Sequence[str] | None) -> torch.Tensor:
    """The training augmentation of an instrument: :func:`degrade` with ``kinds``, or, with ``kinds`` None,
    the lighter :func:`augment_photometric` (the Fréchet feature nets)."""
    return augment_photometric(x, generator, p) if kinds is None else degrade(x, generator, p, kinds)


def degraded_copy(images_u8: np.ndarray, seed: int = 0, p: float = 0.5, batch_size: int = 256) -> torch.Tensor:
    """A fixed degraded copy float (N, 3, S, S) of uint8 images (N, 3, S, S): :func:`degrade` with a
    generator seeded by ``seed``, every image corrupted by at least one kind (an image the draw left clean is
    given the JPEG round trip). The held-out "degraded" accuracy of an instrument is measured on this."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for s in range(0, len(images_u8), batch_size):
        x = to_float_image(torch.from_numpy(np.array(images_u8[s : s + batch_size])))
        y = degrade(x, gen, p)
        same = (y - x.clamp(-1, 1)).abs().flatten(1).amax(1) < 1e-6
        if bool(same.any()):
            idx = same.nonzero().flatten()
            y[idx] = jpeg_roundtrip(x[idx], [40] * len(idx))
        out.append(y)
    return torch.cat(out) if out else torch.zeros((0, *images_u8.shape[1:]))


__all__ = ["KINDS", "augment", "augment_photometric", "checkerboard", "degrade", "degraded_copy", "gaussian_blur", "jpeg_roundtrip"]
