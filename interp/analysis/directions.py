"""Latent directions of a DCGAN by the methods that came after the paper, and one yardstick for all.

Each finder maps a generator (plus labels where the method needs them) to unit directions in z,
rows of a tensor (k, nz):

    sefa_directions(G, k=5)                         # SeFa: eigenvectors of WᵀW of the layer that projects z
    ganspace_directions(G, "up1.act", k=5)          # GANSpace: PCA of a layer's activations, regressed to z
    boundary_direction(z, scores)                   # InterFaceGAN: normal of a linear boundary on scores
    exemplar_direction(z, positive, negative)       # the paper's: mean z of exemplars minus mean z of others
    random_directions(nz, k, seed)                  # the control

and :func:`score_direction` walks samples along a direction and measures, with any instrument, how much a
target attribute changes per unit step, how monotone that is, how much the other attributes change
(entanglement) and how much of the image changes at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from interp.analysis.turn import spearman
from interp.core.config import ModelConfig
from interp.core.generation import generate
from interp.core.hooks import record
from interp.core.latent import sample_z
from interp.core.modes import eval_mode
from interp.data.base import to_uint8_image

#: images (N, 3, S, S) in [-1, 1] -> {attribute: (N,) values}
Measure = Callable[[torch.Tensor], Mapping[str, np.ndarray]]

#: images (N, 3, S, S) in [-1, 1] -> {attribute: bool (N, S, S) where it is drawn}, for spatial attributes (e.g.
#: the rooms segmenter's class masks); attributes without a place in the image (a smile's probability) are absent
Region = Callable[[torch.Tensor], Mapping[str, torch.Tensor]]

#: the compared methods, in the order figures and tables show them (the paper's and the control last)
METHODS = ("sefa", "ganspace", "interfacegan", "user_labels", "exemplar_mean", "random")


def _unit_rows(x: torch.Tensor) -> torch.Tensor:
    return x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)


# ------------------------------------------------------------------------------------------- finders


def projection_weight(G: nn.Module) -> torch.Tensor:
    """The weight of the layer that projects z, as W (nz, K): row i is what latent i writes to the K outputs
    (the 4×4×C block) — a 4×4 transposed convolution (``project.conv``, weight (nz, C, 4, 4)) or a dense
    layer (``project.linear``, weight (16·C, nz))."""
    project = getattr(G, "project", None)
    conv = getattr(project, "conv", None)
    linear = getattr(project, "linear", None)
    if isinstance(conv, nn.ConvTranspose2d):
        return conv.weight.detach().flatten(1).double()
    if isinstance(linear, nn.Linear):
        return linear.weight.detach().T.double()
    raise ValueError(f"{type(G).__name__}: no project.conv (4x4 transposed conv) or project.linear layer to factorise")


def sefa_directions(G: nn.Module, k: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """SeFa (Shen & Zhou 2021, genforce/sefa ``factorize_weight``): with W (nz, K) the projection weight, its
    output columns normalised to unit length, the eigenvectors of W Wᵀ (nz × nz) by decreasing eigenvalue.
    Returns (directions (k, nz) float32 unit rows, eigenvalues (k,)); k = None: all nz."""
    W = projection_weight(G)
    W = W / W.norm(dim=0, keepdim=True).clamp_min(1e-12)
    values, vectors = torch.linalg.eigh(W @ W.T)  # ascending
    order = torch.argsort(values, descending=True)[: k or len(values)]
    return _unit_rows(vectors[:, order].T).float(), values[order].float()


def pca_to_z(features: torch.Tensor, z: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """GANSpace's step for a generator without a style space: PCA of ``features`` (N, D) of the latents ``z``
    (N, nz), then the least-squares map from the PCA coordinates back to z; each component's row of that map
    is its direction. Returns (directions (k, nz) unit rows, explained variance ratio (k,))."""
    X = features.double().flatten(1)
    X = X - X.mean(0, keepdim=True)
    _, S, Vh = torch.linalg.svd(X, full_matrices=False)
    k = min(k, len(S))
    coords = X @ Vh[:k].T  # (N, k)
    Z = z.double() - z.double().mean(0, keepdim=True)
    U = torch.linalg.lstsq(coords, Z).solution  # (k, nz): z ≈ coords @ U
    explained = (S[:k] ** 2) / (S**2).sum()
    return _unit_rows(U).float(), explained.float()


def ganspace_directions(G: nn.Module, layer: str, k: int = 10, n: int = 2000, seed: int = 0,
                        batch_size: int = 250) -> tuple[torch.Tensor, torch.Tensor]:
    """GANSpace (Härkönen et al. 2020) on layer ``layer`` of G: :func:`pca_to_z` on the activations of ``n``
    samples (seed ``seed``). Returns (directions (k, nz), explained variance ratio (k,))."""
    cfg = getattr(G, "cfg", None)
    if not isinstance(cfg, ModelConfig):
        raise ValueError(f"{type(G).__name__} has no ModelConfig (.cfg) to sample z from")
    z = sample_z(n, cfg, seed=seed)
    feats = []
    with torch.no_grad(), eval_mode(G), record(G, layer) as rec:
        for s in range(0, n, batch_size):
            G(z[s : s + batch_size])
            feats.append(rec[layer].flatten(1).cpu())
    return pca_to_z(torch.cat(feats), z, k)


def boundary_direction(z: torch.Tensor, scores: np.ndarray, quantile: float = 0.2, C: float = 1.0,
                       seed: int = 0) -> torch.Tensor:
    """InterFaceGAN (Shen et al. 2020, ``train_boundary``): latents ``z`` (N, nz) whose ``scores`` (N,) are in
    the top / bottom ``quantile`` are labelled 1 / 0 and separated by a linear SVM; the unit normal of its
    boundary, pointing to high scores, is the direction (nz,)."""
    from sklearn.svm import LinearSVC

    scores = np.asarray(scores, np.float64)
    lo, hi = np.quantile(scores, [quantile, 1 - quantile])
    pick = (scores <= lo) | (scores >= hi)
    y = (scores[pick] >= hi).astype(int)
    if len(np.unique(y)) < 2:
        raise ValueError("boundary_direction: the scores do not vary; nothing to separate")
    svm = LinearSVC(C=C, random_state=seed, max_iter=20_000).fit(z[pick].double().numpy(), y)
    normal = torch.from_numpy(svm.coef_[0])
    return (normal / normal.norm()).float()


def labelled_direction(z: torch.Tensor, positive: Sequence[int], negative: Sequence[int], C: float = 1.0,
                       seed: int = 0) -> torch.Tensor:
    """InterFaceGAN's boundary from hand labels: the latents ``z`` (N, nz) of the ``positive`` samples (e.g.
    ticked on a numbered sample sheet) against those of the ``negative`` ones, separated by a linear SVM; its
    unit normal (nz,), pointing to the positives."""
    pos, neg = [int(i) for i in positive], [int(i) for i in negative]
    if not pos or not neg:
        raise ValueError("labelled_direction needs at least one positive and one negative sample")
    bad = sorted(i for i in pos + neg if not 0 <= i < len(z))
    if bad:
        raise ValueError(f"sample numbers {bad} are not in the pool of {len(z)}")
    if set(pos) & set(neg):
        raise ValueError(f"samples {sorted(set(pos) & set(neg))} are labelled both positive and negative")
    from sklearn.svm import LinearSVC

    y = np.array([1] * len(pos) + [0] * len(neg))
    svm = LinearSVC(C=C, random_state=seed, max_iter=20_000).fit(z[pos + neg].double().numpy(), y)
    normal = torch.from_numpy(svm.coef_[0])
    return (normal / normal.norm()).float()


def exemplar_direction(z: torch.Tensor, positive: Sequence[int], negative: Sequence[int]) -> torch.Tensor:
    """The paper's way (Figs. 7-8): mean z of the ``positive`` exemplars minus mean z of the ``negative``
    ones, as a unit vector (nz,)."""
    d = z[list(positive)].double().mean(0) - z[list(negative)].double().mean(0)
    return (d / d.norm().clamp_min(1e-12)).float()


def random_directions(nz: int, k: int, seed: int = 0) -> torch.Tensor:
    """``k`` random unit directions (k, nz), seeded: the control."""
    return _unit_rows(torch.randn((k, nz), generator=torch.Generator().manual_seed(seed)))


# ----------------------------------------------------------------------------------------- yardstick


def outside_change(first: torch.Tensor, last: torch.Tensor, inside_first: torch.Tensor, inside_last: torch.Tensor
                   ) -> float:
    """Mean |pixel change| (averaged over channels) between images ``first`` and ``last`` (N, 3, S, S) over the
    pixels where the target is drawn in neither (``inside_*`` bool (N, S, S)); 0 when it covers every pixel."""
    outside = ~(inside_first.bool() | inside_last.bool())
    diff = (last - first).abs().mean(1)  # (N, S, S)
    n = int(outside.sum())
    return float((diff * outside).sum()) / n if n else 0.0


def score_direction(G: nn.Module, direction: torch.Tensor, measure: Measure, target: str,
                    z0: torch.Tensor, steps: Sequence[float] = (-2, -1, 0, 1, 2),
                    region: Region | None = None) -> dict[str, Any]:
    """Walk every latent of ``z0`` (M, nz) along ``direction`` (nz,) by each of ``steps`` and measure.

    Returns ``effect`` (the target's mean change per unit step: least-squares slope of the target against
    the step, pooled), ``monotonicity`` (Spearman ρ of step and target, pooled), ``entanglement`` (the mean
    |slope| of the other attributes), ``slopes`` (every attribute's slope) and ``pixel_change`` (mean absolute
    pixel change per unit step, images in [-1, 1]: how much of the image moves at all) and ``outside_change``
    (the same over the pixels where ``region`` places the target in neither the first nor the last frame:
    how much moves besides the target; None when ``region`` is None or does not place the target)."""
    d = direction.to(z0.dtype).flatten()
    t = torch.tensor(list(steps), dtype=z0.dtype)
    frames = [generate(G, z0 + s * d) for s in t]  # each (M, 3, S, S)
    values: dict[str, list[np.ndarray]] = {}
    for x in frames:
        for name, v in measure(x).items():
            values.setdefault(name, []).append(np.asarray(v, np.float64))
    if target not in values:
        raise KeyError(f"the measure gives no {target!r}; it gives {sorted(values)}")
    ts = np.repeat(t.numpy().astype(np.float64)[:, None], len(z0), 1)  # (T, M)
    slopes = {}
    for name, vs in values.items():
        v = np.stack(vs)  # (T, M)
        slopes[name] = float(np.polyfit(ts.ravel(), v.ravel(), 1)[0])
    others = [abs(s) for n, s in slopes.items() if n != target]
    span = float(t.max() - t.min())
    pixel = float((frames[-1] - frames[0]).abs().mean()) / span if span > 0 else 0.0
    outside = None
    if region is not None and span > 0:
        first, last = region(frames[0]), region(frames[-1])
        if target in first and target in last:
            outside = outside_change(frames[0], frames[-1], first[target], last[target]) / span
    return {"target": target, "effect": slopes[target],
            "monotonicity": spearman(ts, np.stack(values[target])),
            "entanglement": float(np.mean(others)) if others else None,
            "slopes": slopes, "pixel_change": pixel, "outside_change": outside, "steps": [float(s) for s in t], "n_walked": int(len(z0))}


def match_directions(slopes: Sequence[Mapping[str, float]], spread: Mapping[str, float]) -> list[tuple[str, float]]:
    """For unsupervised directions: the attribute each one moves most, judged by |slope| / that attribute's
    spread over samples (so that a yaw in [-1, 1] and a probability compare), with that relative effect."""
    out = []
    for s in slopes:
        rel = {a: abs(v) / max(spread.get(a, 1.0), 1e-12) for a, v in s.items()}
        best = max(rel, key=lambda a: rel[a])
        out.append((best, float(rel[best])))
    return out




# --------------------------------------------------------------------------------------- comparison


def _relative(scores: dict[str, Any], spread: Mapping[str, float]) -> dict[str, Any]:
    """``scores`` of :func:`score_direction` plus ``relative_effect`` (|effect| / the target's spread over
    samples) and ``relative_entanglement`` (mean over the other attributes of |slope| / their spread)."""
    target = scores["target"]
    others = [abs(v) / max(spread.get(a, 1.0), 1e-12) for a, v in scores["slopes"].items() if a != target]
    return {**scores, "relative_effect": abs(scores["effect"]) / max(spread.get(target, 1.0), 1e-12),
            "relative_entanglement": float(np.mean(others)) if others else None}


def _oriented(direction: torch.Tensor, slope: float) -> torch.Tensor:
    """``direction`` flipped so that walking along it raises the attribute (positive slope)."""
    return direction if slope >= 0 else -direction


def candidate_slopes(G: nn.Module, candidates: torch.Tensor, measure: Measure, z0: torch.Tensor,
                     steps: Sequence[float] = (-2, -1, 0, 1, 2)) -> list[dict[str, float]]:
    """Every attribute's slope (change per unit step) along each of ``candidates`` (k, nz)."""
    first = next(iter(measure(generate(G, z0[:1]))))
    return [score_direction(G, d, measure, first, z0, steps)["slopes"] for d in candidates]


def best_per_attribute(G: nn.Module, candidates: torch.Tensor, measure: Measure, attributes: Sequence[str],
                       z0: torch.Tensor, spread: Mapping[str, float],
                       steps: Sequence[float] = (-2, -1, 0, 1, 2),
                       slopes: Sequence[Mapping[str, float]] | None = None,
                       region: Region | None = None) -> dict[str, dict[str, Any]]:
    """For unsupervised candidates (k, nz): per attribute the candidate that moves it most relative to its
    spread, oriented to raise it, with its yardstick scores, its ``index`` among the candidates and its unit
    ``direction`` (nz,) tensor. ``slopes``: :func:`candidate_slopes` if already computed; ``region``: as for
    :func:`score_direction`."""
    slopes = list(slopes) if slopes is not None else candidate_slopes(G, candidates, measure, z0, steps)
    out = {}
    for a in attributes:
        rel = [abs(s[a]) / max(spread.get(a, 1.0), 1e-12) for s in slopes]
        i = int(np.argmax(rel))
        d = _oriented(candidates[i], slopes[i][a])
        out[a] = {**_relative(score_direction(G, d, measure, a, z0, steps, region), spread), "index": i, "direction": d}
    return out


def compare_directions(G: nn.Module, measure: Measure, attributes: Sequence[str], *, n_pool: int = 1000,
                       n_walk: int = 32, k: int = 10, n_exemplars: int = 3, layer: str | None = None,
                       seed: int = 0, steps: Sequence[float] = (-2, -1, 0, 1, 2),
                       labels: Mapping[str, tuple[Sequence[int], Sequence[int]]] | None = None,
                       region: Region | None = None) -> dict[str, Any]:
    """Every method's best direction per attribute, scored with one yardstick on the same walkers.

    Methods: ``sefa`` (top ``k`` eigenvectors), ``ganspace`` (top ``k`` PCA directions of ``layer``, default
    the first hidden block), ``interfacegan`` (a boundary per attribute on the measured scores of ``n_pool``
    samples), ``exemplar_mean`` (the paper's: mean z of the ``n_exemplars`` samples scored highest minus mean
    z of the lowest), ``random`` (``k`` random directions, the best-matching one per attribute: what
    selection alone gives), and ``user_labels`` for the attributes of ``labels`` ({attribute: (positive,
    negative) pool sample numbers}, e.g. ticked by hand on the numbered pool sheet; :func:`labelled_direction`).
    ``region`` (where each spatial attribute is drawn) adds ``outside_change`` to the yardstick.
    Returns ``{"methods": {method: {attribute: scores incl. the unit "direction" (nz,)}},
    "components": {unsupervised method: per candidate the attribute it moves most}, "spread": ...,
    "not_found": [attributes no method moves more than the random control], "constant": [attributes that do
    not vary over the pool, left out], ...}``
    (:func:`directions_metrics` makes it JSON-ready)."""
    cfg = getattr(G, "cfg", None)
    if not isinstance(cfg, ModelConfig):
        raise ValueError(f"{type(G).__name__} has no ModelConfig (.cfg) to sample z from")
    pool = sample_z(n_pool, cfg, seed=seed)
    scores = {a: np.asarray(v, np.float64) for a, v in measure(generate(G, pool)).items() if a in attributes}
    missing = sorted(set(attributes) - set(scores))
    if missing:
        raise KeyError(f"the measure gives no {missing}")
    spread = {a: float(np.std(v)) for a, v in scores.items()}
    constant = [a for a in attributes if spread[a] == 0]
    attributes = [a for a in attributes if spread[a] > 0]
    if not attributes:
        raise ValueError(f"no attribute varies over the {n_pool} samples ({constant}): nothing to find directions for")
    z0 = sample_z(n_walk, cfg, seed=seed + 1)
    layer = layer or "up1.act"
    methods: dict[str, dict[str, Any]] = {}
    components: dict[str, list[dict[str, Any]]] = {}
    extra: dict[str, list[float]] = {}
    sefa, eigenvalues = sefa_directions(G, k)
    gans, explained = ganspace_directions(G, layer, k, seed=seed)
    unsupervised = {"sefa": sefa, "ganspace": gans, "random": random_directions(cfg.nz, k, seed)}
    for name, candidates in unsupervised.items():
        slopes = candidate_slopes(G, candidates, measure, z0, steps)
        methods[name] = best_per_attribute(G, candidates, measure, attributes, z0, spread, steps, slopes, region)
        components[name] = [{"attribute": a, "relative_effect": r}
                            for a, r in match_directions([{x: s[x] for x in attributes} for s in slopes], spread)]
    extra["sefa_eigenvalues"] = [float(v) for v in eigenvalues]
    extra["ganspace_explained_variance"] = [float(v) for v in explained]
    methods["interfacegan"], methods["exemplar_mean"] = {}, {}
    for a in attributes:
        order = np.argsort(scores[a])
        for name, d in (("interfacegan", boundary_direction(pool, scores[a], seed=seed)),
                        ("exemplar_mean", exemplar_direction(pool, order[-n_exemplars:].tolist(),
                                                             order[:n_exemplars].tolist()))):
            methods[name][a] = {**_relative(score_direction(G, d, measure, a, z0, steps, region), spread), "direction": d}
    unknown = sorted(set(labels or {}) - set(attributes))
    if unknown:
        raise ValueError(f"labels for {unknown}: not among the measured attributes {list(attributes)}")
    if labels:
        methods["user_labels"] = {}
        for a, (pos, neg) in labels.items():
            d = labelled_direction(pool, pos, neg, seed=seed)
            methods["user_labels"][a] = {**_relative(score_direction(G, d, measure, a, z0, steps, region), spread),
                                         "direction": d, "positive": [int(i) for i in pos],
                                         "negative": [int(i) for i in neg]}
    methods = {m: methods[m] for m in METHODS if m in methods}
    not_found = [a for a in attributes
                 if all(methods[m][a]["relative_effect"] <= methods["random"][a]["relative_effect"]
                        for m in methods if m != "random" and a in methods[m])]
    return {"methods": methods, "components": components, "spread": spread, "not_found": not_found, "constant": constant,
            "n_pool": n_pool, "n_walk": n_walk, "k": k, "n_exemplars": n_exemplars, "layer": layer,
            "steps": [float(s) for s in steps], **extra}


def directions_metrics(result: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`compare_directions`'s result as JSON-ready numbers: the direction tensors left out, and per
    attribute the ``best_method`` (highest relative effect, the random control excluded) and the methods
    that beat the paper's exemplar means (``beats_exemplar_mean``)."""
    methods = {m: {a: {k: v for k, v in s.items() if k != "direction"} for a, s in per.items()}
               for m, per in result["methods"].items()}
    attributes = list(methods["sefa"])
    found = [m for m in methods if m != "random"]
    best = {a: max([m for m in found if a in methods[m]], key=lambda m: methods[m][a]["relative_effect"])
            for a in attributes}
    beats = {a: [m for m in found if m != "exemplar_mean" and a in methods[m]
                 and methods[m][a]["relative_effect"] > methods["exemplar_mean"][a]["relative_effect"]]
             for a in attributes}
    return {**{k: v for k, v in result.items() if k != "methods"}, "attributes": attributes, "methods": methods,
            "best_method": best, "beats_exemplar_mean": beats}


def walk_strips(G: torch.nn.Module, z: torch.Tensor, directions: Mapping[str, Mapping[str, torch.Tensor]],
                attributes: Sequence[str], steps: Sequence[float], measure: Measure
                ) -> tuple[np.ndarray, np.ndarray]:
    """One latent ``z`` (nz,) walked along every method's direction for every attribute: uint8 images
    (methods, attributes · steps, 3, S, S) and the measured target under each frame (methods, attributes · steps);
    white frames and NaN where a method has no direction for an attribute."""
    rows, values = [], []
    blank = np.full((len(steps), *to_uint8_image(generate(G, z[None])).numpy().shape[1:]), 255, np.uint8)
    for m in directions:
        frames, vals = [], []
        for a in attributes:
            if a not in directions[m]:  # a method without a direction for this attribute (e.g. not labelled)
                frames.append(blank)
                vals.append(np.full(len(steps), np.nan))
                continue
            d = directions[m][a].to(z.dtype)
            x = generate(G, torch.stack([z + float(t) * d for t in steps]))
            frames.append(to_uint8_image(x).numpy())
            vals.append(np.asarray(measure(x)[a], np.float64))
        rows.append(np.concatenate(frames))
        values.append(np.concatenate(vals))
    return np.stack(rows), np.stack(values)


__all__ = ["METHODS", "Measure", "Region", "best_per_attribute", "boundary_direction", "candidate_slopes",
           "compare_directions", "directions_metrics", "exemplar_direction", "ganspace_directions",
           "labelled_direction", "match_directions", "outside_change", "pca_to_z", "projection_weight",
           "random_directions", "score_direction", "sefa_directions", "walk_strips"]
