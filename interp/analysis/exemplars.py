"""Exemplars for latent arithmetic (Figs. 7 and 8): a numbered pool of seeded samples, attribute
predictions on it, and picking the samples that show a concept.

    pool = sample_pool(G, cfg, n=1000, seed=0)               # z (N, nz), images float (N, 3, S, S)
    pred = predict_faces(att_net, pool.images)               # {"male": (N,), ..., "yaw": (N,)}
    sel = select_exemplars(pred, Concept("smiling woman", {"male": False, "smiling": True}), k=3)
    sel.indices, sel.threshold, sel.note

Indices are positions in the pool, i.e. the numbers drawn on the sample sheet
(:func:`interp.figures.sample_sheet.plot_sample_sheet`); :func:`interp.core.latent.sample_z` is
prefix-stable, so a sample keeps its number whatever the pool size. Exemplars picked by hand are
given as such indices (:func:`parse_indices`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from interp.core.config import ModelConfig
from interp.core.generation import generate
from interp.core.latent import sample_z

if TYPE_CHECKING:  # the instruments are imported lazily, where used
    from interp.instruments import FaceAttributeNet

#: images float (N, 3, S, S) in [-1, 1] -> {attribute: probability (N,), "yaw": (N,) in [-1, 1]}
Predictor = Callable[[torch.Tensor], dict[str, np.ndarray]]

#: the classifier's decision threshold on a probability
DECISION = 0.5


@dataclass
class SamplePool:
    """``n`` seeded samples: z (N, nz) from :func:`sample_z` and images float (N, C, S, S)."""

    z: torch.Tensor
    images: torch.Tensor
    seed: int

    def __len__(self) -> int:
        return len(self.z)


def sample_pool(G: torch.nn.Module, cfg: ModelConfig, n: int, seed: int = 0) -> SamplePool:
    """The first ``n`` samples of seed ``seed`` (prefix-stable: sample i is the same for any n > i)."""
    z = sample_z(n, cfg, seed=seed)
    return SamplePool(z, generate(G, z), seed)


def predict_faces(net: FaceAttributeNet, images: torch.Tensor, size: int = 64) -> dict[str, np.ndarray]:
    """:func:`interp.instruments.predict_attributes` on images float (N, 3, S, S) in [-1, 1]; sizes
    other than 32 and 64 px are resized (bilinear) to ``size`` first. Grey images are repeated to RGB."""
    from interp.instruments import predict_attributes

    x = images.float()
    if x.shape[1] == 1:
        x = x.repeat(1, 3, 1, 1)
    if x.shape[-1] not in (32, 64):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return predict_attributes(net, x)


@dataclass(frozen=True)
class Concept:
    """A named set of binary attributes, e.g. ``Concept("smiling woman", {"male": False, "smiling": True})``.
    Attributes not named are free."""

    name: str
    attributes: Mapping[str, bool] = field(default_factory=dict)

    def check(self, pred: Mapping[str, np.ndarray]) -> None:
        missing = [a for a in self.attributes if a not in pred]
        if missing:
            raise KeyError(f"concept {self.name!r} needs attribute(s) {missing}; the classifier gives {sorted(pred)}")

    def prob_each(self, pred: Mapping[str, np.ndarray]) -> np.ndarray:
        """(N, A) probability that each named attribute has the wanted value."""
        self.check(pred)
        cols = [np.asarray(pred[a], np.float64) if want else 1.0 - np.asarray(pred[a], np.float64)
                for a, want in self.attributes.items()]
        n = len(next(iter(pred.values())))
        return np.stack(cols, 1) if cols else np.ones((n, 0))

    def score(self, pred: Mapping[str, np.ndarray]) -> np.ndarray:
        """(N,) the least of those probabilities (1 = surely the concept; <0.5 = not it)."""
        p = self.prob_each(pred)
        return p.min(1) if p.shape[1] else np.ones(len(p))

    def matches(self, pred: Mapping[str, np.ndarray]) -> np.ndarray:
        """bool (N,): the classifier decides every named attribute the wanted way (p > 0.5)."""
        return self.score(pred) > DECISION

    def describe(self) -> str:
        return " & ".join(f"{'' if v else 'not '}{a}" for a, v in self.attributes.items()) or "anything"


@dataclass
class Selection:
    """Exemplars of one concept: pool indices (k,), how they were chosen, and a note if the choice
    had to be relaxed (fewer than k samples clear the confidence threshold)."""

    concept: str
    indices: list[int]
    method: str                       # "classifier" | "hand"
    threshold: float | None = None    # the confidence every chosen exemplar clears (classifier)
    scores: list[float] | None = None  # their concept scores
    n_confident: int | None = None     # pool samples clearing the requested confidence
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def select_exemplars(pred: Mapping[str, np.ndarray], concept: Concept, k: int = 3, confidence: float = 0.8,
                     exclude: Sequence[int] = ()) -> Selection:
    """The ``k`` pool samples most surely showing ``concept`` (highest :meth:`Concept.score`, ties
    -> lower index), skipping ``exclude``.

    Wanted: every chosen sample has score >= ``confidence``. When fewer than ``k`` do, the best ``k``
    are still taken and the :class:`Selection` says so in ``note`` (``threshold`` = the weakest
    chosen score); a chosen score below 0.5 means the classifier does not see the concept at all.
    """
    score = concept.score(pred)
    if len(score) < k:
        raise ValueError(f"need at least {k} samples to choose {concept.name!r} exemplars, the pool has {len(score)}")
    order = np.lexsort((np.arange(len(score)), -score))
    banned = {int(i) for i in exclude}
    chosen = [int(i) for i in order if int(i) not in banned][:k]
    got = score[chosen]
    n_conf = int((score >= confidence).sum())
    note = None
    if got.min() < confidence:
        kind = ("no sample is classified as" if got.max() <= DECISION else
                f"only {int((got > DECISION).sum())} of the {k} chosen are classified as" if got.min() <= DECISION else
                "all chosen are classified as")
        note = (f"{concept.name!r} ({concept.describe()}): only {n_conf} of {len(score)} pool samples reach confidence "
                f"{confidence:g}; took the {k} most likely (weakest {got.min():.2f}); {kind} {concept.name!r}")
    return Selection(concept.name, chosen, "classifier", float(got.min()), [round(float(s), 4) for s in got],
                     n_conf, note)


def hand_selection(concept: str, indices: Sequence[int], n_pool: int, k: int | None = None) -> Selection:
    """Exemplars given by hand as sample-sheet numbers; checks they are valid pool indices."""
    idx = [int(i) for i in indices]
    if k is not None and len(idx) != k:
        raise ValueError(f"{concept!r}: expected {k} exemplar indices, got {len(idx)} ({idx})")
    if not idx:
        raise ValueError(f"{concept!r}: no exemplar indices given")
    bad = [i for i in idx if not 0 <= i < n_pool]
    if bad:
        raise ValueError(f"{concept!r}: exemplar indices {bad} are outside the sample pool 0..{n_pool - 1}")
    if len(set(idx)) != len(idx):
        raise ValueError(f"{concept!r}: repeated exemplar index in {idx}")
    return Selection(concept, idx, "hand")


def parse_indices(value: Any, what: str = "indices") -> list[int]:
    """Sample-sheet numbers from a list (``[3, 17, 42]``) or a string (``"3,17,42"`` / ``"3 17 42"``)."""
    if isinstance(value, str):
        parts = value.replace(",", " ").split()
        try:
            return [int(p) for p in parts]
        except ValueError as exc:
            raise ValueError(f"{what}: expected comma-separated sample numbers, got {value!r}") from exc
    if isinstance(value, (int, np.integer)):
        return [int(value)]
    if isinstance(value, Sequence) and all(isinstance(v, (int, np.integer)) for v in value):
        return [int(v) for v in value]
    raise ValueError(f"{what}: expected a list of sample numbers, got {value!r}")


__all__ = ["DECISION", "Concept", "Predictor", "SamplePool", "Selection", "generate", "hand_selection",
           "parse_indices", "predict_faces", "sample_pool", "select_exemplars"]
