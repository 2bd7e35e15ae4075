"""Face attribute classifier + yaw regressor: a small CNN trained on labelled faces.

    model = FaceAttributeNet(("male", "smiling", "eyeglasses"), yaw=True)
    out = model(images)                  # float (N, 3, S, S) in [-1, 1] -> (N, A + 1): A logits, then tanh yaw
    predict_attributes(model, images)    # {"male": p (N,), "smiling": p, "eyeglasses": p, "yaw": (N,)}

:func:`train_attribute_classifier` takes uint8 images with any binary attribute matrix (N, A) in {0, 1}
and optional yaw (N,) in [-1, 1], so the same code trains on the faces world or on CelebA:

    ds = open_dataset("celeba", root)
    cols = [ds.attribute_names.index(a) for a in ("Male", "Smiling", "Eyeglasses")]
    model = train_attribute_classifier(ds.uint8_images(), ds.labels["attributes"][:, cols],
                                       ["Male", "Smiling", "Eyeglasses"])

``model.features(x)`` (N, D) concatenates the global-average-pooled activations of all conv
stages: the feature space of the faces Fréchet distance (see :mod:`.frechet`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm.auto import tqdm

from interp.data.base import to_float_image
from interp.instruments.degrade import KINDS, augment
from interp.instruments.segmenter import apply_batched

FACE_ATTRIBUTES: tuple[str, ...] = ("male", "smiling", "eyeglasses")


def _stage(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(c_out),
                         nn.ReLU(inplace=True))


class FaceAttributeNet(nn.Module):
    """Stride-2 3x3 conv stages (conv, BN, ReLU; one per width: S -> S/2^k), one more 3x3 conv at the
    last width, global average pool, linear head. forward: (N, 3, S, S) in [-1, 1] -> (N, A + yaw):
    A attribute logits, then (if ``yaw``) one tanh yaw in [-1, 1]. Works for S = 32 and 64."""

    def __init__(self, attribute_names: Sequence[str] = FACE_ATTRIBUTES, yaw: bool = True,
                 widths: Sequence[int] = (32, 64, 96, 128)) -> None:
        super().__init__()
        self.attribute_names, self.has_yaw, self.widths = tuple(attribute_names), bool(yaw), tuple(int(w) for w in widths)
        chans = (3, *self.widths)
        stages = [_stage(chans[i], chans[i + 1], stride=2) for i in range(len(self.widths))]
        self.stages = nn.ModuleList([*stages, _stage(self.widths[-1], self.widths[-1], stride=1)])
        self.head = nn.Linear(self.widths[-1], len(self.attribute_names) + int(self.has_yaw))

    def _pooled(self, x: torch.Tensor) -> list[torch.Tensor]:
        pooled = []
        for stage in self.stages:
            x = stage(x)
            pooled.append(x.mean(dim=(2, 3)))
        return pooled

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.head(self._pooled(x)[-1])
        if self.has_yaw:
            out = torch.cat([out[:, :-1], torch.tanh(out[:, -1:])], 1)
        return out

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, S, S) -> (N, sum(widths) + widths[-1]) global-average-pooled activations of every stage."""
        return torch.cat(self._pooled(x), 1)

    def config(self) -> dict[str, Any]:
        """Constructor kwargs (JSON-able)."""
        return {"attribute_names": list(self.attribute_names), "yaw": self.has_yaw, "widths": list(self.widths)}


def predict_attributes(model: FaceAttributeNet, images: np.ndarray | torch.Tensor,
                       batch_size: int = 256) -> dict[str, np.ndarray]:
    """{attribute name: probability (N,)} and, if the model has it, {"yaw": (N,) in [-1, 1]} for images
    float (N, 3, S, S) in [-1, 1] (uint8 images are converted). float32 numpy arrays."""
    a = len(model.attribute_names)
    if len(images) == 0:
        out = torch.zeros(0, a + int(model.has_yaw))
    else:
        out = apply_batched(model, model, images, batch_size)
    pred = {name: torch.sigmoid(out[:, i]).numpy() for i, name in enumerate(model.attribute_names)}
    if model.has_yaw:
        pred["yaw"] = out[:, a].numpy()
    return pred


def evaluate_attributes(model: FaceAttributeNet, images: np.ndarray | torch.Tensor, attributes: np.ndarray,
                        yaw: np.ndarray | None = None) -> dict[str, Any]:
    """Accuracy per attribute (threshold 0.5) against attributes (N, A) in {0, 1}; yaw MAE if ``yaw`` (N,)."""
    pred = predict_attributes(model, images)
    attributes = np.asarray(attributes)
    acc = {name: float(((pred[name] > 0.5) == (attributes[:, i] > 0.5)).mean())
           for i, name in enumerate(model.attribute_names)}
    out: dict[str, Any] = {"accuracy": acc, "n_images": int(len(images)), "image_size": int(images.shape[-1])}
    if yaw is not None and model.has_yaw:
        out["yaw_mae"] = float(np.abs(pred["yaw"] - np.asarray(yaw)).mean())
    return out


def train_attribute_classifier(images_u8: np.ndarray, attributes: np.ndarray, attribute_names: Sequence[str],
                               yaw: np.ndarray | None = None, *, widths: Sequence[int] = (32, 64, 96, 128),
                               steps: int = 1000, batch_size: int = 64, lr: float = 3e-3, yaw_weight: float = 4.0,
                               frac_half_res: float = 0.2, augment_p: float = 0.5,
                               degrade_kinds: Sequence[str] | None = KINDS, seed: int = 0,
                               progress: bool = True) -> FaceAttributeNet:
    """Train a :class:`FaceAttributeNet` on uint8 images (N, 3, S, S), binary attributes (N, A) in {0, 1}
    and optional yaw (N,) in [-1, 1] (sign flips with a horizontal flip).

    Loss: BCE on the logits + ``yaw_weight`` · smooth-L1 on yaw. AdamW + one-cycle schedule for ``steps``
    steps; random horizontal flips and the GAN-like corruptions of :func:`degrade` (each of ``degrade_kinds``
    with probability ``augment_p``; ``None``: the lighter ``augment_photometric`` of the Fréchet feature nets); a fraction ``frac_half_res`` of the
    steps at half resolution. Deterministic given ``seed``; the global torch RNG is restored afterwards.
    Returns the model in eval mode.
    """
    attributes = np.asarray(attributes, np.float32)
    if attributes.ndim != 2 or attributes.shape[1] != len(attribute_names):
        raise ValueError(f"attributes must be (N, {len(attribute_names)}), got {attributes.shape}")
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = FaceAttributeNet(attribute_names, yaw is not None, widths)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
    model = model.to(memory_format=torch.channels_last).train()  # type: ignore[call-overload]  # torch stubs: Module.to overloads omit memory_format
    n, a = len(images_u8), attributes.shape[1]
    bar = tqdm(range(steps), desc="train face_attributes", disable=not progress, leave=False)
    for step in bar:
        idx = torch.randint(0, n, (batch_size,), generator=gen).sort().values.numpy()
        x = to_float_image(torch.from_numpy(np.array(images_u8[idx])))
        t = torch.from_numpy(attributes[idx])
        flip = torch.rand(batch_size, generator=gen) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        if torch.rand((), generator=gen).item() < frac_half_res:
            x = F.avg_pool2d(x, 2)
        x = augment(x, gen, augment_p, degrade_kinds).contiguous(memory_format=torch.channels_last)
        out = model(x)
        loss = F.binary_cross_entropy_with_logits(out[:, :a], t)
        if yaw is not None:
            y = torch.from_numpy(np.asarray(yaw, np.float32)[idx]) * torch.where(flip, -1.0, 1.0)
            loss = loss + yaw_weight * F.smooth_l1_loss(out[:, a], y, beta=0.1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % 20 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}")
    bar.close()
    return model.to(memory_format=torch.contiguous_format).eval()


__all__ = ["FACE_ATTRIBUTES", "FaceAttributeNet", "predict_attributes", "evaluate_attributes",
           "train_attribute_classifier"]


def attribute_classifier_from_dataset(dataset, names: Sequence[str] = ("Male", "Smiling", "Eyeglasses"),
                                      **train_kwargs) -> FaceAttributeNet:
    """Train the attribute classifier on a labelled real dataset, e.g. ``open_dataset("celeba", root)``.

    ``dataset.labels["attributes"]`` (N, A) in {0, 1} with ``dataset.attribute_names``; ``names`` picks
    the columns (CelebA spells them ``Male``, ``Smiling``, ``Eyeglasses``). With ``dataset.labels["yaw"]``
    (CelebA with its landmark file: a landmark-based yaw proxy, see
    :func:`interp.data.celeba.yaw_from_landmarks`) the net also gets a yaw head.
    """
    available = list(getattr(dataset, "attribute_names", []))
    if "attributes" not in dataset.labels or not available:
        raise ValueError(f"{dataset.name}: dataset has no attribute labels to train on")
    missing = [n for n in names if n not in available]
    if missing:
        raise ValueError(f"{dataset.name}: no attribute(s) {missing}; it has {available}")
    columns = [available.index(n) for n in names]
    attributes = np.asarray(dataset.labels["attributes"])[:, columns]
    yaw = np.asarray(dataset.labels["yaw"]) if "yaw" in dataset.labels else None
    return train_attribute_classifier(dataset.uint8_images(), attributes, list(names), yaw, **train_kwargs)
