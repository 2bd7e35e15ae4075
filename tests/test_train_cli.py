"""The training CLI end to end: a real SIGKILL mid-run, then --resume, gives the straight run's weights."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from interp.checkpoint import read_checkpoint
from interp.train import main


def _write_pngs(folder: Path, n: int = 64, size: int = 32) -> None:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for i in range(n):
        img = (rng.random((size, size, 3)) * 80).astype(np.uint8)
        y, x = rng.integers(0, size - 8, size=2)
        img[y : y + 8, x : x + 8] = (200, 40 + 2 * i, 90)
        Image.fromarray(img).save(folder / f"{i:03d}.png")


ARGS = ["--size", "32", "--ngf", "8", "--ndf", "8", "--epochs", "4", "--batch-size", "16",
        "--checkpoint-every", "1", "--log-every", "1", "--no-progress", "--no-tensorboard", "--device", "cpu"]


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "interp.train", *args]


@pytest.mark.slow
def test_sigkill_then_resume_matches_straight_run(tmp_path: Path) -> None:
    _write_pngs(tmp_path / "imgs")
    env = dict(os.environ, INTERP_CACHE_DIR=str(tmp_path / "cache"), OMP_NUM_THREADS="1")
    data = ["--data", "folder", "--data-root", str(tmp_path / "imgs")]
    subprocess.run(_cli(*data, *ARGS, "--out", str(tmp_path / "a")), check=True, env=env, capture_output=True)

    proc = subprocess.Popen(_cli(*data, *ARGS, "--out", str(tmp_path / "b")), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    latest = tmp_path / "b/checkpoints/latest.json"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if json.loads(latest.read_text())["step"] >= 5:
                break
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            pass
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)  # no cleanup handlers run: a real crash, possibly mid-save
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (tmp_path / "b/checkpoints/final.safetensors").exists(), "the run finished before the kill"

    done = subprocess.run(_cli("--out", str(tmp_path / "b"), "--resume", *data, "--no-progress"),
                          env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    a = read_checkpoint(tmp_path / "a/checkpoints/final.safetensors")[0]
    b = read_checkpoint(tmp_path / "b/checkpoints/final.safetensors")[0]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_cli_errors_are_clear(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--data", "folder", "--data-root", str(tmp_path / "missing"), "--out", str(tmp_path / "o")])
    assert code == 2 and "missing" in capsys.readouterr().err
    code = main(["--data", "no-such-dataset", "--out", str(tmp_path / "o")])
    assert code == 2 and "no-such-dataset" in capsys.readouterr().err
    _write_pngs(tmp_path / "imgs", n=8)
    code = main(["--data", "folder", "--data-root", str(tmp_path / "imgs"), "--size", "32", "--batch-size", "16",
                 "--out", str(tmp_path / "o")])
    assert code == 2 and "fewer than one batch" in capsys.readouterr().err


def test_help_explains(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for word in ("--resume", "--preset", "checkpoint", "safetensors", "--data-root", "bf16"):
        assert word in text


def test_data_options_reach_the_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERP_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "run"
    code = main(["--data", "shapes", "--data-option", "n=48", "--data-option", "seed=3", "--size", "32",
                 "--ngf", "4", "--ndf", "4", "--batch-size", "16", "--epochs", "1", "--out", str(out),
                 "--no-progress", "--no-tensorboard"])
    assert code == 0
    meta = read_checkpoint(out / "checkpoints/final.safetensors")[1]
    assert meta["train"]["data_options"] == {"n": 48, "seed": 3}
    assert meta["dataset"]["num_images_used"] == 48 and meta["step"] == 3
    with pytest.raises(SystemExit):
        main(["--data-option", "novalue"])
