"""GAN Dissection (Bau et al. 2019) on a DCGAN generator: which units draw which class, and what happens
when they are dropped.

    acts = layer_activations(G, "up2.act", z)                 # (N, C, h, w)
    iou = unit_class_iou(acts, class_maps, n_classes)          # (C units, K classes), gandissect's way
    top = top_units(iou, k=5)                                   # per class, units by IoU
    curve = class_removal(G, "up2.act", z, units, meter, cls)   # class share after dropping the top k units

Unit × class IoU (``netdissect/dissection.py``): each unit's activation map is upsampled (bilinear) to the
image size and thresholded at the unit's ``quantile`` (0.99) over all samples and pixels; the IoU with each
class mask is summed over the whole set: Σ|A ∩ M| / Σ|A ∪ M|. Ablation sets a unit to zero at every
location (``interp.core.hooks.ablate``), the paper's Fig. 6 operation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from interp.analysis.forget import generate as generate_ablated
from interp.core.hooks import record
from interp.core.modes import eval_mode


def layer_activations(G: nn.Module, layer: str, z: torch.Tensor, batch_size: int = 250) -> torch.Tensor:
    """Activations (N, C, h, w) of ``layer`` for latents ``z`` (N, nz), eval mode, no gradients."""
    out = []
    with torch.no_grad(), eval_mode(G), record(G, layer) as rec:
        for s in range(0, len(z), batch_size):
            G(z[s : s + batch_size])
            out.append(rec[layer].cpu())
    return torch.cat(out)


def unit_thresholds(acts: torch.Tensor, quantile: float = 0.99, max_values: int = 2_000_000,
                    seed: int = 0) -> torch.Tensor:
    """Per unit the ``quantile`` of its activations over samples and locations (C,); a seeded subsample of
    at most ``max_values`` values per unit keeps it cheap."""
    flat = acts.transpose(0, 1).flatten(1).float()  # (C, N·h·w)
    if flat.shape[1] > max_values:
        idx = torch.randperm(flat.shape[1], generator=torch.Generator().manual_seed(seed))[:max_values]
        flat = flat[:, idx]
    return torch.quantile(flat, quantile, dim=1)


def unit_class_iou(acts: torch.Tensor, class_maps: np.ndarray | torch.Tensor, n_classes: int,
                   thresholds: torch.Tensor | None = None, quantile: float = 0.99,
                   batch_size: int = 64) -> torch.Tensor:
    """IoU (C, K) of every unit's thresholded, upsampled activation with every class over the whole set.

    ``acts`` (N, C, h, w); ``class_maps`` (N, S, S) integer class ids; ``thresholds`` (C,) (default: each
    unit's ``quantile``). Intersections and unions are summed over all images before dividing; a unit or a
    class that never appears has IoU 0."""
    maps = torch.as_tensor(np.asarray(class_maps), dtype=torch.long)
    n, c = acts.shape[:2]
    size = maps.shape[-2:]
    th = unit_thresholds(acts, quantile) if thresholds is None else thresholds
    inter = torch.zeros(c, n_classes, dtype=torch.float64)
    area_a = torch.zeros(c, dtype=torch.float64)
    area_m = torch.zeros(n_classes, dtype=torch.float64)
    for s in range(0, n, batch_size):
        a = F.interpolate(acts[s : s + batch_size].float(), size=size, mode="bilinear", align_corners=False)
        on = (a > th.view(1, c, 1, 1)).flatten(2).double()  # (B, C, P)
        onehot = F.one_hot(maps[s : s + batch_size].flatten(1), n_classes).double()  # (B, P, K)
        inter += torch.einsum("bcp,bpk->ck", on, onehot)
        area_a += on.sum((0, 2))
        area_m += onehot.sum((0, 1))
    union = area_a[:, None] + area_m[None, :] - inter
    return torch.where(union > 0, inter / union.clamp_min(1e-12), torch.zeros_like(inter)).float()


def top_units(iou: torch.Tensor, k: int) -> dict[int, list[int]]:
    """Per class id, the ``k`` units of highest IoU with it (best first)."""
    k = min(k, iou.shape[0])
    return {cls: torch.argsort(iou[:, cls], descending=True)[:k].tolist() for cls in range(iou.shape[1])}


def class_removal(G: nn.Module, layer: str, z: torch.Tensor, ranking: Sequence[int], share: Callable[[torch.Tensor], float],
                  counts: Sequence[int], n_random: int = 2, seed: int = 0) -> dict[str, list[float]]:
    """A class's share after dropping the top-k units of ``ranking`` (for each k of ``counts``) and after
    dropping k random units (mean over ``n_random`` seeded draws), on the samples of ``z``. ``share`` maps
    images (N, 3, S, S) to the class's mean pixel share. Returns ``counts``, ``ranked``, ``random`` and the
    share ``before`` (a list of one)."""
    n_units = int(layer_activations(G, layer, z[:1]).shape[1])
    gen = torch.Generator().manual_seed(seed)
    base = float(share(generate_ablated(G, z)))
    ranked, rand = [], []
    for k in counts:
        if k == 0:
            ranked.append(base)
            rand.append(base)
            continue
        ranked.append(float(share(generate_ablated(G, z, layer, list(ranking[:k])))))
        draws = [torch.randperm(n_units, generator=gen)[:k].tolist() for _ in range(n_random)]
        rand.append(float(np.mean([share(generate_ablated(G, z, layer, d)) for d in draws])))
    return {"counts": [int(k) for k in counts], "ranked": ranked, "random": rand, "before": [base]}


def causal_ranking(G: nn.Module, layer: str, z: torch.Tensor, share: Callable[[torch.Tensor], float]) -> tuple[list[int], list[float]]:
    """Units of ``layer`` ranked by their causal effect on a class: the drop of the class's mean pixel share
    (``share``: images -> float) when that unit alone is set to zero on the samples of ``z`` (GAN Dissection's
    average causal effect, one unit at a time). Returns (units, largest drop first; the drops, same order)."""
    n_units = int(layer_activations(G, layer, z[:1]).shape[1])
    base = float(share(generate_ablated(G, z)))
    drops = [base - float(share(generate_ablated(G, z, layer, [u]))) for u in range(n_units)]
    order = sorted(range(n_units), key=lambda u: -drops[u])
    return order, [drops[u] for u in order]


__all__ = ["causal_ranking", "class_removal", "layer_activations", "top_units", "unit_class_iou", "unit_thresholds"]
