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

from interp.cli.train import main
from interp.io.checkpoint import read_checkpoint


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


def test_resume_of_a_missing_run_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--resume` with a mistyped --out used to start a fresh default training; now it is one clear line."""
    code = main(["--out", str(tmp_path / "typo"), "--resume", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "no run to resume" in err and "typo" in err and "Traceback" not in err
    assert not (tmp_path / "typo").exists()


def test_max_steps_limits_one_invocation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A run started with --max-steps 3 is not capped by it on a later plain --resume: that one trains to
    the end and writes the final checkpoint."""
    _write_pngs(tmp_path / "imgs", n=32)
    data = ["--data", "folder", "--data-root", str(tmp_path / "imgs")]
    args = [*data, "--size", "32", "--ngf", "4", "--ndf", "4", "--epochs", "2", "--batch-size", "8",
            "--no-progress", "--no-tensorboard", "--device", "cpu", "--out", str(tmp_path / "r")]
    assert main([*args, "--max-steps", "3"]) == 0
    out = capsys.readouterr().out
    assert "trained 3 steps in this run" in out and "at step 3 of 8" in out and "--resume" in out
    assert not (tmp_path / "r/checkpoints/final.safetensors").exists()
    assert main(["--out", str(tmp_path / "r"), "--resume", *data, "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "trained 5 steps in this run" in out and "at step 8 of 8" in out
    assert (tmp_path / "r/checkpoints/final.safetensors").is_file()
    # a resumed invocation may set its own limit again
    assert main([*args[:-2], "--out", str(tmp_path / "s"), "--max-steps", "2"]) == 0
    assert main(["--out", str(tmp_path / "s"), "--resume", *data, "--no-progress", "--max-steps", "2"]) == 0
    assert "at step 4 of 8" in capsys.readouterr().out


@pytest.mark.parametrize("args, needle", [
    (["--limit", "-5"], "argument --limit: must be >= 1, got -5"),
    (["--seed", "-1"], "argument --seed: must be >= 0, got -1"),
    (["--epochs", "x"], "argument --epochs: expected a whole number"),
])
def test_bad_numbers_name_their_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                                     needle: str) -> None:
    with pytest.raises(SystemExit) as info:
        main([*args, "--out", str(tmp_path / "o")])
    assert info.value.code == 2 and needle in capsys.readouterr().err


def test_user_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A bad dataset option, a file that is not .mat for svhn, CUDA on a CPU machine: one line each."""
    (tmp_path / "x.mat").write_text("not a mat file")
    cases = [(["--data", "rooms", "--data-option", "n=abc"], "option n must be a whole number, got 'abc'"),
             (["--data", "svhn", "--data-root", str(tmp_path / "x.mat"), "--size", "32"],
              "is not a readable MATLAB .mat file")]
    if not torch.cuda.is_available():
        cases.append((["--device", "cuda"], "--device cuda: CUDA is not available"))
    for args, needle in cases:
        code = main([*args, "--out", str(tmp_path / "o"), "--no-progress", "--max-steps", "1"])
        err = capsys.readouterr().err
        assert code == 2 and needle in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err


def test_full_disk_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    import interp.io.checkpoint as ckpt

    def full(path, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(ckpt, "write_tensor_file", full)
    _write_pngs(tmp_path / "imgs", n=16)
    code = main(["--data", "folder", "--data-root", str(tmp_path / "imgs"), "--size", "32", "--ngf", "4", "--ndf", "4",
                 "--batch-size", "8", "--epochs", "1", "--no-progress", "--no-tensorboard", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "No space left on device" in err and "Traceback" not in err
