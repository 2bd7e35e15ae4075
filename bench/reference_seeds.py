"""Train the reference recipe with more seeds, all at once, and pack each run small enough to bring home.

For a session lent a GPU (one prepared call; see DEVELOPERS.md): the seeds that back the robustness claims
(issue 10) take hours each on the 2-core CPU and minutes on an H200, where several small DCGANs train side by
side. The recipe is read from :data:`interp.train.defaults.REFERENCE_TRAIN` and ``REFERENCE_WORLD_TRAIN``
(the shipped models' recipe), so it cannot drift from it; only ``--device`` (and, for smoke tests,
``--epochs`` / ``--n-images``) differ.

    python bench/reference_seeds.py --seeds 1 2 --worlds rooms faces --device cuda --out runs --pack $OUT

Each run goes to ``OUT/ref-<world>-s<seed>`` (``--resume`` where a run exists). ``--pack DIR`` then writes
``DIR/ref-<world>-s<seed>.tar`` per finished run: ``checkpoints/final`` (G and D, as trained),
``checkpoints/epoch_001`` / ``epoch_005`` (G only, fp16: Figs. 2-3), ``log.csv``, ``train_config.json``
and the sample grids, about 12 MB per run (under the device tool's 16 MiB per file), plus ``DIR/seeds.json``
(commands, wall times, return codes, hardware). Unpack with ``tar -xf ref-rooms-s1.tar -C runs/`` and use
the folders with ``python -m interp.figures --robustness runs/ref-rooms-s0 runs/ref-rooms-s1 ...``.

The device call (the H200 image has torch, numpy, safetensors, pillow and tqdm, all that training needs,
but not this package, which runs from the checkout;
4 runs, a 10-minute cap per call, so stop at 540 s and resume in a second call if needed):

    PYTHONPATH=$PWD OMP_NUM_THREADS=2 python3 bench/reference_seeds.py --device cuda --out /tmp/runs \
        --pack $OUT --timeout 540
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

import torch

from interp.cli.train import train_command
from interp.io.zoo_export import convert_checkpoint
from interp.train.defaults import REFERENCE_TRAIN, recipe_config
from interp.train.trainer import TrainConfig

#: epoch checkpoints the figures need (G only, fp16 in the pack)
PACK_EPOCHS = (1, 5)


def reference_config(world: str, seed: int, out: Path, device: str, epochs: int | None = None,
                     n_images: int | None = None) -> TrainConfig:
    """The reference recipe of ``world`` with ``seed``, into ``out/ref-<world>-s<seed>``: fp32 as on the CPU
    (no bf16 autocast), so that a seed differs from the shipped seed 0 in seed and hardware only."""
    overrides: dict[str, Any] = {"seed": seed, "device": device, "amp": "none", "progress": False}
    if epochs is not None:
        overrides["epochs"] = epochs
        overrides["keep_epochs"] = tuple(e for e in REFERENCE_TRAIN["keep_epochs"] if e <= epochs)
    if n_images is not None:
        overrides["data_options"] = {"n": n_images}
    return recipe_config(world, out / f"ref-{world}-s{seed}", reference=True, **overrides)


def pack_run(run: Path, dest: Path) -> Path:
    """``dest/<run name>.tar`` with the run's final checkpoint, its epoch 1 / 5 G in fp16, log, config and
    samples (paths inside start with the run's folder name)."""
    staging = dest / f".{run.name}-epochs"
    staging.mkdir(parents=True, exist_ok=True)
    tar_path = dest / f"{run.name}.tar"
    with tarfile.open(tar_path, "w") as tar:
        tar.add(run / "checkpoints" / "final.safetensors", f"{run.name}/checkpoints/final.safetensors")
        for e in PACK_EPOCHS:
            src = run / "checkpoints" / f"epoch_{e:03d}.safetensors"
            if src.is_file():
                small = staging / src.name
                convert_checkpoint(src, small, parts=("G",), dtype=torch.float16)
                tar.add(small, f"{run.name}/checkpoints/{src.name}")
        for name in ("log.csv", "train_config.json"):
            if (run / name).is_file():
                tar.add(run / name, f"{run.name}/{name}")
        if (run / "samples").is_dir():
            tar.add(run / "samples", f"{run.name}/samples")
    for f in staging.iterdir():
        f.unlink()
    staging.rmdir()
    return tar_path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    p.add_argument("--worlds", nargs="+", default=["rooms", "faces"], choices=sorted({"rooms", "faces"}))
    p.add_argument("--device", default="cuda")
    p.add_argument("--out", default="runs", help="where the runs go (default runs/)")
    p.add_argument("--pack", default=None, help="write one .tar per finished run and seeds.json here")
    p.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs (smoke tests only)")
    p.add_argument("--n-images", type=int, default=None, help="override the 50,000 renders (smoke tests only)")
    p.add_argument("--timeout", type=float, default=0, help="stop trainings still running after this many seconds "
                   "(they keep their last checkpoint and resume later; default 0: no limit)")
    args = p.parse_args(argv)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"), PYTHONUNBUFFERED="1")
    jobs: dict[str, dict[str, Any]] = {}
    t0 = time.time()
    for world in args.worlds:
        for seed in args.seeds:
            cfg = reference_config(world, seed, out, args.device, args.epochs, args.n_images)
            command = train_command(cfg)
            run = Path(cfg.out)
            resume = (run / "checkpoints" / "latest.safetensors").is_file()
            words = shlex.split(command)[1:] + (["--resume"] if resume else [])
            log = open(out / f"ref-{world}-s{seed}.log", "a")
            print(f"start {run.name}: {command}" + (" --resume" if resume else ""), flush=True)
            proc = subprocess.Popen([sys.executable, *words], stdout=log, stderr=subprocess.STDOUT, env=env)
            jobs[run.name] = {"run": run, "command": command, "proc": proc, "log": log, "start": time.time()}
    while any(j["proc"].poll() is None for j in jobs.values()):
        time.sleep(2)
        if args.timeout and time.time() - t0 > args.timeout:
            for name, j in jobs.items():
                if j["proc"].poll() is None:
                    print(f"timeout: stopping {name}", flush=True)
                    j["proc"].terminate()
            break
    summary: dict[str, Any] = {"hardware": {"device": args.device, "cuda": torch.cuda.get_device_name(0)
                                            if torch.cuda.is_available() else None,
                                            "cpu_count": os.cpu_count(), "platform": platform.platform()},
                               "wall_seconds": round(time.time() - t0, 1), "runs": {}}
    for name, j in jobs.items():
        rc = j["proc"].wait()
        j["log"].close()
        final = (j["run"] / "checkpoints" / "final.safetensors").is_file()
        summary["runs"][name] = {"command": j["command"], "returncode": rc, "finished": final,
                                 "seconds": round(time.time() - j["start"], 1)}
        print(f"{name}: rc={rc} finished={final}", flush=True)
    if args.pack:
        dest = Path(args.pack)
        dest.mkdir(parents=True, exist_ok=True)
        for name, j in jobs.items():
            if summary["runs"][name]["finished"]:
                tar = pack_run(j["run"], dest)
                summary["runs"][name]["pack_bytes"] = tar.stat().st_size
                print(f"packed {tar} ({tar.stat().st_size / 1e6:.1f} MB)", flush=True)
        (dest / "seeds.json").write_text(json.dumps(summary, indent=1))
    return 0 if all(r["finished"] for r in summary["runs"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
