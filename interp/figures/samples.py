"""Figs. 2 and 3 (samples after one and after five epochs) and the memorisation check.

* ``fig2`` / ``fig3``: an 8×8 grid of samples of the run's ``checkpoints/epoch_001`` / ``epoch_005``
  (quick runs: epoch 2 stands in for 5), titled with the epoch and the Fréchet distance. Numbers:
  ``fd`` = FD(n generated, real ``test`` renders) and ``fd_floor`` = FD(n real ``val`` renders, the
  same ``test`` renders), in the feature space of the world's Fréchet feature net (a segmenter / attribute
  net trained with light photometric augmentation only, no checkerboards or JPEG blocks, so that it sees
  a generator's artefacts; quick mode: the quick instrument). FD is a distance to the world's renders, valid however far the samples are, so it
  carries no ``in_domain`` flag; n = 500 (quick: 64) generated = n real, so both carry the same finite-sample bias.
  ``near_duplicate_share`` and ``nn_distance_ratio`` (:func:`interp.instruments.sample_diversity`, same
  features, against the ``val`` renders) say whether the generator repeats itself.
* ``memorization``: generated samples beside their nearest training image and nearest held-out
  image. Distance: pixel L2 on 32×32 (area-downsampled) images in [0, 1], reported as RMS per
  pixel value (the paper's authors de-duplicated on 32×32 crops; pixel distance is what a copy would
  minimise, and needs no trained instrument). ``nn_ratio`` = the median over generated samples of the
  NN distance to the training images over the median NN distance to held-out images, where the
  training reference is the first M images the model trained on and the held-out reference is M ``test``
  renders (equal sizes, so ≈ 1 means no memorisation, ≪ 1 means samples sit on training images).

Where a model was not trained on an embedded world there is no ground truth: the keys are null and
the section has a ``note``.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from interp.analysis.memorization import MemoData, compute_memorization, nn_ratio
from interp.analysis.robustness import claim_verdicts
from interp.analysis.samples import SampleData, compute_samples, reference_sets
from interp.core.generation import sample_images
from interp.data.base import to_uint8_image
from interp.figures.context import FigureContext, aims_title
from interp.figures.plotting import image_table_figure, save_figure
from interp.figures.registry import FigureResult, register_figure

N_MEASURE = {False: 500, True: 64}
N_REAL_A_MIN = {False: 1000, True: 256}
N_REF_MAX = {False: 10_000, True: 512}


# ------------------------------------------------------------------------------------------ samples


def plot_samples(data: SampleData, title: str) -> Figure:
    """An 8-wide grid of the samples with a title naming the epoch and the FD."""
    k = len(data.images)
    cols = 8
    rows = -(-k // cols)
    imgs = np.full((rows * cols, *data.images.shape[1:]), 255, np.uint8)
    imgs[:k] = data.images
    if data.fd is not None:
        sub = f"FD {data.fd:.2f} vs held-out renders (real-vs-real floor {data.fd_floor:.2f}; n = {data.n})"
        if "near_duplicate_share" in data.extra:
            sub += f"; near-duplicates {data.extra['near_duplicate_share']:.0%} (real 5%)"
    else:
        sub = "FD not measured (no ground truth for this data)"
    return image_table_figure(imgs.reshape(rows, cols, *imgs.shape[1:]), title=f"{title}\n{sub}",
                              inch_per_image=0.8)


def _samples_figure(ctx: FigureContext, section: str, epoch: int, filename: str, label: str) -> FigureResult:
    world_default = "rooms"
    gan, note = ctx.gan_at_epoch(world_default, epoch)
    world = ctx.world_of(gan)
    features = ctx.frechet(world) if world else None
    data = compute_samples(gan, world, features, n=N_MEASURE[ctx.quick], seed=ctx.seed,
                           n_real_a=N_REAL_A_MIN[ctx.quick])
    if data.epoch is not None:
        title = (f"{label} — {ctx.data_name(gan) or 'model'} samples after epoch {data.epoch}"
                 + (f" (stands in for epoch {epoch})" if data.epoch != epoch else ""))
    else:
        title = f"{label} — samples of {ctx.model_label(gan)} (its epoch is not known)"
    fig = plot_samples(data, title)
    png = save_figure(fig, ctx.png(filename))
    notes = [x for x in (note, data.note) if x]
    values = {"fd": data.fd, "fd_floor": data.fd_floor, "epoch": data.epoch, "paper_epoch": epoch,
              "step": gan.meta.get("step"), "instrument": ctx_fd_features(world, ctx.quick), **data.extra}
    if notes:
        values["note"] = "; ".join(notes)
    return FigureResult([png], ctx.record(section, gan, values))


def ctx_fd_features(world: str | None, quick: bool) -> str | None:
    """The instrument whose features the FD was measured in (None: no world, no FD)."""
    from interp.instruments.registry import frechet_instrument

    return frechet_instrument(world, quick) if world else None


@register_figure("fig2", world="rooms", title="Samples after one epoch (paper Fig. 2)")
def fig2(ctx: FigureContext) -> FigureResult:
    """Samples after one pass over the data, with FD and its real-vs-real floor."""
    return _samples_figure(ctx, "fig2", 1, "fig2_samples_epoch1.png", "Fig. 2")


@register_figure("fig3", world="rooms", title="Samples after five epochs (paper Fig. 3)")
def fig3(ctx: FigureContext) -> FigureResult:
    """Samples after five epochs, with FD and its real-vs-real floor."""
    return _samples_figure(ctx, "fig3", 5, "fig3_samples_epoch5.png", "Fig. 3")


# ------------------------------------------------------------------------------------- memorisation


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
            values["nn_ratio_epoch1"] = round(nn_ratio(to_uint8_image(sample_images(gan1.generator, n, ctx.seed)).numpy(),
                                                       train, held)["nn_ratio"], 5)
    except FileNotFoundError:
        pass
    title = (f"Memorisation check — samples ({ctx.model_label(gan)}) and their nearest neighbours\n"
             f"nn_ratio = median NN distance to train / to held-out = {data.numbers['nn_ratio']:.3f} "
             f"(1 = no memorisation; {len(train)} images each)" + aims_title(claim_verdicts("memorization", values)))
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
    "nn_ratio",
    "plot_memorization",
    "plot_samples",
    "reference_sets",
]
