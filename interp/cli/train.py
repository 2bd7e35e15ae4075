"""``python -m interp.train``: train a DCGAN on embedded or real data.

Examples::

    python -m interp.train --data shapes --preset examples --size 64 --epochs 5 --out runs/shapes
    python -m interp.train --data cifar10 --data-root ~/data/cifar-10-batches-py --size 32 --out runs/c10
    python -m interp.train --out runs/c10 --resume            # continue where it stopped
    torchrun --nproc_per_node=4 -m interp.train --data lsun --data-root bedroom_train_lmdb ...
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from interp.cli.options import check_device, error_line, nonnegative_int, parse_option, positive_int
from interp.core.config import PRESETS, ConfigError
from interp.io.checkpoint import CheckpointError
from interp.train.distributed import init_from_env, shutdown
from interp.train.trainer import RunExistsError, TrainConfig, Trainer, TrainingDiverged

log = logging.getLogger("interp.train")

DEFAULTS = TrainConfig()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m interp.train",
        description=(
            "Train a DCGAN (Radford et al. 2016). Writes log.csv (per-step losses, D(x), D(G(z))), "
            "a fixed-z sample grid after every epoch (samples/), and safetensors checkpoints after "
            "epochs 1 and 5 and at the end (checkpoints/), plus a resumable checkpoints/latest "
            "every --checkpoint-every steps. TensorBoard logs too, when tensorboard is installed."
        ),
        epilog=__doc__.split("Examples::", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    g = p.add_argument_group("data")
    g.add_argument("--data", help=f"dataset name or path (default {DEFAULTS.data!r}); names: see --list-data")
    g.add_argument("--data-root", help="where a real dataset lives (folder, lmdb, .mat, CIFAR batches ...)")
    g.add_argument("--data-option", dest="data_options", action="append", type=parse_option, metavar="KEY=VALUE",
                   help="extra dataset argument, repeatable (e.g. n=50000 for the size of an embedded world, "
                        "crop=148 for CelebA)")
    g.add_argument("--limit", type=positive_int, help="use only the first N images")
    g.add_argument("--list-data", action="store_true", help="list dataset names and exit")
    g = p.add_argument_group("model")
    g.add_argument("--preset", choices=sorted(PRESETS), help=f"architecture preset (default {DEFAULTS.preset})")
    g.add_argument("--size", dest="image_size", type=int, help=f"image size, 32 or 64 (default {DEFAULTS.image_size})")
    g.add_argument("--nz", type=positive_int, help="latent size (default 100)")
    g.add_argument("--ngf", type=positive_int, help="generator width (preset default: paper 128, examples 64)")
    g.add_argument("--ndf", type=positive_int, help="discriminator width (preset default: paper 128, examples 64)")
    g = p.add_argument_group("optimisation")
    g.add_argument("--epochs", type=positive_int, help=f"passes over the data (default {DEFAULTS.epochs})")
    g.add_argument("--batch-size", type=positive_int, help="global batch size (preset default: paper 128, examples 64)")
    g.add_argument("--lr", type=float, help=f"Adam learning rate (default {DEFAULTS.lr})")
    g.add_argument("--lr-d", type=float, help="D's Adam learning rate, if it should differ from G's (default: --lr)")
    g.add_argument("--lr-schedule", choices=("constant", "linear"),
                   help="constant (default, the paper's) or linear: both learning rates decay linearly to 0 at the "
                        "end of the run (steadies long runs whose D otherwise overpowers G late)")
    g.add_argument("--beta1", type=float, help=f"Adam beta1 (default {DEFAULTS.beta1})")
    g.add_argument("--real-label", type=float,
                   help="D's target for real images (default 1.0; 0.9 = one-sided label smoothing, Salimans et al. 2016)")
    g.add_argument("--instance-noise", type=float,
                   help="std of Gaussian noise added to every image D sees, annealed linearly to 0 over the run "
                        "(default 0: off; images are in [-1, 1])")
    g.add_argument("--weight-decay", type=float, help="L2 weight decay (preset default: paper 1e-5, examples 0)")
    g.add_argument("--seed", type=nonnegative_int, help=f"seed for init, data order and z (default {DEFAULTS.seed})")
    g = p.add_argument_group("run")
    g.add_argument("--out", help=f"output directory (default {DEFAULTS.out})")
    g.add_argument("--resume", action="store_true", help="continue the run in --out from its latest checkpoint")
    g.add_argument("--max-steps", type=positive_int, help="stop after this many steps of THIS invocation (resumable later; a later --resume is not limited by it)")
    g.add_argument("--checkpoint-every", type=int, help=f"steps between resumable checkpoints (default {DEFAULTS.checkpoint_every}; 0: epoch ends only)")
    g.add_argument("--checkpoint-minutes", type=float, help=f"also checkpoint after this many minutes (default {DEFAULTS.checkpoint_minutes})")
    g.add_argument("--keep-epochs", type=lambda s: tuple(int(v) for v in s.split(",") if v), help="epochs whose checkpoints are kept, comma-separated (default 1,5)")
    g.add_argument("--log-every", type=positive_int, help=f"steps between log flushes / NaN checks (default {DEFAULTS.log_every})")
    g.add_argument("--no-progress", dest="progress", action="store_const", const=False, help="no progress bar")
    g.add_argument("--no-tensorboard", dest="tensorboard", action="store_const", const=False, help="no TensorBoard logs")
    g = p.add_argument_group("speed")
    g.add_argument("--device", help="auto (default), cpu, cuda, cuda:1 ...")
    g.add_argument("--amp", choices=["auto", "bf16", "none"], help="bf16 autocast; auto = on for CUDA")
    g.add_argument("--channels-last", dest="channels_last", action="store_const", const=True, help="channels_last memory format (default on CUDA and CPU)")
    g.add_argument("--no-channels-last", dest="channels_last", action="store_const", const=False)
    g.add_argument("--compile", action="store_const", const=True, help="torch.compile G and D")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging, and full tracebacks of errors")
    return p


#: TrainConfig field -> its flag (fields without one here use --field-name)
_FLAGS = {"image_size": "--size", "data_options": "--data-option"}
#: fields a recipe always names, even at their default value
_RECIPE = ("data", "data_options", "preset", "image_size", "ngf", "ndf", "batch_size", "lr", "epochs", "seed", "out")


def train_command(config: dict[str, Any] | TrainConfig) -> str:
    """The ``python -m interp.train`` command line that reproduces ``config`` (a run's train_config.json):
    the recipe fields always, every other field where it differs from the default. Parsing it back with
    :func:`config_from_args` gives the same TrainConfig."""
    cfg = config if isinstance(config, TrainConfig) else TrainConfig.from_dict(dict(config))
    words = ["python", "-m", "interp.train"]
    for f in dataclasses.fields(TrainConfig):
        value, default = getattr(cfg, f.name), getattr(DEFAULTS, f.name)
        if value is None or (f.name not in _RECIPE and value == default):
            continue
        flag = _FLAGS.get(f.name, "--" + f.name.replace("_", "-"))
        if f.name == "data_options":
            for k, v in value.items():
                words += [flag, f"{k}={v}"]
        elif f.name == "channels_last":
            words.append("--channels-last" if value else "--no-channels-last")
        elif f.name in ("progress", "tensorboard"):
            words.append(f"--no-{f.name}")
        elif f.name == "compile":
            words.append("--compile")
        elif f.name == "keep_epochs":
            words += [flag, ",".join(str(e) for e in value)]
        else:
            words += [flag, str(value)]
    return " ".join(shlex.quote(w) for w in words)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The run's TrainConfig: stored config when resuming, overridden by the flags given."""
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    given = {k: v for k, v in vars(args).items() if k in names and v is not None}
    if "data_options" in given:
        given["data_options"] = dict(given["data_options"])
    base: dict[str, Any] = {}
    out = Path(given.get("out", DEFAULTS.out))
    stored = out / "train_config.json"
    if args.resume:
        latest = out / "checkpoints" / "latest.safetensors"
        if not latest.is_file():
            raise ConfigError(f"--resume: there is no run to resume in {out} (no {latest.relative_to(out)}); "
                              "check --out, or drop --resume to start a new run")
    if args.resume and stored.is_file():
        try:
            base = json.loads(stored.read_text())
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{stored}: not valid JSON ({exc})") from exc
        base.pop("out", None)
        base.pop("max_steps", None)  # a limit of an earlier invocation; each invocation sets its own
    return TrainConfig.from_dict({**base, **given, "out": str(out)})


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from interp.data import available_datasets, open_dataset

    if args.list_data:
        print("\n".join(available_datasets()))
        return 0
    dist_info = None
    try:
        cfg = config_from_args(args)
        check_device(cfg.device)
        dist_info = init_from_env(cfg.device)
        dataset = open_dataset(cfg.data, cfg.data_root, image_size=cfg.image_size, **cfg.data_options)
        images = dataset.uint8_images()
        trainer = Trainer(cfg, images, dataset.describe(), dist=dist_info, resume=args.resume)
        result = trainer.run()
    except TrainingDiverged as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except (ConfigError, RunExistsError, CheckpointError, ValueError, OSError) as exc:  # user errors: one line
        if args.verbose:
            raise
        print(f"error: {error_line(exc)}", file=sys.stderr)
        return 2
    finally:
        if dist_info is not None:
            shutdown(dist_info)
    if trainer.is_main:
        print(f"trained {result.steps_this_run} steps in this run at {result.images_per_second:.1f} images/s; "
              f"the run is at step {result.step} of {result.total_steps} (epoch {result.epoch})")
        print(f"run directory: {result.out}")
        if result.final_checkpoint:
            print(f"final checkpoint: {result.final_checkpoint}")
        else:
            print(f"not finished: continue with --resume --out {result.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
