"""scripts/wip.sh: a reference run's resumable state saved to and restored from the wip folder."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "wip.sh"


def _run(args: list[str], wip: Path, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INTERP_WIP_DIR": str(wip), **extra_env}
    return subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, check=False)


def _fake_run(run: Path, step: int) -> None:
    (run / "checkpoints").mkdir(parents=True, exist_ok=True)
    (run / "samples").mkdir(exist_ok=True)
    (run / "checkpoints" / "latest.safetensors").write_bytes(f"weights at {step}".encode())
    (run / "checkpoints" / "latest.json").write_text(json.dumps({"step": step}))
    (run / "checkpoints" / "epoch_001.safetensors").write_bytes(b"epoch 1")
    (run / "checkpoints" / "epoch_001.json").write_text("{}")
    (run / "checkpoints" / "epoch_010.safetensors").write_bytes(b"epoch 10")
    (run / "checkpoints" / "epoch_010.json").write_text("{}")
    (run / "log.csv").write_text("step\n0\n")
    (run / "train_config.json").write_text("{}")
    (run / "samples" / "epoch_001.png").write_bytes(b"png")


@pytest.mark.skipif(not Path("/bin/bash").exists(), reason="needs bash")
def test_save_restore_and_never_rewind(tmp_path: Path) -> None:
    wip = tmp_path / "wip"
    run = tmp_path / "runs" / "ref-rooms-s7"
    _fake_run(run, 100)
    saved = _run(["save", str(run)], wip)
    assert saved.returncode == 0, saved.stderr
    assert (wip / "rooms-s7" / "latest.safetensors").read_bytes() == b"weights at 100"
    assert (wip / "rooms-s7" / "samples" / "epoch_001.png").is_file()
    assert not (wip / "rooms-s7" / "epoch_010.safetensors").exists()  # by default only epochs 1 and 5
    assert not [p for p in wip.iterdir() if p.name.startswith(".")]  # no temporary folder left behind
    # restore into a fresh place: every file back where the trainer looks for it
    fresh = tmp_path / "elsewhere" / "ref-rooms-s7"
    restored = _run(["restore", str(fresh)], wip)
    assert restored.returncode == 0, restored.stderr
    assert (fresh / "checkpoints" / "latest.safetensors").read_bytes() == b"weights at 100"
    assert (fresh / "checkpoints" / "epoch_001.json").is_file() and (fresh / "train_config.json").is_file()
    # a run that is further along is never rewound
    _fake_run(run, 250)
    kept = _run(["restore", str(run)], wip)
    assert kept.returncode == 0 and "left as it is" in kept.stdout
    assert (run / "checkpoints" / "latest.safetensors").read_bytes() == b"weights at 250"
    # a save interrupted between its two renames: restore finds the previous state in .old
    (wip / "rooms-s7").rename(wip / "rooms-s7.old")
    again = _run(["restore", str(tmp_path / "third" / "ref-rooms-s7")], wip)
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "third" / "ref-rooms-s7" / "checkpoints" / "latest.safetensors").is_file()


def test_more_kept_epochs_on_request(tmp_path: Path) -> None:
    """A run probed at every kept epoch (the CIFAR-10 D of Table 1) keeps them all across machines."""
    wip, run = tmp_path / "wip", tmp_path / "runs" / "cifar-d"
    _fake_run(run, 40)
    assert _run(["save", str(run)], wip, INTERP_WIP_EPOCHS="001 010 015").returncode == 0
    assert (wip / "cifar-d" / "epoch_010.safetensors").read_bytes() == b"epoch 10"
    fresh = tmp_path / "elsewhere" / "cifar-d"
    assert _run(["restore", str(fresh)], wip).returncode == 0
    assert (fresh / "checkpoints" / "epoch_010.safetensors").is_file() and (fresh / "checkpoints" / "epoch_010.json").is_file()


def test_user_errors_are_one_line(tmp_path: Path) -> None:
    wip = tmp_path / "wip"
    missing = _run(["save", str(tmp_path / "nothing")], wip)
    assert missing.returncode == 1 and "latest.safetensors" in missing.stderr and len(missing.stderr.splitlines()) == 1
    assert _run(["restore", str(tmp_path / "ref-faces-s9")], wip).returncode == 1
    assert _run(["frobnicate", "x"], wip).returncode == 2
