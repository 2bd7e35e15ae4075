"""Sliders along latent directions, the samples re-generated live (for people who would rather look than read).

    directions = explorer_directions(G, measure, ["smiling", "yaw"])   # InterFaceGAN boundaries + top SeFa
    ex = DirectionExplorer(G, directions, z=sample_z(8, cfg, seed=0), measure=measure)
    ex.widget()                          # in Jupyter: one slider per direction, a seed slider, the grid
    grid, readings = ex.render({"smiling": 2.0})    # the same without a browser

Each slider moves every shown sample by ``amount × direction`` (unit directions, so an amount is a step in
z); the grid is re-generated on every change, with the instrument's mean reading of each attribute under it.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image

from interp.analysis.directions import Measure, boundary_direction, labelled_direction, sefa_directions
from interp.core.config import ModelConfig
from interp.core.generation import generate
from interp.core.latent import sample_z
from interp.data.base import to_uint8_image
from interp.io.images import image_grid

LIMIT = 3.0  # slider range: ± this many unit steps


def explorer_directions(G: torch.nn.Module, measure: Measure | None, attributes: Sequence[str] = (),
                        n_sefa: int = 3, n_pool: int = 500, seed: int = 0,
                        labels: Mapping[str, Mapping[str, Sequence[int]]] | None = None) -> dict[str, torch.Tensor]:
    """Directions worth a slider: an InterFaceGAN boundary (:func:`boundary_direction`) per attribute the
    ``measure`` gives (on ``n_pool`` seeded samples ``sample_z(n_pool, seed)``), one per entry of ``labels``
    (``{name: {"positive": [...], "negative": [...]}}``, sample numbers of that pool, e.g. ticked on the
    directions figure's numbered sheet; :func:`labelled_direction`, no instrument needed), plus the top
    ``n_sefa`` SeFa directions (closed form). Unit vectors (nz,) by name."""
    out: dict[str, torch.Tensor] = {}
    cfg = getattr(G, "cfg", None)
    if (measure is not None and attributes) or labels:
        if not isinstance(cfg, ModelConfig):
            raise ValueError(f"{type(G).__name__} has no ModelConfig (.cfg) to sample z from")
        pool = sample_z(n_pool, cfg, seed=seed)
        if measure is not None and attributes:
            scores = measure(generate(G, pool))
            for a in attributes:
                out[a] = boundary_direction(pool, np.asarray(scores[a]), seed=seed)
        for name, spec in (labels or {}).items():
            out[f"{name} (your labels)"] = labelled_direction(pool, spec["positive"], spec["negative"], seed=seed)
    if n_sefa:
        for i, d in enumerate(sefa_directions(G, n_sefa)[0]):
            out[f"SeFa {i + 1}"] = d
    return out


class DirectionExplorer:
    """Samples ``z`` (N, nz) moved along named unit ``directions`` (nz,) by slider amounts, re-generated."""

    def __init__(self, G: torch.nn.Module, directions: Mapping[str, torch.Tensor], z: torch.Tensor,
                 measure: Measure | None = None, nrow: int | None = None, scale: int = 2) -> None:
        if not directions:
            raise ValueError("DirectionExplorer needs at least one direction")
        self.G, self.z, self.measure, self.scale = G, z, measure, int(scale)
        self.directions = {k: v.to(z.dtype).flatten() for k, v in directions.items()}
        self.nrow = nrow or int(np.ceil(np.sqrt(len(z))))
        self._widget: Any = None

    def latents(self, amounts: Mapping[str, float]) -> torch.Tensor:
        """z (N, nz) moved by Σ amount · direction; unknown names raise KeyError."""
        unknown = sorted(set(amounts) - set(self.directions))
        if unknown:
            raise KeyError(f"no direction {unknown}; the explorer has {sorted(self.directions)}")
        z = self.z.clone()
        for name, a in amounts.items():
            z = z + float(a) * self.directions[name]
        return z

    def render(self, amounts: Mapping[str, float]) -> tuple[np.ndarray, dict[str, float]]:
        """(uint8 grid (H, W, 3) of the moved samples, the instrument's mean reading per attribute)."""
        x = generate(self.G, self.latents(amounts))
        grid = image_grid(to_uint8_image(x).numpy(), nrow=self.nrow)
        if self.scale > 1:
            grid = grid.repeat(self.scale, 0).repeat(self.scale, 1)
        readings = {k: float(np.mean(v)) for k, v in self.measure(x).items()} if self.measure is not None else {}
        return grid, readings

    @staticmethod
    def png(grid: np.ndarray) -> bytes:
        buf = io.BytesIO()
        Image.fromarray(grid).save(buf, format="PNG")
        return buf.getvalue()

    @staticmethod
    def readout(readings: Mapping[str, float]) -> str:
        return " · ".join(f"{k} {v:+.2f}" if k == "yaw" else f"{k} {v:.0%}" for k, v in readings.items())

    def widget(self) -> Any:
        """ipywidgets: a slider per direction (± :data:`LIMIT`), a reset button, the live grid and readings."""
        import ipywidgets as w

        sliders = {name: w.FloatSlider(value=0.0, min=-LIMIT, max=LIMIT, step=0.25, description=name,
                                       continuous_update=False, style={"description_width": "90px"},
                                       layout=w.Layout(width="420px"))
                   for name in self.directions}
        image = w.Image(format="png")
        label = w.HTML()
        reset = w.Button(description="reset")

        def update(*_: Any) -> None:
            grid, readings = self.render({k: s.value for k, s in sliders.items()})
            image.value = self.png(grid)
            label.value = f"<code>{self.readout(readings)}</code>" if readings else ""

        def zero(*_: Any) -> None:
            for s in sliders.values():
                s.value = 0.0

        for s in sliders.values():
            s.observe(update, names="value")
        reset.on_click(zero)
        update()
        self._widget = w.HBox([w.VBox([*sliders.values(), reset]), w.VBox([image, label])])
        self._widget.sliders = sliders  # for tests and scripted use
        return self._widget


__all__ = ["LIMIT", "DirectionExplorer", "explorer_directions"]
