"""``python -m interp.figures``: draw the paper's figures and measure the number behind each."""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

from interp.cli.options import USER_ERRORS, check_device, error_line, nonnegative_int, parse_option, positive_int
from interp.figures import FIGURES, FigureContext, list_figures, run_figure
from interp.figures.summary import SUMMARY, write_summary

EPILOG = """\
examples:
  python -m interp.figures --list
  python -m interp.figures --all                          # the shipped models, into figures/
  python -m interp.figures --all --jobs 2                 # two worker processes (one per core)
  python -m interp.figures --all --train                  # models trained here (trained first if missing)
  python -m interp.figures --only fig2 fig4 --quick --out /tmp/figs
  python -m interp.figures --only fig4 --checkpoint runs/rooms-long --out /tmp/figs
  python -m interp.figures --all --robustness zoo/rooms runs/ref-rooms-s1 runs/ref-rooms-s2 \\
      zoo/faces runs/ref-faces-s1 runs/ref-faces-s2 --jobs 2     # each claim on each model
  python -m interp.figures --only fig7 --option 'fig7.exemplars=smiling_man:3,17,42/5,8,60/11,12,90'

Models: the shipped reference models of zoo/ (`interp zoo list`); where a world has none, or with
--train, the models trained here: runs/rooms-default and runs/faces-default (the CPU-budget recipe,
~20 min on a 2-core CPU; trained first if missing), or the reference recipe (runs/*-reference)
when --device is a GPU. --quick uses tiny stand-ins (runs/quick-*) and the quick instruments.
Every figure writes its PNG(s) and one section of OUT/metrics.json (with checkpoint, data, seed).
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m interp.figures", description=__doc__, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    which = p.add_mutually_exclusive_group()
    which.add_argument("--all", action="store_true", help="draw every registered figure")
    which.add_argument("--only", nargs="+", metavar="NAME", help="draw only these figures (see --list)")
    which.add_argument("--list", action="store_true", help="list the figures and exit")
    p.add_argument("--checkpoint", metavar="PATH",
                   help="a checkpoint file or run directory; replaces the default model of EVERY figure drawn "
                        "(Figs. 2/3 use its checkpoints/epoch_001 and epoch_005 when it is a run directory)")
    p.add_argument("--data", metavar="NAME",
                   help="what --checkpoint was trained on (rooms, faces, svhn, lsun, ...) when its metadata does not say; "
                        "with --data-root, real images of it feed the figures that need real images (Fig. 5)")
    p.add_argument("--z", choices=("uniform", "normal"),
                   help="the z law of a foreign --checkpoint, which its file does not record (default: guessed from "
                        "the architecture: PyTorch example normal, the authors' Theano files uniform)")
    p.add_argument("--instruments", metavar="FILE",
                   help="a face attribute + yaw instrument trained on your own labels (python -m interp.instruments "
                        "celeba ...): Figs. 7-8 measure a model that is not of the faces world with it")
    p.add_argument("--data-root", metavar="PATH",
                   help="where the real dataset named by --data lives (folder, lmdb, .mat, CIFAR batches ...)")
    p.add_argument("--out", default="figures", metavar="DIR", help="output directory (default: figures/)")
    p.add_argument("--seed", type=nonnegative_int, default=0, help="seed of every latent sample (default 0)")
    p.add_argument("--quick", action="store_true",
                   help="tiny default models, quick instruments and small sample counts (tests, smoke runs)")
    p.add_argument("--robustness", nargs="+", metavar="RUN",
                   help="draw the figures (default: all) on each of these models (run directories or checkpoints "
                        "of rooms / faces models, e.g. one recipe trained with 3 seeds) into OUT/robustness/<model>/, "
                        "and write the 'robustness' section of OUT/metrics.json (every number per model, each claim "
                        "against its aim) and OUT/robustness.png")
    p.add_argument("--train", action="store_true",
                   help="draw from models trained on this machine instead of the shipped ones (trains them first "
                        "if missing: the CPU-budget defaults, or the reference recipe with a GPU --device)")
    p.add_argument("--device", default="cpu", help="device for the models (default cpu)")
    p.add_argument("--jobs", type=positive_int, default=1, metavar="N",
                   help="draw the figures in N worker processes with one torch thread each (default 1: in this "
                        "process); e.g. the number of CPU cores. Models and instruments are prepared first")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    p.add_argument("--debug", action="store_true", help="show the full traceback of errors (for bug reports)")
    p.add_argument("--option", action="append", default=[], type=parse_option, metavar="FIG.KEY=VALUE",
                   help="a setting of one figure (repeatable; VALUE read as JSON when it is JSON), e.g. "
                        "fig7.exemplars=... or fig8.left=3,17,42,8 (see each figure's module docstring)")
    return p


def figure_options(pairs: Sequence[tuple[str, object]]) -> dict[str, dict[str, object]]:
    """[("fig7.exemplars", v), ...] -> {"fig7": {"exemplars": v}}; unknown figures raise ValueError."""
    out: dict[str, dict[str, object]] = {}
    for key, value in pairs:
        fig, sep, name = key.partition(".")
        if not sep or not name:
            raise ValueError(f"--option {key}=...: expected FIG.KEY=VALUE, e.g. fig7.exemplars=...")
        if fig not in FIGURES:
            raise ValueError(f"--option {key}=...: unknown figure {fig!r}; choose from {', '.join(list_figures())}")
        out.setdefault(fig, {})[name] = value
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = build_parser()
    args = p.parse_args(argv)
    names = list_figures()
    if args.list:
        width = max(map(len, names))
        for n in names:
            spec = FIGURES[n]
            print(f"{n:<{width}}  [{spec.world or 'any'}]  {spec.title}")
        return 0
    if not args.all and not args.only and not args.robustness:
        p.print_usage(sys.stderr)
        print("error: choose --all, --only NAME ... or --list", file=sys.stderr)
        return 2
    chosen = list(dict.fromkeys(args.only)) if args.only else names
    unknown = [n for n in chosen if n not in FIGURES]
    if unknown:
        print(f"error: unknown figure(s) {', '.join(unknown)}; choose from: {', '.join(names)}", file=sys.stderr)
        return 2
    try:
        options = figure_options(args.option)
        check_device(args.device)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.robustness:
        return robustness(args, chosen, options)
    settings = {"out": Path(args.out), "seed": args.seed, "quick": args.quick, "checkpoint": args.checkpoint,
                "data": args.data, "z": args.z, "instruments": args.instruments, "data_root": args.data_root,
                "device": args.device, "train": args.train, "options": options}
    ctx = FigureContext(**settings, progress=args.progress)
    failed, written = [], []
    if args.jobs > 1 and len(chosen) > 1:
        try:
            ctx.prepare(chosen)
        except USER_ERRORS as exc:
            if args.debug:
                raise
            print(f"error: {error_line(exc)}", file=sys.stderr)
            return 2
        print(f"[figures] {len(chosen)} figures in {args.jobs} worker processes (one thread each)", flush=True)
        from interp.figures.parallel import run_parallel

        for o in run_parallel(chosen, {**settings, "progress": False}, args.jobs):
            print(f"[figures] {o.name}: {FIGURES[o.name].title}", flush=True)
            if o.error is not None:
                if args.debug or not isinstance(o.error, USER_ERRORS):
                    print(o.trace, file=sys.stderr)
                print(f"[figures] {o.name} FAILED: {error_line(o.error)}", file=sys.stderr, flush=True)
                failed.append(o.name)
                continue
            written.append(o.name)
            _report(o.name, o.metrics, o.png_paths, o.seconds)
    for name in chosen if args.jobs == 1 or len(chosen) == 1 else []:
        t0 = time.time()
        print(f"[figures] {name}: {FIGURES[name].title}", flush=True)
        try:
            result = run_figure(name, ctx)
        except Exception as exc:  # one broken figure should not lose the others
            if args.debug or not isinstance(exc, USER_ERRORS):  # a bug: keep the traceback for the report
                traceback.print_exc()
            print(f"[figures] {name} FAILED: {error_line(exc)}", file=sys.stderr, flush=True)
            failed.append(name)
            continue
        written.append(name)
        _report(name, result.metrics, [str(p) for p in result.png_paths], time.time() - t0)
    if written:
        print(f"[figures] metrics ({', '.join(written)}): {ctx.metrics_path}; tables: {write_summary(ctx.out)}")
    else:
        print("[figures] nothing was written", file=sys.stderr)
    if failed:
        print(f"[figures] failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _report(name: str, metrics: dict[str, object], pngs: Sequence[str], seconds: float) -> None:
    """Print what one figure wrote and its scalar numbers; warn when its samples left the instrument's domain."""
    shown = {k: v for k, v in metrics.items() if not isinstance(v, (list, dict))}
    print(f"  model: {metrics.get('checkpoint')} (data: {metrics.get('data')})")
    for png in pngs:
        print(f"  wrote {png}")
    print(f"  {json.dumps(shown)}  ({seconds:.1f} s)", flush=True)
    if metrics.get("in_domain") is False:
        print(f"[figures] WARNING: {name}: {metrics['domain_distance']:.0%} of the samples lie outside the "
              "domain of the instrument that measured them; its numbers are recorded with in_domain: false and "
              "are not evidence for or against the paper", file=sys.stderr, flush=True)


def robustness(args: argparse.Namespace, chosen: list[str], options: dict[str, dict[str, object]]) -> int:
    """``--robustness RUN ...``: the chosen figures on each model, and the claims across them."""
    from interp.figures.robustness import run_robustness

    if args.checkpoint:
        print("error: --robustness takes its models as its own arguments; drop --checkpoint", file=sys.stderr)
        return 2

    def settings(run: Path, out: Path) -> dict[str, object]:
        return {"out": out, "seed": args.seed, "quick": args.quick, "checkpoint": run, "device": args.device,
                "progress": args.progress, "options": options}

    try:
        section, pngs = run_robustness(args.robustness, chosen, settings, Path(args.out), jobs=args.jobs)
    except USER_ERRORS as exc:
        if args.debug:
            raise
        print(f"error: {error_line(exc)}", file=sys.stderr)
        return 2
    for key, claim in section["claims"].items():
        print(f"  {key}: aim {claim['aim']}: holds on {claim['holds']} of {claim['of']}  {claim['values']}")
    write_summary(Path(args.out))
    print(f"[figures] robustness: {Path(args.out) / 'metrics.json'} and {pngs[0]}; tables: {Path(args.out) / SUMMARY}")
    return 1 if section.get("errors") else 0


if __name__ == "__main__":
    raise SystemExit(main())
