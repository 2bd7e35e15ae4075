"""Notebook specs -> nbformat notebooks, and papermill-style parameter injection.

    nb = build_notebook(spec)                      # title, parameters (tagged), setup, run, verdict
    inject_parameters(nb, {"QUICK": True})         # rewrites those lines of the parameters cell
    write_notebook(nb, "notebooks/fig4_latent_walk.ipynb")

Cell ids are fixed names (``title``, ``parameters``, ``setup``, ``run``, ``reading``, ``verdict``) so
that rebuilding a notebook changes nothing but what really changed.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from interp.io.atomic import atomic_write_text
from interp.notebooks.specs import NotebookSpec, Param

PARAMETERS_TAG = "parameters"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
METADATA_KEY = "interp"

SETUP_CODE = """\
from interp.figures import run_figure
from interp.notebooks.kit import against_paper, enter_project_root, figure_context, fmt, ratio, show_result

enter_project_root()  # relative paths (runs/, figures/) are the project's, wherever Jupyter was started
ctx = figure_context(CHECKPOINT, data=DATA, out=OUT, quick=QUICK, seed=SEED, device=DEVICE, progress=PROGRESS,
                     options=OPTIONS)
print(f"figures and metrics.json -> {ctx.out}/")"""

HOW_TO_RUN = ("*Generated from `interp/notebooks/specs.py` (`python -m interp.notebooks build`); executed "
              "top to bottom by `python -m interp.notebooks run` (add `--quick` for a smoke run). Change the "
              "parameters cell below to use your own checkpoint.*")

READING = ("## What we measured\n\nThe sentence below is built from the numbers of the run above "
           "(`result.metrics`, also written to `metrics.json` with the checkpoint, data and seed they came "
           "from); nothing in it is typed in by hand.")


class ParameterError(ValueError):
    """A notebook without exactly one parameters cell, or a value that cannot be injected."""


def parameters_source(params: Sequence[Param]) -> str:
    """The parameters cell: one ``NAME = value  # comment`` line per parameter, comments aligned."""
    lines = [f"{p.name} = {p.default!r}" for p in params]
    width = max(map(len, lines))
    body = [f"{line:<{width}}  # {p.comment}" for line, p in zip(lines, params)]
    return "# Parameters (python -m interp.notebooks run injects new values here, papermill-style)\n" + "\n".join(body)


def build_notebook(spec: NotebookSpec) -> NotebookNode:
    """The unexecuted notebook of ``spec`` (valid nbformat 4)."""
    title = f"# {spec.title}\n\n**What the paper showed.** {spec.claim}\n\n**What we measure.** {spec.measure}"
    cells = [
        new_markdown_cell(f"{title}\n\n{HOW_TO_RUN}", id="title"),
        new_code_cell(parameters_source(spec.params), id="parameters", metadata={"tags": [PARAMETERS_TAG]}),
        new_code_cell(spec.setup or SETUP_CODE, id="setup"),
    ]
    if spec.sections:
        for section in spec.sections:
            if section.markdown:
                cells.append(new_markdown_cell(section.markdown, id=f"{section.id}-help"))
            cells.append(new_code_cell(section.code, id=section.id))
    else:
        cells.append(new_code_cell(spec.run_code(), id="run"))
    cells += [new_markdown_cell(READING, id="reading"), new_code_cell(spec.verdict.rstrip("\n"), id="verdict")]
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": dict(KERNELSPEC),
        "language_info": {"name": "python"},
        METADATA_KEY: {"notebook": spec.name, "figure": spec.figure, "source": "interp/notebooks/specs.py"},
    })
    nbformat.validate(nb)
    return nb


def parameters_cell_index(nb: NotebookNode) -> int:
    """Index of the one code cell tagged ``parameters``."""
    found = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and PARAMETERS_TAG in c.get("metadata", {}).get("tags", [])]
    if len(found) != 1:
        raise ParameterError(f"expected exactly one code cell tagged {PARAMETERS_TAG!r}, found {len(found)}")
    return found[0]


def declared_parameters(source: str) -> dict[str, tuple[int, int]]:
    """``NAME -> (first line, last line)`` (0-based, inclusive) of each top-level ``NAME = ...``."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ParameterError(f"the parameters cell is not valid Python: {exc}") from exc
    out: dict[str, tuple[int, int]] = {}
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        for t in targets:
            if isinstance(t, ast.Name):
                out[t.id] = (node.lineno - 1, (node.end_lineno or node.lineno) - 1)
    return out


def literal(name: str, value: Any) -> str:
    """``repr(value)`` if it reads back as the same value (str, number, bool, None, containers of them)."""
    if isinstance(value, Path):
        value = str(value)
    text = repr(value)
    try:
        ok = ast.literal_eval(text) == value
    except (ValueError, SyntaxError):
        ok = False
    if not ok:
        raise ParameterError(f"parameter {name}: {text} is not a plain literal (str, number, bool, None, list, dict)")
    return text


def injected_line(name: str, value_src: str, original: str) -> str:
    """``NAME = value  # injected``, aligned with and keeping the comment of a one-line original."""
    code, sep, comment = original.partition("  # ")
    new = f"{name} = {value_src}"
    if not sep:
        return f"{new}  # injected"
    return f"{new:<{len(code)}}  # injected; {comment}"


def inject_parameters(nb: NotebookNode, values: Mapping[str, Any], *, strict: bool = True) -> list[str]:
    """Replace the values of ``values``' names in the parameters cell (in place; each replaced line
    gets ``# injected``) and record them in ``nb.metadata["interp"]["injected_parameters"]``.

    Names the cell does not declare are an error when ``strict``, else skipped and returned."""
    cell = nb.cells[parameters_cell_index(nb)]
    declared = declared_parameters(cell.source)
    unknown = [k for k in values if k not in declared]
    if unknown and strict:
        raise ParameterError(f"unknown parameter(s) {unknown}; this notebook declares {sorted(declared)}")
    lines = cell.source.split("\n")
    injected: dict[str, Any] = {}
    for name, (first, last) in sorted(declared.items(), key=lambda kv: -kv[1][0]):  # bottom-up keeps line numbers
        if name in values:
            lines[first : last + 1] = [injected_line(name, literal(name, values[name]), lines[first])]
            injected[name] = str(values[name]) if isinstance(values[name], Path) else values[name]
    cell.source = "\n".join(lines)
    meta = nb.metadata.setdefault(METADATA_KEY, {})
    meta["injected_parameters"] = {k: injected[k] for k in values if k in injected}
    return unknown


def write_notebook(nb: NotebookNode, path: str | Path) -> Path:
    """Slim, validate and write ``nb`` atomically (nbformat 4, trailing newline).

    What is written is :func:`interp.notebooks.slim.slim_notebook` of ``nb`` (saved widget state
    dropped, embedded images over the preview size downscaled), so re-running a notebook does not
    bloat the committed file; ``nb`` itself is left as it is."""
    from interp.notebooks.slim import slim_notebook

    nb = slim_notebook(nb)
    nbformat.validate(nb)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = nbformat.writes(nb, version=4)
    atomic_write_text(path, text if text.endswith("\n") else text + "\n")
    return path


__all__ = ["KERNELSPEC", "PARAMETERS_TAG", "ParameterError", "build_notebook", "declared_parameters",
           "inject_parameters", "injected_line", "literal", "parameters_cell_index", "parameters_source", "write_notebook"]
