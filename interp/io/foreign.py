"""Load DCGAN checkpoints written by other code bases into our :mod:`interp.core.models`.

Two formats are understood:

``pytorch_example``
    ``netG_epoch_N.pth`` / ``netD_epoch_N.pth`` from pytorch/examples ``dcgan/main.py``: a state
    dict of an ``nn.Sequential`` called ``main`` (possibly nested one level deep in a dict, possibly
    with DataParallel's ``module.`` prefix). Always read with ``torch.load(weights_only=True)``.
``theano``
    The paper authors' parameters (Newmu/dcgan_code), one ``.npy`` file per array:
    ``<prefix>_gen_params.jl_NN.npy`` and ``<prefix>_discrim_params.jl_NN.npy``. Theano's
    convolutions are true convolutions, so every kernel is flipped spatially on load; batch norm
    has no running statistics (``bn_batch_stats=True``, ``bn_eps=1e-8``).

Keys and arrays are mapped onto our named blocks by explicit position tables, every shape is
checked against the model built from the inferred config, and any mismatch raises
:class:`CheckpointFormatError` naming the file, the key and the expected/found shapes.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from interp.core.config import ConfigError, ModelConfig
from interp.core.models import Discriminator, Generator

__all__ = ["CheckpointFormatError", "detect_format", "load_pytorch_example", "load_theano"]

Transform = Literal["copy", "flip", "transpose"]

#: Keys of one batch-norm layer in a PyTorch state dict (their suffix == our suffix).
_BN_PARAMS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
#: BN keys that old (< 0.4.1) checkpoints lack; filled with 0 (unused in eval mode).
_OPTIONAL_KEYS = ("num_batches_tracked",)
#: Keys, one level deep, under which training scripts commonly nest a state dict (tried first).
_NESTED_KEYS = (
    "netG_state_dict", "netD_state_dict", "state_dict", "model", "generator", "discriminator",
    "netG", "netD", "G", "D", "model_state_dict",
)
_DP_PREFIX = "module."
_EXAMPLE_NAME = re.compile(r"net([GD])((?:_epoch_\d+)?\.pth?)")
_THEANO_NAME = re.compile(r"(?P<prefix>.*)_(?P<role>gen|discrim)_params\.jl_(?P<num>\d{1,2})\.npy")
_THEANO_ROLES = {"G": "gen", "D": "discrim"}
_MIN_N_UP, _MAX_N_UP = 2, 6  # image sizes 16 .. 256


class CheckpointFormatError(ValueError):
    """A file is not a checkpoint of the expected format; the message says what does not match."""


@dataclass(frozen=True)
class _Entry:
    """One tensor: where it is in their checkpoint, where it goes in ours, and how to convert it."""

    theirs: str  # state-dict key (pytorch) or file name (theano)
    ours: str  # our state-dict key
    transform: Transform = "copy"


# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------


def _shape(t: Any) -> tuple[int, ...]:
    return tuple(int(s) for s in t.shape)


def _expected_theirs(our_shape: tuple[int, ...], transform: Transform) -> tuple[int, ...]:
    """Shape their tensor must have to become ``our_shape`` under ``transform``."""
    return tuple(reversed(our_shape)) if transform == "transpose" else our_shape


def _convert(value: torch.Tensor, transform: Transform) -> torch.Tensor:
    """Their tensor -> our layout: copy, spatial flip of a (.., kh, kw) kernel, or 2-D transpose."""
    if transform == "flip":
        return torch.flip(value, dims=(-2, -1))
    if transform == "transpose":
        return value.t()
    return value


def _n_up_to_size(n_up: int, source: str, what: str) -> int:
    if not _MIN_N_UP <= n_up <= _MAX_N_UP:
        raise CheckpointFormatError(
            f"{source}: found {what}, which implies log2(image_size/4) = {n_up}; "
            f"only image sizes 16..256 ({_MIN_N_UP}..{_MAX_N_UP} up-sampling layers) are supported"
        )
    return 4 * 2**n_up


def _make_config(preset: str, source: str, **values: Any) -> ModelConfig:
    try:
        return ModelConfig.from_preset(preset, **values)
    except ConfigError as exc:
        raise CheckpointFormatError(f"{source}: inferred an invalid model config: {exc}") from exc


def _merge_configs(
    preset: str, g_cfg: dict[str, Any] | None, d_cfg: dict[str, Any] | None, source: str, **extra: Any
) -> ModelConfig:
    """One ModelConfig from what G and D each imply; shared fields must agree."""
    values: dict[str, Any] = {}
    for part in (g_cfg, d_cfg):
        for key, value in (part or {}).items():
            if key in values and values[key] != value:
                raise CheckpointFormatError(
                    f"{source}: generator and discriminator disagree on {key}: "
                    f"G implies {values[key]}, D implies {value}"  # values: G's (read first), value: D's
                )
            values[key] = value
    return _make_config(preset, source, **values, **extra)


def _load_mapped(
    model: nn.Module, entries: list[_Entry], tensors: dict[str, torch.Tensor], source: str, basis: str
) -> None:
    """Check every tensor's shape against ``model`` and load them (strict: every key is covered).

    ``tensors`` is keyed by ``_Entry.theirs``; ``basis`` says which tensors the config was inferred
    from, for the error message.
    """
    ours = model.state_dict()
    new_state: dict[str, torch.Tensor] = {}
    for entry in entries:
        target = ours[entry.ours]
        if entry.theirs not in tensors:
            if entry.theirs.rsplit(".", 1)[-1] in _OPTIONAL_KEYS:
                new_state[entry.ours] = torch.zeros_like(target)
                continue
            raise CheckpointFormatError(f"{source}: missing key {entry.theirs!r} (-> our {entry.ours})")
        value = tensors[entry.theirs]
        expected = _expected_theirs(_shape(target), entry.transform)
        if _shape(value) != expected:
            raise CheckpointFormatError(
                f"{source}: {entry.theirs!r} (-> our {entry.ours}) has shape {_shape(value)}, "
                f"expected {expected} (config inferred from {basis})"
            )
        new_state[entry.ours] = _convert(value, entry.transform).to(target.dtype).contiguous()
    missing = set(ours) - set(new_state)
    if missing:  # a bug in a mapping table, never the checkpoint's fault
        raise AssertionError(f"mapping table does not cover {sorted(missing)}")
    model.load_state_dict(new_state, strict=True)


# --------------------------------------------------------------------------------------------
# PyTorch example (pytorch/examples dcgan/main.py)
# --------------------------------------------------------------------------------------------


def _example_g_table(n_up: int) -> list[_Entry]:
    """netG.main positions -> our Generator keys. Conv at 3k, BN at 3k+1, last conv at 3·n_up."""
    blocks = ["project"] + [f"up{i}" for i in range(1, n_up)]
    entries: list[_Entry] = []
    for k, block in enumerate(blocks):
        entries.append(_Entry(f"main.{3 * k}.weight", f"{block}.conv.weight"))
        entries += [_Entry(f"main.{3 * k + 1}.{p}", f"{block}.bn.{p}") for p in _BN_PARAMS]
    entries.append(_Entry(f"main.{3 * n_up}.weight", "out.conv.weight"))
    return entries


def _example_d_table(n_up: int) -> list[_Entry]:
    """netD.main positions -> our Discriminator keys.

    conv1 at 0 (then LeakyReLU at 1); conv k (k >= 2) at 3k-4 with its BN at 3k-3; head at 3·n_up-1.
    """
    entries = [_Entry("main.0.weight", "conv1.conv.weight")]
    for k in range(2, n_up + 1):
        entries.append(_Entry(f"main.{3 * k - 4}.weight", f"conv{k}.conv.weight"))
        entries += [_Entry(f"main.{3 * k - 3}.{p}", f"conv{k}.bn.{p}") for p in _BN_PARAMS]
    entries.append(_Entry(f"main.{3 * n_up - 1}.weight", "head.conv.weight"))
    return entries


def _read_torch(path: Path, map_location: Any) -> Any:
    """``torch.load(weights_only=True)``, with failures turned into CheckpointFormatError."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many types for foreign bytes
        text = str(exc)
        refused = [line.strip() for line in text.splitlines() if "GLOBAL" in line or "global" in line]
        if refused or zipfile.is_zipfile(path):
            detail = refused[0] if refused else _torch_error_detail(text)
            raise CheckpointFormatError(
                f"{path}: not a plain state dict: it holds pickled objects other than tensors and "
                f"containers, which torch.load(weights_only=True) refused ({detail})"
            ) from exc
        raise CheckpointFormatError(
            f"{path}: not a PyTorch checkpoint: neither a torch zip archive nor a legacy pickle "
            f"(torch.load failed: {type(exc).__name__}"
            f"{': ' + _torch_error_detail(text) if _torch_error_detail(text) else ''})"
        ) from exc


_TORCH_BOILERPLATE = ("Weights only load failed", "Please file an issue", "Check the documentation")


def _torch_error_detail(text: str) -> str:
    """The informative line of a torch.load error (it wraps the cause in advice paragraphs)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    useful = [ln for ln in lines if not ln.startswith(_TORCH_BOILERPLATE)]
    return (useful[0] if useful else lines[0] if lines else "")[:200]


def _is_state_dict(obj: Any) -> bool:
    """A non-empty dict of tensors with ``main.*`` (or ``module.main.*``) keys."""
    return (
        isinstance(obj, dict)
        and bool(obj)
        and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())
        and any(k.startswith(("main.", _DP_PREFIX + "main.")) for k in obj)
    )


def _find_state_dicts(obj: Any, path: Path) -> list[tuple[str | None, dict[str, torch.Tensor]]]:
    """State dicts at the top level or one level deep, as (nesting key or None, dict)."""
    if _is_state_dict(obj):
        return [(None, obj)]
    if not isinstance(obj, dict):
        raise CheckpointFormatError(
            f"{path}: expected a state dict (dict of tensors with 'main.*' keys), "
            f"found {type(obj).__name__}"
        )
    keys = [k for k in _NESTED_KEYS if k in obj] + [k for k in obj if k not in _NESTED_KEYS]
    found: list[tuple[str | None, dict[str, torch.Tensor]]] = [(str(k), obj[k]) for k in keys if _is_state_dict(obj[k])]
    if not found:
        raise CheckpointFormatError(
            f"{path}: no state dict with 'main.*' tensor keys at the top level or under any of "
            f"the keys {sorted(map(str, obj))[:20]}"
        )
    return found


def _strip_dataparallel(sd: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], bool]:
    if all(k.startswith(_DP_PREFIX) for k in sd):
        return {k[len(_DP_PREFIX):]: v for k, v in sd.items()}, True
    return sd, False


def _example_role(sd: dict[str, torch.Tensor]) -> Literal["G", "D"]:
    """G has a BatchNorm right after its first layer (main.1.*); D has a LeakyReLU there."""
    return "G" if any(k.startswith("main.1.") for k in sd) else "D"


def _layer_index(key: str) -> int:
    """``main.<i>.<param>`` -> i (keys are validated against the table later)."""
    match = re.match(r"main\.(\d+)\.", key)
    return int(match.group(1)) if match else -1


def _conv_positions(sd: dict[str, torch.Tensor]) -> list[int]:
    """Layer indices i whose ``main.<i>.weight`` is 4-D (a conv / transposed-conv kernel)."""
    return sorted(_layer_index(k) for k, v in sd.items() if k.endswith(".weight") and v.dim() == 4)


def _example_n_up(sd: dict[str, torch.Tensor], role: str, source: str) -> int:
    """log2(size/4) from the number of conv layers, cross-checked against the last layer index.

    G's last conv is main.{3·n_up}, D's head is main.{3·n_up-1}; a disagreement means a key is
    missing or unexpected, and the message names the candidates.
    """
    convs = _conv_positions(sd)
    n_up = len(convs) - 1
    last_index = max(_layer_index(k) for k in sd)
    n_up_from_index = -(-last_index // 3) if role == "G" else -(-(last_index + 1) // 3)
    if n_up == n_up_from_index:
        return n_up
    table = _example_g_table if role == "G" else _example_d_table
    last_expected = 3 * n_up if role == "G" else 3 * n_up - 1
    beyond = sorted(k for k in sd if _layer_index(k) > last_expected)
    missing = [
        e.theirs for e in table(max(n_up_from_index, 1))
        if e.ours.endswith("conv.weight") and (e.theirs not in sd or sd[e.theirs].dim() != 4)
    ]
    raise CheckpointFormatError(
        f"{source}: inconsistent layer layout: {len(convs)} conv weights (at main.{convs}) imply "
        f"a model whose last layer is main.{last_expected}, but keys run to main.{last_index}: "
        f"either key(s) {beyond[:6]} are unexpected, or conv weight key(s) {missing} are missing"
    )


def _require(sd: dict[str, torch.Tensor], key: str, source: str, ndim: int) -> torch.Tensor:
    if key not in sd:
        raise CheckpointFormatError(f"{source}: missing key {key!r}")
    if sd[key].dim() != ndim:
        raise CheckpointFormatError(
            f"{source}: {key!r} should be a {ndim}-D conv weight, found shape {_shape(sd[key])}"
        )
    return sd[key]


def _infer_example(sd: dict[str, torch.Tensor], role: str, source: str) -> dict[str, Any]:
    """Sizes implied by one example state dict: image_size, nc and nz+ngf (G) or ndf (D)."""
    n_up = _example_n_up(sd, role, source)
    size = _n_up_to_size(n_up, source, f"{n_up + 1} conv layers")
    if role == "G":
        first = _require(sd, "main.0.weight", source, 4)  # (nz, 8·ngf, 4, 4)
        last = _require(sd, f"main.{3 * n_up}.weight", source, 4)  # (ngf, nc, 4, 4)
        return dict(image_size=size, nz=first.shape[0], ngf=last.shape[0], nc=last.shape[1])
    first = _require(sd, "main.0.weight", source, 4)  # (ndf, nc, 4, 4)
    return dict(image_size=size, ndf=first.shape[0], nc=first.shape[1])


def _sibling(path: Path) -> Path | None:
    """``netD_epoch_N.pth`` for ``netG_epoch_N.pth`` and vice versa, if it exists."""
    match = _EXAMPLE_NAME.fullmatch(path.name)
    if not match:
        return None
    other = {"G": "D", "D": "G"}[match.group(1)]
    candidate = path.with_name(f"net{other}{match.group(2)}")
    return candidate if candidate.is_file() else None


def load_pytorch_example(
    path: str | Path, *, map_location: Any = "cpu"
) -> tuple[Generator | None, Discriminator | None, dict[str, Any]]:
    """Load ``netG_epoch_N.pth`` and/or ``netD_epoch_N.pth`` (either path; the sibling if present).

    Returns ``(G or None, D or None, metadata)``, models in eval mode with the ``examples`` preset
    and sizes inferred from the shapes. G maps z (N, nz) -> (N, nc, S, S); D returns logits (N,),
    so ``sigmoid(D(x))`` equals the example's netD output.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointFormatError(f"{path}: no such file")
    sibling = _sibling(path)
    files = [path] + ([sibling] if sibling is not None else [])
    found: dict[str, tuple[dict[str, torch.Tensor], str, dict[str, Any]]] = {}
    for file in files:
        for nested, raw in _find_state_dicts(_read_torch(file, map_location), file):
            sd, dataparallel = _strip_dataparallel(raw)
            role = _example_role(sd)
            if role in found:
                continue  # the file asked for wins over its sibling
            source = f"{file}" + (f" [{nested!r}]" if nested else "")
            info = dict(file=str(file), nested_key=nested, dataparallel=dataparallel)
            found[role] = (sd, source, info)
    g_sizes = _infer_example(found["G"][0], "G", found["G"][1]) if "G" in found else None
    d_sizes = _infer_example(found["D"][0], "D", found["D"][1]) if "D" in found else None
    cfg = _merge_configs("examples", g_sizes, d_sizes, str(path))

    gen: Generator | None = None
    disc: Discriminator | None = None
    if "G" in found:
        sd, source, _ = found["G"]
        gen = Generator(cfg)
        _reject_unexpected(sd, _example_g_table(cfg.n_up), source)
        _load_mapped(gen, _example_g_table(cfg.n_up), sd, source,
                     f"main.0.weight and main.{3 * cfg.n_up}.weight: nz={cfg.nz}, ngf={cfg.ngf}, nc={cfg.nc}")
        gen.eval()
    if "D" in found:
        sd, source, _ = found["D"]
        disc = Discriminator(cfg)
        _reject_unexpected(sd, _example_d_table(cfg.n_up), source)
        _load_mapped(disc, _example_d_table(cfg.n_up), sd, source,
                     f"main.0.weight: ndf={cfg.ndf}, nc={cfg.nc}")
        disc.eval()
    match = re.search(r"_epoch_(\d+)", path.name)
    meta = dict(
        format="pytorch_example",
        config=cfg.to_dict(),
        files={role: info["file"] for role, (_, _, info) in found.items()},
        sources={role: info for role, (_, _, info) in found.items()},
        epoch=int(match.group(1)) if match else None,
    )
    return gen, disc, meta


def _reject_unexpected(sd: dict[str, torch.Tensor], table: list[_Entry], source: str) -> None:
    extra = sorted(set(sd) - {e.theirs for e in table})
    if extra:
        raise CheckpointFormatError(
            f"{source}: unexpected key(s) {extra[:10]} for a {len(table)}-entry DCGAN example layout"
        )


# --------------------------------------------------------------------------------------------
# Theano (Newmu/dcgan_code)
# --------------------------------------------------------------------------------------------


def _theano_g_table(n_up: int, names: list[str]) -> list[_Entry]:
    """gen params [W(nz,F), g(F), b(F), (W(ci,co,5,5), g, b) × (n_up-1), W(ngf,nc,5,5)] -> our keys."""
    entries = [
        _Entry(names[0], "project.linear.weight", "transpose"),
        _Entry(names[1], "project.bn.weight"),
        _Entry(names[2], "project.bn.bias"),
    ]
    for i in range(1, n_up):
        base = 3 * i
        entries += [
            _Entry(names[base], f"up{i}.conv.weight", "flip"),
            _Entry(names[base + 1], f"up{i}.bn.weight"),
            _Entry(names[base + 2], f"up{i}.bn.bias"),
        ]
    entries.append(_Entry(names[3 * n_up], "out.conv.weight", "flip"))
    return entries


def _theano_d_table(n_up: int, names: list[str]) -> list[_Entry]:
    """discrim params [W(ndf,nc,5,5), (W(co,ci,5,5), g, b) × (n_up-1), W(F,1)] -> our keys."""
    entries = [_Entry(names[0], "conv1.conv.weight", "flip")]
    for k in range(2, n_up + 1):
        base = 3 * k - 5
        entries += [
            _Entry(names[base], f"conv{k}.conv.weight", "flip"),
            _Entry(names[base + 1], f"conv{k}.bn.weight"),
            _Entry(names[base + 2], f"conv{k}.bn.bias"),
        ]
    entries.append(_Entry(names[3 * n_up - 2], "head.linear.weight", "transpose"))
    return entries


def _theano_prefix(path: Path) -> Path:
    """The ``<dir>/<prefix>`` that a file, a directory, a ``.jl`` name or a bare prefix points at."""
    match = _THEANO_NAME.fullmatch(path.name)
    if match:
        return path.with_name(match.group("prefix"))
    for role in _THEANO_ROLES.values():
        suffix = f"_{role}_params.jl"
        if path.name.endswith(suffix):
            return path.with_name(path.name[: -len(suffix)])
    if path.is_dir():
        names = (_THEANO_NAME.fullmatch(f.name) for f in path.iterdir())
        prefixes = sorted({m.group("prefix") for m in names if m})
        if not prefixes:
            raise CheckpointFormatError(f"{path}: directory holds no '*_gen_params.jl_NN.npy' files")
        if len(prefixes) > 1:
            raise CheckpointFormatError(
                f"{path}: directory holds several parameter sets {prefixes}; pass one prefix"
            )
        return path / prefixes[0]
    return path


def _theano_files(prefix: Path, role: str) -> tuple[list[Path], int, int]:
    """The numbered files of one role in order, the first number (0 or 1) and the digit count."""
    numbered: dict[int, Path] = {}
    width = 1
    if prefix.parent.is_dir():
        for file in prefix.parent.iterdir():
            match = _THEANO_NAME.fullmatch(file.name)
            if not match or match.group("prefix") != prefix.name or match.group("role") != role:
                continue
            num = int(match.group("num"))
            width = max(width, len(match.group("num")))
            if num in numbered:
                raise CheckpointFormatError(f"{file}: duplicates {numbered[num].name} (both number {num})")
            numbered[num] = file
    if not numbered:
        return [], 0, width
    start = min(numbered)
    if start not in (0, 1):
        raise CheckpointFormatError(
            f"{prefix.parent / _theano_file_name(prefix.name, role, 0, width)}: missing "
            f"(numbering must start at 0 or 1; the first {role} file is {numbered[start].name})"
        )
    for num in range(start, max(numbered) + 1):
        if num not in numbered:
            missing = prefix.parent / _theano_file_name(prefix.name, role, num, width)
            raise CheckpointFormatError(
                f"{missing}: missing ({role} params are numbered {sorted(numbered)})"
            )
    return [numbered[n] for n in sorted(numbered)], start, width


def _theano_file_name(prefix: str, role: str, num: int, width: int) -> str:
    return f"{prefix}_{role}_params.jl_{num:0{width}d}.npy"


def _read_npy(file: Path) -> torch.Tensor:
    """One array, never unpickled (``allow_pickle=False``), as a float32 tensor."""
    try:
        array = np.load(file, allow_pickle=False)
    except Exception as exc:  # noqa: BLE001
        raise CheckpointFormatError(
            f"{file}: not a plain .npy array ({type(exc).__name__}: {exc})"
        ) from exc
    if not isinstance(array, np.ndarray) or not np.issubdtype(array.dtype, np.floating):
        found = getattr(array, "dtype", type(array).__name__)
        raise CheckpointFormatError(f"{file}: expected a float array, found {found}")
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))


def _check_rank(file: Path, array: torch.Tensor, ndim: int, what: str) -> None:
    if array.dim() != ndim:
        raise CheckpointFormatError(
            f"{file}: expected a {ndim}-D array ({what}), found shape {_shape(array)}"
        )


def _theano_n_up(files: list[Path], role: str, prefix: Path, start: int, width: int) -> int:
    """gen has 3·n_up+1 arrays, discrim 3·n_up-1."""
    n = len(files)
    n_up, rem = divmod(n - 1, 3) if role == "gen" else divmod(n + 1, 3)
    source = f"{prefix}_{role}_params.jl_*.npy"
    if rem:
        pattern = "3k+1 (W, g, b per layer + final W)" if role == "gen" else "3k-1 (W, (W, g, b)..., final W)"
        candidates = [_theano_file_name(prefix.name, role, start + n, width)]
        if start == 1:
            candidates.append(_theano_file_name(prefix.name, role, 0, width))
        raise CheckpointFormatError(
            f"{source}: found {n} {role} param files ({files[0].name} .. {files[-1].name}); "
            f"expected {pattern}: is {' or '.join(candidates)} missing?"
        )
    _n_up_to_size(n_up, source, f"{n} {role} param files")
    return n_up


def _infer_theano(tensors: list[torch.Tensor], files: list[Path], role: str, n_up: int) -> dict[str, Any]:
    if role == "gen":
        _check_rank(files[0], tensors[0], 2, "dense W(nz, C*16)")
        _check_rank(files[-1], tensors[-1], 4, "deconv W(ngf, nc, 5, 5)")
        return dict(image_size=4 * 2**n_up, nz=tensors[0].shape[0], ngf=tensors[-1].shape[0],
                    nc=tensors[-1].shape[1])
    _check_rank(files[0], tensors[0], 4, "conv W(ndf, nc, 5, 5)")
    _check_rank(files[-1], tensors[-1], 2, "dense W(C*16, 1)")
    return dict(image_size=4 * 2**n_up, ndf=tensors[0].shape[0], nc=tensors[0].shape[1])


def load_theano(path: str | Path) -> tuple[Generator | None, Discriminator | None, dict[str, Any]]:
    """Load the authors' Theano parameters (``<prefix>_{gen,discrim}_params.jl_NN.npy``).

    ``path``: a directory with one such set, any one of the files, or the prefix. Returns
    ``(G or None, D or None, metadata)`` in eval mode, preset ``paper`` (kernel 5, dense projection,
    dense D head) with ``bn_batch_stats=True, bn_eps=1e-8``: batch norm always uses the batch's own
    statistics, as Theano's did, so evaluate on batches, not single samples.
    """
    path = Path(path)
    prefix = _theano_prefix(path)
    found: dict[str, tuple[list[Path], list[torch.Tensor], int, dict[str, Any]]] = {}
    for key, role in _THEANO_ROLES.items():
        files, start, width = _theano_files(prefix, role)
        if not files:
            continue
        n_up = _theano_n_up(files, role, prefix, start, width)
        tensors = [_read_npy(f) for f in files]
        found[key] = (files, tensors, start, _infer_theano(tensors, files, role, n_up))
    if not found:
        raise CheckpointFormatError(
            f"{path}: no '{prefix.name}_gen_params.jl_NN.npy' or '..._discrim_params.jl_NN.npy' "
            f"files in {prefix.parent}"
        )
    cfg = _merge_configs(
        "paper", found["G"][3] if "G" in found else None, found["D"][3] if "D" in found else None,
        str(prefix), bn_batch_stats=True, bn_eps=1e-8,
    )

    gen: Generator | None = None
    disc: Discriminator | None = None
    if "G" in found:
        files, tensors, _, _ = found["G"]
        gen = Generator(cfg)
        names = [str(f) for f in files]
        _load_mapped(gen, _theano_g_table(cfg.n_up, names), dict(zip(names, tensors, strict=True)), f"{prefix} (gen)",
                     f"{files[0].name} and {files[-1].name}: nz={cfg.nz}, ngf={cfg.ngf}, nc={cfg.nc}")
        gen.eval()
    if "D" in found:
        files, tensors, _, _ = found["D"]
        disc = Discriminator(cfg)
        names = [str(f) for f in files]
        _load_mapped(disc, _theano_d_table(cfg.n_up, names), dict(zip(names, tensors, strict=True)),
                     f"{prefix} (discrim)", f"{files[0].name}: ndf={cfg.ndf}, nc={cfg.nc}")
        disc.eval()
    meta = dict(
        format="theano",
        config=cfg.to_dict(),
        prefix=str(prefix),
        files={key: [str(f) for f in files] for key, (files, _, _, _) in found.items()},
        first_index={key: start for key, (_, _, start, _) in found.items()},
    )
    return gen, disc, meta


# --------------------------------------------------------------------------------------------
# Detection
# --------------------------------------------------------------------------------------------


def detect_format(path: Path) -> str | None:
    """``"theano"``, ``"pytorch_example"`` or None. Never raises; reads a .pth with weights_only."""
    path = Path(path)
    try:
        if _THEANO_NAME.fullmatch(path.name):
            return "theano"
        if path.is_dir():
            has_theano = any(_THEANO_NAME.fullmatch(f.name) for f in path.iterdir())
            return "theano" if has_theano else None
        prefix = _theano_prefix(path)
        if any(_theano_files(prefix, role)[0] for role in _THEANO_ROLES.values()):
            return "theano"
        if not path.is_file():
            return None
        if is_torch_file(path):  # a zip archive or a raw pickle: torch.save's formats, never safetensors
            return "pytorch_example"
        return None
    except OSError:
        return None


def is_torch_file(path: Path) -> bool:
    """True for a file in one of ``torch.save``'s formats (zip archive, or a pickle stream), by its first
    bytes; such a file is only ever read with ``weights_only=True``."""
    with open(path, "rb") as fh:
        head = fh.read(9)
    if head[8:9] == b"{":  # safetensors: an 8-byte header length, then the JSON header
        return False
    return head.startswith(b"PK\x03\x04") or (head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"))
