"""Measuring instruments: segmenter, face attribute net, Fréchet distance, train-or-load registry.

The quick instruments are trained once per session (into the session cache, see conftest) and shared."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from interp.data import open_dataset
from interp.data.base import to_float_image
from interp.instruments import (
    FaceAttributeNet,
    RoomSegmenter,
    class_fractions,
    fd_between,
    fd_with_floor,
    frechet_distance,
    get_instrument,
    nearest_neighbour_distances,
    predict_attributes,
    registry,
    sample_diversity,
    segment,
    stored_metrics,
    train_attribute_classifier,
    window_boxes,
)
from interp.io.instrument_files import load_instrument, save_instrument


@pytest.fixture(scope="module")
def cache(session_cache):
    """The session's INTERP_CACHE_DIR: the quick instruments trained here are reused by the other modules."""
    return session_cache


@pytest.fixture(scope="module")
def seg(cache) -> RoomSegmenter:
    return get_instrument("room_segmenter", quick=True, progress=False)


@pytest.fixture(scope="module")
def faces_net(cache) -> FaceAttributeNet:
    return get_instrument("face_attributes", quick=True, progress=False)


# ------------------------------------------------------------------------------------ segmenter


def test_window_boxes_reproduce_ground_truth(cache):
    ds = open_dataset("rooms", n=64, split="test")
    pred = window_boxes(np.asarray(ds.maps()), min_pixels=1)
    for i in range(len(ds)):
        gt = np.asarray(ds.boxes(i)).reshape(-1, 4)
        gt = gt[np.lexsort((gt[:, 1], gt[:, 0]))]
        np.testing.assert_array_equal(pred[i], gt, err_msg=f"image {i}")


def test_class_fractions_sum_to_one():
    maps = np.random.default_rng(0).integers(0, 5, size=(3, 8, 8)).astype(np.uint8)
    fr = class_fractions(maps, ["a", "b", "c", "d", "e", "f"])
    assert abs(sum(fr.values()) - 1) < 1e-9 and fr["f"] == 0.0
    assert abs(fr["a"] - (maps == 0).mean()) < 1e-12


def test_segmenter_learns_windows(seg, cache):
    metrics = stored_metrics("room_segmenter", quick=True)["metrics"]
    # quick config measured (seed 0): window IoU 0.62 at 64 px, bed 0.70, pixel accuracy 0.86
    assert metrics["64px"]["iou"]["window"] > 0.5, metrics["64px"]["iou"]
    assert metrics["64px"]["pixel_accuracy"] > 0.75
    assert not seg.training
    ds = open_dataset("rooms", n=8, image_size=32, split="test")
    maps = segment(seg, to_float_image(np.array(ds.uint8_images())))
    assert maps.shape == (8, 32, 32) and maps.dtype == np.uint8 and maps.max() < 11
    assert seg(torch.zeros(2, 3, 64, 64)).shape == (2, 11, 64, 64)


def test_segmenter_forward_shapes():
    net = RoomSegmenter(n_classes=5, widths=(4, 8, 8)).eval()
    assert net(torch.zeros(1, 3, 32, 32)).shape == (1, 5, 32, 32)
    assert net.features(torch.zeros(3, 3, 64, 64)).shape == (3, 4 + 8 + 8 + 8)
    with pytest.raises(ValueError):
        net(torch.zeros(1, 3, 36, 36))


# ------------------------------------------------------------------------------ face attributes


def test_face_attributes_quick_accuracy(faces_net, cache):
    metrics = stored_metrics("face_attributes", quick=True)["metrics"]["64px"]
    # quick config measured (seed 0): male 0.955, smiling 0.84, eyeglasses 0.855, yaw MAE 0.083;
    # the full config: 0.994 / 1.0 / 1.0, yaw MAE 0.034
    for acc in metrics["accuracy"].values():
        assert acc > 0.7, metrics
    assert metrics["yaw_mae"] < 0.3, metrics
    ds = open_dataset("faces", n=5, split="test")
    pred = predict_attributes(faces_net, np.asarray(ds.uint8_images()))
    assert set(pred) == {"male", "smiling", "eyeglasses", "yaw"}
    assert all(v.shape == (5,) for v in pred.values())
    assert ((pred["male"] >= 0) & (pred["male"] <= 1)).all() and (np.abs(pred["yaw"]) <= 1).all()


def test_attribute_classifier_on_celeba_style_labels(cache):
    """The generic trainer, fed the faces world as a stand-in for CelebA (40-column 0/1 matrix, names)."""
    ds = open_dataset("faces", n=256, split="train")
    attrs = np.asarray(ds.labels["attributes"])
    names = [f"Attr{i}" for i in range(40)]
    names[20], names[31], names[15] = "Male", "Smiling", "Eyeglasses"
    table = np.zeros((len(ds), 40), np.float32)
    table[:, [20, 31, 15]] = attrs[:, :3]
    chosen = ["Male", "Smiling", "Eyeglasses"]
    cols = [names.index(a) for a in chosen]
    net = train_attribute_classifier(np.asarray(ds.uint8_images()), table[:, cols], chosen, widths=(8, 8, 16, 16),
                                     steps=10, batch_size=16, progress=False)
    pred = predict_attributes(net, np.asarray(ds.uint8_images()[:7]))
    assert set(pred) == set(chosen) and pred["Male"].shape == (7,)
    assert net(torch.zeros(2, 3, 64, 64)).shape == (2, 3)
    with pytest.raises(ValueError):
        train_attribute_classifier(np.asarray(ds.uint8_images()), table[:, :2], chosen, steps=1)


def test_training_is_deterministic_and_leaves_global_rng_alone(cache):
    ds = open_dataset("faces", n=64, split="train")
    x, a = np.asarray(ds.uint8_images()), np.asarray(ds.labels["attributes"])
    state = torch.get_rng_state()
    nets = [train_attribute_classifier(x, a[:, :3], ["m", "s", "e"], a[:, 3], widths=(4, 4, 8, 8), steps=3,
                                       batch_size=8, seed=1, progress=False) for _ in range(2)]
    assert torch.equal(torch.get_rng_state(), state)
    for p, q in zip(nets[0].state_dict().values(), nets[1].state_dict().values(), strict=True):
        assert torch.equal(p, q)


# ------------------------------------------------------------------------------------- registry


def test_save_load_round_trip(seg, tmp_path):
    path = save_instrument(tmp_path / "seg", seg, {"model": seg.config()})
    state, config = load_instrument(path)
    twin = RoomSegmenter(**config["model"])
    twin.load_state_dict(state)
    x = torch.rand(4, 3, 64, 64) * 2 - 1
    np.testing.assert_array_equal(segment(seg, x), segment(twin.eval(), x))
    with torch.no_grad():
        assert torch.equal(seg.eval()(x), twin.eval()(x))


def test_get_instrument_loads_the_second_time(seg, faces_net, cache, monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("trained again instead of loading")

    monkeypatch.setattr(registry, "train_instrument", boom)
    again = get_instrument("room_segmenter", quick=True, progress=False)
    x = torch.rand(3, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        assert torch.equal(again(x), seg(x))
    att = get_instrument("face_attributes", quick=True, progress=False)
    with torch.no_grad():
        assert torch.equal(att(x), faces_net(x))
    files = sorted(p.name for p in (cache / "instruments").glob("*.safetensors") if ".domain-" not in p.name)
    assert len(files) == 2 and files[0].startswith("face_attributes-")  # (domain files sit beside them)
    with pytest.raises(AssertionError, match="trained again"):  # another seed = another config = trains
        get_instrument("room_segmenter", quick=True, seed=1, progress=False)


# -------------------------------------------------------------------------------------- Fréchet


def test_frechet_distance_closed_forms():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 6))
    assert frechet_distance(x, x) < 1e-6
    shift = np.array([1.0, -2.0, 0.5, 0, 0, 3.0])
    assert frechet_distance(x, x + shift) == pytest.approx(float(shift @ shift), rel=1e-6)
    # independent Gaussians N(0, I) vs N(0, 4 I): trace term D (1 + 4 - 2·2) = D (population values)
    y = rng.normal(size=(200_000, 3))
    z = 2 * rng.normal(size=(200_000, 3))
    assert frechet_distance(y, z) == pytest.approx(3.0, rel=0.03)
    # rank-deficient covariances still give a finite real number
    low = np.repeat(rng.normal(size=(50, 1)), 4, axis=1)
    assert np.isfinite(frechet_distance(low, low + 1.0))
    with pytest.raises(ValueError):
        frechet_distance(x, x[:, :3])


def test_nearest_neighbour_distances_by_hand():
    f = np.array([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]])
    assert nearest_neighbour_distances(f) == pytest.approx([1.0, np.hypot(3, 3), 1.0])
    # relative: over the median pairwise distance (1, sqrt(18), 5 -> median sqrt(18))
    assert nearest_neighbour_distances(f, relative=True) == pytest.approx([1 / np.hypot(3, 3), 1.0, 1 / np.hypot(3, 3)])
    assert nearest_neighbour_distances(7 * f, relative=True) == pytest.approx(nearest_neighbour_distances(f, relative=True))
    with pytest.raises(ValueError):
        nearest_neighbour_distances(f[:1])


def test_sample_diversity_flags_a_generator_that_repeats_itself():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(500, 40))
    shares = [sample_diversity(np.random.default_rng(s).normal(size=(500, 40)), real)["near_duplicate_share"]
              for s in range(1, 6)]
    assert 0.0 < np.mean(shares) < 0.12  # same distribution: about the real set's 5 %
    # less spread is not repetition: the same samples at 0.7 times the scale are not flagged
    shrunk = sample_diversity(0.7 * np.random.default_rng(1).normal(size=(500, 40)), real)
    assert shrunk["near_duplicate_share"] < 0.12 and shrunk["nn_distance_ratio"] == pytest.approx(0.7, rel=0.1)
    # 50 layouts, each drawn 10 times with small changes: nearly every sample has a near-duplicate
    repeats = np.repeat(rng.normal(size=(50, 40)), 10, axis=0) + 0.05 * rng.normal(size=(500, 40))
    d = sample_diversity(repeats, real)
    assert d["near_duplicate_share"] > 0.9 and d["nn_distance_ratio"] < 0.2
    with pytest.raises(ValueError, match="same shape"):
        sample_diversity(real[:100], real)


def test_fd_floor_below_corrupted_sets(seg, faces_net, cache):
    for world, net in (("rooms", seg), ("faces", faces_net)):
        real_a = to_float_image(np.array(open_dataset(world, n=300, split="test").uint8_images()))
        real_b = to_float_image(np.array(open_dataset(world, n=300, split="val").uint8_images()))
        noise = (0.5 * torch.randn(real_b.shape, generator=torch.Generator().manual_seed(0))).clamp(-1, 1)
        blurred = torch.nn.functional.avg_pool2d(real_b, 3, stride=1, padding=1, count_include_pad=False)
        floor = fd_with_floor(net, real_a, real_b, noise)
        assert floor["fd_floor"] * 10 < floor["fd"], (world, floor)
        assert floor["fd_floor"] * 3 < fd_between(net, real_a, blurred), world
        assert fd_between(net, real_a, real_a) < 1e-6


def test_celeba_attributes_train_the_classifier(tmp_path, monkeypatch) -> None:
    """Real labelled data plugs in: a CelebA-format folder (of rendered faces) trains the classifier."""
    from PIL import Image

    from interp.data import open_dataset
    from interp.instruments.face_attributes import attribute_classifier_from_dataset
    from interp.worlds import render

    monkeypatch.setenv("INTERP_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "celeba"
    (root / "img_align_celeba").mkdir(parents=True)
    batch = render("faces", range(160), seed=5, size=64)
    names = ["5_o_Clock_Shadow", "Eyeglasses", "Male", "Smiling"]
    lines = [str(len(batch)), " ".join(names)]
    for i, (img, att) in enumerate(zip(batch.images, batch.attributes, strict=True)):
        Image.fromarray(img).resize((178, 218)).save(root / "img_align_celeba" / f"{i + 1:06d}.jpg", quality=95)
        flags = [-1, 1 if att[2] else -1, 1 if att[0] else -1, 1 if att[1] else -1]
        lines.append(f"{i + 1:06d}.jpg " + " ".join(f"{v:2d}" for v in flags))
    (root / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n")
    ds = open_dataset("celeba", root, image_size=64, crop=None)
    model = attribute_classifier_from_dataset(ds, ["Male", "Smiling"], steps=30, batch_size=16,
                                              widths=(8, 16, 16, 16), progress=False)
    assert list(model.attribute_names) == ["Male", "Smiling"]
    assert not model.has_yaw
    with pytest.raises(ValueError, match="Wavy_Hair"):
        attribute_classifier_from_dataset(ds, ["Wavy_Hair"], steps=1)


def _celeba_with_landmarks(root, n: int = 120, partition: bool = True):
    """A CelebA-format folder of rendered faces with attribute, landmark and (optionally) partition
    files in the real formats; landmarks put the nose off the eye midpoint by the rendered yaw."""
    from PIL import Image

    from interp.data.celeba import LANDMARK_NAMES, NOSE_DEPTH
    from interp.worlds import render

    (root / "img_align_celeba").mkdir(parents=True)
    batch = render("faces", range(n), seed=7, size=64)
    attr_lines = [str(n), "Eyeglasses Male Smiling"]
    lm_lines = [str(n), " ".join(LANDMARK_NAMES)]
    for i, (img, att) in enumerate(zip(batch.images, batch.attributes, strict=True)):
        name = f"{i + 1:06d}.jpg"
        Image.fromarray(img).resize((178, 218)).save(root / "img_align_celeba" / name, quality=95)
        attr_lines.append(name + " " + " ".join("1" if v else "-1" for v in (att[2], att[0], att[1])))
        yaw = float(att[3])
        nose_x = 89 + 36 * NOSE_DEPTH * np.tan(yaw * np.pi / 4)   # eyes at 71 and 107: 36 px apart
        lm_lines.append(f"{name} 71 111 107 111 {nose_x:.0f} 135 75 152 103 152")
    (root / "list_attr_celeba.txt").write_text("\n".join(attr_lines) + "\n")
    (root / "list_landmarks_align_celeba.txt").write_text("\n".join(lm_lines) + "\n")
    if partition:
        (root / "list_eval_partition.txt").write_text(
            "".join(f"{i + 1:06d}.jpg {0 if i < n - 20 else 1}\n" for i in range(n)))
    return batch.attributes


def test_celeba_landmarks_give_a_yaw_proxy(tmp_path) -> None:
    """list_landmarks_align_celeba.txt is read, and the yaw proxy recovers the yaw the landmarks encode."""
    from interp.data import open_dataset
    from interp.data.celeba import yaw_from_landmarks

    attrs = _celeba_with_landmarks(tmp_path / "c", n=40, partition=False)
    ds = open_dataset("celeba", tmp_path / "c", image_size=32, crop=None)
    assert ds.labels["landmarks"].shape == (40, 10)
    np.testing.assert_allclose(ds.labels["yaw"], attrs[:, 3], atol=0.06)  # landmarks rounded to whole pixels
    # by hand: nose 12 px right of the midpoint of eyes 40 px apart -> atan(0.3 / 0.55) / 45 deg
    assert yaw_from_landmarks(np.array([[60, 0, 100, 0, 92, 0, 0, 0, 0, 0]]))[0] == pytest.approx(
        np.arctan(0.3 / 0.55) / (np.pi / 4), abs=1e-6)
    bad = tmp_path / "c" / "list_landmarks_align_celeba.txt"
    bad.write_text(bad.read_text().replace("000003.jpg", "000003.jpg x"))
    with pytest.raises(ValueError, match="list_landmarks_align_celeba.txt line 5"):
        open_dataset("celeba", tmp_path / "c", image_size=32, crop=None)


@pytest.mark.slow
def test_celeba_instrument_end_to_end(tmp_path, capsys) -> None:
    """`interp instruments celeba` trains attributes + yaw on a CelebA-format folder, measures them on the
    val split, saves them with their provenance; the saved net loads back and predicts yaw."""
    from interp.cli.instruments import main
    from interp.instruments.face_attributes import predict_attributes
    from interp.instruments.user import load_user_instrument
    from interp.io.instrument_files import load_instrument

    _celeba_with_landmarks(tmp_path / "c", n=120)
    out = tmp_path / "inst" / "celeba_faces"
    assert main(["celeba", "--data-root", str(tmp_path / "c"), "--out", str(out), "--steps", "60",
                 "--no-progress", "--threads", "1"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed["accuracy"]) == {"Male", "Smiling", "Eyeglasses"} and printed["n_images"] == 20
    assert printed["yaw_mae"] < 0.5
    _, config = load_instrument(out)
    assert config["data"]["n_train"] == 100 and "val split" in config["held_out"] and "proxy" in config["yaw"]
    net = load_user_instrument(out)
    assert net.has_yaw and set(predict_attributes(net, np.zeros((2, 3, 64, 64), np.uint8))) == {
        "Male", "Smiling", "Eyeglasses", "yaw"}
    from interp.instruments.user import domain_path, load_user_domain

    domain = load_user_domain(out)  # described on the 20 held-out images and their degraded copy
    assert domain_path(out).is_file() and domain is not None and domain.n_calibration == 40 and domain.threshold > 0
    assert main(["celeba", "--data-root", str(tmp_path / "missing"), "--out", str(out)]) == 2


@pytest.mark.slow
def test_figures_measure_a_foreign_face_model_with_the_users_instrument(tmp_path, capsys) -> None:
    """--instruments: Figs. 7-8 of a model that is not of the faces world are measured by the user's own
    CelebA-trained instrument (recorded in metrics) instead of being left unmeasured."""
    from interp.cli.figures import main as figures_main
    from interp.cli.instruments import main as instruments_main
    from interp.core.config import ModelConfig
    from interp.core.models import build_gan
    from interp.figures import read_metrics
    from interp.io.checkpoint import save_checkpoint

    _celeba_with_landmarks(tmp_path / "c", n=60)
    inst = tmp_path / "celeba_faces"
    assert instruments_main(["celeba", "--data-root", str(tmp_path / "c"), "--out", str(inst), "--steps", "20",
                             "--no-progress", "--threads", "1"]) == 0
    torch.manual_seed(0)
    cfg = ModelConfig.from_preset("examples", 64, ngf=8, ndf=8)
    G, D = build_gan(cfg)
    ckpt = save_checkpoint(tmp_path / "my_celeba_gan", G, D, cfg, {"dataset": {"name": "celeba"}, "epoch": 2})
    out = tmp_path / "figs"
    capsys.readouterr()
    assert figures_main(["--only", "fig8", "--quick", "--checkpoint", str(ckpt), "--instruments",
                         str(inst) + ".safetensors", "--out", str(out), "--no-progress"]) == 0
    m = read_metrics(out / "metrics.json")["fig8"]
    assert m["data"] == "celeba" and m["instrument"] == f"user instrument {inst}.safetensors"
    assert "no yaw regressor" not in m.get("note", "")
    assert isinstance(m["in_domain"], bool) and 0 <= m["domain_distance"] <= 1  # judged by the user's domain
    from interp.instruments.user import domain_path

    domain_path(inst).unlink()  # an instrument saved before domains were recorded: no verdict, and it says so
    assert figures_main(["--only", "fig8", "--quick", "--checkpoint", str(ckpt), "--instruments",
                         str(inst) + ".safetensors", "--out", str(tmp_path / "f3"), "--no-progress"]) == 0
    m3 = read_metrics(tmp_path / "f3" / "metrics.json")["fig8"]
    assert m3["in_domain"] is None and "no domain description" in m3["domain_note"]
    assert figures_main(["--only", "fig8", "--quick", "--checkpoint", str(ckpt), "--out", str(tmp_path / "f2"),
                         "--no-progress"]) == 0
    assert read_metrics(tmp_path / "f2" / "metrics.json")["fig8"]["instrument"] is None
