"""A linear L2-SVM in torch, batched over classes and C values: the probe's solver for large problems.

    model = TorchLinearSVM.fit(X, y, Cs=[0.01, 0.1, 1.0])   # X float (N, D), y (N,) class labels
    model.predict(X_test, C_index=1)                          # (M,) labels, the SVM of Cs[1]

The objective is liblinear's (scikit-learn ``LinearSVC(loss="squared_hinge", penalty="l2")``), one
versus rest: for every class k and every C, with y_i = +1 for class k and −1 otherwise,

    min_w  ½‖w‖² + C · Σ_i max(0, 1 − y_i · (w · [x_i, 1]))²

(the intercept is the weight of a constant feature 1 and is regularised, as liblinear does). Each
(C, class) problem is scaled by 1/C, so that all have losses of one size, and the sum is minimised
jointly by ``torch.optim.LBFGS`` (strong-Wolfe line search): the problems are independent, so the sum's
minimiser is every problem's minimiser. Prediction takes the class of the largest decision value. The
data stay where they are put (CPU or GPU); one matrix product per step serves every class and C.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch


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
            tol: float = 1e-5, device: str | torch.device | None = None) -> TorchLinearSVM:
        """Fit every (C, class) problem on features X (N, D) and labels y (N,). Stops when the largest gradient
        entry of the 1/C-scaled objective (divided by N) is below ``tol``, when a step no longer changes it
        (float32 precision), or after ``max_iter`` LBFGS iterations (then ``converged`` is False)."""
        Xt = torch.as_tensor(np.asarray(X) if not isinstance(X, torch.Tensor) else X, dtype=torch.float32)
        if device is not None:
            Xt = Xt.to(device)
        classes, codes = np.unique(np.asarray(y), return_inverse=True)
        if len(classes) < 2:
            raise ValueError(f"need at least 2 classes, got {classes.tolist()}")
        n, d = Xt.shape
        k = len(classes) if len(classes) > 2 else 1  # binary: one problem (class 1 vs class 0), as liblinear
        target = -torch.ones(n, k, device=Xt.device)
        codes_t = torch.as_tensor(codes, device=Xt.device)
        if k == 1:
            target[codes_t == 1, 0] = 1.0
        else:
            target[torch.arange(n, device=Xt.device), codes_t] = 1.0
        Xb = torch.cat([Xt, torch.ones(n, 1, device=Xt.device)], 1)  # (N, D + 1)
        n_c = len(Cs)
        # every (C, class) problem is one column: W (D + 1, n_C·K), column c·K + j = class j at Cs[c]; one
        # matrix product per evaluation reads X once for all of them (and one for the gradient)
        c = torch.tensor([float(v) for v in Cs], device=Xt.device).repeat_interleave(k)  # (n_C·K,)
        target = target.repeat(1, n_c)  # (N, n_C·K)
        W = torch.zeros(d + 1, n_c * k, device=Xt.device)
        max_eval = 2 * max_iter
        opt = torch.optim.LBFGS([W], lr=1, max_iter=max_iter, max_eval=max_eval, history_size=20,
                                line_search_fn="strong_wolfe",
                                tolerance_grad=tol, tolerance_change=1e-12)
        calls = [0]

        def closure() -> torch.Tensor:
            # the objective and its gradient by hand: d/dW = (W / c - 2 Xbᵀ (t ⊙ max(0, margin))) / n, with
            # Xbᵀ R computed as (Rᵀ Xb)ᵀ, which BLAS does several times faster than autograd's Xbᵀ R for few
            # columns (one pass over X in the row-major layout it is stored in)
            with torch.no_grad():
                violation = (1 - target * (Xb @ W)).clamp_min(0)  # (N, n_C·K)
                objective = ((0.5 / c) * W.pow(2).sum(0) + violation.pow(2).sum(0)).sum() / n
                W.grad = (W / c - 2 * ((target * violation).T @ Xb).T) / n
            calls[0] += 1
            return objective

        opt.step(closure)
        state = opt.state[opt._params[0]]
        # converged: stopped by a tolerance (gradient, or no change left at float32 precision), not by the cap
        converged = int(state.get("n_iter", 0)) < max_iter and int(state.get("func_evals", 0)) < max_eval
        weights = W.detach().view(d + 1, n_c, k).permute(1, 0, 2).contiguous()  # (n_C, D + 1, K)
        return cls(weights, classes, tuple(float(v) for v in Cs), calls[0], converged)

    def decision_function(self, X: np.ndarray | torch.Tensor, C_index: int = 0) -> torch.Tensor:
        """Decision values (M, K) (binary: (M, 1)) of the SVMs of ``Cs[C_index]``."""
        Xt = torch.as_tensor(np.asarray(X) if not isinstance(X, torch.Tensor) else X, dtype=torch.float32)
        Xt = Xt.to(self.weights.device)
        W = self.weights[C_index]
        return Xt @ W[:-1] + W[-1]

    def predict(self, X: np.ndarray | torch.Tensor, C_index: int = 0) -> np.ndarray:
        """Labels (M,): the class of the largest decision value (binary: class 1 where the value > 0)."""
        scores = self.decision_function(X, C_index)
        idx = (scores[:, 0] > 0).long() if scores.shape[1] == 1 else scores.argmax(1)
        return self.classes[idx.cpu().numpy()]


__all__ = ["TorchLinearSVM"]
