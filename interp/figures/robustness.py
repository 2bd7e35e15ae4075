"""``--robustness RUN ...``: every figure's numbers on several models, and each claim against its aim.

    section, pngs = run_robustness(["runs/ref-rooms-s0", "runs/ref-rooms-s1", ...], ["fig5", "fig6", ...],
                                   settings=lambda run, out: {"out": out, "checkpoint": run}, out=Path("figures"),
                                   jobs=2)

Each model's figures (those of its world, and those for any model) are drawn into
``OUT/robustness/<label>/`` with their own ``metrics.json``; the ``robustness`` section of
``OUT/metrics.json`` holds ``models`` (label, checkpoint, world, training seed), then per figure one
list per number (one value per model, ``null`` where that figure did not run on that model), and
``claims``: per claim of the paper its aim, values and ``holds`` = how many models meet it
(:mod:`interp.analysis.robustness`). ``robustness.png`` plots each claim per model against its aim.
With ``jobs`` > 1 the (model, figure) pairs are drawn by that many worker processes
(:func:`interp.figures.parallel.run_tasks`), after each model's instruments are prepared.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from interp.analysis.robustness import collect_numbers, evaluate_claims
from interp.figures.context import FigureContext, recorded_path
from interp.figures.metrics import update_metrics
from interp.figures.plotting import new_figure, save_figure
from interp.figures.registry import FIGURES, run_figure


def _labels(runs: Sequence[Path], worlds: Sequence[str], seeds: Sequence[Any]) -> list[str]:
    """``<world>-s<seed>`` for each model; the run folder's name where those would not be unique."""
    labels = [f"{w}-s{s}" if s is not None else r.name for r, w, s in zip(runs, worlds, seeds, strict=True)]
    if len(set(labels)) < len(labels):
        labels = [r.name if r.name not in ("checkpoints", "") else str(r) for r in runs]
    if len(set(labels)) < len(labels):
        labels = [f"{i + 1}:{label}" for i, label in enumerate(labels)]
    return labels


def run_robustness(runs: Sequence[str | Path], names: Sequence[str],
                   settings: Callable[[Path, Path], dict[str, Any]], out: Path,
                   log: Callable[[str], None] = print, jobs: int = 1) -> tuple[dict[str, Any], list[Path]]:
    """Draw ``names`` on each model of ``runs`` (``settings(run, out)``: the :class:`FigureContext` keyword
    arguments for that model and output folder), in ``jobs`` worker processes when more than 1; write and
    return the ``robustness`` section and its PNG."""

    def make_context(run: Path, where: Path) -> FigureContext:
        return FigureContext(**settings(run, where))

    models: list[dict[str, Any]] = []
    per_model: list[dict[str, dict[str, Any]]] = []
    errors: dict[str, str] = {}
    paths = [Path(r) for r in runs]
    gans, worlds = [], []
    for run in paths:
        probe = make_context(run, out)
        gan = probe.gan("rooms")  # the given checkpoint (it replaces the model of every world)
        world = probe.world_of(gan)
        if world is None:
            raise ValueError(f"--robustness {run}: not a model of an embedded world (rooms, faces); "
                             "the claims are measured against the worlds' ground truth")
        gans.append(gan)
        worlds.append(world)
    labels = _labels(paths, worlds, [g.meta.get("seed") for g in gans])
    tasks: list[tuple[str, str, dict[str, Any]]] = []
    for run, gan, world, label in zip(paths, gans, worlds, labels, strict=True):
        models.append({"label": label, "checkpoint": recorded_path(gan.path), "world": world, "seed": gan.meta.get("seed"),
                       "step": gan.meta.get("step")})
        mine = [n for n in names if FIGURES[n].world in (world, None)]
        tasks += [(label, n, settings(run, out / "robustness" / label)) for n in mine]
        if jobs > 1:
            make_context(run, out / "robustness" / label).prepare(mine)
    by_label: dict[str, dict[str, dict[str, Any]]] = {label: {} for label in labels}

    def failed(label: str, name: str, exc: BaseException) -> None:
        errors[f"{label}.{name}"] = str(exc).splitlines()[0]
        log(f"[robustness] {label}: {name} FAILED: {errors[f'{label}.{name}']}")

    if jobs > 1:
        from interp.figures.parallel import run_tasks

        log(f"[robustness] {len(tasks)} figures of {len(labels)} models in {jobs} worker processes")
        for label, o in run_tasks([(lb, n, {**s, "progress": False}) for lb, n, s in tasks], jobs):
            if isinstance(o.error, (ValueError, OSError)):
                failed(label, o.name, o.error)
            elif o.error is not None:
                raise RuntimeError(f"{label}: {o.name} failed:\n{o.trace}")
            else:
                log(f"[robustness] {label}: {o.name} ({o.seconds:.0f} s)")
                by_label[label][o.name] = o.metrics
    else:
        contexts: dict[str, FigureContext] = {}  # one per model: its models and instruments stay loaded
        for label, name, s in tasks:
            log(f"[robustness] {label}: {name}")
            ctx = contexts.setdefault(label, FigureContext(**s))
            try:
                by_label[label][name] = run_figure(name, ctx).metrics
            except (ValueError, OSError) as exc:
                failed(label, name, exc)
    per_model = [{n: by_label[label][n] for n in names if n in by_label[label]} for label in labels]
    section: dict[str, Any] = {"models": models, **collect_numbers(per_model), "claims": evaluate_claims(per_model)}
    if errors:
        section["errors"] = errors
    written = update_metrics(out / "metrics.json", "robustness", section,
                             provenance={"checkpoint": [m["checkpoint"] for m in models],
                                         "data": [m["world"] for m in models], "seed": make_context(Path(runs[0]), out).seed})
    png = save_figure(plot_robustness(written), out / "robustness.png")
    return written, [png]


def plot_robustness(section: dict[str, Any]) -> Figure:
    """One panel per claim: each model's value (green: meets the aim, red: misses it) and the aim."""
    claims = section.get("claims") or {}
    labels = [m["label"] for m in section.get("models", [])]
    n = max(len(claims), 1)
    cols = min(4, n)
    rows = -(-n // cols)
    fig = new_figure(3.2 * cols, 2.6 * rows + 0.6)
    plural = "" if len(labels) == 1 else "s"
    fig.suptitle(f"Claims across {len(labels)} model{plural}\n(green: meets the aim; red: misses it; grey: measured "
                 "out of the instrument's domain, not judged)", fontsize=9 if cols < 3 else 10)
    for i, (key, claim) in enumerate(claims.items()):
        ax = fig.add_subplot(rows, cols, i + 1)
        xs = [j for j, v in enumerate(claim["values"]) if v is not None]
        vs = np.array([claim["values"][j] for j in xs], float)
        colours = ["0.6" if claim["meets"][j] is None else "tab:green" if claim["meets"][j] else "tab:red" for j in xs]
        ax.scatter(xs, vs, c=colours, s=30, zorder=3)
        for level in claim["aim_levels"]:
            ax.axhline(level, color="0.4", lw=1, ls="--")
        ax.set_xticks(xs, [labels[j] for j in xs], rotation=30, fontsize=7, ha="right")
        ax.set_title(f"{key}\naim {claim['aim']}: {claim['holds']}/{claim['of']}", fontsize=8)
        ax.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    return fig


__all__ = ["plot_robustness", "run_robustness"]
