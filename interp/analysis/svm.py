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

    def scales(self, c: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """For columns with C values ``c`` (m,): S's scale on V's directions (k, m), on the rest (m,), and on
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
        classes, codes = np.unique(np.asarray(y), return_inverse=True)
        if len(classes) < 2:
            raise ValueError(f"need at least 2 classes, got {classes.tolist()}")
        n, d = Xt.shape
        k = len(classes) if len(classes) > 2 else 1  # binary: one problem (class 1 vs class 0), as liblinear
        dev = Xt.device
        target = -torch.ones(n, k, device=dev)
        codes_t = torch.as_tensor(codes, device=dev)
        if k == 1:
            target[codes_t == 1, 0] = 1.0
        else:
            target[torch.arange(n, device=dev), codes_t] = 1.0
        n_c = len(Cs)
        # every (C, class) problem is one column: W (D + 1, n_C·K), column c·K + j = class j at Cs[c]; one
        # matrix product per evaluation reads X once for all of them (and one for the gradient)
        c = torch.tensor([float(v) for v in Cs], device=dev).repeat_interleave(k)  # (n_C·K,)
        target = target.repeat(1, n_c)  # (N, n_C·K)
        pre = (precondition if isinstance(precondition, Preconditioner)
               else Preconditioner.estimate(Xt, precondition) if precondition > 0 else None)
        if pre is not None and pre.V.shape[0] != d:
            raise ValueError(f"preconditioner is for {pre.V.shape[0]} features, X has {d}")
        scales = pre.scales(c, n) if pre is not None else None

        def to_w(U: torch.Tensor) -> torch.Tensor:
            return pre.apply(U, *scales) if pre is not None and scales is not None else U

        if init is not None:
            if init.weights.shape[1:] != (d + 1, k) or not np.array_equal(init.classes, classes):
                raise ValueError("init: a model of other classes or feature dimension")
            W0 = init.weights[0].to(dev).repeat(1, n_c)
            U0 = pre.apply(W0, *scales, inverse=True) if pre is not None and scales is not None else W0
        else:
            U0 = torch.zeros(d + 1, n_c * k, device=dev)
        U = U0.clone().requires_grad_(True)
        max_eval = 2 * max_iter
        opt = torch.optim.LBFGS([U], lr=1, max_iter=max_iter, max_eval=max_eval, history_size=20,
                                line_search_fn="strong_wolfe", tolerance_grad=tol, tolerance_change=1e-12)
        calls = [0]

        def closure() -> torch.Tensor:
            # the objective and its gradient by hand: d/dW = (W / c - 2 [X, 1]ᵀ (t ⊙ max(0, margin))) / n, with
            # Xᵀ R computed as (Rᵀ X)ᵀ, which BLAS does several times faster than autograd's Xᵀ R for few
            # columns (one pass over X in the row-major layout it is stored in); dU = S dW (S symmetric)
            with torch.no_grad():
                W = to_w(U)
                scores = (W[:-1].T @ Xt.T).T + W[-1]  # (N, n_C·K); BLAS runs Wᵀ·Xᵀ faster than X·W for few columns
                violation = (1 - target * scores).clamp_min(0)
                objective = ((0.5 / c) * W.pow(2).sum(0) + violation.pow(2).sum(0)).sum() / n
                R = target * violation
                grad = torch.cat([(R.T @ Xt).T, R.sum(0, keepdim=True)], 0)
                gW = (W / c - 2 * grad) / n
                U.grad = to_w(gW)
            calls[0] += 1
            return objective

        opt.step(closure)
        state = opt.state[opt._params[0]]
        # converged: stopped by a tolerance (gradient, or no change left at float32 precision), not by the cap
        converged = int(state.get("n_iter", 0)) < max_iter and int(state.get("func_evals", 0)) < max_eval
        with torch.no_grad():
            W = to_w(U.detach())
        weights = W.view(d + 1, n_c, k).permute(1, 0, 2).contiguous()  # (n_C, D + 1, K)
        return cls(weights, classes, tuple(float(v) for v in Cs), calls[0], converged)

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


__all__ = ["PRECONDITION_RANK", "Preconditioner", "TorchLinearSVM", "as_float32_tensor"]
