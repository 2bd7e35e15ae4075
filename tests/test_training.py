"""Training: resume equivalence, kill-safety, divergence handling, logs and samples."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from interp.core.config import ConfigError
from interp.io.checkpoint import load_gan, read_checkpoint
from interp.train.trainer import RunExistsError, TrainConfig, Trainer, TrainingDiverged


def _cfg(out: Path, **kw) -> TrainConfig:
    base = dict(data="tiny", preset="examples", image_size=32, ngf=8, ndf=8, epochs=2, batch_size=16,
                out=str(out), progress=False, tensorboard=False, checkpoint_every=4, keep_epochs=(1,), log_every=3)
    base.update(kw)
    return TrainConfig(**base)


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return read_checkpoint(path)[0]


@pytest.mark.parametrize("preset", ["examples", "paper"])
def test_resume_equals_straight_run(tmp_path: Path, tiny_images: np.ndarray, preset: str) -> None:
    straight = Trainer(_cfg(tmp_path / "a", preset=preset), tiny_images).run()
    assert straight.step == 12 and straight.final_checkpoint is not None

    first = Trainer(_cfg(tmp_path / "b", preset=preset, max_steps=5), tiny_images).run()
    assert first.step == 5 and first.final_checkpoint is None
    resumed = Trainer(_cfg(tmp_path / "b", preset=preset), tiny_images, resume=True).run()
    assert resumed.step == 12

    a, b = _weights(straight.final_checkpoint), _weights(resumed.final_checkpoint)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    # latest (with Adam state) matches too, and the log has each step exactly once
    la, lb = _weights(tmp_path / "a/checkpoints/latest.safetensors"), _weights(tmp_path / "b/checkpoints/latest.safetensors")
    assert all(torch.equal(la[k], lb[k]) for k in la)
    with open(tmp_path / "b/log.csv") as fh:
        steps = [int(r["step"]) for r in csv.DictReader(fh)]
    assert steps == list(range(12))


def test_stabilisers_resume_exactly_and_change_training(tmp_path: Path, tiny_images: np.ndarray) -> None:
    """Instance noise (annealed), one-sided label smoothing, a separate D learning rate and a linearly
    decaying learning rate: a resumed run still equals a straight one, and each option really changes
    what is trained."""
    opts = dict(instance_noise=0.3, real_label=0.9, lr_d=1e-4, lr_schedule="linear")
    straight = Trainer(_cfg(tmp_path / "a", **opts), tiny_images).run()
    Trainer(_cfg(tmp_path / "b", max_steps=5, **opts), tiny_images).run()
    resumed = Trainer(_cfg(tmp_path / "b", **opts), tiny_images, resume=True).run()
    a, b = _weights(straight.final_checkpoint), _weights(resumed.final_checkpoint)
    assert all(torch.equal(a[k], b[k]) for k in a)

    plain = _weights(Trainer(_cfg(tmp_path / "plain"), tiny_images).run().final_checkpoint)
    for i, (key, value) in enumerate(opts.items()):
        single = _weights(Trainer(_cfg(tmp_path / f"only{i}", **{key: value}), tiny_images).run().final_checkpoint)
        assert any(not torch.equal(single[k], plain[k]) for k in plain if k.startswith("D.")), key

    t = Trainer(_cfg(tmp_path / "sched", instance_noise=0.4, lr_d=3e-4), tiny_images)
    assert t.noise_sigma(0) == pytest.approx(0.4)
    assert t.noise_sigma(t.total_steps // 2) == pytest.approx(0.2)
    assert t.noise_sigma(t.total_steps) == 0.0
    assert t.optD.param_groups[0]["lr"] == 3e-4 and t.optG.param_groups[0]["lr"] == 2e-4
    lin = Trainer(_cfg(tmp_path / "lin", lr_schedule="linear", lr_d=3e-4), tiny_images)
    assert t.lr_factor(t.total_steps // 2) == 1.0  # constant
    assert lin.lr_factor(0) == 1.0 and lin.lr_factor(lin.total_steps // 2) == pytest.approx(0.5)
    lin._set_lr(lin.total_steps // 2)
    assert lin.optG.param_groups[0]["lr"] == pytest.approx(1e-4) and lin.optD.param_groups[0]["lr"] == pytest.approx(1.5e-4)


def test_run_outputs(tmp_path: Path, tiny_images: np.ndarray) -> None:
    res = Trainer(_cfg(tmp_path, epochs=2), tiny_images, {"name": "tiny"}).run()
    files = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert {"log.csv", "train_config.json", "samples/epoch_001.png", "samples/epoch_002.png",
            "checkpoints/epoch_001.safetensors", "checkpoints/final.safetensors",
            "checkpoints/latest.safetensors"} <= files
    assert not any(name.endswith(".tmp") for name in files)
    meta = load_gan(res.final_checkpoint).meta
    assert meta["epoch"] == 2 and meta["step"] == 12 and meta["seed"] == 0
    assert meta["dataset"]["name"] == "tiny" and meta["train"]["lr"] == 2e-4
    with open(tmp_path / "log.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 12
    for row in rows:
        assert 0 < float(row["d_x"]) < 1 and 0 < float(row["d_g_z1"]) < 1 and float(row["loss_d"]) > 0


def test_existing_run_needs_resume(tmp_path: Path, tiny_images: np.ndarray) -> None:
    Trainer(_cfg(tmp_path, max_steps=4), tiny_images).run()
    with pytest.raises(RunExistsError, match="--resume"):
        Trainer(_cfg(tmp_path), tiny_images)


def test_resume_with_changed_settings_is_refused(tmp_path: Path, tiny_images: np.ndarray) -> None:
    Trainer(_cfg(tmp_path, max_steps=4), tiny_images).run()
    with pytest.raises(ConfigError, match="batch_size"):
        Trainer(_cfg(tmp_path, batch_size=8), tiny_images, resume=True)
    with pytest.raises(ConfigError, match="images"):
        Trainer(_cfg(tmp_path), tiny_images[:80], resume=True)


class _Poisoned(Trainer):
    """Corrupts D's weights at step 6, so the losses of step 6 onward are NaN."""

    def _train_step(self, real, z, noise=None):
        if self.step == 6:
            with torch.no_grad():
                self.D.conv1.conv.weight.fill_(float("nan"))
        return super()._train_step(real, z, noise)


def test_nan_stops_and_keeps_last_good_checkpoint(tmp_path: Path, tiny_images: np.ndarray) -> None:
    trainer = _Poisoned(_cfg(tmp_path, epochs=3), tiny_images)
    with pytest.raises(TrainingDiverged, match="non-finite loss at step 6"):
        trainer.run()
    tensors, meta = read_checkpoint(tmp_path / "checkpoints/latest.safetensors")
    # step 6 (epoch end) was the last checkpoint; the one due at step 8 must not be written
    assert meta["step"] == 6
    assert all(torch.isfinite(t).all() for t in tensors.values())
    assert not (tmp_path / "checkpoints/final.safetensors").exists()


def test_train_config_validation() -> None:
    with pytest.raises(ConfigError, match="amp"):
        TrainConfig(amp="fp8")
    with pytest.raises(ConfigError, match="epochs"):
        TrainConfig(epochs=0)
    with pytest.raises(ConfigError, match="real_label"):
        TrainConfig(real_label=0.3)
    with pytest.raises(ConfigError, match="instance_noise"):
        TrainConfig(instance_noise=-1)
    with pytest.raises(ConfigError, match="lr_d"):
        TrainConfig(lr_d=0)
    assert TrainConfig(preset="paper").batch_size == 128
    assert TrainConfig(preset="examples").batch_size == 64


def test_gpu_code_paths_run_on_cpu(tmp_path: Path, tiny_images: np.ndarray) -> None:
    """bf16 autocast and channels_last (the GPU defaults) also work, and train, on a CPU."""
    res = Trainer(_cfg(tmp_path, amp="bf16", channels_last=True, epochs=1), tiny_images).run()
    assert res.step == 6
    assert all(np.isfinite(r["loss_d"]) and np.isfinite(r["loss_g"]) for r in res.history)
    G = load_gan(res.final_checkpoint).G
    assert G(torch.zeros(2, 100)).dtype == torch.float32  # weights are stored in fp32


@pytest.mark.parametrize("world, noise", [("faces", 0.3), ("rooms", 0.3)])
def test_reference_recipe_per_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cache: Path, world: str,
                                    noise: float) -> None:
    """``--train`` on a GPU trains the reference recipe: the paper's batch 128 / lr 2e-4 with a linear decay,
    and instance noise 0.3 on both worlds; the config reaches the trainer unchanged."""
    from interp.train import defaults

    seen: list[TrainConfig] = []

    class Recorder:
        def __init__(self, cfg: TrainConfig, *args: object, **kwargs: object) -> None:
            seen.append(cfg)

        def run(self) -> None:
            pass

    monkeypatch.setattr(defaults, "REFERENCE_N_IMAGES", 8)
    monkeypatch.setattr("interp.train.trainer.Trainer", Recorder)
    monkeypatch.setenv(f"INTERP_REFERENCE_{world.upper()}_RUN", str(tmp_path / "run"))
    defaults.ensure_default_model(world, progress=False, reference=True)
    (cfg,) = seen
    assert (cfg.batch_size, cfg.lr, cfg.lr_schedule, cfg.epochs) == (128, 2e-4, "linear", 25)
    assert cfg.instance_noise == noise and cfg.data_options == {"n": 8}
    # the more-seeds script (bench/reference_seeds.py) asks for the same recipe with its own seed
    other = defaults.recipe_config(world, tmp_path / "s3", reference=True, seed=3, device="cuda")
    assert other.seed == 3 and other.device == "cuda" and other.instance_noise == noise
    assert dataclasses.replace(other, seed=cfg.seed, device=cfg.device, out=cfg.out, data_options=cfg.data_options,
                               progress=cfg.progress) == cfg
