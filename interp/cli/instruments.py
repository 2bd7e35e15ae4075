"""CLI: train (or load) the measuring instruments and print their held-out metrics as JSON.

    python -m interp.instruments train [--only room_segmenter] [--quick] [--cache-dir DIR]
    python -m interp.instruments evaluate [--only face_attributes] [--n-test 2000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import torch

from interp.instruments.registry import (
    NAMES,
    evaluate_instrument,
    get_instrument,
    headline,
    instrument_config,
    stored_metrics,
)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m interp.instruments",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="""examples:
  python -m interp.instruments train                          # both instruments (trained once, then cached)
  python -m interp.instruments train --only room_segmenter --threads 1
  python -m interp.instruments evaluate --only face_attributes --n-test 2000
  python -m interp.instruments train --quick --cache-dir /tmp/cache   # the tiny test-size ones
  python -m interp.instruments celeba --data-root ~/data/celeba --out my_instruments/celeba_faces
""",
        description="Measuring instruments trained on the embedded worlds (rooms segmenter, face attribute net). "
                    "'train' trains any missing instrument (or loads it from the cache) and prints the held-out "
                    "metrics measured right after training; 'evaluate' re-measures the (trained or loaded) "
                    "instruments on held-out renders now. Output: one JSON object on stdout.")
    p.add_argument("command", choices=["train", "evaluate", "celeba"],
                   help="train-or-load, re-measure, or train an attribute + yaw net on YOUR CelebA-format folder")
    p.add_argument("--data-root", help="celeba: the CelebA folder (img_align_celeba/, list_attr_celeba.txt, and "
                                       "list_landmarks_align_celeba.txt for yaw)")
    p.add_argument("--out", help="celeba: where to save the instrument (.safetensors + .json)")
    p.add_argument("--attributes", default="Male,Smiling,Eyeglasses", help="celeba: attribute columns (comma-separated)")
    p.add_argument("--steps", type=int, default=1000, help="celeba: training steps (default 1000)")
    p.add_argument("--limit", type=int, help="celeba: use only the first N training images")
    p.add_argument("--only", choices=NAMES, action="append", help="only this instrument (repeatable; default: all)")
    p.add_argument("--quick", action="store_true", help="tiny, short configs (tests/CI; ~30 s each), not the real ones")
    p.add_argument("--cache-dir", default=None, help="cache root (default $INTERP_CACHE_DIR or ~/.cache/interp); "
                                                     "weights go to <cache-dir>/instruments/")
    p.add_argument("--seed", type=int, default=0, help="training seed (part of the cache key)")
    p.add_argument("--n-test", type=int, default=None, help="evaluate: held-out images per split (default: config)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    p.add_argument("--full", action="store_true", help="print every metric, not just the headline numbers")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    if args.command == "celeba":
        return _celeba(args)
    result: dict[str, object] = {}
    for name in args.only or NAMES:
        t0 = time.time()
        if args.command == "train":
            stored = stored_metrics(name, cache_dir=args.cache_dir, quick=args.quick, seed=args.seed,
                                    progress=not args.no_progress)
            metrics = stored["metrics"]
            extra = {"train_seconds": stored.get("train_seconds"), "path": stored["path"]}
        else:
            model = get_instrument(name, cache_dir=args.cache_dir, quick=args.quick, seed=args.seed,
                                   progress=not args.no_progress)
            config = instrument_config(name, quick=args.quick, seed=args.seed)
            metrics = evaluate_instrument(name, model, config, cache_dir=args.cache_dir, n_test=args.n_test)
            extra = {"evaluate_seconds": round(time.time() - t0, 1)}
        result[name] = {**headline(name, metrics), **extra, **({"metrics": metrics} if args.full else {})}
    json.dump(result, sys.stdout, indent=2, default=float)
    print()
    return 0


def _celeba(args: argparse.Namespace) -> int:
    """Train an attribute (+ yaw) net on the user's CelebA folder; print its held-out metrics."""
    from interp.instruments.user import train_celeba_instrument

    if not args.data_root or not args.out:
        print("error: celeba needs --data-root DIR and --out FILE", file=sys.stderr)
        return 2
    names = [n.strip() for n in args.attributes.split(",") if n.strip()]
    try:
        path, metrics = train_celeba_instrument(args.data_root, args.out, names=names, steps=args.steps,
                                                seed=args.seed, limit=args.limit, progress=not args.no_progress)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    json.dump({"path": str(path), **metrics}, sys.stdout, indent=2, default=float)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
