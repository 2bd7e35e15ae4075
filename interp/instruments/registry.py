"""Train-or-load the measuring instruments, cached by a hash of their full training config.

    seg = get_instrument("room_segmenter")          # RoomSegmenter, eval mode
    att = get_instrument("face_attributes", quick=True)

The file is ``<cache_dir>/instruments/<name>-<config hash>.safetensors`` (+ ``.json``), written by
:func:`interp.io.instrument_files.save_instrument`; its config holds the training config, the held-out
metrics measured right after training (``"metrics"``) and the training time. Without ``cache_dir`` the
data cache is used (``$INTERP_CACHE_DIR`` or ``~/.cache/interp``). Instruments train on the world's
``train`` split (world seed 0) and are measured on its ``test`` split; the FD floor uses ``val``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import time
from pathlib import Path
from typing import Any, Literal, overload

import numpy as np
import torch
import torch.nn as nn

from interp.data import open_dataset
from interp.data.base import to_float_image
from interp.data.cache import resolve_cache_dir
from interp.instruments.degrade import KINDS, degraded_copy, gaussian_blur
from interp.instruments.domain import Domain, fit_domain, load_domain, save_domain
from interp.instruments.face_attributes import FaceAttributeNet, evaluate_attributes, train_attribute_classifier
from interp.instruments.frechet import extract_features, frechet_distance
from interp.instruments.segmenter import RoomSegmenter, evaluate_segmenter, train_segmenter
from interp.io.instrument_files import load_instrument, save_instrument
from interp.io.zoo import shipped_instrument

#: the measuring instruments, then the Fréchet feature nets
NAMES: tuple[str, ...] = ("room_segmenter", "face_attributes", "room_features", "face_features")
CONFIG_VERSION = 3  # 3: trained with the GAN-like corruptions of interp.instruments.degrade
#: name -> (kind of net, config version). The Fréchet feature nets are the version-2 segmenter and attribute
#: net, frozen: trained with light photometric augmentation only, so that the FD still sees a generator's
#: artefacts (a net trained to ignore checkerboards and JPEG blocks would hide them from the FD), and FDs
#: stay comparable with every number measured before version 3.
KIND_VERSION: dict[str, tuple[str, int]] = {
    "room_segmenter": ("room_segmenter", CONFIG_VERSION), "face_attributes": ("face_attributes", CONFIG_VERSION),
    "room_features": ("room_segmenter", 2), "face_features": ("face_attributes", 2),
}
#: world -> (measuring instrument, Fréchet feature net)
WORLD_INSTRUMENTS: dict[str, tuple[str, str]] = {"rooms": ("room_segmenter", "room_features"),
                                                 "faces": ("face_attributes", "face_features")}
WORLD_SEED = 0  # the world seed the DCGANs train on

_CONFIGS: dict[str, dict[str, dict[str, Any]]] = {
    "room_segmenter": {
        "full": {"data": {"world": "rooms", "n_train": 6000, "n_test": 1000, "image_size": 64},
                 "model": {"n_classes": 11, "widths": [16, 32, 64]},
                 "train": {"steps": 2500, "batch_size": 32, "lr": 4e-3, "crop": 32, "frac_half_res": 0.25,
                           "augment_p": 0.5, "weight_power": 0.5, "degrade_kinds": list(KINDS)}},
        "quick": {"data": {"world": "rooms", "n_train": 1000, "n_test": 200, "image_size": 64},
                  "model": {"n_classes": 11, "widths": [8, 16, 32]},
                  "train": {"steps": 400, "batch_size": 32, "lr": 8e-3, "crop": 32, "frac_half_res": 0.1,
                            "augment_p": 0.2, "weight_power": 0.5, "degrade_kinds": list(KINDS)}},
    },
    "face_attributes": {
        "full": {"data": {"world": "faces", "n_train": 6000, "n_test": 1000, "image_size": 64},
                 "model": {"attribute_names": ["male", "smiling", "eyeglasses"], "yaw": True,
                           "widths": [32, 64, 96, 128]},
                 "train": {"steps": 1500, "batch_size": 64, "lr": 4e-3, "yaw_weight": 4.0, "frac_half_res": 0.2,
                           "augment_p": 0.5, "degrade_kinds": list(KINDS)}},
        "quick": {"data": {"world": "faces", "n_train": 1000, "n_test": 200, "image_size": 64},
                  "model": {"attribute_names": ["male", "smiling", "eyeglasses"], "yaw": True,
                            "widths": [16, 32, 48, 64]},
                  "train": {"steps": 400, "batch_size": 32, "lr": 6e-3, "yaw_weight": 4.0, "frac_half_res": 0.2,
                            "augment_p": 0.2, "degrade_kinds": list(KINDS)}},
    },
    "room_features": {
        "full": {"data": {"world": "rooms", "n_train": 6000, "n_test": 1000, "image_size": 64},
                 "model": {"n_classes": 11, "widths": [16, 32, 64]},
                 "train": {"steps": 2500, "batch_size": 32, "lr": 4e-3, "crop": 32, "frac_half_res": 0.25,
                           "augment_p": 0.5, "weight_power": 0.5}},
    },
    "face_features": {
        "full": {"data": {"world": "faces", "n_train": 6000, "n_test": 1000, "image_size": 64},
                 "model": {"attribute_names": ["male", "smiling", "eyeglasses"], "yaw": True,
                           "widths": [32, 64, 96, 128]},
                 "train": {"steps": 1500, "batch_size": 64, "lr": 4e-3, "yaw_weight": 4.0, "frac_half_res": 0.2,
                           "augment_p": 0.5}},
    },
}


def frechet_instrument(world: str, quick: bool = False) -> str:
    """The instrument whose features the FD of ``world`` is measured in: the world's Fréchet feature net;
    in quick mode (tests, smoke runs) the quick measuring instrument itself."""
    measuring, features = WORLD_INSTRUMENTS[world]
    return measuring if quick else features


def instrument_config(name: str, *, quick: bool = False, seed: int = 0) -> dict[str, Any]:
    """The full (JSON-able) training config of instrument ``name``; its hash names the cache file."""
    if name not in _CONFIGS:
        raise KeyError(f"unknown instrument {name!r}; choose from {list(NAMES)}")
    mode = "quick" if quick else "full"
    if mode not in _CONFIGS[name]:
        raise KeyError(f"instrument {name!r} has no {mode} configuration")
    cfg = copy.deepcopy(_CONFIGS[name][mode])
    cfg["data"]["world_seed"] = WORLD_SEED
    kind, version = KIND_VERSION[name]
    return {"kind": kind, "version": version, "quick": bool(quick), "seed": int(seed), **cfg}


def config_hash(config: dict[str, Any]) -> str:
    """12 hex digits of sha256 over the canonical JSON of ``config``."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:12]


def instrument_file(name: str, config: dict[str, Any], cache_dir: str | os.PathLike | None = None) -> Path:
    """``<cache_dir>/instruments/<name>-<config hash>.safetensors``."""
    return resolve_cache_dir(cache_dir) / "instruments" / f"{name}-{config_hash(config)}.safetensors"


def build_model(name: str, model_config: dict[str, Any]) -> nn.Module:
    """An untrained net of instrument ``name`` (or of a kind: ``room_segmenter``, ``face_attributes``) from
    its ``config["model"]`` kwargs."""
    kind = KIND_VERSION[name][0] if name in KIND_VERSION else name
    if kind == "room_segmenter":
        return RoomSegmenter(**model_config)
    if kind == "face_attributes":
        return FaceAttributeNet(**model_config)
    raise KeyError(f"unknown instrument {name!r}; choose from {list(NAMES)}")


def _dataset(config: dict[str, Any], split: str, n: int, size: int, cache_dir: str | os.PathLike | None):
    d = config["data"]
    return open_dataset(d["world"], n=n, image_size=size, split=split, seed=d["world_seed"], cache_dir=cache_dir)


def train_instrument(name: str, config: dict[str, Any], *, cache_dir: str | os.PathLike | None = None,
                     progress: bool = True) -> nn.Module:
    """Train instrument ``name`` as described by ``config`` (see :func:`instrument_config`); eval mode.
    Version-2 configs (the Fréchet feature nets) name no corruptions: they train with the photometric
    augmentation."""
    d, t = config["data"], dict(config["train"])
    if config["version"] < 3:
        t["degrade_kinds"] = None
    ds = _dataset(config, "train", d["n_train"], d["image_size"], cache_dir)
    images = np.asarray(ds.uint8_images())
    kind = config["kind"]
    if kind == "room_segmenter":
        return train_segmenter(images, np.asarray(ds.maps()), **config["model"], **t, seed=config["seed"],
                               progress=progress)
    if kind == "face_attributes":
        m = config["model"]
        attrs = np.asarray(ds.labels["attributes"])
        cols = [list(ds.attribute_names).index(a) for a in m["attribute_names"]]
        yaw = attrs[:, list(ds.attribute_names).index("yaw")] if m["yaw"] else None
        return train_attribute_classifier(images, attrs[:, cols], m["attribute_names"], yaw, widths=m["widths"], **t,
                                          seed=config["seed"], progress=progress)
    raise KeyError(f"unknown instrument {name!r}; choose from {list(NAMES)}")


def fd_diagnostics(model: nn.Module, real_a: np.ndarray, real_b: np.ndarray, seed: int = 0) -> dict[str, float]:
    """FD of real_a (uint8 (N, 3, S, S)) against: a disjoint real set real_b (the floor), real_b blurred
    (gaussian sigma 1 px), real_b + gaussian noise (std 0.1), and pure N(0, 0.5²) noise images."""
    gen = torch.Generator().manual_seed(seed)
    xb = to_float_image(torch.from_numpy(np.array(real_b)))
    variants = {
        "real_vs_real": xb,
        "real_vs_blurred": gaussian_blur(xb, torch.ones(len(xb))),
        "real_vs_noised": (xb + 0.1 * torch.randn(xb.shape, generator=gen)).clamp(-1, 1),
        "real_vs_noise": (0.5 * torch.randn(xb.shape, generator=gen)).clamp(-1, 1),
    }
    fa = extract_features(model, real_a)
    return {k: frechet_distance(extract_features(model, v), fa) for k, v in variants.items()}


def _evaluate_on(name: str, model: nn.Module, ds, images: np.ndarray | torch.Tensor) -> dict[str, Any]:
    """Held-out metrics of instrument ``name`` on ``images`` (uint8 or float) with the ground truth of ``ds``."""
    if name == "room_segmenter":
        return evaluate_segmenter(model, images, np.asarray(ds.maps()), ds.class_names)
    attrs = np.asarray(ds.labels["attributes"])
    names = list(ds.attribute_names)
    if not isinstance(model, FaceAttributeNet):
        raise TypeError(f"{name}: expected a FaceAttributeNet, got {type(model).__name__}")
    cols = [names.index(a) for a in model.attribute_names]
    yaw = attrs[:, names.index("yaw")] if model.has_yaw else None
    return evaluate_attributes(model, images, attrs[:, cols], yaw)


def evaluate_instrument(name: str, model: nn.Module, config: dict[str, Any], *,
                        cache_dir: str | os.PathLike | None = None, n_test: int | None = None) -> dict[str, Any]:
    """Held-out metrics on the world's ``test`` split at 64 and 32 px, on a degraded copy of the 64 px
    test images (``"64px_degraded"``: every image corrupted as generators corrupt theirs, see
    :func:`interp.instruments.degrade.degraded_copy`, seed 0), plus FD diagnostics (test vs val)."""
    d = config["data"]
    n = int(n_test or d["n_test"])
    out: dict[str, Any] = {}
    for size in (d["image_size"], d["image_size"] // 2):
        ds = _dataset(config, "test", n, size, cache_dir)
        images = np.asarray(ds.uint8_images())
        out[f"{size}px"] = _evaluate_on(config["kind"], model, ds, images)
        if size == d["image_size"]:
            out[f"{size}px_degraded"] = _evaluate_on(config["kind"], model, ds, degraded_copy(images, seed=0))
    real_a = _dataset(config, "test", n, d["image_size"], cache_dir).uint8_images()
    real_b = _dataset(config, "val", n, d["image_size"], cache_dir).uint8_images()
    out["fd"] = fd_diagnostics(model, np.asarray(real_a), np.asarray(real_b))
    out["fd"]["n_images"] = n
    return out


def headline(name: str, metrics: dict[str, Any]) -> dict[str, float]:
    """The few numbers worth printing: window/bed IoU or attribute accuracies + yaw MAE per image size,
    and the FD diagnostics (floor = real_vs_real)."""
    keys: dict[str, Any] = {}
    sizes = [k for k in metrics if k.split("_")[0].endswith("px")]
    for size in sorted(sizes, key=lambda k: (-int(k.split("_")[0][:-2]), k)):
        m = metrics[size]
        if KIND_VERSION.get(name, (name,))[0] == "room_segmenter":
            keys.update({f"window_iou_{size}": m["iou"]["window"], f"bed_iou_{size}": m["iou"]["bed"],
                         f"mean_iou_{size}": m["mean_iou"]})
        else:
            keys.update({f"{a}_acc_{size}": v for a, v in m["accuracy"].items()})
            if "yaw_mae" in m:
                keys[f"yaw_mae_{size}"] = m["yaw_mae"]
    keys.update({f"fd_{k}": v for k, v in metrics.get("fd", {}).items() if k != "n_images"})
    return {k: (round(v, 4) if isinstance(v, float) and not math.isnan(v) else v) for k, v in keys.items()}


@overload
def get_instrument(name: Literal["room_segmenter"], *, cache_dir: str | os.PathLike | None = None,
                   quick: bool = False, seed: int = 0, progress: bool = True) -> RoomSegmenter: ...
@overload
def get_instrument(name: Literal["face_attributes"], *, cache_dir: str | os.PathLike | None = None,
                   quick: bool = False, seed: int = 0, progress: bool = True) -> FaceAttributeNet: ...
@overload
def get_instrument(name: str, *, cache_dir: str | os.PathLike | None = None, quick: bool = False, seed: int = 0,
                   progress: bool = True) -> nn.Module: ...
def get_instrument(name: str, *, cache_dir: str | os.PathLike | None = None, quick: bool = False, seed: int = 0,
                   progress: bool = True) -> nn.Module:
    """Instrument ``name`` (one of :data:`NAMES`) in eval mode: the shipped one of the same
    config (``zoo/instruments``) or the cached one if present, else trained, measured on held-out renders and stored (weights, config, metrics)."""
    config = instrument_config(name, quick=quick, seed=seed)
    path = instrument_file(name, config, cache_dir)
    path = shipped_instrument(path.name) or path
    if path.is_file():
        state, stored = load_instrument(path)
        model = build_model(name, stored["model"])
        model.load_state_dict(state)
        return model.eval()
    t0 = time.time()
    model = train_instrument(name, config, cache_dir=cache_dir, progress=progress)
    train_seconds = time.time() - t0
    metrics = evaluate_instrument(name, model, config, cache_dir=cache_dir)
    save_instrument(path, model, {**config, "metrics": metrics, "train_seconds": round(train_seconds, 1),
                                  "torch_threads": torch.get_num_threads()})
    return model.eval()


DOMAIN_N_REAL = {False: 1000, True: 1000}


def domain_file(name: str, config: dict[str, Any], image_size: int,
                cache_dir: str | os.PathLike | None = None) -> Path:
    """``<cache_dir>/instruments/<name>-<config hash>.domain-<S>px.safetensors``."""
    base = instrument_file(name, config, cache_dir)
    return base.with_name(f"{base.stem}.domain-{image_size}px{base.suffix}")


def get_domain(name: str, *, image_size: int = 64, cache_dir: str | os.PathLike | None = None, quick: bool = False,
               seed: int = 0, progress: bool = True) -> Domain:
    """The training domain of instrument ``name`` at ``image_size`` px (see :mod:`.domain`): the shipped or
    cached description, else fitted on the world's held-out ``val`` renders (1,000; quick: 256) and stored."""
    config = instrument_config(name, quick=quick, seed=seed)
    path = domain_file(name, config, image_size, cache_dir)
    path = shipped_instrument(path.name) or path
    if path.is_file():
        return load_domain(path)
    net = get_instrument(name, cache_dir=cache_dir, quick=quick, seed=seed, progress=progress)
    real = _dataset(config, "val", DOMAIN_N_REAL[quick], image_size, cache_dir).uint8_images()
    domain = fit_domain(net, np.asarray(real), seed=seed)
    save_domain(path, domain, instrument=instrument_file(name, config).name, image_size=image_size,
                calibration=f"{config['data']['world']} val renders, clean + degraded copy")
    return domain


def stored_metrics(name: str, *, cache_dir: str | os.PathLike | None = None, quick: bool = False,
                   seed: int = 0, progress: bool = True) -> dict[str, Any]:
    """The config + metrics stored with a trained instrument (trains it first if needed)."""
    config = instrument_config(name, quick=quick, seed=seed)
    path = instrument_file(name, config, cache_dir)
    path = shipped_instrument(path.name) or path
    if not path.is_file():
        get_instrument(name, cache_dir=cache_dir, quick=quick, seed=seed, progress=progress)
    return {**load_instrument(path)[1], "path": str(path)}


__all__ = ["NAMES", "domain_file", "get_domain", "instrument_config", "config_hash", "instrument_file", "build_model", "train_instrument",
           "evaluate_instrument", "fd_diagnostics", "frechet_instrument", "KIND_VERSION", "WORLD_INSTRUMENTS", "headline", "get_instrument", "stored_metrics"]
