"""python -m interp.notebooks: build the paper's notebooks from their specs and execute them headless."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from interp.cli.options import parse_option
from interp.notebooks.build import build_notebook, write_notebook
from interp.notebooks.execute import DEFAULT_TIMEOUT, run_notebooks, skip_reason
from interp.notebooks.specs import NotebookSpec, notebook_specs

EPILOG = f"""\
commands:
  list    the notebooks, the figure each needs, and whether it can run now
  build   write notebooks/<name>.ipynb from interp/notebooks/specs.py, without outputs
  run     build each notebook, inject the parameters, execute it top to bottom in a python3 kernel
          of this environment (nbclient) and write it executed (default: in place in notebooks/).
          A failing cell does not stop the other notebooks: the notebook and the cell are named,
          that notebook's file is left untouched, and the exit status is 1.

examples:
  python -m interp.notebooks run                          # default models (trained first if absent)
  python -m interp.notebooks run --quick --out /tmp/nb    # tiny quick models + quick instruments (CI)
  python -m interp.notebooks run --only fig4_latent_walk --checkpoint runs/rooms-long
  python -m interp.notebooks run --only table1_probe -p LABELS_PER_CLASS=100

Parameters: --checkpoint/--data/--figures-out/--seed/--device set CHECKPOINT/DATA/OUT/SEED/DEVICE,
--quick sets QUICK=True, PROGRESS is always False (no progress bars in the saved outputs); -p NAME=VALUE
sets any other parameter a notebook declares (VALUE read as JSON when it is JSON). The injected
values are recorded in each notebook's metadata ("interp" -> "injected_parameters"). A notebook whose
figure is not registered yet (Figs. 6-8 before their modules land) is skipped with a message.
Per-cell time limit: --timeout (default {DEFAULT_TIMEOUT} s; 0 = none).
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m interp.notebooks", description=__doc__, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=("list", "build", "run"), help="see 'commands' below")
    p.add_argument("--only", nargs="+", metavar="NAME", help="only these notebooks (see list)")
    p.add_argument("--dir", default="notebooks", metavar="DIR",
                   help="where build writes, and run writes unless --out (default: notebooks/)")
    p.add_argument("--out", metavar="DIR", help="run: write the executed notebooks here instead of --dir")
    p.add_argument("--quick", action="store_true", help="run: QUICK=True (tiny default models, quick instruments)")
    p.add_argument("--checkpoint", metavar="PATH", help="run: CHECKPOINT (a checkpoint file or run directory)")
    p.add_argument("--data", metavar="NAME", help="run: DATA (what --checkpoint was trained on)")
    p.add_argument("--figures-out", metavar="DIR",
                   help="run: OUT, where the notebooks write PNGs + metrics.json (default runs/figures, "
                        "runs/figures-quick with --quick)")
    p.add_argument("--seed", type=int, help="run: SEED")
    p.add_argument("--device", help="run: DEVICE (default cpu)")
    p.add_argument("-p", "--param", dest="params", action="append", type=parse_option, default=[],
                   metavar="NAME=VALUE", help="run: any other parameter (repeatable)")
    p.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT, help="run: seconds per cell (0: no limit)")
    p.add_argument("--kernel", default="python3", help="run: Jupyter kernel name (default python3)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    return p


def select(names: Sequence[str] | None) -> list[NotebookSpec]:
    """The specs named (in spec order), all if ``names`` is None; KeyError naming unknown ones."""
    specs = notebook_specs()
    if not names:
        return list(specs)
    known = {s.name: s for s in specs}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise KeyError(f"unknown notebook(s) {', '.join(unknown)}; choose from: {', '.join(known)}")
    return [s for s in specs if s.name in set(names)]


def run_values(args: argparse.Namespace) -> dict[str, Any]:
    """Parameter values to inject, from the command line."""
    values: dict[str, Any] = {}
    for name, value in (("CHECKPOINT", args.checkpoint), ("DATA", args.data), ("OUT", args.figures_out),
                        ("SEED", args.seed), ("DEVICE", args.device)):
        if value is not None:
            values[name] = value
    if args.quick:
        values["QUICK"] = True
    values["PROGRESS"] = False
    values.update(dict(args.params))
    return values


def cmd_list(specs: Sequence[NotebookSpec]) -> int:
    width = max(len(s.name) for s in specs)
    for s in specs:
        try:
            reason = skip_reason(s)
        except Exception as exc:  # noqa: BLE001 -- a present but broken figure module
            reason = f"importing {s.module} failed: {exc}"
        print(f"{s.name:<{width}}  [{s.figure or '-'}]  {s.title}" + (f"  (skipped: {reason})" if reason else ""))
    return 0


def cmd_build(specs: Sequence[NotebookSpec], out_dir: Path) -> int:
    failed = 0
    for s in specs:
        try:
            reason = skip_reason(s)
        except Exception as exc:  # noqa: BLE001 -- a present but broken figure module
            print(f"[notebooks] {s.name}: FAILED, importing {s.module} failed: {exc}", file=sys.stderr)
            failed += 1
            continue
        if reason:
            print(f"[notebooks] {s.name}: skipped, {reason}")
            continue
        print(f"[notebooks] wrote {write_notebook(build_notebook(s), out_dir / f'{s.name}.ipynb')}")
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        specs = select(args.only)
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    if args.command == "list":
        return cmd_list(specs)
    if args.command == "build":
        return cmd_build(specs, Path(args.dir))
    command = "python -m interp.notebooks " + shlex.join(sys.argv[1:] if argv is None else list(argv))
    outcomes = run_notebooks(specs, run_values(args), out_dir=Path(args.out or args.dir), cwd=Path.cwd(),
                             timeout=args.timeout or None, kernel_name=args.kernel, progress=args.progress,
                             command=command)
    failed = [o.name for o in outcomes if o.status == "failed"]
    ok = sum(o.status == "ok" for o in outcomes)
    skipped = [o.name for o in outcomes if o.status == "skipped"]
    print(f"[notebooks] {ok} executed, {len(skipped)} skipped{' (' + ', '.join(skipped) + ')' if skipped else ''}, "
          f"{len(failed)} failed{' (' + ', '.join(failed) + ')' if failed else ''}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
