"""Instruments from a user's own labels: an attribute + yaw net trained on a CelebA-format folder.

    path, metrics = train_celeba_instrument("~/data/celeba", "my_instruments/celeba_faces")
    net = load_user_instrument(path)                # a FaceAttributeNet, eval mode
    predict_attributes(net, images)["Smiling"], predict_attributes(net, images)["yaw"]

Attributes come from ``list_attr_celeba.txt`` (``Male``, ``Smiling``, ``Eyeglasses`` by default);
yaw, when ``list_landmarks_align_celeba.txt`` is there, from the landmark proxy of
:func:`interp.data.celeba.yaw_from_landmarks` (a geometric estimate, not a measured pose: the
instrument's metadata says so). Held-out metrics are measured on the ``val`` split when the
partition file defines one, else on the last 10 % of the listed images (never trained on). The same
held-out images describe the instrument's domain (``<name>.domain.safetensors`` beside it, see
:mod:`interp.instruments.domain`), so figures can flag models whose samples lie outside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from interp.data import DatasetError, open_dataset
from interp.instruments.domain import Domain, fit_domain, load_domain, save_domain
from interp.instruments.face_attributes import (
    FaceAttributeNet,
    evaluate_attributes,
    train_attribute_classifier,
)
from interp.io.instrument_files import InstrumentError, instrument_path, load_instrument, save_instrument

KIND = "user_face_attributes"
DEFAULT_NAMES: tuple[str, ...] = ("Male", "Smiling", "Eyeglasses")


def train_celeba_instrument(root: str | Path, out: str | Path, *, names: Sequence[str] = DEFAULT_NAMES,
                            image_size: int = 64, crop: int | None = 108, steps: int = 1000, batch_size: int = 64,
                            widths: Sequence[int] = (32, 64, 96, 128), seed: int = 0,
                            limit: int | None = None, progress: bool = True) -> tuple[Path, dict[str, Any]]:
    """Train on the CelebA folder ``root``, measure on held-out images, save to ``out`` (.safetensors +
    .json); returns (path, held-out metrics)."""
    kw: dict[str, Any] = {"image_size": image_size, "crop": crop}
    train = open_dataset("celeba", root, split="train", limit=limit, **kw)
    try:
        held = open_dataset("celeba", root, split="val", **kw)
        held_from = "the val split (list_eval_partition.txt)"
        images, labels = train.uint8_images(), train.labels
    except DatasetError:  # no partition file (or no val images): hold out the last 10 % of the listed images
        n = len(train)
        cut = max(1, n - max(1, n // 10))
        images_all, labels_all = train.uint8_images(), train.labels
        held = None
        held_from = f"the last {n - cut} listed images (no list_eval_partition.txt)"
        images, labels = images_all[:cut], {k: v[:cut] for k, v in labels_all.items()}
        held_images, held_labels = images_all[cut:], {k: v[cut:] for k, v in labels_all.items()}
    available = list(getattr(train, "attribute_names", []))
    missing = [n for n in names if n not in available]
    if missing:
        raise ValueError(f"celeba: no attribute(s) {missing} in {root}/list_attr_celeba.txt")
    columns = [available.index(n) for n in names]
    has_yaw = "yaw" in labels
    model = train_attribute_classifier(np.asarray(images), np.asarray(labels["attributes"])[:, columns], list(names),
                                       np.asarray(labels["yaw"]) if has_yaw else None, widths=widths, steps=steps,
                                       batch_size=batch_size, seed=seed, progress=progress)
    if held is not None:
        held_images, held_labels = held.uint8_images(), held.labels
    metrics = evaluate_attributes(model, np.asarray(held_images), np.asarray(held_labels["attributes"])[:, columns],
                                  np.asarray(held_labels["yaw"]) if has_yaw else None)
    config = {
        "kind": KIND, "model": model.config(), "metrics": metrics, "held_out": held_from,
        "data": {"dataset": "celeba", "root": str(Path(root).expanduser()), "n_train": int(len(images)),
                 "image_size": image_size, "crop": crop, "attributes": list(names)},
        "yaw": ("landmark proxy: atan((nose x - eye midpoint x) / inter-ocular distance / 0.55) / 45 deg "
                "(interp.data.celeba.yaw_from_landmarks), not a measured head pose") if has_yaw else None,
        "train": {"steps": steps, "batch_size": batch_size, "seed": seed, "widths": list(widths)},
    }
    path = save_instrument(out, model, config)
    domain = fit_domain(model, np.asarray(held_images), seed=seed)
    save_domain(domain_path(path), domain, calibration=f"held-out images: {held_from}, clean + degraded copy")
    return path, metrics


def domain_path(path: str | Path) -> Path:
    """``<stem>.domain.safetensors`` beside a user instrument: the description of its training domain."""
    p = instrument_path(path)
    return p.with_name(f"{p.stem}.domain{p.suffix}")


def load_user_domain(path: str | Path) -> Domain | None:
    """The training domain stored beside a user instrument (None for instruments saved without one)."""
    file = domain_path(path)
    if not file.is_file():
        return None
    return load_domain(file)


def load_user_instrument(path: str | Path) -> FaceAttributeNet:
    """The net saved by :func:`train_celeba_instrument`, in eval mode (InstrumentError if it is not one)."""
    state, config = load_instrument(path)
    if config.get("kind") != KIND:
        raise InstrumentError(f"{path}: not a user face-attribute instrument (kind {config.get('kind')!r})")
    model = FaceAttributeNet(**config["model"])
    model.load_state_dict(state)
    return model.eval()


__all__ = ["DEFAULT_NAMES", "KIND", "domain_path", "load_user_domain", "load_user_instrument", "train_celeba_instrument"]
