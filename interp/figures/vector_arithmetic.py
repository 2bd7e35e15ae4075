"""Fig. 7: vector arithmetic on faces, against the pixel-space baseline.

For each equation (default: smiling woman − neutral woman + neutral man, and man with glasses −
man without glasses + woman without glasses; see :mod:`interp.analysis.arithmetic`):

* a pool of ``pool`` = 1,000 (quick: 200) seeded samples (:func:`interp.core.latent.sample_z`, seed
  ``ctx.seed``) is drawn; on the faces world the attribute classifier picks for each concept the 3
  samples it is surest of (every wanted attribute with probability >= ``confidence`` = 0.8; when too
  few samples reach it the 3 most likely are taken and the metrics ``note`` says so). Exemplars may
  instead be picked BY HAND from the numbered sheet ``fig7_sample_sheet.png`` (always written)::

      --option fig7.exemplars=smiling_man:3,17,42/5,8,60/11,12,90
      --option 'fig7.exemplars={"woman_with_glasses": [[1,2,3],[4,5,6],[7,8,9]]}'
      --option fig7.exemplars=picks.json            # the same JSON object in a file

  (groups a/b/c separated by "/", equations by ";"; a JSON value may also be
  ``{"name": {"groups": [[...], [...], [...]], "labels": ["a", "b", "c", "result"]}}`` for an
  equation of your own, whose success cannot be measured). ``--option fig7.pool=N`` sets the pool,
  ``fig7.sheet=N`` the samples on the sheet (100; quick 40), ``fig7.confidence=P``.
* Y = mean z(a) − mean z(b) + mean z(c); G(Y) is the centre of a 3×3 grid, its 8 neighbours
  G(Y + U(−0.25, 0.25)) (seeded). Beside it the same arithmetic in pixel space with the same 9
  offsets (centre: mean image(a) − mean image(b) + mean image(c)).

Numbers: ``success`` = share of the 9 latent outputs to which the classifier gives all target
attributes (p > 0.5), averaged over the equations; ``pixel_baseline_success`` the same for the pixel
outputs; per equation also the centre's verdict, the target prior (share of the pool that already
has the target attributes: what a random sample would score) and whether the exemplars carry their
own attributes. One choice of 9 exemplars decides an equation's ``success``, and another choice can move
it by 0.5 or more; so the arithmetic is also repeated with ``draws`` = 30 (quick: 3; ``--option fig7.draws=N``,
0: off) random exemplar triples drawn from the samples the classifier calls the concept with p >=
``confidence``: ``success_over_draws`` and ``pixel_baseline_success_over_draws`` (means over draws and
equations; per equation ``over_draws`` with the std). The aims stay on ``success``, the paper's procedure.
On data no classifier fits (a foreign generator), exemplars must be hand-picked; the numbers are then null
with a note.
"""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from interp.analysis.arithmetic import CONFIDENCE, Fig7Data, compute_fig7, parse_exemplars
from interp.analysis.robustness import claim_verdicts
from interp.data.base import to_uint8_image
from interp.figures.context import FigureContext, aims_title, domain_title
from interp.figures.plotting import FONT, PAD, TITLE_FONT, new_figure, save_figure, tile
from interp.figures.registry import FigureResult, register_figure
from interp.figures.sample_sheet import attribute_notes, plot_sample_sheet

N_POOL = {False: 1000, True: 200}
N_SHEET = {False: 100, True: 40}
N_DRAWS = {False: 30, True: 3}
OPTIONS = ("exemplars", "pool", "sheet", "confidence", "draws")


# ------------------------------------------------------------------------------------------ options


# ------------------------------------------------------------------------------------------ compute


# ------------------------------------------------------------------------------------------ plot


def _grid3(images: torch.Tensor) -> np.ndarray:
    """9 outputs (centre first) -> uint8 (3, 3, C, S, S) with output 0 in the middle."""
    order = [1, 2, 3, 4, 0, 5, 6, 7, 8]
    return to_uint8_image(images[order]).numpy().reshape(3, 3, *images.shape[1:])


def _ax(fig: Figure, W: float, H: float, x: float, top: float, w: float, h: float):
    """Axes at (x, top) inches from the top-left corner, w × h inches, no frame."""
    ax = fig.add_axes((x / W, (H - top - h) / H, w / W, h / H))
    ax.set_axis_off()
    return ax


def _show(ax, images_u8: np.ndarray) -> int:
    """Draw uint8 (R, C, 3, S, S) tiled; returns the tile step in pixels."""
    arr = images_u8 if images_u8.shape[2] == 3 else images_u8.repeat(3, 2)
    ax.imshow(tile(arr), interpolation="nearest")
    return arr.shape[-1] + PAD


def _tile_note(ax, r: int, c: int, step: int, S: int, text: str, colour: str, where: str = "br") -> None:
    x = PAD + c * step + (S - 1 if where.endswith("r") else 1)
    y = PAD + r * step + (S - 1 if where.startswith("b") else 1)
    ax.text(x, y, text, ha="right" if where.endswith("r") else "left", va="bottom" if where.startswith("b") else "top",
            fontsize=FONT - 3.5, color="white", bbox={"facecolor": colour, "alpha": 0.75, "pad": 0.4, "linewidth": 0})


def plot_arithmetic(data: Fig7Data, title: str, s: float = 0.62) -> Figure:
    """Per equation: the 3 exemplar columns (with G(mean z) and the mean image under each), "=",
    the 3×3 latent result grid (centre G(Y) outlined) and the 3×3 pixel-space grid beside it."""
    op, gap, left = 0.3, 0.35, 0.95
    eq_title, col_head, block_gap = 0.42, 0.4, 0.22
    block_h = eq_title + col_head + 3 * s + 0.08 + 2 * s + block_gap
    W = left + 3 * s + 3 * op + 3 * s + gap + 3 * s + 0.15
    head = 0.2 + 0.28 * (1 + title.count("\n"))
    caption = ("Each column: 3 exemplars (#: numbers on fig7_sample_sheet.png), G(mean z) of their mean latent, and "
               "their mean image. Y = mean z(a) − mean z(b) + mean z(c); centre (outlined) G(Y), 8 neighbours "
               "Y + U(−0.25, 0.25). Pixel space: mean images added and subtracted with the same 9 offsets.")
    if any(r.latent_hits is not None for r in data.results):
        caption += (" ✓/✗: the attribute classifier gives / does not give the target attributes (p > 0.5); "
                    "✗ on an exemplar: it lacks its own.")
    else:
        caption += " Not measured: no attribute classifier for this data."
    caption = "\n".join(textwrap.wrap(caption.replace("\n", " "), int(W * 21)))
    foot = 0.15 + 0.12 * (1 + caption.count("\n"))
    H = head + len(data.results) * block_h + foot
    fig = new_figure(W, H)
    fig.suptitle(title, fontsize=TITLE_FONT, y=1 - 0.08 / H, va="top")

    def wrap(t: str) -> str:
        return "\n".join(textwrap.wrap(t, 14))

    for e, res in enumerate(data.results):
        top = head + e * block_h
        eq = res.equation
        fig.text(0.12 / W, 1 - top / H, f"({e + 1})  {eq.text()}", ha="left", va="top", fontsize=FONT,
                 weight="bold")
        if res.latent_hits is not None:  # measured (res.success is not None)
            if res.pixel_hits is None:
                raise ValueError(f"{eq.name}: latent-space hits were measured without the pixel-space ones")
            fig.text(0.12 / W, 1 - (top + 0.19) / H,
                     f"target “{eq.target.name}” = {eq.target.describe().replace(' & ', ' and ')}:  "
                     f"latent space {int(res.latent_hits.sum())}/9,  pixel space {int(res.pixel_hits.sum())}/9",
                     ha="left", va="top", fontsize=FONT - 1.5)
        y_ex = top + eq_title + col_head
        y_mean = y_ex + 3 * s + 0.08
        xs = [left + i * (s + op) for i in range(3)]
        S = res.exemplar_images.shape[-1]
        for g, (concept, idx) in enumerate(zip(eq.concepts, res.groups, strict=True)):
            ex = to_uint8_image(res.exemplar_images[g]).numpy()[:, None]
            ax = _ax(fig, W, H, xs[g], y_ex, s, 3 * s)
            step = _show(ax, ex)
            for r, i in enumerate(idx):
                bad = res.exemplar_hits is not None and not res.exemplar_hits[g, r]
                _tile_note(ax, r, 0, step, S, f"#{i}" + (" ✗" if bad else ""), "tab:red" if bad else "black", "tl")
            means = to_uint8_image(torch.stack([res.mean_z_images[g], res.mean_pixel_images[g]])).numpy()[:, None]
            _show(_ax(fig, W, H, xs[g], y_mean, s, 2 * s), means)
            fig.text((xs[g] + s / 2) / W, 1 - (y_ex - 0.04) / H, wrap(concept.name), ha="center", va="bottom",
                     fontsize=FONT - 1)
            if g == 0:
                for r, label in enumerate(("exemplar 1", "exemplar 2", "exemplar 3")):
                    fig.text((left - 0.06) / W, 1 - (y_ex + (r + 0.5) * s) / H, label, ha="right", va="center",
                             fontsize=FONT - 2)
                for r, label in enumerate(("G(mean z)", "mean image")):
                    fig.text((left - 0.06) / W, 1 - (y_mean + (r + 0.5) * s) / H, label, ha="right", va="center",
                             fontsize=FONT - 2)
            sym = ("−", "+", "=")[g]
            fig.text((xs[g] + s + op / 2) / W, 1 - (y_ex + 1.5 * s) / H, sym, ha="center", va="center",
                     fontsize=TITLE_FONT + 3)
            if g < 2:  # the pixel arithmetic on the mean images
                fig.text((xs[g] + s + op / 2) / W, 1 - (y_mean + 1.5 * s) / H, sym, ha="center", va="center",
                         fontsize=TITLE_FONT)
        x_lat = left + 3 * (s + op)
        x_pix = x_lat + 3 * s + gap
        for x, images, hits, head_text in (
            (x_lat, res.latent_images, res.latent_hits, "latent space: G(Y) centre,\nneighbours G(Y + u)"),
            (x_pix, res.pixel_images, res.pixel_hits, "pixel space (baseline):\nsame arithmetic on images"),
        ):
            ax = _ax(fig, W, H, x, y_ex, 3 * s, 3 * s)
            step = _show(ax, _grid3(images))
            ax.add_patch(Rectangle((PAD + step - 1.5, PAD + step - 1.5), S + 2, S + 2, fill=False,
                                   edgecolor="tab:orange", linewidth=1.6))
            if hits is not None:
                order = [1, 2, 3, 4, 0, 5, 6, 7, 8]
                for j, k in enumerate(order):
                    ok = bool(hits[k])
                    _tile_note(ax, j // 3, j % 3, step, S, "✓" if ok else "✗", "tab:green" if ok else "tab:red")
            fig.text((x + 1.5 * s) / W, 1 - (y_ex - 0.04) / H, head_text, ha="center", va="bottom", fontsize=FONT - 1)
            if hits is not None:
                fig.text((x + 1.5 * s) / W, 1 - (y_ex + 3 * s + 0.05) / H,
                         f"{int(hits.sum())} of 9 are “{eq.target.name}”", ha="center", va="top", fontsize=FONT - 1)
        if res.target_prior is not None:
            fig.text((x_lat + 1.5 * s) / W, 1 - (y_ex + 3 * s + 0.25) / H,
                     f"(a random sample is one: {res.target_prior:.0%} of the pool)", ha="center", va="top",
                     fontsize=FONT - 2.5, color="0.35")
    fig.text(0.12 / W, 0.08 / H, caption, ha="left", va="bottom", fontsize=FONT - 2.5, color="0.3")
    return fig


# ------------------------------------------------------------------------------------------ figure


def _highlights(data: Fig7Data) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for sels in data.selections.values():
        for s in sels:
            out.setdefault(s.concept, []).extend(i for i in s.indices if i not in out.get(s.concept, []))
    return out


def _draws_title(data: Fig7Data) -> str:
    """One title line: the same success averaged over random exemplar choices (empty without draws)."""
    dl, dp = data.draws_means()
    if dl is None:
        return ""
    n = min(d["n_draws"] for d in data.draws.values() if d.get("n_draws"))
    return f"\nover {n} random choices of the exemplars: {dl:.0%} latent vs {dp:.0%} pixel space (the aims judge the 3 surest, as in the paper)"


@register_figure("fig7", world="faces", title="Vector arithmetic on faces (paper Fig. 7)")
def fig7(ctx: FigureContext) -> FigureResult:
    """Latent vs pixel-space arithmetic with 3-exemplar means; share of outputs with the target attributes."""
    ctx.check_options("fig7", OPTIONS)
    gan = ctx.generator("faces")
    n_pool = int(ctx.option("fig7", "pool", N_POOL[ctx.quick]))
    n_sheet = min(int(ctx.option("fig7", "sheet", N_SHEET[ctx.quick])), n_pool)
    confidence = float(ctx.option("fig7", "confidence", CONFIDENCE))
    raw = ctx.option("fig7", "exemplars")
    picks = parse_exemplars(raw) if raw is not None else None
    n_draws = int(ctx.option("fig7", "draws", N_DRAWS[ctx.quick]))
    predict, instrument = ctx.face_predictor(gan)
    data = compute_fig7(gan.generator, gan.config, predict, seed=ctx.seed, n_pool=n_pool, picks=picks, confidence=confidence,
                        n_draws=n_draws)
    name = ctx.data_name(gan) or "model"
    pngs = []
    sheet = plot_sample_sheet(
        to_uint8_image(data.pool.images[:n_sheet]).numpy(),
        title=f"Fig. 7 sample sheet — {name}, seed {ctx.seed}: samples 0–{n_sheet - 1} (numbers = exemplar indices)",
        notes=attribute_notes({k: v[:n_sheet] for k, v in data.pool_pred.items()}) if data.pool_pred else None,
        highlights=_highlights(data),
        caption=("pick exemplars by number: --option fig7.exemplars=smiling_man:a,a,a/b,b,b/c,c,c"
                 + ("; verdict per tile: M/F, S smiling, G glasses, yaw" if data.pool_pred else "")))
    pngs.append(save_figure(sheet, ctx.png("fig7_sample_sheet.png")))
    values: dict[str, Any] = {
        "success": data.success, "pixel_baseline_success": data.pixel_success,
        "per_equation": {r.equation.name: r.summary() for r in data.results},
        "exemplar_choice": {n: [s.as_dict() for s in sels] for n, sels in data.selections.items()},
        "n_pool": n_pool, "confidence": confidence, "noise": 0.25, "z_distribution": gan.config.z_distribution,
        "epoch": gan.meta.get("epoch"),
        "instrument": instrument,
        "success_definition": "share of the 9 outputs (Y and 8 neighbours) to which the attribute classifier gives "
                              "every target attribute (p > 0.5), mean over equations",
    }
    domain = ctx.domain_check(gan, faces=True) if predict is not None else {}
    values.update(domain)
    if predict is not None and data.results:
        ws, wp, names = data.well_posed_means()
        values.update({"success_well_posed": ws, "pixel_baseline_success_well_posed": wp, "well_posed_equations": names})
    if data.draws:
        dl, dp = data.draws_means()
        values.update({"success_over_draws": None if dl is None else round(dl, 4),
                       "pixel_baseline_success_over_draws": None if dp is None else round(dp, 4), "n_draws": n_draws})
        for eq_name, d in data.draws.items():
            values["per_equation"][eq_name]["over_draws"] = d
    if data.results:
        s, p = data.success, data.pixel_success
        title = (f"Fig. 7 — vector arithmetic ({ctx.model_label(gan)})"
                 + (f": target attributes in {s:.0%} of latent outputs vs {p:.0%} in pixel space"
                    if s is not None else "") + _draws_title(data) + aims_title(claim_verdicts("fig7", values))
                 + domain_title(domain))
        pngs.insert(0, save_figure(plot_arithmetic(data, title), ctx.png("fig7_vector_arithmetic.png")))
    notes = list(data.notes)
    if predict is None:
        notes.insert(0, f"no attribute classifier fits this data ({ctx.data_name(gan) or 'unknown; pass --data faces if it is the faces world'}"
                        "; only the faces world has one; --instruments gives your own): success not measured")
    if notes:
        values["note"] = "; ".join(notes)
    return FigureResult(pngs, ctx.record("fig7", gan, values))


__all__ = ["Fig7Data", "compute_fig7", "fig7", "parse_exemplars", "plot_arithmetic"]
