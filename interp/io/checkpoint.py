"""interp checkpoints: weights in safetensors, everything else in JSON; no pickle anywhere.

One checkpoint is ONE file, ``NAME.safetensors``, written atomically. Its tensors are
``G.<state-dict key>``, ``D.<state-dict key>`` and, for resumable training checkpoints,
``optG.<param index>.<exp_avg|exp_avg_sq|step>`` (same for ``optD``). Its safetensors metadata
holds the JSON description under the key ``"interp"`` (model config, training config, dataset,
seed, epoch, step, library versions, git revision); the same JSON is written beside it as
``NAME.json`` for people to read (the loader trusts the embedded copy, which cannot disagree
with the weights).

:func:`load_gan` is the single entry point for analyses: it takes one of our checkpoints, a run
directory, or a foreign checkpoint (PyTorch-example ``.pth``, the authors' Theano ``.npy`` files)
and returns ready, eval-mode G and D.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import safetensors
import torch

from interp import __version__
from interp.core.config import ConfigError, ModelConfig
from interp.core.models import Discriminator, Generator
from interp.io.tensorfile import read_tensor_file, write_tensor_file
from interp.io.zoo import resolve_model_name, shipped_models

FORMAT = "interp-dcgan"
FORMAT_VERSION = 1
META_KEY = "interp"
SUFFIX = ".safetensors"


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names the file and what is wrong."""


@dataclass
class LoadedGAN:
    """A loaded generator/discriminator pair (either may be None for a foreign half-checkpoint)."""

    G: Generator | None
    D: Discriminator | None
    config: ModelConfig
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def generator(self) -> Generator:
        """``G``, or a CheckpointError when this checkpoint holds no generator (a foreign D-only file)."""
        if self.G is None:
            raise CheckpointError(f"{self.path or 'this checkpoint'} holds no generator (e.g. a discriminator-only foreign checkpoint)")
        return self.G

    @property
    def discriminator(self) -> Discriminator:
        """``D``, or a CheckpointError when this checkpoint holds no discriminator (a foreign G-only file)."""
        if self.D is None:
            raise CheckpointError(f"{self.path or 'this checkpoint'} holds no discriminator (e.g. a generator-only foreign checkpoint)")
        return self.D


#: formats whose z law is inferred from the architecture (the file does not record it)
FOREIGN_FORMATS = ("pytorch_example", "theano")


def with_z_distribution(gan: LoadedGAN, z: str) -> LoadedGAN:
    """``gan`` sampling z from ``z`` (``"uniform"`` or ``"normal"``) — for foreign checkpoints, whose
    z law interp can only guess from the architecture (the DCGAN authors' SVHN model has the
    ``paper`` architecture but Gaussian z). An interp checkpoint records its z law: a different
    ``z`` is then a CheckpointError."""
    if z not in ("uniform", "normal"):
        raise CheckpointError(f"--z must be 'uniform' or 'normal', got {z!r}")
    if z == gan.config.z_distribution:
        return gan
    if gan.meta.get("format") not in FOREIGN_FORMATS:
        raise CheckpointError(f"--z {z}: {gan.path} was trained with {gan.config.z_distribution} z (its metadata "
                              "says so); --z is only for foreign checkpoints that do not record it")
    cfg = dataclasses.replace(gan.config, z_distribution="uniform" if z == "uniform" else "normal")
    for model in (gan.G, gan.D):
        if model is not None:
            model.cfg = cfg
    meta = {**gan.meta, "z_distribution_given": z}
    return LoadedGAN(gan.G, gan.D, cfg, meta, gan.path)


# --------------------------------------------------------------------------- writing


def hardware_info() -> dict[str, Any]:
    """The machine: CPU model and logical core count, torch threads, and the CUDA device if one is visible."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info: dict[str, Any] = {"cpu": cpu, "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads()}
    if torch.cuda.is_available():
        info["cuda_device"] = torch.cuda.get_device_name(0)
    return info


def environment_info() -> dict[str, Any]:
    """Library versions, the machine (:func:`hardware_info`) and the git revision of the working tree
    (None outside git)."""
    return {
        "hardware": hardware_info(),
        "interp": __version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "safetensors": getattr(safetensors, "__version__", "unknown"),
        "python": platform.python_version(),
        "git_revision": git_revision(),
    }


def git_revision() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _optimizer_tensors(prefix: str, opt: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    tensors = {}
    for index, state in opt.state_dict()["state"].items():
        for key, value in state.items():
            value = value if torch.is_tensor(value) else torch.tensor(value)
            tensors[f"{prefix}.{index}.{key}"] = value
    return tensors


def save_checkpoint(
    path: str | Path,
    G: torch.nn.Module,
    D: torch.nn.Module,
    config: ModelConfig,
    meta: dict[str, Any] | None = None,
    optimizers: dict[str, torch.optim.Optimizer] | None = None,
) -> Path:
    """Write ``path`` (.safetensors) and its ``.json`` sidecar atomically; return the path.

    ``meta`` is any JSON-serialisable training state (epoch, step, train config, dataset ...).
    ``optimizers`` (``{"optG": ..., "optD": ...}``) makes the checkpoint resumable.
    """
    path = Path(path)
    if path.suffix != SUFFIX:
        path = path.with_suffix(SUFFIX)
    tensors: dict[str, torch.Tensor] = {}
    for prefix, module in (("G", G), ("D", D)):
        for key, value in module.state_dict().items():
            tensors[f"{prefix}.{key}"] = value
    for prefix, opt in (optimizers or {}).items():
        tensors.update(_optimizer_tensors(prefix, opt))
        meta = dict(meta or {})
        meta.setdefault("optimizers", {})[prefix] = {
            "type": type(opt).__name__,
            "param_groups": [
                {k: v for k, v in g.items() if k != "params"} for g in opt.state_dict()["param_groups"]
            ],
        }
    full_meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": config.to_dict(),
        "environment": environment_info(),
        **(meta or {}),
    }
    return write_tensor_file(path, tensors, META_KEY, full_meta)


# --------------------------------------------------------------------------- reading


def read_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(tensors, meta) of one of our checkpoints, with errors that name the file."""
    path = Path(path)
    tensors, meta = read_tensor_file(path, META_KEY, CheckpointError, "checkpoint")
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: metadata format is {meta.get('format')!r}, expected {FORMAT!r}")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format_version {meta['format_version']} is newer than this interp "
            f"understands ({FORMAT_VERSION}); upgrade interp"
        )
    return tensors, meta


def _load_module_state(module: torch.nn.Module, prefix: str, tensors: dict[str, torch.Tensor], path: Path) -> None:
    state = {k[len(prefix) + 1 :]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{path}: {prefix} weights do not match the configured architecture; "
            f"missing {missing[:5]}{'...' if len(missing) > 5 else ''}, "
            f"unexpected {unexpected[:5]}{'...' if len(unexpected) > 5 else ''}"
        )
    for key, value in state.items():
        if value.shape != expected[key].shape:
            raise CheckpointError(
                f"{path}: {prefix}.{key} has shape {tuple(value.shape)}, "
                f"the config expects {tuple(expected[key].shape)}"
            )
    module.load_state_dict(state)


def load_optimizer_state(opt: torch.optim.Optimizer, prefix: str, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
    """Restore an optimizer saved by :func:`save_checkpoint` (in place)."""
    template = opt.state_dict()
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith(prefix + "."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    groups = meta.get("optimizers", {}).get(prefix, {}).get("param_groups")
    param_groups = template["param_groups"]
    if groups is not None:
        if len(groups) != len(param_groups):
            raise CheckpointError(f"{prefix}: checkpoint has {len(groups)} param groups, optimizer has {len(param_groups)}")
        param_groups = [dict(g, params=t["params"]) for g, t in zip(groups, param_groups, strict=True)]
    opt.load_state_dict({"state": state, "param_groups": param_groups})


def resolve_checkpoint_path(path: str | Path) -> Path:
    """A checkpoint file from a file, a sidecar ``.json`` or a run directory (final > latest)."""
    path = Path(path).expanduser()
    if path.is_dir():
        for candidate in ("checkpoints/final", "checkpoints/latest", "final", "latest"):
            file = path / (candidate + SUFFIX)
            if file.is_file():
                return file
        raise CheckpointError(f"{path}: directory holds no checkpoints/final{SUFFIX} or checkpoints/latest{SUFFIX}")
    if path.suffix == ".json" and path.with_suffix(SUFFIX).is_file():
        return path.with_suffix(SUFFIX)
    if not path.exists():
        shipped = shipped_models()
        hint = f" (shipped model names: {', '.join(shipped)})" if shipped and len(path.parts) == 1 else ""
        raise CheckpointError(f"{path}: no such file or directory{hint}")
    return path


def load_gan(path: str | Path, device: torch.device | str = "cpu") -> LoadedGAN:
    """Ready, eval-mode G and D from any checkpoint interp understands.

    Accepts: the name of a shipped model (``"rooms"``, ``"faces"``: see :mod:`interp.io.zoo`); an
    interp ``.safetensors`` checkpoint (or its ``.json`` sidecar, or a run directory);
    a PyTorch-example ``netG_epoch_N.pth`` / ``netD_epoch_N.pth`` (loaded with
    ``weights_only=True``); the DCGAN authors' Theano ``*_gen_params.jl_NN.npy`` files.
    """
    from interp.io import foreign  # foreign formats are optional extras of the loader

    raw = resolve_model_name(path)
    kind = foreign.detect_format(raw) if raw.exists() else None
    if kind == "pytorch_example":
        G, D, meta = foreign.load_pytorch_example(raw)
    elif kind == "theano":
        G, D, meta = foreign.load_theano(raw)
    else:
        file = resolve_checkpoint_path(raw)
        tensors, meta = read_checkpoint(file)
        try:
            config = ModelConfig.from_dict(meta.get("model"), source=f"{file}: model")
        except ConfigError as exc:
            raise CheckpointError(str(exc)) from exc
        parts = {p: any(k.startswith(p + ".") for k in tensors) for p in ("G", "D")}
        if not any(parts.values()):
            raise CheckpointError(f"{file}: the checkpoint holds neither G.* nor D.* weights")
        G_ = Generator(config) if parts["G"] else None  # a zoo epoch checkpoint holds G only
        D_ = Discriminator(config) if parts["D"] else None
        for prefix, module in (("G", G_), ("D", D_)):
            if module is not None:
                _load_module_state(module, prefix, tensors, file)
                module.to(device).eval()
        return LoadedGAN(G_, D_, config, meta, file)
    model = G if G is not None else D
    if model is None:
        raise CheckpointError(f"{raw}: the {kind} checkpoint holds neither a generator nor a discriminator")
    G = G.to(device).eval() if G is not None else None
    D = D.to(device).eval() if D is not None else None
    return LoadedGAN(G, D, model.cfg, meta, raw)
