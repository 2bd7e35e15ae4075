"""Does the discriminator's representation grow with GAN training? The Table 1 protocol on every kept epoch
checkpoint of one run (and once on a random D of the same architecture), one JSON line per checkpoint.

    python bench/probe_epochs.py runs/cifar-d --data cifar10 --data-root /tmp/cifar10 \\
        --n-train 50000 --n-test 10000 --draws 3 --solver torch
    python bench/probe_epochs.py runs/cifar-d --data-root /tmp/cifar10 --only final random   # two of them

Each line: the checkpoint, its epoch and step, the probe's accuracy ± std over draws, the chosen Cs, the
feature dimension, and the seconds the probe took (features + SVM fits). Sizes default to the paper's full
protocol; ``--n-train`` / ``--n-test`` take a seeded random subset for a quicker look.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from interp.analysis.probe import DEFAULT_CS, run_probe
from interp.io.checkpoint import SUFFIX, load_gan


def checkpoints(run: Path) -> list[Path]:
    """The run's ``epoch_NNN`` checkpoints in epoch order, then ``final`` when present."""
    ck = run / "checkpoints"
    files = sorted(ck.glob(f"epoch_*{SUFFIX}"))
    final = ck / f"final{SUFFIX}"
    return files + ([final] if final.is_file() else [])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", type=Path, help="a run directory (its checkpoints/epoch_*.safetensors and final)")
    p.add_argument("--data", default="cifar10")
    p.add_argument("--data-root", required=True)
    p.add_argument("--n-train", type=int, default=None, help="train images (default: all)")
    p.add_argument("--n-test", type=int, default=None, help="test images (default: all)")
    p.add_argument("--draws", type=int, default=3)
    p.add_argument("--solver", default="torch", choices=["torch", "liblinear"])
    p.add_argument("--device", default="cpu")
    p.add_argument("--Cs", type=float, nargs="+", default=list(DEFAULT_CS))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", nargs="+", metavar="NAME",
                   help="probe only these checkpoints (file stems: epoch_001 final ...; 'random' for the control)")
    args = p.parse_args()
    files = checkpoints(args.run)
    wanted = set(args.only or [])
    if not files:
        raise SystemExit(f"error: {args.run}/checkpoints holds no epoch_*{SUFFIX} or final{SUFFIX}")
    unknown = wanted - {f.name.removesuffix(SUFFIX) for f in files} - {"random"}
    if unknown:
        raise SystemExit(f"error: --only: no checkpoint named {sorted(unknown)} in {args.run}/checkpoints")
    settings = {"data_root": args.data_root, "limit_train": args.n_train, "limit_test": args.n_test,
                "draws": args.draws, "Cs": args.Cs, "seed": args.seed, "solver": args.solver,
                "device": args.device if args.solver == "torch" else None, "n_jobs": -1}
    for file in [*files, None]:  # None: the random-D control
        name = "random" if file is None else file.name.removesuffix(SUFFIX)
        if wanted and name not in wanted:
            continue
        t0 = time.perf_counter()
        ck = files[-1] if file is None else file
        res = run_probe(ck, args.data, random_d=file is None, **settings)
        meta = load_gan(ck).meta
        print(json.dumps({"checkpoint": "random D" if file is None else str(file), "epoch": meta.get("epoch"),
                          "step": meta.get("step"), "accuracy": round(res["accuracy"], 4),
                          "accuracy_std": round(res["accuracy_std"], 4), "C": [d["C"] for d in res["per_draw"]],
                          "feature_dim": res["feature_dim"], "n_train": res["n_train"], "n_test": res["n_test"],
                          "solver": res["solver"], "seconds": round(time.perf_counter() - t0, 1)}), flush=True)


if __name__ == "__main__":
    main()
