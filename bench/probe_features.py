"""The Table 1 SVM protocol alone, on features computed once and saved as .npy (memory-mapped): times the C
sweep, the draws and the refit without the feature extraction, for comparing solvers on real features.

    python bench/probe_features.py --features DIR --name trained --draws 3 --solver torch --threads 2

``DIR`` holds ``NAME_tr.npy`` (N, F) float32, ``NAME_te.npy`` (M, F), ``ytr.npy`` (N,) and ``yte.npy`` (M,); write
them with ``interp.analysis.probe.discriminator_features`` (``bench/probe_epochs.py`` runs the whole protocol,
extraction included). Prints one JSON line: accuracy ± std, chosen Cs, validation accuracy per C tried, the
solver's wall seconds.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import time
from pathlib import Path

import numpy as np
import torch

from interp.analysis.probe import DEFAULT_C_PATIENCE, DEFAULT_CS, probe


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--features", type=Path, required=True, help="folder of NAME_tr.npy, NAME_te.npy, ytr.npy, yte.npy")
    p.add_argument("--name", default="trained")
    p.add_argument("--draws", type=int, default=3)
    p.add_argument("--solver", default="torch", choices=["torch", "liblinear"])
    p.add_argument("--device", default=None)
    p.add_argument("--Cs", type=float, nargs="+", default=list(DEFAULT_CS))
    p.add_argument("--c-patience", type=int, default=DEFAULT_C_PATIENCE, help="0: the whole grid")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--n-train", type=int, default=None, help="a seeded random N of the training rows (the order may be class-sorted)")
    p.add_argument("--jobs", type=int, default=-1, help="liblinear: processes for the one-vs-rest fits (-1: all cores)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.INFO, format="%(relativeCreated)8.0f ms %(message)s")
    f = args.features
    Xtr = np.load(f / f"{args.name}_tr.npy", mmap_mode="r")
    ytr = np.load(f / "ytr.npy")
    if args.n_train:
        keep = np.sort(np.random.default_rng(0).choice(len(ytr), size=args.n_train, replace=False))
        Xtr, ytr = Xtr[keep], ytr[keep]
    Xte, yte = np.load(f / f"{args.name}_te.npy", mmap_mode="r"), np.load(f / "yte.npy")
    t = time.perf_counter()
    res = probe(Xtr, ytr, Xte, yte, draws=args.draws, Cs=args.Cs, solver=args.solver, device=args.device,
                c_patience=args.c_patience or None, n_jobs=args.jobs)
    wall = time.perf_counter() - t
    print(json.dumps({
        "features": args.name, "solver": args.solver, "n_train": len(ytr), "n_test": len(yte), "dim": Xtr.shape[1],
        "accuracy": round(res.accuracy, 4), "accuracy_std": round(res.accuracy_std, 4), "chosen_C": res.chosen_C,
        "val_accuracy": res.val_accuracies, "not_converged": res.not_converged, "seconds": round(wall, 1),
        "torch_threads": torch.get_num_threads(), "jobs": args.jobs, "machine": platform.processor() or platform.machine(),
    }))


if __name__ == "__main__":
    main()
