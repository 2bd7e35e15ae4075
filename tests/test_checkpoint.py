"""Our checkpoint format: round trip, no pickle, crash-safety, and clear errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import safetensors.torch
import torch

from interp.core.config import ModelConfig
from interp.core.latent import sample_z
from interp.core.models import build_gan
from interp.io import atomic
from interp.io.checkpoint import CheckpointError, load_gan, read_checkpoint, save_checkpoint


def _pair(seed: int = 0):
    torch.manual_seed(seed)
    cfg = ModelConfig.from_preset("paper", 32, ngf=4, ndf=4)
    return cfg, *build_gan(cfg)


def test_round_trip_and_sidecar(tmp_path: Path) -> None:
    cfg, G, D = _pair()
    G.eval(), D.eval()
    path = save_checkpoint(tmp_path / "ck", G, D, cfg, {"epoch": 3, "seed": 7})
    assert path.suffix == ".safetensors" and path.with_suffix(".json").is_file()
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert sidecar["epoch"] == 3 and sidecar["model"]["preset"] == "paper"
    assert "torch" in sidecar["environment"] and "git_revision" in sidecar["environment"]
    loaded = load_gan(path)
    assert loaded.config == cfg and not loaded.G.training
    z = sample_z(4, cfg, seed=0)
    assert torch.equal(loaded.G(z), G(z))
    assert torch.equal(loaded.D(G(z)), D(G(z)))
    # the sidecar and a run directory resolve to the same file
    assert load_gan(path.with_suffix(".json")).path == path


def test_file_is_plain_safetensors(tmp_path: Path) -> None:
    cfg, G, D = _pair()
    path = save_checkpoint(tmp_path / "ck.safetensors", G, D, cfg)
    tensors = safetensors.torch.load_file(str(path))  # no pickle involved anywhere
    assert "G.project.linear.weight" in tensors and "D.head.linear.weight" in tensors
    assert not path.read_bytes().startswith(b"\x80")  # not a pickle stream


def test_crash_during_save_keeps_old_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg, G, D = _pair(0)
    path = save_checkpoint(tmp_path / "latest", G, D, cfg, {"step": 1})
    before = path.read_bytes()
    _, G2, D2 = _pair(1)

    def crash(fd: int) -> None:  # the data is in the temp file but the rename never happens
        raise OSError("simulated power cut during fsync")

    monkeypatch.setattr(atomic.os, "fsync", crash)
    with pytest.raises(OSError, match="power cut"):
        save_checkpoint(tmp_path / "latest", G2, D2, cfg, {"step": 2})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert read_checkpoint(path)[1]["step"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.json", "latest.safetensors"]


def test_truncated_file_is_a_clear_error(tmp_path: Path) -> None:
    cfg, G, D = _pair()
    path = save_checkpoint(tmp_path / "ck", G, D, cfg)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="ck.safetensors"):
        load_gan(path)


def test_foreign_safetensors_without_metadata(tmp_path: Path) -> None:
    path = tmp_path / "other.safetensors"
    safetensors.torch.save_file({"w": torch.zeros(2)}, str(path))
    with pytest.raises(CheckpointError, match="not an interp checkpoint"):
        load_gan(path)


def test_architecture_mismatch_names_the_tensor(tmp_path: Path) -> None:
    cfg, G, D = _pair()
    path = save_checkpoint(tmp_path / "ck", G, D, cfg)
    tensors, meta = read_checkpoint(path)
    meta["model"]["ngf"] = 8  # config now disagrees with the weights
    blob = safetensors.torch.save(tensors, metadata={"interp": json.dumps(meta)})
    path.write_bytes(blob)
    with pytest.raises(CheckpointError, match=r"G\.\S+\.weight has shape .* the config expects"):
        load_gan(path)


def test_bad_model_field_in_metadata(tmp_path: Path) -> None:
    cfg, G, D = _pair()
    path = save_checkpoint(tmp_path / "ck", G, D, cfg)
    tensors, meta = read_checkpoint(path)
    meta["model"]["kernel_size"] = 7
    path.write_bytes(safetensors.torch.save(tensors, metadata={"interp": json.dumps(meta)}))
    with pytest.raises(CheckpointError, match="kernel_size"):
        load_gan(path)


def test_missing_path_and_empty_run_dir(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="no such"):
        load_gan(tmp_path / "nope.safetensors")
    with pytest.raises(CheckpointError, match="no checkpoints"):
        load_gan(tmp_path)


def test_atomic_open_leaves_no_temp_on_error(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    with pytest.raises(RuntimeError):
        with atomic.atomic_open(target, "w") as fh:
            fh.write("half")
            raise RuntimeError("boom")
    assert not target.exists() and os.listdir(tmp_path) == []


def test_atomic_files_honour_the_umask_and_keep_an_existing_mode(tmp_path: Path) -> None:
    """Files were created 0600 (the temp file's mode); now 0666 less the umask, or the replaced file's mode."""
    old = os.umask(0o022)
    try:
        atomic.atomic_write_text(tmp_path / "a.txt", "x")
        assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644
        os.umask(0o077)
        atomic.atomic_write_text(tmp_path / "b.txt", "x")
        assert (tmp_path / "b.txt").stat().st_mode & 0o777 == 0o600
        (tmp_path / "a.txt").chmod(0o664)
        atomic.atomic_write_text(tmp_path / "a.txt", "y")  # replacing keeps the file's own mode
        assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o664 and (tmp_path / "a.txt").read_text() == "y"
    finally:
        os.umask(old)


def test_stale_temp_of_a_killed_writer_is_removed_on_the_next_write(tmp_path: Path) -> None:
    """A writer killed mid-write leaves its temp file; the next write of the same file removes it, but
    never a temp of a live writer or of another file."""
    import subprocess
    import sys

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    stale = tmp_path / f".ckpt.safetensors.{dead_pid}.abcd1234.tmp"
    live = tmp_path / f".ckpt.safetensors.{os.getppid()}.abcd1234.tmp"
    other = tmp_path / f".other.safetensors.{dead_pid}.abcd1234.tmp"
    for p in (stale, live, other):
        p.write_bytes(b"half")
    atomic.atomic_write_bytes(tmp_path / "ckpt.safetensors", b"whole")
    assert not stale.exists() and live.exists() and other.exists()
    assert (tmp_path / "ckpt.safetensors").read_bytes() == b"whole"
