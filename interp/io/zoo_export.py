"""Turn a finished training run into a shipped model of the zoo (see :mod:`interp.io.zoo`).

    export_run("runs/ref-rooms-s0", "rooms", provenance={"metrics": ..., "command": ...})

writes ``zoo/rooms/``: ``checkpoints/final`` (G and D), ``checkpoints/epoch_00N`` for each kept epoch
(G only), all in ``dtype`` (fp16 by default: half the bytes; the exporter's caller measures that it loses
nothing), without optimizer state; the run's ``log.csv`` and ``train_config.json``; and
``provenance.json``. Every file is written atomically; an existing model of that name is replaced.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import torch

from interp.io.atomic import atomic_write_text
from interp.io.checkpoint import SUFFIX, CheckpointError, read_checkpoint
from interp.io.tensorfile import json_default, write_tensor_file
from interp.io.zoo import PROVENANCE, zoo_dir

META_KEY = "interp"


def convert_checkpoint(src: Path, dst: Path, *, parts: tuple[str, ...] = ("G", "D"),
                       dtype: torch.dtype = torch.float16, note: dict[str, Any] | None = None) -> dict[str, Any]:
    """Copy the ``parts`` weights of checkpoint ``src`` to ``dst`` with floating tensors cast to ``dtype``
    (BatchNorm counters stay integers; optimizer state is dropped). Returns the metadata written, which
    is ``src``'s plus ``"zoo": {"dtype", "parts", "source_step", ...note}``."""
    tensors, meta = read_checkpoint(src)
    kept = {k: (v.to(dtype) if v.is_floating_point() else v).contiguous()
            for k, v in tensors.items() if k.split(".", 1)[0] in parts}
    if not kept:
        raise CheckpointError(f"{src}: holds none of {list(parts)}")
    meta = {k: v for k, v in meta.items() if k != "optimizers"}
    meta["zoo"] = {"dtype": str(dtype).replace("torch.", ""), "parts": list(parts), "source": src.name,
                   "source_step": meta.get("step"), **(note or {})}
    write_tensor_file(dst, kept, META_KEY, meta)
    return meta


def log_summary(log_csv: Path) -> dict[str, Any]:
    """Steps logged, invocations and training wall time of a run's ``log.csv``. Its ``seconds`` column
    counts from the start of each invocation (a resumed run starts again near 0), so the wall time is the
    sum of each invocation's last value."""
    with open(log_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return {"logged_steps": 0, "train_seconds": None, "invocations": 0}
    seconds = [float(r["seconds"]) for r in rows]
    total, invocations = 0.0, 1
    for prev, cur in zip(seconds, seconds[1:], strict=False):
        if cur < prev:  # a new invocation (resume)
            total += prev
            invocations += 1
    total += seconds[-1]
    return {"logged_steps": int(rows[-1]["step"]) + 1, "train_seconds": round(total, 1), "invocations": invocations}


def export_run(run: str | Path, name: str, *, provenance: dict[str, Any] | None = None, root: Path | None = None,
               dtype: torch.dtype = torch.float16, epochs: tuple[int, ...] = (1, 5)) -> Path:
    """Write shipped model ``name`` from finished run directory ``run``; returns ``<zoo>/<name>``.

    ``provenance``: what the caller measured or knows (command, metrics, fp16 check, hardware); this
    function adds the source run, steps, epochs, git revision and library versions of the final
    checkpoint, and the wall time from ``log.csv``."""
    run = Path(run)
    final = run / "checkpoints" / f"final{SUFFIX}"
    if not final.is_file():
        raise CheckpointError(f"{run}: no checkpoints/final{SUFFIX}; the run has not finished (continue it with --resume)")
    missing = [e for e in epochs if not (run / "checkpoints" / f"epoch_{e:03d}{SUFFIX}").is_file()]
    if missing:
        raise CheckpointError(f"{run}: no checkpoint of epoch(s) {missing}")
    out = (zoo_dir() if root is None else root) / name
    (out / "checkpoints").mkdir(parents=True, exist_ok=True)
    meta = convert_checkpoint(final, out / "checkpoints" / f"final{SUFFIX}", dtype=dtype)
    for e in epochs:
        convert_checkpoint(run / "checkpoints" / f"epoch_{e:03d}{SUFFIX}", out / "checkpoints" / f"epoch_{e:03d}{SUFFIX}",
                           parts=("G",), dtype=dtype)
    for extra in ("log.csv", "train_config.json"):
        if (run / extra).is_file():
            atomic_write_text(out / extra, (run / extra).read_text())
    record: dict[str, Any] = {
        "name": name,
        "source_run": str(run),
        "dtype": str(dtype).replace("torch.", ""),
        "steps": meta.get("step"),
        "epochs": meta.get("epoch"),
        "steps_per_epoch": meta.get("steps_per_epoch"),
        "seed": meta.get("seed"),
        "dataset": meta.get("dataset"),
        "model": meta.get("model"),
        "train": meta.get("train"),
        "environment": meta.get("environment"),
        **(log_summary(run / "log.csv") if (run / "log.csv").is_file() else {}),
        **(provenance or {}),
    }
    atomic_write_text(out / PROVENANCE, json.dumps(record, indent=2, sort_keys=True, default=json_default) + "\n")
    return out


__all__ = ["convert_checkpoint", "export_run", "log_summary"]
