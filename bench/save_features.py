"""Compute the Table 1 features of one D once and save them as .npy, for ``bench/probe_features.py`` (which
times the SVM part alone, e.g. LinearSVC against the torch solver on the same rows).

    python bench/save_features.py --checkpoint cifar10 --data-root DATA/cifar10-jpeg.tar.gz --out /tmp/feat
    python bench/save_features.py --checkpoint cifar10 --random-d --data-root DATA/cifar10-jpeg.tar.gz --out /tmp/feat

Writes ``NAME_tr.npy`` (50,000, F) and ``NAME_te.npy`` (10,000, F) float32 (NAME: ``trained`` or ``random``),
and ``ytr.npy`` / ``yte.npy`` (the class labels), in the data's order; prints one JSON line with the shapes
and the seconds taken (archive decoding included).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from interp.analysis.probe import discriminator_features, open_split, probe_discriminator, resolve_labels


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="a zoo name, run folder or .safetensors file")
    p.add_argument("--random-d", action="store_true", help="a freshly initialised D of the same architecture")
    p.add_argument("--data", default="cifar10")
    p.add_argument("--data-root", required=True)
    p.add_argument("--seed", type=int, default=0, help="the random D's seed (as the probe's)")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    t = time.perf_counter()
    D, cfg, _ = probe_discriminator(args.checkpoint, args.random_d, args.seed, None, "examples", None)
    name = "random" if args.random_d else "trained"
    args.out.mkdir(parents=True, exist_ok=True)
    shapes = {}
    for split, tag in (("train", "tr"), ("test", "te")):
        ds, images = open_split(args.data, args.data_root, split, cfg.image_size, None, {})
        feats = discriminator_features(D, images, progress=True, desc=split)
        np.save(args.out / f"{name}_{tag}.npy", feats)
        np.save(args.out / f"y{tag}.npy", resolve_labels(ds, "class"))
        shapes[split] = list(feats.shape)
    print(json.dumps({"features": name, "shapes": shapes, "seconds": round(time.perf_counter() - t, 1)}))


if __name__ == "__main__":
    main()
