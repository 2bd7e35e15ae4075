"""Tests for the procedural worlds (interp.worlds): determinism, ground truth, attributes, mirroring."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from interp.worlds import ATTRIBUTE_NAMES, WORLDS, faces, render, render_faces, render_one, rooms


@pytest.fixture(scope="module")
def room_batch():
    return render("rooms", range(200), seed=0)


@pytest.fixture(scope="module")
def face_params():
    return faces.sample_params(np.arange(2000), seed=0)


@pytest.mark.parametrize("world", sorted(WORLDS))
def test_batch_independent_and_shapes(world):
    a = render(world, [5, 6, 7], seed=3)
    b = render(world, [7], seed=3)
    c = render(world, np.array([7, 5]), seed=3)
    assert a.images.shape == (3, 64, 64, 3) and a.images.dtype == np.uint8
    assert a.maps.shape == (3, 64, 64) and a.maps.dtype == np.uint8
    np.testing.assert_array_equal(a.images[2], b.images[0])
    np.testing.assert_array_equal(a.maps[2], b.maps[0])
    np.testing.assert_array_equal(a.images[0], c.images[1])
    assert a.maps.max() < len(a.class_names)
    d = render(world, [5, 6, 7], seed=4)
    assert (d.images != a.images).mean() > 0.5


@pytest.mark.parametrize("world", sorted(WORLDS))
def test_size_32(world):
    b = render(world, range(4), seed=0, size=32)
    assert b.images.shape == (4, 32, 32, 3) and b.maps.shape == (4, 32, 32)
    assert b.images.std() > 10


def test_room_classes_present(room_batch):
    counts = np.bincount(room_batch.maps.ravel(), minlength=len(rooms.CLASS_NAMES))
    for name in ("wall", "floor", "ceiling", "window", "bed", "picture", "door", "furniture"):
        assert counts[rooms.CLASS_NAMES.index(name)] > 0, name
    has_bed = (room_batch.maps == rooms.CLASS_NAMES.index("bed")).any((1, 2)).mean()
    assert 0.65 < has_bed < 0.95


def test_window_boxes_cover_window_pixels(room_batch):
    w = rooms.CLASS_NAMES.index("window")
    nwin = [len(b) for b in room_batch.boxes]
    assert max(nwin) <= 3 and np.mean(nwin) > 0.5
    big = 0
    for m, bx in zip(room_batch.maps, room_batch.boxes, strict=True):
        cover = np.zeros(m.shape, bool)
        for x0, y0, x1, y1 in bx:
            assert 0 <= x0 < x1 <= 64 and 0 <= y0 < y1 <= 64
            n = (m[y0:y1, x0:x1] == w).sum()
            assert n >= 1
            big += n >= 20
            cover[y0:y1, x0:x1] = True
        assert not ((m == w) & ~cover).any()
    assert big >= 0.7 * sum(nwin)


def test_face_attributes_balanced_independent(face_params):
    a = faces.attributes(face_params)
    assert a.shape == (2000, 4) and list(ATTRIBUTE_NAMES) == ["male", "smiling", "eyeglasses", "yaw"]
    for j in range(3):
        assert 0.4 < a[:, j].mean() < 0.6
    assert -1 <= a[:, 3].min() and a[:, 3].max() <= 1 and abs(a[:, 3].mean()) < 0.1
    r = np.corrcoef(a.T)
    assert np.abs(r[np.triu_indices(4, 1)]).max() < 0.1


def test_face_mirror_property(face_params):
    p = {k: v[:64] for k, v in face_params.items()}
    a = render_faces(p)
    b = render_faces(faces.mirror_params(p))
    assert (a.maps == b.maps[:, :, ::-1]).mean() >= 0.97
    assert np.abs(a.images.astype(int) - b.images[:, :, ::-1]).mean() < 2.0
    # via render_one overrides
    one = render_one("faces", 11, yaw=0.6)
    q = {k: v[0] for k, v in faces.sample_params([11]).items()}
    mir = render_one("faces", 11, yaw=-0.6, cx=-q["cx"], hair_part=-q["hair_part"],
                     light_x=-q["light_x"], bg_gx=-q["bg_gx"])
    assert (one.maps[0] == mir.maps[0][:, ::-1]).mean() >= 0.97


def test_face_glasses_and_smile_parts(face_params):
    p = {k: v[:200] for k, v in face_params.items()}
    b = render_faces(p)
    g, t, mo = (faces.PART_NAMES.index(n) for n in ("glasses", "teeth", "mouth"))
    has_g = (b.maps == g).any((1, 2))
    np.testing.assert_array_equal(has_g, p["eyeglasses"] > 0.5)
    teeth = (b.maps == t).sum((1, 2))
    sm = p["smiling"] > 0.5
    assert (teeth[~sm] == 0).all() and (teeth[sm] > 0).mean() > 0.95
    mouth = (b.maps == mo).sum((1, 2)) + teeth
    assert mouth[sm].mean() > 1.3 * mouth[~sm].mean()
    # same face, smile toggled: only the mouth region changes
    a0, a1 = render_one("faces", 3, smiling=0), render_one("faces", 3, smiling=1)
    assert (a1.maps == t).sum() > 0 and (a0.maps == t).sum() == 0


def test_yaw_moves_nose(face_params):
    p = {k: v[:300] for k, v in face_params.items()}
    b = render_faces(p)
    n = faces.PART_NAMES.index("nose")
    xs = np.arange(64)
    nose = b.maps == n
    cnt = nose.sum((1, 2))
    assert (cnt > 0).all()
    nx = (nose.sum(1) * xs).sum(1) / cnt - 31.5
    rel = nx - p["cx"] * 32
    assert spearmanr(rel, p["yaw"]).correlation > 0.9


def test_render_one_rooms_matches_batch():
    a = render_one("rooms", 42, seed=1)
    b = render("rooms", [41, 42], seed=1)
    np.testing.assert_array_equal(a.images[0], b.images[1])
    assert len(a.boxes) == 1


def test_mode_map_2x2_exhaustive():
    """The sorting-network 2x2 mode equals 'most frequent, ties -> larger id' for every 4-tuple."""
    from itertools import product

    from interp.worlds._draw import mode_map
    quads = np.array(list(product(range(4), repeat=4)), np.uint8)  # (256, 4) subpixels
    cls = quads.reshape(-1, 2, 2)  # one 2x2 supersampled image per tuple
    want = [max(set(q), key=lambda v: (list(q).count(v), v)) for q in quads.tolist()]
    np.testing.assert_array_equal(mode_map(cls, 2).reshape(-1), want)


def test_windowed_painting_matches_full_masks():
    """paint_spans / paint_win restricted to bounding windows paint exactly what full masks paint."""
    from interp.worlds._draw import Canvas, col
    rng = np.random.default_rng(0)
    a, b = Canvas(6, 16), Canvas(6, 16)
    for k in range(20):
        ya = rng.uniform(-1.5, 1, (6, 1, 32)).astype(np.float32)
        yb = ya + rng.uniform(-0.2, 1, (6, 1, 32)).astype(np.float32)
        valid = rng.random((6, 1, 32)) < 0.3
        valid[rng.random(6) < 0.5] = False  # some images without any span
        slot = col(rng.integers(1, 40, 6)).astype(np.uint8)
        a.paint(a.vspan(ya, yb, valid), slot)
        b.paint_spans(*b.spans(ya, yb, valid), slot)
        u = rng.uniform(-1, 1, (6, 1, 32)).astype(np.float32)
        v = rng.uniform(-1, 1, (6, 32, 1)).astype(np.float32)
        on = rng.random(6) < 0.5
        a.paint((u * u + v * v < 0.3) & col(on), k)
        b.paint_win(k, lambda w, u=u, v=v: (w(u) * w(u) + w(v) * w(v) < 0.3), imgs=on, rows=v * v < 0.3, cols=u * u < 0.3)
    np.testing.assert_array_equal(a.idx, b.idx)
