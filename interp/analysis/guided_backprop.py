"""Guided backpropagation that also applies at LeakyReLU (DCGAN discriminators).

Captum's ``GuidedBackprop`` / ``NeuronGuidedBackprop`` override the backward pass of
``nn.ReLU`` modules only.  A DCGAN discriminator uses ``nn.LeakyReLU(0.2)``, so captum used as is
silently returns the *plain* gradient.  This module applies the guided rule at every
``nn.ReLU`` **and** ``nn.LeakyReLU``.

The rule (Springenberg et al. 2015, "Striving for simplicity"), at every (Leaky)ReLU with forward
input ``x`` and incoming gradient ``grad_out``::

    grad_in = grad_out.clamp(min=0) * (x > 0)

i.e. only positive gradient is passed back, and only where the forward input was positive.  The
leaky slope is used in the forward pass but dropped in the backward pass (where ``x <= 0`` the
gradient is 0, not ``0.2 * grad_out``).  For ``nn.ReLU`` this is exactly captum's
``GuidedBackprop`` (``relu(grad_out * (x > 0))``).

How captum is used: :class:`LeakyGuidedBackprop` subclasses captum's ``GuidedBackprop`` and
overrides its hook registration (``_register_hooks`` / ``_remove_hooks``) so (Leaky)ReLU modules
count; :class:`LeakyNeuronGuidedBackprop` is captum's ``NeuronGuidedBackprop`` with that
attribution inside.  Captum's own ``attribute`` thus does the work — forward with the layer hook,
gradient of the selected neuron w.r.t. the input — and removes our hooks in its ``finally``.
Our hook is a *forward* hook on each activation that routes the activation's output through a
guided autograd ``Function`` (forward: identity on the activation's output; backward: the rule
above, using the saved ``x > 0``); it saves the mask per call, so shared activation modules used
several times in one forward are handled correctly.

In-place activations (``nn.LeakyReLU(0.2, inplace=True)``, as in the PyTorch DCGAN example) are
switched to ``inplace=False`` for the attribution and switched back afterwards, also on error.
The model runs in eval mode during the attribution; every module's ``training`` flag, the
``inplace`` flags and the input's ``requires_grad`` are restored, and no hooks remain, after
success and after an error.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, Protocol, cast

import torch
from captum.attr import GuidedBackprop, NeuronGuidedBackprop
from torch import nn
from torch.utils.hooks import RemovableHandle

from interp.core.hooks import record, resolve_layer
from interp.core.modes import eval_mode

__all__ = [
    "GUIDED_ACTIVATIONS",
    "LeakyGuidedBackprop",
    "LeakyNeuronGuidedBackprop",
    "guided_backprop",
    "max_responses",
]

#: Module types at which the guided rule is applied.
GUIDED_ACTIVATIONS: tuple[type[nn.Module], ...] = (nn.ReLU, nn.LeakyReLU)

Location = tuple[int, int] | str


class _GuidedGrad(torch.autograd.Function):
    """Forward: returns the activation's output ``y`` (a copy); backward: the guided rule on ``x``."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x > 0)
        return y.clone()

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor, None]:
        (positive,) = ctx.saved_tensors
        return guided_rule(grad_out, positive), None


def guided_rule(grad_out: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
    """``grad_out.clamp(min=0) * (x > 0)``, with ``positive = (x > 0)``."""
    return grad_out.clamp(min=0) * positive.to(grad_out.dtype)


def _guided_forward_hook(module: nn.Module, inputs: tuple, output: Any) -> Any:
    if not inputs or not isinstance(output, torch.Tensor):
        return None
    x = inputs[0]
    if not (isinstance(x, torch.Tensor) and (x.requires_grad or output.requires_grad)):
        return None
    return _GuidedGrad.apply(x, output)


class _Inplace(Protocol):
    """An activation module with an ``inplace`` flag (nn.ReLU, nn.LeakyReLU, ...)."""

    inplace: bool


class LeakyGuidedBackprop(GuidedBackprop):
    """captum ``GuidedBackprop`` whose guided rule also applies at ``nn.LeakyReLU``.

    Overrides only the hook registration: captum's ``attribute`` registers hooks with
    ``model.apply(self._register_hooks)`` inside ``try`` and calls ``self._remove_hooks()`` in
    ``finally``.  In-place activations are made out-of-place while hooked and restored on removal.
    """

    backward_hooks: list[RemovableHandle]  # set by captum's __init__ (captum ships no type information)

    def __init__(
        self, model: nn.Module, activations: tuple[type[nn.Module], ...] = GUIDED_ACTIVATIONS
    ) -> None:
        super().__init__(model)
        self.activations = activations
        self._inplace_restore: list[_Inplace] = []

    def _register_hooks(self, module: nn.Module) -> None:
        if isinstance(module, self.activations):
            if getattr(module, "inplace", False):
                act = cast(_Inplace, module)  # it has a true ``inplace`` flag (checked just above)
                act.inplace = False
                self._inplace_restore.append(act)
            self.backward_hooks.append(module.register_forward_hook(_guided_forward_hook))

    def _remove_hooks(self) -> None:
        try:
            for handle in self.backward_hooks:
                handle.remove()
        finally:
            self.backward_hooks = []
            for module in self._inplace_restore:
                module.inplace = True
            self._inplace_restore = []


class LeakyNeuronGuidedBackprop(NeuronGuidedBackprop):
    """captum ``NeuronGuidedBackprop`` using :class:`LeakyGuidedBackprop` (rule at LeakyReLU too)."""

    def __init__(
        self,
        model: nn.Module,
        layer: nn.Module,
        device_ids: Any = None,
        activations: tuple[type[nn.Module], ...] = GUIDED_ACTIVATIONS,
    ) -> None:
        super().__init__(model, layer, device_ids)
        self.guided_backprop = LeakyGuidedBackprop(model, activations)


# --------------------------------------------------------------------------- public API


def _layer_output(out: Any) -> torch.Tensor:
    t = out[0] if isinstance(out, (tuple, list)) else out
    if not isinstance(t, torch.Tensor) or t.dim() != 4:
        shape = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
        raise ValueError(f"guided backprop needs a layer with (N, C, H, W) output, got {shape}")
    return t


def _check_channel(t: torch.Tensor, layer: str, channel: int) -> None:
    C = t.shape[1]
    if isinstance(channel, bool) or not isinstance(channel, int) or not 0 <= channel < C:
        raise IndexError(
            f"channel {channel!r} out of range for layer {layer!r} with {C} channels (0..{C - 1})"
        )


def _neuron_selector(layer: str, channel: int, location: Location) -> Callable[[Any], torch.Tensor]:
    """A captum neuron selector: layer output -> the selected neuron's value per example (N,)."""
    if isinstance(location, str):
        if location != "argmax":
            raise ValueError(f"location must be (y, x) or 'argmax', got {location!r}")
    else:
        try:
            y, x = (int(v) for v in location)
        except (TypeError, ValueError):
            raise ValueError(f"location must be (y, x) or 'argmax', got {location!r}") from None

    def select(out: Any) -> torch.Tensor:
        t = _layer_output(out)
        _check_channel(t, layer, channel)
        fmap = t[:, channel]  # (N, H, W)
        H, W = fmap.shape[1:]
        if location == "argmax":
            idx = fmap.detach().flatten(1).argmax(1, keepdim=True)  # per image
            return fmap.flatten(1).gather(1, idx).squeeze(1)
        if not (0 <= y < H and 0 <= x < W):
            raise IndexError(f"location {(y, x)} outside layer {layer!r} of spatial size {(H, W)}")
        return fmap[:, y, x]

    return select


def guided_backprop(
    model: nn.Module,
    images: torch.Tensor,
    layer: str,
    channel: int,
    location: Location = "argmax",
) -> torch.Tensor:
    """Guided-backprop map (N, C, H, W) of one neuron of ``layer`` w.r.t. ``images``.

    The neuron is ``layer``'s output at ``(channel, y, x)``; ``location="argmax"`` takes, in each
    image separately, the location of that channel's maximal response.  The guided rule
    (module docstring) is applied at every ``nn.ReLU`` / ``nn.LeakyReLU`` module, including the
    selected layer itself when it is an activation.  Runs in eval mode; the model's modes, the
    activations' ``inplace`` flags and ``images.requires_grad`` are left as they were, and no
    hooks remain, also after an error.
    """
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        raise ValueError(f"images must be (N, C, H, W), got {getattr(images, 'shape', type(images))}")
    _, module = resolve_layer(model, layer)
    selector = _neuron_selector(layer, channel, location)
    inputs = images.detach()  # captum sets requires_grad on this alias, never on the caller's tensor
    attr = LeakyNeuronGuidedBackprop(model, module)
    with eval_mode(model), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Setting backward hooks on ReLU")
        warnings.filterwarnings("ignore", message="Input Tensor 0 did not already require gradients")
        out = attr.attribute(inputs, selector)
    return out.detach()


def max_responses(
    model: nn.Module, images: torch.Tensor, layer: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image and channel, the maximal response of ``layer`` and where it is.

    Returns ``values`` (N, C) and ``locations`` (N, C, 2) as (y, x) (long).  The images with the
    largest response of filter ``c`` are ``values[:, c].topk(k).indices``.  Eval mode, no grad.
    """
    with eval_mode(model), torch.no_grad(), record(model, [layer]) as rec:
        model(images)
    t = _layer_output(rec[layer])
    N, C, H, W = t.shape
    values, idx = t.flatten(2).max(2)
    locations = torch.stack([idx // W, idx % W], dim=-1)
    return values, locations
