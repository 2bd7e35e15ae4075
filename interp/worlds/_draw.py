"""Shared vectorised drawing helpers for the procedural worlds.

Everything works on batches: a canvas holds a palette-index map ``idx`` of shape
(B, G, G) uint8 at the supersampled resolution G = SS * size.  Primitives are
boolean masks built by broadcasting a column part (B, 1, G) against a row part
(B, G, 1); painting is ``np.copyto(idx, slot, where=mask)``.  Colours are only
looked up once at the end (per-image palette (B, K, 3)), multiplied by a shading
field and box-filtered down to the output size.

Screen coordinates: x, y in [-1, 1] at pixel centres, y pointing down, and
exactly antisymmetric under a horizontal flip (x_j == -x_{G-1-j}).
"""
from __future__ import annotations

import numpy as np

SS = 2  # supersampling factor (render at SS*size, then box-filter)


def uniforms(seed: int, tag: int, indices: np.ndarray, n: int) -> np.ndarray:
    """(B, n) float64 uniforms, a pure function of (seed, tag, index) per row."""
    out = np.empty((len(indices), n))
    for r, i in enumerate(indices):
        out[r] = np.random.default_rng([int(seed), tag, int(i)]).random(n)
    return out


def col(a) -> np.ndarray:
    """Per-image scalars (B,) -> (B, 1, 1) float32 (bool stays bool) for broadcasting."""
    a = np.asarray(a)
    return a.reshape(-1, 1, 1) if a.dtype == bool else a.astype(np.float32).reshape(-1, 1, 1)


def grid(g: int) -> np.ndarray:
    """(g,) float32 pixel-centre coordinates in [-1, 1], exactly antisymmetric."""
    j = np.arange(g)
    return ((2 * j + 1 - g) / g).astype(np.float32)


class Canvas:
    """Palette-index canvas for a batch: ``idx`` (B, G, G) uint8, ``x`` (1,1,G), ``y`` (1,G,1)."""

    def __init__(self, b: int, size: int, ss: int = SS):
        self.b, self.size, self.ss, self.g = b, size, ss, size * ss
        c = grid(self.g)
        self.x = c.reshape(1, 1, -1)
        self.y = c.reshape(1, -1, 1)
        self.idx = np.zeros((b, self.g, self.g), np.uint8)
        self._rt = np.uint8 if self.g < 256 else np.uint16
        self.ri = np.arange(self.g, dtype=self._rt).reshape(1, -1, 1)

    def vspan(self, ya: np.ndarray, yb: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
        """Mask (B, G, G) of pixels with ya <= y < yb in their column; ya, yb, valid: (B, 1, G).

        Cheap: the bounds are turned into integer row ranges per column and compared in uint8."""
        g = self.g
        lo = np.clip(np.ceil((ya * g + (g - 1)) * 0.5), 0, g)
        hi = np.clip(np.ceil((yb * g + (g - 1)) * 0.5), 0, g)
        n = hi - lo
        if valid is not None:
            n = np.where(valid, n, 0)
        n = np.nan_to_num(np.maximum(n, 0)).astype(self._rt)
        lo = np.nan_to_num(lo).astype(self._rt)
        return (self.ri - lo) < n

    def paint(self, mask: np.ndarray, slot: int | np.ndarray) -> None:
        """Set idx to ``slot`` (int or (B,1,1) uint8) where ``mask`` (broadcastable) is true."""
        if isinstance(slot, (int, np.integer)):
            slot = np.uint8(slot)
        np.copyto(self.idx, slot, where=np.broadcast_to(mask, self.idx.shape))


def frac(a: np.ndarray) -> np.ndarray:
    """a - floor(a) (much faster than np.mod for float arrays)."""
    return a - np.floor(a)


def ellipse(x: np.ndarray, y: np.ndarray, cx, cy, rx, ry) -> np.ndarray:
    """Mask of ((x-cx)/rx)^2 + ((y-cy)/ry)^2 < 1; x (..,1,G), y (..,G,1), params (B,1,1)."""
    return ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 < 1.0


def hsv2rgb(h, s, v) -> np.ndarray:
    """Vectorised HSV -> RGB; arrays of equal shape (...), returns (..., 3) in [0, 1]."""
    h = np.mod(h, 1.0) * 6.0
    s = np.clip(s, 0, 1)
    v = np.clip(v, 0, 1)
    i = np.floor(h).astype(int) % 6
    f = h - np.floor(h)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    r = np.choose(i, [v, q, p, p, t, v])
    g = np.choose(i, [t, v, v, q, p, p])
    b = np.choose(i, [p, p, t, v, v, q])
    return np.stack([r, g, b], -1)


def _box2(a: np.ndarray) -> np.ndarray:
    """Sum over 2x2 blocks of the last two axes (..., G, G) -> (..., G/2, G/2)."""
    s = a[..., 0::2, :] + a[..., 1::2, :]
    return s[..., 0::2] + s[..., 1::2]


def downsample(a: np.ndarray, ss: int) -> np.ndarray:
    """Box-filter (mean) the last two axes by ``ss`` (1, 2 or 4)."""
    n = 1
    while n < ss:
        a = _box2(a)
        n *= 2
    return a * (1.0 / (ss * ss)) if ss > 1 else a


def mode_map(cls: np.ndarray, ss: int) -> np.ndarray:
    """(B, G, G) uint8 class map -> (B, G/ss, G/ss): most frequent subpixel class.

    Ties are broken towards the larger class id (a mirror-symmetric rule, so
    flipping the supersampled map flips the output map exactly)."""
    if ss == 1:
        return cls.copy()
    b, g, _ = cls.shape
    s = g // ss
    subs = [cls[:, i::ss, j::ss] for i in range(ss) for j in range(ss)]
    best = subs[0].copy()
    bestc = np.zeros(best.shape, np.int16)
    for a in subs:
        cnt = np.zeros(best.shape, np.int16)
        for o in subs:
            cnt += a == o
        better = (cnt > bestc) | ((cnt == bestc) & (a > best))
        np.copyto(best, a, where=better)
        np.copyto(bestc, cnt, where=better)
    return best.reshape(b, s, s)


_NOISE = np.random.default_rng(12345).standard_normal((64, 128, 128)).astype(np.float32)


def finish(cv: Canvas, palette: np.ndarray, shade: np.ndarray | None, lut: np.ndarray,
           noise_sel: np.ndarray | None = None, noise_amp: float = 0.0,
           alt: tuple[int, int, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Colour lookup + box filter + shading.

    palette (B, K, 3) float32 in [0, 1]; shade: multiplicative shading at OUTPUT resolution,
    broadcastable to (B, S, S), or None; lut (K,) uint8 slot -> class;
    alt = (lo, hi, alt_shade): subpixels with slot in [lo, hi] use ``alt_shade`` instead (blended
    by their fraction in each output pixel).  Returns images (B, S, S, 3) uint8, maps (B, S, S) uint8."""
    b, k, _ = palette.shape
    p8 = np.clip(palette * 255.0 + 0.5, 0, 255).astype(np.uint32)
    packed = p8[..., 0] | (p8[..., 1] << 10) | (p8[..., 2] << 20)  # 10 bits per channel: sums fit
    flat = cv.idx.astype(np.intp)
    flat += (np.arange(b, dtype=np.intp) * k).reshape(-1, 1, 1)
    sub = packed.ravel()[flat]
    tot = downsample_sum(sub, cv.ss)  # (B, S, S) uint32, per-channel sums stay below 1024
    n = float(cv.ss * cv.ss)
    img = np.stack([(tot & 1023), (tot >> 10) & 1023, (tot >> 20)], -1).astype(np.float32)
    img *= 1.0 / n
    if shade is not None:
        sh = np.broadcast_to(shade, tot.shape).astype(np.float32)
        if alt is not None:
            lo, hi, ash = alt
            m = (cv.idx >= lo) & (cv.idx <= hi)
            f = downsample_sum(m.astype(np.uint8), cv.ss).astype(np.float32) * (1.0 / n)
            sh = sh + f * (ash - sh)
        img *= sh[..., None]
    if noise_amp > 0 and noise_sel is not None:
        s = cv.size
        img += (noise_amp * 255.0) * _NOISE[noise_sel % len(_NOISE), :s, :s, None]
    img = np.clip(img + 0.5, 0, 255).astype(np.uint8)
    maps = mode_map(lut[cv.idx], cv.ss)
    return img, maps


def downsample_sum(a: np.ndarray, ss: int) -> np.ndarray:
    """Sum over ss x ss blocks of the last two axes (ss in 1, 2, 4)."""
    n = 1
    while n < ss:
        a = _box2(a)
        n *= 2
    return a
