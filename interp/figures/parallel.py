"""Figures drawn by several worker processes at once (``python -m interp.figures --all --jobs 2``).

Each figure is independent: it loads its models and instruments, draws, and merges its section into
``metrics.json`` (writers are serialised by a lock file, :mod:`interp.figures.metrics`). So on an
N-core CPU, N worker processes with one thread each finish the set sooner than one process. Workers
are spawned (not forked: a forked torch process may hang in OpenMP) and each builds its own
:class:`FigureContext` from the same settings; the longest figures are handed out first.

Before any worker starts, :meth:`FigureContext.prepare` makes sure the models and instruments exist on
disk (training the default models or quick instruments where needed), so that no two workers train the
same thing at once.
"""

from __future__ import annotations

import multiprocessing
import time
import traceback
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

#: rough seconds per figure on the shipped models (2-core CPU, one thread): the order workers take them in
COST = {"table1": 150, "dissection": 100, "fig6": 80, "directions": 60, "memorization": 50, "fig5": 35, "fig7": 30,
        "fig8": 25, "fig4": 15, "fig2": 15, "fig3": 15}


@dataclass
class Outcome:
    """What one figure produced in a worker: PNG paths and its scalar metrics, or the error."""

    name: str
    seconds: float
    png_paths: list[str] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    error: BaseException | None = None  # what the figure raised (the caller words it)
    trace: str | None = None


def _run_one(name: str, settings: dict[str, Any], threads: int) -> Outcome:
    """Worker: draw figure ``name`` with a fresh context built from ``settings``."""
    import torch

    from interp.figures import FigureContext, run_figure

    torch.set_num_threads(threads)
    t0 = time.time()
    try:
        result = run_figure(name, FigureContext(**settings))
    except Exception as exc:  # reported by the parent, which decides the exit code
        return Outcome(name, time.time() - t0, error=exc, trace=traceback.format_exc())
    return Outcome(name, time.time() - t0, [str(p) for p in result.png_paths], dict(result.metrics))


def schedule(names: Sequence[str]) -> list[str]:
    """``names`` longest first (by :data:`COST`; unknown figures count 10 s), ties in the given order."""
    return sorted(names, key=lambda n: -COST.get(n, 10))


def run_tasks(tasks: Sequence[tuple[str, str, dict[str, Any]]], jobs: int,
              threads: int = 1) -> Iterator[tuple[str, Outcome]]:
    """Draw each task ``(key, figure name, FigureContext settings)`` in ``jobs`` spawned worker processes
    (``threads`` torch threads each), longest figures first; yields ``(key, Outcome)`` as each finishes."""
    order = sorted(tasks, key=lambda t: -COST.get(t[1], 10))
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        futures = {pool.submit(_run_one, name, settings, threads): key for key, name, settings in order}
        for fut in as_completed(futures):
            yield futures[fut], fut.result()


def run_parallel(names: Sequence[str], settings: dict[str, Any], jobs: int,
                 threads: int = 1) -> Iterator[Outcome]:
    """Draw ``names`` in ``jobs`` spawned worker processes (``threads`` torch threads each); yields each
    figure's :class:`Outcome` as it finishes."""
    for _, outcome in run_tasks([(n, n, settings) for n in names], jobs, threads):
        yield outcome


__all__ = ["COST", "Outcome", "run_parallel", "run_tasks", "schedule"]
