"""Figs. 7 and 8: vector arithmetic and the turn vector.

Known answers on a toy LINEAR "generator" (z -> images whose channel means are z's first
coordinates) read by a toy classifier (male / smiling / eyeglasses = sign of a channel mean, yaw =
a channel mean); exemplar selection, seeded noise neighbours, Spearman sign; then both figures end
to end in quick mode on a tiny random model (a random attribute net stands in for the trained
instrument), with hand-picked exemplars, and on a foreign PyTorch-example generator."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from interp.analysis.arithmetic import (
    SMILING_MAN,
    WOMAN_WITH_GLASSES,
    compute_arithmetic,
    custom_equation,
    neighbour_offsets,
    parse_exemplars,
    success_over_draws,
)
from interp.analysis.exemplars import Concept, hand_selection, parse_indices, select_exemplars
from interp.analysis.turn import compute_turn, select_turn_exemplars, spearman, turn_vector, walk_along
from interp.cli.figures import main
from interp.core.config import ModelConfig
from interp.core.models import Discriminator, Generator
from interp.figures import FigureContext, read_metrics, run_figure
from interp.figures import context as fctx
from interp.instruments import FaceAttributeNet
from interp.io.checkpoint import save_checkpoint

NZ, S = 6, 8


class ToyG(nn.Module):
    """Linear: channel c of the image is constant 0.5·z[c] (c = 0, 1, 2); z[3:] are ignored."""

    def __init__(self, scale: float = 0.5) -> None:
        super().__init__()
        w = torch.zeros(3 * S * S, NZ)
        for c in range(3):
            w[c * S * S:(c + 1) * S * S, c] = scale
        self.lin = nn.Linear(NZ, 3 * S * S, bias=False)
        with torch.no_grad():
            self.lin.weight.copy_(w)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.lin(z).view(-1, 3, S, S)


class SquashG(ToyG):
    """Non-linear: tanh(4 · ToyG)."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(4 * super().forward(z))


def toy_predict(images: torch.Tensor) -> dict[str, np.ndarray]:
    """male / smiling / eyeglasses = sigmoid(40 · mean of channel 0 / 1 / 2); yaw = tanh(mean of channel 0)."""
    m = images.double().mean((2, 3))
    p = torch.sigmoid(40 * m).numpy()
    return {"male": p[:, 0], "smiling": p[:, 1], "eyeglasses": p[:, 2], "yaw": np.tanh(m[:, 0].numpy())}


def concept_pool() -> tuple[torch.Tensor, list[list[int]]]:
    """z (9, NZ): 3 smiling women (z0 < 0, z1 > 0), 3 neutral women, 3 neutral men, small jitter."""
    rng = np.random.default_rng(0)
    centres = [(-1, 1), (-1, -1), (1, -1)]
    z = np.zeros((9, NZ), np.float32)
    for g, (a, b) in enumerate(centres):
        for j in range(3):
            z[3 * g + j, :2] = (a, b) + rng.uniform(-0.2, 0.2, 2)
            z[3 * g + j, 2:] = rng.uniform(-1, 1, NZ - 2)
    return torch.from_numpy(z), [[0, 1, 2], [3, 4, 5], [6, 7, 8]]


# ----------------------------------------------------------------------------- arithmetic


def test_neighbour_offsets_bounded_and_seeded():
    u = neighbour_offsets(100, seed=3)
    assert u.shape == (9, 100) and torch.equal(u[0], torch.zeros(100))
    assert u.abs().max() <= 0.25 and u[1:].abs().max() > 0.2
    assert torch.equal(u, neighbour_offsets(100, seed=3))
    assert not torch.equal(u, neighbour_offsets(100, seed=4))
    assert torch.equal(neighbour_offsets(10, seed=[0, 1]), neighbour_offsets(10, seed=[0, 1]))
    assert not torch.equal(neighbour_offsets(10, seed=[0, 1]), neighbour_offsets(10, seed=[0, 2]))


def test_arithmetic_known_answer_on_linear_generator():
    z, groups = concept_pool()
    G = ToyG().eval()
    res = compute_arithmetic(G, z, SMILING_MAN, groups, toy_predict, seed=0)
    y = z[0:3].mean(0) - z[3:6].mean(0) + z[6:9].mean(0)
    torch.testing.assert_close(res.y, y)
    assert res.y[0] > 0.5 and res.y[1] > 0.5  # male and smiling, by hand
    with torch.no_grad():
        torch.testing.assert_close(res.latent_images[0], G(y[None])[0])
        torch.testing.assert_close(res.latent_images, G(y[None] + res.offsets))
    assert (res.offsets[1:] - 0).abs().max() <= 0.25
    # a linear generator: pixel-space arithmetic IS latent arithmetic
    torch.testing.assert_close(res.pixel_images, res.latent_images, atol=1e-5, rtol=0)
    assert res.success == 1.0 and res.pixel_success == 1.0 and res.well_posed
    assert res.exemplar_images.shape == (3, 3, 3, S, S) and res.mean_z_images.shape == (3, 3, S, S)
    s = res.summary()
    assert s["success"] == 1.0 and s["centre_success"] is True and s["exemplars"]["neutral man"] == [6, 7, 8]
    # the wrong target fails: a − b + c is not a woman
    wrong = compute_arithmetic(G, z, custom_equation("x", ["a", "b", "c", "r"]), groups, toy_predict)
    assert wrong.success is None and wrong.latent_hits is None  # no target attributes: not measured


def test_success_over_draws_on_linear_generator():
    """Random exemplar triples from the confident samples: on a linear generator every draw succeeds, latent
    and pixel alike; a concept with too few confident samples gives no draws and says why."""
    rng = np.random.default_rng(1)
    z = torch.from_numpy(rng.uniform(-1, 1, (300, NZ)).astype(np.float32))
    z[:, :2] = torch.from_numpy(rng.choice([-1.0, 1.0], (300, 2)).astype(np.float32))  # well-separated concepts
    G = ToyG().eval()
    with torch.no_grad():
        pool_pred = toy_predict(G(z))
    d = success_over_draws(G, z, SMILING_MAN, toy_predict, pool_pred, n_draws=5, seed=0)
    assert d["n_draws"] == 5 and d["success_mean"] == 1.0 and d["success_std"] == 0.0
    assert d["pixel_baseline_success_mean"] == 1.0
    assert success_over_draws(G, z, SMILING_MAN, toy_predict, pool_pred, n_draws=5, seed=0) == d  # seeded
    few = {k: v.copy() for k, v in pool_pred.items()}
    few["smiling"][:] = 0.0  # nobody smiles: no smiling woman to draw
    none = success_over_draws(G, z, SMILING_MAN, toy_predict, few, n_draws=5)
    assert none["n_draws"] == 0 and "smiling woman" in none["note"]


def test_pixel_baseline_is_mean_image_arithmetic():
    z, groups = concept_pool()
    G = SquashG().eval()
    res = compute_arithmetic(G, z, SMILING_MAN, groups, toy_predict, seed=1)
    with torch.no_grad():
        means = [G(z[g]).mean(0) for g in groups]
        moved = [G(z[g] + res.offsets[5]).mean(0) for g in groups]
    torch.testing.assert_close(res.pixel_images[0], (means[0] - means[1] + means[2]).clamp(-1, 1), atol=1e-6, rtol=0)
    torch.testing.assert_close(res.pixel_images[5], (moved[0] - moved[1] + moved[2]).clamp(-1, 1), atol=1e-6, rtol=0)
    torch.testing.assert_close(res.mean_pixel_images, torch.stack(means), atol=1e-6, rtol=0)
    assert not torch.allclose(res.pixel_images, res.latent_images, atol=1e-3)  # non-linear: they differ
    again = compute_arithmetic(G, z, SMILING_MAN, groups, toy_predict, seed=1)
    assert torch.equal(again.latent_images, res.latent_images)  # seeded


def test_select_exemplars_picks_the_surest():
    pred = {"male": np.array([0.1, 0.05, 0.9, 0.2, 0.01, 0.3, 0.02]),
            "smiling": np.array([0.95, 0.99, 0.99, 0.85, 0.6, 0.1, 0.97])}
    c = Concept("smiling woman", {"male": False, "smiling": True})
    np.testing.assert_allclose(c.score(pred), [0.9, 0.95, 0.1, 0.8, 0.6, 0.1, 0.97])
    sel = select_exemplars(pred, c, k=3, confidence=0.8)
    assert sel.indices == [6, 1, 0] and sel.note is None and sel.threshold == pytest.approx(0.9)
    sel = select_exemplars(pred, c, k=3, confidence=0.8, exclude=[1])
    assert sel.indices == [6, 0, 3] and sel.note is None
    sel = select_exemplars(pred, c, k=3, confidence=0.92)  # only 2 reach it: relaxed, with a note
    assert sel.indices == [6, 1, 0] and sel.n_confident == 2 and "only 2 of 7" in sel.note
    man = select_exemplars(pred, Concept("neutral man", {"male": True, "smiling": False}), k=2)
    assert "no sample is classified as" in man.note
    with pytest.raises(KeyError, match="eyeglasses"):
        select_exemplars(pred, Concept("g", {"eyeglasses": True}))
    with pytest.raises(ValueError, match="at least 9"):
        select_exemplars(pred, c, k=9)


def test_hand_picked_exemplars_parse_and_validate(tmp_path):
    assert parse_indices("3, 17 42") == [3, 17, 42] and parse_indices([1, 2]) == [1, 2] and parse_indices(5) == [5]
    with pytest.raises(ValueError):
        parse_indices("a,b")
    assert hand_selection("x", [1, 2, 3], 10).indices == [1, 2, 3]
    with pytest.raises(ValueError, match="outside"):
        hand_selection("x", [1, 2, 30], 10)
    with pytest.raises(ValueError, match="repeated"):
        hand_selection("x", [1, 1, 3], 10)
    picks = parse_exemplars("smiling_man:1,2,3/4,5,6/7,8,9; woman_with_glasses:10,11,12/13,14,15/16,17,18")
    assert picks["smiling_man"] == (SMILING_MAN, [[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    assert picks["woman_with_glasses"][0] is WOMAN_WITH_GLASSES
    as_json = parse_exemplars('{"smiling_man": [[1,2,3],[4,5,6],[7,8,9]]}')
    assert as_json["smiling_man"][1][2] == [7, 8, 9]
    f = tmp_path / "picks.json"
    f.write_text(json.dumps({"mine": {"groups": ["1,2,3", [4, 5, 6], [7, 8, 9]], "labels": ["a", "b", "c", "r"]}}))
    mine = parse_exemplars(str(f))["mine"]
    assert mine[0].target.name == "r" and not mine[0].target.attributes and mine[1][0] == [1, 2, 3]
    with pytest.raises(ValueError, match="unknown equation"):
        parse_exemplars("nonsense:1,2,3/4,5,6/7,8,9")
    with pytest.raises(ValueError, match="3 groups"):
        parse_exemplars("smiling_man:1,2,3/4,5,6")


# ----------------------------------------------------------------------------- turn vector


def test_turn_vector_on_toy_generator_gives_negative_spearman():
    G = ToyG().eval()
    z = torch.from_numpy(np.random.default_rng(1).standard_normal((60, NZ)).astype(np.float32))
    yaw = toy_predict(G(z).detach())["yaw"]
    sel = select_turn_exemplars(yaw, k=4)
    assert sel.left == [int(i) for i in np.argsort(yaw)[:4]] and sel.right == [int(i) for i in np.argsort(-yaw)[:4]]
    assert max(sel.yaw_left) < min(sel.yaw_right)
    v = turn_vector(z, sel.left, sel.right)
    torch.testing.assert_close(v, z[sel.left].mean(0) - z[sel.right].mean(0))
    assert v[0] < 0  # left-looking = low z0 here
    steps = np.linspace(-1, 1, 7)
    rows = [i for i in range(60) if i not in sel.left + sel.right][:10]
    res = compute_turn(G, z, sel, rows, steps, toy_predict, seed=0)
    assert res.images.shape == (10, 7, 3, S, S) and res.yaw.shape == (10, 7) and res.yaw_random.shape == (4, 10, 7)
    assert all(r == pytest.approx(-1.0) for r in res.spearman_per_row)  # yaw is monotone in z0
    assert res.spearman < -0.8
    assert abs(res.spearman_random) < abs(res.spearman)
    summary = res.summary()
    assert summary["spearman"] == pytest.approx(res.spearman, abs=1e-4) and summary["n_walked"] == 10
    with torch.no_grad():
        torch.testing.assert_close(res.images[:, 3], G(z[rows]))  # t = 0 is the sample itself
    torch.testing.assert_close(walk_along(z[:2], v, np.array([0.0, 2.0]))[:, 1], z[:2] + 2 * v)
    # smoothness by hand: an even ramp spreads the change over the 6 steps, a snap puts it all in one
    res.yaw = np.array([[0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [0.9, 0.9, 0.9, -0.9, -0.9, -0.9, -0.9]])
    assert res.largest_step_share == pytest.approx((1 / 6 + 1) / 2)
    assert res.summary()["yaw_largest_step_share_even"] == pytest.approx(1 / 6, abs=1e-4)


def test_turn_selection_falls_back_and_notes_it():
    yaw = np.array([0.3, 0.5, 0.1, 0.05, 0.7, 0.6, 0.4, 0.2, 0.15])  # nobody looks left
    sel = select_turn_exemplars(yaw, k=4, threshold=0.2)
    assert sel.left == [3, 2, 8, 7] and sel.right == [4, 5, 1, 6]
    assert sel.n_left == 0 and "only 0 of 9 pool samples look left" in sel.note and "look right" not in sel.note
    assert select_turn_exemplars(np.linspace(-1, 1, 20), k=4).note is None
    with pytest.raises(ValueError, match="at least 8"):
        select_turn_exemplars(yaw[:5], k=4)


def test_spearman_helper():
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 2, 3], [5, 5, 5]) is None


# ----------------------------------------------------------------------------- figures end to end


def tiny_faces_gan(seed: int = 0, size: int = 32):
    cfg = ModelConfig.from_preset("examples", size, ngf=8, ndf=8)
    torch.manual_seed(seed)
    return Generator(cfg).eval(), Discriminator(cfg).eval(), cfg


@pytest.fixture
def faces_ckpt(tmp_path):
    G, D, cfg = tiny_faces_gan()
    meta = {"dataset": {"name": "faces", "world": "faces", "image_size": 32}, "epoch": 2, "seed": 0}
    return save_checkpoint(tmp_path / "run" / "checkpoints" / "final", G, D, cfg, meta)


@pytest.fixture
def face_instrument(monkeypatch, stand_in_domain):
    """A random quick-size attribute net stands in for the trained instrument."""
    torch.manual_seed(0)
    net = FaceAttributeNet(widths=(8, 16, 24, 32)).eval()
    calls = []

    def get(name, *, quick=False, progress=True):
        calls.append((name, quick))
        assert name == "face_attributes"
        return net

    monkeypatch.setattr(fctx, "get_instrument", get)
    monkeypatch.setattr(fctx, "get_domain", stand_in_domain({"face_attributes": net}))
    return calls


def test_fig7_fig8_quick_end_to_end(tmp_path, faces_ckpt, face_instrument):
    out = tmp_path / "figs"
    assert main(["--only", "fig7", "fig8", "--quick", "--checkpoint", str(faces_ckpt), "--out", str(out),
                 "--no-progress"]) == 0
    for name in ("fig7_vector_arithmetic.png", "fig7_sample_sheet.png", "fig8_turn_vector.png",
                 "fig8_sample_sheet.png"):
        assert (out / name).stat().st_size > 10_000, name
    m = read_metrics(out / "metrics.json")
    f7, f8 = m["fig7"], m["fig8"]
    assert 0 <= f7["success"] <= 1 and 0 <= f7["pixel_baseline_success"] <= 1
    assert f7["checkpoint"] == str(faces_ckpt) and f7["data"] == "faces" and f7["seed"] == 0
    assert set(f7["per_equation"]) == {"smiling_man", "woman_with_glasses"}
    assert all(len(e["target_prob_latent"]) == 9 for e in f7["per_equation"].values())
    assert f7["exemplar_choice"]["smiling_man"][0]["method"] == "classifier"
    assert "spearman" in f8 and (f8["spearman"] is None or -1 <= f8["spearman"] <= 1)
    assert len(f8["exemplars"]["left"]) == 4 and f8["n_walked"] == 8 and len(f8["spearman_per_row"]) == 8
    assert face_instrument and all(c == ("face_attributes", True) for c in face_instrument)
    # the same again: figures reproduce exactly
    out2 = tmp_path / "figs2"
    assert main(["--only", "fig7", "fig8", "--quick", "--checkpoint", str(faces_ckpt), "--out", str(out2),
                 "--no-progress"]) == 0
    m2 = read_metrics(out2 / "metrics.json")
    assert m2["fig7"]["per_equation"] == f7["per_equation"] and m2["fig8"]["spearman"] == f8["spearman"]


def test_hand_picked_exemplars_via_cli(tmp_path, faces_ckpt, face_instrument, capsys):
    out = tmp_path / "figs"
    assert main(["--only", "fig7", "fig8", "--quick", "--checkpoint", str(faces_ckpt), "--out", str(out),
                 "--no-progress", "--option", "fig7.exemplars=smiling_man:0,1,2/3,4,5/6,7,8",
                 "--option", "fig8.left=0,1,2,3", "--option", "fig8.right=[4,5,6,7]"]) == 0
    m = read_metrics(out / "metrics.json")
    picked = m["fig7"]["exemplar_choice"]["smiling_man"][2]
    assert (picked["concept"], picked["indices"], picked["method"]) == ("neutral man", [6, 7, 8], "hand")
    assert m["fig7"]["per_equation"]["smiling_man"]["exemplars"]["neutral woman"] == [3, 4, 5]
    assert "woman_with_glasses" in m["fig7"]["per_equation"]  # not given by hand: chosen by the classifier
    assert m["fig8"]["exemplars"]["left"] == [0, 1, 2, 3] and m["fig8"]["exemplars"]["method"] == "hand"
    assert not set(m["fig8"]["walked_samples"]) & set(range(8))
    assert main(["--only", "fig7", "--option", "fig99.x=1"]) == 2
    assert "unknown figure" in capsys.readouterr().err
    ctx = FigureContext(out=out, quick=True, checkpoint=faces_ckpt, progress=False, options={"fig8": {"lft": [1]}})
    with pytest.raises(ValueError, match="unknown option"):
        run_figure("fig8", ctx)
    assert main(["--only", "fig7", "--quick", "--checkpoint", str(faces_ckpt), "--out", str(out), "--no-progress",
                 "--option", "fig7.exemplars=smiling_man:0,1,2/3,4,5/6,7,999"]) == 1  # outside the pool


def test_foreign_generator_with_hand_picked_exemplars(tmp_path, face_instrument):
    from test_foreign_checkpoints import ExampleG, randomise

    g_path = tmp_path / "netG_epoch_4.pth"
    torch.save(randomise(ExampleG(16, 4, 3, 64), 1).state_dict(), g_path)
    out = tmp_path / "figs"
    # no classifier fits unknown data: the sample sheets are drawn, the numbers are null with a note
    ctx = FigureContext(out=out, quick=True, checkpoint=g_path, progress=False)
    r7, r8 = run_figure("fig7", ctx), run_figure("fig8", ctx)
    assert [p.name for p in r7.png_paths] == ["fig7_sample_sheet.png"]
    assert [p.name for p in r8.png_paths] == ["fig8_sample_sheet.png"]
    assert r7.metrics["success"] is None and "pick them" in r7.metrics["note"]
    assert r8.metrics["spearman"] is None and "fig8.left" in r8.metrics["note"]
    assert face_instrument == []
    # hand-picked: the figures are drawn, still unmeasured
    ctx = FigureContext(out=out, quick=True, checkpoint=g_path, progress=False, options={
        "fig7": {"exemplars": "smiling_man:0,1,2/3,4,5/6,7,8"}, "fig8": {"left": "0,1,2,3", "right": "4,5,6,7"}})
    r7, r8 = run_figure("fig7", ctx), run_figure("fig8", ctx)
    assert (out / "fig7_vector_arithmetic.png").is_file() and (out / "fig8_turn_vector.png").is_file()
    assert r7.metrics["success"] is None and r7.metrics["checkpoint"] == str(g_path) and r7.metrics["data"] is None
    assert list(r7.metrics["per_equation"]) == ["smiling_man"]
    assert r8.metrics["spearman"] is None and r8.metrics["exemplars"]["right"] == [4, 5, 6, 7]
    # told it is a faces generator: the classifier measures it
    ctx = FigureContext(out=out, quick=True, checkpoint=g_path, data="faces", progress=False)
    r7, r8 = run_figure("fig7", ctx), run_figure("fig8", ctx)
    assert 0 <= r7.metrics["success"] <= 1 and r7.metrics["data"] == "faces"
    assert "spearman_per_row" in r8.metrics
