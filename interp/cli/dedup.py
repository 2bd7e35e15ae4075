"""``interp dedup``: find near-duplicate training images with the paper's autoencoder hash (:mod:`interp.analysis.dedup`)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from interp.analysis.dedup import (
    HASH_SIZE,
    HashAutoencoder,
    duplicates_to_remove,
    find_duplicate_groups,
    fit_hash_autoencoder,
    hash_codes,
    load_hash_autoencoder,
    pack,
    save_hash_autoencoder,
)
from interp.io.atomic import atomic_write_text


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="interp dedup",
        description=(
            "Find near-duplicate training images with the DCGAN paper's semantic hashing (section 4.1): "
            "fit a 3072-128-3072 de-noising dropout ReLU autoencoder on 32x32 centre crops, binarise "
            "the 128 code activations, and group images with equal codes (or codes within "
            "--max-hamming bits). Prints a summary; optionally writes the groups and a removal list."
        ),
        epilog=(
            "examples:\n"
            "  interp dedup --data folder --data-root ~/pics --write groups.json --remove-list dupes.txt\n"
            "  interp dedup --data lsun --data-root bedroom_train_lmdb --limit 100000 "
            "--model ae.safetensors --max-hamming 2"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", required=True, help="dataset name (shapes, folder, lsun, cifar10 ...) or a path")
    p.add_argument("--data-root", help="where a real dataset lives (folder, lmdb, .mat, CIFAR batches ...)")
    p.add_argument("--cache-dir", help="where decoded uint8 images are cached (default: the package's cache dir)")
    p.add_argument("--size", type=int, default=HASH_SIZE, help="hash image side; images are loaded at this size (default 32)")
    p.add_argument("--limit", type=int, help="use only N images of the dataset")
    p.add_argument("--epochs", type=int, default=10, help="autoencoder training epochs (default 10)")
    p.add_argument("--batch-size", type=int, default=128, help="training batch size (default 128)")
    p.add_argument("--seed", type=int, default=0, help="seed for initialisation, shuffling, noise (default 0)")
    p.add_argument("--threshold", type=float, default=0.0, help="a code bit is set when its ReLU activation exceeds this (default 0)")
    p.add_argument("--max-hamming", type=int, default=0, help="also group codes within this many differing bits (default 0: exact hash)")
    p.add_argument("--model", help="autoencoder .safetensors: loaded if it exists, else trained and saved there")
    p.add_argument("--write", metavar="GROUPS_JSON", help="write the duplicate groups (indices and file names) as JSON")
    p.add_argument("--remove-list", metavar="TXT", help="write all but the first image of every group, one per line")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda ...")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    return p


def _check_args(args: argparse.Namespace) -> None:
    for name in ("size", "epochs", "batch_size"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.limit is not None and args.limit < 1:
        raise ValueError(f"--limit must be >= 1, got {args.limit}")
    if args.max_hamming < 0:
        raise ValueError(f"--max-hamming must be >= 0, got {args.max_hamming}")


def open_images(data: str, root: str | None, size: int, limit: int | None,
                cache_dir: str | None = None) -> tuple[np.ndarray, list[str] | None, dict[str, Any]]:
    """(uint8 (N, 3, size, size), per-image names or None, dataset description)."""
    from interp.data import open_dataset

    options: dict[str, Any] = {"limit": limit} if limit else {}
    try:
        ds = open_dataset(data, root, image_size=size, cache_dir=cache_dir, **options)
    except TypeError as exc:  # loaders without a ``limit`` option: take the first N afterwards
        if "limit" not in str(exc):
            raise
        ds = open_dataset(data, root, image_size=size, cache_dir=cache_dir)
    images = ds.uint8_images()
    names = _item_names(ds, len(images))
    if limit is not None and len(images) > limit:
        images, names = images[:limit], (names[:limit] if names is not None else None)
    return images, names, ds.describe()


def _item_names(ds: Any, n: int) -> list[str] | None:
    """File names / keys of a dataset's items when it exposes them (``files``, ``paths``, ``keys``)."""
    for attr in ("files", "paths", "keys"):
        items = getattr(ds, attr, None)
        if items is None or callable(items) or len(items) != n:
            continue
        return [bytes(x).decode("utf-8", "replace") if isinstance(x, (bytes, np.bytes_)) else str(x) for x in items]
    return None


def _device(name: str) -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu") if name == "auto" else torch.device(name)


def get_model(args: argparse.Namespace, images: np.ndarray, describe: dict[str, Any], device: torch.device) -> HashAutoencoder:
    """Load ``--model`` when it exists, else train (and save to ``--model`` when given)."""
    if args.model and Path(args.model).expanduser().exists():
        model, _ = load_hash_autoencoder(args.model, device)
        print(f"loaded autoencoder {args.model}")
        return model
    model = fit_hash_autoencoder(images, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
                                 device=device, size=args.size, progress=args.progress)
    if args.model:
        extra = {"epochs": args.epochs, "batch_size": args.batch_size, "seed": args.seed,
                 "num_images": len(images), "dataset": describe}
        print(f"saved autoencoder {save_hash_autoencoder(args.model, model, extra)}")
    return model


def write_outputs(args: argparse.Namespace, groups: list[list[int]], names: list[str] | None,
                  codes: np.ndarray, describe: dict[str, Any]) -> None:
    """The ``--write`` JSON and the ``--remove-list`` text file (atomic writes)."""
    label = (lambda i: names[i]) if names is not None else str
    if args.write:
        doc = {"dataset": describe, "num_images": len(codes), "max_hamming": args.max_hamming,
               "threshold": args.threshold, "num_groups": len(groups),
               "num_duplicates": len(duplicates_to_remove(groups)),
               "groups": [{"indices": g, **({"files": [names[i] for i in g]} if names else {}),
                           "hash": np.packbits(codes[g[0]]).tobytes().hex()} for g in groups]}
        atomic_write_text(Path(args.write), json.dumps(doc, indent=2, default=str) + "\n")
        print(f"wrote groups to {args.write}")
    if args.remove_list:
        atomic_write_text(Path(args.remove_list), "".join(f"{label(i)}\n" for i in duplicates_to_remove(groups)))
        print(f"wrote removal list to {args.remove_list}")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        _check_args(args)
        device = _device(args.device)
        images, names, describe = open_images(args.data, args.data_root, args.size, args.limit, args.cache_dir)
        model = get_model(args, images, describe, device)
        codes = hash_codes(model, images, args.threshold)
        groups = find_duplicate_groups(codes, args.max_hamming)
        write_outputs(args, groups, names, codes, describe)
    except (ValueError, FileNotFoundError, RuntimeError) as exc:  # DatasetError/InstrumentError are ValueErrors
        print(f"error: {exc}", file=sys.stderr)
        return 2
    flagged = len(duplicates_to_remove(groups))
    used = int(np.count_nonzero(codes.any(0) & ~codes.all(0)))
    print(f"images: {len(codes)}  hash bits varying: {used}/{codes.shape[1]}  unique hashes: {len(set(pack(codes)))}")
    print(f"duplicate groups: {len(groups)}  largest: {max(map(len, groups), default=0)}  "
          f"images flagged as duplicates: {flagged} ({100.0 * flagged / max(len(codes), 1):.2f}%)")
    return 0
