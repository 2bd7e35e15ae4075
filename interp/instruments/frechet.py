"""Fréchet distance between image sets, in the feature space of a net trained on the world's own labels.

No Inception (no downloads): the feature extractor is the instrument of the world itself,
``model.features(images) -> (N, D)``:

* rooms: :class:`~interp.instruments.segmenter.RoomSegmenter` — global-average-pooled activations of
  its three encoder scales and bottleneck (16 + 32 + 64 + 64 = 176 dims);
* faces: :class:`~interp.instruments.face_attributes.FaceAttributeNet` — global-average-pooled
  activations of its five conv stages (32 + 64 + 96 + 128 + 128 = 448 dims).

Pooling every scale (not just the last) keeps the distance sensitive to blur and noise, which the
nets' augmentation teaches their deepest features to ignore. FD values are only comparable within
one extractor; always report them next to the real-vs-real floor (:func:`fd_with_floor`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import scipy.linalg
import torch
import torch.nn as nn

from interp.instruments.segmenter import _batches, apply_batched

Extractor = nn.Module | Callable[[torch.Tensor], torch.Tensor]


def frechet_distance(feats_a: np.ndarray, feats_b: np.ndarray, eps: float = 1e-6) -> float:
    """||mu_a - mu_b||² + Tr(S_a + S_b - 2 (S_a S_b)^½) of features (N, D) and (M, D), float64.

    Standard fixes: if the matrix square root is singular / non-finite, retry with eps·I added to both
    covariances; a small imaginary part of the root is dropped (a large one raises)."""
    a, b = np.asarray(feats_a, np.float64), np.asarray(feats_b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ValueError(f"need two (N, D) feature arrays with N >= 2 and equal D, got {a.shape} and {b.shape}")
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sqrtm's "singular matrix" warning: handled below
        covmean = scipy.linalg.sqrtm(s_a @ s_b)
    if isinstance(covmean, tuple):  # very old scipy returned (sqrtm, errest)
        covmean = covmean[0]
    if not np.isfinite(covmean).all():
        offset = np.eye(len(s_a)) * eps
        covmean = scipy.linalg.sqrtm((s_a + offset) @ (s_b + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3 * max(1.0, np.abs(covmean).max())):
            raise ValueError(f"frechet_distance: sqrtm has a large imaginary part ({np.abs(covmean.imag).max():.3g})")
        covmean = covmean.real
    diff = mu_a - mu_b
    return float(max(diff @ diff + np.trace(s_a) + np.trace(s_b) - 2.0 * np.trace(covmean), 0.0))


def extract_features(extractor: Extractor, images: np.ndarray | torch.Tensor, batch_size: int = 256) -> np.ndarray:
    """float64 features (N, D) of images float (N, 3, S, S) in [-1, 1] (or uint8): ``extractor.features``
    for instrument nets (run in eval mode, no grad), else ``extractor(batch)``."""
    features = getattr(extractor, "features", None)  # instrument nets: pooled activations (N, D)
    fn: Callable[[torch.Tensor], torch.Tensor] = extractor if features is None else features
    if isinstance(extractor, nn.Module):
        return apply_batched(fn, extractor, images, batch_size).double().numpy()
    with torch.no_grad():
        outs = [fn(x) for x in _batches(images, batch_size)]
    return torch.cat(outs).double().numpy()


def fd_between(extractor: Extractor, images_a: np.ndarray | torch.Tensor, images_b: np.ndarray | torch.Tensor) -> float:
    """Fréchet distance between two image sets (N, 3, S, S) and (M, 3, S, S) in the extractor's features."""
    return frechet_distance(extract_features(extractor, images_a), extract_features(extractor, images_b))


def fd_with_floor(extractor: Extractor, real_a: np.ndarray | torch.Tensor, real_b: np.ndarray | torch.Tensor,
                  generated: np.ndarray | torch.Tensor) -> dict[str, float]:
    """{"fd": FD(generated, real_a), "fd_floor": FD(real_b, real_a)} plus :func:`sample_diversity` of the
    generated set against ``real_b`` (``near_duplicate_share``, ``near_duplicate_share_real``,
    ``nn_distance_ratio``): real_b must be real images disjoint from real_a and as many as ``generated``, so
    that the floor and the diversity carry the same finite-sample bias."""
    if len(real_b) != len(generated):
        raise ValueError(f"real_b ({len(real_b)}) and generated ({len(generated)}) must be the same size")
    fa, fb, fg = (extract_features(extractor, x) for x in (real_a, real_b, generated))
    return {"fd": frechet_distance(fg, fa), "fd_floor": frechet_distance(fb, fa), **sample_diversity(fg, fb)}


def nearest_neighbour_distances(features: np.ndarray, relative: bool = False) -> np.ndarray:
    """(N,) Euclidean distance of each row of ``features`` (N, D) to its nearest *other* row; ``relative``:
    divided by the median distance between two rows of the set (so that scaling the set changes nothing)."""
    f = torch.as_tensor(np.asarray(features, np.float64))
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"need (N, D) features with N >= 2, got {tuple(f.shape)}")
    d = torch.cdist(f, f)
    scale = d[~torch.eye(len(f), dtype=torch.bool)].median() if relative else torch.tensor(1.0, dtype=d.dtype)
    d.fill_diagonal_(float("inf"))
    return (d.min(dim=1).values / scale).numpy()


def sample_diversity(generated: np.ndarray, real: np.ndarray, quantile: float = 0.05) -> dict[str, float]:
    """How often a generator repeats itself, from features (N, D) of N generated and N real images.

    Both sets are standardised with the real set's mean and std per dimension. Each image's nearest-neighbour
    distance within its own set is divided by the median distance between two images of that set, so that a
    generator whose samples vary a little less overall is not mistaken for one that repeats itself.
    ``near_duplicate_share``: the share of generated images whose relative distance is below the ``quantile``
    quantile of the real images' (the real set scores ``quantile`` by construction; a generator that draws
    one layout again and again scores far above it). ``nn_distance_ratio``: median (absolute)
    nearest-neighbour distance among the generated over the same among the real (below 1: the samples
    crowd together, the spread is smaller). The sets must be the same size, since NN distances shrink as a
    set grows."""
    g, r = np.asarray(generated, np.float64), np.asarray(real, np.float64)
    if g.shape != r.shape:
        raise ValueError(f"generated {g.shape} and real {r.shape} features must have the same shape")
    mu, sd = r.mean(0), r.std(0) + 1e-8
    g, r = (g - mu) / sd, (r - mu) / sd
    threshold = float(np.quantile(nearest_neighbour_distances(r, relative=True), quantile))
    return {"near_duplicate_share": float(np.mean(nearest_neighbour_distances(g, relative=True) < threshold)),
            "near_duplicate_share_real": float(quantile),
            "nn_distance_ratio": float(np.median(nearest_neighbour_distances(g)) / np.median(nearest_neighbour_distances(r)))}


__all__ = ["frechet_distance", "extract_features", "fd_between", "fd_with_floor", "nearest_neighbour_distances",
           "sample_diversity"]
