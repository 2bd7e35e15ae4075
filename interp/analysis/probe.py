"""Tables 1–2 of Radford et al. (2016): the discriminator's features as a frozen image representation.

The paper's protocol (section 5.1): "we use the discriminator's convolutional features from all
layers, maxpooling each layers representation to produce a 4 × 4 spatial grid. These features are
then flattened and concatenated to form a 28672 dimensional vector and a regularized linear L2-SVM
classifier is trained on top of them." Reported: CIFAR-10 82.8 % accuracy (Table 1, D trained on
ImageNet-1k); SVHN with 1000 labels (100 per class, uniformly drawn; 10,000 held-out non-extra
images for model selection) 22.48 % error (Table 2).

Here:

* :func:`discriminator_features` — every conv block's output (after its activation) of an interp
  :class:`~interp.core.models.Discriminator`, adaptive-max-pooled to 4×4, flattened and concatenated:
  ``F = 16 · (ndf + 2·ndf + … + 2**(L-1)·ndf)`` (L = 3 blocks at 32 px, 4 at 64 px), i.e.
  ``16·7·ndf`` at 32 px and ``16·15·ndf`` at 64 px. (The paper's 28672 = 16·(256+512+1024).)
* :func:`probe` — the L2-SVM protocol on precomputed features: per draw, a labelled set
  (``labels_per_class`` per class, or the whole pool), a disjoint validation split to choose C,
  StandardScaler fit on the labelled set, :class:`sklearn.svm.LinearSVC` (squared hinge = L2-SVM),
  test accuracy; mean ± std over draws.
* :func:`run_probe` — checkpoint + dataset name -> a JSON-able result dict (``accuracy``,
  ``accuracy_std``, ``dataset`` feed the ``table1`` section of ``metrics.json``).
* ``interp probe --help`` — the command line, including the ``--random-d`` control.
"""

from __future__ import annotations

import logging
import math
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from interp.core.config import ModelConfig
from interp.core.models import Discriminator
from interp.core.modes import eval_mode

logger = logging.getLogger(__name__)

#: the C grid, chosen on a held-out part of the training set. It reaches down to 1e-6 because on CIFAR-10
#: (7,168 standardised features, 10,000 training images) the smallest value of a grid that started at 1e-4
#: was chosen every time (5-epoch D: 1e-4; epoch-1 D of runs/cifar-d: 1e-4), i.e. the best C lay below it
DEFAULT_CS: tuple[float, ...] = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0)
GRID = 4  # the paper's 4 × 4 max-pool grid
DEFAULT_VAL_SIZE = 10_000  # the paper's SVHN validation set
DEFAULT_C_PATIENCE = 2  # the C sweep stops after this many Cs in a row no better than the best validation accuracy
GENERATED_DATASETS = ("shapes", "faces", "rooms")  # item i does not depend on n: n=limit is a prefix


class ProbeError(ValueError):
    """Bad probe input (unknown label, too few examples per class, wrong image shape ...)."""


# --------------------------------------------------------------------------- features


def feature_dim(D: Discriminator) -> int:
    """Length of :func:`discriminator_features` vectors for ``D``: 16 · sum of block widths."""
    cfg = D.cfg
    return GRID * GRID * sum(cfg.ndf * 2**i for i in range(cfg.n_up))


@torch.no_grad()
def discriminator_features(
    D: Discriminator,
    images: np.ndarray | torch.Tensor,
    batch_size: int = 256,
    *,
    device: torch.device | str | None = None,
    progress: bool = False,
    desc: str = "features",
) -> np.ndarray:
    """The paper's D features of ``images``: float32 (N, F).

    ``images``: (N, nc, S, S), uint8 in [0, 255] or float in [-1, 1] (the D's input range), S the
    D's ``image_size``. Each conv block's output (after LeakyReLU; ``D.features``) is
    adaptive-max-pooled to 4 × 4 (a block already at 4 × 4 is unchanged), flattened channel-major
    and the blocks concatenated, shallowest first.

    D runs in eval mode under ``no_grad`` (its train/eval state is restored afterwards). Models
    with ``cfg.bn_batch_stats`` (the authors' Theano checkpoints) normalise with the statistics of
    each batch even in eval mode, so their features depend on the batch composition: batches are
    ``batch_size`` consecutive images as given (the last one may be smaller) — use a large batch
    and shuffled data for features comparable to training.
    """
    cfg = D.cfg
    expected = (cfg.nc, cfg.image_size, cfg.image_size)
    if images.ndim != 4 or tuple(images.shape[1:]) != expected:
        raise ProbeError(f"discriminator_features: D expects images (N, {expected}), got {tuple(images.shape)}")
    if batch_size < 1:
        raise ProbeError(f"batch_size must be >= 1, got {batch_size}")
    if device is None:
        device = next(D.parameters()).device
    n = len(images)
    if n == 0:
        return np.empty((0, feature_dim(D)), np.float32)
    out: np.ndarray | None = None  # allocated at the first batch, with its feature width
    starts = range(0, n, batch_size)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc=desc, unit="batch", total=math.ceil(n / batch_size), file=sys.stderr)
    with eval_mode(D):
        for start in starts:
            chunk = images[start : start + batch_size]
            chunk = chunk if torch.is_tensor(chunk) else torch.from_numpy(np.array(chunk))
            if chunk.dtype == torch.uint8:
                x = chunk.float().div_(127.5).sub_(1.0)
            else:
                x = chunk.float()
            x = x.to(device)
            pooled = [F.adaptive_max_pool2d(h, GRID).flatten(1) for h in D.features(x)]
            feats = torch.cat(pooled, 1).cpu().numpy()
            if out is None:
                out = np.empty((n, feats.shape[1]), np.float32)
            out[start : start + len(chunk)] = feats
    if out is None:  # n > 0, so the loop ran at least once
        raise RuntimeError("discriminator_features: no batch was processed")
    return out


# --------------------------------------------------------------------------- the L2-SVM protocol


@dataclass
class ProbeResult:
    """Test accuracy of the L2-SVM probe, mean and std over ``draws`` label draws."""

    accuracy: float
    accuracy_std: float
    accuracies: list[float]
    chosen_C: list[float]
    n_train: list[int]
    n_val: list[int]
    feature_dim: int
    n_test: int
    val_accuracies: list[dict[str, float]] = field(default_factory=list)  # per draw: str(C) -> acc
    not_converged: list[list[float]] = field(default_factory=list)  # per draw: Cs that hit max_iter

    @property
    def error(self) -> float:
        return 1.0 - self.accuracy

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _resolve_val_size(val_size: float | None, available: int, pool: int, all_labels: bool) -> int:
    if val_size is None:
        n = min(DEFAULT_VAL_SIZE, round(0.2 * pool)) if all_labels else min(DEFAULT_VAL_SIZE, available)
    elif isinstance(val_size, float) and 0 < val_size < 1:
        n = round(val_size * pool)
    else:
        n = int(val_size)
    n = min(n, available)
    if n < 1:
        raise ProbeError(
            f"no validation examples left to choose C (train pool {pool}, {available} not labelled); "
            "use fewer labels_per_class or a larger train set"
        )
    return n


def _fit(X: np.ndarray, y: np.ndarray, C: float, max_iter: int, seed: int, n_jobs: int | None = None):
    """LinearSVC (one-vs-rest for several classes); ``n_jobs`` != 1 fits the classes' binary SVMs in
    parallel (``OneVsRestClassifier``: the same one-vs-rest scheme LinearSVC uses, liblinear being
    single-threaded). Returns (classifier, converged)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.svm import LinearSVC

    clf = LinearSVC(C=C, loss="squared_hinge", penalty="l2", dual="auto", max_iter=max_iter, random_state=seed)
    if n_jobs not in (None, 1) and len(np.unique(y)) > 2:
        clf = OneVsRestClassifier(clf, n_jobs=n_jobs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        clf.fit(X, y)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return clf, converged


SOLVERS = ("liblinear", "torch")


class _NoBar:
    """Stands in for a tqdm bar when progress is off."""

    total = 0

    def update(self, n: int = 1) -> None: ...
    def set_postfix_str(self, s: str) -> None: ...
    def refresh(self) -> None: ...
    def close(self) -> None: ...


def _sweep_bar(total: int, progress: bool) -> Any:
    """A bar over the SVM fits of a probe (the C sweep and the refits), on stderr; a stand-in when off."""
    if not progress:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="L2-SVM fits", unit="fit", file=sys.stderr)


class _OneC:
    """A TorchLinearSVM of one C seen as a classifier (``predict`` like sklearn's)."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.model.predict(X, 0)


class _TorchPath:
    """The torch solver's fits of one probe: one preconditioner for all of them (the same features, standardised
    per split), and every fit warm-started from the nearest earlier solution (the previous C of this draw, or
    the same C of an earlier draw)."""

    def __init__(self, max_iter: int, device: str | None) -> None:
        self.max_iter, self.device = max_iter, device
        self.pre: Any = None
        self.last: dict[float, Any] = {}  # C -> the latest model fitted at C

    def fit(self, X: np.ndarray, y: np.ndarray, C: float, warm: Any = None) -> tuple[_OneC, bool]:
        from interp.analysis.svm import Preconditioner, TorchLinearSVM, as_float32_tensor

        Xt = as_float32_tensor(X, self.device)
        if self.pre is None:
            start = time.perf_counter()
            self.pre = Preconditioner.estimate(Xt)
            logger.info("torch SVM preconditioner (rank %d): %.1f s", len(self.pre.lam), time.perf_counter() - start)
        init = self.last.get(C, warm)
        start = time.perf_counter()
        model = TorchLinearSVM.fit(Xt, y, [C], max_iter=self.max_iter, device=self.device, precondition=self.pre,
                                   init=init)
        logger.info("torch SVM, C=%g, %d x %d, %s start: %d evaluations, %.1f s%s", C, *Xt.shape,
                    "cold" if init is None else "warm", model.n_iter, time.perf_counter() - start,
                    "" if model.converged else " (not converged)")
        self.last[C] = model
        return _OneC(model), model.converged


def probe(
    train_feats: np.ndarray,
    train_labels: np.ndarray,
    test_feats: np.ndarray,
    test_labels: np.ndarray,
    *,
    labels_per_class: int | None = None,
    draws: int = 5,
    val_size: float | None = None,
    Cs: Sequence[float] = DEFAULT_CS,
    seed: int = 0,
    max_iter: int = 1000,
    n_jobs: int | None = None,
    solver: str = "liblinear",
    device: str | None = None,
    c_patience: int | None = DEFAULT_C_PATIENCE,
    progress: bool = False,
) -> ProbeResult:
    """Train and test a linear L2-SVM on features, choosing C on a validation split, ``draws`` times.

    Per draw ``d`` (randomness from ``np.random.default_rng([seed, d])`` only):

    * ``labels_per_class=N``: N examples of every class, uniformly without replacement, from the
      train pool form the labelled set; the validation split (``val_size``, default
      ``min(10000, rest)``, the paper's SVHN protocol) is drawn from the *rest* of the pool.
      The SVM with the best validation accuracy (ties -> the smaller C) is tested; it was
      trained on the N·classes labelled examples only.
    * ``labels_per_class=None``: the pool is shuffled and ``val_size`` (default 20 % up to
      10000; a float in (0, 1) is a fraction) held out to choose C; the SVM is then refit with the
      chosen C on the whole pool (labelled + validation), so draws differ only in the validation
      split used to choose C.

    Features are standardised (StandardScaler fit on the labelled set). The classifier is
    ``LinearSVC(loss="squared_hinge", dual="auto", max_iter=max_iter)``; fits that stop at
    ``max_iter`` (typically the largest Cs on non-separable features, which are also the slow
    ones) are listed per draw in ``not_converged``. ``accuracy``/``accuracy_std`` are the mean and
    (population) std of the test accuracy over draws. ``n_jobs``: classes fitted in parallel (-1:
    all cores; results equal the serial fit's up to solver tolerance). ``solver="torch"``: the same
    objective solved by :class:`interp.analysis.svm.TorchLinearSVM` (on ``device``), preconditioned and
    warm-started along the C path, much faster on large problems; it agrees with LinearSVC (tests).

    The C sweep runs over ``Cs`` in ascending order and stops once ``c_patience`` Cs in a row scored
    no better than the best validation accuracy so far (``None``: the whole grid): the large Cs, by far the
    slowest fits, are only tried while the validation accuracy still rises. ``val_accuracies`` lists the
    Cs that were tried. With ``labels_per_class=None`` the refit on the whole pool depends on the chosen
    C only, so draws that choose the same C share one refit. ``progress``: a bar over the fits on stderr.
    """
    from sklearn.preprocessing import StandardScaler

    Xtr = np.asarray(train_feats, np.float32)
    ytr = np.asarray(train_labels)
    Xte = np.asarray(test_feats, np.float32)
    yte = np.asarray(test_labels)
    if Xtr.ndim != 2 or Xte.ndim != 2 or Xtr.shape[1] != Xte.shape[1]:
        raise ProbeError(f"features must be (N, F) with equal F, got train {Xtr.shape}, test {Xte.shape}")
    if len(Xtr) != len(ytr) or len(Xte) != len(yte):
        raise ProbeError(f"features/labels length mismatch: train {len(Xtr)}/{len(ytr)}, test {len(Xte)}/{len(yte)}")
    if len(Xte) == 0:
        raise ProbeError("empty test set")
    classes, counts = np.unique(ytr, return_counts=True)
    if len(classes) < 2:
        raise ProbeError(f"need at least 2 classes in the train labels, got {classes.tolist()}")
    if draws < 1:
        raise ProbeError(f"draws must be >= 1, got {draws}")
    if seed < 0:
        raise ProbeError(f"seed must be >= 0, got {seed}")
    if solver not in SOLVERS:
        raise ProbeError(f"solver must be one of {list(SOLVERS)}, got {solver!r}")
    Cs = sorted(float(c) for c in Cs)
    if not Cs or any(c <= 0 for c in Cs):
        raise ProbeError(f"Cs must be positive, got {Cs}")
    if c_patience is not None and c_patience < 1:
        raise ProbeError(f"c_patience must be >= 1 or None, got {c_patience}")
    if labels_per_class is not None:
        if labels_per_class < 1:
            raise ProbeError(f"labels_per_class must be >= 1, got {labels_per_class}")
        short = {int(c) if np.issubdtype(type(c), np.integer) else c: int(k)
                 for c, k in zip(classes, counts, strict=True) if k < labels_per_class}
        if short:
            raise ProbeError(f"labels_per_class={labels_per_class} but some classes have fewer train examples: {short}")

    pool = len(Xtr)

    def split(d: int) -> tuple[np.ndarray, np.ndarray]:
        """Draw d's (labelled, validation) row indices of the train pool, labelled sorted."""
        rng = np.random.default_rng([seed, d])
        if labels_per_class is not None:
            labelled = np.concatenate(
                [rng.choice(np.flatnonzero(ytr == c), labels_per_class, replace=False) for c in classes]
            )
            rest = np.setdiff1d(np.arange(pool), labelled)
            n_val = _resolve_val_size(val_size, len(rest), pool, all_labels=False)
            val = rng.choice(rest, n_val, replace=False)
        else:
            perm = rng.permutation(pool)
            n_val = _resolve_val_size(val_size, pool - 1, pool, all_labels=True)
            val, labelled = perm[:n_val], perm[n_val:]
            if len(np.unique(ytr[labelled])) < 2:
                raise ProbeError("the labelled part of the split has a single class; use a larger train set")
        return np.sort(labelled), val

    if solver == "torch" and labels_per_class is None:
        return _probe_torch_batched(Xtr, ytr, Xte, yte, [split(d) for d in range(draws)], Cs, max_iter, device,
                                    c_patience, progress)
    path = _TorchPath(max_iter, device) if solver == "torch" else None
    bar = _sweep_bar(draws * (len(Cs) + (labels_per_class is None)), progress)
    refits: dict[float, tuple[Any, Any, bool]] = {}
    accs, chosen, n_trains, n_vals, val_tables, unconverged = [], [], [], [], [], []
    for d in range(draws):
        labelled, val = split(d)
        scaler = StandardScaler().fit(Xtr[labelled])
        Xl, Xv = scaler.transform(Xtr[labelled]), scaler.transform(Xtr[val])
        table: dict[str, float] = {}
        bad: list[float] = []
        best: tuple[float, float, Any, Any] | None = None  # (val accuracy, C, classifier, scaler)
        below = 0  # consecutive Cs whose validation accuracy is no better than the best so far
        previous: Any = None
        for i, C in enumerate(Cs):
            if c_patience is not None and below >= c_patience:
                bar.update(len(Cs) - i)  # the Cs this draw's sweep skips
                break  # the validation accuracy has fallen c_patience times in a row: stop the sweep
            if path is not None:
                clf, ok = path.fit(Xl, ytr[labelled], C, warm=previous)
                previous = clf.model
            else:
                clf, ok = _fit(Xl, ytr[labelled], C, max_iter, seed, n_jobs)
            if not ok:
                bad.append(C)
            acc = float((clf.predict(Xv) == ytr[val]).mean())
            table[repr(C)] = acc
            bar.update(1)
            bar.set_postfix_str(f"draw {d + 1}/{draws}, C={C:g}: validation {acc:.3f}")
            if best is None or acc > best[0]:
                best, below = (acc, C, clf, scaler), 0
            else:
                below += 1
        if best is None:  # Cs was checked to be non-empty above
            raise ProbeError("no C value to choose from")
        _, C_best, clf, scaler = best
        if labels_per_class is None:  # refit on the whole pool with the chosen C
            if C_best in refits:  # the refit depends on C only: draws that chose the same C share it
                scaler, clf, ok = refits[C_best]
            else:
                scaler = StandardScaler().fit(Xtr)
                if path is not None:
                    clf, ok = path.fit(scaler.transform(Xtr), ytr, C_best, warm=best[2].model)
                else:
                    clf, ok = _fit(scaler.transform(Xtr), ytr, C_best, max_iter, seed, n_jobs)
                refits[C_best] = (scaler, clf, ok)
            bar.update(1)
            if not ok and C_best not in bad:
                bad.append(C_best)
            n_train = pool
        else:
            n_train = len(labelled)
        accs.append(float((clf.predict(scaler.transform(Xte)) == yte).mean()))
        chosen.append(C_best)
        n_trains.append(int(n_train))
        n_vals.append(len(val))
        val_tables.append(table)
        unconverged.append(bad)
    bar.close()
    return ProbeResult(
        accuracy=float(np.mean(accs)),
        accuracy_std=float(np.std(accs)),
        accuracies=accs,
        chosen_C=chosen,
        n_train=n_trains,
        n_val=n_vals,
        feature_dim=int(Xtr.shape[1]),
        n_test=len(Xte),
        val_accuracies=val_tables,
        not_converged=unconverged,
    )


def _probe_torch_batched(Xtr: np.ndarray, ytr: np.ndarray, Xte: np.ndarray, yte: np.ndarray,
                         splits: list[tuple[np.ndarray, np.ndarray]], Cs: Sequence[float], max_iter: int,
                         device: str | None, c_patience: int | None, progress: bool = False) -> ProbeResult:
    """:func:`probe`'s protocol with the whole pool labelled and the torch solver, every draw's fit at one C in
    a single LBFGS run (:meth:`TorchLinearSVM.fit_batch`).

    The same SVMs as fitting the draws one by one: draw d's features, standardised on its labelled rows, are
    the pool's standardised features X0 under a per-feature affine map (Z_d = X0 ⊙ a_d + b_d, a_d =
    σ_pool / σ_d, b_d = (μ_pool − μ_d) / σ_d), and each draw's loss counts its labelled rows only. One pass
    over X0 (N, D) per evaluation then serves all draws: the products are bound by reading X0, so three
    draws cost about what one did. Draws leave the C sweep on their own patience; each fit is warm-started
    from the draw's previous C. The refits on the whole pool (one per distinct chosen C) share one run too.
    """
    from sklearn.preprocessing import StandardScaler

    from interp.analysis.svm import Preconditioner, Subproblem, TorchLinearSVM, as_float32_tensor

    pool_scaler = StandardScaler().fit(Xtr)
    X0 = as_float32_tensor(pool_scaler.transform(Xtr), device)
    start = time.perf_counter()
    pre = Preconditioner.estimate(X0)
    logger.info("torch SVM preconditioner (rank %d): %.1f s", len(pre.lam), time.perf_counter() - start)
    draws = len(splits)
    scalers, affine = [], []
    for labelled, _ in splits:
        sc = StandardScaler().fit(Xtr[labelled])
        scalers.append(sc)
        affine.append(((pool_scaler.scale_ / sc.scale_).astype(np.float32),
                       ((pool_scaler.mean_ - sc.mean_) / sc.scale_).astype(np.float32)))
    tables: list[dict[str, float]] = [{} for _ in range(draws)]
    bad: list[list[float]] = [[] for _ in range(draws)]
    best: list[tuple[float, float, Any] | None] = [None] * draws  # (val accuracy, C, model)
    below = [0] * draws  # per draw: consecutive Cs no better than its best so far
    previous: list[Any] = [None] * draws
    bar = _sweep_bar(len(Cs) + 1, progress)  # one fit per C (all draws together), then the refit
    for i, C in enumerate(Cs):
        active = [d for d in range(draws) if c_patience is None or below[d] < c_patience]
        if not active:
            bar.update(len(Cs) - i)  # the Cs the sweep skips
            break  # every draw's validation accuracy has fallen c_patience times in a row
        start = time.perf_counter()
        models = TorchLinearSVM.fit_batch(
            X0, ytr, [Subproblem(C, rows=splits[d][0], scale=affine[d][0], shift=affine[d][1], init=previous[d])
                      for d in active], max_iter=max_iter, precondition=pre)
        logger.info("torch SVM, C=%g, %d draw(s) batched, %d x %d: %d evaluations, %.1f s%s", C, len(active),
                    *X0.shape, models[0].n_iter, time.perf_counter() - start,
                    "" if models[0].converged else " (not converged)")
        for d, model in zip(active, models, strict=True):
            previous[d] = model
            if not model.converged:
                bad[d].append(C)
            val = splits[d][1]
            acc = float((model.predict(scalers[d].transform(Xtr[val]), 0) == ytr[val]).mean())
            tables[d][repr(C)] = acc
            so_far = best[d]
            if so_far is None or acc > so_far[0]:
                best[d], below[d] = (acc, C, model), 0
            else:
                below[d] += 1
        bar.update(1)
        bar.set_postfix_str(f"C={C:g}: validation " + " / ".join(f"{tables[d][repr(C)]:.3f}" for d in active))
    chosen = [b[1] for b in best if b is not None]
    if len(chosen) != draws:
        raise ProbeError("no C value to choose from")
    refit_Cs = sorted(set(chosen))
    start = time.perf_counter()
    # warm start: the chosen C's fit of the first draw that chose it (its own standardisation, near the pool's)
    inits = {C: next(b[2] for b in best if b is not None and b[1] == C) for C in refit_Cs}
    refits = TorchLinearSVM.fit_batch(X0, ytr, [Subproblem(C, init=inits[C]) for C in refit_Cs],
                                      max_iter=max_iter, precondition=pre)
    logger.info("torch SVM refit on the whole pool, C=%s: %d evaluations, %.1f s", refit_Cs, refits[0].n_iter,
                time.perf_counter() - start)
    bar.update(1)
    bar.close()
    test_pred = {C: m.predict(pool_scaler.transform(Xte), 0) for C, m in zip(refit_Cs, refits, strict=True)}
    accs = []
    for d, C in enumerate(chosen):
        if not refits[refit_Cs.index(C)].converged and C not in bad[d]:
            bad[d].append(C)
        accs.append(float((test_pred[C] == yte).mean()))
    return ProbeResult(
        accuracy=float(np.mean(accs)),
        accuracy_std=float(np.std(accs)),
        accuracies=accs,
        chosen_C=chosen,
        n_train=[len(Xtr)] * draws,
        n_val=[len(v) for _, v in splits],
        feature_dim=int(Xtr.shape[1]),
        n_test=len(Xte),
        val_accuracies=tables,
        not_converged=bad,
    )


# --------------------------------------------------------------------------- datasets and labels


def resolve_labels(ds: Any, label: str) -> np.ndarray:
    """Integer class labels (N,) of dataset ``ds`` for the ``label`` spec.

    * ``"class"`` (cifar10, svhn, shapes, folder class trees) or any other 1-D integer/bool label
      array of ``ds.labels`` (e.g. rooms ``"has_bed"``, ``"window_count"``);
    * ``"attribute:<name>"`` — a column of ``ds.labels["attributes"]`` (faces: male, smiling,
      eyeglasses, yaw) thresholded to 0/1: ``> 0.5`` for attributes in [0, 1], ``> 0`` for signed
      ones such as yaw (turned to the viewer's right).
    """
    labels = ds.labels
    if label.startswith("attribute:"):
        name = label.split(":", 1)[1]
        if "attributes" not in labels:
            raise ProbeError(f"{getattr(ds, 'name', 'dataset')}: no 'attributes' labels (available: {sorted(labels)})")
        names = list(getattr(ds, "attribute_names", ()) or ())
        if not names:
            from interp.worlds import ATTRIBUTE_NAMES

            names = list(ATTRIBUTE_NAMES)
        if name not in names:
            raise ProbeError(f"unknown attribute {name!r}; choose from {names}")
        col = np.asarray(labels["attributes"])[:, names.index(name)].astype(np.float64)
        threshold = 0.5 if col.min() >= 0 else 0.0
        return (col > threshold).astype(np.int64)
    if label not in labels:
        raise ProbeError(
            f"{getattr(ds, 'name', 'dataset')} has no label {label!r}; available: {sorted(labels)}"
            + ("; use 'attribute:<name>'" if "attributes" in labels else "")
        )
    arr = np.asarray(labels[label])
    if arr.ndim != 1:
        raise ProbeError(f"label {label!r} has shape {arr.shape}; need one value per image")
    if arr.dtype == bool or np.issubdtype(arr.dtype, np.integer):
        return arr.astype(np.int64)
    if np.issubdtype(arr.dtype, np.floating) and np.all(arr == np.round(arr)):
        return arr.astype(np.int64)
    raise ProbeError(f"label {label!r} is continuous ({arr.dtype}); the probe needs class labels")


def subsample(images: np.ndarray, labels: np.ndarray, limit: int | None, seed: int,
              prefix: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """At most ``limit`` images (N, 3, S, S) and labels (N,): a seeded random subset in index order,
    or the first ``limit`` when ``prefix`` (generated data is i.i.d.; real datasets such as class-folder
    trees are often sorted by class, so a prefix would hold only the first classes)."""
    if limit is None or limit >= len(images):
        return images, labels
    if prefix:
        return images[:limit], labels[:limit]
    idx = np.sort(np.random.default_rng(seed).choice(len(images), size=limit, replace=False))
    return images[idx], labels[idx]


def open_split(data: str, root: str | None, split: str, size: int, limit: int | None,
               kwargs: dict[str, Any]) -> tuple[Any, np.ndarray]:
    """(dataset, uint8 images (N, H, W, 3) or as the dataset stores them) of one split at ``size`` px; for the
    generated worlds ``limit`` renders only the first ``limit`` items."""
    from interp.data import open_dataset

    kw = dict(kwargs)
    if limit is not None and data in GENERATED_DATASETS and "n" not in kw:
        kw["n"] = int(limit)  # generated items do not depend on n: same images as slicing
    ds = open_dataset(data, root, image_size=size, split=split, **kw)
    images = ds.uint8_images()
    return ds, images


def probe_discriminator(
    checkpoint: str | Path | None, random_d: bool, seed: int, image_size: int | None, preset: str, ndf: int | None
) -> tuple[Discriminator, ModelConfig, str | None]:
    """(D, config, checkpoint description): the checkpoint's D, or with ``random_d`` a D of its architecture (else
    of ``preset`` at ``image_size`` / ``ndf``) freshly initialised from ``seed``."""
    if checkpoint is None and not random_d:
        raise ProbeError("a checkpoint is required unless random_d=True")
    name: str | None = None
    if checkpoint is not None:
        from interp.io.checkpoint import load_gan

        loaded = load_gan(checkpoint)
        if loaded.D is None:
            raise ProbeError(f"{checkpoint}: checkpoint holds no discriminator")
        cfg, D = loaded.config, loaded.D
        name = str(loaded.path or checkpoint)
    else:  # random_d without a checkpoint: the preset's architecture
        cfg = ModelConfig.from_preset(preset, image_size or 64, ndf=ndf)
    if random_d:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            D = Discriminator(cfg)
        D.eval()
    return D, cfg, name


def run_probe(
    checkpoint: str | Path | None,
    data: str,
    *,
    data_root: str | Path | None = None,
    train_split: str = "train",
    test_split: str = "test",
    image_size: int | None = None,
    label: str = "class",
    labels_per_class: int | None = None,
    draws: int = 5,
    limit_train: int | None = None,
    limit_test: int | None = None,
    seed: int = 0,
    val_size: float | None = None,
    Cs: Sequence[float] = DEFAULT_CS,
    random_d: bool = False,
    preset: str = "examples",
    ndf: int | None = None,
    batch_size: int = 256,
    max_iter: int = 1000,
    dataset_kwargs: dict[str, Any] | None = None,
    progress: bool = False,
    n_jobs: int | None = None,
    solver: str = "liblinear",
    device: str | None = None,
    c_patience: int | None = DEFAULT_C_PATIENCE,
) -> dict[str, Any]:
    """The whole protocol for one checkpoint and dataset; returns a JSON-able dict.

    ``checkpoint``: anything :func:`interp.io.checkpoint.load_gan` takes. ``random_d=True`` replaces
    its D by a freshly initialised D of the same architecture (``torch.manual_seed(seed)``) — the
    control a trained D should beat; without a checkpoint the architecture is
    ``ModelConfig.from_preset(preset, image_size or 64, ndf=ndf)``. ``image_size`` defaults to the
    checkpoint's and must equal it. ``limit_train``/``limit_test`` keep a seeded random N images of
    each split (the first N for generated datasets). ``dataset_kwargs`` go to :func:`interp.data.open_dataset` (e.g. ``n``, ``seed``).

    Keys: accuracy, accuracy_std, error, dataset, checkpoint, random_d, label, seed,
    labels_per_class, draws, feature_dim, n_train, n_val, n_test, chance (majority-class test
    accuracy), Cs, image_size, per_draw (accuracy, C, n_train, n_val, val_accuracy per C).
    """
    D, cfg, ckpt_name = probe_discriminator(checkpoint, random_d, seed, image_size, preset, ndf)
    size = image_size or cfg.image_size
    if size != cfg.image_size:
        raise ProbeError(f"image_size {size} differs from the model's {cfg.image_size}; D needs {cfg.image_size} px")
    for name, value in (("limit_train", limit_train), ("limit_test", limit_test)):
        if value is not None and value < 1:
            raise ProbeError(f"{name} must be >= 1, got {value}")
    kwargs = dict(dataset_kwargs or {})
    root = str(data_root) if data_root is not None else None
    ds_tr, im_tr = open_split(data, root, train_split, size, limit_train, kwargs)
    ds_te, im_te = open_split(data, root, test_split, size, limit_test, kwargs)
    y_tr, y_te = resolve_labels(ds_tr, label), resolve_labels(ds_te, label)
    im_tr, y_tr = subsample(im_tr, y_tr, limit_train, seed, prefix=data in GENERATED_DATASETS)
    im_te, y_te = subsample(im_te, y_te, limit_test, seed + 1, prefix=data in GENERATED_DATASETS)
    f_tr = discriminator_features(D, im_tr, batch_size, progress=progress, desc=f"{data}/{train_split}")
    f_te = discriminator_features(D, im_te, batch_size, progress=progress, desc=f"{data}/{test_split}")
    res = probe(f_tr, y_tr, f_te, y_te, labels_per_class=labels_per_class, draws=draws,
                val_size=val_size, Cs=Cs, seed=seed, max_iter=max_iter, n_jobs=n_jobs, solver=solver, device=device,
                c_patience=c_patience, progress=progress)
    _, counts = np.unique(y_te, return_counts=True)
    return {
        "accuracy": res.accuracy,
        "accuracy_std": res.accuracy_std,
        "error": res.error,
        "dataset": data,
        "train_split": train_split,
        "test_split": test_split,
        "label": label,
        "checkpoint": ckpt_name,
        "random_d": bool(random_d),
        "model": cfg.to_dict(),
        "image_size": int(size),
        "seed": int(seed),
        "labels_per_class": labels_per_class,
        "draws": int(draws),
        "Cs": [float(c) for c in Cs],
        "max_iter": int(max_iter),
        "n_jobs": n_jobs,
        "solver": ("LinearSVC (liblinear)" if solver == "liblinear"
                   else "TorchLinearSVM (LBFGS, preconditioned, warm-started along the C path)"),
        "c_patience": c_patience,
        "feature_dim": res.feature_dim,
        "n_train": res.n_train[0],
        "n_val": res.n_val[0],
        "n_test": res.n_test,
        "n_pool": len(y_tr),
        "chance": float(counts.max() / counts.sum()),
        "per_draw": [
            {"accuracy": a, "C": c, "n_train": nt, "n_val": nv, "val_accuracy": vt, "not_converged": nc}
            for a, c, nt, nv, vt, nc in zip(res.accuracies, res.chosen_C, res.n_train, res.n_val,
                                            res.val_accuracies, res.not_converged, strict=True)
        ],
    }


# --------------------------------------------------------------------------- command line


def probe_values(trained: dict[str, Any], control: dict[str, Any]) -> dict[str, Any]:
    """The ``table1`` metrics from two :func:`interp.analysis.probe.run_probe` results (trained D, random D)."""
    return {
        "accuracy": round(trained["accuracy"], 4),
        "accuracy_std": round(trained["accuracy_std"], 4),
        "dataset": trained["dataset"],
        "accuracy_random_d": round(control["accuracy"], 4),
        "accuracy_random_d_std": round(control["accuracy_std"], 4),
        "chance": round(trained["chance"], 4),
        "label": trained["label"],
        "labels_per_class": trained["labels_per_class"],
        "n_train": trained["n_train"], "n_val": trained["n_val"], "n_test": trained["n_test"],
        "draws": trained["draws"], "feature_dim": trained["feature_dim"],
        "chosen_C": [d["C"] for d in trained["per_draw"]],
        "chosen_C_random_d": [d["C"] for d in control["per_draw"]],
        "solver": trained["solver"],
        "protocol": "D conv blocks max-pooled to 4x4, concatenated, standardised; linear L2-SVM, C on validation",
    }
