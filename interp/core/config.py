"""Model configuration: one DCGAN definition, two published presets.

``paper``    — the authors' Theano code: 5×5 kernels, 128 filters, a dense projection of z,
               z ~ U[-1, 1], batch 128.
``examples`` — the PyTorch example: 4×4 kernels, 64 filters, z as a 1×1 map into a transposed
               convolution, z ~ N(0, 1), batch 64.

Both exist at 32×32 (one fewer layer, for CIFAR-10 / SVHN) and 64×64; any power of two from 16
to 256 works.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Literal

Projection = Literal["dense", "conv"]
ZDistribution = Literal["uniform", "normal"]
DHead = Literal["dense", "conv"]

PRESETS: dict[str, dict[str, Any]] = {
    "paper": dict(
        kernel_size=5, ngf=128, ndf=128, projection="dense", z_distribution="uniform", d_head="dense"
    ),
    "examples": dict(
        kernel_size=4, ngf=64, ndf=64, projection="conv", z_distribution="normal", d_head="conv"
    ),
}

#: Training defaults that belong to a preset (batch size, weight decay).
PRESET_TRAINING: dict[str, dict[str, Any]] = {
    "paper": dict(batch_size=128, weight_decay=1e-5),
    "examples": dict(batch_size=64, weight_decay=0.0),
}


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the field."""


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of a DCGAN generator/discriminator pair.

    Attributes:
        preset: ``"paper"``, ``"examples"`` or ``"custom"`` (a record of where the values came from).
        image_size: output side length in pixels, a power of two in [16, 256].
        nz: latent dimension.
        ngf, ndf: base widths of G and D (the widest layer has ``width * 2**(n_layers-1)``).
        nc: image channels.
        kernel_size: 4 (stride 2, padding 1) or 5 (stride 2, padding 2, output_padding 1).
        projection: how G maps z to its first 4×4 map: ``dense`` (matrix multiply) or ``conv``
            (4×4 transposed convolution of a 1×1 map).
        z_distribution: ``uniform`` on [-1, 1] or standard ``normal``.
        d_head: D's final layer on the 4×4 map: ``dense`` (flatten + linear) or ``conv`` (4×4 conv).
        bn_eps: batch-norm epsilon.
        bn_batch_stats: if True, batch norm always uses batch statistics (no running averages),
            as in the authors' Theano code.
    """

    preset: str = "examples"
    image_size: int = 64
    nz: int = 100
    ngf: int = 64
    ndf: int = 64
    nc: int = 3
    kernel_size: int = 4
    projection: Projection = "conv"
    z_distribution: ZDistribution = "normal"
    d_head: DHead = "conv"
    bn_eps: float = 1e-5
    bn_batch_stats: bool = False

    def __post_init__(self) -> None:
        size = self.image_size
        if not isinstance(size, int) or size < 16 or size > 256 or size & (size - 1):
            raise ConfigError(f"image_size must be a power of two in [16, 256], got {size!r}")
        for name in ("nz", "ngf", "ndf", "nc"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if self.kernel_size not in (4, 5):
            raise ConfigError(f"kernel_size must be 4 or 5, got {self.kernel_size!r}")
        _check_choice("projection", self.projection, ("dense", "conv"))
        _check_choice("z_distribution", self.z_distribution, ("uniform", "normal"))
        _check_choice("d_head", self.d_head, ("dense", "conv"))

    @property
    def n_up(self) -> int:
        """Number of ×2 upsampling layers in G (= downsampling layers in D): log2(size / 4)."""
        return int(math.log2(self.image_size // 4))

    @classmethod
    def from_preset(cls, preset: str, image_size: int = 64, **overrides: Any) -> ModelConfig:
        """The named preset at ``image_size``, with any field overridden (e.g. ``ngf=32``)."""
        if preset not in PRESETS:
            raise ConfigError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
        values = dict(PRESETS[preset], preset=preset, image_size=image_size)
        unknown = set(overrides) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ConfigError(f"unknown ModelConfig field(s): {sorted(unknown)}")
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: object, source: str = "config") -> ModelConfig:
        """Build from a JSON dict (anything else raises ConfigError); unknown or missing-required keys raise
        ConfigError naming them."""
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: model config must be a JSON object, got {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ConfigError(f"{source}: unknown model config field(s) {sorted(unknown)}")
        try:
            return cls(**data)
        except TypeError as exc:  # wrong types that dataclass init itself rejects
            raise ConfigError(f"{source}: {exc}") from exc


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {choices}, got {value!r}")
