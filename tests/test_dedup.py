"""The semantic-hashing de-duplication tool (paper section 4.1) on planted duplicates."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from interp.analysis.dedup import (
    HashAutoencoder,
    duplicates_to_remove,
    find_duplicate_groups,
    fit_hash_autoencoder,
    hash_codes,
    load_hash_autoencoder,
    pack,
    prepare_batch,
    save_hash_autoencoder,
)
from interp.cli.dedup import main
from interp.data import open_dataset
from interp.io.instrument_files import InstrumentError, load_instrument, save_instrument

N_BASE, N_PAIRS = 500, 20
NEAR_HAMMING = 3


def plant(seed: int = 1) -> tuple[np.ndarray, dict[str, list[tuple[int, int]]]]:
    """500 shapes images + 20 exact copies, 20 noisy (+-3 grey levels), 20 brighter (+3) copies.

    Returns uint8 (560, 3, 32, 32) and, per kind, (original, copy) index pairs.
    """
    base = open_dataset("shapes", image_size=32, n=N_BASE).uint8_images().copy()
    rng = np.random.default_rng(seed)
    src = rng.choice(N_BASE, 3 * N_PAIRS, replace=False).reshape(3, N_PAIRS)
    noisy = base[src[1]].astype(np.int16) + rng.integers(-3, 4, size=base[src[1]].shape)
    copies = [base[src[0]], noisy.clip(0, 255).astype(np.uint8),
              (base[src[2]].astype(np.int16) + 3).clip(0, 255).astype(np.uint8)]
    pairs = {kind: [(int(s), N_BASE + k * N_PAIRS + j) for j, s in enumerate(src[k])]
             for k, kind in enumerate(("exact", "noise", "bright"))}
    return np.concatenate([base, *copies]), pairs


def recall(groups: list[list[int]], pairs: list[tuple[int, int]]) -> float:
    gid = {i: k for k, g in enumerate(groups) for i in g}
    return float(np.mean([a in gid and gid.get(a) == gid.get(b) for a, b in pairs]))


@pytest.fixture(scope="module")
def planted() -> tuple[np.ndarray, dict[str, list[tuple[int, int]]], HashAutoencoder]:
    images, pairs = plant()
    model = fit_hash_autoencoder(images, epochs=10, batch_size=64, seed=0, progress=False)
    return images, pairs, model


def test_recall_and_precision_on_planted_duplicates(planted) -> None:
    images, pairs, model = planted
    codes = hash_codes(model, images)
    assert codes.shape == (len(images), 128) and codes.dtype == bool
    exact = find_duplicate_groups(codes, max_hamming=0)
    near = find_duplicate_groups(codes, max_hamming=NEAR_HAMMING)
    planted_ids = {i for v in pairs.values() for p in v for i in p}
    for groups in (exact, near):
        false = {i for g in groups for i in g if i not in planted_ids}
        assert len(false) < 0.05 * N_BASE, f"{len(false)} non-planted images grouped"
    assert recall(exact, pairs["exact"]) >= 0.95
    near_pairs = pairs["noise"] + pairs["bright"]
    r = recall(near, near_pairs)
    print(f"recall exact@0 {recall(exact, pairs['exact']):.2f} near@0 {recall(exact, near_pairs):.2f} "
          f"near@{NEAR_HAMMING} {r:.2f} noise {recall(near, pairs['noise']):.2f} "
          f"bright {recall(near, pairs['bright']):.2f}")
    assert r >= 0.8


def test_determinism_and_save_load_round_trip(planted, tmp_path: Path) -> None:
    images, _, model = planted
    small = images[:128]
    a = fit_hash_autoencoder(small, epochs=2, batch_size=32, seed=3, progress=False)
    b = fit_hash_autoencoder(small, epochs=2, batch_size=32, seed=3, progress=False)
    np.testing.assert_array_equal(hash_codes(a, small), hash_codes(b, small))
    path = save_hash_autoencoder(tmp_path / "ae", model, {"epochs": 10})
    assert path.suffix == ".safetensors" and path.with_suffix(".json").is_file()
    loaded, config = load_hash_autoencoder(path)
    assert config["epochs"] == 10 and config["model"]["code_dim"] == 128
    np.testing.assert_array_equal(hash_codes(loaded, images), hash_codes(model, images))
    assert json.loads(path.with_suffix(".json").read_text()) == config


def test_instrument_io_errors(tmp_path: Path) -> None:
    with pytest.raises(InstrumentError, match="no such instrument"):
        load_instrument(tmp_path / "missing.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(InstrumentError, match="junk.safetensors"):
        load_instrument(tmp_path / "junk.safetensors")
    path = save_instrument(tmp_path / "lin", torch.nn.Linear(2, 3), {"kind": "other"})
    state, config = load_instrument(path)
    assert set(state) == {"weight", "bias"} and config == {"kind": "other"}
    with pytest.raises(InstrumentError, match="expected 'hash_autoencoder'"):
        load_hash_autoencoder(path)


def test_find_duplicate_groups_hamming() -> None:
    rng = np.random.default_rng(0)
    codes = rng.random((50, 128)) < 0.5
    codes[10] = codes[3]
    codes[20] = codes[3]
    codes[30] = codes[7]
    codes[30, [0, 64]] ^= True  # 2 bits away from 7
    assert find_duplicate_groups(codes) == [[3, 10, 20]]
    assert find_duplicate_groups(codes, max_hamming=1) == [[3, 10, 20]]
    assert find_duplicate_groups(codes, max_hamming=2) == [[3, 10, 20], [7, 30]]
    assert duplicates_to_remove([[3, 10, 20], [7, 30]]) == [10, 20, 30]
    assert len(set(pack(codes))) == 48 and len(pack(codes)[0]) == 16


def test_prepare_batch_downsamples_centre_crop() -> None:
    img = np.zeros((1, 3, 64, 80), np.uint8)
    img[:, :, :, 8:72] = 255  # the centred 64x64 square is white
    x = prepare_batch(img, 32)
    assert x.shape == (1, 3072) and torch.allclose(x, torch.ones_like(x))


def _write_pngs(folder: Path, images: np.ndarray) -> None:
    folder.mkdir()
    for i, img in enumerate(images):
        Image.fromarray(img.transpose(1, 2, 0)).save(folder / f"img{i:03d}.png")


def test_cli_end_to_end_on_png_folder(tmp_path: Path, capsys) -> None:
    base = open_dataset("shapes", image_size=32, n=60).uint8_images()
    _write_pngs(tmp_path / "pics", np.concatenate([base, base[[5, 9]]]))  # img060 = img005, img061 = img009
    groups_file, remove_file, model_file = tmp_path / "g.json", tmp_path / "rm.txt", tmp_path / "ae.safetensors"
    argv = ["--data", "folder", "--data-root", str(tmp_path / "pics"), "--epochs", "2", "--no-progress",
            "--cache-dir", str(tmp_path / "cache"), "--write", str(groups_file), "--remove-list", str(remove_file),
            "--model", str(model_file)]
    assert main(argv) == 0
    doc = json.loads(groups_file.read_text())
    assert doc["num_images"] == 62
    files = [[Path(f).name for f in g["files"]] for g in doc["groups"]]
    assert ["img005.png", "img060.png"] in files and ["img009.png", "img061.png"] in files
    removed = {Path(line).name for line in remove_file.read_text().splitlines()}
    assert {"img060.png", "img061.png"} <= removed
    assert model_file.is_file()
    out = capsys.readouterr().out
    assert "images: 62" in out and "duplicate groups" in out
    assert main(argv) == 0  # second run reuses the saved autoencoder
    assert "loaded autoencoder" in capsys.readouterr().out


def test_cli_bad_data_path(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "no_such_folder"
    assert main(["--data", "folder", "--data-root", str(missing), "--no-progress"]) == 2
    assert str(missing) in capsys.readouterr().err
    assert main(["--data", str(missing), "--no-progress"]) == 2
    assert str(missing) in capsys.readouterr().err
