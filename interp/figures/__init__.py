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

from . import discriminator_filters, latent_walk, samples  # noqa: F401  (register the figures)
from . import turn_vector, vector_arithmetic  # noqa: F401  (Figs. 7 and 8)
from . import probe_table  # noqa: F401  (Tables 1-2: table1)
from . import forget_windows  # noqa: F401  (Fig. 6)
from .context import FigureContext
from .metrics import FIXED_KEYS, read_metrics, update_metrics
from .registry import FIGURES, FigureResult, get_figure, list_figures, register_figure, run_figure

__all__ = ["FIGURES", "FIXED_KEYS", "FigureContext", "FigureResult", "get_figure", "list_figures", "read_metrics",
           "register_figure", "run_figure", "update_metrics"]
