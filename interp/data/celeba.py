"""CelebA (aligned & cropped): ``root/img_align_celeba/*.jpg`` + ``root/list_attr_celeba.txt``
(+ ``list_landmarks_align_celeba.txt`` when present: five landmarks per image and a yaw proxy).

Geometry (the DCGAN-era convention, e.g. carpedm20/DCGAN-tensorflow): a centred 108 x 108 crop of the
178 x 218 aligned image, then a Lanczos resize to ``image_size``. ``crop`` changes the side (148 is
another common choice; None takes the largest centred square).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from interp.data.base import DatasetError
from interp.data.folder import FileImageDataset
from interp.data.registry import register_dataset

PARTITIONS: dict[str, int] = {"train": 0, "val": 1, "valid": 1, "validation": 1, "test": 2}


def read_attributes(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """Parse list_attr_celeba.txt -> (file names, 40 attribute names, float32 (N, 40) in {0, 1})."""
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise DatasetError(f"cannot read {path}: {err}") from err
    if len(lines) < 2:
        raise DatasetError(f"{path}: expected a count line and an attribute-name line")
    try:
        declared = int(lines[0].strip())
    except ValueError:
        raise DatasetError(f"{path} line 1: expected the image count, got {lines[0]!r}") from None
    names = lines[1].split()
    files: list[str] = []
    rows: list[list[float]] = []
    for lineno, line in enumerate(lines[2:], start=3):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != len(names) + 1 or any(v not in ("1", "-1", "0") for v in parts[1:]):
            raise DatasetError(
                f"{path} line {lineno}: expected a file name and {len(names)} values in "
                f"{{-1, 1}}, got {line.strip()[:80]!r}"
            )
        files.append(parts[0])
        rows.append([1.0 if v == "1" else 0.0 for v in parts[1:]])
    if len(files) != declared:
        raise DatasetError(f"{path}: line 1 declares {declared} images but {len(files)} are listed")
    return files, names, np.asarray(rows, np.float32).reshape(len(files), len(names))


LANDMARK_NAMES: tuple[str, ...] = ("lefteye_x", "lefteye_y", "righteye_x", "righteye_y", "nose_x", "nose_y",
                                   "leftmouth_x", "leftmouth_y", "rightmouth_x", "rightmouth_y")
#: nose protrusion over the inter-ocular distance of a typical face: the nose's sideways offset from
#: the eye midpoint is NOSE_DEPTH · tan(yaw) inter-ocular distances
NOSE_DEPTH = 0.55


def read_landmarks(path: Path) -> tuple[list[str], np.ndarray]:
    """Parse list_landmarks_align_celeba.txt -> (file names, float32 (N, 10) pixel coordinates in the
    178 x 218 aligned image, columns :data:`LANDMARK_NAMES`)."""
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise DatasetError(f"cannot read {path}: {err}") from err
    if len(lines) < 2 or lines[1].split() != list(LANDMARK_NAMES):
        raise DatasetError(f"{path}: expected a count line and the header {' '.join(LANDMARK_NAMES)}")
    files: list[str] = []
    rows: list[list[float]] = []
    for lineno, line in enumerate(lines[2:], start=3):
        parts = line.split()
        if not parts:
            continue
        try:
            if len(parts) != 11:
                raise ValueError
            rows.append([float(v) for v in parts[1:]])
        except ValueError:
            raise DatasetError(f"{path} line {lineno}: expected a file name and 10 numbers, "
                               f"got {line.strip()[:80]!r}") from None
        files.append(parts[0])
    return files, np.asarray(rows, np.float32).reshape(len(files), 10)


def yaw_from_landmarks(landmarks: np.ndarray) -> np.ndarray:
    """A yaw proxy (N,) in [-1, 1] from landmarks (N, 10), on the embedded faces' scale (±1 = ±45°;
    positive = turned to the viewer's right, i.e. the nose right of the eye midpoint):
    ``atan(offset / NOSE_DEPTH) / 45°`` with ``offset`` = (nose x - eye midpoint x) / inter-ocular
    distance. A geometric estimate from 2-D points, not a measured head pose."""
    lm = np.asarray(landmarks, np.float64)
    le_x, re_x, nose_x = lm[:, 0], lm[:, 2], lm[:, 4]
    iod = np.abs(re_x - le_x)
    offset = (nose_x - (le_x + re_x) / 2) / np.maximum(iod, 1e-6)
    return np.clip(np.arctan(offset / NOSE_DEPTH) / (np.pi / 4), -1.0, 1.0).astype(np.float32)


def read_partition(path: Path) -> dict[str, int]:
    """Parse list_eval_partition.txt -> {file name: 0 train | 1 val | 2 test}."""
    out: dict[str, int] = {}
    for lineno, line in enumerate(path.read_text().splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
            raise DatasetError(f"{path} line {lineno}: expected '<file> 0|1|2', got {line.strip()!r}")
        out[parts[0]] = int(parts[1])
    return out


@register_dataset("celeba")
class CelebA(FileImageDataset):
    """Labels: ``"attributes"`` float32 (N, 40) in {0, 1}; names in ``attribute_names``.

    ``split``: "train"/"val"/"test" via list_eval_partition.txt when present ("all" = everything);
    without that file only "train"/"all" are accepted and mean every listed image. Listed images
    missing on disk or unreadable are skipped and counted.
    """

    name = "celeba"

    def __init__(
        self,
        root: str | os.PathLike | None,
        *,
        image_size: int = 64,
        split: str = "train",
        cache_dir: str | os.PathLike | None = None,
        crop: int | None = 108,
        limit: int | None = None,
        check: bool = True,
    ) -> None:
        super().__init__(image_size, cache_dir, crop)
        if root is None:
            raise DatasetError("celeba: a root folder is required")
        self.root = Path(root).expanduser()
        img_dir = self.root / "img_align_celeba"
        attr_file = self.root / "list_attr_celeba.txt"
        for p in (img_dir, attr_file):
            if not p.exists():
                raise DatasetError(f"celeba: {p} does not exist")
        if (img_dir / "img_align_celeba").is_dir():  # the Kaggle copy nests the folder
            img_dir = img_dir / "img_align_celeba"
        files, self.attribute_names, attrs = read_attributes(attr_file)
        self.split = split
        sel = np.arange(len(files))
        part_file = self.root / "list_eval_partition.txt"
        if split != "all":
            if split not in PARTITIONS:
                raise DatasetError(f"celeba: unknown split {split!r} (train, val, test, all)")
            if part_file.is_file():
                part = read_partition(part_file)
                sel = np.array([i for i, f in enumerate(files) if part.get(f) == PARTITIONS[split]], np.int64)
            elif split != "train":
                raise DatasetError(f"celeba: split {split!r} needs {part_file}, which does not exist")
        if limit is not None:
            sel = sel[:limit]
        paths = [img_dir / files[i] for i in sel]
        present = np.array([p.is_file() for p in paths], bool)
        if not present.all():
            self.skipped += [f"{p} (missing)" for p, ok in zip(paths, present, strict=True) if not ok]
        if not present.any():
            raise DatasetError(f"celeba: none of the {len(paths)} listed images exist under {img_dir}")
        sel = sel[present]
        labels: dict[str, np.ndarray] = {"attributes": attrs[sel]}
        landmark_file = self.root / "list_landmarks_align_celeba.txt"
        if landmark_file.is_file():
            lm_files, landmarks = read_landmarks(landmark_file)
            row = {f: i for i, f in enumerate(lm_files)}
            missing = [files[i] for i in sel if files[i] not in row]
            if missing:
                raise DatasetError(f"{landmark_file}: no landmarks for {len(missing)} listed image(s), e.g. {missing[0]}")
            labels["landmarks"] = landmarks[[row[files[i]] for i in sel]]
            labels["yaw"] = yaw_from_landmarks(labels["landmarks"])
        self._set_files([img_dir / files[i] for i in sel], labels, check, {"split": split, "limit": limit})

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "split": self.split, "attribute_names": list(self.attribute_names)}
