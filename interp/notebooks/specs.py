"""One spec per notebook: ``notebooks/<name>.ipynb`` is generated from these.

Every notebook has the same shape: a title with what the paper claimed and what we measure, a
parameters cell (tagged ``parameters``; :mod:`interp.notebooks.build` injects new values there), a
setup cell, a cell that calls into :mod:`interp` and shows the figure and its numbers, and a closing
cell that prints a sentence comparing the measured numbers (read from the run, never typed in) to
the paper's claim.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Param:
    """One line of a parameters cell: ``NAME = default  # comment``."""

    name: str
    default: Any
    comment: str


COMMON_PARAMS: tuple[Param, ...] = (
    Param("CHECKPOINT", None, "checkpoint file or run directory; None: the project's default model"),
    Param("DATA", None, "what CHECKPOINT was trained on (rooms, faces, ...) if its metadata does not say"),
    Param("OUT", None, "PNGs + metrics.json go here; None: runs/figures (runs/figures-quick if QUICK)"),
    Param("QUICK", False, "tiny default models, quick instruments, small sample counts (smoke runs, CI)"),
    Param("SEED", 0, "seed of every latent sample"),
    Param("DEVICE", "cpu", "device for the models"),
    Param("PROGRESS", True, "progress bars (the batch runner turns them off)"),
    Param("OPTIONS", {}, "per-figure settings, as `python -m interp.figures --option`: {'fig7': {'pool': 500}}"),
)

PROBE_PARAMS: tuple[Param, ...] = COMMON_PARAMS + (
    Param("LABEL", None, "label to predict; None: rooms 'has_bed' (bed or not), faces 'attribute:smiling'"),
    Param("LABELS_PER_CLASS", None, "labelled examples per class per draw (Table 2 style: 100); None: all"),
    Param("N_TRAIN", None, "train images; None: 1000 (600 if QUICK)"),
    Param("N_TEST", None, "test images; None: 1000 (300 if QUICK)"),
    Param("DRAWS", None, "label draws to average over; None: 2 (2 if QUICK)"),
)


@dataclass(frozen=True)
class Section:
    """A markdown cell (optional) and the code cell after it, in place of the standard run cell."""

    id: str
    markdown: str | None
    code: str


@dataclass(frozen=True)
class NotebookSpec:
    """What one notebook shows. ``figure``: the registered figure it needs (the notebook is skipped
    while it is not registered); ``module``: the module that registers it when ``interp.figures``
    does not import it itself (imported by the notebook and by the runner)."""

    name: str
    title: str
    claim: str  # markdown: what the paper showed / claimed
    measure: str  # markdown: what we measure and how to read it
    figure: str | None
    verdict: str  # code of the closing cell: prints a sentence built from the measured numbers
    module: str | None = None
    run: str | None = None  # code of the main cell; None: run_figure(figure, ctx) + show_result
    params: tuple[Param, ...] = COMMON_PARAMS
    setup: str | None = None  # code of the setup cell; None: the standard figure context
    sections: tuple[Section, ...] = ()  # cells in place of the run cell (e.g. a drawing widget)

    def run_code(self) -> str:
        """The main cell's code."""
        if self.run is not None:
            return self.run
        if self.figure is None:
            raise ValueError(f"notebook {self.name!r}: give either a figure or run code")
        head = f"import {self.module}  # noqa: F401  (registers {self.figure!r})\n" if self.module else ""
        return f"{head}result = run_figure({self.figure!r}, ctx)\nshow_result(result)"


_NOTE = 'if m.get("note"):\n    print("Note:", m["note"])'

_FD_VERDICT = """\
m = result.metrics
r = ratio(m["fd"], m["fd_floor"])
print(f"Samples after epoch {m['epoch']}: Fréchet distance {fmt(m['fd'], '.2f')} to held-out renders; "
      f"real-vs-real floor {fmt(m['fd_floor'], '.2f')} ({fmt(r, '.1f')}× the floor).")
"""

FIG2 = NotebookSpec(
    name="fig2_samples_epoch1",
    title="Fig. 2 — samples after one epoch",
    claim=("After **one pass** over LSUN bedrooms (small learning rate, minibatch SGD) the samples already "
           "look like bedrooms. The argument: after a single pass the model cannot have memorised its "
           "training images, so good samples here are not copies."),
    measure=("An 8×8 grid of samples from the run's epoch-1 checkpoint, and the **Fréchet distance** `fd` of "
             "generated vs held-out real renders in the feature space of an instrument trained on the "
             "world's own labels (rooms: the segmenter), next to `fd_floor`, the FD of real vs real at the "
             "same sample size. `fd / fd_floor` = 1 would mean samples as close to the data as other real "
             "images."),
    figure="fig2",
    verdict=_FD_VERDICT + """\
if r is not None:
    print("The paper shows good-looking one-epoch samples (no number); by this measure the samples are "
          + ("close to real renders (within 2× the floor)." if r <= 2 else "still far from real renders "
             "(more than 2× the floor)."))
""" + _NOTE,
)

FIG3 = NotebookSpec(
    name="fig3_samples_epoch5",
    title="Fig. 3 — samples after five epochs",
    claim=("After five epochs the samples are better, but show **under-fitting artefacts**: the same noise "
           "texture repeated across samples (visible on e.g. the bed sheets)."),
    measure=("Samples of the epoch-5 checkpoint (quick mode: the epoch-2 checkpoint stands in, noted in the "
             "metrics), with the same Fréchet distance `fd` and floor `fd_floor` as Fig. 2, so the two "
             "epochs can be compared."),
    figure="fig3",
    verdict=_FD_VERDICT + """\
from interp.figures import read_metrics

epoch1 = read_metrics(ctx.metrics_path).get("fig2", {})
if epoch1.get("fd") is not None and m["fd"] is not None:
    better = m["fd"] < epoch1["fd"]
    print(f"After epoch {epoch1.get('epoch')} it was {epoch1['fd']:.2f}: more training "
          + ("brought the samples closer to real data, as the paper's figures suggest." if better
             else "did not lower the distance here."))
else:
    print("Run the Fig. 2 notebook first (same OUT) to compare with the one-epoch samples.")
""" + _NOTE,
)

MEMORIZATION = NotebookSpec(
    name="memorization",
    title="§4.1 — is the model memorising? Nearest training images of samples",
    claim=("Section 4.1 argues the model does not memorise: one-epoch samples already look good (Fig. 2), "
           "walks through latent space are smooth (Fig. 4), and the training set was de-duplicated with an "
           "autoencoder hash. The authors' code also logged the nearest-neighbour distance from samples to "
           "held-out images."),
    measure=("Each sample beside its nearest training image and nearest held-out image (pixel L2 on 32×32). "
             "`nn_ratio` = median over samples of (distance to nearest training image) / (distance to nearest "
             "held-out image), with equally many images in both reference sets: ≈ 1 means samples are no "
             "closer to the images the model saw than to unseen ones; ≪ 1 means copies."),
    figure="memorization",
    verdict="""\
m = result.metrics
r = m["nn_ratio"]
if r is None:
    print("nn_ratio not measured.")
else:
    print(f"nn_ratio = {r:.3f} (median NN distance to training images / to held-out images).")
    print("No sign of memorisation: samples are about as far from the training images as from unseen ones, "
          "as the paper argues." if r >= 0.9 else
          "Samples sit closer to the training images than to unseen ones (ratio below 0.9): compare each "
          "sample with its nearest training image above; copies would look the same.")
if m.get("nn_ratio_epoch1") is not None:
    print(f"The one-epoch model (the paper's argument): nn_ratio = {m['nn_ratio_epoch1']:.3f}.")
""" + _NOTE,
)

FIG4 = NotebookSpec(
    name="fig4_latent_walk",
    title="Fig. 4 — walking the latent space",
    claim=("Rows of interpolations through 9 random points of z. **Smooth transitions** mean the model has "
           "learned relevant representations rather than memorised; sharp jumps would suggest memorisation. "
           "Semantic changes appear along the walks (a wall slowly gains a window; a TV turns into a "
           "window)."),
    measure=("`max_step_ratio` = the largest single step (pixel L2 between consecutive frames of a finely "
             "sampled walk) over the mean step of the same walk, for the worst walk: a smooth walk stays "
             "near 1–3, a sharp jump stands far above. On rooms, the segmenter's window and bed share is "
             "drawn under each row, so \"a window slowly appears\" becomes a visible ramp."),
    figure="fig4",
    verdict="""\
m = result.metrics
r = m["max_step_ratio"]
print(f"Worst of {m.get('n_walks')} walks (walk {m.get('worst_walk')}): largest single step = {fmt(r, '.2f')}× "
      "the mean step of that walk.")
if r is not None:
    print("Smooth, as the paper reports (no step above 3× the mean)." if r <= 3 else
          "At least one sharp jump (above 3× the mean step): look at that row.")
windows = m.get("window_range_per_walk")
if m.get("in_domain") is False:
    print(against_paper(m, False, "", ""))
elif windows and max(windows) >= 0.01:
    print(f"The segmenter's window share changes by up to {max(windows):.3f} of the image along a walk: "
          "see the curves for whether windows appear gradually or switch on.")
elif windows:
    print("The segmenter finds (almost) no windows changing along these walks.")
""" + _NOTE,
)

FIG5 = NotebookSpec(
    name="fig5_guided_backprop",
    title="Fig. 5 — guided backpropagation of discriminator features",
    claim=("Guided-backpropagation visualisations of the discriminator's last convolution layer: for a "
           "**trained** D the features fire on typical parts of a bedroom (beds, windows); for a "
           "**randomly initialised** D (the baseline) they respond to nothing semantically relevant."),
    measure=("For the 6 most active last-conv filters of each D, the guided-backprop images of their "
             "strongest responses on held-out renders. `object_energy_trained` / `object_energy_random` = "
             "the share of guided-backprop energy that falls on labelled object pixels (window, bed, "
             "picture, door, ... — not wall, floor, ceiling); spread uniformly it would equal the object "
             "pixel share (`object_pixel_share_*`, the chance level). Each filter's preferred class is the "
             "class with the largest energy share / pixel share."),
    figure="fig5",
    verdict="""\
m = result.metrics
t, r = m["object_energy_trained"], m["object_energy_random"]
print(f"Guided-backprop energy on object pixels: trained D {fmt(t)}, random D {fmt(r)} "
      f"(chance: {fmt(m.get('object_pixel_share_trained'))} and {fmt(m.get('object_pixel_share_random'))}).")
if m.get("preferred_class_trained"):
    print("Preferred class per filter: trained", m["preferred_class_trained"], "| random",
          m.get("preferred_class_random"))
if t is not None and r is not None:
    aims_met = all(v.get("met") for v in (m.get("aims") or {}).values())
    print("As in the paper, the trained D's features concentrate on objects more than the random D's."
          if t > r and aims_met else
          f"Partly as in the paper: the trained D concentrates on objects more than the random D "
          f"({fmt(ratio(t, r), '.2f')}x), but less than the aim asks (see the aims above)." if t > r else
          "Unlike the paper's figure, the trained D does not concentrate on objects more than the random D here.")
""" + _NOTE,
)

FIG6 = NotebookSpec(
    name="fig6_forget_windows",
    title="Fig. 6 — forgetting to draw windows",
    claim=("On 150 samples, 52 window bounding boxes were drawn by hand. A logistic regression on the "
           "generator's second-highest conv layer predicted whether an activation lies on a window; every "
           "feature map with a positive weight (200 of them) was dropped. In the new samples **windows "
           "vanish** or turn into doors and mirrors, while the rest of the scene stays coherent."),
    measure=("The same procedure on generated rooms (`interp/figures/forget_windows.py` says where the window "
             "boxes come from; `fig6_annotate_by_hand.ipynb` lets you draw your own). `auc`: the logistic "
             "regression's held-out AUC; `maps_dropped`; window pixel share (by the segmenter) "
             "`window_frac_before` → `window_frac_after`, against `window_frac_random_control` (as many "
             "random maps dropped); `other_classes_abs_change`: how much the rest of the scene changed."),
    figure="fig6",
    module="interp.figures.forget_windows",
    verdict="""\
m = result.metrics
b, a, c = m["window_frac_before"], m["window_frac_after"], m["window_frac_random_control"]
print(f"Dropped {fmt(m['maps_dropped'])} feature maps (window classifier AUC {fmt(m['auc'])}).")
print(f"Window pixel share: {fmt(b, '.4f')} before, {fmt(a, '.4f')} after the drop, "
      f"{fmt(c, '.4f')} after dropping as many random maps; other classes changed by "
      f"{fmt(m['other_classes_abs_change'], '.4f')}.")
if None not in (a, b, c):
    aims_met = all(v.get("met") for v in (m.get("aims") or {}).values())
    fewer = a < c and a < b
    print(against_paper(m, fewer and aims_met,
                        "As in the paper, windows vanish far more than when random maps are dropped.",
                        f"Partly as in the paper: dropping the window maps removes {fmt(1 - a / b, '.0%')} of the window "
                        "pixels, more than the random control, but the windows do not vanish (see the aims above)."
                        if fewer else
                        "Unlike the paper, dropping the window maps does not remove windows more than the random control."))
""" + _NOTE,
)

FIG7 = NotebookSpec(
    name="fig7_vector_arithmetic",
    title="Fig. 7 — vector arithmetic on faces",
    claim=("Averaging z over three exemplars per concept, *smiling woman − neutral woman + neutral man* "
           "decodes to a **smiling man** (and *man with glasses − man without + woman* to a woman with "
           "glasses); the same arithmetic in pixel space gives a blurry overlay."),
    measure=("`success`: how often the decoded result (centre sample and its noisy neighbours) carries the "
             "target attributes according to an attribute classifier trained on the faces world's labels; "
             "`pixel_baseline_success`: the same for the pixel-space arithmetic. One choice of exemplars decides "
             "these; `success_over_draws` / `pixel_baseline_success_over_draws` average them over 30 random "
             "choices among the samples the classifier is sure of (the aims judge the paper's procedure)."),
    figure="fig7",
    module="interp.figures.vector_arithmetic",
    verdict="""\
m = result.metrics
s, p = m["success"], m["pixel_baseline_success"]
print(f"Latent arithmetic gives the target attributes in {fmt(s, '.0%')} of its outputs; the same arithmetic "
      f"in pixel space in {fmt(p, '.0%')}.")
if s is not None and p is not None:
    print(against_paper(m, s > p, "As in the paper, arithmetic in z works and beats the pixel-space baseline.",
                        "Unlike the paper, arithmetic in z does not beat the pixel-space baseline here."))
if m.get("success_over_draws") is not None:
    print(f"Over {m['n_draws']} random choices of the exemplars: {fmt(m['success_over_draws'], '.0%')} in z, "
          f"{fmt(m['pixel_baseline_success_over_draws'], '.0%')} in pixel space.")
""" + _NOTE,
)

FIG8 = NotebookSpec(
    name="fig8_turn_vector",
    title="Fig. 8 — a \"turn\" vector",
    claim=("The mean z of four faces looking left minus the mean z of four looking right gives a **turn "
           "vector**; adding steps along it to random samples turns their pose smoothly."),
    measure=("`spearman`: the rank correlation between the step along the turn vector and the head yaw "
             "measured by the attribute network (trained on the faces world's pose labels), pooled over "
             "all walks. The vector points from right- to left-looking and negative yaw is looking left, "
             "so a working turn vector gives ρ near −1 (the aim: |ρ| ≥ 0.9); "
             "`spearman_random_direction` is the control, a random direction of the same length (≈ 0)."),
    figure="fig8",
    module="interp.figures.turn_vector",
    verdict="""\
m = result.metrics
s, c, turn = m["spearman"], m.get("spearman_random_direction"), m.get("yaw_change_mean")
print(f"Spearman correlation between the step along the turn vector and the measured yaw: {fmt(s, '+.3f')} "
      f"(random direction of the same length: {fmt(c, '+.3f')}); mean yaw change over a walk {fmt(turn, '+.3f')} "
      "(yaw -1 ... +1 = -45° ... +45°).")
if m.get("in_domain") is False:
    print(against_paper(m, False, "", ""))
elif s is not None and abs(s) < 0.9:
    print("The pose follows the vector only partly here (|rho| < 0.9; the aim is |rho| >= 0.9).")
elif s is not None and turn is not None and abs(turn) < 0.1:
    print("The pose moves consistently with the vector (|rho| >= 0.9) but hardly at all: the faces barely turn.")
elif s is not None:
    print("As in the paper, moving along the vector turns the faces (|rho| >= 0.9).")
share, even = m.get("yaw_largest_step_share"), m.get("yaw_largest_step_share_even")
if share is not None and even is not None:
    print(f"Smoothness: the largest step of a walk carries {share:.0%} of its yaw change (an even turn: {even:.0%}; "
          "a snap from one side to the other: 100%).")
""" + _NOTE,
)

TABLE1 = NotebookSpec(
    name="table1_probe",
    title="Tables 1–2 — the discriminator as a feature extractor",
    claim=("Every conv layer of D, max-pooled to a 4×4 grid, flattened and concatenated, feeds a "
           "regularised linear L2-SVM. **CIFAR-10: 82.8 % accuracy** with a D trained on ImageNet-1k "
           "(k-means baseline 80.6 %); **SVHN with 1000 labels: 22.48 % error** (a supervised CNN of the "
           "same architecture: 28.87 %)."),
    measure=("The same protocol (`interp.analysis.probe`: LinearSVC, C chosen on a validation split, mean ± std over "
             "label draws) on the world the model was trained on: rooms → number of windows (0–3, 4 "
             "classes), faces → smiling. `accuracy` ± `accuracy_std` for the trained D, "
             "`accuracy_random_d` for a freshly initialised D of the same architecture (the control), and "
             "`chance` (majority class). `LABELS_PER_CLASS = 100` gives Table 2's few-label setting."),
    figure="table1",
    module="interp.figures.probe_table",
    params=PROBE_PARAMS,
    run="""\
probe = {"label": LABEL, "labels_per_class": LABELS_PER_CLASS, "n_train": N_TRAIN, "n_test": N_TEST, "draws": DRAWS}
ctx.options.setdefault("table1", {}).update({k: v for k, v in probe.items() if v is not None})  # = --option table1.KEY=VALUE
result = run_figure("table1", ctx)
show_result(result)""",
    verdict="""\
m = result.metrics
a, r, c = m["accuracy"], m.get("accuracy_random_d"), m.get("chance")
print(f"{m.get('dataset')} / {m.get('label')}: trained-D features {fmt(a, '.1%')} ± {fmt(m['accuracy_std'], '.1%')}, "
      f"random-D features {fmt(r, '.1%')}, majority class {fmt(c, '.1%')} "
      f"({m.get('n_train')} labelled images, {m.get('draws')} draws).")
if None not in (a, r):
    print("As in the paper, the trained discriminator's features are a better representation than a random D's."
          if a > r else "Here the trained D's features do not beat the random-D control.")
""" + _NOTE,
)

HAND_PARAMS: tuple[Param, ...] = (
    Param("CHECKPOINT", None, "checkpoint file or run directory; None: the default rooms model"),
    Param("DATA", None, "what CHECKPOINT was trained on, if its metadata does not say"),
    Param("N", 150, "samples to annotate (the paper: 150)"),
    Param("SEED", 0, "latent seed of those samples"),
    Param("WORK", "runs/fig6_hand", "sheet.png, boxes.csv / boxes.json and the figure go here"),
    Param("BOXES", None, "a box file to import instead of drawing (.csv or COCO .json)"),
    Param("QUICK", False, "tiny stand-in model and small sample counts (smoke runs)"),
    Param("DEVICE", "cpu", "torch device of the models"),
)

FIG6_HAND = NotebookSpec(
    name="fig6_annotate_by_hand",
    title="Fig. 6 by hand — draw the window boxes yourself",
    claim="On 150 generated bedrooms, 52 window bounding boxes were drawn by hand. A\nlogistic regression on the generator's second-highest conv layer predicted whether an activation\nlies on a window (activations inside the boxes vs random ones from the same images); every feature\nmap with a positive weight was dropped, and the same samples were generated again: windows vanish.",
    measure=('You draw the boxes: run the cells, draw boxes around the windows on the numbered sheet\n(class *window*), then run the cells below it. The boxes are saved to `WORK/boxes.csv`\n(`image,x0,y0,x1,y1` in sample pixels) and `WORK/boxes.json` (COCO), so the experiment can be\nre-run from them (`BOXES = "runs/fig6_hand/boxes.csv"`, or `interp forget run\n--checkpoint ... --boxes ...`). With your own DCGAN (e.g. LSUN bedrooms) set `CHECKPOINT`; no\nsegmenter is needed (the window pixel shares are then not measured, the rows are shown).'
             " When nothing is drawn (e.g. run headless) the boxes fall back to `BOXES`, then to "
             "`WORK/boxes.csv`, then (rooms models) to the segmenter's automatic boxes, and the notebook says so."),
    figure="fig6",
    params=HAND_PARAMS,
    setup='from pathlib import Path\n\nfrom IPython.display import Image, display\n\nfrom interp.notebooks.annotation import AnnotationSession\nfrom interp.figures.context import recorded_path\nfrom interp.figures.forget_windows import fig6\nfrom interp.notebooks.kit import enter_project_root, figure_context, fmt, show_result\n\nenter_project_root()  # relative paths (runs/) are the project\'s, wherever Jupyter was started\nctx = figure_context(CHECKPOINT, data=DATA, out=WORK, quick=QUICK, seed=SEED, device=DEVICE)\ngan = ctx.gan("rooms")\nsegmenter = ctx.instrument("rooms") if ctx.world_of(gan) == "rooms" else None\nfrom interp.worlds.rooms import CLASS_NAMES\n\nsession = AnnotationSession.create(gan.G, gan.config, n=N, seed=SEED, work=WORK, segmenter=segmenter,\n                                   class_names=CLASS_NAMES)\nprint(f"{session.n} samples of {recorded_path(gan.path)} on {session.sheet_path}")',
    sections=(
        Section("draw", '## Draw\n\nDraw a box around every window you see (class *window*); the number above each sample is its index.\nA box belongs to the sample under its centre and is clipped to it. Then run the cells below.\n\nBoxes saved earlier (`WORK/boxes.csv`, e.g. before a kernel restart) are shown on the widget and kept: new boxes are added to them, the old file is backed up first (`boxes.bak1.csv`, ...). Deleting a box on the widget does not delete it from the file; `session.clear()` does (with a backup).', 'widget = session.widget()\nwidget if widget is not None else display(Image(filename=str(session.sheet_path)))'),
        Section("fit", "## Fit, drop, measure\n\nThe drawn boxes (or the fallback, see above) go through the paper's procedure\n(`interp.analysis.forget`): positives = activations inside the boxes, negatives = random activations\nof the same images, logistic regression, every map with weight > 0 dropped at all locations, the same\nsamples generated with and without the drop, and as many random maps dropped as a control.", 'boxes = session.collect(BOXES)\nresult = fig6(ctx, boxes=boxes, n_annotated=N, box_source=session.source)\nshow_result(result)'),
    ),
    verdict='m = result.metrics\nprint(f"boxes: {session.source}")\nprint(f"Dropped {fmt(m[\'maps_dropped\'])} feature maps (window classifier held-out AUC {fmt(m[\'auc\'])}).")\nb, a, c = m.get("window_frac_before"), m.get("window_frac_after"), m.get("window_frac_random_control")\nif None not in (a, b, c):\n    print(f"Window pixel share {fmt(b)} -> {fmt(a)} with the drop, {fmt(c)} with as many random maps dropped.")\nelse:\n    print(m.get("note", "window shares not measured"))',
)

DIRECTIONS = NotebookSpec(
    name="directions",
    title="Beyond the paper — latent directions, five ways, one yardstick",
    claim=("The paper found its directions by hand: the mean z of three exemplars per concept (Fig. 7), of four "
           "faces per pose (Fig. 8). Later work finds them without exemplars — **SeFa** (eigenvectors of the "
           "layer that projects z), **GANSpace** (PCA of a layer's activations mapped back to z), "
           "**InterFaceGAN** (the normal of a linear boundary fitted on attribute scores) — but each was shown "
           "on its own models and scored its own way."),
    measure=("Every method's best direction per attribute (faces: `male`, `smiling`, `eyeglasses`, `yaw`; "
             "rooms with `OPTIONS = {'directions': {'world': 'rooms'}}`: window, bed, picture, door pixel "
             "shares), walked by t ∈ {−2 … 2} from the same fresh samples and read by the world's instrument: "
             "`relative_effect` (change per unit step over the attribute's spread σ), `monotonicity` (Spearman ρ), "
             "`relative_entanglement` (the other attributes' change per step over their σ) and `pixel_change` (mean |pixel change| per step); for rooms also `outside_change`, the pixel change outside the regions where the segmenter draws the attribute (lower: the edit stays local). "
             "The control is the best of k random directions; `not_found` lists attributes no method moves more "
             "than it."),
    figure="directions",
    module="interp.figures.directions",
    verdict="""\
m = result.metrics
if "methods" in m:
    for a in m["attributes"]:
        s = {k: v[a]["relative_effect"] for k, v in m["methods"].items() if a in v}  # your labels: some only
        best = m["best_method"][a]
        print(f"{a}: best {best} {s[best]:.2f} sigma per unit step; the paper's exemplar means {s['exemplar_mean']:.2f}; "
              f"random control {s['random']:.2f}.")
    beaten = [a for a, ms in m["beats_exemplar_mean"].items() if ms]
    print(f"A newer method beats the paper's exemplar means on {len(beaten)} of {len(m['attributes'])} attributes"
          + (f" ({', '.join(beaten)})." if beaten else "."))
    if m["not_found"]:
        print("No method moves these more than a random direction:", ", ".join(m["not_found"]))
    if m.get("in_domain") is False:
        print(against_paper(m, False, "", ""))
""" + _NOTE,
)

DISSECTION = NotebookSpec(
    name="dissection",
    title="Beyond the paper — dissecting the generator, every class",
    claim=("Fig. 6 removed one class (windows) by dropping the feature maps a logistic regression on 52 "
           "hand-drawn boxes picked. **GAN Dissection** (Bau et al. 2019) generalised this: score every unit "
           "against every class of a segmenter (IoU of its thresholded activation with the class mask), then "
           "drop a class's top units and count what the generator forgets to draw."),
    measure=("On the rooms model: every unit of the Fig. 6 layer against the segmenter's 11 classes "
             "(`classes.<class>.top_units`, `top_iou`); for each object class its top-k units by IoU dropped vs "
             "k random units (`removed_ranked`, `removed_random`: share of the class's pixels gone, on fresh "
             "samples); and on windows three ways of choosing the units — by IoU, by the paper's logistic "
             "regression, by each unit's causal effect — compared per unit dropped (`windows.removed`)."),
    figure="dissection",
    module="interp.figures.dissection",
    verdict="""\
m = result.metrics
if "classes" in m:
    k = m["counts"][-1]
    for c in m["ablated_classes"]:
        e = m["classes"][c]
        print(f"{c}: dropping its top {k} units removes {e['removed_ranked'][-1]:.0%} of its pixels "
              f"({k} random units: {e['removed_random'][-1]:.0%}).")
    w = m.get("windows")
    if w:
        r = w["removed"]
        print("Windows, " + str(k) + " units dropped: " + ", ".join(f"{n} {v[-1]:.0%}" for n, v in r.items())
              + f"; best ranking at {k}: {w['best_ranking'][str(k)]}.")
    if m.get("in_domain") is False:
        print(against_paper(m, False, "", ""))
""" + _NOTE,
)

EXPLORER_PARAMS: tuple[Param, ...] = COMMON_PARAMS + (
    Param("WORLD", "faces", "which default model to explore: faces or rooms (CHECKPOINT overrides)"),
    Param("N_SAMPLES", 8, "samples moved by the sliders"),
    Param("N_SEFA", 3, "top SeFa directions to add as sliders (no instrument needed)"),
    Param("LABELS", {}, "directions of your own, no instrument needed: {'lamp': {'positive': [3, 17], 'negative': [5, 8]}}, "
                        "numbers of the directions figure's sample sheet (directions_sample_sheet.png)"),
)

EXPLORER = NotebookSpec(
    name="directions_explorer",
    title="Beyond the paper — explore the latent directions with sliders",
    claim=("The paper showed its walks and arithmetic as still images. Here the same generator is moved "
           "live: one slider per direction, the samples re-generated at every change."),
    measure=("Sliders for an InterFaceGAN boundary per attribute (fitted on the instrument's readings of a "
             "seeded pool) and the top SeFa directions; under the grid the instrument's mean reading of each "
             "attribute. Headless runs (and the closing cell) move each attribute's slider to ±2 in code and "
             "report the readings, so the executed notebook shows what the sliders do."),
    figure=None,
    params=EXPLORER_PARAMS,
    setup="""\
from IPython.display import Image, display

from interp.core.latent import sample_z
from interp.figures.context import recorded_path
from interp.figures.directions import attribute_measure
from interp.notebooks.explorer import DirectionExplorer, explorer_directions
from interp.notebooks.kit import enter_project_root, figure_context, fmt

enter_project_root()  # relative paths (runs/, figures/) are the project's, wherever Jupyter was started
ctx = figure_context(CHECKPOINT, data=DATA, out=OUT, quick=QUICK, seed=SEED, device=DEVICE, progress=PROGRESS,
                     options=OPTIONS)
gan = ctx.generator(WORLD)
measure, attributes, instrument, _ = attribute_measure(ctx, gan)
directions = explorer_directions(gan.generator, measure, attributes, n_sefa=N_SEFA, n_pool=200 if QUICK else 500,
                                 seed=SEED, labels=LABELS)
explorer = DirectionExplorer(gan.generator, directions, sample_z(N_SAMPLES, gan.config, seed=SEED + 7), measure)
print(f"{recorded_path(gan.path)}: {len(directions)} directions ({', '.join(directions)}); readings by {instrument or 'nothing'}")""",
    sections=(
        Section("explore", "## Explore\n\nMove a slider: every sample moves that many unit steps along the "
                "direction, and the grid is generated again (in JupyterLab with ipywidgets).",
                "explorer.widget()"),
        Section("scripted", "## The same, scripted\n\nEach attribute's slider at −2 and +2 (the others at 0), "
                "for a headless run or a static copy of this notebook.",
                """\
rows = {}
for a in attributes:
    for amount in (-2.0, 2.0):
        grid, readings = explorer.render({a: amount})
        rows[(a, amount)] = readings
        print(f"{a} at {amount:+.0f}: {explorer.readout(readings)}")
grid, _ = explorer.render({attributes[0]: 2.0} if attributes else {})
display(Image(data=explorer.png(grid)))"""),
    ),
    verdict="""\
moved = [a for a in attributes if rows[(a, 2.0)][a] > rows[(a, -2.0)][a]]
print(f"{len(moved)} of {len(attributes)} sliders raise their own attribute from -2 to +2"
      + (f" ({', '.join(moved)})." if moved else "."))
for a in attributes:
    lo, hi = rows[(a, -2.0)][a], rows[(a, 2.0)][a]
    print(f"  {a}: {fmt(lo, '.2f')} -> {fmt(hi, '.2f')}")
if not attributes:
    print("No instrument measures this model: the sliders move the SeFa directions only.")""",
)


ROBUSTNESS_PARAMS: tuple[Param, ...] = COMMON_PARAMS + (
    Param("RUNS", None, "models to measure (run directories or checkpoints, e.g. one recipe trained with 3 seeds); "
                        "None: show the section the project committed in figures/metrics.json"),
    Param("FIGURES", None, "figures to draw on each model (e.g. ['fig6', 'fig7']); None: all"),
    Param("JOBS", 2, "worker processes (one torch thread each) when RUNS are measured"),
)

ROBUSTNESS = NotebookSpec(
    name="robustness",
    title="Beyond the paper — does each claim hold on every seed?",
    claim=("The paper analysed one trained model. Each of its claims (Figs. 5–8, §4.1) is a claim about the "
           "recipe only if it holds on other trainings of the same recipe, not on one lucky seed."),
    measure=("Every figure drawn on each model (`python -m interp.figures --all --robustness RUN ...`), each "
             "claim's number per model against the aim this suite holds its reference models to "
             "(docs/METRICS.md, \"Robustness\"): green meets the aim, red misses it, grey was measured out of "
             "the instrument's domain. `holds` counts the models that meet it. With `RUNS = None` this shows the "
             "reference runs the project committed (the shipped seed 0 and two retrainings of each world); give "
             "`RUNS` to measure your own (the six reference models took 4 min 50 s with `JOBS = 2` on a 2-core CPU)."),
    figure=None,
    params=ROBUSTNESS_PARAMS,
    setup="""\
from pathlib import Path

from IPython.display import Image, Markdown, display

from interp.figures.metrics import read_metrics
from interp.figures.summary import robustness_table
from interp.notebooks.kit import default_out, enter_project_root

enter_project_root()  # relative paths (runs/, figures/) are the project's, wherever Jupyter was started
out = Path(OUT) if OUT is not None else default_out(QUICK)""",
    run="""\
if RUNS:
    from interp.cli.figures import main as figures

    argv = ["--robustness", *map(str, RUNS), "--out", str(out), "--seed", str(SEED), "--device", DEVICE,
            "--jobs", str(JOBS), *(["--only", *FIGURES] if FIGURES else []), *(["--quick"] if QUICK else []),
            *([] if PROGRESS else ["--no-progress"])]
    argv += [a for fig, kv in OPTIONS.items() for k, v in kv.items() for a in ("--option", f"{fig}.{k}={v}")]
    if figures(argv) != 0:
        raise RuntimeError("python -m interp.figures " + " ".join(argv) + " failed (see above)")
    source = out
else:
    source = Path("figures")  # the project's (the setup cell moved to its root)
section = read_metrics(source / "metrics.json").get("robustness")
if not section:
    print(f"{source / 'metrics.json'} has no robustness section: set RUNS, or run "
          "python -m interp.figures --all --robustness RUN1 RUN2 RUN3")
else:
    print(f"{source / 'metrics.json'}: " + ", ".join(f"{m['label']} ({m['checkpoint']}, step {m.get('step')})"
                                                   for m in section["models"]))
    if (source / "robustness.png").exists():
        display(Image(filename=str(source / "robustness.png")))
    display(Markdown("\\n".join(robustness_table(section))))""",
    verdict="""\
if section:
    claims = section["claims"]
    labels = [m["label"] for m in section["models"]]
    everywhere = [k for k, c in claims.items() if c["of"] and c["holds"] == c["of"]]
    print(f"{len(everywhere)} of {len(claims)} claims meet their aim on every model measured"
          + (f" ({', '.join(everywhere)})." if everywhere else "."))
    for key, c in claims.items():
        missed = [labels[i] for i, ok in enumerate(c["meets"]) if ok is False]
        if missed:
            print(f"  missed: {key} (aim {c['aim']}) on {', '.join(missed)} ({c['holds']}/{c['of']} hold)")
    if section.get("errors"):
        print("Not measured:", "; ".join(f"{k}: {v}" for k, v in section["errors"].items()))""",
)


def notebook_specs() -> tuple[NotebookSpec, ...]:
    """All notebooks, in the order the runner executes them."""
    return (FIG2, FIG3, MEMORIZATION, FIG4, FIG5, FIG6, FIG6_HAND, FIG7, FIG8, TABLE1, DIRECTIONS, DISSECTION,
            EXPLORER, ROBUSTNESS)


__all__ = ["COMMON_PARAMS", "EXPLORER_PARAMS", "HAND_PARAMS", "PROBE_PARAMS", "ROBUSTNESS_PARAMS", "NotebookSpec", "Param", "Section", "notebook_specs"]
