"""Procedural faces with independent attributes (male, smiling, eyeglasses, yaw) and part maps.

The head is a simple 3D-ish model: a facial feature at longitude ``lon`` (radians) is drawn at
x = cx + R*sin(theta + lon) with its width scaled by cos(theta + lon), where theta = yaw*45deg.
Everything is drawn in screen coordinates that are exactly antisymmetric under a horizontal
flip, so rendering the parameters returned by :func:`mirror_params` (which negates the
x-asymmetric parameters :data:`MIRRORED` = yaw, cx, hair_part, light_x, bg_gx) gives the
horizontally mirrored image and part map (up to float rounding at subpixel edges).

Part map: most frequent of the 2x2 subpixel parts (ties -> larger part id).
"""
from __future__ import annotations

import numpy as np

from interp.worlds._draw import Canvas, col, finish, grid, hsv2rgb, uniforms

ATTRIBUTE_NAMES: tuple[str, ...] = ("male", "smiling", "eyeglasses", "yaw")
PART_NAMES: tuple[str, ...] = ("background", "skin", "hair", "clothes", "beard", "nose", "mouth",
                               "teeth", "eyes", "eyebrows", "glasses")
PARAM_NAMES: tuple[str, ...] = (
    "male", "smiling", "eyeglasses", "yaw", "cx", "cy", "scale", "skin_h", "skin_s", "skin_v",
    "hair_h", "hair_s", "hair_v", "long_hair", "hair_len", "hair_part", "beard", "jaw", "face_w",
    "eye_size", "iris_h", "iris_v", "brow_t", "mouth_w", "smile_amt", "lip_v", "glass_t",
    "glass_v", "sunglasses", "bg_h", "bg_s", "bg_v", "bg_gx", "bg_gy", "light_x", "light_y",
    "shirt_h", "shirt_s", "shirt_v")
MIRRORED: tuple[str, ...] = ("yaw", "cx", "hair_part", "light_x", "bg_gx")
MAX_YAW = np.pi / 4  # yaw = +-1 <-> +-45 degrees; +1 turns the face to the viewer's right

_SLOTS = [("bg", 0), ("skin", 1), ("skin_dark", 1), ("hair", 2), ("clothes", 3), ("beard", 4),
          ("nose", 5), ("nostril", 5), ("lips", 6), ("mouth_in", 6), ("teeth", 7), ("sclera", 8),
          ("iris", 8), ("brow", 9), ("glasses", 10), ("lens", 10)]
S = {n: i for i, (n, _) in enumerate(_SLOTS)}
LUT = np.array([c for _, c in _SLOTS], np.uint8)
K = len(_SLOTS)
NU = 64


def sample_params(indices, seed: int = 0) -> dict[str, np.ndarray]:
    """Per-image parameters (each (N,) float64), a pure function of (seed, index)."""
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    u = uniforms(seed, 2, idx, NU)
    c = iter(range(NU))

    def r(lo=0.0, hi=1.0):
        return lo + (hi - lo) * u[:, next(c)]

    p: dict[str, np.ndarray] = {}
    p["male"] = (r() < 0.5).astype(float)
    p["smiling"] = (r() < 0.5).astype(float)
    p["eyeglasses"] = (r() < 0.5).astype(float)
    p["yaw"] = r(-1, 1)
    p["cx"], p["cy"], p["scale"] = r(-0.04, 0.04), r(-0.04, 0.06), r(1.28, 1.45)
    tone = r()
    p["skin_h"], p["skin_s"], p["skin_v"] = r(0.03, 0.09), 0.25 + 0.3 * tone + r(-0.05, 0.05), 0.95 - 0.6 * tone ** 1.3
    dark = r() < 0.6
    p["hair_h"] = np.where(dark, r(0.03, 0.1), r(0.0, 0.14))
    p["hair_s"] = np.where(dark, r(0.2, 0.6), r(0.0, 0.8))
    p["hair_v"] = np.where(dark, r(0.05, 0.3), r(0.25, 0.9))
    m = p["male"] > 0.5
    p["long_hair"] = np.where(m, r() < 0.1, r() < 0.85).astype(float)
    p["hair_len"] = r(0.0, 1.0)
    p["hair_part"] = r(-0.6, 0.6)
    p["beard"] = np.where(m & (r() < 0.55), r(0.25, 1.0), 0.0)
    p["jaw"] = np.where(m, r(0.05, 0.25), r(0.3, 0.5))  # jaw taper: small = wide jaw
    p["face_w"] = np.where(m, r(0.34, 0.39), r(0.30, 0.35))
    p["eye_size"] = r(0.8, 1.15)
    p["iris_h"], p["iris_v"] = r(0.0, 0.7), r(0.1, 0.5)
    p["brow_t"] = np.where(m, r(0.022, 0.034), r(0.012, 0.022))
    p["mouth_w"] = r(0.3, 0.4)
    p["smile_amt"] = r(0.75, 1.0)
    p["lip_v"] = np.where(m, r(0.0, 0.25), r(0.2, 0.8))
    p["glass_t"] = r(0.018, 0.035)
    p["glass_v"] = r(0.0, 1.0)
    p["sunglasses"] = (r() < 0.2).astype(float)
    p["bg_h"], p["bg_s"], p["bg_v"] = r(), r(0.0, 0.5), r(0.3, 0.95)
    p["bg_gx"], p["bg_gy"] = r(-0.3, 0.3), r(-0.3, 0.3)
    p["light_x"], p["light_y"] = r(-1, 1), r(-0.5, 1.0)
    p["shirt_h"], p["shirt_s"], p["shirt_v"] = r(), r(0.0, 0.8), r(0.1, 0.9)
    return p


def mirror_params(p: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Parameters whose rendering is the horizontal mirror image of ``p``'s."""
    q = {k: v.copy() for k, v in p.items()}
    for k in MIRRORED:
        q[k] = -q[k]
    return q


def attributes(p: dict[str, np.ndarray]) -> np.ndarray:
    """(N, 4) float32 attribute matrix (male, smiling, eyeglasses, yaw)."""
    return np.stack([p[k] for k in ATTRIBUTE_NAMES], 1).astype(np.float32)


def _palette(p: dict[str, np.ndarray]) -> np.ndarray:
    """(N, K, 3) float32 palette."""
    n = len(p["yaw"])
    P = np.zeros((n, K, 3))
    skin = hsv2rgb(p["skin_h"], p["skin_s"], p["skin_v"])
    hair = hsv2rgb(p["hair_h"], p["hair_s"], p["hair_v"])
    P[:, S["bg"]] = hsv2rgb(p["bg_h"], p["bg_s"], p["bg_v"])
    P[:, S["skin"]] = skin
    P[:, S["skin_dark"]] = skin * 0.8
    P[:, S["hair"]] = hair
    P[:, S["clothes"]] = hsv2rgb(p["shirt_h"], p["shirt_s"], p["shirt_v"])
    b = p["beard"][:, None]
    P[:, S["beard"]] = skin * (1 - 0.35 - 0.65 * b) + hair * (0.35 + 0.65 * b) * 0.9
    P[:, S["nose"]] = skin * 0.86
    P[:, S["nostril"]] = skin * 0.45
    lips = hsv2rgb(0.98 + 0.0 * p["lip_v"], 0.35 + 0.4 * p["lip_v"], p["skin_v"] * (0.75 - 0.15 * p["lip_v"]) + 0.1)
    P[:, S["lips"]] = lips
    P[:, S["mouth_in"]] = lips * 0.3
    P[:, S["teeth"]] = hsv2rgb(0.12 + 0 * p["yaw"], 0.08, 0.95)
    P[:, S["sclera"]] = hsv2rgb(0.6 + 0 * p["yaw"], 0.03, 0.93)
    P[:, S["iris"]] = hsv2rgb(0.08 + 0.5 * p["iris_h"], 0.5, p["iris_v"])
    P[:, S["brow"]] = hair * 0.8
    gv = p["glass_v"]
    P[:, S["glasses"]] = np.where((gv < 0.6)[:, None], hsv2rgb(0.05 + 0 * gv, 0.3, 0.05 + 0.2 * gv),
                                  hsv2rgb(0.1 + 0 * gv, 0.5, 0.4 + 0.5 * gv))
    P[:, S["lens"]] = hsv2rgb(0.6 + 0 * gv, 0.2, 0.12 + 0 * gv)
    return np.clip(P, 0, 1).astype(np.float32)


def render_params(p: dict[str, np.ndarray], size: int = 64, ss: int = 2):
    """Render faces from parameter arrays -> (images (N,S,S,3) uint8, maps (N,S,S) uint8, attributes (N,4))."""
    n = len(p["yaw"])
    cv = Canvas(n, size, ss)
    x, y = cv.x, cv.y
    sc = p["scale"]
    th = p["yaw"] * MAX_YAW
    sth = np.sin(th)
    cx, cy = p["cx"], p["cy"] - 0.04
    rx, ry = p["face_w"] * sc, 0.45 * sc
    Rf = rx * 1.02
    male, smile, glasses = p["male"] > 0.5, p["smiling"] > 0.5, p["eyeglasses"] > 0.5

    def feat(lon, rad=Rf):
        """x position and foreshortening of a feature at longitude ``lon``."""
        return cx + rad * np.sin(th + lon), np.cos(th + lon)

    # background
    cv.idx[:] = S["bg"]
    # long hair behind the head
    lh = p["long_hair"] > 0.5
    hcx = cx - 0.05 * sth * sc
    hbot = cy + ry * (0.5 + 1.2 * p["hair_len"])
    back = ((x - col(hcx)) / col(rx * 1.38)) ** 2 + ((y - col(cy + 0.08 * sc)) / col(ry * 1.3)) ** 2 < 1
    back &= (y < col(np.where(lh, hbot, -9.0)))
    cv.paint(back, S["hair"])
    # shoulders and neck
    sh = ((x - col(cx * 0.5)) / col(0.75 * sc)) ** 2 + ((y - col(1.12 + 0.1 * sc)) / col(0.3 * sc)) ** 2 < 1
    cv.paint(sh, S["clothes"])
    neck = (np.abs(x - col(cx + 0.02 * sth)) < col(rx * 0.5)) & (y > col(cy)) & (y < col(cy + 0.75 * sc))
    cv.paint(neck, S["skin_dark"])
    # long hair falling in front of the shoulders
    cv.paint(back & (y > col(cy + 0.3 * ry)) & (np.abs(x - col(hcx)) > col(rx * 0.75)), S["hair"])
    # ears (hidden by long hair)
    for sg in (-1.0, 1.0):
        ex, _ = feat(sg * np.pi / 2, Rf * 0.98)
        ex = np.where(lh, 9.0, ex)
        cv.paint(((x - col(ex)) / col(0.055 * sc)) ** 2 + ((y - col(cy + 0.02 * sc)) / col(0.1 * sc)) ** 2 < 1,
                 S["skin"])
    # face: ellipse with a tapered jaw; shifted slightly into the turn
    fcx = cx + 0.05 * sth * sc
    u2 = ((x - col(fcx)) / col(rx)) ** 2
    v = (y - col(cy)) / col(ry)
    g = 1.0 / (1.0 - col(p["jaw"]) * np.maximum(v, 0) ** 2) ** 2
    q = u2 * g + v * v
    face = q < 1
    cv.paint(face, S["skin"])
    # beard / stubble: lower face below a curve that rises towards the ears
    bx, _ = feat(0.0)
    bs = (x - col(bx)) / col(rx)
    bline = col(cy + ry * 0.28) - bs * bs * col(ry * 0.35)
    cv.paint(face & (y > bline) & col(p["beard"] > 0), S["beard"])
    # hair cap: slightly larger head ellipse above a hairline through the parting
    hx = cx - 0.04 * sth * sc
    cap = ((x - col(hx)) / col(rx * 1.1)) ** 2 + ((y - col(cy - 0.03 * sc)) / col(ry * 1.08)) ** 2 < 1
    px, _ = feat(p["hair_part"] * 0.5)
    ps = (x - col(px)) / col(rx)
    fringe = np.where(male, 0.55, np.where(lh, 0.45, 0.38))
    hl = col(cy - ry * fringe) + col(ry * 0.35) * np.minimum(ps * ps, 1.5) * col(np.where(male, 0.5, 1.0))
    cv.paint(cap & (y < hl), S["hair"])
    # eyes
    ey = cy - 0.06 * sc
    ew, eh = 0.075 * sc * p["eye_size"], 0.04 * sc * p["eye_size"]
    eyes = []
    for sg in (-1.0, 1.0):
        ex, fx = feat(sg * 0.42)
        w = ew * np.maximum(fx, 0.05)
        e = ((x - col(ex)) / col(w)) ** 2 + ((y - col(ey)) / col(eh)) ** 2 < 1
        cv.paint(e, S["sclera"])
        ix, _ = feat(sg * 0.42 + 0.12 * np.sign(sth) * 0, Rf * 1.08)
        iris = e & (((x - col(ix)) / col(0.6 * eh * np.maximum(fx, 0.05))) ** 2 + ((y - col(ey)) / col(eh * 1.0)) ** 2 < 1)
        cv.paint(iris, S["iris"])
        eyes.append((ex, w))
        # eyebrows: thin arcs above the eyes
        bw = ew * 1.25 * np.maximum(fx, 0.05)
        bxs = (x - col(ex)) / col(bw)
        arc = col(ey - eh * 1.9) + bxs * bxs * col(eh * 0.6)
        cv.paint((np.abs(bxs) < 1) & (np.abs(y - arc) < col(p["brow_t"] * sc)), S["brow"])
    # nose: ridge ellipse + nostrils, protruding (larger radius) so it moves more than the eyes
    nx, _ = feat(0.0, Rf * 1.18)
    nmx, _ = feat(0.0, Rf * 1.08)
    ny = cy + 0.11 * sc
    nose = ((x - col(nmx)) / col((0.038 + 0.03 * np.abs(sth)) * sc)) ** 2 + ((y - col(ny - 0.03 * sc)) / col(0.1 * sc)) ** 2 < 1
    cv.paint(nose, S["nose"])
    for sg in (-1.0, 1.0):
        nox, _ = feat(sg * 0.13, Rf * 1.12)
        cv.paint(((x - col(nox)) / col(0.022 * sc)) ** 2 + ((y - col(ny + 0.045 * sc)) / col(0.014 * sc)) ** 2 < 1,
                 S["nostril"])
    # mouth: opening between two parabolas in s in [-1, 1]; smiling raises the corners and opens it
    xl_, _ = feat(-p["mouth_w"], Rf * 1.05)
    xr_, _ = feat(p["mouth_w"], Rf * 1.05)
    xm, hw = (xl_ + xr_) / 2, (xr_ - xl_) / 2
    ym = cy + 0.26 * sc
    a = np.where(smile, p["smile_amt"], 0.0) * sc
    s_ = (x - col(xm)) / col(hw)
    c2 = np.maximum(1 - s_ * s_, 0)
    inside = np.abs(s_) < 1
    cu0, cu1 = -0.035 * a - 0.004, 0.02 * a  # upper edge of opening
    cl0, cl1 = -0.035 * a + 0.004, 0.11 * a  # lower edge
    yu = col(ym + cu0 * sc) + col(cu1) * c2
    yl = col(ym + cl0 * sc) + col(cl1) * c2
    lipu = yu - col(0.022 * sc) * np.sqrt(c2)
    lipl = yl + col(0.03 * sc) * np.sqrt(c2)
    cv.paint(inside & (y > lipu) & (y < lipl), S["lips"])
    opening = inside & (y > yu) & (y < yl)
    cv.paint(opening, S["mouth_in"])
    cv.paint(opening & (y < yu + col(0.45 * a * 0.11) * c2), S["teeth"])
    # glasses: two rings, a bridge and temple arms
    gt = np.where(glasses, p["glass_t"] * sc, 0.0)
    sun = glasses & (p["sunglasses"] > 0.5)
    lens_centres = []
    for sg, (ex, _w) in zip((-1.0, 1.0), eyes, strict=True):
        _, fx = feat(sg * 0.42)
        gw = 0.125 * sc * np.maximum(fx, 0.05)
        gh = 0.085 * sc
        d = ((x - col(ex)) / col(gw)) ** 2 + ((y - col(ey + 0.005)) / col(gh)) ** 2
        din = ((x - col(ex)) / col(np.maximum(gw - gt, 1e-4))) ** 2 + ((y - col(ey + 0.005)) / col(gh - gt)) ** 2
        ring = (d < 1) & (din >= 1) & col(glasses)
        cv.paint(ring, S["glasses"])
        cv.paint((din < 1) & col(sun), S["lens"])
        lens_centres.append((ex, gw))
        # temple arm from the outer rim towards the ear
        ear, _ = feat(sg * np.pi / 2, Rf * 0.98)
        out = ex + sg * gw
        a0, a1 = np.minimum(out, ear), np.maximum(out, ear)
        arm = (x > col(a0)) & (x < col(a1)) & (np.abs(y - col(ey - 0.01)) < col(gt * 0.7))
        cv.paint(arm & (face | cap), S["glasses"])
    (lx, lw), (rx_, rw) = lens_centres
    br = (x > col(lx + lw * 0.9)) & (x < col(rx_ - rw * 0.9)) & (np.abs(y - col(ey - 0.02)) < col(gt * 0.6))
    cv.paint(br, S["glasses"])

    # shading: lighting direction on the head, gradient on the background
    pal = _palette(p)
    xo, yo = grid(size).reshape(1, 1, -1), grid(size).reshape(1, -1, 1)
    lxo = col(p["light_x"] * 0.22) * (xo - col(cx)) / col(rx)
    lyo = col(p["light_y"] * -0.12) * (yo - col(cy)) / col(ry)
    u2o = ((xo - col(fcx)) / col(rx)) ** 2
    vo = (yo - col(cy)) / col(ry)
    qo = u2o / (1.0 - col(p["jaw"]) * np.maximum(vo, 0) ** 2) ** 2 + vo * vo
    shade = (1.0 + lxo) + lyo - 0.11 * np.minimum(qo, 1.6) ** 2
    bgs = (1.0 + col(p["bg_gx"]) * xo) + col(p["bg_gy"]) * yo
    img, maps = finish(cv, pal, shade, LUT, alt=(S["bg"], S["bg"], bgs))
    return img, maps, attributes(p)


def render_batch(indices, seed: int = 0, size: int = 64):
    """Render faces ``indices`` -> (images (N,S,S,3) uint8, maps (N,S,S) uint8, attributes (N,4) float32)."""
    return render_params(sample_params(indices, seed), size)
