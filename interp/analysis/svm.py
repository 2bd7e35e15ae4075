"""A linear L2-SVM in torch, batched over classes and C values: the probe's solver for large problems.

    model = TorchLinearSVM.fit(X, y, Cs=[0.01, 0.1, 1.0])   # X float (N, D), y (N,) class labels
    model.predict(X_test, C_index=1)                          # (M,) labels, the SVM of Cs[1]

The objective is liblinear's (scikit-learn ``LinearSVC(loss="squared_hinge", penalty="l2")``), one
versus rest: for every class k and every C, with y_i = +1 for class k and −1 otherwise,

    min_w  ½‖w‖² + C · Σ_i max(0, 1 − y_i · (w · [x_i, 1]))²

(the intercept is the weight of a constant feature 1 and is regularised, as liblinear does). Each
(C, class) problem is scaled by 1/(C·N), so that all have losses of one size, and the sum is minimised
jointly by ``torch.optim.LBFGS`` (strong-Wolfe line search): the problems are independent, so the sum's
minimiser is every problem's minimiser. Prediction takes the class of the largest decision value. The
data stay where they are put (CPU or GPU); one matrix product per step serves every class and C.

**Preconditioning.** The scaled objective's Hessian is I/(C·N) + (2/N)·X_Aᵀ X_A (A: the points inside the
margin). Features of a trained network are strongly correlated, so its eigenvalues span several decades and
plain LBFGS needs hundreds of passes over X. :class:`Preconditioner` estimates the top-k eigenpairs of XᵀX/N
once (randomised SVD, a few passes over X) and LBFGS works on W = S·U with S ≈ Hessian^(−1/2) built from them
(every point counted as active). The minimiser is the same for any such S — it changes only the number of
steps (on CIFAR-10 D features, 40,000 × 7,168: 28 instead of 169 evaluations at C = 1e-4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

PRECONDITION_RANK = 256  # eigenpairs kept by default; 0 switches preconditioning off


def as_float32_tensor(X: np.ndarray | torch.Tensor, device: str | torch.device | None) -> torch.Tensor:
    """X (any shape) as a float32 tensor on ``device`` (None: where it is), without a copy where none is needed."""
    Xt = X if isinstance(X, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(X))
    Xt = Xt.to(dtype=torch.float32)
    return Xt.to(device) if device is not None else Xt


@dataclass(frozen=True)
class Preconditioner:
    """The curvature of the data term, low rank plus a constant: XᵀX/N ≈ V diag(lam) Vᵀ + tail·(I − V Vᵀ).

    ``V`` (D, k) orthonormal, ``lam`` (k,) the top eigenvalues of XᵀX/N, ``tail`` the mean of the others;
    the intercept's curvature is taken as 1 (its feature is the constant 1; exact for centred X).
    """

    V: torch.Tensor
    lam: torch.Tensor
    tail: float

    @classmethod
    def estimate(cls, X: torch.Tensor, rank: int = PRECONDITION_RANK, seed: int = 0) -> Preconditioner:
        """From features X (N, D) by ``torch.svd_lowrank`` (2 power iterations, seeded: the same X gives the
        same preconditioner)."""
        n, d = X.shape
        k = max(1, min(rank, n, d))
        devices = [X.device] if X.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            _, S, V = torch.svd_lowrank(X, q=k, niter=2)
        lam = S.pow(2) / n
        total = float(X.pow(2).sum()) / n
        tail = max(total - float(lam.sum()), 0.0) / max(d - k, 1)
        return cls(V.contiguous(), lam, tail)

    def scales(self, c: torch.Tensor, n: float | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """For columns with C values ``c`` (m,) and row counts ``n`` (scalar or (m,)): S's scale on V's directions (k, m), on the rest (m,), and on
        the intercept (m,), each (1/(C·N) + 2·curvature)^(−1/2)."""
        reg = 1.0 / (c * n)
        top = (reg[None, :] + 2 * self.lam[:, None].to(c)) ** -0.5
        rest = (reg + 2 * self.tail) ** -0.5
        bias = (reg + 2.0) ** -0.5
        return top, rest, bias

    def apply(self, M: torch.Tensor, top: torch.Tensor, rest: torch.Tensor, bias: torch.Tensor,
              inverse: bool = False) -> torch.Tensor:
        """S·M (or S⁻¹·M) for M (D + 1, m) (last row: intercept); S is symmetric."""
        if inverse:
            top, rest, bias = 1 / top, 1 / rest, 1 / bias
        V = self.V.to(M)
        body = M[:-1]
        out_body = rest * body + V @ ((top - rest) * (V.T @ body))
        return torch.cat([out_body, bias * M[-1:]], 0)


@dataclass(frozen=True)
class Subproblem:
    """One SVM of a batched fit (:meth:`TorchLinearSVM.fit_batch`): trained on ``rows`` of X (None: all) at
    ``C``, on its own features Z = X ⊙ ``scale`` + ``shift`` (both (D,); None: Z = X). A problem standardised
    on its own rows is one affine map away from X standardised on the whole pool, so problems that differ in
    rows and standardisation share one pass over X per evaluation. ``init``: a fitted model (weights in Z's
    space) whose first C starts this problem (warm start)."""

    C: float
    rows: np.ndarray | None = None
    scale: np.ndarray | None = None
    shift: np.ndarray | None = None
    init: TorchLinearSVM | None = None


def _solve(Xt: torch.Tensor, target: torch.Tensor, c: torch.Tensor, n_col: torch.Tensor, mask: torch.Tensor | None,
           A: torch.Tensor | None, B: torch.Tensor | None, pre: Preconditioner | None, W0: torch.Tensor | None,
           max_iter: int, tol: float) -> tuple[torch.Tensor, int, bool]:
    """Minimise every column's scaled L2-SVM objective jointly by LBFGS; returns W (D + 1, m), evaluations,
    converged.

    Column j: targets ``target[:, j]`` (±1, (N, m)) on the rows where ``mask[:, j]`` is 1 (None: all; ``n_col[j]``
    of them), regularisation ``c[j]``, features Z_j = X ⊙ A[:, j] + B[:, j] (None: Z = X); the objective
    (½‖w‖²/c + Σ max(0, 1 − t·(Z·w + b))²) / n, i.e. liblinear's scaled by 1/(C·n). W is in Z's space."""
    n, d = Xt.shape
    dev = Xt.device
    scales = pre.scales(c, n_col) if pre is not None else None

    def to_w(U: torch.Tensor, inverse: bool = False) -> torch.Tensor:
        return pre.apply(U, *scales, inverse=inverse) if pre is not None and scales is not None else U

    U0 = to_w(W0, inverse=True) if W0 is not None else torch.zeros(d + 1, len(c), device=dev)
    U = U0.clone().requires_grad_(True)
    max_eval = 2 * max_iter
    opt = torch.optim.LBFGS([U], lr=1, max_iter=max_iter, max_eval=max_eval, history_size=20,
                            line_search_fn="strong_wolfe", tolerance_grad=tol, tolerance_change=1e-12)
    calls = [0]

    def closure() -> torch.Tensor:
        # the objective and its gradient by hand: d/dW = (W / c - 2 [Z, 1]ᵀ (t ⊙ max(0, margin))) / n, with
        # Xᵀ R computed as (Rᵀ X)ᵀ, which BLAS does several times faster than autograd's Xᵀ R for few
        # columns (row-major X read along its rows); dU = S dW (S symmetric).
        # With an affine Z = X ⊙ a + b: Z·w = X·(a ⊙ w) + b·w, and Zᵀ R = a ⊙ (Xᵀ R) + b Σ R.
        with torch.no_grad():
            W = to_w(U)
            body = W[:-1] if A is None else A * W[:-1]
            bias = W[-1] if B is None else W[-1] + (B * W[:-1]).sum(0)
            scores = (body.T @ Xt.T).T + bias  # (N, m); BLAS runs Wᵀ·Xᵀ faster than X·W for few columns
            violation = (1 - target * scores).clamp_min(0)
            if mask is not None:
                violation = violation * mask
            objective = (((0.5 / c) * W.pow(2).sum(0) + violation.pow(2).sum(0)) / n_col).sum()
            R = target * violation
            sums = R.sum(0, keepdim=True)
            G = (R.T @ Xt).T
            if A is not None:
                G = A * G
            if B is not None:
                G = G + B * sums
            gW = (W / c - 2 * torch.cat([G, sums], 0)) / n_col
            U.grad = to_w(gW)
        calls[0] += 1
        return objective

    opt.step(closure)
    state = opt.state[opt._params[0]]
    # converged: stopped by a tolerance (gradient, or no change left at float32 precision), not by the cap
    converged = int(state.get("n_iter", 0)) < max_iter and int(state.get("func_evals", 0)) < max_eval
    with torch.no_grad():
        W = to_w(U.detach())
    return W, calls[0], converged


def _targets(y: np.ndarray, dev: torch.device) -> tuple[np.ndarray, torch.Tensor]:
    """Classes (K,) and one-vs-rest targets (N, K) in ±1 (binary: one column, class 1 vs class 0, as liblinear)."""
    classes, codes = np.unique(np.asarray(y), return_inverse=True)
    if len(classes) < 2:
        raise ValueError(f"need at least 2 classes, got {classes.tolist()}")
    n = len(codes)
    k = len(classes) if len(classes) > 2 else 1
    target = -torch.ones(n, k, device=dev)
    codes_t = torch.as_tensor(codes, device=dev)
    if k == 1:
        target[codes_t == 1, 0] = 1.0
    else:
        target[torch.arange(n, device=dev), codes_t] = 1.0
    return classes, target


def _preconditioner(Xt: torch.Tensor, precondition: int | Preconditioner) -> Preconditioner | None:
    pre = (precondition if isinstance(precondition, Preconditioner)
           else Preconditioner.estimate(Xt, precondition) if precondition > 0 else None)
    if pre is not None and pre.V.shape[0] != Xt.shape[1]:
        raise ValueError(f"preconditioner is for {pre.V.shape[0]} features, X has {Xt.shape[1]}")
    return pre


@dataclass
class TorchLinearSVM:
    """Fitted one-vs-rest L2-SVMs: ``weights`` (n_C, D + 1, K) (last row: intercept), ``classes`` (K,)."""

    weights: torch.Tensor
    classes: np.ndarray
    Cs: tuple[float, ...]
    n_iter: int
    converged: bool

    @classmethod
    def fit(cls, X: np.ndarray | torch.Tensor, y: np.ndarray, Cs: Sequence[float], *, max_iter: int = 500,
            tol: float = 1e-5, device: str | torch.device | None = None,
            precondition: int | Preconditioner = PRECONDITION_RANK,
            init: TorchLinearSVM | None = None) -> TorchLinearSVM:
        """Fit every (C, class) problem on features X (N, D) and labels y (N,).

        Stops when the largest gradient entry (in the preconditioned variables) of the scaled objective is
        below ``tol``, when a step no longer changes it (float32 precision), or after ``max_iter`` LBFGS
        iterations (then ``converged`` is False). ``precondition``: the rank of the preconditioner estimated
        from X (0: none), or a :class:`Preconditioner` to reuse (e.g. one estimated on a larger pool of the
        same features). ``init``: a fitted model with the same classes and dimension whose weights for its
        first C start every column (warm start along a C path).
        """
        Xt = as_float32_tensor(X, device)
        classes, target = _targets(y, Xt.device)
        n, d = Xt.shape
        k = target.shape[1]
        dev = Xt.device
        n_c = len(Cs)
        # every (C, class) problem is one column: W (D + 1, n_C·K), column c·K + j = class j at Cs[c]; one
        # matrix product per evaluation reads X once for all of them (and one for the gradient)
        c = torch.tensor([float(v) for v in Cs], device=dev).repeat_interleave(k)  # (n_C·K,)
        pre = _preconditioner(Xt, precondition)
        W0 = None
        if init is not None:
            if init.weights.shape[1:] != (d + 1, k) or not np.array_equal(init.classes, classes):
                raise ValueError("init: a model of other classes or feature dimension")
            W0 = init.weights[0].to(dev).repeat(1, n_c)
        W, calls, converged = _solve(Xt, target.repeat(1, n_c), c, torch.full_like(c, float(n)), None, None, None,
                                     pre, W0, max_iter, tol)
        weights = W.view(d + 1, n_c, k).permute(1, 0, 2).contiguous()  # (n_C, D + 1, K)
        return cls(weights, classes, tuple(float(v) for v in Cs), calls, converged)

    @classmethod
    def fit_batch(cls, X: np.ndarray | torch.Tensor, y: np.ndarray, problems: Sequence[Subproblem], *,
                  max_iter: int = 500, tol: float = 1e-5, device: str | torch.device | None = None,
                  precondition: int | Preconditioner = PRECONDITION_RANK) -> list[TorchLinearSVM]:
        """Fit several :class:`Subproblem` s on features X (N, D), labels y (N,) in one LBFGS run (one pass over X
        per evaluation for all of them): one single-C model per problem, its weights in the problem's own
        feature space (predict on X ⊙ scale + shift). The result equals fitting each problem alone on its
        rows and features, up to the solver's tolerance; every problem must see at least 2 classes."""
        Xt = as_float32_tensor(X, device)
        classes, target = _targets(y, Xt.device)
        n, d = Xt.shape
        k = target.shape[1]
        dev = Xt.device
        if not problems:
            raise ValueError("fit_batch: no problems")
        codes = np.unique(np.asarray(y), return_inverse=True)[1]
        masks, ns, A_cols, B_cols, W0_cols = [], [], [], [], []
        affine = any(p.scale is not None or p.shift is not None for p in problems)
        for p in problems:
            rows = np.arange(n) if p.rows is None else np.asarray(p.rows)
            if len(np.unique(codes[rows])) < 2:
                raise ValueError("fit_batch: a problem whose rows hold a single class")
            m = torch.zeros(n, device=dev)
            m[torch.as_tensor(rows, device=dev)] = 1.0
            masks.append(m[:, None].expand(n, k))
            ns.append(float(len(np.unique(rows))))
            if affine:
                a = torch.ones(d) if p.scale is None else torch.as_tensor(np.asarray(p.scale), dtype=torch.float32)
                b = torch.zeros(d) if p.shift is None else torch.as_tensor(np.asarray(p.shift), dtype=torch.float32)
                if a.shape != (d,) or b.shape != (d,):
                    raise ValueError(f"fit_batch: scale and shift must have shape ({d},)")
                A_cols.append(a.to(dev)[:, None].expand(d, k))
                B_cols.append(b.to(dev)[:, None].expand(d, k))
            if p.init is not None:
                if p.init.weights.shape[1:] != (d + 1, k) or not np.array_equal(p.init.classes, classes):
                    raise ValueError("init: a model of other classes or feature dimension")
                W0_cols.append(p.init.weights[0].to(dev))
            else:
                W0_cols.append(torch.zeros(d + 1, k, device=dev))
        c = torch.tensor([float(p.C) for p in problems], device=dev).repeat_interleave(k)
        n_col = torch.tensor(ns, device=dev).repeat_interleave(k)
        mask = None if all(p.rows is None for p in problems) else torch.cat(masks, 1).contiguous()
        A = torch.cat(A_cols, 1).contiguous() if affine else None
        B = torch.cat(B_cols, 1).contiguous() if affine else None
        W0 = torch.cat(W0_cols, 1) if any(p.init is not None for p in problems) else None
        pre = _preconditioner(Xt, precondition)
        W, calls, converged = _solve(Xt, target.repeat(1, len(problems)), c, n_col, mask, A, B, pre, W0, max_iter,
                                     tol)
        return [cls(W[:, i * k:(i + 1) * k].unsqueeze(0).clone(), classes, (float(p.C),), calls, converged)
                for i, p in enumerate(problems)]

    def decision_function(self, X: np.ndarray | torch.Tensor, C_index: int = 0) -> torch.Tensor:
        """Decision values (M, K) (binary: (M, 1)) of the SVMs of ``Cs[C_index]``."""
        Xt = as_float32_tensor(X, self.weights.device)
        W = self.weights[C_index]
        return Xt @ W[:-1] + W[-1]

    def predict(self, X: np.ndarray | torch.Tensor, C_index: int = 0) -> np.ndarray:
        """Labels (M,): the class of the largest decision value (binary: class 1 where the value > 0)."""
        scores = self.decision_function(X, C_index)
        idx = (scores[:, 0] > 0).long() if scores.shape[1] == 1 else scores.argmax(1)
        return self.classes[idx.cpu().numpy()]

    def select(self, C_index: int) -> TorchLinearSVM:
        """The model of one C only (e.g. to warm-start the next C of a path)."""
        return TorchLinearSVM(self.weights[C_index : C_index + 1].clone(), self.classes, (self.Cs[C_index],),
                              self.n_iter, self.converged)


__all__ = ["PRECONDITION_RANK", "Preconditioner", "Subproblem", "TorchLinearSVM", "as_float32_tensor"]
