"""The embedded worlds through the dataset interface: registry, cache, splits, labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from interp.data import DatasetError, open_dataset
from interp.worlds import dataset as world_dataset


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERP_CACHE_DIR", str(tmp_path / "cache"))


def test_rooms_dataset_labels_match_maps() -> None:
    ds = open_dataset("rooms", n=40, image_size=64)
    x = ds.uint8_images()
    assert x.shape == (40, 3, 64, 64) and x.dtype == np.uint8
    window = ds.class_names.index("window")
    for i in range(len(ds)):
        item = ds[i]
        assert item["image"].shape == (3, 64, 64) and -1 <= item["image"].min() and item["image"].max() <= 1
        boxes = item["boxes"]
        assert len(boxes) == ds.labels["window_count"][i]
        inside = np.zeros((64, 64), bool)
        for x0, y0, x1, y1 in boxes:
            inside[y0:y1, x0:x1] = True
        assert not ((item["map"] == window) & ~inside).any()  # every window pixel lies in a box
    assert ds.labels["has_bed"].dtype == bool and 0 < ds.labels["has_bed"].mean() <= 1


def test_faces_dataset_and_splits() -> None:
    train = open_dataset("faces", n=30, image_size=32)
    test = open_dataset("faces", n=30, image_size=32, split="test")
    assert train.uint8_images().shape == (30, 3, 32, 32)
    attrs = train.labels["attributes"]
    assert attrs.shape == (30, 4) and set(np.unique(attrs[:, :3])) <= {0.0, 1.0}
    assert np.abs(attrs[:, 3]).max() <= 1
    assert not np.array_equal(train.uint8_images()[0], test.uint8_images()[0])
    assert train.describe()["world"] == "faces" and train.describe()["split"] == "train"


def test_cache_is_reused(monkeypatch: pytest.MonkeyPatch) -> None:
    first = np.array(open_dataset("rooms", n=12, image_size=32).uint8_images())

    def no_render(*args, **kwargs):
        raise AssertionError("rendered again instead of using the cache")

    monkeypatch.setattr(world_dataset, "render", no_render)
    again = open_dataset("rooms", n=12, image_size=32).uint8_images()
    assert np.array_equal(first, again)


def test_bad_arguments_are_clear() -> None:
    with pytest.raises(DatasetError, match="no data root"):
        open_dataset("rooms", "/some/path")
    with pytest.raises(DatasetError, match="split"):
        open_dataset("faces", split="holdout")
    with pytest.raises(DatasetError, match="image_size"):
        open_dataset("faces", image_size=48)
