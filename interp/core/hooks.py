"""Recording and ablating layer outputs with forward hooks that never leak.

Two context managers, usable on our :class:`~interp.core.models.Generator` /
:class:`~interp.core.models.Discriminator` and on any plain ``nn.Module``:

* :func:`record` — ``with record(G, ["up2.act", "penultimate"]) as rec: G(z)`` fills ``rec`` with
  each layer's output (detached; ``keep_grad=True`` keeps the graph and calls ``retain_grad``).
* :func:`ablate` — replaces a layer's output ``x`` (N, C, H, W) by ``x * (1 - a) + r * a``
  (the channel-ablation rule of davidbau/rewriting's ``nethook``), ``a`` a per-channel (C,) or
  per-channel-per-location (C, H, W) mask in [0, 1], ``r`` zero, the per-channel mean, or a
  given tensor broadcastable to (C, H, W).

Layers are named by dotted ``named_modules()`` name or by a model alias (``"penultimate"``,
``"last_conv"``) — the model's ``resolve_layer_name`` is used when it has one.

**Ordering.** Ablation hooks are registered with ``prepend=True``, so they run before every other
forward hook on that module: a :func:`record` of the same layer sees the **post-ablation** output,
whichever context was entered first.  (Two ablations of one layer: the one entered last is applied
first.)

**Cleanup.** Hooks are registered inside ``try`` and removed in ``finally`` (as captum's
``_forward_layer_distributed_eval`` does), so none remain after the block, also when it raises.
A layer called several times in one forward (a shared module) is recorded once per call; the
recording keeps the last call's output.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import torch
from torch import nn

from interp.core.models import LayerNotFoundError  # plain modules get the same error class
from interp.core.modes import eval_mode

__all__ = [
    "LayerNotFoundError",
    "Recording",
    "ablate",
    "channel_means",
    "eval_mode",
    "penultimate_features",
    "record",
    "resolve_layer",
]

Replacement = str | torch.Tensor


# --------------------------------------------------------------------------- layer lookup


def resolve_layer(model: nn.Module, name: str) -> tuple[str, nn.Module]:
    """(dotted name, module) for ``name`` (a dotted name or, on our models, an alias).

    Raises :class:`LayerNotFoundError` listing the available names.
    """
    modules = dict(model.named_modules())
    resolver = getattr(model, "resolve_layer_name", None)
    if callable(resolver):
        dotted = resolver(name)  # raises LayerNotFoundError with aliases and names
        return dotted, modules[dotted]
    if not isinstance(name, str) or not name or name not in modules:
        names = [n for n in modules if n]
        raise LayerNotFoundError(f"{type(model).__name__} has no layer {name!r}. Layers: {names}")
    return name, modules[name]


# --------------------------------------------------------------------------- recording


class Recording(dict):
    """Dict ``{layer name as requested: latest output tensor}``, filled during forwards.

    ``dotted`` maps each requested name to its resolved dotted module name.  ``calls`` counts the
    forward calls seen per layer.
    """

    def __init__(self) -> None:
        super().__init__()
        self.dotted: dict[str, str] = {}
        self.calls: dict[str, int] = {}


def _first_tensor(out: Any) -> torch.Tensor:
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
        return out[0]
    raise TypeError(f"layer output is {type(out).__name__}, expected a tensor")


@contextlib.contextmanager
def record(
    model: nn.Module, layers: Sequence[str] | str, *, keep_grad: bool = False
) -> Iterator[Recording]:
    """Record the outputs of ``layers`` on every forward inside the block.

    Outputs are stored detached unless ``keep_grad=True`` (then the graph-attached tensor is
    stored and, if it requires grad, ``retain_grad()`` is called so ``.grad`` is filled by a
    backward pass).  An ablation of the same layer is already applied to what is recorded.
    """
    if isinstance(layers, str):
        layers = [layers]
    resolved = [(name, *resolve_layer(model, name)) for name in layers]  # errors before hooking
    rec = Recording()
    handles = []

    def make_hook(key: str):
        def hook(module: nn.Module, inputs: Any, output: Any) -> None:
            t = _first_tensor(output)
            if keep_grad:
                if t.requires_grad:
                    t.retain_grad()
                rec[key] = t
            else:
                rec[key] = t.detach()
            rec.calls[key] = rec.calls.get(key, 0) + 1

        return hook

    try:
        for name, dotted, module in resolved:
            rec.dotted[name] = dotted
            handles.append(module.register_forward_hook(make_hook(name)))
        yield rec
    finally:
        for h in handles:
            h.remove()


# --------------------------------------------------------------------------- ablation


def _channel_mask(channels: Sequence[int] | torch.Tensor) -> list[int]:
    if isinstance(channels, torch.Tensor):
        if channels.dtype == torch.bool:
            raise TypeError("pass a boolean channel selection as mask=, not channels=")
        if channels.dim() > 1:
            raise ValueError(f"channels must be a 1-D list of indices, got shape {tuple(channels.shape)}")
        channels = channels.tolist()
    elif isinstance(channels, int):
        channels = [channels]
    out = []
    for c in channels:
        if isinstance(c, bool):
            raise TypeError(f"channel indices must be integers, got {c!r}")
        if not isinstance(c, int):
            try:
                ci = int(c)
            except (TypeError, ValueError):
                raise TypeError(f"channel indices must be integers, got {c!r}") from None
            if ci != c:
                raise TypeError(f"channel indices must be integers, got {c!r}")
            c = ci
        if c < 0:
            raise IndexError(f"channel index {c} is negative; channels are 0..C-1")
        out.append(c)
    return out


def _check_mask(mask: torch.Tensor) -> torch.Tensor:
    if not isinstance(mask, torch.Tensor):
        mask = torch.as_tensor(mask)
    if mask.dim() not in (1, 3):
        raise ValueError(
            f"ablation mask must have shape (C,) or (C, H, W), got {tuple(mask.shape)}"
        )
    m = mask.float() if mask.dtype == torch.bool else mask
    if not torch.is_floating_point(m):
        m = m.float()
    if m.numel() and (torch.isnan(m).any() or m.min() < 0 or m.max() > 1):
        raise ValueError("ablation mask values must lie in [0, 1]")
    return m


@contextlib.contextmanager
def ablate(
    model: nn.Module,
    layer: str,
    channels: Sequence[int] | torch.Tensor | None = None,
    *,
    mask: torch.Tensor | None = None,
    replacement: Replacement = "zero",
    means: torch.Tensor | None = None,
) -> Iterator[nn.Module]:
    """Inside the block, ``layer``'s output ``x`` is replaced by ``x * (1 - a) + r * a``.

    Args:
        channels: channel indices to ablate fully (``a = 1`` there, 0 elsewhere).
        mask: instead of ``channels``, a (C,) or (C, H, W) mask in [0, 1] (bool allowed).
            Exactly one of ``channels`` / ``mask`` must be given.
        replacement: ``"zero"``; ``"mean"`` (requires ``means`` (C,), e.g. from
            :func:`channel_means`); or a tensor broadcastable to (C, H, W) — a 1-D tensor is
            taken as one value per channel (C,).

    Shapes and channel indices are checked here when possible and otherwise at the first
    forward (against the actual output), raising ``ValueError`` / ``IndexError``.
    """
    _, module = resolve_layer(model, layer)
    if (channels is None) == (mask is None):
        raise ValueError("ablate needs exactly one of channels= or mask=")
    chan_list = _channel_mask(channels) if channels is not None else None
    mask_t = _check_mask(mask) if mask is not None else None

    if isinstance(replacement, str):
        if replacement not in ("zero", "mean"):
            raise ValueError(f"replacement must be 'zero', 'mean' or a tensor, got {replacement!r}")
        if replacement == "mean":
            if means is None:
                raise ValueError(
                    "replacement='mean' needs means= (a (C,) tensor); compute it with "
                    "channel_means(model, layer, z_batches)"
                )
            means = torch.as_tensor(means)
            if means.dim() != 1:
                raise ValueError(f"means must have shape (C,), got {tuple(means.shape)}")
            r_base: torch.Tensor | None = means.reshape(-1, 1, 1)
        else:
            if means is not None:
                raise ValueError("means= is only used with replacement='mean'")
            r_base = None
    elif isinstance(replacement, torch.Tensor):
        if means is not None:
            raise ValueError("means= is only used with replacement='mean'")
        if replacement.dim() == 1:  # a (C,) tensor means one value per channel
            r_base = replacement.reshape(-1, 1, 1)
            replacement = "per-channel"
        else:
            r_base = replacement
    else:
        raise TypeError(f"replacement must be 'zero', 'mean' or a tensor, got {type(replacement).__name__}")

    def hook(mod: nn.Module, inputs: Any, output: Any) -> Any:
        x = _first_tensor(output)
        y = _ablated(x)
        if isinstance(output, (tuple, list)):  # keep any further outputs of the module
            return type(output)([y, *output[1:]])
        return y

    def _ablated(x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 2:
            raise ValueError(f"cannot ablate layer {layer!r}: output shape {tuple(x.shape)} has no channels")
        per_sample = tuple(x.shape[1:])
        C = per_sample[0]
        if chan_list is not None:
            bad = [c for c in chan_list if c >= C]
            if bad:
                raise IndexError(
                    f"channel index(es) {bad} out of range for layer {layer!r} with {C} channels"
                )
            a = torch.zeros(C, dtype=x.dtype, device=x.device)
            if chan_list:
                a[chan_list] = 1
        else:
            if mask_t is None:  # ablate() checked that exactly one of channels / mask is given
                raise ValueError("ablate needs exactly one of channels= or mask=")
            a = mask_t.to(dtype=x.dtype, device=x.device)
            if a.dim() == 1 and a.shape[0] != C:
                raise ValueError(
                    f"mask of shape {tuple(a.shape)} does not match layer {layer!r} with {C} channels"
                )
            if a.dim() == 3 and tuple(a.shape) != per_sample:
                raise ValueError(
                    f"mask of shape {tuple(a.shape)} does not match layer {layer!r} output "
                    f"(C, H, W) = {per_sample}"
                )
        if a.dim() == 1:
            a = a.reshape((C,) + (1,) * (x.dim() - 2))
        if r_base is None:
            return x * (1 - a)
        r = r_base.to(dtype=x.dtype, device=x.device)
        if replacement in ("mean", "per-channel"):
            if r.shape[0] != C:
                what = "means" if replacement == "mean" else "replacement"
                raise ValueError(
                    f"{what} has {r.shape[0]} entries but layer {layer!r} has {C} channels"
                )
            r = r.reshape((C,) + (1,) * (x.dim() - 2))
        else:
            try:
                ok = r.dim() <= len(per_sample) and torch.broadcast_shapes(r.shape, per_sample) == per_sample
            except RuntimeError:
                ok = False
            if not ok:
                raise ValueError(
                    f"replacement of shape {tuple(r.shape)} is not broadcastable to layer "
                    f"{layer!r} output (C, H, W) = {per_sample}"
                )
        return x * (1 - a) + r * a

    handle = None
    try:
        handle = module.register_forward_hook(hook, prepend=True)
        yield model
    finally:
        if handle is not None:
            handle.remove()


# --------------------------------------------------------------------------- helpers


def _batches(z_batches: torch.Tensor | Iterable[torch.Tensor]) -> Iterable[torch.Tensor]:
    if isinstance(z_batches, torch.Tensor):
        return [z_batches]
    return z_batches


def channel_means(
    model: nn.Module, layer: str, z_batches: torch.Tensor | Iterable[torch.Tensor]
) -> torch.Tensor:
    """Per-channel mean (C,) of ``layer``'s output over all batches, N, H and W.

    Runs in eval mode without gradients; the model's modes are restored.  ``z_batches`` is one
    input tensor or an iterable of them.
    """
    total: torch.Tensor | None = None
    count = 0
    with eval_mode(model), torch.no_grad(), record(model, [layer]) as rec:
        for z in _batches(z_batches):
            model(z)
            x = rec[layer]
            if x.dim() < 2:
                raise ValueError(f"layer {layer!r} output {tuple(x.shape)} has no channel axis")
            flat = x.transpose(0, 1).reshape(x.shape[1], -1).double()
            s = flat.sum(1)
            total = s if total is None else total + s
            count += flat.shape[1]
    if total is None or count == 0:
        raise ValueError("channel_means got no batches")
    return (total / count).float()


def penultimate_features(G: nn.Module, z: torch.Tensor, layer: str = "penultimate") -> torch.Tensor:
    """The generator's penultimate conv features (N, C, H, W) for ``z`` (eval mode, no grad)."""
    with eval_mode(G), torch.no_grad(), record(G, [layer]) as rec:
        G(z)
    return rec[layer]
