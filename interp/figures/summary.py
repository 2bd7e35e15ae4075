"""``summary.md`` beside ``metrics.json``: the numbers behind the figures as tables a reader can scan.

    text = summary_markdown(read_metrics("figures/metrics.json"))
    write_summary(Path("figures"))       # figures/summary.md, rewritten after every figures run

One table of the paper's figures (each headline number, its aim where this suite holds the reference
models to one, and whether it meets it), then, where their sections exist, the directions comparison
(method × attribute), the dissection (class × units dropped, with the random control and 95 % intervals),
the CIFAR-10 Table 1, and the claims across the models of ``--robustness``. Everything is read from
``metrics.json``; nothing is measured here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from interp.analysis.directions import METHODS
from interp.analysis.dissection import WINDOW_RANKINGS
from interp.analysis.robustness import claim_verdicts
from interp.figures.metrics import read_metrics
from interp.io.atomic import atomic_write_text

SUMMARY = "summary.md"

Section = Mapping[str, Any]


def _f(value: Any, spec: str = ".3f") -> str:
    """A number formatted with ``spec``; "n/a" for None or anything that is not a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "n/a"
    return format(value, spec).replace("-", "−")


def _pm(mean: Any, std: Any, spec: str = ".1%") -> str:
    return f"{_f(mean, spec)} ± {_f(std, spec)}" if std is not None else _f(mean, spec)


def _ratio(a: Any, b: Any) -> float | None:
    ok = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (a, b))
    return a / b if ok and b != 0 else None


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(r) + " |" for r in rows)]


#: (section, what, value text) of the paper table; aims come from each section's ``aims``
PAPER_ROWS: tuple[tuple[str, str, Callable[[Section], str]], ...] = (
    ("fig2", "Fréchet distance after epoch 1 (real-vs-real floor)", lambda m: f"{_f(m.get('fd'), '.2f')} ({_f(m.get('fd_floor'), '.2f')})"),
    ("fig3", "Fréchet distance after epoch 5 (floor)", lambda m: f"{_f(m.get('fd'), '.2f')} ({_f(m.get('fd_floor'), '.2f')})"),
    ("memorization", "nn_ratio: median NN distance to train / held-out", lambda m: _f(m.get("nn_ratio"))),
    ("fig4", "largest step / mean step along a walk", lambda m: _f(m.get("max_step_ratio"), ".2f")),
    ("fig5", "object energy of guided backprop, trained D / random D",
     lambda m: f"{_f(m.get('object_energy_trained'))} / {_f(m.get('object_energy_random'))} = "
               f"{_f(_ratio(m.get('object_energy_trained'), m.get('object_energy_random')), '.2f')}×"),
    ("fig6", "window pixels removed (random maps; other classes' mean abs change)",
     lambda m: f"{_f(m.get('window_removed'), '.2f')} ({_f(m.get('window_removed_random_control'), '.2f')}; "
               f"{_f(m.get('other_classes_abs_change'), '.3f')})"),
    ("fig7", "vector arithmetic success (pixel-space baseline)",
     lambda m: f"{_f(m.get('success'), '.2f')} ({_f(m.get('pixel_baseline_success'), '.2f')})"),
    ("fig8", "Spearman ρ(step along the turn vector, yaw) (random direction)",
     lambda m: f"{_f(m.get('spearman'), '+.3f')} ({_f(m.get('spearman_random_direction'), '+.3f')})"),
    ("table1", "linear probe on D features: trained / random D / majority class",
     lambda m: f"{_pm(m.get('accuracy'), m.get('accuracy_std'))} / {_pm(m.get('accuracy_random_d'), m.get('accuracy_random_d_std'))}"
               f" / {_f(m.get('chance'), '.1%')}"),
    ("table1_cifar10", "CIFAR-10, full protocol: trained / random D (paper 82.8 %, D trained on ImageNet-1k)",
     lambda m: f"{_pm(m.get('accuracy'), m.get('accuracy_std'))} / {_f(m.get('random_d_accuracy'), '.1%')}"),
)


def _verdict(section: str, m: Section) -> tuple[str, str]:
    """(aims text, verdict) from a section's ``aims`` (judged here for a file written before sections had
    them); an instrument out of its domain voids the verdict."""
    judged = m.get("aims") or claim_verdicts(section, m)
    aims = [v for v in judged.values() if v.get("value") is not None]
    if not aims:
        return "", ""
    text = "; ".join(f"{name.replace('_', ' ')} {v['aim']}" for name, v in judged.items() if v.get("value") is not None)
    if m.get("in_domain") is False:
        return text, "no verdict (out of the instrument's domain)"
    missed = sum(not v["met"] for v in aims)
    return text, "meets" if not missed else f"**misses** {missed} of {len(aims)}"


def _model(checkpoint: Any) -> str:
    """A short name of the model a section drew: its run (or zoo) folder, else the file name."""
    if not checkpoint:
        return "n/a"
    p = Path(str(checkpoint))
    return p.parent.parent.name if p.parent.name == "checkpoints" else p.name


def paper_table(metrics: Mapping[str, Section]) -> list[str]:
    rows = []
    for section, what, value in PAPER_ROWS:
        m = metrics.get(section)
        if m is None:
            continue
        aim, verdict = _verdict(section, m)
        rows.append([f"`{section}`", what, value(m), aim, verdict, f"`{_model(m.get('checkpoint'))}`"])
    return _table(["section", "number", "value", "aim", "verdict", "model"], rows) if rows else []


def directions_table(m: Section) -> list[str]:
    """Method × attribute: relative effect / Spearman ρ / relative entanglement (/ change outside the target)."""
    attributes, methods = m.get("attributes") or [], m.get("methods") or {}
    if not attributes or not methods:
        return []
    outside = any(s.get("outside_change") is not None for per in methods.values() for s in per.values())

    def cell(s: Section | None) -> str:
        if not s:
            return "—"
        text = f"{_f(s.get('relative_effect'), '.2f')} / {_f(s.get('monotonicity'), '+.2f')} / " \
               f"{_f(s.get('relative_entanglement'), '.2f')}"
        return text + (f" / {_f(s.get('outside_change'), '.3f')}" if outside else "")

    lines = ["Cells: relative effect (σ per unit step) / Spearman ρ / relative entanglement"
             + (" / pixel change outside the target" if outside else "") + f" — {m.get('instrument')}, "
             f"pool {m.get('n_pool')}, {m.get('n_walk')} walkers.", ""]
    order = [x for x in METHODS if x in methods] + sorted(set(methods) - set(METHODS))  # the figure's order
    lines += _table(["method", *attributes], [[f"`{meth}`", *(cell(methods[meth].get(a)) for a in attributes)]
                                              for meth in order])
    best = m.get("best_method") or {}
    lines += ["", "Best per attribute: " + ", ".join(f"{a}: `{best.get(a)}`" for a in attributes)
              + "; no method beats the random control on: " + (", ".join(m.get("not_found") or []) or "none") + "."]
    return lines


def dissection_tables(m: Section) -> list[str]:
    """Per ablated class: share, top unit and IoU, fraction removed at each count (random units; 95 % interval);
    then the window rankings."""
    counts, classes = m.get("counts") or [], m.get("classes") or {}
    rows = []
    for name in m.get("ablated_classes") or []:
        e = classes.get(name, {})
        cis = e.get("removed_ranked_ci") or [None] * len(counts)
        cells = [f"{_f(r, '.2f')} [{_f(ci[0], '.2f')}, {_f(ci[1], '.2f')}] ({_f(q, '.2f')})" if ci else
                 f"{_f(r, '.2f')} ({_f(q, '.2f')})"
                 for r, q, ci in zip(e.get("removed_ranked", []), e.get("removed_random", []), cis, strict=False)]
        top = (e.get("top_units") or [None])[0]
        iou = (e.get("top_iou") or [None])[0]
        rows.append([name, _f(e.get("share_before"), ".1%"), f"{top} ({_f(iou, '.3f')})", *cells])
    if not rows:
        return []
    lines = [f"Layer `{m.get('layer')}` ({m.get('n_units')} units), {m.get('n_fit')} fit / {m.get('n_eval')} eval "
             "samples. Fraction of the class's pixels removed by dropping its top-k units by IoU "
             "[95 % interval] (k random units).", ""]
    lines += _table(["class", "share", "top unit (IoU)", *(f"k = {k}" for k in counts)], rows)
    w = m.get("windows")
    if w:
        removed = w.get("removed") or {}
        lines += ["", "Windows, units chosen three ways (fraction removed at each k):", ""]
        order = [r for r in (*WINDOW_RANKINGS, "random") if r in removed] + sorted(
            set(removed) - {*WINDOW_RANKINGS, "random"})
        lines += _table(["ranking", *(f"k = {k}" for k in counts)],
                        [[f"`{r}`", *(_f(v, ".2f") for v in removed[r])] for r in order])
    return lines


def robustness_table(m: Section) -> list[str]:
    models = [x.get("label", "?") for x in m.get("models") or []]
    claims = m.get("claims") or {}
    if not models or not claims:
        return []
    def mark(ok: bool | None, value: Any) -> str:
        return "" if value is None else " (out of domain)" if ok is None else " ✓" if ok else " ✗"

    rows = [[f"`{key}`", c.get("aim", ""), *(_f(v, ".3g") + mark(ok, v)
                                            for v, ok in zip(c.get("values", []), c.get("meets", []), strict=False)),
             f"{c.get('holds')}/{c.get('of')}"] for key, c in claims.items()]
    return _table(["claim", "aim", *models, "holds"], rows)


def summary_markdown(metrics: Mapping[str, Section]) -> str:
    """The whole summary (markdown) of a ``metrics.json`` object."""
    parts = ["# The numbers behind the figures", "",
             "Generated from `metrics.json` by `python -m interp.figures` (docs/METRICS.md defines every key). "
             "Aims are what this suite holds its reference models to.", ""]
    for title, lines in (("Paper figures", paper_table(metrics)),
                         ("Latent directions (beyond the paper)", directions_table(metrics.get("directions") or {})),
                         ("Dissection of the generator (beyond the paper)",
                          dissection_tables(metrics.get("dissection") or {})),
                         ("Claims across models (`--robustness`)", robustness_table(metrics.get("robustness") or {}))):
        if lines:
            parts += [f"## {title}", "", *lines, ""]
    return "\n".join(parts)


def write_summary(out: Path) -> Path | None:
    """Rewrite ``out/summary.md`` from ``out/metrics.json`` (None when there is no metrics file)."""
    path = out / "metrics.json"
    if not path.is_file():
        return None
    target = out / SUMMARY
    atomic_write_text(target, summary_markdown(read_metrics(path)))
    return target


__all__ = ["SUMMARY", "dissection_tables", "directions_table", "paper_table", "robustness_table", "summary_markdown",
           "write_summary"]
