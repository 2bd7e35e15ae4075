"""What a figure needs to know: where to write, which model, which data, seed, quick mode.

``FigureContext`` resolves models lazily: a figure asks ``ctx.gan("rooms")`` (the final model of
the run) or ``ctx.gan_at_epoch("rooms", 1)`` and gets the ``--checkpoint`` override where one
applies, else the shipped model of the world (``zoo/``, :mod:`interp.io.zoo`); with ``train`` (or where
nothing is shipped, or in quick mode) the model trained here (trained on first use, see
:mod:`interp.train.defaults`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

import torch

from interp.analysis.robustness import claim_verdicts
from interp.figures.metrics import update_metrics
from interp.io.checkpoint import SUFFIX, LoadedGAN, load_gan, with_z_distribution
from interp.io.zoo import shipped_models, zoo_run
from interp.train.defaults import FIG_EPOCHS, ensure_default_model
from interp.worlds import trained_on, world_of

if TYPE_CHECKING:  # the instruments are imported lazily (see get_instrument)
    from interp.instruments import FaceAttributeNet, RoomSegmenter
    from interp.instruments.domain import Domain

INSTRUMENTS = {"rooms": "room_segmenter", "faces": "face_attributes"}
#: samples drawn to judge whether a model's images lie in an instrument's domain
N_DOMAIN = {False: 500, True: 64}


def get_instrument(name: str, *, quick: bool = False, progress: bool = True) -> torch.nn.Module:
    """Indirection over :func:`interp.instruments.get_instrument` (tests replace it)."""
    from interp.instruments import get_instrument as _get

    return _get(name, quick=quick, progress=progress)


def recorded_path(path: str | Path | None) -> str | None:
    """``path`` as ``metrics.json`` records it: relative to the working directory when inside it (the
    shipped models as ``zoo/rooms/...``, not one machine's absolute path), otherwise as given."""
    if path is None:
        return None
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve())) if p.is_absolute() else str(p)
    except ValueError:
        return str(p)


def get_domain(name: str, *, image_size: int, quick: bool = False, progress: bool = True) -> Domain:
    """Indirection over :func:`interp.instruments.registry.get_domain` (tests replace it with the domain of
    their stand-in instruments)."""
    from interp.instruments.registry import get_domain as _get

    return _get(name, image_size=image_size, quick=quick, progress=progress)


def domain_title(values: dict[str, Any]) -> str:
    """A title line for a figure whose samples lie outside its instrument's domain ("" otherwise)."""
    if values.get("in_domain") is not False:
        return ""
    return (f"\nOUT OF THE INSTRUMENT'S DOMAIN: {values['domain_distance']:.0%} of the samples lie outside what "
            "it was trained on; its numbers here are not evidence")


def aims_title(verdicts: dict[str, dict[str, Any]]) -> str:
    """A title line with each measured claim of a figure against the aim this suite holds the reference models
    to (:func:`interp.analysis.robustness.claim_verdicts`): "" when none was measured."""
    shown = {name: v for name, v in verdicts.items() if v["value"] is not None}
    if any(v.get("out_of_domain") for v in shown.values()):
        return "\naims: not judged (measured outside the instrument's domain)"
    parts = [f"{name.replace('_', ' ')} {v['value']:.3g} ({'meets' if v['met'] else 'MISSES'} the aim {v['aim']})"
             for name, v in shown.items()]
    return "\naims: " + "; ".join(parts) if parts else ""


@dataclass
class FigureContext:
    """Settings shared by all figures of one ``python -m interp.figures`` call.

    ``checkpoint``: a checkpoint file or run directory that replaces the default model for EVERY
    figure (each figure measures it with the instruments of the world it was trained on; where
    there is none, the numbers are null with a note). ``gan_override``: an already loaded model,
    same rule. ``data``: the world / data name of the checkpoint when its metadata does not say
    (foreign files); a ``data`` that contradicts the metadata is an error. ``z``: the z law
    (``uniform`` / ``normal``) of a foreign checkpoint, which its file does not record.
    ``instruments``: a face attribute (+ yaw) instrument trained on the user's own labels
    (``interp instruments celeba``), used by Figs. 7-8 for models that are not of the faces world.
    ``train``: draw from models trained on this machine (the CPU-budget defaults; the reference recipe
    where CUDA is available), training them first if needed, instead of the shipped ones.
    ``options``: per-figure settings, ``{"fig7": {"exemplars": ...}}`` (CLI: ``--option fig7.exemplars=...``).
    """

    out: Path = Path("figures")
    seed: int = 0
    quick: bool = False
    checkpoint: str | Path | None = None
    gan_override: LoadedGAN | None = None
    data: str | None = None
    z: str | None = None
    instruments: str | Path | None = None
    data_root: str | Path | None = None
    device: str = "cpu"
    progress: bool = True
    train: bool = False
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.out = Path(self.out)

    def option(self, figure: str, key: str, default: Any = None) -> Any:
        """Figure ``figure``'s option ``key`` (``--option FIGURE.KEY=VALUE``), else ``default``."""
        return (self.options.get(figure) or {}).get(key, default)

    def check_options(self, figure: str, allowed: Iterable[str]) -> None:
        """Raise ValueError naming any ``--option FIGURE.KEY`` that ``figure`` does not take."""
        allowed = list(allowed)
        unknown = sorted(set(self.options.get(figure) or {}) - set(allowed))
        if unknown:
            raise ValueError(f"{figure}: unknown option(s) {unknown}; {figure} takes {allowed}")

    def generator(self, world: str) -> LoadedGAN:
        """:meth:`gan` for a figure that samples: raises ValueError if the checkpoint has no G."""
        gan = self.gan(world)
        if gan.G is None:
            raise ValueError(f"{gan.path}: the checkpoint has no generator")
        return gan

    # ----------------------------------------------------------------- paths

    @property
    def metrics_path(self) -> Path:
        return self.out / "metrics.json"

    def png(self, name: str) -> Path:
        self.out.mkdir(parents=True, exist_ok=True)
        return self.out / name

    # ----------------------------------------------------------------- models

    def _override(self) -> LoadedGAN | None:
        if self.gan_override is not None:
            return self.gan_override
        if self.checkpoint is None:
            return None
        if "override" not in self._cache:
            gan = load_gan(self.checkpoint, device=self.device)
            self._check_data(gan)
            if self.z is not None:
                gan = with_z_distribution(gan, self.z)
            self._cache["override"] = gan
        return self._cache["override"]

    def _check_data(self, gan: LoadedGAN) -> None:
        """``--data`` may name what a checkpoint was trained on, never contradict its metadata."""
        said = trained_on(gan.meta)
        if self.data and said and said != self.data:
            raise ValueError(f"--data {self.data}: {gan.path} says it was trained on {said!r}; drop --data "
                             "(it is only for checkpoints whose metadata does not say) or give the right checkpoint")

    def _applicable_override(self, world: str | None) -> LoadedGAN | None:
        """The overriding model if it replaces the default model for figures of ``world``, else None."""
        return self._override()  # a given model replaces the default model of every world

    def override_applies(self, world: str | None) -> bool:
        return self._applicable_override(world) is not None

    def run_dir(self, world: str) -> Path | None:
        """The run directory figures of ``world`` draw from (None: a single overriding checkpoint)."""
        if self.override_applies(world):
            if self.gan_override is not None or self.checkpoint is None:
                return None
            path = Path(self.checkpoint).expanduser()
            return path if path.is_dir() else (path.parent.parent if path.parent.name == "checkpoints" else None)
        return self._default_run(world)

    def _default_run(self, world: str) -> Path:
        """The run directory of ``world``'s model: the shipped one, else (``train``, quick mode, nothing
        shipped) the one trained here, trained on first use."""
        key = ("run", world)
        if key not in self._cache:
            if not self.quick and not self.train and world in shipped_models():
                self._cache[key] = zoo_run(world)
            else:
                reference = self.train and not self.quick and torch.cuda.is_available() and self.device != "cpu"
                self._cache[key] = ensure_default_model(world, quick=self.quick, progress=self.progress,
                                                        reference=reference)
        return self._cache[key]

    def _load(self, path: Path) -> LoadedGAN:
        key = ("gan", str(path))
        if key not in self._cache:
            self._cache[key] = load_gan(path, device=self.device)
        return self._cache[key]

    def gan(self, world: str) -> LoadedGAN:
        """The final model used for figures of ``world``."""
        override = self._applicable_override(world)
        if override is not None:
            return override
        return self._load(self._default_run(world))

    def gan_at_epoch(self, world: str, epoch: int) -> tuple[LoadedGAN, str | None]:
        """(model after the paper's epoch ``epoch``, note): the run's ``checkpoints/epoch_00N``; quick
        runs use epoch 2 for 5; a single overriding checkpoint is used as it is (with a note)."""
        want = FIG_EPOCHS[self.quick and not self.override_applies(world)].get(epoch, epoch)
        if self.override_applies(world) and self.gan_override is not None:
            return self.gan_override, f"a loaded model was given; used as the epoch-{epoch} model"
        run = self.run_dir(world)
        if run is not None:
            file = run / "checkpoints" / f"epoch_{want:03d}{SUFFIX}"
            if file.is_file():
                note = None if want == epoch else (f"quick run: the epoch-{want} checkpoint stands in for epoch {epoch}")
                return self._load(file), note
            if not self.override_applies(world):
                raise FileNotFoundError(f"{run}: no checkpoints/epoch_{want:03d}{SUFFIX}; delete the run to retrain it")
        gan = self.gan(world)  # the overriding checkpoint where one applies
        return gan, (f"no epoch-{epoch} checkpoint beside {self.checkpoint}; used the given checkpoint "
                     f"({self.model_label(gan)})")

    def world_of(self, gan: LoadedGAN) -> str | None:
        """The embedded world ``gan`` was trained on (None: not a world, no ground truth)."""
        return world_of(gan.meta, self.data_name(gan))

    def model_label(self, gan: LoadedGAN) -> str:
        """How titles name a model: its data and epoch, or its file when the epoch is not known."""
        data = self.data_name(gan) or "model"
        epoch = (gan.meta or {}).get("epoch")
        if epoch is not None:
            return f"{data}, epoch {epoch}"
        return f"{data}, {Path(gan.path).name}" if gan.path is not None else data

    def data_name(self, gan: LoadedGAN) -> str | None:
        if self.data and gan is self._override():
            return self.data
        return trained_on(gan.meta)

    # ----------------------------------------------------------------- instruments & metrics

    @overload
    def instrument(self, world: Literal["rooms"]) -> RoomSegmenter: ...
    @overload
    def instrument(self, world: Literal["faces"]) -> FaceAttributeNet: ...
    @overload
    def instrument(self, world: str) -> torch.nn.Module: ...
    def instrument(self, world: str) -> torch.nn.Module:
        """The measuring instrument of ``world`` (rooms: the segmenter, faces: the attribute net), cached."""
        key = ("instrument", world)
        if key not in self._cache:
            self._cache[key] = get_instrument(INSTRUMENTS[world], quick=self.quick, progress=self.progress)
        return self._cache[key]

    def frechet(self, world: str) -> torch.nn.Module:
        """The net whose features the FD of ``world`` is measured in (the world's Fréchet feature net;
        quick mode: the quick measuring instrument), cached."""
        from interp.instruments.registry import frechet_instrument

        name = frechet_instrument(world, self.quick)
        key = ("instrument-net", name)
        if key not in self._cache:
            self._cache[key] = get_instrument(name, quick=self.quick, progress=self.progress)
        return self._cache[key]

    def domain_check(self, gan: LoadedGAN, faces: bool = False) -> dict[str, Any]:
        """Whether ``gan``'s samples lie in the domain of the instrument that measures them (see
        :mod:`interp.instruments.domain`): ``{"in_domain", "domain_distance", ...}`` for the metrics, ``{}``
        where no instrument measures the model. ``faces``: the instrument of Figs. 7-8 (the faces world's, or
        the user's ``instruments``)."""
        from interp.core.generation import sample_images
        from interp.instruments.domain import check_domain

        world = self.world_of(gan)
        key = ("domain", id(gan), faces)
        if key in self._cache:
            return self._cache[key]
        net: torch.nn.Module
        if faces and world != "faces":
            if self.instruments is None:
                return {}
            from interp.instruments.user import load_user_domain, load_user_instrument

            net, domain = load_user_instrument(self.instruments), load_user_domain(self.instruments)
            if domain is None:
                return {"in_domain": None, "domain_note": f"{self.instruments} has no domain description (trained "
                                                          "before interp recorded one); retrain it to get the check"}
        elif world is None:
            return {}
        else:
            net = self.instrument(world)
            if not callable(getattr(net, "features", None)):  # e.g. a hand-built stand-in instrument
                return {"in_domain": None, "domain_note": f"{type(net).__name__} has no features() to judge its domain by"}
            domain = get_domain(INSTRUMENTS[world], image_size=gan.config.image_size, quick=self.quick,
                                progress=self.progress)
        images = sample_images(gan.generator, N_DOMAIN[self.quick], seed=self.seed)
        result = check_domain(domain, net, images).as_metrics()
        self._cache[key] = result
        return result

    def prepare(self, figures: Iterable[str]) -> None:
        """Make sure the models and instruments that ``figures`` use exist on disk: the model of each of
        their worlds (trained first where a default model is missing), its world's instruments and their
        domains. Parallel workers then only load them (see :mod:`interp.figures.parallel`)."""
        from interp.figures.registry import get_figure

        worlds = sorted({w for w in (get_figure(n).world for n in figures) if w is not None})
        for w in worlds:
            gan = self.gan(w)
            world = self.world_of(gan)
            if world not in INSTRUMENTS:
                continue
            net = self.instrument(world)
            self.frechet(world)
            if callable(getattr(net, "features", None)):
                get_domain(INSTRUMENTS[world], image_size=gan.config.image_size, quick=self.quick,
                           progress=self.progress)

    def face_predictor(self, gan: LoadedGAN) -> tuple[Any, str | None]:
        """(predict, name) for Figs. 7-8: images (N, 3, S, S) -> {attribute: probability, "yaw": ...}.

        A faces-world model is measured by the world's attribute net; any other model by the user's
        own instrument when ``instruments`` is given (attribute names lower-cased: ``Smiling`` ->
        ``smiling``); else (None, None) and the figures say that nothing measures them."""
        from interp.analysis.exemplars import predict_faces

        if self.world_of(gan) == "faces":
            return partial(predict_faces, self.instrument("faces")), "face_attributes"
        if self.instruments is None:
            return None, None
        key = ("user-instrument", str(self.instruments))
        if key not in self._cache:
            from interp.instruments.user import load_user_instrument

            self._cache[key] = load_user_instrument(self.instruments)
        net = self._cache[key]

        def predict(images: torch.Tensor) -> dict[str, Any]:
            return {k.lower(): v for k, v in predict_faces(net, images).items()}

        return predict, f"user instrument {self.instruments}"

    def provenance(self, gan: LoadedGAN, **extra: Any) -> dict[str, Any]:
        return {"checkpoint": recorded_path(gan.path), "data": self.data_name(gan),
                "seed": self.seed, "quick": self.quick, "z_distribution": gan.config.z_distribution, **extra}

    def record(self, section: str, gan: LoadedGAN, values: dict[str, Any]) -> dict[str, Any]:
        """Write ``values`` (+ provenance) as section ``section`` of ``metrics.json``; a section of a paper
        claim gets ``aims`` (each measured claim against its aim, :func:`claim_verdicts`)."""
        verdicts = claim_verdicts(section, values)
        if any(v["value"] is not None for v in verdicts.values()):
            values = {**values, "aims": verdicts}
        return update_metrics(self.metrics_path, section, values, provenance=self.provenance(gan))


__all__ = ["INSTRUMENTS", "N_DOMAIN", "FigureContext", "aims_title", "domain_title", "get_domain", "get_instrument",
           "recorded_path"]
