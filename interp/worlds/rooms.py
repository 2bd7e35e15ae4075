"""Procedural bedrooms in one-point perspective, with per-pixel classes and window boxes.

Geometry: a pinhole camera at the origin looks down +Z with focal length 1, so a
world point (X, Y, Z) lands at screen offset (dx, dy) = (X/Z, Y/Z) from the
vanishing point V (Y points down).  The back wall is the plane Z = 1; the left /
right walls are X = -xl / X = xr, floor Y = yf, ceiling Y = -yc.  One metre is
``m`` world units.  Objects on walls are rectangles in unfolded wall coordinates
(U along the walls, V = height coordinate) where U is a function of the screen
column only, so every wall rectangle costs a couple of full-grid comparisons.

Output map (``render_batch``): class of the most frequent of the 2x2 subpixels
(ties -> larger class id).  Window boxes: (x0, y0, x1, y1) in output pixels,
x0/y0 inclusive and x1/y1 EXCLUSIVE, the tight box of the visible window pixels
(frame + glass) of each window in the output class map.
"""
from __future__ import annotations

import numpy as np

from interp.worlds._draw import Canvas, col, finish, frac, grid, hsv2rgb, uniforms

CLASS_NAMES: tuple[str, ...] = ("wall", "floor", "ceiling", "window", "bed", "picture",
                                "door", "furniture", "curtain", "mirror", "tv")

_SLOTS = [
    ("ceiling", 2), ("wall_back", 0), ("wall_left", 0), ("wall_right", 0),
    ("wpat_back", 0), ("wpat_left", 0), ("wpat_right", 0), ("skirting", 0),
    ("floor_a", 1), ("floor_b", 1), ("floor_gap", 1), ("rug", 1), ("rug_border", 1),
    ("win_frame", 3), ("sky", 3), ("cloud", 3), ("tree", 3),
    ("curtain", 8), ("curtain_fold", 8),
    ("pic_frame", 5), ("pic_a", 5), ("pic_b", 5),
    ("mir_frame", 9), ("mir_glass", 9), ("mir_hi", 9),
    ("tv_bezel", 10), ("tv_screen", 10), ("tv_hi", 10),
    ("door", 6), ("door_panel", 6), ("door_knob", 6),
    ("headboard", 4), ("blanket", 4), ("blanket_pat", 4), ("sheet", 4), ("pillow", 4),
    ("bed_side", 4), ("bed_side2", 4), ("bed_frame", 4),
    ("furn_front", 7), ("furn_top", 7), ("furn_side", 7), ("furn_line", 7),
    ("lamp_shade", 7), ("lamp_base", 7),
]
S = {n: i for i, (n, _) in enumerate(_SLOTS)}
LUT = np.array([c for _, c in _SLOTS], np.uint8)
K = len(_SLOTS)
NU = 512  # uniforms per image (fixed: changing it changes every image)

# wall-object types and their palette slots
NONE, WINDOW, PICTURE, MIRROR, TV, DOOR = range(6)
_FRAME = np.array([0, S["win_frame"], S["pic_frame"], S["mir_frame"], S["tv_bezel"], S["door_panel"]], np.uint8)
_INNER = np.array([0, S["sky"], S["pic_a"], S["mir_glass"], S["tv_screen"], S["door"]], np.uint8)
_BLOB = np.array([0, 0, S["pic_b"], 0, 0, S["door_knob"]], np.uint8)
_HI = np.array([0, 0, 0, S["mir_hi"], S["tv_hi"], 0], np.uint8)


class _U:
    """Hands out successive columns of the (B, NU) uniform matrix."""

    def __init__(self, u: np.ndarray):
        self.u, self.k = u, 0

    def __call__(self, lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
        c = self.u[:, self.k]
        self.k += 1
        return lo + (hi - lo) * c

    def choice(self, p) -> np.ndarray:
        """Categorical draw with probabilities ``p`` -> (B,) int."""
        return np.searchsorted(np.cumsum(p) / np.sum(p), self(), side="right").clip(0, len(p) - 1)


def _hsv(h, s, v) -> np.ndarray:
    return hsv2rgb(np.asarray(h, float), np.asarray(s, float), np.asarray(v, float))


def _palette(r: _U, b: int, floor_wood: np.ndarray, night: np.ndarray, city: np.ndarray) -> np.ndarray:
    """(B, K, 3) float32 palette for each image."""
    P = np.zeros((b, K, 3))
    # walls: muted colours, occasionally saturated
    wh, ws, wv = r(), r(0.03, 0.35) * np.where(r() < 0.15, 2.0, 1.0), r(0.5, 0.95)
    base = _hsv(wh, ws, wv)
    P[:, S["wall_back"]] = base
    lside = r(0.7, 0.95)
    P[:, S["wall_left"]] = base * lside[:, None]
    P[:, S["wall_right"]] = base * (1.65 - lside)[:, None] * 0.95
    dv = np.where(r() < 0.5, -1, 1) * r(0.08, 0.22)
    pat = _hsv(wh + r(-0.08, 0.08), ws + r(0, 0.2), wv + dv)
    P[:, S["wpat_back"]] = pat
    P[:, S["wpat_left"]] = pat * lside[:, None]
    P[:, S["wpat_right"]] = pat * (1.65 - lside)[:, None] * 0.95
    P[:, S["skirting"]] = np.where((r() < 0.6)[:, None], _hsv(0, 0, r(0.85, 0.97)), base * 0.7)
    P[:, S["ceiling"]] = _hsv(wh, ws * 0.3, r(0.8, 0.98))
    # floor: wood or carpet
    wood = _hsv(r(0.04, 0.11), r(0.35, 0.75), r(0.3, 0.75))
    carpet = _hsv(r(), r(0.05, 0.45), r(0.3, 0.8))
    fa = np.where(floor_wood[:, None], wood, carpet)
    P[:, S["floor_a"]] = fa
    P[:, S["floor_b"]] = fa * r(0.8, 0.92)[:, None]
    P[:, S["floor_gap"]] = fa * 0.55
    rug = _hsv(r(), r(0.2, 0.7), r(0.3, 0.85))
    P[:, S["rug"]] = rug
    P[:, S["rug_border"]] = rug * 0.6 + 0.3
    # windows and views
    P[:, S["win_frame"]] = np.where((r() < 0.65)[:, None], _hsv(0.1, r(0, 0.08), r(0.88, 1.0)),
                                    _hsv(r(0.05, 0.1), r(0.3, 0.6), r(0.25, 0.55)))
    day = _hsv(r(0.54, 0.62), r(0.25, 0.65), r(0.88, 1.0))
    overcast = _hsv(r(0.55, 0.62), r(0.0, 0.12), r(0.82, 0.95))
    ovc = (r() < 0.2)[:, None]
    sky = np.where(ovc, overcast, day)
    nsky = _hsv(r(0.6, 0.68), r(0.5, 0.9), r(0.12, 0.3))
    nt = night[:, None]
    P[:, S["sky"]] = np.where(nt, nsky, sky)
    P[:, S["cloud"]] = np.where(nt, nsky * 1.6 + 0.05, _hsv(0.6, r(0, 0.06), r(0.95, 1.0)))
    tree = _hsv(r(0.2, 0.4), r(0.4, 0.85), r(0.25, 0.6))
    bld = _hsv(r(0.0, 1.0), r(0.0, 0.2), r(0.45, 0.8))
    tv = np.where(city[:, None], bld, tree)
    P[:, S["tree"]] = np.where(nt, tv * 0.25, tv)
    cur = _hsv(r(), r(0.1, 0.7), r(0.35, 0.9))
    P[:, S["curtain"]] = cur
    P[:, S["curtain_fold"]] = cur * 0.72
    # pictures / mirrors / tv / doors
    P[:, S["pic_frame"]] = _hsv(r(0.05, 0.14), r(0.0, 0.8), r(0.1, 0.95))
    P[:, S["pic_a"]] = _hsv(r(), r(0.1, 0.9), r(0.2, 0.95))
    P[:, S["pic_b"]] = _hsv(r(), r(0.3, 1.0), r(0.2, 0.95))
    P[:, S["mir_frame"]] = _hsv(r(0.05, 0.14), r(0.0, 0.7), r(0.15, 0.9))
    mg = _hsv(r(0.5, 0.6), r(0.02, 0.12), r(0.6, 0.8))
    P[:, S["mir_glass"]] = mg
    P[:, S["mir_hi"]] = mg * 0.6 + 0.38
    P[:, S["tv_bezel"]] = _hsv(0, 0, r(0.02, 0.12))
    P[:, S["tv_screen"]] = _hsv(r(0.55, 0.65), r(0.1, 0.4), r(0.08, 0.22))
    P[:, S["tv_hi"]] = _hsv(r(0.55, 0.65), r(0.05, 0.2), r(0.22, 0.35))
    door = np.where((r() < 0.5)[:, None], _hsv(0.1, r(0, 0.06), r(0.85, 0.97)),
                    _hsv(r(0.05, 0.1), r(0.4, 0.7), r(0.3, 0.6)))
    P[:, S["door"]] = door
    P[:, S["door_panel"]] = door * 0.85
    P[:, S["door_knob"]] = _hsv(0.12, r(0.2, 0.6), r(0.5, 0.9))
    # bed
    P[:, S["headboard"]] = np.where((r() < 0.5)[:, None], _hsv(r(0.04, 0.1), r(0.3, 0.7), r(0.2, 0.6)),
                                    _hsv(r(), r(0.0, 0.4), r(0.3, 0.9)))
    bl = _hsv(r(), r(0.15, 0.8), r(0.35, 0.95))
    P[:, S["blanket"]] = bl
    P[:, S["blanket_pat"]] = np.where((r() < 0.5)[:, None], bl * 0.65, _hsv(r(), r(0.1, 0.8), r(0.4, 1.0)))
    sheet = _hsv(r(), r(0.0, 0.1), r(0.85, 1.0))
    P[:, S["sheet"]] = sheet
    P[:, S["pillow"]] = np.where((r() < 0.7)[:, None], sheet * 0.97, bl * 1.1)
    P[:, S["bed_side"]] = bl * 0.78
    P[:, S["bed_side2"]] = bl * 0.6
    P[:, S["bed_frame"]] = P[:, S["headboard"]] * 0.8
    # furniture
    fw = np.where((r() < 0.6)[:, None], _hsv(r(0.04, 0.11), r(0.3, 0.7), r(0.25, 0.65)),
                  _hsv(r(), r(0, 0.1), r(0.1, 0.95)))
    P[:, S["furn_front"]] = fw
    P[:, S["furn_top"]] = fw * 1.12 + 0.03
    P[:, S["furn_side"]] = fw * 0.75
    P[:, S["furn_line"]] = fw * 0.5
    P[:, S["lamp_shade"]] = _hsv(r(0.08, 0.15), r(0.05, 0.35), r(0.9, 1.0))
    P[:, S["lamp_base"]] = _hsv(r(), r(0, 0.5), r(0.2, 0.8))
    return np.clip(P, 0, 1).astype(np.float32)


def _place_wall(r: _U, typ: np.ndarray, lo: np.ndarray, hi: np.ndarray, bed_top: np.ndarray):
    """Sizes/positions (metres) for wall objects of type ``typ`` centred in [lo, hi].

    Returns centre, width, bottom, height (each (B,)); objects that do not fit get type NONE."""
    w = np.select([typ == WINDOW, typ == PICTURE, typ == MIRROR, typ == TV, typ == DOOR],
                  [r(0.9, 1.8), r(0.4, 1.1), r(0.4, 0.7), r(0.8, 1.3), r(0.75, 0.95)], 0.0)
    h = np.select([typ == WINDOW, typ == PICTURE, typ == MIRROR, typ == TV, typ == DOOR],
                  [r(1.0, 1.6), r(0.3, 0.9), r(0.9, 1.5), w * 0.58, r(1.95, 2.1)], 0.0)
    bot = np.select([typ == WINDOW, typ == PICTURE, typ == MIRROR, typ == TV, typ == DOOR],
                    [r(0.5, 0.95), np.maximum(r(1.0, 1.4), bed_top + 0.15), r(0.3, 0.8), r(0.9, 1.2), 0.0], 0.0)
    room = hi - lo
    w = np.minimum(w, room)
    c = lo + w / 2 + (room - w) * r()
    typ = np.where(w < 0.35, NONE, typ)
    return typ, c, w, bot, h


def _paint_ellipse(cv: Canvas, slot: int, u: np.ndarray, v: np.ndarray, pv: int) -> None:
    """Paint ``u ** 2 + v ** pv < 1`` (u a column part (B,1,G), v a row part (B,G,1), pv even)."""
    a, b = u ** 2, v ** pv
    cv.paint_win(slot, lambda w: w(a) + w(b) < 1, rows=b < 1, cols=a < 1)


def _paint_top(cv: Canvas, slot: int, t: np.ndarray, t_max, dx: np.ndarray, a0, a1, imgs: np.ndarray,
               t_min=1) -> None:
    """Paint a horizontal rectangle seen from above/below: rows with inverse depth ``t`` (B,G,1) in
    (t_min, t_max], columns with a0 * t <= dx < a1 * t (a0, a1, t_max per image (B,), t_min too or
    a number); images outside ``imgs`` must be empty."""
    rows = (t > col(t_min)) & (t <= col(t_max))
    cv.paint_win(slot, lambda w: w(rows) & (w(dx) >= w(col(a0)) * w(t)) & (w(dx) < w(col(a1)) * w(t)),
                 imgs=imgs, rows=rows)


def _paint_box(cv: Canvas, slot: int, cols: np.ndarray, rows: np.ndarray) -> None:
    """Paint the separable mask ``cols & rows`` (column part (B,1,G) & row part (B,G,1))."""
    cv.paint_win(slot, lambda w: w(cols) & w(rows), rows=rows, cols=cols)


def render_batch(indices, seed: int = 0, size: int = 64, ss: int = 2):
    """Render rooms for ``indices`` -> (images (N,S,S,3) uint8, maps (N,S,S) uint8, boxes list of (k,4) int)."""
    indices = np.asarray(indices, dtype=np.int64).reshape(-1)
    b = len(indices)
    r = _U(uniforms(seed, 1, indices, NU))
    cv = Canvas(b, size, ss)
    x, y = cv.x, cv.y

    # ---------------- room geometry -----------------
    Wr, Hr, ch = r(3.0, 4.6), r(2.4, 2.9), r(1.15, 1.6)
    blen = r(1.9, 2.2)
    dist = np.maximum(r(3.1, 4.8), blen + 1.0)  # camera to back wall, metres
    m = 1.0 / dist
    bw = Wr * m
    fl = r(0.28, 0.72)
    vx, vy = r(-0.25, 0.25), r(-0.18, 0.12)
    xl, xr, yf, yc = fl * bw, (1 - fl) * bw, ch * m, (Hr - ch) * m
    dx, dy = x - col(vx), y - col(vy)  # (B,1,G), (B,G,1)
    il = np.maximum(-dx, 0) / col(xl)
    ir = np.maximum(dx, 0) / col(xr)
    side = np.maximum(il, ir)  # inverse depth of the side-wall hit (col)
    iF = np.maximum(dy, 0) / col(yf)
    iC = np.maximum(-dy, 0) / col(yc)
    vert = np.maximum(iF, iC)
    cv.idx[:] = S["ceiling"]
    cv.paint_win(S["floor_a"], lambda w: w(iF) > w(side), rows=dy > 0)  # iF > side needs iF > 0
    cv.paint_win(S["wall_left"], lambda w: w(il) > w(vert), cols=dx < 0)
    cv.paint_win(S["wall_right"], lambda w: w(ir) > w(vert), cols=dx > 0)
    _paint_box(cv, S["wall_back"], side <= 1, vert <= 1)
    # unfolded wall coordinates: U (col) and V (full)
    Zw = 1.0 / np.maximum(side, 1.0)
    U = np.where(side <= 1, dx, np.where(dx < 0, -col(xl) - (1 - Zw), col(xr) + (1 - Zw)))
    wallmask = cv.idx <= S["wall_right"]
    wallmask &= cv.idx >= S["wall_back"]
    # wallpaper pattern: 0 plain, 1 stripes, 2 dots, 3 two-tone (wainscot); V = dy * Zw is the
    # wall height coordinate, only evaluated inside the windows that need it
    wp = r.choice([0.35, 0.3, 0.15, 0.2])
    sp = col(r(0.05, 0.16) * m * 4)
    stripes = frac(U / sp) < col(r(0.25, 0.6))
    dsp = col(r(0.12, 0.3) * m)
    dot_r2 = col(r(0.03, 0.1))
    wain_v = col(yf - r(0.8, 1.1) * m)  # > 0, and V > v > 0 implies dy > v (Zw <= 1)
    patterns = (
        (1, None, lambda w: w(stripes)),
        (2, None, lambda w: (frac(w(U) / w(dsp)) - 0.5) ** 2 + (frac(w(dy) * w(Zw) / w(dsp)) - 0.5) ** 2 < w(dot_r2)),
        (3, dy > wain_v, lambda w: w(dy) * w(Zw) > w(wain_v)),
    )
    for k, rows, pattern in patterns:
        w = cv.window(wp == k, rows=rows)
        if w is not None:
            sub = cv.region(w)
            np.add(sub, np.uint8(3), out=sub, where=pattern(w) & w(wallmask))  # wall_* -> wpat_*
            cv.store(w, sub)
    skirt_v = col(yf - r(0.06, 0.12) * m)
    cv.paint_win(S["skirting"], lambda w: w(wallmask) & (w(dy) * w(Zw) > w(skirt_v)), rows=dy > skirt_v)

    # ---------------- floor -----------------
    floor_wood = r() < 0.65
    kb = col(1.0 / (r(0.12, 0.22) * m))
    w = cv.window(floor_wood, rows=dy > 0)  # floor pixels have dy > 0
    if w is not None:
        Xf = w(dx) * (w(col(yf)) / np.maximum(w(dy), 1e-3))  # lateral world X on the floor plane
        fb = Xf * w(kb)
        sub = cv.region(w)
        isf = sub == S["floor_a"]
        np.copyto(sub, np.uint8(S["floor_b"]), where=isf & (frac(fb * 0.5) >= 0.5))
        np.copyto(sub, np.uint8(S["floor_gap"]), where=isf & (frac(fb) < 0.08))
        cv.store(w, sub)

    # ---------------- bed (needed early for placements) -----------------
    has_bed = r() < 0.8
    bwid = r(1.0, 1.9)
    btop, hbh = r(0.45, 0.65), r(0.9, 1.35)
    bcen = -xl / m + (Wr * r(0.3, 0.7))  # metres from V along X
    bcen = np.clip(bcen, -xl / m + bwid / 2 + 0.5, xr / m - bwid / 2 - 0.5)
    bed_top = np.where(has_bed, hbh, 0.0)

    # ---------------- wall objects -----------------
    # slots: back1, back2, left1, left2, right1, right2 (positions in metres along the wall)
    t_b1 = np.array([NONE, WINDOW, PICTURE, TV, MIRROR])[r.choice([0.2, 0.55, 0.15, 0.06, 0.04])]
    t_b2 = np.array([NONE, WINDOW, PICTURE, DOOR])[r.choice([0.45, 0.2, 0.25, 0.1])]
    t_s1 = [np.array([NONE, WINDOW, PICTURE, MIRROR, DOOR])[r.choice([0.35, 0.35, 0.12, 0.08, 0.1])] for _ in range(2)]
    t_s2 = [np.array([NONE, WINDOW, PICTURE, DOOR, MIRROR])[r.choice([0.35, 0.15, 0.1, 0.3, 0.1])] for _ in range(2)]
    # a wardrobe/dresser occupies the near part of one side wall
    has_ward = r() < 0.45
    ward_left = r() < 0.5
    t_s2[0] = np.where(has_ward & ward_left, NONE, t_s2[0])
    t_s2[1] = np.where(has_ward & ~ward_left, NONE, t_s2[1])
    # no doors on the back wall behind the bed
    t_b2 = np.where(has_bed & (t_b2 == DOOR), PICTURE, t_b2)
    # visible wall lengths (metres)
    vis_l = (1 - xl / (1 + vx)) / m
    vis_r = (1 - xr / (1 - vx)) / m
    objs = []  # (typ, U0, U1, V0, V1, frame_thickness_world, on_back)
    ty, c1, w1, bo1, h1 = _place_wall(r, t_b1, np.full(b, 0.15), Wr - 0.15, bed_top)
    objs.append((ty, c1, w1, bo1, h1, "back"))
    margin = np.where(ty == WINDOW, 0.55, 0.25)
    gl = (0.15, c1 - w1 / 2 - margin)
    gr = (c1 + w1 / 2 + margin, Wr - 0.15)
    left_bigger = (gl[1] - gl[0]) > (gr[1] - gr[0])
    ty2, c2, w2, bo2, h2 = _place_wall(r, t_b2, np.where(left_bigger, gl[0], gr[0]),
                                       np.where(left_bigger, gl[1], gr[1]), bed_top)
    objs.append((ty2, c2, w2, bo2, h2, "back"))
    for k, (wall, vis) in enumerate((("left", vis_l), ("right", vis_r))):
        tya, ca, wa, boa, ha = _place_wall(r, t_s1[k], np.full(b, 0.2), np.minimum(1.9, vis), np.zeros(b))
        objs.append((tya, ca, wa, boa, ha, wall))
        lo = ca + wa / 2 + np.where(tya == WINDOW, 0.6, 0.3)
        tyb, cb, wb_, bob, hb = _place_wall(r, t_s2[k], lo, lo + r(1.0, 2.0), np.zeros(b))
        objs.append((tyb, cb, wb_, bob, hb, wall))
    # at most 3 windows: demote extras to pictures
    nwin = np.zeros(b, int)
    for n_, o in enumerate(objs):
        ty = np.where((o[0] == WINDOW) & (nwin >= 3), PICTURE, o[0])
        nwin += ty == WINDOW
        objs[n_] = (ty,) + o[1:]
    night = r() < 0.15
    city = r() < 0.25
    wall_u0 = {"back": -xl, "left": -xl, "right": xr}
    wall_sg = {"back": 1.0, "left": -1.0, "right": 1.0}
    win_spans = []  # (is_window (B,), (lo, n) row ranges of the whole object)
    izw = np.maximum(side, 1.0)  # 1 / depth of the wall seen in each column (col)
    vy_ = col(vy)

    def Yv(v):
        """Screen y (B,1,G) of wall height coordinate v (B,) in every column."""
        return vy_ + col(v) * izw
    for (ty, c, w, bo, h, wall) in objs:
        # U range: back wall U = -xl + p*m; left U = -xl - d*m; right U = xr + d*m
        sg = wall_sg[wall]
        ua = wall_u0[wall] + sg * (c - w / 2) * m
        ub = wall_u0[wall] + sg * (c + w / 2) * m
        u0, u1 = np.minimum(ua, ub), np.maximum(ua, ub)
        u0 = np.where(ty == NONE, 9.0, u0)
        u1 = np.where(ty == NONE, 9.0, u1)
        v1 = yf - bo * m
        v0 = yf - np.minimum(bo + h, Hr - 0.05) * m
        ft = np.select([ty == WINDOW, ty == DOOR, ty == TV], [r(0.05, 0.1), r(0.05, 0.08), r(0.02, 0.04)],
                       r(0.03, 0.08)) * m
        # every wall object is a union of per-column row intervals: y = vy + V * izw
        ucond = (U >= col(u0)) & (U < col(u1))
        outer = cv.spans(Yv(v0), Yv(v1), ucond)
        # curtains (windows only) hang on both sides, drawn after the window
        ucur = np.where(ty == WINDOW, 1.0, 0.0) * (r() < 0.5)
        cw_in, cw_out = r(0.0, 0.2) * m * ucur, r(0.15, 0.35) * m * ucur
        ibot = np.where(r() < 0.5, v1 + r(0.05, 0.2) * m, yf)
        fdoor = ty == DOOR
        iu0, iu1 = u0 + ft, u1 - ft
        iv0, iv1 = v0 + ft, np.where(fdoor, v1, v1 - ft)
        inner_u = (U >= col(iu0)) & (U < col(iu1))
        yi0, yi1 = Yv(iv0), Yv(iv1)
        fr = col(_FRAME[ty]).astype(np.uint8)
        cv.paint_spans(*outer, fr)
        cv.paint_spans(*cv.spans(yi0, yi1, inner_u), col(_INNER[ty]).astype(np.uint8))
        # bars: window mullions / door panel line
        nv = np.where(ty == WINDOW, r.choice([0.25, 0.5, 0.25]), 0)
        mw = np.where((ty == WINDOW) | fdoor, r(0.025, 0.05) * m, 0.0)
        span = u1 - u0
        um1 = np.where(nv == 1, u0 + span / 2, u0 + span / 3)
        um2 = np.where(nv == 2, u0 + 2 * span / 3, 99.0)
        um1 = np.where(nv == 0, 99.0, um1)
        vbar = inner_u & ((np.abs(U - col(um1)) < col(mw)) | (np.abs(U - col(um2)) < col(mw)))
        hb_on = np.where(ty == WINDOW, r() < 0.55, fdoor)
        vm = np.where(hb_on, np.where(fdoor, v0 + (v1 - v0) * 0.45, v0 + (v1 - v0) * r(0.3, 0.5)), 99.0)
        cv.paint_spans(*cv.spans(yi0, yi1, vbar), fr)
        cv.paint_spans(*cv.spans(Yv(vm - mw), Yv(vm + mw), inner_u), fr)
        # blobs: picture content / door knob (an ellipse in wall coordinates)
        kx = np.where(fdoor, np.where(sg * (r() - 0.5) > 0, u0 + 0.15 * (u1 - u0), u1 - 0.15 * (u1 - u0)),
                      u0 + (u1 - u0) * r(0.3, 0.7))
        ky = np.where(fdoor, v0 + (v1 - v0) * 0.52, v0 + (v1 - v0) * r(0.3, 0.7))
        krx = np.where(fdoor, 0.04 * m, np.where(ty == PICTURE, (u1 - u0) * r(0.15, 0.4), 1e-6))
        kry = np.where(fdoor, 0.04 * m, np.where(ty == PICTURE, (v1 - v0) * r(0.15, 0.4), 1e-6))
        du = (U - col(kx)) / col(krx)
        half = col(kry) * np.sqrt(np.maximum(1 - du * du, 0))
        ky_ = col(ky)
        blob = cv.spans(np.maximum(vy_ + (ky_ - half) * izw, yi0), np.minimum(vy_ + (ky_ + half) * izw, yi1),
                        inner_u & (np.abs(du) < 1))
        cv.paint_spans(*blob, col(_BLOB[ty]).astype(np.uint8))
        # highlight streak: mirrors and tv, |(U - hc) + 0.7 (V - vc)| < hw
        hw_ = np.where((ty == MIRROR) | (ty == TV), (u1 - u0) * r(0.08, 0.2), 0.0)
        hc = u0 + (u1 - u0) * r(0.2, 0.6)
        vc = col((v0 + v1) / 2)
        va = vc + (col(hc) - U - col(hw_)) / 0.7
        vb = vc + (col(hc) - U + col(hw_)) / 0.7
        hi = cv.spans(np.maximum(vy_ + va * izw, yi0), np.minimum(vy_ + vb * izw, yi1), inner_u & col(hw_ > 0))
        cv.paint_spans(*hi, col(_HI[ty]).astype(np.uint8))
        U0, U1 = col(u0), col(u1)
        curu = ((U >= U0 - col(cw_out)) & (U < U0 + col(cw_in))) | ((U >= U1 - col(cw_in)) & (U < U1 + col(cw_out)))
        yc0, yc1 = Yv(v0 - 0.15 * m), Yv(np.minimum(ibot, yf))
        win_spans.append((ty == WINDOW, outer))
        cv.paint_spans(*cv.spans(yc0, yc1, curu), S["curtain"])
        fold = curu & (frac((U - U0) / col(0.07 * m)) < 0.35)
        cv.paint_spans(*cv.spans(yc0, yc1, fold), S["curtain_fold"])

    # ---------------- view through the windows -----------------
    glass = cv.idx == S["sky"]
    ph = r(0, 6.3, )
    cl_x = (np.sin(x * col(r(5, 11)) + col(ph)) + np.sin(x * col(r(13, 23)) + col(r(0, 6.3))) * 0.5)
    cl_y = np.sin(y * col(r(6, 14)) + col(r(0, 6.3))) * 1.2
    cl_t = col(np.where(night, 1.9, r(0.6, 1.6)))
    hz = r(-0.2, 0.45)
    bumps = np.sin(x * col(r(15, 40)) + col(r(0, 6.3))) * col(r(0.02, 0.08)) + np.sin(x * col(r(4, 9))) * 0.06
    steps = frac(np.floor((x + col(r(0, 1))) * col(r(6, 14))) * 7.31) * col(r(0.15, 0.4))
    skyline = col(hz) + np.where(col(city), -steps, bumps)
    has_tree = r() < 0.6
    w = cv.window(rows=glass.any(2, keepdims=True), cols=glass.any(1, keepdims=True))
    if w is not None:
        sub, g_ = cv.region(w), w(glass)
        np.copyto(sub, np.uint8(S["cloud"]), where=g_ & (w(cl_x) + w(cl_y) > w(cl_t)))
        np.copyto(sub, np.uint8(S["tree"]), where=g_ & (w(y) > w(skyline)) & w(col(has_tree)))
        cv.store(w, sub)

    # ---------------- bed -----------------
    Zf = 1 - blen * m
    X0, X1 = (bcen - bwid / 2) * m, (bcen + bwid / 2) * m
    X0 = np.where(has_bed, X0, 9.0)
    X1 = np.where(has_bed, X1, 9.0)
    Ys = yf - btop * m
    # headboard (frontal, on the back wall): a rectangle, optionally with a rounded top
    hx0, hx1 = X0 - 0.04 * m, X1 + 0.04 * m
    _paint_box(cv, S["headboard"], (dx >= col(hx0)) & (dx < col(hx1)), (dy >= col(yf - hbh * m)) & (dy < col(yf)))
    rounded = r() < 0.4
    _paint_ellipse(cv, S["headboard"], (dx - col((hx0 + hx1) / 2)) / col((hx1 - hx0) / 2),
                   (dy - col(yf - hbh * m)) / col(np.where(rounded, 0.25 * m, 1e-6)), 2)
    # nightstands (behind the bed in paint order: they are beside it)
    nsh, nsw, nsd = r(0.5, 0.65), r(0.4, 0.6), 0.4
    for sgn in (-1, 1):
        has = has_bed & (r() < 0.65)
        gap = r(0.03, 0.15)
        a0 = np.where(sgn < 0, X0 - (gap + nsw) * m, X1 + gap * m)
        a1 = a0 + nsw * m
        a0 = np.where(has, a0, 9.0)
        a1 = np.where(has, a1, 9.0)
        zn = 1 - nsd * m
        yt = yf - nsh * m
        front_c = (dx * col(zn) >= col(a0)) & (dx * col(zn) < col(a1))
        front_r = (dy * col(zn) >= col(yt)) & (dy * col(zn) < col(yf))
        _paint_top(cv, S["furn_top"], dy / col(yt), 1 / zn, dx, a0, a1, has)
        _paint_box(cv, S["furn_front"], front_c, front_r)
        line_r = np.abs(dy * col(zn) - col(yt + 0.45 * (yf - yt))) < col(0.015 * m)
        _paint_box(cv, S["furn_line"], front_c, front_r & line_r)
        # lamp
        hl = has & (r() < 0.7)
        lz = 1 - 0.2 * m
        lc = (a0 + a1) / 2 / lz
        lb_h, ls_h = r(0.15, 0.3) * m, r(0.18, 0.3) * m
        ls_w = r(0.12, 0.2) * m
        sy1 = (yt - lb_h) / lz
        sy0 = (yt - lb_h - ls_h) / lz
        lc = np.where(hl, lc, 9.0)
        ldx = np.abs(dx - col(lc))
        _paint_box(cv, S["lamp_base"], ldx < col(0.025 * m / lz), (dy >= col(sy1)) & (dy < col(yt / lz)))
        fy = (dy - col(sy0)) / col(sy1 - sy0)
        fy_r = (fy >= 0) & (fy < 1)
        w = cv.window(hl, rows=fy_r)
        if w is not None:
            cv.paint_in(w, (w(ldx) < w(col(ls_w / lz)) * (0.65 + 0.35 * w(fy))) & w(fy_r), S["lamp_shade"])
    # mattress top, with its pattern and the folded-back sheet
    t = dy / col(Ys)  # inverse depth on the top plane (row)
    top_r = (t > 1) & (t <= col(1 / Zf))
    bp = r.choice([0.3, 0.25, 0.2, 0.25])  # plain, stripes along, stripes across, checks
    sw = col(r(0.08, 0.25) * m)
    sc = frac(1 / np.maximum(t, 1e-3) / (sw * 1.3)) < 0.5  # stripes across (row)
    sheet_d = r(0.45, 0.75)
    w = cv.window(has_bed, rows=top_r)
    if w is not None:
        tw, dxw = w(t), w(dx)
        top = w(top_r) & (dxw >= w(col(X0)) * tw) & (dxw < w(col(X1)) * tw)
        sub = cv.region(w)
        np.copyto(sub, np.uint8(S["blanket"]), where=top)
        sa = frac(dxw / np.maximum(tw, 1e-3) / w(sw)) < 0.5  # stripes along: world X on the top plane
        pat = (sa & w(col((bp == 1) | (bp == 3)))) ^ (w(sc) & w(col((bp == 2) | (bp == 3))))
        np.copyto(sub, np.uint8(S["blanket_pat"]), where=top & pat)
        np.copyto(sub, np.uint8(S["sheet"]), where=top & (tw < w(col(1 / (1 - sheet_d * m)))))
        cv.store(w, sub)
    # pillows
    npil = np.where(bwid > 1.3, 2, 1)
    pz = 1 - 0.25 * m
    py = (Ys - 0.09 * m) / pz
    prx = np.where(npil == 2, bwid * 0.22, bwid * 0.33) * m / pz
    pry = r(0.09, 0.13) * m / pz
    for k in range(2):
        pc = np.where(npil == 2, X0 + (X1 - X0) * (0.26 + 0.48 * k), (X0 + X1) / 2) / pz
        pc = np.where((npil == 1) & (k == 1), 9.0, pc)
        _paint_ellipse(cv, S["pillow"], (dx - col(pc)) / col(prx), (dy - col(py)) / col(pry), 8)
    # side face (only the one facing the optical axis is visible)
    Xs = np.where(X0 > 0, X0, np.where(X1 < 0, X1, np.nan))
    Xs = np.where(has_bed, Xs, np.nan)
    ts = dx / col(Xs)  # inverse depth on the side plane (column)
    ts_c = (ts > 1) & (ts <= col(1 / Zf))
    w = cv.window(cols=ts_c)
    if w is not None:
        tw, dyw = w(ts), w(dy)
        sidef = w(ts_c) & (dyw >= w(col(Ys)) * tw) & (dyw < w(col(yf)) * tw)
        sub = cv.region(w)
        np.copyto(sub, np.uint8(S["bed_side2"]), where=sidef)
        np.copyto(sub, np.uint8(S["bed_frame"]), where=sidef & (dyw >= w(col(Ys + 0.7 * (yf - Ys))) * tw))
        cv.store(w, sub)
    # front face
    zc = col(Zf)
    front_c = (dx * zc >= col(X0)) & (dx * zc < col(X1))
    front_r = (dy * zc >= col(Ys)) & (dy * zc < col(yf))
    _paint_box(cv, S["bed_side"], front_c, front_r)
    _paint_box(cv, S["bed_frame"], front_c, front_r & (dy * zc >= col(Ys + 0.7 * (yf - Ys))))

    # ---------------- wardrobe / dresser on a side wall -----------------
    tall = r() < 0.55
    wh_ = np.where(tall, r(1.8, 2.2), r(0.75, 1.0))
    wd = np.where(tall, 0.6, 0.5)
    wlen = np.where(tall, r(1.0, 1.8), r(0.9, 1.5))
    vis = np.where(ward_left, vis_l, vis_r)
    d0 = np.maximum(np.minimum(r(1.8, 2.6), vis - 0.3), 1.4)
    za, zb = 1 - (d0 + wlen) * m, 1 - d0 * m
    za = np.maximum(za, 0.05)
    wallx = np.where(ward_left, -xl, xr)
    face = wallx + np.where(ward_left, wd, -wd) * m
    face = np.where(has_ward, face, np.nan)
    tf = dx / col(face)  # inverse depth on the front plane (column)
    wy0 = yf - wh_ * m
    tf_c = (tf > col(1 / zb)) & (tf <= col(1 / za))
    zline = (np.abs(1 / tf - col((za + zb) / 2)) < col(0.01 * m)) & col(tall)
    w = cv.window(cols=tf_c)
    if w is not None:
        tw, dyw = w(tf), w(dy)
        wface = w(tf_c) & (dyw >= w(col(wy0)) * tw) & (dyw < w(col(yf)) * tw)
        sub = cv.region(w)
        np.copyto(sub, np.uint8(S["furn_front"]), where=wface)
        hline = (np.abs(frac((dyw / tw - w(col(wy0))) / w(col((yf - wy0) / 3))) - 0.5) > 0.47) & w(col(~tall))
        np.copyto(sub, np.uint8(S["furn_line"]), where=wface & (w(zline) | hline))
        cv.store(w, sub)
    nx0 = np.minimum(wallx, face) / za
    nx1 = np.maximum(wallx, face) / za
    _paint_box(cv, S["furn_side"], (dx >= col(nx0)) & (dx < col(nx1)), (dy >= col(wy0 / za)) & (dy < col(yf / za)))
    ttop = dy / col(np.where(wy0 > 0.01, wy0, np.nan))
    _paint_top(cv, S["furn_top"], ttop, 1 / za, dx, nx0 * za, nx1 * za, has_ward, t_min=1 / zb)

    # ---------------- shading and output -----------------
    pal = _palette(r, b, floor_wood, night, city)
    expo = r(0.62, 0.95)
    gx, gy = r(-0.25, 0.25), r(-0.1, 0.2)
    xo = cv.x[:, :, ::ss] * 0 + grid(size).reshape(1, 1, -1)
    yo = grid(size).reshape(1, -1, 1)
    shade = (1 + col(gx) * xo) * (col(expo) * (1 + col(gy) * yo) * (1 - 0.12 * yo * yo))
    view = col(np.where(night, 1.0, 1.08)) * (0.95 + 0.1 * yo)
    nsel = (indices * 2654435761 + seed * 97) % 64
    img, maps = finish(cv, pal, shade, LUT, nsel, 0.012, alt=(S["sky"], S["tree"], view))

    # ---------------- window boxes -----------------
    return img, maps, _window_boxes(cv, win_spans, maps == 3)


def _window_boxes(cv: Canvas, win_spans, winmap: np.ndarray) -> list[np.ndarray]:
    """Tight (x0, y0, x1, y1) boxes (x1/y1 exclusive) of the output pixels of each window object
    (any of its subpixels inside the object) that are classed as window in ``winmap`` (B, S, S)."""
    f = cv.ss
    boxes: list[list[tuple[int, int, int, int]]] = [[] for _ in range(cv.b)]  # per image: (x0, y0, x1, y1)
    for is_win, (lo, n) in win_spans:
        w = cv.span_window(lo, np.where(col(is_win), n, 0).astype(n.dtype), align=f)
        if w is None:
            continue
        o = cv.span_mask(w, lo, n)
        od = np.zeros((o.shape[0], o.shape[1] // f, o.shape[2] // f), bool)
        for i in range(f):
            for j in range(f):
                od |= o[:, i::f, j::f]
        r0, c0 = w.rs.start // f, w.cs.start // f
        vis_ = od & winmap[w.sel, r0:w.rs.stop // f, c0:w.cs.stop // f]
        rows, cols = vis_.any(2), vis_.any(1)
        imgs = np.arange(cv.b)[w.sel]
        for k in np.nonzero(rows.any(1))[0]:
            ry, cx_ = np.nonzero(rows[k])[0], np.nonzero(cols[k])[0]
            boxes[imgs[k]].append((cx_[0] + c0, ry[0] + r0, cx_[-1] + 1 + c0, ry[-1] + 1 + r0))
    return [np.array(bx, dtype=np.int64).reshape(-1, 4) for bx in boxes]
