"""Write contact sheets figures/worlds_rooms.png and figures/worlds_faces.png (8x8 samples + coloured maps)."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from interp.worlds import render


def _colour_map(maps: np.ndarray, n: int) -> np.ndarray:
    """(N, S, S) class ids -> (N, S, S, 3) uint8 using a fixed qualitative palette."""
    rng = np.random.default_rng(3)
    pal = (rng.random((max(n, 1), 3)) * 200 + 40).astype(np.uint8)
    pal[0] = (30, 30, 30)
    base = np.array([(230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
                     (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212),
                     (0, 128, 128), (220, 190, 255), (170, 110, 40), (255, 250, 200)], np.uint8)
    pal[1:1 + min(n - 1, len(base))] = base[:n - 1]
    return pal[maps]


def _grid(imgs: np.ndarray, rows: int, cols: int, pad: int = 2) -> np.ndarray:
    """(rows*cols, S, S, 3) -> one (rows*(S+pad)+pad, cols*(S+pad)+pad, 3) uint8 sheet."""
    s = imgs.shape[1]
    out = np.full((rows * (s + pad) + pad, cols * (s + pad) + pad, 3), 255, np.uint8)
    for k in range(rows * cols):
        r, c = divmod(k, cols)
        out[pad + r * (s + pad): pad + r * (s + pad) + s, pad + c * (s + pad): pad + c * (s + pad) + s] = imgs[k]
    return out


def sheet(world: str, out: Path, seed: int = 0, scale: int = 2, with_maps: bool = True) -> None:
    b = render(world, range(64), seed=seed, size=64)
    panels = [_grid(b.images, 8, 8)]
    if with_maps:
        panels.append(_grid(_colour_map(b.maps, len(b.class_names)), 8, 8))
    full = np.concatenate([np.concatenate([p, np.full((p.shape[0], 8, 3), 255, np.uint8)], 1) for p in panels], 1)
    img = Image.fromarray(full).resize((full.shape[1] * scale, full.shape[0] * scale), Image.NEAREST)
    out.parent.mkdir(parents=True, exist_ok=True)
    img.save(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", type=Path, default=Path("figures"))
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    for w in ("rooms", "faces"):
        sheet(w, a.out / f"worlds_{w}.png", seed=a.seed)


if __name__ == "__main__":
    main()
