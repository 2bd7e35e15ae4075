"""Train several DCGAN configurations side by side and measure each with the world instruments.

Made for finding training settings on a GPU machine: every configuration is one
``python -m interp.train`` process (all running at once on the same device), and every kept epoch
checkpoint is then measured with :func:`interp.analysis.measure.measure_generator` (FD, attribute / class
shares, yaw spread). The summary is one JSON file plus a table on stdout.

    python bench/sweep.py --plan bench/plans/faces.json --out runs/sweep --device cuda

A plan is a JSON list of ``{"name": ..., "args": [extra train CLI args ...]}``; ``--common`` args
(e.g. ``--data faces --epochs 20``) are added to each. Epochs to measure: ``--measure-epochs``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def train_command(name: str, args: list[str], common: list[str], out: Path, device: str,
                  keep: list[int]) -> list[str]:
    return [sys.executable, "-m", "interp.train", *common, *args, "--out", str(out / name), "--device", device,
            "--keep-epochs", ",".join(map(str, keep)), "--no-progress", "--no-tensorboard",
            "--checkpoint-every", "0"]


def measure_run(run: Path, epochs: list[int], n: int) -> list[dict[str, Any]]:
    """measure_generator on each kept epoch checkpoint of ``run`` (those that exist)."""
    from interp.analysis.measure import measure_generator
    from interp.io.checkpoint import load_gan

    rows = []
    for e in epochs:
        ckpt = run / "checkpoints" / f"epoch_{e:03d}.safetensors"
        if ckpt.is_file():
            m = measure_generator(load_gan(ckpt), n=n, progress=False)
            rows.append({"epoch": e, **m})
    return rows


def summarise(row: dict[str, Any]) -> str:
    g = row["generated"]
    parts = [f"{k.removeprefix('share_')}={v:.2f}" for k, v in g.items() if k.startswith("share_")]
    if "class_fractions" in g:
        parts += [f"{k}_px={g['class_fractions'][k]:.3f}" for k in ("window", "bed")]
    return f"ep{row['epoch']:>3} fd={row['fd']:.2f} (floor {row['fd_floor']:.2f}) " + " ".join(parts)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--plan", required=True, help="JSON list of {name, args}")
    p.add_argument("--common", default="", help="train args added to every configuration (one string)")
    p.add_argument("--out", default="runs/sweep")
    p.add_argument("--device", default="cuda")
    p.add_argument("--measure-epochs", default="5,10,15,20")
    p.add_argument("--n", type=int, default=500, help="samples per measurement (default 500)")
    p.add_argument("--parallel", type=int, default=16, help="trainings at once (default 16)")
    p.add_argument("--train-timeout", type=float, default=0, help="kill trainings still running after this many "
                   "seconds and measure the epochs they reached (default 0: no limit)")
    p.add_argument("--measure-only", action="store_true", help="skip training; measure existing runs")
    args = p.parse_args(argv)

    plan = json.loads(Path(args.plan).read_text())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    epochs = [int(e) for e in args.measure_epochs.split(",") if e]
    common = shlex.split(args.common)
    env = dict(os.environ, OMP_NUM_THREADS="1")

    if not args.measure_only:
        t0 = time.time()
        pending = list(plan)
        running: list[tuple[str, subprocess.Popen]] = []
        while pending or running:
            while pending and len(running) < args.parallel:
                item = pending.pop(0)
                cmd = train_command(item["name"], item.get("args", []), common, out, args.device, epochs)
                log = open(out / f"{item['name']}.log", "w")
                print("start", item["name"], shlex.join(cmd[1:]), flush=True)
                running.append((item["name"], subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)))
            time.sleep(2)
            if args.train_timeout and time.time() - t0 > args.train_timeout:
                for name, proc in running:
                    print(f"timeout: stopping {name}", flush=True)
                    proc.kill()
                pending.clear()
            for name, proc in list(running):
                if proc.poll() is not None:
                    print(f"done {name} rc={proc.returncode} at {time.time() - t0:.0f}s", flush=True)
                    running.remove((name, proc))
        print(f"training wall time {time.time() - t0:.0f}s", flush=True)

    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 2) // 2))
    summary: dict[str, Any] = {}
    for item in plan:
        rows = measure_run(out / item["name"], epochs, args.n)
        summary[item["name"]] = {"args": item.get("args", []), "common": common, "rows": rows}
        for row in rows:
            print(f"{item['name']:<18} {summarise(row)}", flush=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
