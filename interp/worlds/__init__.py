"""Procedurally generated image worlds with ground truth (stand-ins for LSUN bedrooms and faces).

``render(world, indices, seed=0, size=64)`` returns a :class:`WorldBatch`.  Image ``i`` of a
world with seed ``s`` is a pure function of (world, s, i, size): it does not depend on which
other indices are rendered in the same call.

* ``rooms``: classes :data:`rooms.CLASS_NAMES`; ``boxes[n]`` is an (k, 4) int array of window
  boxes (x0, y0, x1, y1) in output pixels, x1/y1 exclusive.
* ``faces``: parts :data:`faces.PART_NAMES`; ``attributes`` (N, 4) float32 with columns
  :data:`ATTRIBUTE_NAMES` = (male, smiling, eyeglasses, yaw in [-1, 1]).

Maps are the most frequent class of the 2x2 supersampled subpixels of each output pixel
(ties broken towards the larger class id).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, overload

import numpy as np

from interp.worlds import faces, rooms

#: the one registry of embedded worlds: name -> module that renders it
WORLDS = {"rooms": rooms, "faces": faces}
ATTRIBUTE_NAMES: tuple[str, ...] = faces.ATTRIBUTE_NAMES
CHUNK = 256  # images rendered per vectorised batch


@dataclass
class WorldBatch:
    """images (N, S, S, 3) uint8 RGB; maps (N, S, S) uint8 class/part ids; boxes (rooms) or attributes (faces)."""

    images: np.ndarray
    maps: np.ndarray
    class_names: tuple[str, ...]
    boxes: list[np.ndarray] | None = None
    attributes: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.images)


def render(world: str, indices, *, seed: int = 0, size: int = 64) -> WorldBatch:
    """Render images ``indices`` (array-like or range of ints) of ``world`` ("rooms" or "faces")."""
    if world not in WORLDS:
        raise KeyError(f"unknown world {world!r}; choose from {sorted(WORLDS)}")
    if size % 2:
        raise ValueError("size must be even")
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    imgs, maps, extra = [], [], []
    for s in range(0, len(idx), CHUNK):
        out = WORLDS[world].render_batch(idx[s:s + CHUNK], seed, size)
        imgs.append(out[0])
        maps.append(out[1])
        extra.append(out[2])
    if not imgs:
        z = np.zeros((0, size, size, 3), np.uint8)
        return WorldBatch(z, z[..., 0], WORLDS[world].CLASS_NAMES if world == "rooms" else faces.PART_NAMES,
                          [] if world == "rooms" else None,
                          None if world == "rooms" else np.zeros((0, 4), np.float32))
    images, maps_ = np.concatenate(imgs), np.concatenate(maps)
    if world == "rooms":
        return WorldBatch(images, maps_, rooms.CLASS_NAMES, boxes=[b for e in extra for b in e])
    return WorldBatch(images, maps_, faces.PART_NAMES, attributes=np.concatenate(extra))


def render_one(world: str, index: int, seed: int = 0, size: int = 64, **overrides) -> WorldBatch:
    """Render a single image; for faces, keyword ``overrides`` replace sampled parameters
    (see :data:`faces.PARAM_NAMES`, e.g. ``yaw=0.5, smiling=1``)."""
    if world == "faces":
        p = faces.sample_params(np.array([index]), seed)
        for k, v in overrides.items():
            if k not in p:
                raise KeyError(f"unknown face parameter {k!r}")
            p[k] = np.broadcast_to(np.asarray(v, dtype=p[k].dtype), p[k].shape).copy()
        img, maps, attrs = faces.render_params(p, size)
        return WorldBatch(img, maps, faces.PART_NAMES, attributes=attrs)
    if overrides:
        raise ValueError("overrides are only supported for faces")
    return render(world, [index], seed=seed, size=size)


def render_faces(params: dict[str, np.ndarray], size: int = 64) -> WorldBatch:
    """Render faces from explicit parameter arrays (each (N,), see :func:`faces.sample_params`)."""
    img, maps, attrs = faces.render_params(params, size)
    return WorldBatch(img, maps, faces.PART_NAMES, attributes=attrs)


def trained_on(meta: dict[str, Any] | None) -> str | None:
    """The data a checkpoint was trained on, from its metadata (None if it does not say, e.g. foreign files)."""
    meta = meta or {}
    return (meta.get("dataset") or {}).get("name") or (meta.get("train") or {}).get("data")


@overload
def world_of(meta: dict[str, Any] | None, data: str | None = None, *, required: Literal[True],
             what: str = "the model") -> str: ...
@overload
def world_of(meta: dict[str, Any] | None, data: str | None = None, *, required: bool = False,
             what: str = "the model") -> str | None: ...
def world_of(meta: dict[str, Any] | None, data: str | None = None, *, required: bool = False,
             what: str = "the model") -> str | None:
    """The embedded world a model was trained on: ``data`` if given, else what its checkpoint
    metadata says; None when that is not an embedded world (no ground truth), or a ValueError naming
    ``what`` when ``required``."""
    name = data or trained_on(meta)
    if name in WORLDS:
        return name
    if required:
        raise ValueError(f"{what}: trained on {name!r}, not on an embedded world {tuple(WORLDS)}; "
                         "instrument measurements need ground truth")
    return None


__all__ = ["WORLDS", "trained_on", "world_of", "ATTRIBUTE_NAMES", "WorldBatch", "render", "render_one", "render_faces", "rooms", "faces"]
