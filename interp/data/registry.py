"""Name -> dataset factory registry, plus format auto-detection from a path.

A factory is any callable ``factory(root, *, image_size, split, cache_dir, **kwargs) -> ImageDataset``
(a loader class works). Register one with::

    @register_dataset("rooms")
    class Rooms(ImageDataset): ...

Built-in loaders (folder, celeba, lsun, cifar10, svhn, shapes) and, if present, the synthetic worlds
of ``interp.worlds.dataset`` are imported lazily on first use.
"""

from __future__ import annotations

import importlib
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from interp.data.base import DatasetError, ImageDataset

DatasetFactory = Callable[..., ImageDataset]
F = TypeVar("F", bound=DatasetFactory)

#: The registry: dataset name -> factory. The only module-level mutable state of the package.
DATASETS: dict[str, DatasetFactory] = {}

_BUILTIN_MODULES = ("folder", "celeba", "lsun", "cifar10", "svhn", "shapes")
_OPTIONAL_MODULES = ("interp.worlds.dataset",)


def register_dataset(name: str) -> Callable[[F], F]:
    """Decorator registering ``factory`` under ``name`` (re-registering replaces it)."""

    def deco(factory: F) -> F:
        DATASETS[name] = factory
        return factory

    return deco


def _load_plugins() -> list[str]:
    """Import built-in loaders and optional modules that register datasets; returns problems."""
    problems: list[str] = []
    for mod in _BUILTIN_MODULES:
        importlib.import_module(f"{__package__}.{mod}")
    for mod in _OPTIONAL_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as err:
            if err.name is None or not mod.startswith(err.name):
                problems.append(f"{mod}: {err}")
        except Exception as err:  # a broken optional module must not break the built-in loaders
            problems.append(f"{mod}: {type(err).__name__}: {err}")
    for p in problems:
        warnings.warn(f"dataset plugin failed to import: {p}", RuntimeWarning, stacklevel=3)
    return problems


def available_datasets() -> list[str]:
    """Sorted names of all registered datasets (built-ins and plugins)."""
    _load_plugins()
    return sorted(DATASETS)


def detect_format(path: str | os.PathLike) -> str:
    """Registered loader name for an existing path, from its layout (see docs/DATA.md)."""
    p = Path(path).expanduser()
    if not p.exists():
        raise DatasetError(f"cannot detect dataset format: {p} does not exist")
    if p.is_file():
        low = p.name.lower()
        if low.endswith(".mat"):
            return "svhn"
        if low.endswith((".tar.gz", ".tgz", ".tar")):
            return "archive"
        raise DatasetError(f"cannot detect dataset format of file {p} (expected .mat, .tar.gz or a folder)")
    if (p / "data.mdb").is_file():
        return "lsun"
    if (p / "cifar-10-batches-py").is_dir() or (p / "data_batch_1").is_file() or (p / "test_batch").is_file():
        return "cifar10"
    if (p / "img_align_celeba").is_dir() and (p / "list_attr_celeba.txt").is_file():
        return "celeba"
    if any(p.glob("*_32x32.mat")):
        return "svhn"
    return "folder"


def open_dataset(
    name: str,
    root: str | os.PathLike | None = None,
    *,
    image_size: int = 64,
    split: str = "train",
    cache_dir: str | os.PathLike | None = None,
    **kwargs,
) -> ImageDataset:
    """Open dataset ``name`` (a registered name, "auto", or an existing path) at ``image_size``.

    ``root`` is the data location (unused by generated datasets); ``kwargs`` go to the loader
    (e.g. ``limit``, ``crop``, ``n``/``seed`` for shapes). Raises DatasetError for an unknown name.
    """
    problems = _load_plugins()
    if name in DATASETS:
        return DATASETS[name](root, image_size=image_size, split=split, cache_dir=cache_dir, **kwargs)
    if name == "auto" and root is not None:
        name, root = str(root), None
    if root is None and Path(name).expanduser().exists():
        path = Path(name).expanduser()
        fmt = detect_format(path)
        if fmt == "archive":
            from interp.data.cache import unpack_archive

            path = unpack_archive(path, cache_dir, split)
            fmt = detect_format(path)
        return DATASETS[fmt](path, image_size=image_size, split=split, cache_dir=cache_dir, **kwargs)
    hint = f" (plugin import problems: {'; '.join(problems)})" if problems else ""
    raise DatasetError(
        f"unknown dataset {name!r}: not a registered name ({', '.join(sorted(DATASETS))}) "
        f"nor an existing path{hint}"
    )
