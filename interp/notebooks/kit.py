"""Helpers the generated notebooks call (kept here so the notebooks stay thin).

    from interp.notebooks.kit import enter_project_root, figure_context, show_result
    enter_project_root()
    ctx = figure_context(quick=True)
    show_result(run_figure("fig4", ctx))
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from interp.figures.context import FigureContext
from interp.figures.registry import FigureResult
from interp.notebooks.slim import PREVIEW_MAX_SIDE, image_size, preview_image

FIGURES_OUT = {False: "runs/figures", True: "runs/figures-quick"}


def project_root(start: str | Path | None = None) -> Path:
    """The interp checkout: the first directory from ``start`` (default: cwd) upwards holding
    ``pyproject.toml`` and ``interp/``; else the one the package was imported from; else ``start``."""
    here = Path(start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / "pyproject.toml").is_file() and (d / "interp").is_dir():
            return d
    pkg_parent = Path(__file__).resolve().parents[2]
    if (pkg_parent / "pyproject.toml").is_file():
        return pkg_parent
    return here


def enter_project_root(start: str | Path | None = None) -> Path:
    """``chdir`` to :func:`project_root` so that relative paths (``runs/``, ``figures/``) mean the
    project's, whether Jupyter was started in the repository or in ``notebooks/``; returns it."""
    root = project_root(start)
    os.chdir(root)
    return root


def default_out(quick: bool) -> Path:
    """Where a notebook's PNGs and metrics.json go when ``OUT`` is None."""
    return Path(FIGURES_OUT[bool(quick)])


def figure_context(checkpoint: str | Path | None = None, *, data: str | None = None, out: str | Path | None = None,
                   quick: bool = False, seed: int = 0, device: str = "cpu", progress: bool = True,
                   options: Mapping[str, Mapping[str, Any]] | None = None) -> FigureContext:
    """A :class:`FigureContext` from a notebook's parameters (``out=None``: :func:`default_out`;
    ``options``: per-figure settings, ``{"fig7": {"pool": 500}}``, as ``--option fig7.pool=500``)."""
    ctx = FigureContext(out=Path(out) if out is not None else default_out(quick), seed=int(seed), quick=bool(quick),
                        checkpoint=checkpoint, data=data, device=device, progress=bool(progress))
    if options:
        ctx.options.update({k: dict(v) for k, v in options.items()})
    return ctx


# ------------------------------------------------------------------------------------------ display


def fmt(value: Any, spec: str = ".3f") -> str:
    """A float formatted with ``spec``, ``"n/a"`` for None/NaN, anything else (ints too) as ``str``."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, float):
        return format(value, spec)
    return str(value)


def against_paper(metrics: Mapping[str, Any], holds: bool, as_in_paper: str, unlike_paper: str) -> str:
    """The verdict sentence on one of the paper's claims: ``as_in_paper`` if ``holds`` else ``unlike_paper``;
    no verdict at all where the instrument that measured the numbers saw samples outside its domain
    (``metrics["in_domain"]`` false, see :mod:`interp.instruments.domain`)."""
    if metrics.get("in_domain") is False:
        return (f"No verdict: {fmt(metrics.get('domain_distance'), '.0%')} of the samples lie outside the domain of "
                "the instrument that measured them (in_domain: false), so these numbers say nothing for or "
                "against the paper.")
    return as_in_paper if holds else unlike_paper


def aims_markdown(metrics: Mapping[str, Any]) -> str:
    """A markdown list with each measured claim of the section against its aim (the section's ``aims``: what
    this suite holds its reference models to), e.g. "- `window_removed` >= 0.6: **missed** (0.512)";
    "" when the section judged none."""
    lines = [f"- `{name}` {v['aim']}: "
             + ("not judged (out of the instrument's domain)" if v.get("out_of_domain") else
                "met" if v["met"] else "**missed**") + f" ({fmt(v['value'], '.3g')})"
             for name, v in (metrics.get("aims") or {}).items() if v.get("value") is not None]
    return "**Aims** (this model against what the reference models are held to):\n" + "\n".join(lines) if lines else ""


def ratio(a: float | None, b: float | None) -> float | None:
    """``a / b``, or None where either is missing or ``b`` is 0."""
    if a is None or b is None or b == 0:
        return None
    return a / b


def scalar_items(metrics: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The (key, value) pairs of a metrics section that fit in one table cell (no lists or dicts)."""
    return [(k, v) for k, v in metrics.items() if not isinstance(v, (list, tuple, dict))]


def metrics_markdown(metrics: Mapping[str, Any]) -> str:
    """A two-column markdown table of the scalar metrics (floats to 4 significant digits)."""
    rows = ["| key | value |", "|---|---|"]
    for key, value in scalar_items(metrics):
        shown = fmt(value, ".4g")
        rows.append(f"| `{key}` | {shown.replace('|', '/')} |")
    rest = len(metrics) - len(rows) + 2
    if rest:
        rows.append(f"| … | {rest} list-valued keys: see `metrics.json` |")
    return "\n".join(rows)


def full_size_link(png: str | Path, size: tuple[int, int] | None = None) -> str:
    """Markdown line above a preview: the full-resolution PNG's path (as given, usually relative to
    the project root) as a link, with its pixel size when known."""
    text = Path(png).as_posix()
    dims = f", {size[0]}×{size[1]} px" if size else ""
    return f"[`{text}`]({quote(text)}) (full resolution{dims})"


def show_result(result: FigureResult, *, display: Callable[..., None] | None = None,
                max_side: int = PREVIEW_MAX_SIDE) -> None:
    """Display each of the figure's PNGs as a link to the full-resolution file and, below it, a
    downscaled preview (longest side ``max_side`` px, :func:`interp.notebooks.slim.preview_image`)
    embedded in the notebook; then its metrics as a table and each measured claim against its aim."""
    from IPython.display import Image, Markdown
    from IPython.display import display as ipy_display

    show = display or ipy_display
    for png in result.png_paths:
        raw = Path(png).read_bytes()
        show(Markdown(full_size_link(png, image_size(raw))))
        data, fmt = preview_image(raw, max_side)
        show(Image(data=data, format=fmt))
    show(Markdown(metrics_markdown(result.metrics)))
    aims = aims_markdown(result.metrics)
    if aims:
        show(Markdown(aims))


__all__ = ["FIGURES_OUT", "against_paper", "aims_markdown", "default_out", "enter_project_root", "figure_context", "fmt", "full_size_link",
           "metrics_markdown", "project_root", "ratio", "scalar_items", "show_result"]
