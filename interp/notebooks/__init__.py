"""The paper's notebooks: one thin notebook per figure, generated from specs and executed headless.

    python -m interp.notebooks list
    python -m interp.notebooks build                 # notebooks/<name>.ipynb from the specs (no outputs)
    python -m interp.notebooks run                   # execute them all top to bottom, write them executed
    python -m interp.notebooks run --quick --out /tmp/nb   # smoke run on the tiny quick models (CI)

The specs (:mod:`.specs`) are the source of truth: each notebook has a title with what the paper
claimed and what we measure, a parameters cell tagged ``parameters`` (values injected papermill-style
by :func:`.build.inject_parameters`), a call into :mod:`interp` that shows the figure and its numbers
(:mod:`.kit`), and a closing cell that prints a sentence comparing the measured numbers to the claim.
"""

from __future__ import annotations

import importlib
from typing import Any

# lazy, so that the notebooks' own `from interp.notebooks.kit import ...` needs no nbformat/nbclient
_EXPORTS = {
    "build_notebook": "build", "inject_parameters": "build", "write_notebook": "build",
    "NotebookFailed": "execute", "Outcome": "execute", "execute_notebook": "execute", "run_notebooks": "execute",
    "skip_reason": "execute", "NotebookSpec": "specs", "Param": "specs", "notebook_specs": "specs",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)


__all__ = ["NotebookFailed", "NotebookSpec", "Outcome", "Param", "build_notebook", "execute_notebook",
           "inject_parameters", "notebook_specs", "run_notebooks", "skip_reason", "write_notebook"]
