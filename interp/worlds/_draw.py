"""Shared vectorised drawing helpers for the procedural worlds.

Everything works on batches: a canvas holds a palette-index map ``idx`` of shape
(B, G, G) uint8 at the supersampled resolution G = SS * size.  Primitives are
boolean masks built by broadcasting a column part (B, 1, G) against a row part
(B, G, 1); painting is ``np.copyto(idx, slot, where=mask)``.  Masks that are
confined to some images / rows / columns are best evaluated only on their bounding
:class:`Window` (``Canvas.paint_win``, ``Canvas.paint_spans``): elementwise formulas on
cropped operands give bit-identical values, at a fraction of the cost.  Colours are only
looked up once at the end (per-image palette (B, K, 3)), multiplied by a shading
field and box-filtered down to the output size.

Screen coordinates: x, y in [-1, 1] at pixel centres, y pointing down, and
exactly antisymmetric under a horizontal flip (x_j == -x_{G-1-j}).
"""
from __future__ import annotations

import numpy as np
import numpy.typing as npt

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

    def spans(self, ya: np.ndarray, yb: np.ndarray, valid: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Per-column row ranges of ya <= y < yb: (lo, n) (B, 1, G) ints, rows lo <= i < lo + n.

        ya, yb, valid: (B, 1, G); NaN bounds and invalid columns give empty ranges."""
        g = self.g
        lo = np.clip(np.ceil((ya * g + (g - 1)) * 0.5), 0, g)
        hi = np.clip(np.ceil((yb * g + (g - 1)) * 0.5), 0, g)
        n = hi - lo
        if valid is not None:
            n = np.where(valid, n, 0)
        n = np.nan_to_num(np.maximum(n, 0)).astype(self._rt)
        lo = np.nan_to_num(lo).astype(self._rt)
        return lo, n

    def vspan(self, ya: np.ndarray, yb: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
        """Mask (B, G, G) of pixels with ya <= y < yb in their column; ya, yb, valid: (B, 1, G).

        Cheap: the bounds are turned into integer row ranges per column and compared in uint8."""
        lo, n = self.spans(ya, yb, valid)
        return (self.ri - lo) < n

    def span_mask(self, w: Window, lo: np.ndarray, n: np.ndarray) -> np.ndarray:
        """The :meth:`vspan` mask of the ranges (lo, n), restricted to window ``w``."""
        return (self.ri[:, w.rs] - w(lo)) < w(n)

    def span_window(self, lo: np.ndarray, n: np.ndarray, align: int = 1) -> Window | None:
        """Bounding window of the non-empty ranges (lo, n) (rows aligned to ``align``), or None."""
        nz = n > 0
        w = self.window(nz.any(axis=(1, 2)), cols=nz)
        if w is None:
            return None
        lo_, n_ = lo[nz], n[nz]
        r0 = int(lo_.min()) // align * align
        r1 = -(-int((lo_ + n_).max()) // align) * align
        c0, c1 = w.cs.start // align * align, -(-w.cs.stop // align) * align
        return Window(w.sel, slice(r0, r1), slice(c0, c1))

    def paint_spans(self, lo: np.ndarray, n: np.ndarray, slot: int | np.ndarray) -> None:
        """``paint(vspan-mask of (lo, n), slot)``, computed only inside the window the ranges touch."""
        w = self.span_window(lo, n)
        if w is not None:
            self.paint_in(w, self.span_mask(w, lo, n), slot)

    def window(self, imgs: npt.ArrayLike | None = None, rows: np.ndarray | None = None,
               cols: np.ndarray | None = None) -> Window | None:
        """Bounding window of the images where ``imgs`` (B,) bool holds and, among them, of the rows
        where ``rows`` (B|1, G, 1) and the columns where ``cols`` (B|1, 1, G) hold; None if empty.

        A mask that implies these conditions is all-false outside the window, so it can be
        computed and painted (:meth:`paint_in`) on the window alone."""
        b, g = self.b, self.g
        ok = np.ones(b, bool) if imgs is None else np.asarray(imgs, bool).copy()
        for m in (rows, cols):  # an image whose row (column) condition never holds is empty
            if m is not None and m.shape[0] == b:
                ok &= m.reshape(b, -1).any(axis=1)
        hits = np.flatnonzero(ok)
        if len(hits) == 0:
            return None
        sel: slice | np.ndarray = hits
        if len(hits) == hits[-1] - hits[0] + 1:  # a contiguous run: use a view
            sel = slice(int(hits[0]), int(hits[-1]) + 1)
        bounds = []
        for m, axis in ((rows, 1), (cols, 2)):
            if m is None:
                bounds.append(slice(0, g))
                continue
            m = m if m.shape[0] == 1 else m[sel]
            hit = np.flatnonzero(m.any(axis=tuple(a for a in range(3) if a != axis)))
            if len(hit) == 0:
                return None
            bounds.append(slice(int(hit[0]), int(hit[-1]) + 1))
        return Window(sel, *bounds)

    def paint_in(self, w: Window, mask: np.ndarray, slot: int | np.ndarray) -> None:
        """Set idx to ``slot`` (int or (B,1,1) uint8) where ``mask`` (cropped to window ``w``) is true."""
        slot = np.uint8(slot) if isinstance(slot, (int, np.integer)) else w(slot)
        sub = self.region(w)
        np.copyto(sub, slot, where=np.broadcast_to(mask, sub.shape))
        self.store(w, sub)

    def paint_win(self, slot: int | np.ndarray, mask_fn, imgs: np.ndarray | None = None,
                  rows: np.ndarray | None = None, cols: np.ndarray | None = None) -> None:
        """``paint(mask, slot)`` for a mask that implies the conditions ``imgs`` / ``rows`` / ``cols``
        (see :meth:`window`): ``mask_fn(w)`` must return the mask cropped to the window ``w``."""
        w = self.window(imgs, rows, cols)
        if w is not None:
            self.paint_in(w, mask_fn(w), slot)

    def region(self, w: Window) -> np.ndarray:
        """idx inside window ``w``: a view when ``w.sel`` is a slice, else a copy (see :meth:`store`)."""
        return self.idx[w.sel, w.rs, w.cs]

    def store(self, w: Window, sub: np.ndarray) -> None:
        """Write back a :meth:`region` that was modified in place (no-op for views)."""
        if not isinstance(w.sel, slice):
            self.idx[w.sel, w.rs, w.cs] = sub

    def paint(self, mask: np.ndarray, slot: int | np.ndarray) -> None:
        """Set idx to ``slot`` (int or (B,1,1) uint8) where ``mask`` (broadcastable) is true."""
        if isinstance(slot, (int, np.integer)):
            slot = np.uint8(slot)
        np.copyto(self.idx, slot, where=np.broadcast_to(mask, self.idx.shape))


class Window:
    """A block of a batch canvas: images ``sel`` (slice or int array) x rows ``rs`` x columns ``cs``.

    Calling it crops an array to the block: per-image scalars (B,) and grid arrays broadcastable
    to (B, G, G) (axes of length 1 are left alone), so elementwise formulas evaluated on cropped
    operands give exactly the values of the full-size formula inside the block."""

    def __init__(self, sel: slice | np.ndarray, rs: slice, cs: slice):
        self.sel, self.rs, self.cs = sel, rs, cs

    def __call__(self, a) -> np.ndarray:
        a = np.asarray(a)
        if a.ndim == 1:
            return a[self.sel]
        if a.shape[0] != 1:
            a = a[self.sel]
        if a.shape[1] != 1:
            a = a[:, self.rs]
        if a.shape[2] != 1:
            a = a[:, :, self.cs]
        return a


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
    if ss == 2:  # de-interleave the four subpixel phases first: contiguous operands are faster
        q = _phases(cls, 2)
        return _mode4(q[:, 0, 0], q[:, 0, 1], q[:, 1, 0], q[:, 1, 1])
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


def _mode4(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Elementwise mode of four equal-shape arrays, ties towards the larger value.

    Sorts the four values with a 5-comparator network (s0 <= s1 <= s2 <= s3); then the
    answer is s1 if s1 == s2 (a pair or more in the middle), else s3 if s2 == s3 (the top
    pair wins any tie), else s1 if s0 == s1 (the only pair), else s3 (all distinct)."""
    lo1, hi1 = np.minimum(a, b), np.maximum(a, b)
    lo2, hi2 = np.minimum(c, d), np.maximum(c, d)
    s0, s3 = np.minimum(lo1, lo2), np.maximum(hi1, hi2)
    m0, m1 = np.maximum(lo1, lo2), np.minimum(hi1, hi2)
    s1, s2 = np.minimum(m0, m1), np.maximum(m0, m1)
    out = np.where(s0 == s1, s1, s3)
    np.copyto(out, s3, where=s2 == s3)
    np.copyto(out, s2, where=s1 == s2)
    return out


_NOISE = np.random.default_rng(12345).standard_normal((64, 128, 128)).astype(np.float32)


def finish(cv: Canvas, palette: np.ndarray, shade: np.ndarray | None, lut: np.ndarray,
           noise_sel: np.ndarray | None = None, noise_amp: float = 0.0,
           alt: tuple[int, int, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Colour lookup + box filter + shading.

    palette (B, K, 3) float32 in [0, 1]; shade: multiplicative shading at OUTPUT resolution,
    broadcastable to (B, S, S), or None; lut (K,) uint8 slot -> class;
    alt = (lo, hi, alt_shade): subpixels with slot in [lo, hi] use ``alt_shade`` instead (blended
    by their fraction in each output pixel).  Returns images (B, S, S, 3) uint8, maps (B, S, S) uint8."""
    b = palette.shape[0]
    p8 = np.clip(palette * 255.0 + 0.5, 0, 255).astype(np.uint32)
    packed = p8[..., 0] | (p8[..., 1] << 10) | (p8[..., 2] << 20)  # 10 bits per channel: sums fit
    q = _phases(cv.idx, cv.ss)  # (B, ss, ss, S, S): every subpixel phase as a contiguous block
    sub = np.empty(q.shape, np.uint32)
    cls = np.empty(q.shape, np.uint8)
    for i in range(b):  # per image: small tables, one index conversion, cache-sized arrays
        ii = q[i].astype(np.intp)
        packed[i].take(ii, out=sub[i], mode="clip")  # indices are in range: "clip" skips the check
        lut.take(ii, out=cls[i], mode="clip")
    tot = _sum_phases(sub)  # (B, S, S) uint32, per-channel sums stay below 1024
    n = cv.ss * cv.ss
    rgb = np.empty((3,) + tot.shape, np.float32)  # channel planes: contiguous elementwise work
    rgb[0] = tot & 1023
    rgb[1] = (tot >> 10) & 1023
    rgb[2] = tot >> 20
    if shade is None:
        rgb *= 1.0 / n
    else:
        sh: np.ndarray = np.broadcast_to(shade, tot.shape).astype(np.float32)  # float64 after blending alt
        if alt is not None:
            lo, hi, ash = alt
            m = (q >= lo) & (q <= hi)
            f = _sum_phases(m.view(np.uint8)).astype(np.float32) * (1.0 / n)
            sh = sh + f * (ash - sh)
        _scale_by_mean(rgb, sh, n)
    if noise_amp > 0 and noise_sel is not None:
        s = cv.size
        rgb += (noise_amp * 255.0) * _NOISE[noise_sel % len(_NOISE), :s, :s]
    rgb += 0.5
    np.clip(rgb, 0, 255, out=rgb)
    img = np.empty(tot.shape + (3,), np.uint8)
    for c in range(3):
        img[..., c] = rgb[c]  # float -> uint8 truncation, as astype
    if cv.ss == 2:
        maps = _mode4(cls[:, 0, 0], cls[:, 0, 1], cls[:, 1, 0], cls[:, 1, 1])
    else:
        maps = mode_map(lut[cv.idx], cv.ss)
    return img, maps


def _phases(a: np.ndarray, ss: int) -> np.ndarray:
    """(B, G, G) -> contiguous (B, ss, ss, G/ss, G/ss): [:, i, j] is subpixel (i, j) of each output pixel."""
    b, g, _ = a.shape
    return np.ascontiguousarray(a.reshape(b, g // ss, ss, g // ss, ss).transpose(0, 2, 4, 1, 3))


def _sum_phases(q: np.ndarray) -> np.ndarray:
    """Sum of the ss x ss phases of a :func:`_phases` array (B, ss, ss, S, S) -> (B, S, S), same dtype."""
    ss = q.shape[1]
    tot = q[:, 0, 0].copy()
    for i in range(ss):
        for j in range(ss):
            if i or j:
                tot += q[:, i, j]
    return tot


def _scale_by_mean(rgb: np.ndarray, sh: np.ndarray, n: int) -> None:
    """rgb = (rgb * (1 / n)) * sh in place (rgb holds sums of n subpixels, sh is overwritten).

    For n a power of two both scalings by 1/n are exact, so folding 1/n into the (smaller)
    shade array gives bit-identical results."""
    if n & (n - 1) == 0:
        sh *= 1.0 / n
        rgb *= sh
    else:
        rgb *= 1.0 / n
        rgb *= sh


def downsample_sum(a: np.ndarray, ss: int) -> np.ndarray:
    """Sum over ss x ss blocks of the last two axes (ss in 1, 2, 4)."""
    n = 1
    while n < ss:
        a = _box2(a)
        n *= 2
    return a
