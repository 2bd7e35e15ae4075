"""Decode a dataset once into a uint8 memory-mapped ``.npy`` cache; unpack archives once.

Cache files live under ``cache_dir`` (default ``$INTERP_CACHE_DIR`` or ``~/.cache/interp``) and are
named ``<name>-<S>px-<key>.npy`` where ``key`` hashes the dataset's ``cache_identity()`` (or
``describe()``). Every file is written to a temporary name in the same directory and moved into
place with ``os.replace`` only when complete, so a killed decode never leaves a file that is later
trusted. Images that fail to decode (``DatasetError`` from ``_decode``) are dropped through
``dataset.drop_failed`` and listed in a ``.skips.json`` sidecar, written before the ``.npy``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tarfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from interp.data.base import DatasetError, ImageDataset
from interp.io.atomic import atomic_write_text, remove_stale_temps, temp_path

_BLOCK = 1024  # images decoded per thread-pool batch


def default_cache_dir() -> Path:
    """``$INTERP_CACHE_DIR`` if set, else ``~/.cache/interp``."""
    env = os.environ.get("INTERP_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "interp"


def resolve_cache_dir(cache_dir: str | os.PathLike | None) -> Path:
    """``cache_dir`` or the default, created if missing."""
    path = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_signature(path: str | os.PathLike) -> dict[str, Any]:
    """Cheap identity of one file: resolved path, size, mtime (ns)."""
    st = os.stat(path)
    return {"path": str(Path(path).resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def cache_key(dataset: ImageDataset) -> str:
    """16-hex-digit hash of the dataset's class and ``cache_identity()`` (else ``describe()``)."""
    ident = dataset.cache_identity() or dataset.describe()
    blob = json.dumps({"cls": type(dataset).__qualname__, "id": ident}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def cache_path(dataset: ImageDataset, cache_dir: str | os.PathLike | None = None) -> Path:
    """Where ``cached_uint8`` keeps this dataset's images."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in dataset.name)
    return resolve_cache_dir(cache_dir) / f"{safe}-{dataset.image_size}px-{cache_key(dataset)}.npy"


def _load_valid(final: Path, n: int, size: int) -> np.ndarray | None:
    """Memory-map ``final`` if it is a complete cache of n' <= n images at ``size``; else None."""
    if not final.exists():
        return None
    try:
        arr = np.load(final, mmap_mode="r")
    except (ValueError, OSError, EOFError):
        return None
    if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[1:] != (3, size, size) or len(arr) > n:
        return None
    return arr


def _decode_all(dataset: ImageDataset, out: np.ndarray, workers: int) -> list[tuple[int, str]]:
    """Fill ``out[i] = dataset._decode(i)``; returns [(index, reason)] for images that failed."""
    failed: list[tuple[int, str]] = []

    def work(i: int) -> tuple[int, str] | None:
        try:
            out[i] = dataset._decode(i)
            return None
        except DatasetError as err:
            return (i, str(err))

    n = len(out)
    quiet = n < 512 or not sys.stderr.isatty()
    bar = tqdm(total=n, desc=f"decoding {dataset.name}", unit="img", disable=quiet)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for start in range(0, n, _BLOCK):
            for res in pool.map(work, range(start, min(n, start + _BLOCK))):
                if res is not None:
                    failed.append(res)
            bar.update(min(n, start + _BLOCK) - start)
    bar.close()
    return failed


def cached_uint8(
    dataset: ImageDataset, cache_dir: str | os.PathLike | None = None, *, workers: int | None = None
) -> np.ndarray:
    """All images of ``dataset`` as a read-only memory-mapped uint8 (N, 3, S, S) array.

    Decodes (threaded, with a progress bar on a terminal) on the first call and reuses the file
    afterwards. Images that fail to decode are dropped via ``dataset.drop_failed`` (so ``len``
    shrinks to N); a loader that cannot skip raises DatasetError instead.
    """
    final = cache_path(dataset, cache_dir)
    skips_file = final.with_suffix(".skips.json")
    n, size = len(dataset), dataset.image_size
    arr = _load_valid(final, n, size)
    if arr is not None:
        failed = json.loads(skips_file.read_text()) if skips_file.exists() else []
        if len(arr) == n:
            return arr
        if len(arr) + len(failed) == n:
            bad = {i for i, _ in failed}
            dataset.drop_failed(np.array([i for i in range(n) if i not in bad], np.int64),
                                [msg for _, msg in failed])
            return arr
    remove_stale_temps(final)
    workers = workers if workers is not None else min(8, os.cpu_count() or 1)
    tmp = temp_path(final)
    tmp2: Path | None = None
    try:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(n, 3, size, size))
        failed = _decode_all(dataset, out, workers)
        if failed:
            bad = {i for i, _ in failed}
            keep = np.array([i for i in range(n) if i not in bad], np.int64)
            tmp2 = temp_path(final)
            compact = np.lib.format.open_memmap(tmp2, mode="w+", dtype=np.uint8,
                                                shape=(len(keep), 3, size, size))
            for s in range(0, len(keep), 4096):
                compact[s : s + 4096] = out[keep[s : s + 4096]]
            compact.flush()
            del compact, out
            tmp.unlink()
            tmp, tmp2 = tmp2, None
            dataset.drop_failed(keep, [msg for _, msg in failed])
            atomic_write_text(skips_file, json.dumps(failed))
        else:
            out.flush()
            del out
            skips_file.unlink(missing_ok=True)
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        if tmp2 is not None:
            tmp2.unlink(missing_ok=True)
        raise
    return np.load(final, mmap_mode="r")


def _is_within(base: Path, target: Path) -> bool:
    try:
        target.resolve().relative_to(base.resolve())
        return True
    except ValueError:
        return False


def _split_prefix(names: list[str], split: str | None) -> str | None:
    """``"[top/]split/"`` if the archive holds a split folder at its top (or under its single top
    folder), else None."""
    if not split:
        return None
    tops = {n.strip("/").split("/")[0] for n in names if n.strip("/")}
    base = f"{next(iter(tops))}/" if len(tops) == 1 else ""
    prefix = f"{base}{split}/"
    return prefix if any(n.startswith(prefix) for n in names) else None


def unpack_archive(
    archive: str | os.PathLike, cache_dir: str | os.PathLike | None = None, split: str | None = None
) -> Path:
    """Extract a ``.tar``/``.tar.gz``/``.tgz`` once into ``<cache>/unpacked/<stem>-<hash>[.<split>]/``.

    When ``split`` is given and the archive has a ``<split>/`` folder at its top (or under its single
    top folder), only that subtree is extracted. Extraction goes to a temp directory renamed into
    place when complete; members escaping the target (absolute paths, ``..``, links) are refused.
    Returns the extracted directory, or its single top-level folder when it holds exactly one.
    """
    archive = Path(archive)
    sig = file_signature(archive)
    key = hashlib.sha256(json.dumps(sig, sort_keys=True).encode()).hexdigest()[:12]
    stem = archive.name.split(".")[0]
    unpacked = resolve_cache_dir(cache_dir) / "unpacked"
    done = [d for d in (unpacked / f"{stem}-{key}.{split}", unpacked / f"{stem}-{key}") if d.is_dir()]
    dest = done[0] if done else None
    if dest is None:
        unpacked.mkdir(parents=True, exist_ok=True)
        tmp = temp_path(unpacked / f"{stem}-{key}")
        tmp.mkdir()
        try:
            with tarfile.open(archive, "r:*") as tar:
                members = tar.getmembers()
                prefix = _split_prefix([m.name for m in members], split)
                if prefix is not None:
                    members = [m for m in members if (m.name.rstrip("/") + "/").startswith(prefix)]
                safe_filter = hasattr(tarfile, "data_filter")  # Python >= 3.11.4 checks paths itself
                for m in members:
                    if not (m.isfile() or m.isdir()) or not (safe_filter or _is_within(tmp, tmp / m.name)):
                        raise DatasetError(f"{archive}: refusing unsafe archive member {m.name!r}")
                try:
                    if safe_filter:
                        tar.extractall(tmp, members=members, filter="data")
                    else:  # pragma: no cover - Python < 3.11.4
                        tar.extractall(tmp, members=members)
                except tarfile.FilterError as err:
                    raise DatasetError(f"{archive}: refusing unsafe archive member: {err}") from err
            dest = unpacked / (f"{stem}-{key}.{split}" if prefix is not None else f"{stem}-{key}")
            try:
                os.replace(tmp, dest)
            except OSError:  # another process finished first
                shutil.rmtree(tmp, ignore_errors=True)
        except tarfile.TarError as err:
            shutil.rmtree(tmp, ignore_errors=True)
            raise DatasetError(f"cannot unpack {archive}: {err}") from err
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    entries = [p for p in dest.iterdir() if not p.name.startswith(".")]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else dest
