"""``interp``: one command family for training, figures, notebooks and every measurement.

Each subcommand is a module of :mod:`interp.cli` with a ``main(argv) -> int``; ``interp SUB --help``
shows its options and examples. ``python -m interp SUB ...`` is the same command.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Subcommand:
    """One ``interp`` subcommand: the module that implements it and a line of help."""

    name: str
    module: str
    help: str


SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand("train", "interp.cli.train", "train a DCGAN (embedded worlds or real data), resumable"),
    Subcommand("figures", "interp.cli.figures", "draw the paper's figures with their numbers (metrics.json)"),
    Subcommand("notebooks", "interp.cli.notebooks", "build and execute the per-figure notebooks"),
    Subcommand("instruments", "interp.cli.instruments", "train / evaluate the measuring instruments"),
    Subcommand("measure", "interp.cli.measure", "what a rooms/faces generator draws, with FD and its floor"),
    Subcommand("probe", "interp.cli.probe", "Tables 1-2: D's features + a linear SVM on a labelled dataset"),
    Subcommand("dedup", "interp.cli.dedup", "near-duplicate images by the paper's autoencoder hash"),
    Subcommand("forget", "interp.cli.forget", "Fig. 6 on your own model from boxes you draw"),
    Subcommand("zoo", "interp.cli.zoo", "the shipped models and instruments: list, export a finished run"),
)

EXAMPLES = """\
examples:
  interp figures --all                                  # every figure into figures/
  interp train --data rooms --epochs 5 --out runs/rooms
  interp measure --checkpoint runs/rooms-default --n 500
  interp notebooks run --quick --out /tmp/nb
  interp probe --checkpoint runs/c10 --data cifar10 --data-root ~/data/cifar-10-batches-py
  interp forget sheet --checkpoint netG_epoch_24.pth --out boxes_work
  interp zoo list
"""


def usage() -> str:
    width = max(len(s.name) for s in SUBCOMMANDS)
    rows = "\n".join(f"  {s.name:<{width}}  {s.help}" for s in SUBCOMMANDS)
    return (f"usage: interp COMMAND [options]   (interp COMMAND --help for its options)\n\n"
            f"Train DCGANs and take them apart the way the DCGAN paper did, with a number behind every figure.\n\ncommands:\n{rows}\n\n{EXAMPLES}")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    if args[0] in ("-V", "--version"):
        from interp import __version__

        print(f"interp {__version__}")
        return 0
    by_name = {s.name: s for s in SUBCOMMANDS}
    sub = by_name.get(args[0])
    if sub is None:
        print(f"error: unknown command {args[0]!r}; choose from: {', '.join(by_name)}", file=sys.stderr)
        return 2
    module = importlib.import_module(sub.module)
    return int(module.main(args[1:]) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
