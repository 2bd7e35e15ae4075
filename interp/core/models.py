"""The DCGAN generator and discriminator, built from a :class:`~interp.core.config.ModelConfig`.

Every layer has a stable dotted name (``named_modules()``), so analyses can ask for a layer by
name or by role:

Generator (64×64)::

    project  (linear|conv, bn, act[, reshape])  z (N, nz)       -> (N, 8·ngf, 4, 4)
    up1      (conv, bn, act)                                    -> (N, 4·ngf, 8, 8)
    up2      (conv, bn, act)                                    -> (N, 2·ngf, 16, 16)
    up3      (conv, bn, act)   <- "penultimate"                 -> (N, ngf, 32, 32)
    out      (conv, act=tanh)                                   -> (N, nc, 64, 64)

Discriminator (64×64)::

    conv1    (conv, act)                                        -> (N, ndf, 32, 32)
    conv2..4 (conv, bn, act)   conv4 <- "last_conv"             -> (N, 8·ndf, 4, 4)
    head     (linear|conv)                                      -> logits (N,)

The discriminator returns LOGITS; ``D.probability(x)`` applies the sigmoid.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from interp.core.config import ModelConfig

LEAK = 0.2


class LayerNotFoundError(KeyError):
    """A layer name that does not exist in a model; the message lists the names that do."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


def _deconv(cfg: ModelConfig, c_in: int, c_out: int) -> nn.ConvTranspose2d:
    if cfg.kernel_size == 5:
        return nn.ConvTranspose2d(c_in, c_out, 5, stride=2, padding=2, output_padding=1, bias=False)
    return nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1, bias=False)


def _conv(cfg: ModelConfig, c_in: int, c_out: int) -> nn.Conv2d:
    if cfg.kernel_size == 5:
        return nn.Conv2d(c_in, c_out, 5, stride=2, padding=2, bias=False)
    return nn.Conv2d(c_in, c_out, 4, stride=2, padding=1, bias=False)


def _bn2d(cfg: ModelConfig, c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=cfg.bn_eps, track_running_stats=not cfg.bn_batch_stats)


class NamedLayers(nn.Module):
    """Mixin: look layers up by dotted name or by role alias, with a helpful error."""

    def layer_aliases(self) -> dict[str, str]:
        return {}

    def layer_names(self) -> list[str]:
        """All dotted module names (excluding the root)."""
        return [name for name, _ in self.named_modules() if name]

    def resolve_layer_name(self, name: str) -> str:
        """Map an alias (``"penultimate"``) or a dotted name to the dotted name; raise if absent."""
        aliases = self.layer_aliases()
        dotted = aliases.get(name, name)
        if dotted not in dict(self.named_modules()) or not dotted:
            raise LayerNotFoundError(
                f"{type(self).__name__} has no layer {name!r}. Aliases: {sorted(aliases)}; "
                f"layers: {self.layer_names()}"
            )
        return dotted

    def get_layer(self, name: str) -> nn.Module:
        """The module called ``name`` (dotted name or alias)."""
        return dict(self.named_modules())[self.resolve_layer_name(name)]


class Generator(NamedLayers):
    """z (N, nz) -> images (N, nc, S, S) in [-1, 1]."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        widths = [cfg.ngf * 2 ** (cfg.n_up - 1 - i) for i in range(cfg.n_up)]  # 4x4 ... S/2
        top = widths[0]
        if cfg.projection == "dense":
            self.project = nn.Sequential(
                OrderedDict(
                    linear=nn.Linear(cfg.nz, top * 16, bias=False),
                    bn=nn.BatchNorm1d(top * 16, eps=cfg.bn_eps, track_running_stats=not cfg.bn_batch_stats),
                    act=nn.ReLU(),
                    reshape=nn.Unflatten(1, (top, 4, 4)),
                )
            )
        else:
            self.project = nn.Sequential(
                OrderedDict(
                    reshape=nn.Unflatten(1, (cfg.nz, 1, 1)),
                    conv=nn.ConvTranspose2d(cfg.nz, top, 4, 1, 0, bias=False),
                    bn=_bn2d(cfg, top),
                    act=nn.ReLU(),
                )
            )
        for i in range(1, cfg.n_up):
            block = nn.Sequential(
                OrderedDict(
                    conv=_deconv(cfg, widths[i - 1], widths[i]), bn=_bn2d(cfg, widths[i]), act=nn.ReLU()
                )
            )
            self.add_module(f"up{i}", block)
        self.out = nn.Sequential(OrderedDict(conv=_deconv(cfg, widths[-1], cfg.nc), act=nn.Tanh()))
        self.apply(init_weights)

    @property
    def block_names(self) -> list[str]:
        return ["project"] + [f"up{i}" for i in range(1, self.cfg.n_up)] + ["out"]

    def layer_aliases(self) -> dict[str, str]:
        last_hidden = self.block_names[-2]
        return {
            "penultimate": f"{last_hidden}.act",
            "penultimate_conv": f"{last_hidden}.conv",
            "output": "out.act",
        }

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() == 4:  # accept (N, nz, 1, 1) as the PyTorch example does
            z = z.flatten(1)
        if z.dim() != 2 or z.shape[1] != self.cfg.nz:
            raise ValueError(f"Generator expects z of shape (N, {self.cfg.nz}), got {tuple(z.shape)}")
        h = z
        for name in self.block_names:
            h = getattr(self, name)(h)
        return h


class Discriminator(NamedLayers):
    """images (N, nc, S, S) in [-1, 1] -> logits (N,)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        widths = [cfg.ndf * 2**i for i in range(cfg.n_up)]  # S/2 ... 4x4
        self.conv1 = nn.Sequential(
            OrderedDict(conv=_conv(cfg, cfg.nc, widths[0]), act=nn.LeakyReLU(LEAK))
        )
        for i in range(1, cfg.n_up):
            block = nn.Sequential(
                OrderedDict(
                    conv=_conv(cfg, widths[i - 1], widths[i]),
                    bn=_bn2d(cfg, widths[i]),
                    act=nn.LeakyReLU(LEAK),
                )
            )
            self.add_module(f"conv{i + 1}", block)
        if cfg.d_head == "dense":
            self.head = nn.Sequential(
                OrderedDict(flatten=nn.Flatten(), linear=nn.Linear(widths[-1] * 16, 1, bias=False))
            )
        else:
            self.head = nn.Sequential(
                OrderedDict(conv=nn.Conv2d(widths[-1], 1, 4, 1, 0, bias=False), flatten=nn.Flatten())
            )
        self.apply(init_weights)

    @property
    def block_names(self) -> list[str]:
        return [f"conv{i}" for i in range(1, self.cfg.n_up + 1)] + ["head"]

    def layer_aliases(self) -> dict[str, str]:
        return {"last_conv": f"conv{self.cfg.n_up}.act", "first_conv": "conv1.act"}

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Outputs of every conv block, [(N, ndf, S/2, S/2), ..., (N, 8·ndf, 4, 4)]."""
        feats = []
        h = x
        for name in self.block_names[:-1]:
            h = getattr(self, name)(h)
            feats.append(h)
        return feats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        expected = (self.cfg.nc, self.cfg.image_size, self.cfg.image_size)
        if x.dim() != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f"Discriminator expects images (N, {expected}), got {tuple(x.shape)}")
        return self.head(self.features(x)[-1]).flatten()

    def probability(self, x: torch.Tensor) -> torch.Tensor:
        """D(x) in (0, 1), shape (N,)."""
        return torch.sigmoid(self(x))


def init_weights(module: nn.Module) -> None:
    """DCGAN init: conv/linear weights ~ N(0, 0.02); batch-norm gains ~ N(1, 0.02), biases 0."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def build_gan(cfg: ModelConfig) -> tuple[Generator, Discriminator]:
    """A freshly initialised (G, D) pair for ``cfg``."""
    return Generator(cfg), Discriminator(cfg)
