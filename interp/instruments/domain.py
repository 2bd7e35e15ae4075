"""Where an instrument's numbers are valid: a description of its training domain, and the check.

    domain = fit_domain(net, real_u8)                  # held-out renders of the instrument's world
    check = check_domain(domain, net, fake)            # fake: float (N, 3, S, S) in [-1, 1]
    check.in_domain, check.distance                    # False, 0.93: 93% of the samples lie outside

The description is the distribution of the instrument's own features (``net.features``)
on held-out renders of its world, clean and corrupted as generators corrupt theirs
(:func:`interp.instruments.degrade.degraded_copy`): their mean and a shrunk (Ledoit-Wolf) covariance.
A sample lies *inside* when its squared Mahalanobis distance is at most the ``quantile`` (99%) of those
renders' own distances (fitted on one half of the renders, the threshold taken on the other half). The
**domain distance** of a set of images is the share of its samples that lie outside; the set is **in
domain** when that share is at most ``max_outside`` (0.5). Measured (BENCHMARKS.md, "Instrument
domains"): unseen renders 0.4-2.4% outside, clean or degraded; samples of genuine generators of the
world 0.2-24% (rooms default model 23%, faces reference run at epochs 1, 5 and 9: 24%, 2.8%, 0.2%);
an epoch-1 rooms model's blobs 100%; renders of the other world 95-99%, CIFAR-10 photos 91-98%, noise
100%. The cut at one half leaves a margin of about two on either side. The small quick-mode
instruments (tests, smoke runs) separate worse: the quick face net's domain (from 1,000 renders) puts
only 55% of rooms renders outside, so quick runs' flags are weak evidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from interp.instruments.degrade import degraded_copy
from interp.instruments.segmenter import apply_batched
from interp.io.tensorfile import read_tensor_file, write_tensor_file

QUANTILE = 0.99
MAX_OUTSIDE = 0.5


@dataclass(frozen=True)
class Domain:
    """mean (D,), precision (D, D) (inverse of the shrunk covariance), the squared-distance threshold."""

    mean: torch.Tensor
    precision: torch.Tensor
    threshold: float
    max_outside: float = MAX_OUTSIDE
    n_calibration: int = 0

    def squared_distances(self, features: torch.Tensor) -> torch.Tensor:
        """(N, D) features -> (N,) squared Mahalanobis distances."""
        d = features.double() - self.mean.double()
        return ((d @ self.precision.double()) * d).sum(1)

    def tensors(self) -> dict[str, torch.Tensor]:
        return {"mean": self.mean.float().contiguous(), "precision": self.precision.float().contiguous()}

    def meta(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "max_outside": self.max_outside, "n_calibration": self.n_calibration,
                "quantile": QUANTILE}


@dataclass(frozen=True)
class DomainCheck:
    """The verdict on one set of images: share outside the domain and whether that is acceptable."""

    in_domain: bool
    distance: float  # share of samples outside the instrument's domain, in [0, 1]
    max_outside: float
    n: int

    def as_metrics(self) -> dict[str, Any]:
        """The keys every instrument-measured metrics section carries."""
        return {"in_domain": self.in_domain, "domain_distance": round(self.distance, 4),
                "domain_max_outside": self.max_outside, "domain_n": self.n}


DOMAIN_META_KEY = "interp_domain"


def save_domain(path: Path, domain: Domain, **extra: Any) -> Path:
    """Write ``domain`` (mean and precision as safetensors, the rest + ``extra`` as JSON) atomically."""
    return write_tensor_file(path, domain.tensors(), DOMAIN_META_KEY, {**domain.meta(), **extra})


def load_domain(path: Path) -> Domain:
    """A domain written by :func:`save_domain` (ValueError naming the file if it is not one)."""
    tensors, meta = read_tensor_file(path, DOMAIN_META_KEY, ValueError, "instrument domain")
    return Domain(tensors["mean"], tensors["precision"], float(meta["threshold"]), float(meta["max_outside"]),
                  int(meta["n_calibration"]))


def instrument_features(net: nn.Module, images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """``net.features`` of images (N, 3, S, S) (uint8 or float in [-1, 1]), batched, float64 (N, D)."""
    features = getattr(net, "features", None)
    if not callable(features):
        raise TypeError(f"{type(net).__name__} has no features() to describe its domain with")
    return apply_batched(features, net, images).double()


def fit_domain(net: nn.Module, real_u8: np.ndarray, seed: int = 0, max_outside: float = MAX_OUTSIDE) -> Domain:
    """The domain of ``net`` from held-out real images uint8 (N, 3, S, S) and a degraded copy of them (seed
    ``seed``): mean + Ledoit-Wolf covariance of the features of one half of the images, threshold at the 99%
    quantile of the squared distances of the other half (a threshold taken on the fitting half itself would
    sit too low in high dimension: unseen renders would land outside far more often than 1 in 100)."""
    from sklearn.covariance import LedoitWolf

    feats = torch.cat([instrument_features(net, real_u8), instrument_features(net, degraded_copy(real_u8, seed=seed))])
    fit, calib = feats[0::2], feats[1::2]
    lw = LedoitWolf().fit(fit.numpy())
    mean, precision = torch.from_numpy(lw.location_), torch.from_numpy(lw.get_precision())
    d2 = Domain(mean, precision, 0.0).squared_distances(calib)
    threshold = float(torch.quantile(d2, QUANTILE))
    return Domain(mean.float(), precision.float(), threshold, max_outside, len(feats))


def check_domain(domain: Domain, net: nn.Module, images: np.ndarray | torch.Tensor) -> DomainCheck:
    """Is the set ``images`` (N, 3, S, S) inside the domain of ``net``? (see the module docstring)"""
    if len(images) == 0:
        raise ValueError("check_domain: no images")
    d2 = domain.squared_distances(instrument_features(net, images))
    share = float((d2 > domain.threshold).double().mean())
    return DomainCheck(share <= domain.max_outside, share, domain.max_outside, len(images))


__all__ = ["Domain", "DomainCheck", "MAX_OUTSIDE", "QUANTILE", "check_domain", "fit_domain", "instrument_features",
           "load_domain", "save_domain"]
