"""Figs. 2 and 3 (samples after one and after five epochs) and the memorisation check.

* ``fig2`` / ``fig3``: an 8×8 grid of samples of the run's ``checkpoints/epoch_001`` / ``epoch_005``
  (quick runs: epoch 2 stands in for 5), titled with the epoch and the Fréchet distance. Numbers:
  ``fd`` = FD(n generated, real ``test`` renders) and ``fd_floor`` = FD(n real ``val`` renders, the
  same ``test`` renders), in the feature space of the world's instrument (rooms: segmenter; faces:
  attribute net); n = 500 (quick: 64) generated = n real, so both carry the same finite-sample bias.
* ``memorization``: generated samples beside their nearest training image and nearest held-out
  image. Distance: pixel L2 on 32×32 (area-downsampled) images in [0, 1], reported as RMS per
  pixel value (the paper's authors de-duplicated on 32×32 crops; pixel distance is what a copy would
  minimise, and needs no trained instrument). ``nn_ratio`` = median over generated samples of the
  NN distance to the training images over the NN distance to held-out images, where the training
  reference is the first M images the model trained on and the held-out reference is M ``test``
  renders (equal sizes, so ≈ 1 means no memorisation, ≪ 1 means samples sit on training images).

Where a model was not trained on an embedded world there is no ground truth: the keys are null and
the section has a ``note``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from ..checkpoint import LoadedGAN
from ..data import open_dataset
from ..data.base import to_uint8_image
from ..instruments import fd_with_floor
from ..measure import generate
from .context import FigureContext
from .plotting import image_table_figure, save_figure
from .registry import FigureResult, register_figure

N_MEASURE = {False: 500, True: 64}
N_REAL_A_MIN = {False: 1000, True: 256}
N_REF_MAX = {False: 10_000, True: 512}
N_SHOW = 64
NN_SIZE = 32


# ------------------------------------------------------------------------------------------ samples


@dataclass
class SampleData:
    images: np.ndarray                 # uint8 (n_show, 3, S, S)
    epoch: int | None
    fd: float | None = None
    fd_floor: float | None = None
    n: int = 0
    note: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def compute_samples(gan: LoadedGAN, world: str | None, instrument: torch.nn.Module | None, n: int, seed: int = 0,
                    n_show: int = N_SHOW, n_real_a: int = 1000) -> SampleData:
    """Samples to show (the first ``n_show`` of seed ``seed``) and FD / floor over ``n`` of them."""
    n_gen = max(n, n_show)
    fake = generate(gan.G, n_gen, seed)
    images = to_uint8_image(fake[:n_show]).numpy()
    data = SampleData(images=images, epoch=gan.meta.get("epoch"), n=n)
    if world is None or instrument is None:
        data.note = "the model was not trained on an embedded world: no ground truth, FD not measured"
        return data
    size = gan.config.image_size
    real_a = open_dataset(world, split="test", n=max(n_real_a, n), image_size=size).uint8_images()
    real_b = open_dataset(world, split="val", n=n, image_size=size).uint8_images()
    fd = fd_with_floor(instrument, np.asarray(real_a), np.asarray(real_b), fake[:n])
    data.fd, data.fd_floor = round(fd["fd"], 4), round(fd["fd_floor"], 4)
    data.extra = {"n_generated": n, "n_real_reference": len(real_a), "n_real_floor": n,
                  "reference_split": "test", "floor_split": "val"}
    return data


def plot_samples(data: SampleData, title: str) -> Figure:
    """An 8-wide grid of the samples with a title naming the epoch and the FD."""
    k = len(data.images)
    cols = 8
    rows = -(-k // cols)
    imgs = np.full((rows * cols, *data.images.shape[1:]), 255, np.uint8)
    imgs[:k] = data.images
    if data.fd is not None:
        sub = f"FD {data.fd:.2f} vs held-out renders (real-vs-real floor {data.fd_floor:.2f}; n = {data.n})"
    else:
        sub = "FD not measured (no ground truth for this data)"
    return image_table_figure(imgs.reshape(rows, cols, *imgs.shape[1:]), title=f"{title}\n{sub}",
                              inch_per_image=0.8)


def _samples_figure(ctx: FigureContext, section: str, epoch: int, filename: str, label: str) -> FigureResult:
    world_default = "rooms"
    gan, note = ctx.gan_at_epoch(world_default, epoch)
    world = ctx.world_of(gan)
    instrument = ctx.instrument(world) if world else None
    data = compute_samples(gan, world, instrument, n=N_MEASURE[ctx.quick], seed=ctx.seed,
                           n_real_a=N_REAL_A_MIN[ctx.quick])
    shown_epoch = data.epoch if data.epoch is not None else "?"
    title = (f"{label} — {ctx.data_name(gan) or 'model'} samples after epoch {shown_epoch}"
             + (f" (stands in for epoch {epoch})" if shown_epoch != epoch else ""))
    fig = plot_samples(data, title)
    png = save_figure(fig, ctx.png(filename))
    notes = [x for x in (note, data.note) if x]
    values = {"fd": data.fd, "fd_floor": data.fd_floor, "epoch": data.epoch, "paper_epoch": epoch,
              "step": gan.meta.get("step"), "instrument": ctx_instrument_name(world), **data.extra}
    if notes:
        values["note"] = "; ".join(notes)
    return FigureResult([png], ctx.record(section, gan, values))


def ctx_instrument_name(world: str | None) -> str | None:
    from .context import INSTRUMENTS

    return INSTRUMENTS.get(world) if world else None


@register_figure("fig2", world="rooms", title="Samples after one epoch (paper Fig. 2)")
def fig2(ctx: FigureContext) -> FigureResult:
    """Samples after one pass over the data, with FD and its real-vs-real floor."""
    return _samples_figure(ctx, "fig2", 1, "fig2_samples_epoch1.png", "Fig. 2")


@register_figure("fig3", world="rooms", title="Samples after five epochs (paper Fig. 3)")
def fig3(ctx: FigureContext) -> FigureResult:
    """Samples after five epochs, with FD and its real-vs-real floor."""
    return _samples_figure(ctx, "fig3", 5, "fig3_samples_epoch5.png", "Fig. 3")


# ------------------------------------------------------------------------------------- memorisation


def _flat32(images: np.ndarray | torch.Tensor, size: int = NN_SIZE, batch: int = 2048) -> torch.Tensor:
    """float32 (N, 3·size²) in [0, 1] of uint8 or [-1, 1] float images (N, 3, S, S), area-downsampled."""
    outs = []
    for s in range(0, len(images), batch):
        x = images[s : s + batch]
        x = torch.from_numpy(np.array(x)) if not torch.is_tensor(x) else x
        x = x.float() / 255.0 if x.dtype == torch.uint8 else (x.float() + 1) / 2
        if x.shape[-1] != size:
            x = F.interpolate(x, size=(size, size), mode="area")
        outs.append(x.flatten(1))
    return torch.cat(outs)


def nearest_neighbours(queries: np.ndarray | torch.Tensor, reference: np.ndarray | torch.Tensor,
                       size: int = NN_SIZE, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """(distance, index) of each query's nearest reference image: RMS pixel difference on
    ``size``×``size`` downsampled images in [0, 1] (float64 (N,), int64 (N,))."""
    q = _flat32(queries, size).double()
    best_d = torch.full((len(q),), float("inf"), dtype=torch.float64)
    best_i = torch.zeros(len(q), dtype=torch.int64)
    qq = (q * q).sum(1, keepdim=True)
    for s in range(0, len(reference), chunk):
        r = _flat32(reference[s : s + chunk], size).double()
        d2 = qq + (r * r).sum(1)[None] - 2 * q @ r.T
        d, i = d2.min(1)
        better = d < best_d
        best_d[better], best_i[better] = d[better], i[better] + s
    dim = q.shape[1]
    return (best_d.clamp_min(0) / dim).sqrt().numpy(), best_i.numpy()


def nn_ratio(generated: np.ndarray | torch.Tensor, train: np.ndarray | torch.Tensor,
             heldout: np.ndarray | torch.Tensor) -> dict[str, Any]:
    """Median NN distance generated→train over generated→held-out (reference sets of equal size)."""
    if len(train) != len(heldout):
        raise ValueError(f"train ({len(train)}) and held-out ({len(heldout)}) references must be the same size")
    d_tr, i_tr = nearest_neighbours(generated, train)
    d_ho, i_ho = nearest_neighbours(generated, heldout)
    med_tr, med_ho = float(np.median(d_tr)), float(np.median(d_ho))
    return {"nn_ratio": med_tr / med_ho if med_ho > 0 else float("nan"), "median_nn_train": med_tr,
            "median_nn_heldout": med_ho, "d_train": d_tr, "i_train": i_tr, "d_heldout": d_ho, "i_heldout": i_ho}


@dataclass
class MemoData:
    generated: np.ndarray      # uint8 (k, 3, S, S) the shown samples
    nn_train: np.ndarray       # uint8 (k, 3, S, S) their nearest training images
    nn_heldout: np.ndarray     # uint8 (k, 3, S, S) their nearest held-out images
    d_train: np.ndarray        # (k,)
    d_heldout: np.ndarray      # (k,)
    numbers: dict[str, Any]


def reference_sets(world: str, gan: LoadedGAN, n_max: int) -> tuple[np.ndarray, np.ndarray]:
    """(first M training renders the model saw, M held-out ``test`` renders), M = min(used, n_max)."""
    ds_meta = gan.meta.get("dataset") or {}
    used = int(ds_meta.get("num_images_used") or ds_meta.get("num_images") or n_max)
    m = min(used, n_max)
    size = gan.config.image_size
    seed = int(ds_meta.get("seed") or 0)
    train = open_dataset(world, split="train", n=m, image_size=size, seed=seed).uint8_images()
    held = open_dataset(world, split="test", n=m, image_size=size, seed=seed).uint8_images()
    return np.asarray(train), np.asarray(held)


def compute_memorization(gan: LoadedGAN, train: np.ndarray, heldout: np.ndarray, n: int, seed: int = 0,
                         n_show: int = 10) -> MemoData:
    """NN distances of ``n`` samples to both reference sets; shows the ``n_show`` samples closest to a
    training image (the most suspicious ones)."""
    fake = to_uint8_image(generate(gan.G, n, seed)).numpy()
    r = nn_ratio(fake, train, heldout)
    order = np.argsort(r["d_train"])[:n_show]
    numbers = {k: round(v, 5) for k, v in r.items() if k in ("nn_ratio", "median_nn_train", "median_nn_heldout")}
    numbers.update({"min_nn_train": round(float(r["d_train"].min()), 5),
                    "min_nn_heldout": round(float(r["d_heldout"].min()), 5),
                    "share_closer_to_train": round(float(np.mean(r["d_train"] < r["d_heldout"])), 4),
                    "n_generated": n, "n_reference": len(train), "distance": f"rms pixel L2, {NN_SIZE}x{NN_SIZE}, [0,1]"})
    return MemoData(fake[order], train[r["i_train"][order]], heldout[r["i_heldout"][order]],
                    r["d_train"][order], r["d_heldout"][order], numbers)


def plot_memorization(data: MemoData, title: str) -> Figure:
    """Three rows: the samples, their nearest training image, their nearest held-out image."""
    imgs = np.stack([data.generated, data.nn_train, data.nn_heldout])
    notes = [[""] * len(data.generated), [f"{d:.3f}" for d in data.d_train], [f"{d:.3f}" for d in data.d_heldout]]
    caption = ("numbers: RMS pixel distance on 32×32 images in [0, 1]; samples shown are those closest to a training image")
    return image_table_figure(imgs, title=title, row_labels=["generated", "nearest train", "nearest held-out"],
                              cell_notes=notes, inch_per_image=0.95, caption=caption)


@register_figure("memorization", world="rooms", title="Nearest training images of samples (paper §4.1)")
def memorization(ctx: FigureContext) -> FigureResult:
    """Generated samples beside their nearest training and held-out images; nn_ratio."""
    gan = ctx.gan("rooms")
    world = ctx.world_of(gan)
    n = N_MEASURE[ctx.quick]
    if world is None:
        values = {"nn_ratio": None, "note": "the model was not trained on an embedded world: no train/held-out "
                                            "reference sets known, nn_ratio not measured"}
        return FigureResult([], ctx.record("memorization", gan, values))
    train, held = reference_sets(world, gan, N_REF_MAX[ctx.quick])
    data = compute_memorization(gan, train, held, n=n, seed=ctx.seed)
    values = {**data.numbers, "epoch": gan.meta.get("epoch")}
    try:  # the paper's argument is about the one-epoch model: measure it too where it exists
        gan1, _ = ctx.gan_at_epoch("rooms", 1)
        if gan1.path != gan.path:
            values["nn_ratio_epoch1"] = round(nn_ratio(to_uint8_image(generate(gan1.G, n, ctx.seed)).numpy(),
                                                       train, held)["nn_ratio"], 5)
    except FileNotFoundError:
        pass
    title = (f"Memorisation check — samples (epoch {values['epoch']}) and their nearest neighbours\n"
             f"nn_ratio = median NN distance to train / to held-out = {data.numbers['nn_ratio']:.3f} "
             f"(1 = no memorisation; {len(train)} images each)")
    png = save_figure(plot_memorization(data, title), ctx.png("memorization_nn.png"))
    return FigureResult([png], ctx.record("memorization", gan, values))


__all__ = [
    "MemoData",
    "SampleData",
    "compute_memorization",
    "compute_samples",
    "fig2",
    "fig3",
    "memorization",
    "nearest_neighbours",
    "nn_ratio",
    "plot_memorization",
    "plot_samples",
    "reference_sets",
]
