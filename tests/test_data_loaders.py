"""Dataset loaders: every test writes its own tiny files in the real on-disk formats."""

from __future__ import annotations

import io
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from interp.data import (
    DatasetError,
    available_datasets,
    cached_uint8,
    detect_format,
    open_dataset,
    register_dataset,
)
from interp.data.base import ImageDataset
from interp.data.cache import cache_path

SHARED_CIFAR = Path(__file__).resolve().parents[2] / "shared/data/cifar10-jpeg.tar.gz"


@pytest.fixture(autouse=True)
def _cache_env(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERP_CACHE_DIR", str(tmp_path / "cache"))


def rand_rgb(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def save(img: Image.Image, path: Path, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, **kw)
    return path


def check_images(ds: ImageDataset, n: int, size: int) -> np.ndarray:
    assert len(ds) == n
    x = ds.uint8_images()
    assert x.shape == (n, 3, size, size) and x.dtype == np.uint8
    item = ds[0]
    assert item["image"].shape == (3, size, size) and item["image"].dtype == torch.float32
    assert -1.0 <= item["image"].min() and item["image"].max() <= 1.0
    assert np.array_equal(x[n - 1], ds._decode(n - 1))
    return x


# ---------------------------------------------------------------- folder


def write_mixed_folder(root: Path) -> None:
    save(Image.fromarray(rand_rgb(40, 40, 1)), root / "a.jpg", quality=95)
    save(Image.fromarray(rand_rgb(30, 50, 2)), root / "sub" / "b.PNG")  # non-square, upper case
    save(Image.fromarray(rand_rgb(24, 24, 3)), root / "sub" / "deeper" / "c.webp")
    save(Image.fromarray(rand_rgb(20, 20, 4)[..., 0]), root / "gray.png")
    rgba = np.dstack([rand_rgb(20, 20, 5), np.full((20, 20), 0, np.uint8)])
    save(Image.fromarray(rgba, "RGBA"), root / "rgba.png")  # fully transparent -> black
    save(Image.fromarray(rand_rgb(20, 20, 6)).convert("P"), root / "pal.png")
    save(Image.fromarray(rand_rgb(20, 20, 7)), root / "d.bmp")
    (root / "notes.txt").write_text("not an image")


def test_folder_mixed_formats(tmp_path):
    write_mixed_folder(tmp_path / "imgs")
    ds = open_dataset("folder", tmp_path / "imgs", image_size=16)
    x = check_images(ds, 7, 16)
    names = [p.name for p in ds.files]
    assert names == ["a.jpg", "d.bmp", "gray.png", "pal.png", "rgba.png", "b.PNG", "c.webp"]
    gray = x[names.index("gray.png")]
    assert np.array_equal(gray[0], gray[1]) and np.array_equal(gray[1], gray[2])
    assert x[names.index("rgba.png")].max() == 0  # composited on black
    assert ds.labels == {} and ds.describe()["skipped"] == 0


def test_folder_skips_and_counts_corrupt(tmp_path, caplog):
    root = tmp_path / "imgs"
    write_mixed_folder(root)
    (root / "garbage.jpg").write_bytes(b"this is not a jpeg at all")
    buf = io.BytesIO()
    Image.fromarray(rand_rgb(64, 64, 9)).save(buf, format="PNG")
    (root / "truncated.png").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with caplog.at_level("WARNING", logger="interp.data"):
        ds = open_dataset("folder", root, image_size=8)
        x = ds.uint8_images()  # the truncated file passes the header check, fails the full decode
    assert len(ds) == 7 and x.shape == (7, 3, 8, 8)
    d = ds.describe()
    assert d["skipped"] == 2 and d["num_images"] == 7
    assert any("garbage.jpg" in s for s in d["skipped_examples"])
    assert any("truncated.png" in s for s in d["skipped_examples"])
    assert "garbage.jpg" in caplog.text and "truncated.png" in caplog.text
    # reopening uses the cache and reapplies the decode-time skip
    ds2 = open_dataset("folder", root, image_size=8)
    assert np.array_equal(ds2.uint8_images(), x) and len(ds2) == 7 and ds2.describe()["skipped"] == 2


def test_folder_empty_and_missing(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match=str(tmp_path / "empty")):
        open_dataset("folder", tmp_path / "empty")
    with pytest.raises(DatasetError, match=str(tmp_path / "nope")):
        open_dataset("folder", tmp_path / "nope")


def write_class_tree(root: Path, classes=("cat", "dog", "ant"), per=3, size=12) -> None:
    for split in ("train", "test"):
        for k, c in enumerate(classes):
            for j in range(per if split == "train" else 1):
                save(Image.fromarray(rand_rgb(size, size, 10 * k + j)), root / split / c / f"{j:04d}.png")


def test_class_folder_tree(tmp_path):
    write_class_tree(tmp_path / "tree")
    ds = open_dataset("folder", tmp_path / "tree", image_size=12)
    assert ds.class_names == ["ant", "cat", "dog"]
    assert ds.labels["class"].dtype == np.int64
    assert ds.labels["class"].tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert ds[4]["class"] == 1
    x = ds.uint8_images()
    assert np.array_equal(x[0], rand_rgb(12, 12, 20).transpose(2, 0, 1))  # ant/0000 exact at native size
    test = open_dataset("folder", tmp_path / "tree", image_size=12, split="test")
    assert len(test) == 3 and test.labels["class"].tolist() == [0, 1, 2]
    with pytest.raises(DatasetError, match="no split 'val'"):
        open_dataset("folder", tmp_path / "tree", split="val")
    sub = open_dataset("folder", tmp_path / "tree", image_size=12, limit=3)
    assert sub.labels["class"].tolist() == [0, 1, 2]  # evenly spaced subset


# ---------------------------------------------------------------- celeba

ATTRS = ["5_o_Clock_Shadow", "Arched_Eyebrows", "Smiling"]


def write_celeba(root: Path, n: int = 4, bad_line: bool = False, partition: bool = True) -> np.ndarray:
    vals = np.random.default_rng(0).choice([-1, 1], (n, len(ATTRS)))
    lines = [str(n), "  ".join(ATTRS)]
    for i in range(n):
        save(Image.fromarray(rand_rgb(218, 178, i)), root / "img_align_celeba" / f"{i + 1:06d}.jpg")
        lines.append(f"{i + 1:06d}.jpg " + " ".join(f"{v:2d}" for v in vals[i]))
    if bad_line:
        lines[3] = lines[3] + " 1"
    (root / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n")
    if partition:
        (root / "list_eval_partition.txt").write_text(
            "".join(f"{i + 1:06d}.jpg {0 if i < n - 1 else 2}\n" for i in range(n)))
    return (vals > 0).astype(np.float32)


def test_celeba(tmp_path):
    want = write_celeba(tmp_path / "celeba")
    ds = open_dataset("celeba", tmp_path / "celeba", image_size=16)
    check_images(ds, 3, 16)
    assert ds.attribute_names == ATTRS
    assert ds.labels["attributes"].dtype == np.float32
    assert np.array_equal(ds.labels["attributes"], want[:3])
    assert torch.equal(torch.as_tensor(ds[2]["attributes"]), torch.as_tensor(want[2]))
    test = open_dataset("celeba", tmp_path / "celeba", image_size=16, split="test")
    assert len(test) == 1 and np.array_equal(test.labels["attributes"], want[3:])
    full = open_dataset("celeba", tmp_path / "celeba", image_size=108, crop=108)
    img = np.asarray(Image.open(tmp_path / "celeba/img_align_celeba/000001.jpg"))
    assert np.array_equal(full._decode(0), img[55:163, 35:143].transpose(2, 0, 1))  # centred 108 crop


def test_celeba_malformed_line(tmp_path):
    write_celeba(tmp_path / "celeba", bad_line=True)
    with pytest.raises(DatasetError, match=r"list_attr_celeba.txt line 4"):
        open_dataset("celeba", tmp_path / "celeba")


# ---------------------------------------------------------------- lsun


def write_lsun(path: Path, n: int = 5, bad: bool = False) -> list[bytes]:
    import lmdb

    env = lmdb.open(str(path), map_size=1 << 24)
    keys = []
    with env.begin(write=True) as txn:
        for i in range(n):
            buf = io.BytesIO()
            Image.fromarray(rand_rgb(30 + i, 40, i)).save(buf, format="WEBP" if i % 2 else "JPEG")
            key = f"{i:040x}".encode()
            txn.put(key, buf.getvalue())
            keys.append(key)
        if bad:
            txn.put(b"f" * 40, b"corrupt value")
    env.close()
    return keys


def test_lsun(tmp_path):
    keys = write_lsun(tmp_path / "bedroom_train_lmdb", bad=True)
    ds = open_dataset("lsun", tmp_path / "bedroom_train_lmdb", image_size=16)
    assert len(ds) == 6
    x = ds.uint8_images()
    assert x.shape == (5, 3, 16, 16) and len(ds) == 5
    assert [bytes(k) for k in ds.keys] == keys
    d = ds.describe()
    assert d["category"] == "bedroom" and d["skipped"] == 1
    assert open_dataset("lsun", tmp_path / "bedroom_train_lmdb", image_size=16, limit=2).__len__() == 2
    with pytest.raises(DatasetError, match="no data.mdb"):
        open_dataset("lsun", tmp_path)


# ---------------------------------------------------------------- cifar10 pickle


def write_cifar_batches(root: Path, n: int = 6) -> dict[str, tuple[np.ndarray, list[int]]]:
    d = root / "cifar-10-batches-py"
    d.mkdir(parents=True)
    out = {}
    for k, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        data = np.random.default_rng(k).integers(0, 256, (n, 3072), dtype=np.uint8)
        labels = [int(v) for v in np.random.default_rng(100 + k).integers(0, 10, n)]
        batch = {b"batch_label": f"batch {name}".encode(), b"labels": labels, b"data": data,
                 b"filenames": [f"img_{k}_{j}.png".encode() for j in range(n)]}
        with open(d / name, "wb") as f:
            pickle.dump(batch, f, protocol=4)
        out[name] = (data, labels)
    names = [c.encode() for c in "airplane automobile bird cat deer dog frog horse ship truck".split()]
    with open(d / "batches.meta", "wb") as f:
        pickle.dump({b"num_cases_per_batch": n, b"label_names": names, b"num_vis": 3072}, f, protocol=4)
    return out


def test_cifar10_pickle(tmp_path):
    batches = write_cifar_batches(tmp_path / "c10")
    ds = open_dataset("cifar10", tmp_path / "c10", image_size=32)
    assert len(ds) == 30 and ds.class_names[0] == "airplane"
    x = ds.uint8_images()
    data, labels = batches["data_batch_2"]
    assert np.array_equal(x[6 + 3], data[3].reshape(3, 32, 32))  # exact round trip, CHW row-major
    assert ds.labels["class"][6:12].tolist() == labels and ds.labels["class"].dtype == np.int64
    assert torch.equal(ds[9]["image"], torch.as_tensor(data[3].reshape(3, 32, 32)).float() / 127.5 - 1)
    test = open_dataset("cifar10", tmp_path / "c10", image_size=16, split="test")
    assert len(test) == 6 and test.uint8_images().shape == (6, 3, 16, 16)
    assert test.labels["class"].tolist() == batches["test_batch"][1]


class _Evil:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_cifar10_refuses_malicious_pickle(tmp_path):
    write_cifar_batches(tmp_path / "c10", n=2)
    marker = tmp_path / "pwned"
    with open(tmp_path / "c10/cifar-10-batches-py/data_batch_3", "wb") as f:
        pickle.dump({b"data": _Evil(marker), b"labels": [0]}, f)
    with pytest.raises(DatasetError, match=r"data_batch_3.*refusing to load global (posix|os|nt)\.system"):
        open_dataset("cifar10", tmp_path / "c10", image_size=32)
    assert not marker.exists()


# ---------------------------------------------------------------- cifar10 jpeg tree (.tar.gz)


def test_cifar10_jpeg_tarball(tmp_path):
    write_class_tree(tmp_path / "tree", classes=("airplane", "bird"), per=2, size=32)
    archive = tmp_path / "cifar10-jpeg.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "tree/train", arcname="train")
        tar.add(tmp_path / "tree/test", arcname="test")
    ds = open_dataset("cifar10", archive, image_size=32)
    assert ds.name == "cifar10" and ds.class_names == ["airplane", "bird"]
    assert ds.labels["class"].tolist() == [0, 0, 1, 1]
    assert np.array_equal(ds.uint8_images()[2], rand_rgb(32, 32, 10).transpose(2, 0, 1))
    unpacked = sorted((tmp_path / "cache/unpacked").iterdir())
    assert len(open_dataset("cifar10", archive, image_size=32)) == 4  # reuses the unpacked copy
    assert sorted((tmp_path / "cache/unpacked").iterdir()) == unpacked
    test = open_dataset("cifar10", archive, image_size=32, split="test")
    assert len(test) == 2 and test.labels["class"].tolist() == [0, 1]


def test_archive_with_unsafe_member_refused(tmp_path):
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        data = b"x"
        info = tarfile.TarInfo("../escaped.png")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with pytest.raises(DatasetError, match="unsafe archive member"):
        open_dataset("folder", archive)
    assert not (tmp_path / "cache" / "escaped.png").exists()


@pytest.mark.skipif(not SHARED_CIFAR.exists(), reason=f"{SHARED_CIFAR} not present")
def test_shared_cifar10_jpeg(tmp_path):
    ds = open_dataset("cifar10", SHARED_CIFAR, image_size=32, split="test", limit=200)
    assert len(ds) == 200 and ds.class_names[0] == "airplane" and len(ds.class_names) == 10
    assert np.bincount(ds.labels["class"]).tolist() == [20] * 10
    x = ds.uint8_images()
    assert x.shape == (200, 3, 32, 32) and x.std() > 20


# ---------------------------------------------------------------- svhn


def test_svhn(tmp_path):
    import scipy.io

    x = np.random.default_rng(0).integers(0, 256, (32, 32, 3, 5), dtype=np.uint8)
    y = np.array([[10], [1], [2], [10], [9]], np.uint8)
    scipy.io.savemat(tmp_path / "train_32x32.mat", {"X": x, "y": y})
    ds = open_dataset("svhn", tmp_path, image_size=32)
    assert ds.labels["class"].tolist() == [0, 1, 2, 0, 9]
    assert np.array_equal(ds.uint8_images()[1], x[..., 1].transpose(2, 0, 1))
    small = open_dataset("svhn", tmp_path / "train_32x32.mat", image_size=8)
    assert small.uint8_images().shape == (5, 3, 8, 8)


# ---------------------------------------------------------------- shapes


def test_shapes_deterministic():
    ds = open_dataset("shapes", image_size=64)  # its speed is a benchmark's business, not a test's
    x = ds.uint8_images()
    assert x.shape == (2048, 3, 64, 64) and set(ds.labels["class"].tolist()) == {0, 1, 2}
    small = open_dataset("shapes", image_size=32, n=10)
    assert np.array_equal(small._decode(7), open_dataset("shapes", image_size=32, n=8)._decode(7))
    assert np.array_equal(small.labels["class"], ds.labels["class"][:10])
    assert not np.array_equal(open_dataset("shapes", n=4, seed=1).uint8_images(), x[:4])


# ---------------------------------------------------------------- cache


def test_cache_decodes_once(tmp_path, monkeypatch):
    write_class_tree(tmp_path / "tree")
    ds = open_dataset("folder", tmp_path / "tree", image_size=8, cache_dir=tmp_path / "c")
    calls = []
    orig = type(ds)._decode
    monkeypatch.setattr(type(ds), "_decode", lambda self, i: calls.append(i) or orig(self, i))
    first = ds.uint8_images()
    assert sorted(calls) == list(range(9))
    again = open_dataset("folder", tmp_path / "tree", image_size=8, cache_dir=tmp_path / "c")
    second = again.uint8_images()
    assert len(calls) == 9 and isinstance(second, np.memmap) and np.array_equal(first, second)
    assert [p.name for p in (tmp_path / "c").iterdir()] == [cache_path(ds, tmp_path / "c").name]
    other = open_dataset("folder", tmp_path / "tree", image_size=4, cache_dir=tmp_path / "c")
    other.uint8_images()
    assert len(calls) == 18  # a different size is a different cache


def test_cache_killed_decode_not_trusted(tmp_path, monkeypatch):
    write_class_tree(tmp_path / "tree")
    ds = open_dataset("folder", tmp_path / "tree", image_size=8, cache_dir=tmp_path / "c")
    final = cache_path(ds, tmp_path / "c")
    # a temp file left by a process that was SIGKILLed mid-decode (pid that cannot exist)
    stale = final.with_name(f".{final.name}.999999999.deadbeef.tmp")
    np.lib.format.open_memmap(stale, mode="w+", dtype=np.uint8, shape=(9, 3, 8, 8))
    orig = type(ds)._decode

    def dies(self, i):
        if i == 5:
            raise KeyboardInterrupt
        return orig(self, i)

    monkeypatch.setattr(type(ds), "_decode", dies)
    with pytest.raises(KeyboardInterrupt):
        cached_uint8(ds, tmp_path / "c", workers=1)
    assert not final.exists()
    monkeypatch.setattr(type(ds), "_decode", orig)
    x = cached_uint8(ds, tmp_path / "c")
    assert final.exists() and not stale.exists()
    assert np.array_equal(x, np.stack([ds._decode(i) for i in range(9)]))
    assert x[8].any()


def test_cache_default_location(tmp_path):
    ds = open_dataset("svhn", write_svhn_dir(tmp_path), image_size=8)
    ds.uint8_images()
    assert cache_path(ds).parent == tmp_path / "cache" and cache_path(ds).exists()


def write_svhn_dir(tmp_path: Path) -> Path:
    import scipy.io

    d = tmp_path / "svhn"
    d.mkdir()
    x = np.random.default_rng(0).integers(0, 256, (32, 32, 3, 3), dtype=np.uint8)
    scipy.io.savemat(d / "test_32x32.mat", {"X": x, "y": np.array([[1], [2], [10]])})
    scipy.io.savemat(d / "train_32x32.mat", {"X": x, "y": np.array([[1], [2], [10]])})
    return d


# ---------------------------------------------------------------- registry and auto-detection


def test_autodetect_every_format(tmp_path):
    write_cifar_batches(tmp_path / "c10", n=2)
    write_celeba(tmp_path / "celeba")
    write_lsun(tmp_path / "church_outdoor_train_lmdb", n=2)
    write_svhn_dir(tmp_path)
    write_class_tree(tmp_path / "tree")
    write_mixed_folder(tmp_path / "plain")
    with tarfile.open(tmp_path / "tree.tgz", "w:gz") as tar:
        tar.add(tmp_path / "tree", arcname="tree")
    cases = {
        tmp_path / "c10": "cifar10",
        tmp_path / "c10/cifar-10-batches-py": "cifar10",
        tmp_path / "celeba": "celeba",
        tmp_path / "church_outdoor_train_lmdb": "lsun",
        tmp_path / "svhn": "svhn",
        tmp_path / "svhn/train_32x32.mat": "svhn",
        tmp_path / "tree": "folder",
        tmp_path / "plain": "folder",
    }
    for path, fmt in cases.items():
        assert detect_format(path) == fmt, path
        ds = open_dataset(str(path), image_size=8)
        assert ds.name == fmt and len(ds) > 0, path
    tgz = open_dataset(str(tmp_path / "tree.tgz"), image_size=8)
    assert tgz.name == "folder" and tgz.class_names == ["ant", "cat", "dog"] and len(tgz) == 9
    assert len(open_dataset("auto", tmp_path / "tree", image_size=8, split="test")) == 3


def test_registry(tmp_path):
    with pytest.raises(DatasetError, match=r"unknown dataset 'nope'.*cifar10.*shapes"):
        open_dataset("nope")

    @register_dataset("tiny-test")
    class Tiny(ImageDataset):
        name = "tiny-test"

        def __init__(self, root, *, image_size, split, cache_dir, value=7):
            self.image_size, self.value = image_size, value

        def __len__(self):
            return 2

        def _decode(self, i):
            return np.full((3, self.image_size, self.image_size), self.value, np.uint8)

    try:
        ds = open_dataset("tiny-test", image_size=4, value=9)
        assert ds.uint8_images().max() == 9 and "tiny-test" in available_datasets()
    finally:
        from interp.data import DATASETS

        DATASETS.pop("tiny-test")
