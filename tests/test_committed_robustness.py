"""The committed ``figures/``: the ``robustness`` section covers >= 3 seeds of each world, and every number
in it is the one its model's own ``metrics.json`` holds (nothing typed in, nothing stale)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from interp.analysis.robustness import CLAIMS, evaluate_claims

FIGURES = Path(__file__).resolve().parents[1] / "figures"


@pytest.fixture(scope="module")
def section() -> dict:
    metrics = json.loads((FIGURES / "metrics.json").read_text())
    assert "robustness" in metrics, "figures/metrics.json has no robustness section"
    return metrics["robustness"]


def test_three_seeds_of_each_world(section):
    for world in ("rooms", "faces"):
        seeds = {m["seed"] for m in section["models"] if m["world"] == world}
        assert len(seeds) >= 3, f"{world}: seeds {sorted(seeds)}"
    assert (FIGURES / "robustness.png").is_file()


def test_claims_are_recomputed_from_each_models_metrics(section):
    per_model = []
    for model in section["models"]:
        own = json.loads((FIGURES / "robustness" / model["label"] / "metrics.json").read_text())
        per_model.append({fig: own[fig] for fig in {c.figure for c in CLAIMS} if fig in own})
    assert evaluate_claims(per_model) == section["claims"]
    assert {c.key for c in CLAIMS} == set(section["claims"])  # every claim measured on some model


def test_shipped_seed_zero_reproduces_the_reference_numbers(section):
    metrics = json.loads((FIGURES / "metrics.json").read_text())
    for model in section["models"]:
        if model["seed"] != 0:
            continue
        own = json.loads((FIGURES / "robustness" / model["label"] / "metrics.json").read_text())
        for claim in CLAIMS:
            if claim.figure in own and claim.figure in metrics:
                assert claim.value(own[claim.figure]) == claim.value(metrics[claim.figure]), (model["label"], claim.key)
