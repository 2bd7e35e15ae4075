"""Batched generation: the one way interp turns latents into images.

    images = generate(G, z)                    # z (N, nz) -> float (N, C, S, S) in [-1, 1], on the CPU
    images = sample_images(G, 500, seed=0)     # the same for 500 seeded latents of G's own z law
"""

from __future__ import annotations

import torch
from torch import nn

from interp.core.latent import sample_z
from interp.core.models import Generator
from interp.core.modes import eval_mode


def generate(G: nn.Module, z: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """float images (N, C, S, S) in [-1, 1] = G(z) for z (N, nz), in batches of ``batch_size``.

    G runs in eval mode (each module's mode is restored) without gradients, on G's own device; the
    images come back on the CPU as float32. An empty ``z`` gives an empty (0, ...) tensor."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    dev = next(G.parameters()).device
    with eval_mode(G), torch.no_grad():
        outs = [G(z[i : i + batch_size].to(dev)).float().cpu() for i in range(0, len(z), batch_size)]
    return torch.cat(outs) if outs else torch.zeros(0)


def sample_images(G: Generator, n: int, seed: int = 0, batch_size: int = 256) -> torch.Tensor:
    """``n`` samples float (n, C, S, S) in [-1, 1] of G from ``sample_z(n, G.cfg, seed)``."""
    return generate(G, sample_z(n, G.cfg, seed=seed), batch_size)


__all__ = ["generate", "sample_images"]
