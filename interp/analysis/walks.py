"""Latent walks (paper Fig. 4): interpolation between latent points and the walk's numbers.

``walk_latents`` chains anchor points (linear, or ``slerp``: spherical interpolation of the direction
with the norm interpolated linearly); :func:`compute_latent_walks` generates every frame of a fine
grid, measures the pixel L2 step between consecutive frames (``max_step_ratio`` = largest step over
the mean step of the same walk, worst walk) and, with ``curve_fn``, an instrument's readings along
the walk (rooms: window / bed fractions, faces: smiling / eyeglasses). The figure is
:mod:`interp.figures.latent_walk`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch

from interp.core.config import ModelConfig
from interp.core.generation import generate
from interp.core.latent import sample_z
from interp.data.base import to_uint8_image

if TYPE_CHECKING:  # the instruments are imported lazily, where used
    from interp.instruments import FaceAttributeNet

CurveFn = Callable[[torch.Tensor], dict[str, np.ndarray]]  # images (N, C, S, S) -> {name: (N,) value per image}


def lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """(T, nz) points (1 − t)·a + t·b; t = 0 gives a and t = 1 gives b exactly."""
    t = t.to(torch.float64)[:, None]
    out = ((1 - t) * a.double() + t * b.double()).to(a.dtype)
    out[t[:, 0] == 0] = a
    out[t[:, 0] == 1] = b
    return out


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """(T, nz) spherical interpolation of the directions of a and b, norm interpolated linearly
    (so ‖z(t)‖ lies between ‖a‖ and ‖b‖); falls back to lerp for (anti-)parallel vectors."""
    a64, b64, t64 = a.double(), b.double(), t.to(torch.float64)[:, None]
    na, nb = a64.norm(), b64.norm()
    ua, ub = a64 / na, b64 / nb
    omega = torch.arccos((ua * ub).sum().clamp(-1, 1))
    if omega.abs() < 1e-6 or (np.pi - omega).abs() < 1e-6:
        return lerp(a, b, t)
    so = torch.sin(omega)
    u = (torch.sin((1 - t64) * omega) / so) * ua + (torch.sin(t64 * omega) / so) * ub
    u = u / u.norm(dim=1, keepdim=True)
    out = (u * ((1 - t64) * na + t64 * nb)).to(a.dtype)
    out[t64[:, 0] == 0] = a
    out[t64[:, 0] == 1] = b
    return out


INTERPOLATIONS = {"linear": lerp, "slerp": slerp}


def walk_latents(anchors: torch.Tensor, steps: int, method: str = "linear") -> torch.Tensor:
    """Latents (R, (P − 1)·steps + 1, nz) through anchors (R, P, nz), ``steps`` frames per segment."""
    if method not in INTERPOLATIONS:
        raise ValueError(f"method must be one of {sorted(INTERPOLATIONS)}, got {method!r}")
    fn = INTERPOLATIONS[method]
    t = torch.arange(steps, dtype=torch.float64) / steps
    rows = []
    for row in anchors:
        segs = [fn(row[k], row[k + 1], t) for k in range(len(row) - 1)]
        rows.append(torch.cat([*segs, row[-1:]]))
    return torch.stack(rows)


@dataclass
class WalkData:
    frames: np.ndarray                 # uint8 (R, (P-1)*steps + 1, 3, S, S): shown frames
    z: torch.Tensor                    # (R, (P-1)*measure_steps + 1, nz): measured latents
    anchors: torch.Tensor              # (R, P, nz)
    step_l2: np.ndarray                # (R, (P-1)*measure_steps): pixel L2 of consecutive measured frames
    step_ratio: np.ndarray             # (R,) max step / mean step per walk
    max_step_ratio: float
    steps: int
    measure_steps: int
    method: str
    curves: dict[str, np.ndarray] = field(default_factory=dict)   # name -> (R, n_measured)
    anchor_images: torch.Tensor | None = None                      # float (R, P, 3, S, S) of anchors

    @property
    def n_points(self) -> int:
        return self.anchors.shape[1]


@torch.no_grad()
def compute_latent_walks(G: torch.nn.Module, cfg: ModelConfig, n_rows: int = 6, n_points: int = 9, steps: int = 4,
                         measure_steps: int = 16, method: str = "linear", seed: int = 0,
                         curve_fn: CurveFn | None = None) -> WalkData:
    """Generate ``n_rows`` walks; ``curve_fn(images float (N, 3, S, S)) -> {name: (N,) array}`` adds
    per-frame curves (e.g. window / bed fractions)."""
    if measure_steps % steps:
        raise ValueError(f"measure_steps ({measure_steps}) must be a multiple of steps ({steps})")
    if n_points < 2 or steps < 1:
        raise ValueError("need n_points >= 2 and steps >= 1")
    anchors = sample_z(n_rows * n_points, cfg, seed=seed).view(n_rows, n_points, -1)
    z = walk_latents(anchors, measure_steps, method)
    n_meas = z.shape[1]
    x = generate(G, z.reshape(-1, z.shape[-1])).view(n_rows, n_meas, *cfg_shape(cfg))
    diffs = (x[:, 1:] - x[:, :-1]).flatten(2).double().norm(dim=2).numpy()
    ratio = diffs.max(1) / np.maximum(diffs.mean(1), 1e-12)
    frames = to_uint8_image(x[:, :: measure_steps // steps]).numpy()
    curves = {}
    if curve_fn is not None:
        got = curve_fn(x.reshape(-1, *x.shape[2:]))
        curves = {k: np.asarray(v, np.float64).reshape(n_rows, n_meas) for k, v in got.items()}
    return WalkData(frames=frames, z=z, anchors=anchors, step_l2=diffs, step_ratio=ratio,
                    max_step_ratio=float(ratio.max()), steps=steps, measure_steps=measure_steps, method=method,
                    curves=curves, anchor_images=x[:, ::measure_steps])


def cfg_shape(cfg: ModelConfig) -> tuple[int, int, int]:
    return (cfg.nc, cfg.image_size, cfg.image_size)


def rooms_curves(segmenter: torch.nn.Module, class_names: tuple[str, ...],
                 names: Sequence[str] = ("window", "bed")) -> CurveFn:
    """A ``curve_fn`` giving the segmenter's per-image pixel fraction of each class in ``names``."""
    from interp.instruments import segment

    def fn(images: torch.Tensor) -> dict[str, np.ndarray]:
        maps = segment(segmenter, images)
        return {n: (maps == class_names.index(n)).mean(axis=(1, 2)) for n in names}

    return fn


def faces_curves(attribute_net: FaceAttributeNet, names: Sequence[str] = ("smiling", "eyeglasses")) -> CurveFn:
    """A ``curve_fn`` giving the attribute net's probabilities along the walk."""
    from interp.instruments import predict_attributes

    def fn(images: torch.Tensor) -> dict[str, np.ndarray]:
        pred = predict_attributes(attribute_net, images)
        return {n: pred[n] for n in names if n in pred}

    return fn
