"""Vector arithmetic on face samples (paper Fig. 7), measured by an attribute classifier.

For an :class:`Equation` ``a − b + c`` (e.g. smiling woman − neutral woman + neutral man) with three
exemplars per concept (pool indices, chosen by the classifier or by hand):

* ``z̄a, z̄b, z̄c`` = mean z of each concept's exemplars; ``Y = z̄a − z̄b + z̄c``;
* the 9 latent outputs are ``G(Y + u_k)``, k = 0..8, with ``u_0 = 0`` (the centre) and
  ``u_1..u_8 ~ U(−0.25, 0.25)^nz`` (seeded, :func:`neighbour_offsets`);
* the pixel-space baseline does the same arithmetic on images instead of latents, with the SAME 9
  offsets: ``x̄a(u) − x̄b(u) + x̄c(u)`` where ``x̄a(u)`` is the mean of ``G(z_ai + u)`` over a's
  exemplars (clamped to [−1, 1]). Its centre (u = 0) is the paper's baseline, the mean exemplar
  images added and subtracted; note ``G(Y + u) = G(mean(z_a + u) − mean(z_b + u) + mean(z_c + u))``,
  so the two differ only in where the arithmetic is done;
* success = the share of the 9 outputs that the classifier gives ALL the target attributes
  (``Equation.target``, decided at p > 0.5), for each of the two.

    res = compute_arithmetic(G, pool.z, SMILING_MAN, (ia, ib, ic), predict, seed=0)
    res.success, res.pixel_success, res.latent_images  # float (9, 3, S, S)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from interp.analysis.exemplars import (
    Concept,
    Predictor,
    SamplePool,
    Selection,
    hand_selection,
    parse_indices,
    sample_pool,
    select_exemplars,
)
from interp.core.config import ModelConfig
from interp.core.generation import generate

CONFIDENCE = 0.8
EXEMPLARS_PER_CONCEPT = 3

NOISE = 0.25
N_NEIGHBOURS = 8


@dataclass(frozen=True)
class Equation:
    """``a − b + c`` should give ``target``. ``name`` is a short key (metrics, hand-picked options)."""

    name: str
    a: Concept
    b: Concept
    c: Concept
    target: Concept

    @property
    def concepts(self) -> tuple[Concept, Concept, Concept]:
        return (self.a, self.b, self.c)

    def text(self) -> str:
        return f"{self.a.name} − {self.b.name} + {self.c.name} = {self.target.name}"


SMILING_MAN = Equation(
    "smiling_man",
    Concept("smiling woman", {"male": False, "smiling": True}),
    Concept("neutral woman", {"male": False, "smiling": False}),
    Concept("neutral man", {"male": True, "smiling": False}),
    Concept("smiling man", {"male": True, "smiling": True}),
)
WOMAN_WITH_GLASSES = Equation(
    "woman_with_glasses",
    Concept("man with glasses", {"male": True, "eyeglasses": True}),
    Concept("man without glasses", {"male": True, "eyeglasses": False}),
    Concept("woman without glasses", {"male": False, "eyeglasses": False}),
    Concept("woman with glasses", {"male": False, "eyeglasses": True}),
)
#: the paper's two equations (Fig. 7 top and bottom)
DEFAULT_EQUATIONS: tuple[Equation, ...] = (SMILING_MAN, WOMAN_WITH_GLASSES)
EQUATIONS = {eq.name: eq for eq in DEFAULT_EQUATIONS}


def custom_equation(name: str, labels: Sequence[str]) -> Equation:
    """An equation known only by its labels ``(a, b, c, result)`` (hand-picked exemplars, no target
    attributes: its success cannot be measured)."""
    if len(labels) != 4:
        raise ValueError(f"equation {name!r}: labels must be [a, b, c, result], got {list(labels)}")
    a, b, c, r = (Concept(str(s)) for s in labels)
    return Equation(name, a, b, c, r)


def neighbour_offsets(nz: int, n: int = N_NEIGHBOURS, scale: float = NOISE,
                      seed: int | Sequence[int] = 0) -> torch.Tensor:
    """(n + 1, nz) offsets: row 0 is zero (the centre Y), rows 1..n are U(−scale, scale), seeded."""
    rng = np.random.default_rng(seed)
    u = rng.uniform(-scale, scale, size=(n, nz)).astype(np.float32)
    return torch.cat([torch.zeros(1, nz), torch.from_numpy(u)])


@dataclass
class ArithmeticResult:
    """One equation. Images are float in [−1, 1]; k = exemplars per concept (3)."""

    equation: Equation
    groups: list[list[int]]              # 3 lists of k pool indices (a, b, c)
    y: torch.Tensor                      # (nz,) z̄a − z̄b + z̄c
    offsets: torch.Tensor                # (9, nz) u_k (row 0 = 0)
    exemplar_images: torch.Tensor        # (3, k, C, S, S) G(z) of the exemplars
    mean_z_images: torch.Tensor          # (3, C, S, S) G(z̄) per concept
    mean_pixel_images: torch.Tensor      # (3, C, S, S) mean exemplar image per concept
    latent_images: torch.Tensor          # (9, C, S, S) G(Y + u_k); [0] is the centre
    pixel_images: torch.Tensor           # (9, C, S, S) x̄a(u_k) − x̄b(u_k) + x̄c(u_k), clamped
    latent_hits: np.ndarray | None = None   # bool (9,) target attributes present (None: no classifier/target)
    pixel_hits: np.ndarray | None = None
    latent_target_prob: np.ndarray | None = None  # (9,) least target-attribute probability
    pixel_target_prob: np.ndarray | None = None
    exemplar_hits: np.ndarray | None = None       # bool (3, k): exemplars carry their concept's attributes
    target_prior: float | None = None             # share of the pool that already has the target attributes

    @property
    def success(self) -> float | None:
        return None if self.latent_hits is None else float(self.latent_hits.mean())

    @property
    def pixel_success(self) -> float | None:
        return None if self.pixel_hits is None else float(self.pixel_hits.mean())

    @property
    def well_posed(self) -> bool | None:
        """Every exemplar carries its own concept's attributes (None: not measured). Otherwise the
        equation does not test the arithmetic (e.g. a generator that never draws a man without glasses)."""
        return None if self.exemplar_hits is None else bool(self.exemplar_hits.all())

    def summary(self) -> dict[str, Any]:
        """JSON-able numbers of this equation (for metrics.json)."""
        def r(v: Any) -> float | None:
            return None if v is None else round(float(v), 4)

        out: dict[str, Any] = {
            "equation": self.equation.text(),
            "target": dict(self.equation.target.attributes),
            "exemplars": {c.name: g for c, g in zip(self.equation.concepts, self.groups, strict=True)},
            "success": r(self.success), "pixel_baseline_success": r(self.pixel_success),
            "centre_success": None if self.latent_hits is None else bool(self.latent_hits[0]),
            "pixel_centre_success": None if self.pixel_hits is None else bool(self.pixel_hits[0]),
            "target_prior": r(self.target_prior),
        }
        if self.latent_target_prob is not None:
            if self.pixel_target_prob is None:
                raise ValueError(f"{self.equation.name}: latent target probabilities without the pixel-space ones")
            out["target_prob_latent"] = [r(v) for v in self.latent_target_prob]
            out["target_prob_pixel"] = [r(v) for v in self.pixel_target_prob]
        if self.exemplar_hits is not None:
            out["exemplars_with_their_attributes"] = r(self.exemplar_hits.mean())
            out["well_posed"] = self.well_posed
        return out


def compute_arithmetic(G: torch.nn.Module, z_pool: torch.Tensor, equation: Equation,
                       groups: Sequence[Sequence[int]], predict: Predictor | None = None, seed: int | Sequence[int] = 0,
                       noise: float = NOISE, n_neighbours: int = N_NEIGHBOURS,
                       pool_pred: dict[str, np.ndarray] | None = None) -> ArithmeticResult:
    """Latent and pixel-space arithmetic for ``equation`` with exemplars ``groups`` (3 lists of pool
    indices into ``z_pool`` (N, nz)). ``predict`` (images -> attribute probabilities) measures success
    when the equation has target attributes; ``pool_pred`` (the pool's predictions) adds the target prior."""
    if len(groups) != 3:
        raise ValueError(f"{equation.name}: need 3 exemplar groups (a, b, c), got {len(groups)}")
    index_groups = [[int(i) for i in g] for g in groups]
    nz = z_pool.shape[1]
    zs = [z_pool[g] for g in index_groups]                             # 3 × (k, nz)
    means = torch.stack([z.double().mean(0) for z in zs]).float()      # (3, nz)
    y = means[0] - means[1] + means[2]
    u = neighbour_offsets(nz, n_neighbours, noise, seed)               # (9, nz)
    latent = generate(G, y[None] + u)
    shape = latent.shape[1:]
    exemplar_images = torch.stack([generate(G, z) for z in zs])       # (3, k, C, S, S)
    mean_z_images = generate(G, means)
    # pixel space, same offsets: every exemplar moved by u_k, images averaged per concept, combined
    pix = []
    for z in zs:
        moved = (z[None] + u[:, None]).reshape(-1, nz)                 # (9·k, nz)
        pix.append(generate(G, moved).view(len(u), len(z), *shape).double().mean(1))
    pixel = (pix[0] - pix[1] + pix[2]).clamp(-1, 1).float()
    mean_pixel_images = exemplar_images.double().mean(1).float()
    res = ArithmeticResult(equation, index_groups, y, u, exemplar_images, mean_z_images, mean_pixel_images, latent, pixel)
    target = equation.target
    if predict is not None and target.attributes:
        both = predict(torch.cat([latent, pixel]))
        n = len(u)
        res.latent_target_prob = target.score({k: v[:n] for k, v in both.items()})
        res.pixel_target_prob = target.score({k: v[n:] for k, v in both.items()})
        res.latent_hits = res.latent_target_prob > 0.5
        res.pixel_hits = res.pixel_target_prob > 0.5
        ex = predict(exemplar_images.flatten(0, 1))
        k = exemplar_images.shape[1]
        res.exemplar_hits = np.stack([c.matches({a: v[i * k:(i + 1) * k] for a, v in ex.items()})
                                      for i, c in enumerate(equation.concepts)])
        if pool_pred is not None:
            res.target_prior = float(target.matches(pool_pred).mean())
    return res


def success_over_draws(G: torch.nn.Module, z_pool: torch.Tensor, equation: Equation, predict: Predictor,
                       pool_pred: dict[str, np.ndarray], n_draws: int = 30, confidence: float = CONFIDENCE,
                       k: int = 3, seed: int = 0) -> dict[str, Any]:
    """The arithmetic of ``equation`` repeated with ``n_draws`` random exemplar triples instead of the
    classifier's top 3: per draw, k exemplars per concept drawn (seeded, without overlap) from the pool
    samples (``z_pool`` (N, nz), predictions ``pool_pred``) whose concept score is >= ``confidence``.

    One equation's ``success`` rests on one choice of 9 exemplars and moves by 0.5 or more between choices;
    this is the same number averaged over choices: ``success_mean`` / ``success_std``, the same for the
    pixel baseline, and ``n_draws`` (0 with a ``note`` when a concept has fewer than k confident samples)."""
    rng = np.random.default_rng([seed, 7])
    candidates = [np.flatnonzero(c.score(pool_pred) >= confidence) for c in equation.concepts]
    short = [c.name for c, idx in zip(equation.concepts, candidates, strict=True) if len(idx) < 2 * k]
    if short:
        return {"n_draws": 0, "note": f"fewer than {2 * k} pool samples reach confidence {confidence:g} for {short}"}
    latent: list[float] = []
    pixel: list[float] = []
    for d in range(n_draws):
        groups: list[list[int]] = []
        used: set[int] = set()
        for idx in candidates:
            free = np.array([i for i in idx if int(i) not in used])
            if len(free) < k:
                break
            pick = [int(i) for i in rng.choice(free, k, replace=False)]
            groups.append(pick)
            used.update(pick)
        if len(groups) < 3:
            continue
        r = compute_arithmetic(G, z_pool, equation, groups, predict, seed=[seed, 1000 + d])
        if r.success is None or r.pixel_success is None:
            raise ValueError(f"{equation.name}: the arithmetic was not measured (no target attributes?)")
        latent.append(r.success)
        pixel.append(r.pixel_success)
    if not latent:
        return {"n_draws": 0, "note": "the concepts' confident samples overlap too much to draw disjoint exemplars"}
    return {"n_draws": len(latent), "confidence": confidence,
            "success_mean": round(float(np.mean(latent)), 4), "success_std": round(float(np.std(latent)), 4),
            "pixel_baseline_success_mean": round(float(np.mean(pixel)), 4),
            "pixel_baseline_success_std": round(float(np.std(pixel)), 4)}


__all__ = ["DEFAULT_EQUATIONS", "NOISE", "N_NEIGHBOURS", "SMILING_MAN", "WOMAN_WITH_GLASSES", "ArithmeticResult",
           "Equation", "compute_arithmetic", "custom_equation", "neighbour_offsets", "success_over_draws"]




def parse_exemplars(value: Any) -> dict[str, tuple[Equation, list[list[int]]]]:
    """Hand-picked exemplars -> {equation name: (equation, [a, b, c] index lists)}.

    ``value``: a dict (see the module docstring), a JSON string, a path to a JSON file, or the compact
    ``"name:1,2,3/4,5,6/7,8,9;name2:..."``. Names must be default equations unless labels are given."""
    if isinstance(value, str):
        text = value.strip()
        path = Path(text).expanduser()
        if text.endswith(".json") or (len(text) < 4096 and path.is_file()):
            if not path.is_file():
                raise ValueError(f"fig7.exemplars: no such file {path}")
            value = json.loads(path.read_text())
        elif text.startswith("{"):
            value = json.loads(text)
        else:
            value = _parse_compact(text)
    if not isinstance(value, dict) or not value:
        raise ValueError(f"fig7.exemplars: expected {{equation: [[a...], [b...], [c...]]}}, got {value!r}")
    out = {}
    for name, spec in value.items():
        labels = spec.get("labels") if isinstance(spec, dict) else None
        groups = spec.get("groups") if isinstance(spec, dict) else spec
        if labels is not None:
            eq = custom_equation(name, labels)
        elif name in EQUATIONS:
            eq = EQUATIONS[name]
        else:
            raise ValueError(f"fig7.exemplars: unknown equation {name!r}; the defaults are {sorted(EQUATIONS)} "
                             f"(or give {{\"groups\": ..., \"labels\": [a, b, c, result]}})")
        if not isinstance(groups, Sequence) or isinstance(groups, str) or len(groups) != 3:
            raise ValueError(f"fig7.exemplars[{name!r}]: expected 3 groups of sample numbers (a, b, c), got {groups!r}")
        out[name] = (eq, [parse_indices(g, f"fig7.exemplars[{name!r}]") for g in groups])
    return out


def _parse_compact(text: str) -> dict[str, list[str]]:
    out = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, sep, groups = part.partition(":")
        if not sep:
            raise ValueError(f"fig7.exemplars: expected NAME:a,a,a/b,b,b/c,c,c, got {part!r}")
        out[name.strip()] = groups.split("/")
    return out


@dataclass
class Fig7Data:
    results: list[ArithmeticResult]
    selections: dict[str, list[Selection]]        # equation name -> a, b, c
    pool: SamplePool
    pool_pred: dict[str, np.ndarray] | None
    notes: list[str] = field(default_factory=list)
    draws: dict[str, dict[str, Any]] = field(default_factory=dict)  # equation name -> success_over_draws(...)

    def draws_means(self) -> tuple[float | None, float | None]:
        """(latent, pixel) success averaged over exemplar draws and equations (None: no draws)."""
        ok = [d for d in self.draws.values() if d.get("n_draws")]
        if not ok:
            return None, None
        return (float(np.mean([d["success_mean"] for d in ok])), float(np.mean([d["pixel_baseline_success_mean"] for d in ok])))

    @property
    def success(self) -> float | None:
        v = [r.success for r in self.results if r.success is not None]
        return float(np.mean(v)) if v else None

    @property
    def pixel_success(self) -> float | None:
        v = [r.pixel_success for r in self.results if r.pixel_success is not None]
        return float(np.mean(v)) if v else None

    def well_posed_means(self) -> tuple[float | None, float | None, list[str]]:
        """(success, pixel success, names) over the equations whose exemplars all carry their attributes."""
        ok = [r for r in self.results if r.well_posed]
        if not ok:
            return None, None, []
        return (float(np.mean([r.success for r in ok])), float(np.mean([r.pixel_success for r in ok])),
                [r.equation.name for r in ok])


def compute_fig7(G: torch.nn.Module, cfg: ModelConfig, predict: Predictor | None, seed: int = 0,
                 n_pool: int = 1000, picks: dict[str, tuple[Equation, list[list[int]]]] | None = None,
                 confidence: float = CONFIDENCE, equations: Sequence[Equation] = DEFAULT_EQUATIONS,
                 n_draws: int = 0) -> Fig7Data:
    """Exemplars (``picks`` by hand, else by ``predict``) and arithmetic for every equation. With neither
    a classifier nor picks there is nothing to compute (``results`` is empty, ``notes`` says why).
    ``n_draws`` > 0 repeats each classifier-picked equation with that many random exemplar triples
    (:func:`success_over_draws`, in ``draws``)."""
    picks = picks or {}
    pool = sample_pool(G, cfg, n_pool, seed)
    pool_pred = predict(pool.images) if predict is not None else None
    todo: list[tuple[Equation, list[Selection]]] = []
    notes = []
    for eq in [*equations, *(e for e, _ in picks.values() if e.name not in {q.name for q in equations})]:
        if eq.name in picks:
            eq, groups = picks[eq.name]
            sels = [hand_selection(c.name, g, n_pool) for c, g in zip(eq.concepts, groups, strict=True)]
        elif pool_pred is not None:
            sels = []
            used: list[int] = []
            for c in eq.concepts:
                sels.append(select_exemplars(pool_pred, c, EXEMPLARS_PER_CONCEPT, confidence, exclude=used))
                used += sels[-1].indices
        else:
            continue
        notes += [f"{eq.name}: {s.note}" for s in sels if s.note]
        todo.append((eq, sels))
    if not todo:
        notes.append("no attribute classifier fits this data and no exemplars were picked by hand: pick them "
                     "from fig7_sample_sheet.png, e.g. --option fig7.exemplars=smiling_man:3,17,42/5,8,60/11,12,90")
    results = []
    for i, (eq, sels) in enumerate(todo):
        results.append(compute_arithmetic(G, pool.z, eq, [s.indices for s in sels], predict, seed=[seed, i],
                                          pool_pred=pool_pred))
    draws = {}
    if n_draws > 0 and predict is not None and pool_pred is not None:
        for eq, sels in todo:
            if eq.target.attributes and all(s.method == "classifier" for s in sels):
                draws[eq.name] = success_over_draws(G, pool.z, eq, predict, pool_pred, n_draws, confidence, seed=seed)
    return Fig7Data(results, {eq.name: sels for eq, sels in todo}, pool, pool_pred, notes, draws)




