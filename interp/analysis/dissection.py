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
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from interp.analysis.forget import ClassMeter, ForgetConfig, automatic_boxes, find_window_maps, random_map_sets
from interp.analysis.forget import generate as generate_ablated
from interp.core.hooks import record
from interp.core.modes import eval_mode
from interp.data.base import to_uint8_image


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


def removal_interval(after: np.ndarray, before: np.ndarray, n_boot: int = 1000, level: float = 0.95,
                     seed: int = 0) -> list[float]:
    """Bootstrap interval of the fraction removed, ``1 - Σ after / Σ before``, over the evaluation images:
    ``after`` and ``before`` (N,) are each image's class share with and without the drop (paired). Returns
    [low, high] at ``level`` (percentiles of ``n_boot`` resamples of the images; resamples without the class
    count as 0 removed); [0, 0] when the class is absent."""
    after, before = np.asarray(after, np.float64), np.asarray(before, np.float64)
    if before.sum() <= 0:
        return [0.0, 0.0]
    idx = np.random.default_rng(seed).integers(0, len(before), (n_boot, len(before)))
    b = before[idx].sum(1)
    removed = np.where(b > 0, 1 - after[idx].sum(1) / np.where(b > 0, b, 1), 0.0)
    tail = 100 * (1 - level) / 2
    return [float(np.percentile(removed, tail)), float(np.percentile(removed, 100 - tail))]


# ------------------------------------------------------------------------------------ whole dissection

#: classes that fill the room rather than sit in it: ranked and reported, but not ablated by default
BACKGROUND = ("wall", "floor", "ceiling")
#: how the window units are chosen in the comparison (random: the control)
WINDOW_RANKINGS = ("iou", "regression", "causal")


@dataclass
class Dissection:
    """One generator layer dissected against a segmenter's classes.

    ``iou`` (units, classes) on the fit samples; ``share_before`` (classes,) mean pixel shares on the fresh
    evaluation samples; ``removal[cls]``: ``counts`` and the class's mean share after dropping the class's
    top-k units by IoU (``ranked``) and k random units (``random``, mean over the shared random draws);
    ``windows``: the window share after dropping the top-k units of each ranking in ``WINDOW_RANKINGS`` and
    after k random units; ``rankings``: those window rankings (units, best first). ``removal_ci`` /
    ``windows_ci``: the same curves' 95 % bootstrap intervals of the fraction removed, over the evaluation
    images (:func:`removal_interval`; for the random control the per-image mean over its draws, so the
    interval leaves out the spread between random unit sets)."""

    layer: str
    class_names: tuple[str, ...]
    iou: torch.Tensor
    thresholds: torch.Tensor
    share_before: np.ndarray
    classes: list[str]
    counts: list[int]
    removal: dict[str, dict[str, list[float]]]
    windows: dict[str, list[float]] | None
    rankings: dict[str, list[int]] = field(default_factory=dict)
    removal_ci: dict[str, dict[str, list[list[float]]]] = field(default_factory=dict)
    windows_ci: dict[str, list[list[float]]] = field(default_factory=dict)
    n_fit: int = 0
    n_eval: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def n_units(self) -> int:
        return int(self.iou.shape[0])

    def top(self, cls: str, k: int) -> list[int]:
        """The ``k`` units of highest IoU with class ``cls``, best first."""
        col = self.iou[:, self.class_names.index(cls)]
        return torch.argsort(col, descending=True, stable=True)[:k].tolist()

    @staticmethod
    def removed(curve: Sequence[float], before: float) -> list[float]:
        """Shares after dropping -> the fraction of ``before`` removed (1 = all gone; negative = more)."""
        return [float(1 - v / before) if before > 0 else 0.0 for v in curve]

    def metrics(self, top_k: int = 5) -> dict[str, Any]:
        """JSON-ready numbers: per class the top units and IoUs, the share before and the fraction removed
        at each count (top units by IoU vs random); the window comparison; the procedure."""
        classes: dict[str, Any] = {}
        for cls in self.class_names:
            units = self.top(cls, top_k)
            col = self.iou[:, self.class_names.index(cls)]
            entry: dict[str, Any] = {"top_units": units, "top_iou": [round(float(col[u]), 4) for u in units],
                                     "share_before": float(self.share_before[self.class_names.index(cls)])}
            if cls in self.removal:
                r, before = self.removal[cls], entry["share_before"]
                entry.update({"share_after_ranked": r["ranked"], "share_after_random": r["random"],
                              "removed_ranked": self.removed(r["ranked"], before),
                              "removed_random": self.removed(r["random"], before)})
                ci = self.removal_ci.get(cls, {})
                if ci:
                    entry.update({"removed_ranked_ci": ci["ranked"], "removed_random_ci": ci["random"]})
            classes[cls] = entry
        out: dict[str, Any] = {"layer": self.layer, "n_units": self.n_units, "n_fit": self.n_fit, "n_eval": self.n_eval,
                               "counts": self.counts, "ablated_classes": self.classes, "classes": classes}
        if self.windows is not None:
            before = float(self.share_before[self.class_names.index("window")])
            removed = {m: self.removed(v, before) for m, v in self.windows.items()}
            out["windows"] = {"share_before": before, "share_after": self.windows, "removed": removed,
                              **({"removed_ci": self.windows_ci} if self.windows_ci else {}),
                              "best_ranking": {str(k): max([m for m in WINDOW_RANKINGS if m in removed], key=lambda m: removed[m][i])
                                               for i, k in enumerate(self.counts)},
                              "rankings": {m: v[: max(self.counts)] for m, v in self.rankings.items()}}
        if self.notes:
            out["note"] = "; ".join(self.notes)
        return out


def default_counts(n_units: int) -> list[int]:
    """Unit counts for the ablation curves: 1, 2, 4, ... up to a quarter of the layer's units."""
    out, k = [], 1
    while k <= max(1, n_units // 4):
        out.append(k)
        k *= 2
    return out


def dissect(G: nn.Module, layer: str, z_fit: torch.Tensor, z_eval: torch.Tensor, meter: ClassMeter, *,
            classes: Sequence[str] | None = None, counts: Sequence[int] | None = None, n_random: int = 2,
            min_share: float = 0.005, n_causal: int = 100, quantile: float = 0.99, seed: int = 0,
            progress: Callable[[str], None] | None = None) -> Dissection:
    """Dissect ``layer`` (a dotted module name) of G with the segmenter of ``meter``.

    Units are scored on the fit samples ``G(z_fit)`` (z_fit (N, nz)): IoU with every class; the window
    units are also ranked by the paper's logistic regression (Fig. 6, on automatic window boxes of the fit
    samples) and by causal effect (each unit dropped alone on the first ``n_causal`` fit samples). Every
    ablation is measured on the fresh samples ``G(z_eval)``. ``classes``: those ablated (default: every
    class but wall, floor and ceiling whose mean share is at least ``min_share``); ``counts``: units dropped
    (default :func:`default_counts`); the random control drops k random units (``n_random`` seeded draws per
    k, the same draws for every class)."""
    say = progress or (lambda s: None)
    names = meter.class_names
    images_fit = generate_ablated(G, z_fit)
    maps_fit = meter.maps(images_fit)
    acts = layer_activations(G, layer, z_fit)
    th = unit_thresholds(acts, quantile, seed=seed)
    iou = unit_class_iou(acts, maps_fit, len(names), th)
    n_units = int(acts.shape[1])
    del acts
    counts = sorted({int(k) for k in (counts or default_counts(n_units)) if 0 < int(k) <= n_units})
    cache: dict[tuple[int, ...], np.ndarray] = {}

    def per_image(units: Sequence[int]) -> np.ndarray:
        """(N_eval, classes) pixel shares of each evaluation sample with ``units`` dropped."""
        key = tuple(sorted(int(u) for u in units))
        if key not in cache:
            images = generate_ablated(G, z_eval, layer if key else None, list(key) if key else None)
            cache[key] = meter.shares(images)
        return cache[key]

    def shares(units: Sequence[int]) -> np.ndarray:
        """(classes,) mean pixel shares of the evaluation samples with ``units`` dropped."""
        return per_image(units).mean(0)

    def interval(after: np.ndarray, c: int) -> list[float]:
        return [round(v, 4) for v in removal_interval(after[:, c], per_image(())[:, c], seed=seed)]

    before = shares(())
    if classes is None:
        classes = [c for c in names if c not in BACKGROUND and before[names.index(c)] >= min_share]
    unknown = sorted(set(classes) - set(names))
    if unknown:
        raise ValueError(f"classes {unknown} are not the segmenter's; it has {list(names)}")
    draws = {k: random_map_sets(n_units, k, n_random, seed + 1000 + k) for k in counts}
    random_images = {k: np.mean([per_image(d.tolist()) for d in draws[k]], 0) for k in counts}  # (N_eval, classes)
    random_share = {k: v.mean(0) for k, v in random_images.items()}
    removal: dict[str, dict[str, list[float]]] = {}
    result = Dissection(layer, tuple(names), iou, th, before, list(classes), counts, removal, None,
                        n_fit=len(z_fit), n_eval=len(z_eval))
    for cls in classes:
        c = names.index(cls)
        say(f"ablate {cls}: top units by IoU, {counts}")
        ranked = result.top(cls, max(counts))
        removal[cls] = {"ranked": [float(shares(ranked[:k])[c]) for k in counts],
                        "random": [float(random_share[k][c]) for k in counts]}
        result.removal_ci[cls] = {"ranked": [interval(per_image(ranked[:k]), c) for k in counts],
                                  "random": [interval(random_images[k], c) for k in counts]}
    if "window" in names and before[names.index("window")] > 0:
        w = names.index("window")
        say("windows: units by IoU, by the paper's logistic regression, by causal effect")
        rankings = {"iou": result.top("window", n_units)}
        boxes = automatic_boxes(meter, images_fit)
        if sum(len(b) for b in boxes) == 0:
            result.notes.append("no window boxes on the fit samples: the regression ranking is left out")
        else:
            fit = find_window_maps(G, z_fit, boxes, int(images_fit.shape[-1]), ForgetConfig(layer=layer, seed=seed))
            rankings["regression"] = fit.ranking.tolist()
        zc = z_fit[:n_causal]

        def window_share(images: torch.Tensor) -> float:
            return float(meter.shares(images)[:, w].mean())

        rankings["causal"] = causal_ranking(G, layer, zc, window_share)[0]
        result.rankings = rankings
        result.windows = {m: [float(shares(r[:k])[w]) for k in counts] for m, r in rankings.items()}
        result.windows["random"] = [float(random_share[k][w]) for k in counts]
        result.windows_ci = {m: [interval(per_image(r[:k]), w) for k in counts] for m, r in rankings.items()}
        result.windows_ci["random"] = [interval(random_images[k], w) for k in counts]
    else:
        result.notes.append("the samples hold no windows: the window comparison is left out")
    return result


def unit_regions(G: torch.nn.Module, layer: str, z: torch.Tensor, unit: int, threshold: float,
                 size: int) -> np.ndarray:
    """Where ``unit`` of ``layer`` fires above ``threshold`` on the samples of ``z`` (N, nz): bool (N, size, size)
    (its activation upsampled bilinearly, as in the IoU)."""
    acts = layer_activations(G, layer, z)[:, unit : unit + 1].float()
    up = F.interpolate(acts, size=(size, size), mode="bilinear", align_corners=False)[:, 0]
    return (up > threshold).numpy()


def highlight(images: np.ndarray, regions: np.ndarray, dim: float = 0.3) -> np.ndarray:
    """uint8 images (N, 3, S, S) with the pixels outside ``regions`` (N, S, S) dimmed to ``dim``."""
    keep = np.where(regions[:, None], 1.0, dim)
    return (images.astype(np.float64) * keep).round().astype(np.uint8)


def class_examples(G: torch.nn.Module, data: Dissection, meter: ClassMeter, z_eval: torch.Tensor, n_show: int
                   ) -> dict[str, dict[str, Any]]:
    """Per ablated class: the ``n_show`` evaluation samples with the most of it, as generated (uint8), with
    the pixels outside its top unit's region dimmed, and with its top-k (k = the largest count) units
    dropped; with the class share of each."""
    images = generate_ablated(G, z_eval)
    shares = meter.shares(images)
    k = max(data.counts)
    out = {}
    for cls in data.classes:
        c = data.class_names.index(cls)
        pick = np.argsort(-shares[:, c], kind="stable")[:n_show]
        z = z_eval[torch.as_tensor(pick)]
        unit = data.top(cls, 1)[0]
        shown = to_uint8_image(images[torch.as_tensor(pick)]).numpy()
        regions = unit_regions(G, data.layer, z, unit, float(data.thresholds[unit]), shown.shape[-1])
        dropped = generate_ablated(G, z, data.layer, data.top(cls, k))
        out[cls] = {"index": pick.tolist(), "generated": shown, "region": highlight(shown, regions),
                    "dropped": to_uint8_image(dropped).numpy(), "share": shares[pick, c],
                    "share_dropped": meter.shares(dropped)[:, c], "unit": unit, "k": k}
    return out


__all__ = ["BACKGROUND", "WINDOW_RANKINGS", "Dissection", "default_counts", "dissect", "causal_ranking", "class_examples", "highlight", "removal_interval", "unit_regions", "class_removal", "layer_activations", "top_units", "unit_class_iou", "unit_thresholds"]
