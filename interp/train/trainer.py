"""DCGAN training: resumable, crash-safe, one loop for CPU, one GPU and several GPUs.

Run layout (``out/``)::

    train_config.json            the run's TrainConfig
    log.csv                      one row per step: losses, D(x), D(G(z)) before/after the D step
    samples/epoch_001.png        fixed-z sample grid after every epoch
    checkpoints/latest.*         resumable (weights + Adam state), every ``checkpoint_every`` steps
                                 and at every epoch end
    checkpoints/epoch_001.*      kept milestones (``keep_epochs``, default 1 and 5; Figs. 2–3)
    checkpoints/final.*          after the last epoch

Determinism: epoch e's data order comes from (seed, e) and step s's z from (seed, s, rank), so a
run stopped after any checkpoint and resumed continues exactly as if it had never stopped.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
import math
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from interp.core.config import PRESET_TRAINING, ConfigError, ModelConfig
from interp.core.latent import sample_z, sample_z_torch
from interp.core.models import Discriminator, Generator
from interp.core.modes import eval_mode
from interp.data.base import to_uint8_image
from interp.io.atomic import atomic_write_text
from interp.io.checkpoint import load_optimizer_state, read_checkpoint, save_checkpoint
from interp.io.images import image_grid, save_png
from interp.train.batches import BatchSource, _mix
from interp.train.distributed import DistInfo, all_reduce_flag

log = logging.getLogger(__name__)

LR_SCHEDULES = ("constant", "linear")
LOG_COLUMNS = ("step", "epoch", "loss_d", "loss_g", "d_x", "d_g_z1", "d_g_z2", "seconds")


class TrainingDiverged(RuntimeError):
    """A loss became NaN/inf; the run stopped and the last good checkpoint was kept."""


class RunExistsError(RuntimeError):
    """The output directory already holds a run and --resume was not given."""


@dataclass
class TrainConfig:
    """Everything that defines a training run (stored as ``train_config.json`` and in checkpoints)."""

    data: str = "rooms"
    data_root: str | None = None
    data_options: dict[str, Any] = field(default_factory=dict)
    limit: int | None = None
    preset: str = "examples"
    image_size: int = 64
    nz: int | None = None
    ngf: int | None = None
    ndf: int | None = None
    epochs: int = 5
    batch_size: int | None = None
    lr: float = 2e-4
    lr_d: float | None = None
    lr_schedule: str = "constant"
    beta1: float = 0.5
    weight_decay: float | None = None
    real_label: float = 1.0
    instance_noise: float = 0.0
    seed: int = 0
    out: str = "runs/default"
    device: str = "auto"
    amp: str = "auto"
    channels_last: bool | None = None
    compile: bool = False
    checkpoint_every: int = 500
    checkpoint_minutes: float = 10.0
    keep_epochs: tuple[int, ...] = (1, 5)
    max_steps: int | None = None
    log_every: int = 20
    progress: bool = True
    tensorboard: bool = True

    def __post_init__(self) -> None:
        preset_training = PRESET_TRAINING.get(self.preset)
        if preset_training is None:
            raise ConfigError(f"preset must be one of {sorted(PRESET_TRAINING)}, got {self.preset!r}")
        if self.batch_size is None:
            self.batch_size = preset_training["batch_size"]
        if self.weight_decay is None:
            self.weight_decay = preset_training["weight_decay"]
        self.keep_epochs = tuple(self.keep_epochs)
        if self.amp not in ("auto", "bf16", "none"):
            raise ConfigError(f"amp must be 'auto', 'bf16' or 'none', got {self.amp!r}")
        for name in ("epochs", "batch_size", "log_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ConfigError(f"lr must be > 0, got {self.lr}")
        if self.lr_d is not None and not self.lr_d > 0:
            raise ConfigError(f"lr_d must be > 0, got {self.lr_d}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ConfigError(f"lr_schedule must be one of {list(LR_SCHEDULES)}, got {self.lr_schedule!r}")
        if not 0.5 < self.real_label <= 1.0:
            raise ConfigError(f"real_label must be in (0.5, 1], got {self.real_label}")
        if not self.instance_noise >= 0:
            raise ConfigError(f"instance_noise must be >= 0, got {self.instance_noise}")

    def model_config(self) -> ModelConfig:
        return ModelConfig.from_preset(
            self.preset, self.image_size, nz=self.nz, ngf=self.ngf, ndf=self.ndf
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ConfigError(f"unknown training config field(s): {sorted(unknown)}")
        return cls(**data)


@dataclass
class TrainResult:
    out: Path
    step: int
    epoch: int
    final_checkpoint: Path | None
    images_per_second: float
    history: list[dict[str, float]] = field(default_factory=list)
    steps_this_run: int = 0  # steps trained by this invocation (``step`` is the run's total)
    total_steps: int = 0  # the run's planned length (epochs × steps per epoch)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


class Trainer:
    """Trains one DCGAN run; ``Trainer(cfg, images).run()``.

    ``images`` is the decoded training set, uint8 (N, 3, S, S) (a memory map is fine);
    ``dataset_info`` is stored in checkpoints (``ImageDataset.describe()``).
    """

    def __init__(
        self,
        cfg: TrainConfig,
        images: np.ndarray,
        dataset_info: dict[str, Any] | None = None,
        dist: DistInfo | None = None,
        resume: bool = False,
    ) -> None:
        self.cfg = cfg
        self.dist = dist or DistInfo()
        self.device = self.dist.device if self.dist.world_size > 1 else resolve_device(cfg.device)
        self.model_cfg = cfg.model_config()
        if images.shape[1:] != (self.model_cfg.nc, cfg.image_size, cfg.image_size):
            raise ConfigError(
                f"images have shape {tuple(images.shape[1:])}, the model expects "
                f"({self.model_cfg.nc}, {cfg.image_size}, {cfg.image_size})"
            )
        if cfg.limit:
            images = images[: cfg.limit]
        self.dataset_info = dict(dataset_info or {}, num_images_used=int(len(images)))
        self.out = Path(cfg.out)
        self.ckpt_dir = self.out / "checkpoints"
        self.is_main = self.dist.rank == 0
        self.use_amp = cfg.amp == "bf16" or (cfg.amp == "auto" and self.device.type == "cuda")
        # channels_last by default: NHWC convolutions are faster on CUDA, and on the CPU too (the reference
        # recipe at width 32 on one AMD EPYC thread: 89 vs 69 img/s, BENCHMARKS.md)
        channels_last = cfg.channels_last if cfg.channels_last is not None else self.device.type in ("cuda", "cpu")
        self.channels_last = channels_last

        if cfg.batch_size is None or cfg.weight_decay is None:  # TrainConfig.__post_init__ fills both from the preset
            raise ConfigError("TrainConfig.batch_size and weight_decay must be resolved (built without __post_init__?)")
        self.batch_size: int = cfg.batch_size
        weight_decay: float = cfg.weight_decay

        torch.manual_seed(cfg.seed)  # init of the weights (the only use of the global RNG)
        self.G = Generator(self.model_cfg).to(self.device)
        self.D = Discriminator(self.model_cfg).to(self.device)
        if channels_last:
            self.G.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # torch stubs: Module.to overloads omit memory_format
            self.D.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # torch stubs: Module.to overloads omit memory_format
        betas = (cfg.beta1, 0.999)
        self.optG = torch.optim.Adam(self.G.parameters(), lr=cfg.lr, betas=betas, weight_decay=weight_decay)
        self.optD = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d or cfg.lr, betas=betas, weight_decay=weight_decay)
        self.source = BatchSource(
            images, self.batch_size, cfg.seed, self.device,
            rank=self.dist.rank, world_size=self.dist.world_size, channels_last=channels_last,
        )
        self.total_steps = cfg.epochs * self.source.steps_per_epoch
        self.step = 0
        self.fixed_z = sample_z(64, self.model_cfg, seed=cfg.seed, device=self.device)
        self._prepare_output(resume)
        self.G_run, self.D_run = self._wrap(self.G), self._wrap(self.D)

    # ------------------------------------------------------------------ setup

    def _wrap(self, module: torch.nn.Module) -> torch.nn.Module:
        wrapped = module
        if self.dist.world_size > 1:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            wrapped = DistributedDataParallel(module, device_ids=ids)
        if self.cfg.compile:
            wrapped = cast(torch.nn.Module, torch.compile(wrapped))  # compiling a Module gives an OptimizedModule
        return wrapped

    def _prepare_output(self, resume: bool) -> None:
        latest = self.ckpt_dir / "latest.safetensors"
        if latest.exists() and not resume:
            raise RunExistsError(
                f"{self.out} already holds a run (checkpoints/latest.safetensors); pass --resume to "
                "continue it or choose another --out"
            )
        if resume and latest.exists():
            self._restore(latest)
        if self.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.out / "train_config.json", json.dumps(self.cfg.to_dict(), indent=2) + "\n")
            self._truncate_log(self.step)

    def _restore(self, path: Path) -> None:
        tensors, meta = read_checkpoint(path)
        stored = meta.get("train", {})
        for key in ("preset", "image_size", "batch_size", "seed", "data", "data_options", "nz", "ngf", "ndf"):
            if key in stored and stored[key] != getattr(self.cfg, key):
                raise ConfigError(
                    f"--resume: {key} is {getattr(self.cfg, key)!r} but the run in {self.out} used "
                    f"{stored[key]!r}; resume with the run's own settings (see train_config.json)"
                )
        used = meta.get("dataset", {}).get("num_images_used")
        if used is not None and used != self.dataset_info["num_images_used"]:
            raise ConfigError(
                f"--resume: the run trained on {used} images, this dataset has "
                f"{self.dataset_info['num_images_used']}; the data order would not continue"
            )
        for prefix, module in (("G", self.G), ("D", self.D)):
            state = {k[len(prefix) + 1 :]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
            module.load_state_dict(state)
        load_optimizer_state(self.optG, "optG", tensors, meta)
        load_optimizer_state(self.optD, "optD", tensors, meta)
        self.step = int(meta["step"])
        if self.is_main:
            log.info("resumed %s at step %d (epoch %.2f)", path, self.step, self.step / self.source.steps_per_epoch)

    # ------------------------------------------------------------------ logging

    @property
    def log_path(self) -> Path:
        return self.out / "log.csv"

    def _truncate_log(self, step: int) -> None:
        """Keep only log rows of steps before ``step`` (steps after a checkpoint are redone)."""
        rows: list[dict[str, str]] = []
        if self.log_path.exists():
            with open(self.log_path, newline="") as fh:
                rows = [r for r in csv.DictReader(fh) if int(r["step"]) < step]
        buf = [",".join(LOG_COLUMNS)] + [",".join(r[c] for c in LOG_COLUMNS) for r in rows]
        atomic_write_text(self.log_path, "\n".join(buf) + "\n")

    def _flush(self, pending: list[tuple[int, torch.Tensor]], log_file, tb, t0: float) -> list[dict[str, float]]:
        """Move buffered per-step stats to the host, log them, and stop on non-finite losses."""
        if not pending:
            return []
        stats = torch.stack([s for _, s in pending]).float().cpu().numpy()
        bad_rows = ~np.isfinite(stats[:, :2]).all(axis=1)
        diverged = all_reduce_flag(bool(bad_rows.any()), self.dist, self.device)
        rows = []
        spe = self.source.steps_per_epoch
        for (step, _), values in zip(pending, stats, strict=True):
            row = {"step": step, "epoch": step // spe + 1, **dict(zip(LOG_COLUMNS[2:7], map(float, values), strict=True))}
            row["seconds"] = round(time.time() - t0, 3)
            rows.append(row)
            if log_file is not None:
                log_file.write(",".join(_fmt(row[c]) for c in LOG_COLUMNS) + "\n")
            if tb is not None:
                for key in LOG_COLUMNS[2:7]:
                    tb.add_scalar(f"train/{key}", row[key], step)
        if log_file is not None:
            log_file.flush()
        pending.clear()
        if diverged:
            first = rows[int(np.argmax(bad_rows))] if bad_rows.any() else rows[-1]
            raise TrainingDiverged(
                f"non-finite loss at step {first['step']} (loss_d={first['loss_d']}, loss_g={first['loss_g']}); "
                f"training stopped. The last good checkpoint is kept in {self.ckpt_dir} "
                "(try a lower --lr, or --amp none)"
            )
        return rows

    # ------------------------------------------------------------------ checkpoints & samples

    def _meta(self) -> dict[str, Any]:
        spe = self.source.steps_per_epoch
        return {
            "train": self.cfg.to_dict(),
            "dataset": self.dataset_info,
            "seed": self.cfg.seed,
            "step": self.step,
            "epoch": self.step // spe,
            "epoch_fraction": self.step / spe,
            "steps_per_epoch": spe,
            "world_size": self.dist.world_size,
        }

    def save(self, name: str, with_optimizer: bool) -> Path | None:
        if not self.is_main:
            return None
        opts: dict[str, torch.optim.Optimizer] | None = {"optG": self.optG, "optD": self.optD} if with_optimizer else None
        return save_checkpoint(self.ckpt_dir / name, self.G, self.D, self.model_cfg, self._meta(), opts)

    def save_samples(self, epoch: int) -> Path | None:
        if not self.is_main:
            return None
        with eval_mode(self.G), torch.no_grad():
            images = to_uint8_image(self.G(self.fixed_z).float())
        return save_png(self.out / "samples" / f"epoch_{epoch:03d}.png", image_grid(images, nrow=8))

    # ------------------------------------------------------------------ the loop

    def noise_sigma(self, step: int) -> float:
        """Instance-noise std at ``step``: ``instance_noise`` at step 0, linearly down to 0 at the end."""
        if self.cfg.instance_noise <= 0:
            return 0.0
        return self.cfg.instance_noise * max(0.0, 1.0 - step / max(self.total_steps, 1))

    def lr_factor(self, step: int) -> float:
        """The learning rates' multiplier at ``step``: 1 (``constant``), or ``linear``: 1 at step 0, linearly
        down to 0 at the end of the run (a function of the step alone, so a resumed run is exact)."""
        if self.cfg.lr_schedule == "constant":
            return 1.0
        return max(0.0, 1.0 - step / max(self.total_steps, 1))

    def _set_lr(self, step: int) -> None:
        factor = self.lr_factor(step)
        for opt, base in ((self.optG, self.cfg.lr), (self.optD, self.cfg.lr_d or self.cfg.lr)):
            for group in opt.param_groups:
                group["lr"] = base * factor

    def _train_step(self, real: torch.Tensor, z: torch.Tensor, noise: tuple[torch.Tensor, torch.Tensor] | None = None
                    ) -> torch.Tensor:
        """One D update and one G update (non-saturating G loss); returns 5 stats (on device).

        ``noise``: (real_noise, fake_noise), each shaped like ``real`` (B, C, H, W), added to what D
        sees (instance noise, already scaled); the G step sees the same fake noise. Reals are
        labelled ``cfg.real_label`` in D's loss (one-sided label smoothing when < 1)."""
        autocast = torch.autocast(self.device.type, dtype=torch.bfloat16) if self.use_amp else nullcontext()
        self.optD.zero_grad(set_to_none=True)
        with autocast:
            fake = self.G_run(z)
            d_real_in, d_fake_in = (real, fake) if noise is None else (real + noise[0], fake + noise[1])
            out_real = self.D_run(d_real_in)
            out_fake = self.D_run(d_fake_in.detach())
            real_target = torch.full_like(out_real, self.cfg.real_label, dtype=torch.float32)
            loss_d = F.binary_cross_entropy_with_logits(out_real.float(), real_target) + \
                F.binary_cross_entropy_with_logits(out_fake.float(), torch.zeros_like(out_fake, dtype=torch.float32))
        loss_d.backward()
        self.optD.step()

        self.optG.zero_grad(set_to_none=True)
        freeze = self.dist.world_size == 1  # DDP expects every parameter to get a gradient
        if freeze:
            self.D.requires_grad_(False)
        with autocast:
            out_gen = self.D_run(d_fake_in)
            loss_g = F.binary_cross_entropy_with_logits(out_gen.float(), torch.ones_like(out_gen, dtype=torch.float32))
        loss_g.backward()
        if freeze:
            self.D.requires_grad_(True)
        self.optG.step()
        with torch.no_grad():
            return torch.stack([
                loss_d.detach().float(), loss_g.detach().float(),
                torch.sigmoid(out_real.float()).mean(), torch.sigmoid(out_fake.float()).mean(),
                torch.sigmoid(out_gen.float()).mean(),
            ])

    def run(self) -> TrainResult:
        cfg, spe = self.cfg, self.source.steps_per_epoch
        # max_steps limits THIS invocation: a resumed run trains up to max_steps more
        stop = self.total_steps if cfg.max_steps is None else min(self.total_steps, self.step + cfg.max_steps)
        self.G.train(), self.D.train()
        log_file = open(self.log_path, "a", newline="") if self.is_main else None
        tb = _tensorboard(self.out) if (self.is_main and cfg.tensorboard) else None
        bar = tqdm(total=stop, initial=self.step, unit="step", desc=f"train {cfg.data}",
                   disable=not (cfg.progress and self.is_main), dynamic_ncols=True, mininterval=1.0)
        pending: list[tuple[int, torch.Tensor]] = []
        history: list[dict[str, float]] = []
        t0 = last_ckpt_time = time.time()
        start_step = self.step
        z_gen = torch.Generator(device=self.device)
        perm: torch.Tensor | None = None
        perm_epoch = -1
        try:
            while self.step < stop:
                epoch, index = divmod(self.step, spe)
                if perm is None or epoch != perm_epoch:
                    perm, perm_epoch = self.source.permutation(epoch), epoch
                real = self.source.batch(perm, index)
                z_gen.manual_seed(_mix(cfg.seed, self.step, self.dist.rank))
                z = sample_z_torch(self.source.local_batch, self.model_cfg, z_gen, self.device)
                sigma = self.noise_sigma(self.step)
                noise: tuple[torch.Tensor, torch.Tensor] | None = None
                if sigma > 0:
                    real_noise, fake_noise = (
                        sigma * torch.randn(real.shape, generator=z_gen, device=self.device, dtype=real.dtype)
                        .to(memory_format=torch.channels_last if self.channels_last else torch.contiguous_format)
                        for _ in range(2))
                    noise = (real_noise, fake_noise)
                if cfg.lr_schedule != "constant":
                    self._set_lr(self.step)
                pending.append((self.step, self._train_step(real, z, noise)))
                self.step += 1
                bar.update(1)
                epoch_done = self.step % spe == 0
                time_due = cfg.checkpoint_minutes > 0 and time.time() - last_ckpt_time > 60 * cfg.checkpoint_minutes
                ckpt_due = epoch_done or time_due or (cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0)
                if self.dist.world_size > 1:  # ranks' clocks differ: agree on time-based saves
                    ckpt_due = all_reduce_flag(bool(ckpt_due), self.dist, self.device)
                if len(pending) >= cfg.log_every or ckpt_due or self.step == stop:
                    rows = self._flush(pending, log_file, tb, t0)
                    history.extend(rows)
                    if rows:
                        bar.set_postfix(loss_d=f"{rows[-1]['loss_d']:.3f}", loss_g=f"{rows[-1]['loss_g']:.3f}", refresh=False)
                if epoch_done:
                    done_epoch = self.step // spe
                    self.save_samples(done_epoch)
                    if done_epoch in cfg.keep_epochs:
                        self.save(f"epoch_{done_epoch:03d}", with_optimizer=False)
                if ckpt_due or self.step == stop:
                    self.save("latest", with_optimizer=True)
                    last_ckpt_time = time.time()
        finally:
            bar.close()
            if log_file is not None:
                log_file.close()
            if tb is not None:
                tb.close()
        final = self.save("final", with_optimizer=False) if self.step == self.total_steps else None
        elapsed = max(time.time() - t0, 1e-9)
        ips = (self.step - start_step) * self.batch_size / elapsed
        return TrainResult(self.out, self.step, self.step // spe, final, ips, history,
                           steps_this_run=self.step - start_step, total_steps=self.total_steps)


def _fmt(value: float | int) -> str:
    if isinstance(value, int):
        return str(value)
    return "nan" if math.isnan(value) else f"{value:.6g}"


def _tensorboard(out: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional
        return None
    return SummaryWriter(log_dir=str(out / "tensorboard"))
