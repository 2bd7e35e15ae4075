"""Semantic-hashing de-duplication (Radford et al. 2016, section 4.1).

"We fit a 3072-128-3072 de-noising dropout regularized RELU autoencoder on 32x32 downsampled
center-crops of training examples. The resulting code layer activations are then binarized via
thresholding the ReLU activation [...] allowing for linear time de-duplication."

Pipeline::

    model = fit_hash_autoencoder(images_u8, epochs=10, seed=0)   # uint8 (N, 3, S, S)
    codes = hash_codes(model, images_u8)                          # bool (N, 128)
    groups = find_duplicate_groups(codes, max_hamming=0)          # [[i, j, ...], ...]

Images: the centred square crop of each image, downsampled to 32 x 32 with antialiasing
(``area`` pooling when the side is a multiple of 32, antialiased bilinear otherwise), flattened
to 3072 values in [-1, 1].

De-noising/regularisation (training only): per-pixel Gaussian noise of std ``input_noise`` (in
[-1, 1] units; 0.2 is about 25 grey levels), a per-image brightness offset of std
``brightness_jitter`` (not in the paper: it makes the hash less sensitive to global brightness
changes; 0 disables it), dropout ``input_dropout`` on the input pixels, and dropout
``code_dropout`` on the 128 ReLU code units.

Robustness: exact copies always share a hash. A near-duplicate (a few grey levels of noise, a
slight brightness change) typically flips a few of the 128 bits, so use ``max_hamming`` 2-3 to
catch most of them; small geometric changes (a 1-pixel shift) are mostly not caught. All randomness comes from one seeded
``torch.Generator``, so a seed fixes the weights and therefore the codes.

CLI: ``interp dedup --help`` (:mod:`interp.cli.dedup`).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from interp.core.modes import eval_mode
from interp.io.instrument_files import InstrumentError, load_instrument, save_instrument

KIND = "hash_autoencoder"
CODE_DIM = 128
HASH_SIZE = 32


# --------------------------------------------------------------------------- model


def _dropout(x: torch.Tensor, p: float, generator: torch.Generator | None) -> torch.Tensor:
    """Inverted dropout drawing its mask from ``generator`` (same shape as ``x``)."""
    if p <= 0:
        return x
    keep = torch.rand(x.shape, generator=generator, device=x.device) >= p
    return x * keep / (1.0 - p)


class HashAutoencoder(nn.Module):
    """``in_dim``-``code_dim``-``in_dim`` ReLU autoencoder (paper: 3072-128-3072).

    ``forward(x)``: x float (B, 3*size*size) in [-1, 1] -> reconstruction (B, 3*size*size).
    In training mode the input is corrupted (noise + dropout) and the code dropped out;
    ``encode`` never corrupts (it is what hashing uses).
    """

    def __init__(self, size: int = HASH_SIZE, code_dim: int = CODE_DIM, input_noise: float = 0.2,
                 input_dropout: float = 0.1, code_dropout: float = 0.1, brightness_jitter: float = 0.1) -> None:
        super().__init__()
        self.size, self.code_dim = int(size), int(code_dim)
        self.input_noise, self.input_dropout, self.code_dropout = input_noise, input_dropout, code_dropout
        self.brightness_jitter = brightness_jitter
        in_dim = 3 * self.size * self.size
        self.encoder = nn.Linear(in_dim, self.code_dim)
        self.decoder = nn.Linear(self.code_dim, in_dim)

    def config(self) -> dict[str, Any]:
        """Constructor arguments (JSON-able); ``HashAutoencoder(**m.config())`` rebuilds it."""
        return {"size": self.size, "code_dim": self.code_dim, "input_noise": self.input_noise,
                "input_dropout": self.input_dropout, "code_dropout": self.code_dropout,
                "brightness_jitter": self.brightness_jitter}

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3*size*size) -> ReLU code (B, code_dim), >= 0."""
        return F.relu(self.encoder(x))

    def corrupt(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """De-noising corruption of an input batch (B, D): per-pixel Gaussian noise, a per-image
        brightness offset, then input dropout."""
        if self.input_noise > 0:
            x = x + self.input_noise * torch.randn(x.shape, generator=generator, device=x.device)
        if self.brightness_jitter > 0:
            x = x + self.brightness_jitter * torch.randn((len(x), 1), generator=generator, device=x.device)
        return _dropout(x, self.input_dropout, generator)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if self.training:
            x = self.corrupt(x, generator)
        h = self.encode(x)
        if self.training:
            h = _dropout(h, self.code_dropout, generator)
        return self.decoder(h)


# --------------------------------------------------------------------------- data


def prepare_batch(images_u8: np.ndarray | torch.Tensor, size: int = HASH_SIZE,
                  device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 (B, 3, H, W) -> float (B, 3*size*size) in [-1, 1]: centre square crop, antialiased
    downsampling to ``size`` (area pooling for integer factors), flattened."""
    x = images_u8 if torch.is_tensor(images_u8) else torch.from_numpy(np.array(images_u8))  # copy: memmaps are read-only
    x = x.to(device)
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"expected uint8 images (N, 3, H, W), got shape {tuple(x.shape)}")
    h, w = x.shape[-2:]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    x = x[:, :, top : top + side, left : left + side].float().div_(127.5).sub_(1.0)
    if side != size:
        if side % size == 0:
            x = F.interpolate(x, size=(size, size), mode="area")
        else:
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return x.reshape(len(x), -1)


def _batches(n: int, batch_size: int) -> list[slice]:
    return [slice(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]


# --------------------------------------------------------------------------- training


def fit_hash_autoencoder(images_u8: np.ndarray, *, epochs: int = 10, batch_size: int = 128, seed: int = 0,
                         device: torch.device | str = "cpu", lr: float = 1e-3, size: int = HASH_SIZE,
                         code_dim: int = CODE_DIM, input_noise: float = 0.2, input_dropout: float = 0.1,
                         code_dropout: float = 0.1, brightness_jitter: float = 0.1,
                         progress: bool = True) -> HashAutoencoder:
    """Fit the de-noising autoencoder on uint8 (N, 3, S, S) images with Adam + MSE.

    Deterministic given ``seed`` (initialisation, shuffling, noise and dropout all come from it;
    the global RNG is left untouched). Returns the model in eval mode.
    """
    n = len(images_u8)
    if n == 0:
        raise ValueError("fit_hash_autoencoder: no images")
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be >= 1, got {epochs}, {batch_size}")
    device = torch.device(device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = HashAutoencoder(size, code_dim, input_noise, input_dropout, code_dropout,
                                brightness_jitter).to(device)
    gen = torch.Generator(device=device).manual_seed(seed)
    order_rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    bar = tqdm(total=epochs * len(_batches(n, batch_size)), desc="hash autoencoder", unit="batch",
               disable=not progress, leave=False)
    for _ in range(epochs):
        perm = order_rng.permutation(n)
        for sl in _batches(n, batch_size):
            idx = np.sort(perm[sl])  # sorted: fast reads from memory-mapped caches
            x = prepare_batch(images_u8[idx], size, device)
            loss = F.mse_loss(model(x, gen), x)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            bar.update(1)
            bar.set_postfix(mse=f"{loss.item():.4f}", refresh=False)
    bar.close()
    return model.eval()


# --------------------------------------------------------------------------- hashing


@torch.no_grad()
def code_activations(model: HashAutoencoder, images_u8: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """ReLU code activations, float32 (N, code_dim), of uint8 (N, 3, S, S) images (no corruption)."""
    device = next(model.parameters()).device
    with eval_mode(model):
        out = [model.encode(prepare_batch(images_u8[sl], model.size, device)).cpu()
               for sl in _batches(len(images_u8), batch_size)]
    return torch.cat(out).numpy() if out else np.zeros((0, model.code_dim), np.float32)


def hash_codes(model: HashAutoencoder, images_u8: np.ndarray, threshold: float = 0.0,
               batch_size: int = 512) -> np.ndarray:
    """Binarised code, bool (N, code_dim): ReLU activation > ``threshold`` (0: unit active)."""
    return code_activations(model, images_u8, batch_size) > threshold


def pack(codes: np.ndarray) -> list[bytes]:
    """bool (N, B) codes -> N hashable keys of ceil(B/8) bytes each."""
    packed = np.packbits(np.asarray(codes, bool), axis=1)
    return [row.tobytes() for row in packed]


_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], np.uint8)


def _hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamming distances between packed codes a (M, K) and b (L, K) uint8 -> int (M, L)."""
    return _POPCOUNT[a[:, None, :] ^ b[None, :, :]].sum(-1, dtype=np.int64)


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def _near_pairs(unique_bits: np.ndarray, max_hamming: int) -> list[tuple[int, int]]:
    """Pairs of distinct codes (rows of bool (U, B)) within ``max_hamming`` bits (multi-index hashing).

    The B bits are cut into ``max_hamming + 1`` blocks; two codes within that distance agree
    exactly on at least one block (pigeonhole), so only codes sharing a block bucket are compared.
    """
    blocks = np.array_split(np.arange(unique_bits.shape[1]), max_hamming + 1)
    packed = np.packbits(unique_bits, axis=1)
    pairs: set[tuple[int, int]] = set()
    for cols in blocks:
        buckets: dict[bytes, list[int]] = defaultdict(list)
        for i, row in enumerate(np.packbits(unique_bits[:, cols], axis=1)):
            buckets[row.tobytes()].append(i)
        for members in buckets.values():
            if len(members) < 2:
                continue
            m = np.array(members)
            for start in range(0, len(m), 1024):  # chunked: bounded memory for big buckets
                d = _hamming(packed[m[start : start + 1024]], packed[m])
                rows, cols_ = np.nonzero(d <= max_hamming)
                pairs.update((int(m[start + r]), int(m[c])) for r, c in zip(rows, cols_, strict=True) if start + r < c)
    return sorted(pairs)


def find_duplicate_groups(codes: np.ndarray, max_hamming: int = 0) -> list[list[int]]:
    """Groups (size >= 2) of images whose bool (N, B) codes are equal / within ``max_hamming`` bits.

    ``max_hamming=0``: one dict pass over the packed codes, O(N) (the paper's linear-time
    de-duplication). ``max_hamming=k>0``: identical codes are merged first, then multi-index
    hashing over the U unique codes with k+1 exact-match blocks: O(U (k+1)) hashing plus the
    comparisons inside shared block buckets (near-linear for well-spread codes, quadratic in the
    worst case of very low-entropy codes). Groups are connected components (transitive). Each
    group is sorted; groups are ordered by their first index.
    """
    codes = np.asarray(codes, bool)
    if codes.ndim != 2:
        raise ValueError(f"codes must be bool (N, B), got shape {codes.shape}")
    if max_hamming < 0:
        raise ValueError(f"max_hamming must be >= 0, got {max_hamming}")
    buckets: dict[bytes, list[int]] = defaultdict(list)
    for i, key in enumerate(pack(codes)):
        buckets[key].append(i)
    members = list(buckets.values())
    if max_hamming > 0 and len(members) > 1:
        unique_bits = codes[[m[0] for m in members]]
        parent = list(range(len(members)))
        for a, b in _near_pairs(unique_bits, max_hamming):
            ra, rb = _find(parent, a), _find(parent, b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
        merged: dict[int, list[int]] = defaultdict(list)
        for u, m in enumerate(members):
            merged[_find(parent, u)].extend(m)
        members = list(merged.values())
    return sorted((sorted(m) for m in members if len(m) > 1), key=lambda g: g[0])


def duplicates_to_remove(groups: list[list[int]]) -> list[int]:
    """All but the first (lowest) index of every group, sorted."""
    return sorted(i for g in groups for i in g[1:])


# --------------------------------------------------------------------------- saving


def save_hash_autoencoder(path: str | Path, model: HashAutoencoder, extra: dict[str, Any] | None = None) -> Path:
    """Write the model (safetensors + JSON config, atomically); ``extra``: training facts."""
    return save_instrument(path, model, {"kind": KIND, "model": model.config(), **(extra or {})})


def load_hash_autoencoder(path: str | Path, device: torch.device | str = "cpu") -> tuple[HashAutoencoder, dict[str, Any]]:
    """(eval-mode model, stored config) from :func:`save_hash_autoencoder`'s file."""
    state, config = load_instrument(path)
    if config.get("kind") != KIND or not isinstance(config.get("model"), dict):
        raise InstrumentError(f"{path}: instrument kind is {config.get('kind')!r}, expected {KIND!r}")
    try:
        model = HashAutoencoder(**config["model"])
        model.load_state_dict(state)
    except (TypeError, RuntimeError) as exc:
        raise InstrumentError(f"{path}: weights/config do not build a HashAutoencoder ({exc})") from exc
    return model.to(device).eval(), config


# --------------------------------------------------------------------------- CLI
