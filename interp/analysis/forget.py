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

CLI for a model of your own (e.g. LSUN bedrooms)::

    python -m interp.analysis.forget sheet --checkpoint RUN --out boxes_work/     # numbered samples to annotate
    python -m interp.analysis.forget run --checkpoint RUN --boxes boxes_work/boxes.csv --out fig6_out/
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .hooks import (
    LayerNotFoundError,
    ablate,
    channel_means,
    eval_mode,
    record,
    resolve_layer,
)

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
    resolved as by :func:`~interp.analysis.hooks.resolve_layer` (dotted names, ``"penultimate"``)."""
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
    mean, scale = _standardizer(X) if standardize else (None, None)
    Xs = (X - mean) / scale if standardize else X
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = _logistic(C, l1_ratio, seed).fit(Xs, ds.y)
    return WindowClassifier(clf.coef_[0].copy(), float(clf.intercept_[0]), auc, n_train, n_test, ds.n_positive,
                            int(len(ds.y) - ds.n_positive), mean, scale)


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
    dev = next(G.parameters()).device
    outs = []
    with eval_mode(G), torch.no_grad():
        for s in range(0, len(z), batch_size):
            zb = z[s : s + batch_size].to(dev)
            if layer is None or channels is None:
                outs.append(G(zb).float().cpu())
                continue
            kw: dict[str, Any] = {"replacement": "mean", "means": means} if replacement == "mean" else {}
            with ablate(G, layer, channels=[int(c) for c in channels], **kw):
                outs.append(G(zb).float().cpu())
    return torch.cat(outs)


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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m interp.analysis.forget", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog="""\
examples:
  python -m interp.analysis.forget sheet --checkpoint runs/my-lsun --out boxes_work
      # writes boxes_work/sheet.png (numbered samples), samples/sample_0000.png ... (4x enlarged),
      # boxes_template.json (COCO, for CVAT/labelme) and boxes.csv (header only)
  python -m interp.analysis.forget run --checkpoint runs/my-lsun --boxes boxes_work/boxes.csv --out fig6_out
      # fits the window classifier, drops the maps, writes fig6_forget_windows.png and forget.json
""")
    sub = p.add_subparsers(dest="cmd", required=True)
    for name, helptext in (("sheet", "write the numbered samples to annotate"),
                           ("run", "fit, drop the window maps and draw the rows")):
        s = sub.add_parser(name, help=helptext)
        s.add_argument("--checkpoint", required=True, help="checkpoint file or run directory (any format interp loads)")
        s.add_argument("--n", type=int, default=150, help="number of annotated samples (default 150, the paper's)")
        s.add_argument("--seed", type=int, default=0, help="latent seed of the annotated samples (default 0)")
        s.add_argument("--out", required=True, help="output directory")
        s.add_argument("--device", default="cpu")
    s = sub.choices["sheet"]
    s.add_argument("--cols", type=int, default=10, help="samples per sheet row (default 10)")
    s.add_argument("--scale", type=int, default=4, help="enlargement of the exported samples (default 4)")
    r = sub.choices["run"]
    r.add_argument("--boxes", required=True, help="window boxes: .csv (image,x0,y0,x1,y1) or COCO .json")
    r.add_argument("--layer", default=PAPER_LAYER,
                   help="generator layer: second_highest (default, up2.act at 64 px), penultimate, or a dotted name")
    r.add_argument("--negatives", choices=NEGATIVES, default="outside")
    r.add_argument("--C", type=float, default=1.0, help="inverse regularisation strength (default 1)")
    r.add_argument("--threshold", type=float, default=0.0, help="drop maps with weight > this (default 0)")
    r.add_argument("--replacement", choices=REPLACEMENTS, default="zero")
    r.add_argument("--show", type=int, default=10, help="samples per row of the figure (default 10)")
    r.add_argument("--measure", type=int, default=0, metavar="N",
                   help="rooms models only: measure window pixel shares with the rooms segmenter on N fresh "
                        "samples (e.g. 500), with the ranked-ablation curve")
    return p


def _sheet(args: argparse.Namespace) -> int:
    from ..checkpoint import load_gan
    from ..data.base import to_uint8_image
    from ..latent import sample_z
    from .sample_sheet import write_annotation_kit

    gan = load_gan(args.checkpoint, device=args.device)
    z = sample_z(args.n, gan.config, seed=args.seed)
    images = to_uint8_image(generate(gan.G, z)).numpy()
    info = {"checkpoint": str(gan.path), "n": args.n, "seed": args.seed, "image_size": gan.config.image_size}
    paths = write_annotation_kit(Path(args.out), images, info, cols=args.cols, scale=args.scale)
    for k, v in paths.items():
        print(f"wrote {k}: {v}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from ..checkpoint import load_gan
    from ..figures.forget_windows import compute_fig6, fig6_title, plot_fig6
    from ..figures.plotting import save_figure
    from ..latent import sample_z
    from .annotations import boxes_per_image, read_boxes

    gan = load_gan(args.checkpoint, device=args.device)
    size = gan.config.image_size
    per_image = boxes_per_image(read_boxes(args.boxes, image_size=size), args.n, size, path=args.boxes)
    cfg = ForgetConfig(layer=args.layer, negatives=args.negatives, C=args.C, threshold=args.threshold,
                       replacement=args.replacement)
    n_eval = max(args.show, args.measure)
    z_all = sample_z(args.n + n_eval, gan.config, seed=args.seed)   # fresh samples follow the annotated ones
    z_annot, z_eval = z_all[: args.n], z_all[args.n :]
    meter = None
    if args.measure:
        from ..figures.forget_windows import ClassMeter
        from ..instruments import get_instrument
        from ..worlds.rooms import CLASS_NAMES

        meter = ClassMeter(get_instrument("room_segmenter"), CLASS_NAMES)
    data = compute_fig6(gan.G, z_annot, per_image, z_eval, cfg, meter, n_show=args.show,
                        box_source=f"imported from {Path(args.boxes).name}")
    out = Path(args.out)
    path = Path(gan.path)
    model = f"{path.parent.parent.name}/{path.name}" if path.parent.name == "checkpoints" else path.name
    png = save_figure(plot_fig6(data, fig6_title(data, model)), out / "fig6_forget_windows.png")
    from ..atomic import atomic_write_text
    from ..figures.metrics import jsonable

    numbers = {"checkpoint": str(gan.path), "boxes": str(args.boxes), "seed": args.seed, **data.numbers}
    atomic_write_text(out / "forget.json", json.dumps(jsonable(numbers), indent=2) + "\n")
    print(f"maps dropped: {data.result.maps_dropped} of {data.result.n_channels} ({data.result.layer}); "
          f"held-out AUC {data.result.classifier.auc:.3f}")
    print(f"wrote {png}\nwrote {out / 'forget.json'}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _sheet(args) if args.cmd == "sheet" else _run(args)
    except ValueError as exc:  # AnnotationError, CheckpointError, bad settings: one clear line
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
