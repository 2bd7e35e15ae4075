"""Analyses of trained DCGANs: layer recording/ablation and guided backpropagation.

``interp.core.hooks`` (record / ablate / channel_means / penultimate_features) is imported
eagerly; ``interp.analysis.guided_backprop`` (needs captum) is imported on first use.
"""

from __future__ import annotations

from typing import Any

from interp.core.hooks import (
    LayerNotFoundError,
    Recording,
    ablate,
    channel_means,
    eval_mode,
    penultimate_features,
    record,
    resolve_layer,
)

# (the function ``guided_backprop`` is not re-exported: it shares its name with the submodule;
# use ``from interp.analysis.guided_backprop import guided_backprop``)
_LAZY = {"max_responses", "LeakyGuidedBackprop", "LeakyNeuronGuidedBackprop"}

__all__ = [
    "LayerNotFoundError",
    "Recording",
    "ablate",
    "channel_means",
    "eval_mode",
    "penultimate_features",
    "record",
    "resolve_layer",
    *sorted(_LAZY),
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from interp.analysis import guided_backprop as _gb

        return getattr(_gb, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
