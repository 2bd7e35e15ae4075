"""Paper Fig. 6, "forgetting to draw windows": find the generator's window feature maps and drop them.

The paper's procedure, step by step (each step one function here):

1. **Samples with boxes.** ``n`` = 150 samples ``G(sample_z(n, cfg, seed))`` carry window boxes in
   image pixels (drawn by hand, imported from a file — :mod:`.annotations` — or found by the rooms
   segmenter — :func:`interp.instruments.window_boxes`).
2. **Features.** The generator's features (N, C, H, W) of the same z at the paper's "second-highest
   convolution layer" (``layer="second_highest"``, the default): the output (after ReLU) of the
   hidden block BELOW the last one — ``up2.act`` at 64 px, 2·ngf maps of S/4 × S/4. Why not the
   last hidden block (``"penultimate"``, ``up3.act``: ngf maps of S/2 × S/2)? The paper dropped
   200 maps; the authors' generator (ngf = 128) has only 128 maps there but 256 in the block
   below. Any layer name or alias works (``layer="penultimate"``).
3. **Box → feature cells** (:func:`box_cell_mask`). A feature cell (i, j) of an H×W map covers the
   image pixels x ∈ [j·s, (j+1)·s), y ∈ [i·s, (i+1)·s) with s = image_size / W. A cell is **inside a
   box** when its CENTRE ((j + ½)·s, (i + ½)·s) lies in [x0, x1) × [y0, y1). A box too small to
   contain any cell centre still marks the one cell holding its own centre, so every box yields at
   least one positive.
4. **Dataset** (:func:`assemble_dataset`). Positives: the C-vectors of the cells inside a box.
   Negatives: as many random cells from the same image (seeded) — ``negatives="random"`` draws from
   all cells (the paper's words), ``"outside"`` (default) only from cells inside no box, so that a
   negative is never a window (measured on runs/rooms-long: held-out AUC 0.92 vs 0.83 and 70 % vs
   22 % of the window pixels removed at the default layer).
5. **Fit** (:func:`fit_window_classifier`). scikit-learn's ``LogisticRegression`` (L2, ``C`` = 1 by
   default) on standardised features (so weights compare across maps). The held-out AUC
   (``roc_auc_score``) comes from a fit on 75 % of the IMAGES, tested on the other 25 % (split by
   image with ``GroupShuffleSplit``, never by location, seeded); the weights used below come from
   a refit on all images.
6. **Drop** (:func:`select_maps`). Every map with weight > ``threshold`` (0) is dropped at every
   location (``ablate(..., replacement="zero")``), and the same z are generated with and without it
   (:func:`generate`). The control drops as many RANDOM maps (:func:`random_map_sets`, seeded).
7. **Curve** (:func:`ablation_curve`). A measurement (e.g. window pixel share) after dropping the
   top-k maps ranked by regression weight, for several k, against k random maps — GAN Dissection's
   unit-ablation plot, showing how many maps windows really need.

CLI for a model of your own (e.g. LSUN bedrooms), :mod:`interp.cli.forget`::

    interp forget sheet --checkpoint RUN --out boxes_work/     # numbered samples to annotate
    interp forget run --checkpoint RUN --boxes boxes_work/boxes.csv --out fig6_out/
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from interp.core.generation import generate as generate_images
from interp.core.hooks import (
    LayerNotFoundError,
    ablate,
    channel_means,
    eval_mode,
    record,
    resolve_layer,
)
from interp.data.base import to_uint8_image

OTHER_CLASSES = ("bed", "wall", "floor")
WINDOW = "window"

NEGATIVES = ("outside", "random")
PAPER_LAYER = "second_highest"
REPLACEMENTS = ("zero", "mean")

__all__ = [
    "ForgetConfig",
    "ForgetError",
    "ForgetResult",
    "NoBoxesError",
    "WindowClassifier",
    "WindowDataset",
    "ablation_curve",
    "assemble_dataset",
    "box_cell_mask",
    "box_pixel_mask",
    "heldout_box_change",
    "downstream_window_evidence",
    "cell_size",
    "curve_counts",
    "find_window_maps",
    "fit_window_classifier",
    "generate",
    "layer_features",
    "random_map_sets",
    "resolve_forget_layer",
    "select_maps",
]


# ------------------------------------------------------------------------------------------ config


class ForgetError(ValueError):
    """The annotations cannot support the procedure (no boxes, one class only); the message says why."""


class NoBoxesError(ForgetError):
    """No annotated sample has a window box: there is nothing to fit."""


@dataclass(frozen=True)
class ForgetConfig:
    """The knobs of the procedure; defaults are the paper's except ``negatives`` (see module doc)."""

    layer: str = PAPER_LAYER          # the generator's second-highest hidden conv block (after its ReLU)
    negatives: str = "outside"        # "outside" (cells in no box) | "random" (any cell, the paper)
    C: float = 1.0                    # inverse L2 regularisation strength of the logistic regression
    l1_ratio: float = 0.0             # 0 = L2 (default), 1 = L1 (sparser: fewer maps with weight > 0)
    standardize: bool = True          # z-score each map before fitting (weights comparable across maps)
    threshold: float = 0.0            # drop maps whose weight is > threshold
    replacement: str = "zero"         # "zero" (the paper's drop) | "mean" (each map's mean activation)
    test_fraction: float = 0.25       # share of annotated IMAGES held out for the AUC
    n_random: int = 3                 # random-control draws (the control is their mean)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.negatives not in NEGATIVES:
            raise ValueError(f"negatives must be one of {NEGATIVES}, got {self.negatives!r}")
        if self.replacement not in REPLACEMENTS:
            raise ValueError(f"replacement must be one of {REPLACEMENTS}, got {self.replacement!r}")
        if not self.C > 0:
            raise ValueError(f"C must be > 0, got {self.C}")
        if not 0 <= self.l1_ratio <= 1:
            raise ValueError(f"l1_ratio must lie in [0, 1], got {self.l1_ratio}")
        if not 0 < self.test_fraction < 1:
            raise ValueError(f"test_fraction must lie in (0, 1), got {self.test_fraction}")
        if self.n_random < 1:
            raise ValueError(f"n_random must be >= 1, got {self.n_random}")

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# ------------------------------------------------------------------------------- box -> feature cells


def resolve_forget_layer(G: nn.Module, layer: str) -> str:
    """Dotted module name of ``layer``: ``"second_highest"`` is the ReLU output of the generator's
    hidden block below the last one (``block_names[-3]``: ``up2.act`` at 64 px); anything else is
    resolved as by :func:`~interp.core.hooks.resolve_layer` (dotted names, ``"penultimate"``)."""
    if layer == PAPER_LAYER:
        blocks = list(getattr(G, "block_names", []) or [])
        if len(blocks) < 3:
            raise LayerNotFoundError(f"{type(G).__name__} has no block structure for {PAPER_LAYER!r}; "
                                     f"name a layer instead (e.g. 'penultimate')")
        layer = f"{blocks[-3]}.act"
    return resolve_layer(G, layer)[0]


def cell_size(image_size: int, feature_hw: tuple[int, int]) -> tuple[float, float]:
    """(s_y, s_x): image pixels per feature cell, image_size / H and image_size / W."""
    h, w = feature_hw
    return image_size / h, image_size / w


def box_cell_mask(boxes: np.ndarray | Sequence[Sequence[float]], feature_hw: tuple[int, int],
                  image_size: int) -> np.ndarray:
    """bool (H, W): the feature cells inside any of ``boxes`` (k, 4) x0, y0, x1, y1 (image pixels,
    x1/y1 exclusive).

    Rule: cell (i, j) is inside a box when its centre ((j + ½)·s_x, (i + ½)·s_y) lies in
    [x0, x1) × [y0, y1); a box holding no cell centre marks the cell that holds the box's centre.
    """
    h, w = feature_hw
    sy, sx = cell_size(image_size, feature_hw)
    cy = (np.arange(h) + 0.5) * sy
    cx = (np.arange(w) + 0.5) * sx
    mask = np.zeros((h, w), bool)
    for x0, y0, x1, y1 in np.asarray(boxes, np.float64).reshape(-1, 4):
        inside = ((cy >= y0) & (cy < y1))[:, None] & ((cx >= x0) & (cx < x1))[None, :]
        if not inside.any():
            i = int(np.clip(((y0 + y1) / 2) // sy, 0, h - 1))
            j = int(np.clip(((x0 + x1) / 2) // sx, 0, w - 1))
            inside[i, j] = True
        mask |= inside
    return mask


# ------------------------------------------------------------------------------------------ dataset


@dataclass
class WindowDataset:
    """Activation vectors with labels: ``X`` float32 (M, C), ``y`` int (M,) 1 = inside a box,
    ``image`` int (M,) the sample each row comes from, ``cell`` int (M, 2) its (i, j)."""

    X: np.ndarray
    y: np.ndarray
    image: np.ndarray
    cell: np.ndarray
    negatives: str

    @property
    def n_positive(self) -> int:
        return int(self.y.sum())

    @property
    def n_images(self) -> int:
        return len(np.unique(self.image))


def assemble_dataset(features: torch.Tensor | np.ndarray, boxes: Sequence[np.ndarray], image_size: int,
                     negatives: str = "outside", seed: int = 0) -> WindowDataset:
    """Positives (cells inside a box) and as many seeded random negatives per image, from
    ``features`` (N, C, H, W) and per-image boxes (N lists of (k, 4)); images without boxes add nothing.

    ``negatives="random"``: any cell of the image (without replacement; may hit a window, as in the
    paper); ``"outside"``: cells inside no box. Where the pool is smaller than the positives, all of
    it is used (fewer negatives than positives).
    """
    if negatives not in NEGATIVES:
        raise ValueError(f"negatives must be one of {NEGATIVES}, got {negatives!r}")
    f = features.detach().cpu().numpy() if torch.is_tensor(features) else np.asarray(features)
    if f.ndim != 4:
        raise ValueError(f"features must be (N, C, H, W), got shape {f.shape}")
    n, c, h, w = f.shape
    if len(boxes) != n:
        raise ValueError(f"got boxes for {len(boxes)} images but features for {n}")
    rng = np.random.default_rng(seed)
    xs, ys, imgs, cells = [], [], [], []
    for i in range(n):
        inside = box_cell_mask(boxes[i], (h, w), image_size).ravel() if len(boxes[i]) else np.zeros(h * w, bool)
        pos = np.flatnonzero(inside)
        if len(pos) == 0:
            continue
        pool = np.arange(h * w) if negatives == "random" else np.flatnonzero(~inside)
        neg = rng.choice(pool, size=min(len(pos), len(pool)), replace=False) if len(pool) else pool
        flat = f[i].reshape(c, -1)
        idx = np.concatenate([pos, neg])
        xs.append(flat[:, idx].T)
        ys.append(np.r_[np.ones(len(pos), np.int64), np.zeros(len(neg), np.int64)])
        imgs.append(np.full(len(idx), i, np.int64))
        cells.append(np.stack([idx // w, idx % w], 1))
    if not xs:
        raise NoBoxesError("no boxes on any annotated image: nothing to fit (draw or import some window boxes)")
    return WindowDataset(np.concatenate(xs).astype(np.float32), np.concatenate(ys), np.concatenate(imgs),
                         np.concatenate(cells), negatives)


# ------------------------------------------------------------------------------------------ fitting


@dataclass
class WindowClassifier:
    """The fitted regression: ``weights`` (C,) (per standard deviation of each map if standardised),
    ``auc`` on held-out images (NaN if the test images hold one class only)."""

    weights: np.ndarray
    intercept: float
    auc: float
    n_train_images: int
    n_test_images: int
    n_positive: int
    n_negative: int
    mean: np.ndarray | None = None    # (C,) standardisation
    scale: np.ndarray | None = None   # (C,)

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """Logits (M,) for activation vectors X (M, C)."""
        X = np.asarray(X, np.float64)
        if self.mean is not None:
            X = (X - self.mean) / self.scale
        return X @ self.weights + self.intercept


def _logistic(C: float, l1_ratio: float, seed: int):
    from sklearn.linear_model import LogisticRegression

    if l1_ratio > 0:  # elastic net / L1; scikit-learn < 1.8 also needs penalty="elasticnet"
        import sklearn

        extra = {"penalty": "elasticnet"} if tuple(int(v) for v in sklearn.__version__.split(".")[:2]) < (1, 8) else {}
        return LogisticRegression(C=C, l1_ratio=l1_ratio, solver="saga", max_iter=5000, random_state=seed, **extra)
    return LogisticRegression(C=C, max_iter=5000)  # L2


def _standardizer(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.preprocessing import StandardScaler

    sc = StandardScaler().fit(X)
    scale = np.where(sc.scale_ > 0, sc.scale_, 1.0)
    return sc.mean_, scale


def fit_window_classifier(ds: WindowDataset, C: float = 1.0, l1_ratio: float = 0.0, standardize: bool = True,
                          test_fraction: float = 0.25, seed: int = 0) -> WindowClassifier:
    """Logistic regression "is this activation on a window?"; held-out AUC split by image (seeded),
    weights from a refit on all images."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GroupShuffleSplit

    X = ds.X.astype(np.float64)
    n_img = ds.n_images
    auc, n_train, n_test = float("nan"), n_img, 0
    if n_img >= 2:
        split = GroupShuffleSplit(n_splits=1, test_size=test_fraction, random_state=seed)
        tr, te = next(split.split(X, ds.y, groups=ds.image))
        n_train, n_test = len(np.unique(ds.image[tr])), len(np.unique(ds.image[te]))
        if len(np.unique(ds.y[tr])) == 2 and len(np.unique(ds.y[te])) == 2:
            mean, scale = _standardizer(X[tr]) if standardize else (np.zeros(X.shape[1]), np.ones(X.shape[1]))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                clf = _logistic(C, l1_ratio, seed).fit((X[tr] - mean) / scale, ds.y[tr])
            auc = float(roc_auc_score(ds.y[te], clf.decision_function((X[te] - mean) / scale)))
    if len(np.unique(ds.y)) < 2:
        raise ForgetError("every annotated cell lies inside a box (no negatives left): cannot fit a classifier")
    mean_all: np.ndarray | None = None
    scale_all: np.ndarray | None = None
    Xs = X
    if standardize:
        mean_all, scale_all = _standardizer(X)
        Xs = (X - mean_all) / scale_all
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = _logistic(C, l1_ratio, seed).fit(Xs, ds.y)
    return WindowClassifier(clf.coef_[0].copy(), float(clf.intercept_[0]), auc, n_train, n_test, ds.n_positive,
                            int(len(ds.y) - ds.n_positive), mean_all, scale_all)


def select_maps(weights: np.ndarray, threshold: float = 0.0) -> np.ndarray:
    """Indices of the maps with weight > ``threshold``, largest weight first (int64 (k,))."""
    w = np.asarray(weights, np.float64)
    idx = np.flatnonzero(w > threshold)
    return idx[np.argsort(-w[idx], kind="stable")].astype(np.int64)


def random_map_sets(n_channels: int, k: int, draws: int, seed: int = 0) -> list[np.ndarray]:
    """``draws`` seeded sets of ``k`` distinct maps drawn uniformly from all ``n_channels`` (the control)."""
    rng = np.random.default_rng([seed, 6])
    return [np.sort(rng.choice(n_channels, size=min(k, n_channels), replace=False)).astype(np.int64)
            for _ in range(draws)]


# ---------------------------------------------------------------------------------------- generation


def layer_features(G: nn.Module, z: torch.Tensor, layer: str = "penultimate", batch_size: int = 250) -> torch.Tensor:
    """Layer ``layer``'s output (N, C, H, W) for ``z`` (N, nz) (eval mode, no grad, on CPU)."""
    dev = next(G.parameters()).device
    outs = []
    with eval_mode(G), torch.no_grad(), record(G, [layer]) as rec:
        for s in range(0, len(z), batch_size):
            G(z[s : s + batch_size].to(dev))
            outs.append(rec[layer].float().cpu())
    return torch.cat(outs)


def generate(G: nn.Module, z: torch.Tensor, layer: str | None = None, channels: Sequence[int] | None = None,
             replacement: str = "zero", means: torch.Tensor | None = None, batch_size: int = 250) -> torch.Tensor:
    """Images float (N, nc, S, S) in [-1, 1] for ``z`` (N, nz), with ``channels`` of ``layer`` dropped at
    every location (replaced by zero or by ``means`` (C,)) when given; eval mode, no grad, on CPU."""
    if layer is None or channels is None:
        return generate_images(G, z, batch_size)
    kw: dict[str, Any] = {"replacement": "mean", "means": means} if replacement == "mean" else {}
    with ablate(G, layer, channels=[int(c) for c in channels], **kw):
        return generate_images(G, z, batch_size)


# ---------------------------------------------------------------------------------------- procedure


@dataclass
class ForgetResult:
    """What the procedure found: the fitted classifier, the maps to drop and the random control sets."""

    config: ForgetConfig
    layer: str                       # dotted module name
    n_channels: int
    feature_hw: tuple[int, int]
    classifier: WindowClassifier
    dropped: np.ndarray              # int64 (k,) maps with weight > threshold, largest weight first
    random_sets: list[np.ndarray]    # n_random int64 (k,) control sets
    ranking: np.ndarray              # int64 (C,) all maps, largest weight first
    n_annotated: int
    n_boxes: int
    n_images_with_boxes: int
    means: torch.Tensor | None = None  # (C,) per-map means, for replacement="mean"

    @property
    def maps_dropped(self) -> int:
        return len(self.dropped)

    def summary(self) -> dict[str, Any]:
        """JSON-able numbers of the fit and the selection."""
        c = self.classifier
        return {
            "maps_dropped": self.maps_dropped, "auc": c.auc, "layer": self.layer, "n_maps": self.n_channels,
            "feature_size": list(self.feature_hw), "dropped_maps": self.dropped.tolist(),
            "weights": [round(float(v), 5) for v in c.weights], "n_annotated": self.n_annotated,
            "n_boxes": self.n_boxes, "n_images_with_boxes": self.n_images_with_boxes, "n_positive": c.n_positive,
            "n_negative": c.n_negative, "auc_train_images": c.n_train_images, "auc_test_images": c.n_test_images,
            "random_control_maps": [s.tolist() for s in self.random_sets], "procedure": self.config.to_dict(),
        }


def find_window_maps(G: nn.Module, z: torch.Tensor, boxes: Sequence[np.ndarray], image_size: int,
                     config: ForgetConfig | None = None) -> ForgetResult:
    """Steps 2–6 on annotated samples ``G(z)`` (z (N, nz)) with per-image ``boxes`` (N lists of (k, 4))."""
    config = config or ForgetConfig()
    if len(boxes) != len(z):
        raise ValueError(f"got boxes for {len(boxes)} samples but {len(z)} latents")
    dotted = resolve_forget_layer(G, config.layer)
    feats = layer_features(G, z, dotted)
    _, C, h, w = feats.shape
    ds = assemble_dataset(feats, boxes, image_size, config.negatives, config.seed)
    clf = fit_window_classifier(ds, config.C, config.l1_ratio, config.standardize, config.test_fraction, config.seed)
    dropped = select_maps(clf.weights, config.threshold)
    ranking = np.argsort(-clf.weights, kind="stable").astype(np.int64)
    means = channel_means(G, dotted, z) if config.replacement == "mean" else None
    return ForgetResult(config, dotted, int(C), (int(h), int(w)), clf, dropped,
                        random_map_sets(int(C), len(dropped), config.n_random, config.seed), ranking, len(z),
                        int(sum(len(b) for b in boxes)), int(sum(len(b) > 0 for b in boxes)), means)


# ------------------------------------------------------------------------------------------- curve


def curve_counts(n_channels: int, n_dropped: int, points: int = 7) -> list[int]:
    """Map counts for the ranked-ablation curve: ~``points`` roughly geometric steps 1 … n_channels,
    plus ``n_dropped`` (a geometric step within a factor 1.3 of it is left out); sorted, unique, > 0."""
    geo = {int(v) for v in np.round(np.geomspace(1, max(n_channels, 1), max(points, 2)))}
    if n_dropped > 0:
        geo = {c for c in geo if c == n_channels or max(c, n_dropped) / min(c, n_dropped) >= 1.3}
        geo.add(int(n_dropped))
    return sorted(geo)


@dataclass
class CurveData:
    """``ranked[k]`` / ``random[k]``: the measurement after dropping ``counts[k]`` maps (ranked by
    weight / random; random = mean over its draws), ``base`` with nothing dropped."""

    counts: list[int]
    ranked: np.ndarray
    random: np.ndarray
    base: float


def ablation_curve(measure: Callable[[Sequence[int] | None], float], ranking: np.ndarray, counts: Sequence[int],
                   n_channels: int, seed: int = 0,
                   fixed_random: dict[int, Sequence[np.ndarray]] | None = None, draws: int = 1) -> CurveData:
    """``measure(channels or None) -> float`` after dropping the top-k maps of ``ranking`` and k random
    maps, for each k in ``counts``; the random value is the mean over ``draws`` seeded draws per k, or
    over the sets ``fixed_random[k]`` (e.g. the control's draws); ``base`` = ``measure(None)``."""
    base = float(measure(None))
    ranked, rand = [], []
    for k in counts:
        ranked.append(float(measure(ranking[:k].tolist())))
        sets = (fixed_random or {}).get(k) or random_map_sets(n_channels, k, draws, seed + 1000 + k)
        rand.append(float(np.mean([measure(np.asarray(rs).tolist()) for rs in sets])))
    return CurveData(list(counts), np.array(ranked), np.array(rand), base)


# --------------------------------------------------------------------------------------------- CLI






class ClassMeter:
    """Per-image class pixel shares of generated images via the rooms segmenter."""

    def __init__(self, segmenter: torch.nn.Module, class_names: Sequence[str]) -> None:
        self.segmenter = segmenter
        self.class_names = tuple(class_names)
        if WINDOW not in self.class_names:
            raise ValueError(f"the segmenter's classes {self.class_names} have no {WINDOW!r}")

    @property
    def window(self) -> int:
        return self.class_names.index(WINDOW)

    def maps(self, images: torch.Tensor) -> np.ndarray:
        """uint8 class maps (N, S, S) of images float (N, 3, S, S) in [-1, 1]."""
        from interp.instruments import segment

        return segment(self.segmenter, images)

    def shares(self, images: torch.Tensor) -> np.ndarray:
        """float64 (N, n_classes): each image's pixel share of every class."""
        m = self.maps(images).reshape(len(images), -1).astype(np.int64)
        k = len(self.class_names)
        counts = np.stack([np.bincount(row, minlength=k)[:k] for row in m]) if len(m) else np.zeros((0, k))
        return counts / max(m.shape[1], 1)


def automatic_boxes(meter: ClassMeter, images: torch.Tensor) -> list[np.ndarray]:
    """Per image (k, 4) window boxes from the segmenter's window connected components."""
    from interp.instruments import window_boxes

    return [b.astype(np.float64) for b in window_boxes(meter.maps(images), window_class=meter.window)]


@dataclass
class Fig6Data:
    result: ForgetResult
    rows: np.ndarray                          # uint8 (3, n_show, 3, S, S): before, dropped, random
    row_shares: np.ndarray | None             # (3, n_show) window share per shown tile
    shares: dict[str, np.ndarray] | None      # "before"/"after"/"random" -> (n_classes,) mean shares
    random_shares: list[np.ndarray] | None    # per control draw, (n_classes,)
    class_names: tuple[str, ...] | None
    curve: CurveData | None
    numbers: dict[str, Any] = field(default_factory=dict)
    box_source: str = "automatic"


def _class_numbers(meter: ClassMeter, before: np.ndarray, after: np.ndarray,
                   rand: list[np.ndarray]) -> dict[str, Any]:
    names = meter.class_names
    w = meter.window
    others = [names.index(c) for c in OTHER_CLASSES if c in names]
    rand_mean = np.mean(rand, 0)

    def abs_change(x: np.ndarray) -> float:
        return float(np.mean(np.abs(x[others] - before[others]))) if others else float("nan")

    wb = float(before[w])
    return {
        "window_frac_before": float(before[w]),
        "window_frac_after": float(after[w]),
        "window_frac_random_control": float(rand_mean[w]),
        "window_frac_random_control_draws": [float(r[w]) for r in rand],
        "window_removed": 1 - float(after[w]) / wb if wb > 0 else None,
        "window_removed_random_control": 1 - float(rand_mean[w]) / wb if wb > 0 else None,
        "other_classes_abs_change": abs_change(after),
        "other_classes_abs_change_random_control": float(np.mean([abs_change(r) for r in rand])),
        "other_classes": list(OTHER_CLASSES),
        "other_classes_change": {names[i]: float(after[i] - before[i]) for i in others},
        "other_classes_change_random_control": {names[i]: float(rand_mean[i] - before[i]) for i in others},
        "class_fracs_before": {n: float(v) for n, v in zip(names, before, strict=True)},
        "class_fracs_after": {n: float(v) for n, v in zip(names, after, strict=True)},
        "class_fracs_random_control": {n: float(v) for n, v in zip(names, rand_mean, strict=True)},
    }


def box_pixel_mask(boxes: Sequence[np.ndarray], image_size: int) -> torch.Tensor:
    """bool (N, S, S): the pixels inside any of each image's boxes (x0, y0, x1, y1; x1/y1 exclusive)."""
    mask = torch.zeros(len(boxes), image_size, image_size, dtype=torch.bool)
    for i, arr in enumerate(boxes):
        for x0, y0, x1, y1 in np.asarray(arr, np.float64).reshape(-1, 4):
            xa, ya = max(int(np.floor(x0)), 0), max(int(np.floor(y0)), 0)
            xb, yb = min(int(np.ceil(x1)), image_size), min(int(np.ceil(y1)), image_size)
            mask[i, ya:yb, xa:xb] = True
    return mask


def heldout_box_change(before: torch.Tensor, after: torch.Tensor, randoms: Sequence[torch.Tensor],
                       mask: torch.Tensor) -> dict[str, Any]:
    """How selectively dropping maps changes the hand-boxed windows of held-out samples.

    ``before`` / ``after`` / each of ``randoms``: images (N, 3, S, S) of the same z without, with the window
    maps dropped, with random maps dropped; ``mask`` (N, S, S): pixels inside the hand-drawn boxes. Returns the
    mean absolute pixel change (over channels, images in [-1, 1]) inside the boxes, outside them, and their
    ratio, for the window maps and (mean over draws) for the random maps."""
    def inside_outside(x: torch.Tensor) -> tuple[float, float]:
        d = (x - before).abs().mean(1)  # (N, S, S)
        return float(d[mask].mean()), float(d[~mask].mean())

    w_in, w_out = inside_outside(after)
    r = [inside_outside(x) for x in randoms]
    r_in, r_out = float(np.mean([a for a, _ in r])), float(np.mean([b for _, b in r]))
    return {"heldout_box_change": w_in, "heldout_outside_change": w_out,
            "heldout_box_change_ratio": w_in / w_out if w_out > 0 else None,
            "heldout_box_change_random_control": r_in, "heldout_outside_change_random_control": r_out,
            "heldout_box_change_ratio_random_control": r_in / r_out if r_out > 0 else None,
            "heldout_box_pixel_share": float(mask.float().mean())}


def downstream_window_evidence(G: nn.Module, z_fit: torch.Tensor, fit_boxes: Sequence[np.ndarray],
                               z_held: torch.Tensor, held_boxes: Sequence[np.ndarray], image_size: int,
                               layer: str, dropped: Sequence[int], random_sets: Sequence[np.ndarray],
                               config: ForgetConfig) -> dict[str, Any] | None:
    """The drop judged by a window classifier fitted (on the fit samples' boxes, as in step 5) on a layer
    DOWNSTREAM of the dropped one (the penultimate block), so that dropping maps upstream cannot lower its
    score by construction: its mean window probability on the held-out samples' box cells, as generated,
    with the window maps dropped, and with random maps dropped (mean over draws). None when the dropped
    layer is itself the penultimate one (nothing downstream to read)."""
    probe = resolve_forget_layer(G, "penultimate")
    if probe == layer:
        return None
    ds = assemble_dataset(layer_features(G, z_fit, probe), fit_boxes, image_size, config.negatives, config.seed)
    clf = fit_window_classifier(ds, config.C, config.l1_ratio, config.standardize, config.test_fraction, config.seed)

    def evidence(channels: Sequence[int] | None) -> float:
        if channels:
            with ablate(G, layer, channels=[int(c) for c in channels]):
                feats = layer_features(G, z_held, probe)
        else:
            feats = layer_features(G, z_held, probe)
        hw = (int(feats.shape[2]), int(feats.shape[3]))
        probs = []
        for f, boxes in zip(feats, held_boxes, strict=True):
            mask = box_cell_mask(boxes, hw, image_size)
            if mask.any():
                cells = f.permute(1, 2, 0).numpy()[mask]  # (m, C)
                probs.append(1 / (1 + np.exp(-clf.decision_function(cells))))
        return float(np.concatenate(probs).mean()) if probs else float("nan")

    return {"heldout_classifier_layer": probe, "heldout_classifier_auc": clf.auc,
            "heldout_classifier_window_prob_before": evidence(None),
            "heldout_classifier_window_prob_after": evidence(dropped),
            "heldout_classifier_window_prob_random_control": float(np.mean([evidence(r.tolist()) for r in random_sets]))}


def compute_fig6(G: torch.nn.Module, z_annot: torch.Tensor, boxes: Sequence[np.ndarray] | None,
                 z_eval: torch.Tensor, config: ForgetConfig | None = None, meter: ClassMeter | None = None,
                 n_show: int = 10, n_curve: int = 200, curve_points: int = 5, curve_draws: int = 2,
                 progress: Callable[[str], None] | None = None, box_source: str = "given") -> Fig6Data:
    """Run the procedure on annotated latents ``z_annot`` (N, nz) with per-image ``boxes`` (None: the
    meter's automatic boxes) and measure it on fresh latents ``z_eval`` (M, nz) (with ``meter``; without
    one only the shown rows are generated)."""
    say = progress or (lambda s: None)
    config = config or ForgetConfig()
    images_annot = generate(G, z_annot)
    size = int(images_annot.shape[-1])
    source = box_source
    if boxes is None:
        if meter is None:
            raise ValueError("no window boxes given and no segmenter to find them: pass boxes")
        boxes, source = automatic_boxes(meter, images_annot), "automatic (rooms segmenter)"
    heldout: list[int] = []
    if meter is None:  # no segmenter: hold a quarter of the annotated samples out to measure the drop on
        order = np.random.default_rng(config.seed).permutation(len(boxes))
        heldout = sorted(order[: len(boxes) // 4].tolist())
        if not any(len(boxes[i]) for i in heldout):
            heldout = []  # too few annotations to spare: fit on all of them, measure nothing (said below)
    fit_idx = [i for i in range(len(boxes)) if i not in set(heldout)]
    fit_boxes = [boxes[i] for i in fit_idx]
    say(f"fit: {sum(len(b) for b in fit_boxes)} boxes on {sum(len(b) > 0 for b in fit_boxes)} of {len(fit_boxes)} samples"
        + (f" ({len(heldout)} annotated samples held out)" if heldout else ""))
    result = find_window_maps(G, z_annot[fit_idx], fit_boxes, size, config)
    layer, rep, means = result.layer, config.replacement, result.means
    dropped = result.dropped.tolist()

    def gen(z: torch.Tensor, channels: Sequence[int] | None) -> torch.Tensor:
        return generate(G, z, layer if channels else None, channels or None, rep, means)

    n_show = min(n_show, len(z_eval))
    numbers: dict[str, Any] = {**result.summary(), "box_source": source}
    shares = random_shares = row_shares = curve = None
    if meter is None:
        before = gen(z_eval[:n_show], None)
        after = gen(z_eval[:n_show], dropped)
        rand0 = gen(z_eval[:n_show], result.random_sets[0].tolist())
        if heldout:
            z_h = z_annot[heldout]
            hb = gen(z_h, None)
            numbers.update(heldout_box_change(hb, gen(z_h, dropped), [gen(z_h, rs.tolist()) for rs in result.random_sets],
                                              box_pixel_mask([boxes[i] for i in heldout], size)))
            numbers["n_heldout_annotated"] = len(heldout)
            downstream = downstream_window_evidence(G, z_annot[fit_idx], fit_boxes, z_h, [boxes[i] for i in heldout],
                                                    size, layer, dropped, result.random_sets, config)
            if downstream is not None:
                numbers.update(downstream)
            numbers["heldout_measure"] = (
                "no segmenter for this data, so no window count: on the held-out quarter of the hand-annotated "
                "samples (not used for the fit), the mean absolute pixel change inside their hand-drawn window "
                "boxes vs outside them, when the window maps are dropped and when as many random maps are; and "
                "heldout_classifier_*: a window classifier fitted on a layer downstream of the dropped one, its "
                "mean window probability on those samples' box cells")
        else:
            numbers["heldout_measure"] = "not measured: no held-out annotated sample has a box"
    else:
        say(f"measure: {len(z_eval)} fresh samples, before / after / {len(result.random_sets)} random controls")
        before = gen(z_eval, None)
        after = gen(z_eval, dropped)
        per = {"before": meter.shares(before), "after": meter.shares(after)}
        per_rand, rand0 = [], None
        for k, rs in enumerate(result.random_sets):
            imgs = gen(z_eval, rs.tolist())
            per_rand.append(meter.shares(imgs))
            if k == 0:
                rand0 = imgs[:n_show]
        shares = {"before": per["before"].mean(0), "after": per["after"].mean(0)}
        random_shares = [p.mean(0) for p in per_rand]
        shares["random"] = np.mean(random_shares, 0)
        w = meter.window
        row_shares = np.stack([per["before"][:n_show, w], per["after"][:n_show, w], per_rand[0][:n_show, w]])
        numbers.update(_class_numbers(meter, shares["before"], shares["after"], random_shares))
        numbers["n_eval_samples"] = len(z_eval)

        nc = min(n_curve, len(z_eval))
        known = {(): per["before"][:nc, w].mean(), tuple(sorted(dropped)): per["after"][:nc, w].mean()}
        for rs, p in zip(result.random_sets, per_rand, strict=True):
            known.setdefault(tuple(sorted(rs.tolist())), p[:nc, w].mean())

        def measure(channels: Sequence[int] | None) -> float:
            key = tuple(sorted(int(c) for c in channels or ()))
            if key not in known:
                known[key] = float(meter.shares(gen(z_eval[:nc], list(key)))[:, w].mean())
            return float(known[key])

        counts = curve_counts(result.n_channels, result.maps_dropped, curve_points)
        say(f"curve: {len(counts)} counts x (ranked, random) on {nc} samples")
        curve = ablation_curve(measure, result.ranking, counts, result.n_channels, config.seed,
                               fixed_random={result.maps_dropped: result.random_sets} if dropped else None,
                               draws=curve_draws)
        numbers["curve"] = {"maps_dropped": curve.counts, "window_frac_ranked": curve.ranked.tolist(),
                            "window_frac_random": curve.random.tolist(), "window_frac_before": curve.base,
                            "n_samples": nc, "ranking": "regression weight, largest first",
                            "random_draws_per_count": curve_draws}
        before, after = before[:n_show], after[:n_show]
    if rand0 is None:  # ForgetConfig requires n_random >= 1
        raise ForgetError("no random control set was drawn (n_random must be >= 1)")
    rows = to_uint8_image(torch.stack([before[:n_show], after[:n_show], rand0[:n_show]])).numpy()
    return Fig6Data(result, rows, row_shares, shares, random_shares, meter.class_names if meter else None, curve,
                    numbers, source)
