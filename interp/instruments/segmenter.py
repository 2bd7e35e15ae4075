"""Rooms segmenter: a tiny U-Net mapping images to per-pixel room classes, plus its helpers.

    model = RoomSegmenter(n_classes=11)
    logits = model(images)               # float (N, 3, S, S) in [-1, 1] -> (N, C, S, S), S in {32, 64}
    maps = segment(model, images)        # uint8 (N, S, S) class ids
    class_fractions(maps, class_names)   # {"wall": 0.31, ...}, sums to 1
    window_boxes(maps)                   # [(k, 4) int64 boxes x0, y0, x1, y1 (x1/y1 exclusive)] per image

Training (:func:`train_segmenter`) uses rendered rooms (``open_dataset("rooms")``) with class-weighted
cross-entropy and the GAN-like corruptions of :func:`interp.instruments.degrade.degrade` (colour shifts,
blur, checkerboard, noise, JPEG) plus horizontal flips, at 64 px and 32 px, so that the segmenter also
reads the blurrier, noisier samples of a generator. ``model.features(x)`` (N, D) is the global-average-pooled activation of every encoder
scale and the bottleneck: the feature space of the rooms Fréchet distance (see :mod:`.frechet`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.ndimage
import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm.auto import tqdm

from interp.core.modes import eval_mode
from interp.data.base import to_float_image
from interp.instruments.degrade import KINDS, augment

WINDOW_CLASS = "window"


# ----------------------------------------------------------------------------------------- model


def _conv(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class RoomSegmenter(nn.Module):
    """Tiny U-Net: 3 encoder scales (S, S/2, S/4) + a bottleneck at S/8, skip connections, 1x1 head.

    forward: float (N, 3, S, S) in [-1, 1] -> logits (N, n_classes, S, S); S divisible by 8.
    """

    def __init__(self, n_classes: int = 11, widths: Sequence[int] = (16, 32, 64)) -> None:
        super().__init__()
        a, b, c = (int(w) for w in widths)
        self.n_classes, self.widths = int(n_classes), (a, b, c)
        self.enc1 = nn.Sequential(_conv(3, a), _conv(a, a))
        self.enc2 = nn.Sequential(_conv(a, b), _conv(b, b))
        self.enc3 = nn.Sequential(_conv(b, c), _conv(c, c))
        self.bottleneck = _conv(c, c)
        self.dec3 = _conv(2 * c, b)
        self.dec2 = _conv(2 * b, a)
        self.dec1 = _conv(2 * a, a)
        self.head = nn.Conv2d(a, self.n_classes, 1)

    def _encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        if x.shape[-1] % 8 or x.shape[-2] % 8:
            raise ValueError(f"RoomSegmenter needs H and W divisible by 8, got {tuple(x.shape[-2:])}")
        e1 = self.enc1(x)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        e3 = self.enc3(F.max_pool2d(e2, 2))
        z = self.bottleneck(F.max_pool2d(e3, 2))
        return [e1, e2, e3, z]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1, e2, e3, z = self._encode(x)
        u = self.dec3(torch.cat([F.interpolate(z, scale_factor=2.0), e3], 1))
        u = self.dec2(torch.cat([F.interpolate(u, scale_factor=2.0), e2], 1))
        u = self.dec1(torch.cat([F.interpolate(u, scale_factor=2.0), e1], 1))
        return self.head(u)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, S, S) -> (N, a + b + 2c) global-average-pooled encoder + bottleneck activations."""
        return torch.cat([t.mean(dim=(2, 3)) for t in self._encode(x)], 1)

    def config(self) -> dict[str, Any]:
        """Constructor kwargs (JSON-able)."""
        return {"n_classes": self.n_classes, "widths": list(self.widths)}


# ------------------------------------------------------------------------------------ inference


def _batches(images: np.ndarray | torch.Tensor, batch_size: int):
    for s in range(0, len(images), batch_size):
        chunk = images[s : s + batch_size]
        t = torch.from_numpy(np.array(chunk)) if not isinstance(chunk, torch.Tensor) else chunk
        yield to_float_image(t) if t.dtype == torch.uint8 else t.float()


@torch.no_grad()
def apply_batched(fn: Callable[[torch.Tensor], torch.Tensor], model: nn.Module, images: np.ndarray | torch.Tensor,
                  batch_size: int = 256) -> torch.Tensor:
    """Concatenate ``fn(batch)`` over batches of ``images`` (float in [-1, 1] or uint8), with the model in
    eval mode (its previous mode is restored) and on the model's device."""
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    with eval_mode(model):
        outs = [fn(x.to(device)).cpu() for x in _batches(images, batch_size)]
    return torch.cat(outs) if outs else torch.zeros(0)


def segment(model: nn.Module, images: np.ndarray | torch.Tensor, batch_size: int = 256) -> np.ndarray:
    """Class ids uint8 (N, S, S) of images float (N, 3, S, S) in [-1, 1] (uint8 images are converted).

    ``model``: a :class:`RoomSegmenter` or any module mapping images to class logits (N, C, S, S)."""
    if len(images) == 0:
        return np.zeros((0, *images.shape[-2:]), np.uint8)
    return apply_batched(lambda x: model(x).argmax(1).to(torch.uint8), model, images, batch_size).numpy()


def class_fractions(maps: np.ndarray, class_names: Sequence[str]) -> dict[str, float]:
    """Fraction of all pixels of ``maps`` (N, S, S) or (S, S) that belong to each class; sums to 1."""
    counts = np.bincount(np.asarray(maps, np.int64).ravel(), minlength=len(class_names))[: len(class_names)]
    total = max(int(counts.sum()), 1)
    return {name: float(c) / total for name, c in zip(class_names, counts, strict=True)}


def window_boxes(maps: np.ndarray, window_class: int = 3, min_pixels: int = 4) -> list[np.ndarray]:
    """Window boxes per image from maps (N, S, S): tight boxes (x0, y0, x1, y1), x1/y1 exclusive, of the
    4-connected window components with at least ``min_pixels`` pixels; int64 (k, 4) each, sorted by x0, y0."""
    out = []
    for m in np.asarray(maps):
        labels, k = scipy.ndimage.label(m == window_class)
        boxes = []
        for i, sl in enumerate(scipy.ndimage.find_objects(labels), start=1):
            if sl is None or (labels[sl] == i).sum() < min_pixels:
                continue
            boxes.append((sl[1].start, sl[0].start, sl[1].stop, sl[0].stop))
        arr = np.array(sorted(boxes), np.int64).reshape(-1, 4)
        out.append(arr)
    return out


def confusion_matrix(pred: np.ndarray, true: np.ndarray, n_classes: int) -> np.ndarray:
    """(C, C) int64 counts, rows = true class, columns = predicted class."""
    idx = np.asarray(true, np.int64).ravel() * n_classes + np.asarray(pred, np.int64).ravel()
    return np.bincount(idx, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def iou_from_confusion(cm: np.ndarray, class_names: Sequence[str]) -> dict[str, float]:
    """Per-class IoU (dataset-level: summed intersections / summed unions); NaN for absent classes."""
    inter = np.diag(cm).astype(np.float64)
    union = cm.sum(0) + cm.sum(1) - inter
    return {n: float(i / u) if u > 0 else float("nan") for n, i, u in zip(class_names, inter, union, strict=True)}


def evaluate_segmenter(model: nn.Module, images: np.ndarray | torch.Tensor, maps: np.ndarray,
                       class_names: Sequence[str]) -> dict[str, Any]:
    """Per-class IoU, mean IoU and pixel accuracy of ``model`` on images (N, 3, S, S) with true maps (N, S, S)."""
    pred = segment(model, images)
    cm = confusion_matrix(pred, maps, len(class_names))
    iou = iou_from_confusion(cm, class_names)
    valid = [v for v in iou.values() if not math.isnan(v)]
    return {"iou": iou, "mean_iou": float(np.mean(valid)), "pixel_accuracy": float(np.trace(cm) / max(cm.sum(), 1)),
            "n_images": int(len(images)), "image_size": int(images.shape[-1])}


# ------------------------------------------------------------------------------------- training


def class_weights(maps: np.ndarray, n_classes: int, power: float = 0.5, max_weight: float = 10.0) -> torch.Tensor:
    """Cross-entropy weights (C,) ∝ frequency**-power, normalised to pixel-weighted mean 1, clipped."""
    freq = np.bincount(np.asarray(maps, np.int64).ravel(), minlength=n_classes)[:n_classes].astype(np.float64)
    freq = freq / freq.sum()
    w = np.where(freq > 0, np.maximum(freq, 1e-6) ** -power, 0.0)
    w = w / max((w * freq).sum(), 1e-12)
    return torch.tensor(np.minimum(w, max_weight), dtype=torch.float32)


def downsample_maps(maps: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Maps (N, S, S) int64 -> (N, S/2, S/2): the most frequent class of each 2x2 block, ties -> larger id
    (the worlds' own rule)."""
    counts = F.avg_pool2d(F.one_hot(maps, n_classes).permute(0, 3, 1, 2).float(), 2)
    return (n_classes - 1) - counts.flip(1).argmax(1)


def _random_crops(x: torch.Tensor, y: torch.Tensor, crop: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """One random crop x crop window per image of x (N, 3, S, S) and maps y (N, S, S)."""
    off = torch.randint(0, x.shape[-1] - crop + 1, (len(x), 2), generator=gen).tolist()
    xs = torch.stack([xi[:, r : r + crop, c : c + crop] for xi, (r, c) in zip(x, off, strict=True)])
    ys = torch.stack([yi[r : r + crop, c : c + crop] for yi, (r, c) in zip(y, off, strict=True)])
    return xs, ys


def train_segmenter(images_u8: np.ndarray, maps: np.ndarray, *, n_classes: int, widths: Sequence[int] = (16, 32, 64),
                    steps: int = 1000, batch_size: int = 32, lr: float = 3e-3, weight_power: float = 0.5,
                    frac_half_res: float = 0.25, crop: int = 0, augment_p: float = 0.5,
                    degrade_kinds: Sequence[str] | None = KINDS, seed: int = 0, progress: bool = True) -> RoomSegmenter:
    """Train a :class:`RoomSegmenter` on uint8 images (N, 3, S, S) and class maps (N, S, S).

    Adam + one-cycle cosine schedule for ``steps`` steps; a fraction ``frac_half_res`` of the steps use
    the batch 2x average-pooled (maps by 2x2 majority) so that 32 px inputs work too; the other steps
    train on random ``crop`` x ``crop`` windows (0 = whole images; crops are cheaper). Every batch is
    horizontally flipped with probability 1/2 per image and corrupted by :func:`degrade` (each of
    ``degrade_kinds`` with probability ``augment_p``; ``None``: the lighter
    :func:`interp.instruments.degrade.augment_photometric` of the Fréchet feature nets). Deterministic
    given ``seed``; the global torch RNG is restored afterwards. Returns the model in eval mode.
    """
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = RoomSegmenter(n_classes, widths)
    weights = class_weights(maps, n_classes, weight_power)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
    model = model.to(memory_format=torch.channels_last).train()  # type: ignore[call-overload]  # torch stubs: Module.to overloads omit memory_format
    n = len(images_u8)
    bar = tqdm(range(steps), desc="train room_segmenter", disable=not progress, leave=False)
    for step in bar:
        idx = torch.randint(0, n, (batch_size,), generator=gen).sort().values.numpy()
        x = to_float_image(torch.from_numpy(np.asarray(images_u8[idx])))
        y = torch.from_numpy(np.asarray(maps[idx]).astype(np.int64))
        flip = torch.rand(batch_size, generator=gen) < 0.5
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        y = torch.where(flip[:, None, None], y.flip(-1), y)
        if torch.rand((), generator=gen).item() < frac_half_res:
            x, y = F.avg_pool2d(x, 2), downsample_maps(y, n_classes)
        elif 0 < crop < x.shape[-1]:
            x, y = _random_crops(x, y, crop, gen)
        x = augment(x, gen, augment_p, degrade_kinds).contiguous(memory_format=torch.channels_last)
        loss = F.cross_entropy(model(x), y, weight=weights)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % 20 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}")
    bar.close()
    return model.to(memory_format=torch.contiguous_format).eval()


__all__ = ["RoomSegmenter", "segment", "class_fractions", "window_boxes", "evaluate_segmenter", "train_segmenter",
           "apply_batched", "class_weights", "confusion_matrix", "iou_from_confusion"]
