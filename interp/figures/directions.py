"""Beyond the paper: latent directions found by SeFa, GANSpace and InterFaceGAN against the paper's exemplar
means and a random control, all scored with one yardstick (:mod:`interp.analysis.directions`).

* **Model and attributes.** The faces model (``--option directions.world=rooms`` for the rooms model),
  measured by its world's instrument: faces ``male``, ``smiling``, ``eyeglasses`` (probabilities) and
  ``yaw`` (−1 … +1) by the attribute net; rooms the pixel shares of ``window``, ``bed``, ``picture`` and
  ``door`` by the segmenter (``--option directions.attributes=window,bed``). A model of other data is
  measured by ``--instruments`` (your face attribute net) or not at all (null + note).
* **Methods.** ``sefa`` (top ``k`` = 10 eigenvectors of the projection weight), ``ganspace`` (top ``k`` PCA
  directions of ``layer`` = ``up1.act`` on 2,000 samples, regressed back to z), ``interfacegan`` (a linear
  SVM boundary per attribute on the measured scores of ``pool`` = 1,000 samples, top/bottom 20 %),
  ``exemplar_mean`` (the paper's Figs. 7–8: mean z of the 3 samples of the pool scored highest minus the 3
  lowest) and ``random`` (the best-matching of ``k`` random directions: what picking alone gives); with
  ``--option 'directions.labels={"smiling": {"positive": [3, 17], "negative": [5, 8]}}'`` (or a .json file)
  also ``user_labels``: a linear SVM boundary on samples you ticked by number on ``directions_sample_sheet.png``
  (the first ``sheet`` = 100 pool samples, with the instrument's verdicts). An
  unsupervised method's direction for an attribute is its candidate that moves the attribute most,
  oriented to raise it.
* **Yardstick** on the same ``walk`` = 32 fresh samples (``sample_z(walk, seed + 1)``) moved by t ∈
  {−2, −1, 0, 1, 2} along each unit direction: ``relative_effect`` = the attribute's change per unit step
  over its spread (std over the pool), ``monotonicity`` = Spearman ρ(t, attribute), ``relative_entanglement``
  = the other attributes' mean |change| per step over their spreads, ``pixel_change`` = mean |pixel change|
  per unit step, and for rooms ``outside_change`` = the same over the pixels where the segmenter places the
  target class in neither end frame (null for faces). ``not_found``: attributes no method moves more than
  the random control.

Writes ``directions_walks.png`` (each method's direction per attribute walked from one fresh sample, the
measured attribute under each frame), ``directions_scores.png`` (four scores per method and
attribute; for rooms the last panel is ``outside_change`` instead of ``pixel_change``) and ``directions_sample_sheet.png`` (the numbered pool); the ``directions`` section of
``metrics.json``.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure

from interp.analysis.directions import Measure, Region, compare_directions, directions_metrics, walk_strips
from interp.analysis.exemplars import parse_indices
from interp.core.generation import generate
from interp.core.latent import sample_z
from interp.data.base import to_uint8_image
from interp.figures.context import FigureContext, domain_title
from interp.figures.plotting import FONT, TITLE_FONT, new_figure, save_figure, show_image_table
from interp.figures.registry import FigureResult, register_figure
from interp.figures.sample_sheet import attribute_notes, plot_sample_sheet

SIZES = {False: {"pool": 1000, "walk": 32, "k": 10}, True: {"pool": 200, "walk": 6, "k": 4}}
ATTRIBUTES = {"faces": ("male", "smiling", "eyeglasses", "yaw"), "rooms": ("window", "bed", "picture", "door")}
OPTIONS = ("world", "attributes", "pool", "walk", "k", "layer", "exemplars", "labels", "sheet")
N_SHEET = {False: 100, True: 40}
LABELS = {"sefa": "SeFa", "ganspace": "GANSpace", "interfacegan": "InterFaceGAN", "user_labels": "your labels",
          "exemplar_mean": "paper: exemplar means", "random": "best of k random"}
COLOURS = {"sefa": "tab:blue", "ganspace": "tab:green", "interfacegan": "tab:purple", "user_labels": "tab:orange",
           "exemplar_mean": "black", "random": "0.6"}


# --------------------------------------------------------------------------------------------- plot


def _fmt(v: float | None, sign: bool = False) -> str:
    if v is None:
        return "n/a"
    return (f"{v:+.2f}" if sign else f"{v:.2f}").replace("-", "−")


def plot_walks(images: np.ndarray, values: np.ndarray, metrics: Mapping[str, Any], title: str,
               inch: float = 0.5) -> Figure:
    """``images`` uint8 (methods, attributes · steps, 3, S, S): one row per method, one block per attribute;
    the measured attribute under each frame and the method's scores under each block."""
    methods, attributes, steps = list(metrics["methods"]), metrics["attributes"], metrics["steps"]
    T, A, M = len(steps), len(attributes), len(methods)
    gap = 0.35
    left, top, bottom = 1.45, 0.75 + 0.2 * title.count("\n"), 0.55
    row_h = inch + 0.24
    W = left + A * (T * inch + gap) + 0.1
    H = top + M * row_h + bottom
    fig = new_figure(W, H)
    fig.suptitle(title, fontsize=TITLE_FONT, y=1 - 0.06 / H, va="top")
    for j, a in enumerate(attributes):
        x0 = left + j * (T * inch + gap)
        best = metrics["best_method"][a]
        fig.text((x0 + T * inch / 2) / W, 1 - (top - 0.2) / H, f"{a}  (best: {LABELS[best]})", ha="center",
                 va="bottom", fontsize=FONT, weight="bold")
        for i, m in enumerate(methods):
            y0 = top + i * row_h
            ax = fig.add_axes((x0 / W, 1 - (y0 + inch) / H, T * inch / W, inch / H))
            if a not in metrics["methods"][m]:
                continue
            block = images[i, j * T : (j + 1) * T]
            notes = [[_fmt(v) for v in values[i, j * T : (j + 1) * T]]]
            show_image_table(ax, block[None], col_labels=[f"t = {t:+g}".replace("-", "−") for t in steps] if i == 0 else None,
                             cell_notes=notes, fontsize=FONT - 3)
            s = metrics["methods"][m][a]
            fig.text((x0 + T * inch / 2) / W, 1 - (y0 + inch + 0.02) / H,
                     f"effect {s['relative_effect']:.2f}/σ · ρ {_fmt(s['monotonicity'], True)} · "
                     f"other {_fmt(s['relative_entanglement'])}/σ", ha="center", va="top", fontsize=FONT - 3.5,
                     color="0.25")
    for i, m in enumerate(methods):
        fig.text((left - 0.1) / W, 1 - (top + i * row_h + inch / 2) / H, LABELS[m], ha="right", va="center",
                 fontsize=FONT - 1, color=COLOURS[m] if m != "random" else "0.4")
    caption = ("One fresh sample walked by t along each method's unit direction for each attribute; under each frame "
               "the instrument's reading of that attribute. Scores on all walked samples: effect = change per unit "
               "step / the attribute's spread (σ); ρ = Spearman(t, attribute); other = the other attributes' change "
               "per step / their σ.")
    fig.text(0.1 / W, 0.08 / H, "\n".join(textwrap.wrap(caption, int(W * 16))), ha="left", va="bottom",
             fontsize=FONT - 2.5, color="0.3")
    return fig


def plot_scores(metrics: Mapping[str, Any], title: str) -> Figure:
    """Four panels (relative effect, monotonicity, relative entanglement, pixel change — outside the target
    where the metrics have it): per attribute one bar per method; the random control's effect as a dashed line."""
    methods, attributes = list(metrics["methods"]), metrics["attributes"]
    panels = (("relative_effect", "effect per unit step / σ  (higher: finds it)"),
              ("monotonicity", "Spearman ρ(t, attribute)  (1: steady)"),
              ("relative_entanglement", "other attributes per step / σ  (lower: cleaner)"),
              ("pixel_change", "mean |pixel change| per unit step"))
    if any(s.get("outside_change") is not None for per in metrics["methods"].values() for s in per.values()):
        panels = (*panels[:3], ("outside_change", "|pixel change| outside target / step  (lower: local)"))
    W, H = 12.0, 3.4 + 0.2 * title.count("\n")
    fig = new_figure(W, H)
    fig.suptitle(title, fontsize=TITLE_FONT, y=0.99, va="top")
    width = 0.8 / len(methods)
    x = np.arange(len(attributes))
    for p, (key, label) in enumerate(panels):
        ax = fig.add_axes((0.05 + p * 0.245, 0.2, 0.2, 0.58 - 0.04 * title.count("\n")))
        for i, m in enumerate(methods):
            vals = [metrics["methods"][m].get(a, {}).get(key) for a in attributes]
            ax.bar(x + (i - (len(methods) - 1) / 2) * width, [np.nan if v is None else v for v in vals], width,
                   color=COLOURS[m], label=LABELS[m], alpha=0.85 if m != "random" else 0.6)
        if key == "relative_effect":
            for j, a in enumerate(attributes):
                r = metrics["methods"]["random"][a]["relative_effect"]
                ax.plot([j - 0.45, j + 0.45], [r, r], color="0.3", ls="--", lw=0.8)
        ax.set_xticks(x, attributes, fontsize=FONT - 2)
        ax.tick_params(labelsize=FONT - 2.5, length=2)
        ax.set_title(label, fontsize=FONT - 1.5)
        ax.axhline(0, color="0.8", lw=0.6)
        for spine in ("top", "right"):
            ax.spines[spine].set_visible(False)
    fig.axes[0].legend(loc="upper left", bbox_to_anchor=(0, -0.12), ncol=len(methods), fontsize=FONT - 2,
                       frameon=False)
    return fig


def directions_title(metrics: Mapping[str, Any], model: str) -> str:
    """Two or three lines: what is compared; per attribute the best method against the paper's exemplar means;
    the attributes no method finds."""
    m = metrics["methods"]
    best = [f"{a} {LABELS[b]} {m[b][a]['relative_effect']:.2f}σ vs {m['exemplar_mean'][a]['relative_effect']:.2f}σ"
            for a, b in metrics["best_method"].items()]
    missing = metrics["not_found"]
    line = textwrap.fill(f"best per attribute vs the exemplar means (effect per unit step): {'; '.join(best)}", 120)
    return (f"Latent directions ({model}): SeFa, GANSpace, InterFaceGAN vs the paper's exemplar means\n{line}"
            + (f"\nno method beats the random control on: {', '.join(missing)}" if missing else ""))


# ------------------------------------------------------------------------------------------ figure


def parse_labels(raw: Any) -> dict[str, tuple[list[int], list[int]]]:
    """``--option directions.labels=...``: a JSON object (or a .json file holding one) ``{attribute: {"positive":
    [sample numbers], "negative": [...]}}`` on the numbered pool sheet -> {attribute: (positive, negative)}."""
    if raw is None:
        return {}
    if isinstance(raw, str):
        from pathlib import Path

        text = Path(raw).read_text() if raw.endswith(".json") else raw
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"--option directions.labels: not JSON ({exc.msg})") from None
    if not isinstance(raw, dict):
        raise ValueError("--option directions.labels: expected {attribute: {\"positive\": [...], \"negative\": [...]}}")
    out = {}
    for name, spec in raw.items():
        if not isinstance(spec, dict) or set(spec) != {"positive", "negative"}:
            raise ValueError(f"--option directions.labels: {name!r} needs exactly the keys 'positive' and 'negative'")
        out[str(name)] = (parse_indices(spec["positive"], f"labels {name}.positive"),
                          parse_indices(spec["negative"], f"labels {name}.negative"))
    return out



def attribute_measure(ctx: FigureContext, gan: Any, attributes: Sequence[str] | None = None
                      ) -> tuple[Measure | None, list[str], str | None, bool]:
    """(measure, attributes, instrument name, faces?) for ``gan``: its world's instrument (rooms: segmenter
    class shares; faces: the attribute net), else the user's face net (``--instruments``), else no measure.
    The measure gives exactly ``attributes`` (default: :data:`ATTRIBUTES` of the world, those measured);
    an attribute the instrument does not give raises ValueError."""
    world = ctx.world_of(gan)
    full: Measure | None
    name: str | None
    if world == "rooms":
        from interp.analysis.forget import ClassMeter
        from interp.worlds.rooms import CLASS_NAMES

        meter = ClassMeter(ctx.instrument("rooms"), CLASS_NAMES)

        def shares(images: torch.Tensor) -> dict[str, np.ndarray]:
            s = meter.shares(images)
            return {c: s[:, i] for i, c in enumerate(CLASS_NAMES)}

        full, name, faces = shares, "room_segmenter", False
    else:
        full, name = ctx.face_predictor(gan)
        faces = True
    if full is None:
        return None, [], None, faces
    probe = full(generate(gan.generator, sample_z(2, gan.config, seed=ctx.seed)))
    chosen = [a for a in ATTRIBUTES["rooms" if world == "rooms" else "faces"] if a in probe] \
        if attributes is None else list(attributes)
    unknown = [a for a in chosen if a not in probe]
    if unknown or not chosen:
        raise ValueError(f"--option directions.attributes: {unknown or 'none'} not measured; the instrument gives "
                         f"{sorted(probe)}")
    measure_full = full

    def measure(images: torch.Tensor) -> dict[str, np.ndarray]:
        m = measure_full(images)
        return {a: np.asarray(m[a], np.float64) for a in chosen}

    return measure, chosen, name, faces


def attribute_region(ctx: FigureContext, gan: Any) -> Region | None:
    """Where each attribute of ``gan``'s world is drawn, for the yardstick's ``outside_change``: rooms, the
    segmenter's class masks; faces (attributes without a place in the image) and foreign data, None."""
    if ctx.world_of(gan) != "rooms":
        return None
    from interp.analysis.forget import ClassMeter
    from interp.worlds.rooms import CLASS_NAMES

    meter = ClassMeter(ctx.instrument("rooms"), CLASS_NAMES)

    def region(images: torch.Tensor) -> dict[str, torch.Tensor]:
        maps = torch.from_numpy(meter.maps(images).astype(np.int64))  # (N, S, S)
        return {c: maps == i for i, c in enumerate(CLASS_NAMES)}

    return region


@register_figure("directions", world="faces", title="Latent directions: newer methods vs the paper's (beyond the paper)")
def directions(ctx: FigureContext) -> FigureResult:
    """SeFa, GANSpace and InterFaceGAN directions against the paper's exemplar means and random directions,
    scored with one yardstick; walk strips and score panels."""
    ctx.check_options("directions", OPTIONS)
    want = str(ctx.option("directions", "world", "faces"))
    if want not in ATTRIBUTES:
        raise ValueError(f"--option directions.world={want}: choose from {sorted(ATTRIBUTES)}")
    gan = ctx.generator(want)
    sizes = SIZES[ctx.quick]
    raw = ctx.option("directions", "attributes")
    chosen = [a.strip() for a in str(raw).split(",") if a.strip()] if raw is not None else None
    measure_attributes, attributes, instrument, faces = attribute_measure(ctx, gan, chosen)
    values: dict[str, Any] = {"instrument": instrument, "epoch": gan.meta.get("epoch")}
    if measure_attributes is None:
        values["note"] = ("no instrument measures this model's data (directions are found but cannot be scored): "
                          "give --instruments (a face attribute net, interp instruments celeba) or use a world model")
        return FigureResult([], ctx.record("directions", gan, values))
    n_pool = int(ctx.option("directions", "pool", sizes["pool"]))
    n_walk = int(ctx.option("directions", "walk", sizes["walk"]))
    k = int(ctx.option("directions", "k", sizes["k"]))
    n_ex = int(ctx.option("directions", "exemplars", 3))
    layer = ctx.option("directions", "layer")
    labels = parse_labels(ctx.option("directions", "labels"))
    unknown = sorted(set(labels) - set(attributes))
    if unknown:
        raise ValueError(f"--option directions.labels: {unknown} are not among the measured attributes {attributes}")
    for a, (pos, neg) in labels.items():
        bad = sorted(i for i in pos + neg if not 0 <= i < n_pool)
        if bad or not pos or not neg or set(pos) & set(neg):
            raise ValueError(f"--option directions.labels: {a} needs positive and negative sample numbers, disjoint, "
                             f"in 0..{n_pool - 1} (got positive {pos}, negative {neg})")
    n_sheet = min(int(ctx.option("directions", "sheet", N_SHEET[ctx.quick])), n_pool)
    pool = sample_z(n_pool, gan.config, seed=ctx.seed)[:n_sheet]
    sheet_images = generate(gan.generator, pool)
    readings = measure_attributes(sheet_images)
    sheet = plot_sample_sheet(
        to_uint8_image(sheet_images).numpy(),
        title=f"Directions pool — {ctx.data_name(gan) or 'model'}, seed {ctx.seed}: samples 0–{n_sheet - 1}",
        notes=attribute_notes(readings) if faces else None,
        highlights={f"{a} +": p for a, (p, _) in labels.items()} | {f"{a} −": n for a, (_, n) in labels.items()},
        caption="tick samples by number for a direction of your own: --option 'directions.labels={\"smiling\": "
                "{\"positive\": [3, 17, 42], \"negative\": [5, 8, 60]}}' (or a .json file with that object)")
    pngs = [save_figure(sheet, ctx.png("directions_sample_sheet.png"))]
    if ctx.progress:
        print(f"  directions: {len(attributes)} attributes x 5 methods, pool {n_pool}, {n_walk} walkers", flush=True)
    try:
        result = compare_directions(gan.generator, measure_attributes, attributes, n_pool=n_pool, n_walk=n_walk, k=k,
                                    n_exemplars=n_ex, layer=layer, seed=ctx.seed, labels=labels,
                                    region=attribute_region(ctx, gan))
    except ValueError as exc:  # no attribute varies over the pool
        values["note"] = str(exc)
        return FigureResult(pngs, ctx.record("directions", gan, values))
    metrics = directions_metrics(result)
    attributes = metrics["attributes"]
    if metrics["constant"]:
        values["note"] = (f"left out, the instrument's reading does not vary over the {n_pool} pool samples: "
                          f"{', '.join(metrics['constant'])}")
    domain = ctx.domain_check(gan, faces=faces)
    values.update(metrics)
    values.update(domain)
    values["pool_latents"] = f"sample_z({n_pool}, seed={ctx.seed})"
    values["walk_latents"] = f"sample_z({n_walk}, seed={ctx.seed + 1})"
    values["definition"] = ("relative_effect: least-squares slope of the attribute against the step t (unit "
                            "direction, t in steps) over the attribute's std on the pool; monotonicity: Spearman "
                            "rho(t, attribute) pooled over walkers; relative_entanglement: mean over the other "
                            "attributes of |slope| / std; pixel_change: mean |pixel change| per unit step (images "
                            "in [-1, 1], channels averaged); outside_change: the same over the pixels where the "
                            "segmenter places the target in neither end frame (rooms; null for faces, whose "
                            "attributes have no place in the image)")
    directions_by_method = {m: {a: s["direction"] for a, s in per.items()} for m, per in result["methods"].items()}
    z_show = sample_z(n_walk, gan.config, seed=ctx.seed + 1)[0]
    images, strip_readings = walk_strips(gan.generator, z_show, directions_by_method, attributes, result["steps"],
                                   measure_attributes)
    title = directions_title(metrics, ctx.model_label(gan)) + domain_title(domain)
    pngs = [save_figure(plot_walks(images, strip_readings, metrics, title), ctx.png("directions_walks.png")),
            save_figure(plot_scores(metrics, title), ctx.png("directions_scores.png")), *pngs]
    return FigureResult(pngs, ctx.record("directions", gan, values))


__all__ = ["ATTRIBUTES", "attribute_measure", "attribute_region", "directions", "directions_title", "parse_labels", "plot_scores", "plot_walks"]
