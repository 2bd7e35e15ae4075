"""Latent vectors from a local, seeded generator (never the global RNG).

Like gandissect's ``standard_z_sample``: the first k vectors are the same whatever n is, so a
figure drawn with 16 samples shows the same first 8 as one drawn with 8.
"""

from __future__ import annotations

import numpy as np
import torch

from interp.core.config import ModelConfig


def sample_z(
    n: int,
    nz: int | ModelConfig,
    distribution: str | None = None,
    seed: int = 0,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """``n`` latent vectors, float32 (n, nz); uniform on [-1, 1] or standard normal.

    ``nz`` may be a ModelConfig, in which case ``distribution`` defaults to its ``z_distribution``.
    """
    if isinstance(nz, ModelConfig):
        distribution = distribution or nz.z_distribution
        nz = nz.nz
    distribution = distribution or "normal"
    rng = np.random.default_rng(seed)
    if distribution == "uniform":
        z = rng.uniform(-1.0, 1.0, size=(n, nz))
    elif distribution == "normal":
        z = rng.standard_normal(size=(n, nz))
    else:
        raise ValueError(f"distribution must be 'uniform' or 'normal', got {distribution!r}")
    return torch.from_numpy(z.astype(np.float32)).to(device or "cpu")


def sample_z_torch(
    n: int, cfg: ModelConfig, generator: torch.Generator, device: torch.device | str
) -> torch.Tensor:
    """Fast on-device latent sampling for training, from an explicit torch.Generator."""
    if cfg.z_distribution == "uniform":
        return torch.rand(n, cfg.nz, generator=generator, device=device).mul_(2).sub_(1)
    return torch.randn(n, cfg.nz, generator=generator, device=device)
