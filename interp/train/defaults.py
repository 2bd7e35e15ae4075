"""The project's default models, trained on first use.

* full: ``runs/rooms-default`` / ``runs/faces-default`` (relative to the current directory),
  trained as the main job does (``scripts/main.sh`` runs ``python -m interp.figures --all``, which
  trains them here): ``--preset examples --size 64 --ngf 32 --ndf 32 --batch-size 32 --lr 5e-4
  --epochs 6`` on the world's 10,000 training renders, seed 0; checkpoints of epochs 1 and 5 are
  kept for Figs. 2 and 3, the final (epoch 6) model draws the other figures. The settings were
  chosen by a GPU sweep under the CPU budget (BENCHMARKS.md, "Default training settings"): with the
  paper's batch 128 / lr 2e-4 (or the examples' 64 / 2e-4) the faces model mode-collapsed within
  this many steps.
* reference (``--train`` on a GPU): ``runs/rooms-reference`` / ``runs/faces-reference``, the recipe
  of the shipped models (``zoo/``): 50,000 renders, the paper's ``--batch-size 128 --lr 2e-4`` with
  ``--lr-schedule linear --instance-noise 0.3 --epochs 25``, widths 32, the same on both worlds. (The
  CPU-budget rate, batch 64 / lr 5e-4, collapsed on both worlds in long runs, constant or decaying,
  between epochs 10 and 15; rooms without instance noise collapsed by epoch 21: BENCHMARKS.md.)
* quick (``--quick``): ``runs/quick-rooms`` / ``runs/quick-faces``, a tiny stand-in that trains in
  well under a minute on a CPU (ngf = ndf = 8, 512 training renders, 2 epochs); its epoch-2
  checkpoint stands in for epoch 5 (figures record that in their metrics ``note``).

Override a run directory with ``$INTERP_ROOMS_RUN`` / ``$INTERP_FACES_RUN`` (full) or
``$INTERP_QUICK_ROOMS_RUN`` / ``$INTERP_QUICK_FACES_RUN``, by editing :data:`DEFAULT_RUNS`, or per
call with ``--checkpoint``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from interp.train.trainer import TrainConfig

DEFAULT_RUNS: dict[str, str] = {"rooms": "runs/rooms-default", "faces": "runs/faces-default"}
REFERENCE_RUNS: dict[str, str] = {"rooms": "runs/rooms-reference", "faces": "runs/faces-reference"}
QUICK_RUNS: dict[str, str] = {"rooms": "runs/quick-rooms", "faces": "runs/quick-faces"}

#: TrainConfig fields of the main job (scripts/main.sh) ...
DEFAULT_TRAIN: dict[str, Any] = {"preset": "examples", "image_size": 64, "ngf": 32, "ndf": 32, "epochs": 6,
                                 "batch_size": 32, "lr": 5e-4, "keep_epochs": (1, 5), "seed": 0}
#: ... of the reference recipe (the shipped models; retrained by --train where a GPU is): the paper's
#: Adam settings (lr 2e-4, beta1 0.5, batch 128), both rates decaying linearly to 0 over 25 epochs, and
#: instance noise of std 0.3 on D's inputs, decaying linearly to 0 over the run, on both worlds.
#: (lr 5e-4 with batch 64 -- the CPU-budget defaults' rate -- mode-collapsed on both worlds, constant or
#: decaying, between epochs 10 and 15. Without instance noise, on faces D won from the first steps
#: (D(G(z)) 0.03-0.07 over steps 0-760) and the GPU sweep's faces runs dropped a yaw mode; on rooms D
#: gained from epoch 13 and the run collapsed by epoch 20-21 (FD 0.67 at epoch 15, 0.83 at 20, 58 % of the
#: samples with a near-duplicate). BENCHMARKS.md, "Reference runs on the CPU".)
REFERENCE_TRAIN: dict[str, Any] = {**DEFAULT_TRAIN, "epochs": 25, "batch_size": 128, "lr": 2e-4,
                                   "lr_schedule": "linear", "instance_noise": 0.3, "keep_epochs": (1, 5, 10, 15, 20)}
#: per-world changes to it (none today: both worlds train with the same recipe)
REFERENCE_WORLD_TRAIN: dict[str, dict[str, Any]] = {}
REFERENCE_N_IMAGES = 50_000
#: ... and of the quick stand-in (epoch 2 plays epoch 5).
QUICK_TRAIN: dict[str, Any] = {"preset": "examples", "image_size": 64, "ngf": 8, "ndf": 8, "epochs": 2,
                               "keep_epochs": (1, 2), "seed": 0, "checkpoint_every": 0}
QUICK_N_IMAGES = 512
#: which epoch checkpoint plays the paper's "epoch 1" and "epoch 5"
FIG_EPOCHS: dict[bool, dict[int, int]] = {False: {1: 1, 5: 5}, True: {1: 1, 5: 2}}


def default_run_dir(world: str, quick: bool = False, reference: bool = False) -> Path:
    """The default (or quick, or reference-recipe) run directory of ``world`` (env override first)."""
    table = QUICK_RUNS if quick else REFERENCE_RUNS if reference else DEFAULT_RUNS
    if world not in table:
        raise KeyError(f"no default model for {world!r}; worlds with one: {sorted(table)}")
    kind = "QUICK_" if quick else "REFERENCE_" if reference else ""
    return Path(os.environ.get(f"INTERP_{kind}{world.upper()}_RUN") or table[world])


def recipe_config(world: str, out: str | Path, *, quick: bool = False, reference: bool = False,
                  **overrides: Any) -> TrainConfig:
    """The TrainConfig of ``world``'s recipe (quick, reference, or the CPU-budget defaults) into ``out``;
    ``overrides`` replace recipe fields (e.g. ``seed=1``, ``device="cuda"``). The reference recipe trains on
    :data:`REFERENCE_N_IMAGES` renders (``data_options={"n": ...}``)."""
    from interp.train.trainer import TrainConfig

    settings = dict(QUICK_TRAIN if quick else REFERENCE_TRAIN if reference else DEFAULT_TRAIN)
    if reference and not quick:
        settings.update(REFERENCE_WORLD_TRAIN.get(world, {}))
    options = {"n": REFERENCE_N_IMAGES} if reference and not quick else {}
    fields = {"data": world, "data_options": options, "out": str(out), "tensorboard": False, **settings, **overrides}
    return TrainConfig(**fields)


def ensure_default_model(world: str, quick: bool = False, progress: bool = True, reference: bool = False) -> Path:
    """The default run directory of ``world``; trains it first (with a tqdm bar) unless its final
    checkpoint exists. An interrupted training run is resumed. ``reference``: the shipped models' recipe
    (hours on a GPU's budget, days on a CPU) instead of the CPU-budget defaults."""
    run = default_run_dir(world, quick, reference=reference and not quick)
    if (run / "checkpoints" / "final.safetensors").is_file():
        return run
    from interp.data import open_dataset
    from interp.train.trainer import Trainer

    cfg = recipe_config(world, run, quick=quick, reference=reference, progress=progress)
    n = QUICK_N_IMAGES if quick else REFERENCE_N_IMAGES if reference else None
    ds = open_dataset(world, split="train", n=n, image_size=cfg.image_size)
    kind = "quick " if quick else "reference-recipe " if reference else "default "
    print(f"[figures] training the {kind}{world} model into {run} "
          f"({cfg.epochs} epochs on {len(ds)} images; ngf={cfg.ngf}) ...", flush=True)
    Trainer(cfg, ds.uint8_images(), ds.describe(), resume=True).run()
    return run

__all__ = [
    "DEFAULT_RUNS",
    "DEFAULT_TRAIN",
    "FIG_EPOCHS",
    "QUICK_N_IMAGES",
    "QUICK_RUNS",
    "QUICK_TRAIN",
    "REFERENCE_N_IMAGES",
    "REFERENCE_RUNS",
    "REFERENCE_TRAIN",
    "REFERENCE_WORLD_TRAIN",
    "default_run_dir",
    "ensure_default_model",
    "recipe_config",
]
