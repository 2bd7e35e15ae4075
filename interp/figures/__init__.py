"""The paper's figures, each backed by a number in ``metrics.json``.

    python -m interp.figures --all                  # every figure into figures/
    python -m interp.figures --only fig2 fig4 --quick --out /tmp/figs

From Python::

    from interp.figures import FigureContext, run_figure
    res = run_figure("fig4", FigureContext(out=Path("/tmp/figs"), checkpoint="runs/rooms-default"))
    res.png_paths, res.metrics

Each figure module splits compute (``compute_*`` -> data), plot (``plot_*`` -> Figure) and save;
new figures register with :func:`register_figure` and are imported below.
"""

# Importing each figure module registers its figures (Figs. 2-8, Tables 1-2, and beyond the paper:
# directions, dissection).
from interp.figures import (  # noqa: F401
    directions,
    discriminator_filters,
    dissection,
    forget_windows,
    latent_walk,
    probe_table,
    samples,
    turn_vector,
    vector_arithmetic,
)
from interp.figures.context import FigureContext
from interp.figures.metrics import FIXED_KEYS, read_metrics, update_metrics
from interp.figures.registry import FIGURES, FigureResult, get_figure, list_figures, register_figure, run_figure

__all__ = ["FIGURES", "FIXED_KEYS", "FigureContext", "FigureResult", "get_figure", "list_figures", "read_metrics",
           "register_figure", "run_figure", "update_metrics"]
