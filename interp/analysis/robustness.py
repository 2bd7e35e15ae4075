"""Is a claim a property of the recipe or of one lucky seed? Numbers of several models side by side.

    per_model = [{"fig6": {...metrics section...}, "fig5": {...}}, {...}, ...]   # one dict per model
    numbers = collect_numbers(per_model)     # {"fig6": {"window_removed": [v1, v2, v3], ...}, ...}
    claims = evaluate_claims(per_model)      # {"fig6.window_removed": {"aim": ..., "values": [...], "holds": 2, "of": 3}}
    claim_verdicts("fig6", section)          # one model: {"window_removed": {"aim": ">= 0.6", "value": 0.64, "met": True}}

Each :class:`Claim` reads one value from a model's metrics section (``None`` where the figure did not
run on that model or could not measure it) and tests it against the aim of the paper's claim. The aims
are those this project holds the reference models to (docs/METRICS.md, "Robustness").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: provenance / bookkeeping keys that are not a figure's numbers
_NOT_NUMBERS = {"seed", "quick", "epoch", "step", "paper_epoch", "random_init_seed"}


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


@dataclass(frozen=True)
class Claim:
    """One claim of the paper as a test on one figure's metrics section."""

    figure: str
    name: str
    aim: str
    value: Callable[[Mapping[str, Any]], float | None]
    holds: Callable[[float], bool]
    levels: tuple[float, ...]  # the aim's thresholds, for plots

    @property
    def key(self) -> str:
        return f"{self.figure}.{self.name}"


def _key(name: str) -> Callable[[Mapping[str, Any]], float | None]:
    return lambda m: _num(m.get(name))


def _ratio(num: str, den: str) -> Callable[[Mapping[str, Any]], float | None]:
    def value(m: Mapping[str, Any]) -> float | None:
        a, b = _num(m.get(num)), _num(m.get(den))
        return a / b if a is not None and b not in (None, 0.0) else None

    return value


def _difference(a: str, b: str) -> Callable[[Mapping[str, Any]], float | None]:
    def value(m: Mapping[str, Any]) -> float | None:
        x, y = _num(m.get(a)), _num(m.get(b))
        return x - y if x is not None and y is not None else None

    return value


CLAIMS: tuple[Claim, ...] = (
    Claim("fig5", "trained_over_random_object_energy", ">= 1.5",
          _ratio("object_energy_trained", "object_energy_random"), lambda v: v >= 1.5, (1.5,)),
    Claim("fig6", "window_removed", ">= 0.6", _key("window_removed"), lambda v: v >= 0.6, (0.6,)),
    Claim("fig6", "window_removed_random_control", "within +-0.2", _key("window_removed_random_control"),
          lambda v: abs(v) <= 0.2, (-0.2, 0.2)),
    Claim("fig6", "other_classes_abs_change", "<= 0.05", _key("other_classes_abs_change"), lambda v: v <= 0.05, (0.05,)),
    Claim("fig7", "success", ">= 0.8", _key("success"), lambda v: v >= 0.8, (0.8,)),
    Claim("fig7", "success_over_pixel_baseline", ">= +0.3", _difference("success", "pixel_baseline_success"),
          lambda v: v >= 0.3, (0.3,)),
    Claim("fig8", "abs_spearman", ">= 0.9", lambda m: None if _num(m.get("spearman")) is None else abs(m["spearman"]),
          lambda v: v >= 0.9, (0.9,)),
    Claim("memorization", "nn_ratio", "within [0.95, 1.05]", _key("nn_ratio"), lambda v: 0.95 <= v <= 1.05, (0.95, 1.05)),
)


def claim_verdicts(figure: str, values: Mapping[str, Any], claims: Sequence[Claim] = CLAIMS
                   ) -> dict[str, dict[str, Any]]:
    """The claims of ``figure`` on one model's metrics section ``values``: per claim name its ``aim`` (text),
    ``value`` (None: not measured) and ``met`` (None when not measured, or when the instrument that measured
    it saw samples outside its domain: ``in_domain`` false, then also ``out_of_domain``: true). Figures write
    this as ``aims`` and say it in their titles, so that a missed aim is never silent."""
    out: dict[str, dict[str, Any]] = {}
    void = values.get("in_domain") is False
    for claim in claims:
        if claim.figure != figure:
            continue
        v = claim.value(values)
        out[claim.name] = {"aim": claim.aim, "value": v, "met": None if v is None or void else bool(claim.holds(v))}
        if void and v is not None:
            out[claim.name]["out_of_domain"] = True
    return out


def collect_numbers(per_model: Sequence[Mapping[str, Mapping[str, Any]]]) -> dict[str, dict[str, list[float | None]]]:
    """{figure: {key: [value per model]}} for every finite scalar number any model's section has (lists are
    aligned with ``per_model``; ``None`` where that model has no such value)."""
    figures = sorted({f for m in per_model for f in m})
    out: dict[str, dict[str, list[float | None]]] = {}
    for fig in figures:
        keys = sorted({k for m in per_model for k, v in (m.get(fig) or {}).items()
                       if k not in _NOT_NUMBERS and _num(v) is not None})
        out[fig] = {k: [_num((m.get(fig) or {}).get(k)) for m in per_model] for k in keys}
    return out


def evaluate_claims(per_model: Sequence[Mapping[str, Mapping[str, Any]]],
                    claims: Sequence[Claim] = CLAIMS) -> dict[str, dict[str, Any]]:
    """Per claim: its aim (text and thresholds), the value of each model (``None``: not measured), whether
    each meets the aim (``None`` where not measured or measured out of the instrument's domain), ``holds`` =
    how many models meet it and ``of`` = how many were validly measured (``out_of_domain``: the models whose
    value is no evidence, where any). Claims no model was measured on are left out."""
    out: dict[str, dict[str, Any]] = {}
    for claim in claims:
        sections = [m.get(claim.figure) for m in per_model]
        values = [claim.value(s) if s is not None else None for s in sections]
        if all(v is None for v in values):
            continue
        void = [s is not None and s.get("in_domain") is False for s in sections]
        meets = [None if v is None or bad else bool(claim.holds(v)) for v, bad in zip(values, void, strict=True)]
        out[claim.key] = {"figure": claim.figure, "aim": claim.aim, "aim_levels": list(claim.levels),
                          "values": values, "meets": meets, "holds": sum(m is True for m in meets),
                          "of": sum(m is not None for m in meets)}
        if any(bad and v is not None for v, bad in zip(values, void, strict=True)):
            out[claim.key]["out_of_domain"] = [i for i, (v, bad) in enumerate(zip(values, void, strict=True))
                                               if bad and v is not None]
    return out


__all__ = ["CLAIMS", "Claim", "claim_verdicts", "collect_numbers", "evaluate_claims"]
