"""The memorisation check: generated samples' nearest training vs held-out images.

Distances are pixel L2 on 32×32 (area-downsampled) images in [0, 1], as RMS per pixel value.
``nn_ratio`` = median NN distance to the training images over median NN distance to held-out images
(equal-size references), so ≈ 1 means no memorisation and ≪ 1 means samples sit on training images.
The figure is ``memorization`` in :mod:`interp.figures.samples`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from interp.core.generation import sample_images
from interp.data.base import to_uint8_image
from interp.io.checkpoint import LoadedGAN

NN_SIZE = 32


def _flat32(images: np.ndarray | torch.Tensor, size: int = NN_SIZE, batch: int = 2048) -> torch.Tensor:
    """float32 (N, 3·size²) in [0, 1] of uint8 or [-1, 1] float images (N, 3, S, S), area-downsampled."""
    outs = []
    for s in range(0, len(images), batch):
        x = images[s : s + batch]
        x = torch.from_numpy(np.array(x)) if not torch.is_tensor(x) else x
        x = x.float() / 255.0 if x.dtype == torch.uint8 else (x.float() + 1) / 2
        if x.shape[-1] != size:
            x = F.interpolate(x, size=(size, size), mode="area")
        outs.append(x.flatten(1))
    return torch.cat(outs)


def nearest_neighbours(queries: np.ndarray | torch.Tensor, reference: np.ndarray | torch.Tensor,
                       size: int = NN_SIZE, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """(distance, index) of each query's nearest reference image: RMS pixel difference on
    ``size``×``size`` downsampled images in [0, 1] (float64 (N,), int64 (N,))."""
    q = _flat32(queries, size).double()
    best_d = torch.full((len(q),), float("inf"), dtype=torch.float64)
    best_i = torch.zeros(len(q), dtype=torch.int64)
    qq = (q * q).sum(1, keepdim=True)
    for s in range(0, len(reference), chunk):
        r = _flat32(reference[s : s + chunk], size).double()
        d2 = qq + (r * r).sum(1)[None] - 2 * q @ r.T
        d, i = d2.min(1)
        better = d < best_d
        best_d[better], best_i[better] = d[better], i[better] + s
    dim = q.shape[1]
    return (best_d.clamp_min(0) / dim).sqrt().numpy(), best_i.numpy()


def nn_ratio(generated: np.ndarray | torch.Tensor, train: np.ndarray | torch.Tensor,
             heldout: np.ndarray | torch.Tensor) -> dict[str, Any]:
    """Median NN distance generated→train over generated→held-out (reference sets of equal size)."""
    if len(train) != len(heldout):
        raise ValueError(f"train ({len(train)}) and held-out ({len(heldout)}) references must be the same size")
    d_tr, i_tr = nearest_neighbours(generated, train)
    d_ho, i_ho = nearest_neighbours(generated, heldout)
    med_tr, med_ho = float(np.median(d_tr)), float(np.median(d_ho))
    return {"nn_ratio": med_tr / med_ho if med_ho > 0 else float("nan"), "median_nn_train": med_tr,
            "median_nn_heldout": med_ho, "d_train": d_tr, "i_train": i_tr, "d_heldout": d_ho, "i_heldout": i_ho}


@dataclass
class MemoData:
    generated: np.ndarray      # uint8 (k, 3, S, S) the shown samples
    nn_train: np.ndarray       # uint8 (k, 3, S, S) their nearest training images
    nn_heldout: np.ndarray     # uint8 (k, 3, S, S) their nearest held-out images
    d_train: np.ndarray        # (k,)
    d_heldout: np.ndarray      # (k,)
    numbers: dict[str, Any]


def compute_memorization(gan: LoadedGAN, train: np.ndarray, heldout: np.ndarray, n: int, seed: int = 0,
                         n_show: int = 10) -> MemoData:
    """NN distances of ``n`` samples to both reference sets; shows the ``n_show`` samples closest to a
    training image (the most suspicious ones)."""
    fake = to_uint8_image(sample_images(gan.generator, n, seed)).numpy()
    r = nn_ratio(fake, train, heldout)
    order = np.argsort(r["d_train"])[:n_show]
    numbers = {k: round(v, 5) for k, v in r.items() if k in ("nn_ratio", "median_nn_train", "median_nn_heldout")}
    numbers.update({"min_nn_train": round(float(r["d_train"].min()), 5),
                    "min_nn_heldout": round(float(r["d_heldout"].min()), 5),
                    "share_closer_to_train": round(float(np.mean(r["d_train"] < r["d_heldout"])), 4),
                    "n_generated": n, "n_reference": len(train), "distance": f"rms pixel L2, {NN_SIZE}x{NN_SIZE}, [0,1]"})
    return MemoData(fake[order], train[r["i_train"][order]], heldout[r["i_heldout"][order]],
                    r["d_train"][order], r["d_heldout"][order], numbers)
