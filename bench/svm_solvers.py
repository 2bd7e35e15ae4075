"""The probe's L2-SVM: sklearn's LinearSVC (liblinear, one fit per C) vs interp's TorchLinearSVM (LBFGS,
every C in one batched, preconditioned fit), on one synthetic problem of the probe's shape, side by side.

    python bench/svm_solvers.py --n 10000 --dim 7168 --classes 10 --Cs 0.001 0.01 0.1 --device cpu

Features are Gaussian blobs (standardised), so that the two solvers face the same, moderately separable
problem; the script prints one JSON line: wall seconds of each solver for the whole C grid, test accuracy
of each per C, and the share of equal test predictions.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np
import torch


def blobs(n: int, dim: int, k: int, seed: int, scale: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
    means = np.random.default_rng(1234).normal(0, 1, (k, dim)).astype(np.float32)
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    return (means[y] * scale + rng.normal(0, 1, (n, dim)).astype(np.float32)), y


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--n-test", type=int, default=2_000)
    p.add_argument("--dim", type=int, default=7168)
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--Cs", type=float, nargs="+", default=[0.001, 0.01, 0.1])
    p.add_argument("--device", default="cpu")
    p.add_argument("--max-iter", type=int, default=1000)
    p.add_argument("--skip-liblinear", action="store_true", help="time the torch solver only")
    args = p.parse_args()
    from sklearn.svm import LinearSVC

    from interp.analysis.svm import TorchLinearSVM

    X, y = blobs(args.n, args.dim, args.classes, 0)
    Xt, yt = blobs(args.n_test, args.dim, args.classes, 1)
    mu, sd = X.mean(0), X.std(0) + 1e-6
    X, Xt = (X - mu) / sd, (Xt - mu) / sd
    out: dict = {"n": args.n, "dim": args.dim, "classes": args.classes, "Cs": args.Cs, "device": args.device,
                 "torch_threads": torch.get_num_threads(), "machine": platform.processor() or platform.machine()}
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    t = time.perf_counter()
    model = TorchLinearSVM.fit(X, y, args.Cs, max_iter=args.max_iter, device=args.device)
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    out["torch_seconds"] = round(time.perf_counter() - t, 2)
    out["torch_converged"] = model.converged
    torch_pred = [model.predict(Xt, i) for i in range(len(args.Cs))]
    out["torch_accuracy"] = [round(float((p_ == yt).mean()), 4) for p_ in torch_pred]
    if not args.skip_liblinear:
        t = time.perf_counter()
        ref = [LinearSVC(C=C, loss="squared_hinge", dual="auto", max_iter=args.max_iter).fit(X, y) for C in args.Cs]
        out["liblinear_seconds"] = round(time.perf_counter() - t, 2)
        ref_pred = [r.predict(Xt) for r in ref]
        out["liblinear_accuracy"] = [round(float((p_ == yt).mean()), 4) for p_ in ref_pred]
        out["equal_predictions"] = [round(float((a == b).mean()), 4) for a, b in zip(torch_pred, ref_pred, strict=True)]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
