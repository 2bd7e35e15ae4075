"""A "turn" vector in z (paper Fig. 8), measured by a yaw regressor.

    sel = select_turn_exemplars(yaw_of_pool, k=4)           # 4 left-looking, 4 right-looking pool indices
    v = turn_vector(pool.z, sel.left, sel.right)             # (nz,) mean z(left) − mean z(right)
    res = compute_turn(G, pool.z, sel, rows, steps, predict) # walks z_i + t·v, yaw measured on each frame
    res.spearman                                             # pooled Spearman(step t, measured yaw)

Sign convention: yaw is the faces world's (−1 … +1 = −45° … +45°, +1 turned to the viewer's
RIGHT), so "looking left" = yaw < 0. ``v`` points from right to left: moving a sample by +t·v
should LOWER its yaw, i.e. a working turn vector has a NEGATIVE Spearman correlation between step
and yaw (|ρ| is the strength).

Two correlations are reported: ``spearman`` pools every (step, yaw) pair of every walked sample
(stricter: differences between samples count as noise), ``spearman_per_row`` is computed within
each walked sample (how monotone each single turn is). A control walks the same samples along
``n_random`` = 4 random directions of the same length (seeded); their pooled correlations should be
near 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.stats import spearmanr

from interp.analysis.exemplars import Predictor, SamplePool, hand_selection, sample_pool
from interp.core.config import ModelConfig
from interp.core.generation import generate

N_STEPS = 9
MAX_STEP = 1.0

K_EXEMPLARS = 4
LOOK_THRESHOLD = 0.2  # |yaw| a left/right exemplar should reach (yaw 0.2 ≈ 9°)


@dataclass
class TurnSelection:
    """Pool indices of the left- and right-looking exemplars, how chosen, and a note if relaxed."""

    left: list[int]
    right: list[int]
    method: str                       # "classifier" | "hand"
    yaw_left: list[float] | None = None
    yaw_right: list[float] | None = None
    n_left: int | None = None         # pool samples with yaw <= −threshold
    n_right: int | None = None        # pool samples with yaw >= +threshold
    threshold: float | None = None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def select_turn_exemplars(yaw: np.ndarray, k: int = K_EXEMPLARS, threshold: float = LOOK_THRESHOLD) -> TurnSelection:
    """The ``k`` most left-looking (lowest yaw) and ``k`` most right-looking (highest yaw) samples of a
    pool with measured ``yaw`` (N,). Wanted: left yaw <= −threshold and right yaw >= +threshold; when a
    side has fewer than ``k`` such samples (a mode-collapsed generator that never looks one way) the
    most extreme ``k`` by measured yaw are still taken and ``note`` says so."""
    yaw = np.asarray(yaw, np.float64)
    if len(yaw) < 2 * k:
        raise ValueError(f"need at least {2 * k} samples to choose {k} left and {k} right exemplars, got {len(yaw)}")
    order = np.lexsort((np.arange(len(yaw)), yaw))
    left = [int(i) for i in order[:k]]
    right = [int(i) for i in order[::-1][:k]]
    n_left, n_right = int((yaw <= -threshold).sum()), int((yaw >= threshold).sum())
    notes = []
    for side, n in (("left", n_left), ("right", n_right)):
        if n < k:
            notes.append(f"only {n} of {len(yaw)} pool samples look {side} (|yaw| >= {threshold:g})")
    note = None
    if notes:
        note = (f"{'; '.join(notes)}: used the {k} most-left vs the {k} most-right samples by measured yaw "
                f"(left yaw {yaw[left].max():+.2f} at most, right yaw {yaw[right].min():+.2f} at least)")
    return TurnSelection(left, right, "classifier", [round(float(v), 4) for v in yaw[left]],
                         [round(float(v), 4) for v in yaw[right]], n_left, n_right, threshold, note)


def turn_vector(z_pool: torch.Tensor, left: Sequence[int], right: Sequence[int]) -> torch.Tensor:
    """(nz,) mean z of the ``left`` exemplars minus mean z of the ``right`` ones (z_pool (N, nz))."""
    zl, zr = z_pool[list(left)].double().mean(0), z_pool[list(right)].double().mean(0)
    return (zl - zr).float()


def random_direction(nz: int, norm: float, seed: int | Sequence[int] = 0) -> torch.Tensor:
    """(nz,) a seeded random direction (Gaussian, normalised) scaled to ``norm``."""
    v = torch.from_numpy(np.random.default_rng(seed).standard_normal(nz)).double()
    return (v / v.norm() * norm).float()


def walk_along(z_rows: torch.Tensor, direction: torch.Tensor, steps: np.ndarray) -> torch.Tensor:
    """(R, T, nz) = z_rows (R, nz) + steps[t] · direction (nz,)."""
    t = torch.as_tensor(np.asarray(steps), dtype=torch.float32)
    return z_rows[:, None, :] + t[None, :, None] * direction[None, None, :]


def spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    """Spearman's ρ of two equal-length 1-d arrays; None where undefined (a constant input)."""
    x, y = np.asarray(x, np.float64).ravel(), np.asarray(y, np.float64).ravel()
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    rho = spearmanr(x, y).statistic
    return None if not np.isfinite(rho) else float(rho)


@dataclass
class TurnResult:
    """Walks of R samples along the turn vector at T steps (images float (R, T, C, S, S))."""

    selection: TurnSelection
    vector: torch.Tensor               # (nz,)
    rows: list[int]                    # pool indices of the walked samples
    steps: np.ndarray                  # (T,) multiples of the vector
    images: torch.Tensor               # (R, T, C, S, S)
    exemplar_images: torch.Tensor      # (2, k, C, S, S): left, right
    mean_images: torch.Tensor          # (2, C, S, S): G(mean z_left), G(mean z_right)
    yaw: np.ndarray | None = None      # (R, T) measured yaw of every frame
    yaw_random: np.ndarray | None = None  # (D, R, T) the same along D random directions (control)

    @property
    def spearman(self) -> float | None:
        """Pooled over all rows: ρ(step, yaw)."""
        if self.yaw is None:
            return None
        return spearman(np.broadcast_to(self.steps, self.yaw.shape), self.yaw)

    @property
    def spearman_per_row(self) -> list[float | None] | None:
        if self.yaw is None:
            return None
        return [spearman(self.steps, row) for row in self.yaw]

    @property
    def spearman_random_each(self) -> list[float | None] | None:
        """Pooled ρ(step, yaw) along each random direction (the control)."""
        if self.yaw_random is None:
            return None
        return [spearman(np.broadcast_to(self.steps, y.shape), y) for y in self.yaw_random]

    @property
    def spearman_random(self) -> float | None:
        """Mean of :attr:`spearman_random_each` (None where undefined)."""
        each = [v for v in (self.spearman_random_each or []) if v is not None]
        return float(np.mean(each)) if each else None

    @property
    def largest_step_share(self) -> float | None:
        """How abruptly the pose turns: per walk, the largest |yaw change| between neighbouring steps over the
        sum of all of them (1 / (T − 1) for a perfectly even turn, 1 for a single jump), mean over walks with
        any change. Spearman ρ is blind to this: a snap and an even turn are both monotone."""
        if self.yaw is None or self.yaw.shape[1] < 2:
            return None
        d = np.abs(np.diff(self.yaw, axis=1))              # (R, T-1)
        total = d.sum(1)
        ok = total > 1e-9
        return float((d.max(1)[ok] / total[ok]).mean()) if ok.any() else None

    def summary(self) -> dict[str, Any]:
        """JSON-able numbers (for metrics.json)."""
        def r(v: Any) -> float | None:
            return None if v is None else round(float(v), 4)

        out: dict[str, Any] = {
            "spearman": r(self.spearman),
            "steps": [r(s) for s in self.steps],
            "walked_samples": self.rows,
            "n_walked": len(self.rows),
            "turn_vector_norm": r(self.vector.norm()),
            "exemplars": self.selection.as_dict(),
        }
        yaw, yaw_random = self.yaw, self.yaw_random
        if yaw is not None:
            if yaw_random is None:
                raise ValueError("TurnResult: yaw was measured without its random-direction control (yaw_random)")
            per_row = self.spearman_per_row or []        # lists, not None: yaw and yaw_random are set
            each = self.spearman_random_each or []
            finite = [v for v in per_row if v is not None]
            out.update({
                "spearman_per_row": [r(v) for v in per_row],
                "spearman_per_row_mean": r(np.mean(finite)) if finite else None,
                "spearman_random_direction": r(self.spearman_random),
                "spearman_random_directions": [r(v) for v in each],
                "yaw_mean_per_step": [r(v) for v in yaw.mean(0)],
                "yaw_change_mean": r((yaw[:, -1] - yaw[:, 0]).mean()),
                "yaw_change_random_direction_mean": r((yaw_random[..., -1] - yaw_random[..., 0]).mean()),
                "yaw_largest_step_share": r(self.largest_step_share),
                "yaw_largest_step_share_even": r(1 / (len(self.steps) - 1)) if len(self.steps) > 1 else None,
            })
        return out


def compute_turn(G: torch.nn.Module, z_pool: torch.Tensor, selection: TurnSelection, rows: Sequence[int],
                 steps: np.ndarray, predict: Predictor | None = None, seed: int = 0, n_random: int = 4) -> TurnResult:
    """Walk the pool samples ``rows`` along the turn vector of ``selection`` by ``steps`` (T,);
    ``predict`` (images -> {"yaw": (N,), ...}) measures the yaw of every frame, and of the same walks
    along ``n_random`` random directions of equal norm (seeds ``[seed, 0..n_random-1]``)."""
    rows = [int(i) for i in rows]
    v = turn_vector(z_pool, selection.left, selection.right)
    steps = np.asarray(steps, np.float64)
    z = walk_along(z_pool[rows], v, steps)                           # (R, T, nz)
    R, T, nz = z.shape
    images = generate(G, z.reshape(-1, nz))
    shape = images.shape[1:]
    images = images.view(R, T, *shape)
    ex = generate(G, z_pool[selection.left + selection.right]).view(2, len(selection.left), *shape)
    means = generate(G, torch.stack([z_pool[selection.left].mean(0), z_pool[selection.right].mean(0)]))
    res = TurnResult(selection, v, rows, steps, images, ex, means)
    if predict is not None:
        pred = predict(images.flatten(0, 1))
        if "yaw" not in pred:
            raise KeyError(f"the classifier gives no yaw (it gives {sorted(pred)}); cannot measure the turn")
        res.yaw = np.asarray(pred["yaw"], np.float64).reshape(R, T)
        dirs = [random_direction(nz, float(v.norm()), [seed, d]) for d in range(n_random)]
        control = torch.stack([walk_along(z_pool[rows], d, steps) for d in dirs])     # (D, R, T, nz)
        yaw_c = predict(generate(G, control.reshape(-1, nz)))["yaw"]
        res.yaw_random = np.asarray(yaw_c, np.float64).reshape(n_random, R, T)
    return res


__all__ = ["K_EXEMPLARS", "LOOK_THRESHOLD", "TurnResult", "TurnSelection", "compute_turn", "random_direction",
           "select_turn_exemplars", "spearman", "turn_vector", "walk_along"]


@dataclass
class Fig8Data:
    result: TurnResult | None
    pool: SamplePool
    pool_pred: dict[str, np.ndarray] | None
    note: str | None = None


def compute_fig8(G: torch.nn.Module, cfg: ModelConfig, predict: Predictor | None, seed: int = 0, n_pool: int = 1000,
                 n_rows: int = 32, steps: np.ndarray | None = None, left: list[int] | None = None,
                 right: list[int] | None = None, threshold: float = LOOK_THRESHOLD) -> Fig8Data:
    """Exemplars (``left``/``right`` by hand, else by measured yaw) and the walks. With neither a yaw
    regressor nor hand-picked exemplars ``result`` is None and ``note`` says why."""
    steps = np.linspace(-MAX_STEP, MAX_STEP, N_STEPS) if steps is None else np.asarray(steps, np.float64)
    pool = sample_pool(G, cfg, n_pool, seed)
    pool_pred = predict(pool.images) if predict is not None else None
    if (left is None) != (right is None):
        raise ValueError("fig8: give both left and right exemplars by hand (or neither)")
    if left is not None and right is not None:
        hl = hand_selection("left-looking", left, n_pool)
        hr = hand_selection("right-looking", right, n_pool)
        if set(hl.indices) & set(hr.indices):
            raise ValueError(f"fig8: samples {sorted(set(hl.indices) & set(hr.indices))} are both left and right")
        sel = TurnSelection(hl.indices, hr.indices, "hand")
        if pool_pred is not None and "yaw" in pool_pred:
            yaw = pool_pred["yaw"]
            sel.yaw_left = [round(float(v), 4) for v in yaw[sel.left]]
            sel.yaw_right = [round(float(v), 4) for v in yaw[sel.right]]
            if np.mean(sel.yaw_left) >= np.mean(sel.yaw_right):
                sel.note = "the hand-picked 'left' exemplars do not look further left than the 'right' ones (by yaw)"
    elif pool_pred is not None:
        if "yaw" not in pool_pred:
            raise KeyError(f"fig8: the classifier gives no yaw (it gives {sorted(pool_pred)})")
        sel = select_turn_exemplars(pool_pred["yaw"], K_EXEMPLARS, threshold)
    else:
        return Fig8Data(None, pool, None, "no yaw regressor fits this data and no exemplars were picked by hand: "
                                          "pick 4 left- and 4 right-looking samples from fig8_sample_sheet.png, "
                                          "e.g. --option fig8.left=3,17,42,8 --option fig8.right=5,6,7,9")
    used = set(sel.left) | set(sel.right)
    rows = [i for i in range(n_pool) if i not in used][:n_rows]
    if len(rows) < 1:
        raise ValueError(f"fig8: the pool of {n_pool} has no samples left to walk")
    res = compute_turn(G, pool.z, sel, rows, steps, predict, seed=seed)
    return Fig8Data(res, pool, pool_pred, sel.note)




