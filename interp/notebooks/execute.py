"""Execute notebooks top to bottom with nbclient; name the notebook and cell of any error.

    outcomes = run_notebooks(notebook_specs(), {"QUICK": True}, out_dir=Path("notebooks"))

Each notebook is built fresh from its spec (so the executed file always matches the specs), gets the
given parameter values injected, runs in a ``python3`` kernel (the current environment's ipykernel)
with the project root as working directory, and is written to ``out_dir/<name>.ipynb`` only when
every cell succeeded. A notebook whose figure is not registered yet is skipped with the reason.
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbformat import NotebookNode

from interp.notebooks.build import METADATA_KEY, build_notebook, inject_parameters, write_notebook
from interp.notebooks.specs import NotebookSpec

DEFAULT_TIMEOUT = 3600  # seconds per cell (a cell may train a default model on first use)
KERNEL_ARGS = ("--IPKernelApp.log_level=ERROR",)  # no start-up chatter (e.g. "running over TCP") in the log


class NotebookFailed(RuntimeError):
    """A cell raised (or the kernel died / timed out); the message names the notebook and the cell."""

    def __init__(self, name: str, nb: NotebookNode, cell_index: int | None, error: str, details: str = ""):
        self.name, self.cell_index, self.error, self.details = name, cell_index, error, details
        super().__init__(f"{name}: {describe_cell(nb, cell_index)} failed: {error}")


def describe_cell(nb: NotebookNode, index: int | None) -> str:
    """``cell 4 of 6 (id 'run': result = run_figure(...))`` — how errors name a cell."""
    if index is None:
        return "the notebook (before any cell ran)"
    cell = nb.cells[index]
    first = next((line for line in cell.source.splitlines() if line.strip() and not line.startswith("#")), "")
    return f"cell {index + 1} of {len(nb.cells)} (id {cell.get('id', '?')!r}: {first[:70]})"


@dataclass
class Outcome:
    """What happened to one notebook: status ``ok``, ``skipped`` or ``failed``."""

    name: str
    status: str
    message: str = ""
    path: Path | None = None
    seconds: float = 0.0


def skip_reason(spec: NotebookSpec) -> str | None:
    """None if the notebook can run, else why not (its figure is not registered yet). Importing an
    existing but broken module raises (a real error, not a skip)."""
    if spec.figure is None:
        return None
    from interp.figures import FIGURES

    if spec.figure not in FIGURES and spec.module:
        try:
            importlib.import_module(spec.module)
        except ModuleNotFoundError as exc:
            if exc.name != spec.module:
                raise
            return f"figure {spec.figure!r} is not registered yet ({spec.module} does not exist)"
    if spec.figure not in FIGURES:
        return f"figure {spec.figure!r} is not registered" + (f" by {spec.module}" if spec.module else "")
    return None


def execute_notebook(nb: NotebookNode, name: str, *, cwd: str | Path, timeout: int | None = DEFAULT_TIMEOUT,
                     kernel_name: str = "python3", progress: bool = True) -> NotebookNode:
    """Run every cell of ``nb`` in place (working directory ``cwd``); :class:`NotebookFailed` on error."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    from tqdm.auto import tqdm

    n_code = sum(c.cell_type == "code" and bool(c.source.strip()) for c in nb.cells)
    bar = tqdm(total=n_code, desc=name, unit="cell", disable=not progress, file=sys.stderr, leave=True)
    current: list[int] = []

    def on_start(cell: NotebookNode, cell_index: int) -> None:
        if cell.cell_type == "code":
            current[:] = [cell_index]
            bar.set_postfix_str(str(cell.get("id", cell_index)))

    def on_done(cell: NotebookNode, cell_index: int, execute_reply: dict[str, Any]) -> None:
        bar.update(1)

    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel_name, record_timing=False,
                            resources={"metadata": {"path": str(cwd)}}, on_cell_start=on_start,
                            on_cell_executed=on_done, extra_arguments=list(KERNEL_ARGS))
    try:
        client.execute()
    except CellExecutionError as exc:
        raise NotebookFailed(name, nb, current[0] if current else None, f"{exc.ename}: {exc.evalue}", str(exc)) from exc
    except Exception as exc:  # dead kernel, timeout, kernel that does not start ...
        raise NotebookFailed(name, nb, current[0] if current else None, f"{type(exc).__name__}: {exc}") from exc
    finally:
        bar.close()
    return nb


def run_notebooks(specs: Sequence[NotebookSpec], values: Mapping[str, Any], *, out_dir: str | Path,
                  cwd: str | Path | None = None, timeout: int | None = DEFAULT_TIMEOUT, kernel_name: str = "python3",
                  progress: bool = True, command: str | None = None,
                  log: Callable[[str], None] = print) -> list[Outcome]:
    """Build, inject ``values`` into, execute and write each notebook; returns one :class:`Outcome` each.

    Parameters a notebook does not declare are skipped for it (logged). A failed notebook is not
    written (the committed copy stays as it was); the error, with its traceback, is logged."""
    out_dir, cwd = Path(out_dir), Path(cwd or Path.cwd())
    outcomes: list[Outcome] = []
    for spec in specs:
        t0 = time.time()
        try:
            reason = skip_reason(spec)
        except Exception as exc:  # noqa: BLE001
            msg = f"{spec.name}: importing {spec.module} failed: {type(exc).__name__}: {exc}"
            log(f"[notebooks] FAILED {msg}")
            outcomes.append(Outcome(spec.name, "failed", msg))
            continue
        if reason:
            log(f"[notebooks] {spec.name}: skipped, {reason}")
            outcomes.append(Outcome(spec.name, "skipped", reason))
            continue
        nb = build_notebook(spec)
        ignored = inject_parameters(nb, values, strict=False)
        if ignored:
            log(f"[notebooks] {spec.name}: does not take {', '.join(ignored)} (ignored)")
        if command:
            nb.metadata[METADATA_KEY]["command"] = command
        try:
            execute_notebook(nb, spec.name, cwd=cwd, timeout=timeout, kernel_name=kernel_name, progress=progress)
        except NotebookFailed as exc:
            log(f"[notebooks] FAILED {exc}\n{exc.details}".rstrip())
            outcomes.append(Outcome(spec.name, "failed", str(exc), seconds=time.time() - t0))
            continue
        path = write_notebook(nb, out_dir / f"{spec.name}.ipynb")
        seconds = time.time() - t0
        log(f"[notebooks] {spec.name}: wrote {path} ({seconds:.1f} s)")
        outcomes.append(Outcome(spec.name, "ok", path=path, seconds=seconds))
    return outcomes


__all__ = ["DEFAULT_TIMEOUT", "NotebookFailed", "Outcome", "describe_cell", "execute_notebook", "run_notebooks",
           "skip_reason"]
