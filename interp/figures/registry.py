"""The figure registry (in the spirit of stylegan2-ada-pytorch's ``metrics/metric_main.py``).

    @register_figure("fig4", world="rooms", title="Walking the latent space")
    def fig4(ctx: FigureContext) -> FigureResult: ...

    run_figure("fig4", FigureContext(out=Path("figures")))

A figure function takes a :class:`~interp.figures.context.FigureContext` and returns a
:class:`FigureResult` (the PNGs it wrote and the metrics section it recorded). Figures run in
number order (fig2, fig3, ... then named ones); modules register on import (``interp.figures``
imports them all).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from interp.figures.context import FigureContext


@dataclass
class FigureResult:
    """What a figure produced: PNG paths and its metrics section (as written to metrics.json)."""

    png_paths: list[Path]
    metrics: dict[str, Any] = field(default_factory=dict)


FigureFn = Callable[["FigureContext"], FigureResult]


@dataclass(frozen=True)
class FigureSpec:
    name: str
    fn: FigureFn
    world: str | None  # the embedded world whose default model the figure uses (None: any)
    title: str


FIGURES: dict[str, FigureSpec] = {}


def register_figure(name: str, *, world: str | None = None, title: str = "") -> Callable[[FigureFn], FigureFn]:
    """Decorator: register ``fn`` as figure ``name`` (its metrics section has the same name)."""

    def deco(fn: FigureFn) -> FigureFn:
        if name in FIGURES and FIGURES[name].fn is not fn:
            raise ValueError(f"figure {name!r} is already registered by {FIGURES[name].fn.__module__}")
        FIGURES[name] = FigureSpec(name, fn, world, title or (fn.__doc__ or "").strip().split("\n")[0])
        return fn

    return deco


def _order(name: str) -> tuple:
    m = re.fullmatch(r"fig(\d+)", name)
    return (0, int(m.group(1)), "") if m else (1, 0, name)


def list_figures() -> list[str]:
    """Registered figure names: fig1 ... figN in number order, then the others alphabetically."""
    return sorted(FIGURES, key=_order)


def get_figure(name: str) -> FigureSpec:
    if name not in FIGURES:
        raise KeyError(f"unknown figure {name!r}; choose from {list_figures()}")
    return FIGURES[name]


def run_figure(name: str, ctx: FigureContext) -> FigureResult:
    """Run one registered figure with ``ctx``; returns its result."""
    result = get_figure(name).fn(ctx)
    if not isinstance(result, FigureResult):
        raise TypeError(f"figure {name!r} returned {type(result).__name__}, expected FigureResult")
    return result


__all__ = ["FIGURES", "FigureResult", "FigureSpec", "get_figure", "list_figures", "register_figure", "run_figure"]
