"""Tables 1–2 as a figure: the discriminator's features probed with a linear L2-SVM, trained vs random D.

The paper's protocol (:mod:`interp.analysis.probe`: every conv block of D max-pooled to 4×4 and concatenated,
standardised, a linear L2-SVM (LinearSVC by default) with C chosen on a validation split, mean ± std over label draws) on the
embedded world the model was trained on, with a label that world carries: rooms → ``has_bed``
(bed or not), faces → ``attribute:smiling`` (``--option table1.label=window_count`` for the number of
windows). The same protocol on a freshly initialised D
of the same architecture (seeded with ``ctx.seed``) is the control a trained D should beat.

Numbers (section ``table1``): ``accuracy``, ``accuracy_std``, ``dataset`` (fixed keys, docs/METRICS.md), plus
``accuracy_random_d``, ``accuracy_random_d_std``, ``chance`` (majority-class test accuracy), ``label``,
``labels_per_class``, ``n_train``, ``n_val``, ``n_test``, ``draws``, ``feature_dim``, ``chosen_C``.
Sizes: 1,000 train / 1,000 test renders, 2 draws (quick: 600 / 300, 2 draws), so that ``--all`` stays
within its 3-minute budget on a 2-core CPU; the SVM fits dominate (one draw at 2,000 train took 34 s
there with the classes fitted in parallel). ``--option table1.n_train=...`` for more. A model not trained on
an embedded world has no labels here: the keys are null with a note (use ``interp probe``
with a labelled dataset instead).

Settings: ``--option table1.KEY=VALUE`` (see :func:`table1`).

**CIFAR-10, the paper's full protocol** (``--only table1 --data cifar10 --data-root DIR``, section
``table1_cifar10``): the D of ``--checkpoint`` (or the shipped ``cifar10`` model) on all 50,000 training and
all 10,000 test images of the folder or archive at ``DIR``; per draw 10,000 training images held out to choose
C from the grid, then the SVM refit on all 50,000 with that C; 3 draws (the seeds of the validation split);
the torch solver (``--option table1.solver=liblinear`` for LinearSVC); the same protocol on a random D of the
same architecture as the control. Quick mode: 2,000 / 1,000 images, 2 draws.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure

from interp.analysis.probe import DEFAULT_C_PATIENCE, DEFAULT_CS, probe_values, run_probe
from interp.figures.context import FigureContext
from interp.figures.plotting import FONT, TITLE_FONT, new_figure, save_figure
from interp.figures.registry import FigureResult, register_figure
from interp.io.checkpoint import LoadedGAN

#: rooms: bed or no bed (80 % of renders have one), a label a 4x4-pooled feature can carry; the window count
#: (0-3, 4 classes) sat barely above chance for trained and random D alike (43.5 % / 40.0 %, majority 38.3 %,
#: epoch 10 of the rooms reference run; has_bed there: 88.2 % / 79.2 %, majority 79.7 %)
LABELS: dict[str, str] = {"rooms": "has_bed", "faces": "attribute:smiling"}
SIZES: dict[bool, dict[str, int]] = {False: {"n_train": 1000, "n_test": 1000, "draws": 2},
                                     True: {"n_train": 600, "n_test": 300, "draws": 2}}
#: the C grid: the probe's default without its two largest values (1 and 10), whose fits are by far
#: the slowest (liblinear runs to max_iter there); a C on the grid's edge shows up in ``chosen_C``
CS: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 1e-1)
OPTIONS = ("label", "labels_per_class", "n_train", "n_test", "draws", "Cs", "jobs", "solver", "c_patience")
CIFAR = "cifar10"
#: the CIFAR-10 protocol's sizes (None: the whole split)
CIFAR_SIZES: dict[bool, dict[str, int | None]] = {False: {"n_train": None, "n_test": None, "draws": 3},
                                                  True: {"n_train": 2000, "n_test": 1000, "draws": 2}}
PAPER_CIFAR_ACCURACY = 0.828  # Table 1, D trained on ImageNet-1k (not CIFAR-10)


def plot_table1(values: dict[str, Any], title: str) -> Figure:
    """Horizontal bars: trained-D and random-D probe accuracy (± std over draws) and the majority class."""
    names = ["trained D", "random D", "majority class"]
    acc = [values["accuracy"], values["accuracy_random_d"], values["chance"]]
    err = [values["accuracy_std"], values["accuracy_random_d_std"], 0.0]
    fig = new_figure(6.0, 2.2)
    ax = fig.add_axes((0.2, 0.22, 0.75, 0.55))
    y = np.arange(len(names))[::-1]
    ax.barh(y, acc, xerr=err, color=["tab:blue", "tab:gray", "0.8"], capsize=3)
    for yi, a, e in zip(y, acc, err, strict=True):  # the label right of the error bar, not over it
        ax.text(a + (e or 0.0) + 0.01, yi, f"{a:.1%}" + (f" ± {e:.1%}" if e else ""), va="center", fontsize=FONT)
    ax.set_yticks(y, names, fontsize=FONT)
    ax.set_xlim(0, 1.1)
    ax.set_xlabel("test accuracy", fontsize=FONT)
    ax.tick_params(labelsize=FONT)
    fig.suptitle(title, fontsize=TITLE_FONT - 1)
    return fig


@register_figure("table1", world="rooms", title="Discriminator features as a representation (paper Tables 1-2)")
def table1(ctx: FigureContext) -> FigureResult:
    """Linear L2-SVM probe on D's features, trained D vs random D, on the model's world.

    Options (``--option table1.KEY=VALUE``): ``label``, ``labels_per_class``, ``n_train``,
    ``n_test``, ``draws``, ``Cs`` (list), ``jobs`` (classes fitted in parallel; default all cores),
    ``solver`` (``liblinear``, the default here, or ``torch``)."""
    ctx.check_options("table1", OPTIONS)
    if ctx.data == CIFAR:
        return table1_cifar10(ctx)
    gan = ctx.gan("rooms")
    world = ctx.world_of(gan)
    if world is None:
        values = {"accuracy": None, "accuracy_std": None, "dataset": ctx.data_name(gan),
                  "note": "the model was not trained on an embedded world: no labels known here; "
                          "run interp probe with a labelled dataset"}
        return FigureResult([], ctx.record("table1", gan, values))
    if gan.path is None:
        raise ValueError("table1 needs a checkpoint file (the probe loads it); got a model without a path")
    sizes = SIZES[ctx.quick]
    opt = lambda key, default=None: ctx.option("table1", key, default)  # noqa: E731
    settings = {"label": opt("label", LABELS[world]), "labels_per_class": opt("labels_per_class"),
                "limit_train": int(opt("n_train", sizes["n_train"])), "limit_test": int(opt("n_test", sizes["n_test"])),
                "draws": int(opt("draws", sizes["draws"])), "Cs": tuple(opt("Cs", CS)), "n_jobs": int(opt("jobs", -1)),
                "c_patience": int(opt("c_patience", DEFAULT_C_PATIENCE)) or None,
                "seed": ctx.seed, "progress": ctx.progress, "solver": str(opt("solver", "liblinear"))}
    if settings["solver"] == "torch":
        settings["device"] = ctx.device
    trained = run_probe(gan.path, world, **settings)
    control = run_probe(gan.path, world, random_d=True, **settings)
    values = {**probe_values(trained, control), "epoch": gan.meta.get("epoch")}
    title = (f"Tables 1-2 protocol on {world} / {values['label']}: linear L2-SVM on D features\n"
             f"{values['n_train']} labelled images, {values['n_test']} test, mean ± std over {values['draws']} draws")
    png = save_figure(plot_table1(values, title), ctx.png("table1_probe.png"))
    return FigureResult([png], ctx.record("table1", gan, values))


def _cifar_model(ctx: FigureContext) -> LoadedGAN:
    """The D to probe on CIFAR-10: the given checkpoint, else the shipped ``cifar10`` model."""
    if ctx.checkpoint is not None or ctx.gan_override is not None:
        return ctx.gan("rooms")  # the overriding model (its metadata may not contradict --data)
    from interp.io.zoo import shipped_models, zoo_run

    if CIFAR in shipped_models():
        return ctx._load(zoo_run(CIFAR))
    raise ValueError("table1 --data cifar10: no CIFAR-10 discriminator is shipped; pass --checkpoint RUN (train one "
                     "with python -m interp.train --data cifar10 --data-root DIR --size 32 ...)")


def cifar10_values(trained: dict[str, Any], control: dict[str, Any]) -> dict[str, Any]:
    """The ``table1_cifar10`` section from two :func:`run_probe` results (trained D, random D)."""
    return {
        "accuracy": round(trained["accuracy"], 4), "accuracy_std": round(trained["accuracy_std"], 4),
        "accuracies": [round(d["accuracy"], 4) for d in trained["per_draw"]],
        "random_d_accuracy": round(control["accuracy"], 4), "random_d_accuracy_std": round(control["accuracy_std"], 4),
        "n_train": trained["n_train"], "n_val": trained["n_val"], "n_test": trained["n_test"],
        "feature_dim": trained["feature_dim"], "C": [d["C"] for d in trained["per_draw"]],
        "C_random_d": [d["C"] for d in control["per_draw"]], "Cs": trained["Cs"], "solver": trained["solver"],
        "c_patience": trained.get("c_patience"),
        "draws": trained["draws"], "chance": round(trained["chance"], 4), "image_size": trained["image_size"],
        "paper_accuracy": PAPER_CIFAR_ACCURACY,
        "paper_note": "the paper's 82.8% used a D trained on ImageNet-1k (not available here); this D was trained on "
                      "what its checkpoint says",
        "protocol": ("every D conv block max-pooled to 4x4, flattened, concatenated, standardised; linear L2-SVM "
                     "(squared hinge, one-vs-rest); per draw a held-out part of the training set chooses C, then the "
                     "SVM is refit on the whole training set; mean +- std over draws (the validation split's seeds); "
                     "control: the same on a random D of the same architecture"),
    }


def table1_cifar10(ctx: FigureContext) -> FigureResult:
    """The paper's Table 1 protocol on CIFAR-10 at full size (section ``table1_cifar10``)."""
    if ctx.data_root is None:
        raise ValueError("table1 --data cifar10 needs --data-root DIR (the CIFAR-10 folder or archive)")
    gan = _cifar_model(ctx)
    if gan.path is None:
        raise ValueError("table1 needs a checkpoint file (the probe loads it); got a model without a path")
    sizes = CIFAR_SIZES[ctx.quick]
    opt = lambda key, default=None: ctx.option("table1", key, default)  # noqa: E731
    n_train, n_test = opt("n_train", sizes["n_train"]), opt("n_test", sizes["n_test"])
    solver = str(opt("solver", "torch"))
    settings: dict[str, Any] = {"data_root": ctx.data_root, "label": "class",
                "limit_train": int(n_train) if n_train is not None else None,
                "limit_test": int(n_test) if n_test is not None else None,
                "draws": int(opt("draws", sizes["draws"])), "Cs": tuple(opt("Cs", DEFAULT_CS)), "seed": ctx.seed,
                "progress": ctx.progress, "solver": solver, "n_jobs": int(opt("jobs", -1)),
                "c_patience": int(opt("c_patience", DEFAULT_C_PATIENCE)) or None,
                "device": ctx.device if solver == "torch" else None}
    trained = run_probe(gan.path, CIFAR, **settings)
    control = run_probe(gan.path, CIFAR, random_d=True, **settings)
    values = {**cifar10_values(trained, control), "epoch": gan.meta.get("epoch"), "trained_on": ctx.data_name(gan)}
    table = {"accuracy": values["accuracy"], "accuracy_std": values["accuracy_std"],
             "accuracy_random_d": values["random_d_accuracy"], "accuracy_random_d_std": values["random_d_accuracy_std"],
             "chance": values["chance"]}
    title = (f"Table 1 protocol on CIFAR-10 ({values['n_train']:,} train / {values['n_test']:,} test, {values['draws']} "
             f"draws): linear L2-SVM on D features\nthe paper: {PAPER_CIFAR_ACCURACY:.1%} with a D trained on "
             "ImageNet-1k")
    png = save_figure(plot_table1(table, title), ctx.png("table1_cifar10.png"))
    return FigureResult([png], ctx.record("table1_cifar10", gan, values))


__all__ = ["CIFAR_SIZES", "LABELS", "SIZES", "cifar10_values", "plot_table1", "probe_values", "table1",
           "table1_cifar10"]
