"""Latent directions (SeFa, GANSpace, InterFaceGAN, exemplar means, random) and the yardstick, plus GAN
Dissection of the generator: each method on a case whose answer is known by construction."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from interp.analysis.directions import (
    boundary_direction,
    exemplar_direction,
    ganspace_directions,
    match_directions,
    outside_change,
    pca_to_z,
    random_directions,
    score_direction,
    sefa_directions,
)
from interp.analysis.dissection import causal_ranking, class_removal, layer_activations, top_units, unit_class_iou
from interp.analysis.forget import ClassMeter
from interp.core.config import ModelConfig
from interp.core.latent import sample_z
from interp.core.models import Generator
from interp.worlds.rooms import CLASS_NAMES


def _cos(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.dot(a.double(), b.double()) / (a.double().norm() * b.double().norm()))


def _planted_projection(cfg: ModelConfig) -> tuple[Generator, torch.Tensor]:
    """G whose projection W (nz, K) has unit columns, each one-hot on a latent: latent 3 owns 5 columns,
    latent 7 owns 3, every other latent 1; so W Wᵀ = diag(1, ..., 5 at 3, ..., 3 at 7, ...)."""
    torch.manual_seed(0)
    G = Generator(cfg)
    owners = [3] * 5 + [7] * 3 + [i for i in range(cfg.nz) if i not in (3, 7)]
    W = torch.zeros(cfg.nz, G.project[1].weight[0].numel() if cfg.projection == "conv" else G.project[0].out_features)
    for col, latent in enumerate(owners):
        W[latent, col] = 2.0  # any length: SeFa normalises the columns
    with torch.no_grad():
        if cfg.projection == "conv":
            G.project.conv.weight.copy_(W.view_as(G.project.conv.weight))
        else:
            G.project.linear.weight.copy_(W.T)
    return G, W


@pytest.mark.parametrize("projection", ["conv", "dense"])
def test_sefa_recovers_the_known_eigenvectors(projection):
    cfg = ModelConfig.from_preset("examples", 32, ngf=8, ndf=8, projection=projection)
    G, _ = _planted_projection(cfg)
    dirs, values = sefa_directions(G, k=3)
    assert dirs.shape == (3, cfg.nz) and torch.allclose(dirs.norm(dim=1), torch.ones(3))
    assert values[:2].tolist() == pytest.approx([5.0, 3.0]) and float(values[2]) == pytest.approx(1.0)
    assert abs(_cos(dirs[0], torch.eye(cfg.nz)[3])) == pytest.approx(1.0)
    assert abs(_cos(dirs[1], torch.eye(cfg.nz)[7])) == pytest.approx(1.0)


def test_pca_regression_recovers_a_planted_direction():
    g = torch.Generator().manual_seed(0)
    z = torch.randn((2000, 10), generator=g)
    d = torch.nn.functional.normalize(torch.randn(10, generator=g), dim=0)
    a = torch.randn(50, generator=g)
    feats = 10 * torch.outer(z @ d, a) + 0.1 * torch.randn((2000, 50), generator=g)  # one dominant factor
    dirs, explained = pca_to_z(feats, z, k=3)
    assert abs(_cos(dirs[0], d)) > 0.99 and float(explained[0]) > 0.9


def test_ganspace_runs_on_a_generator_layer():
    cfg = ModelConfig.from_preset("examples", 32, ngf=8, ndf=8)
    torch.manual_seed(0)
    G = Generator(cfg)
    dirs, explained = ganspace_directions(G, "up1.act", k=4, n=300)
    assert dirs.shape == (4, cfg.nz) and torch.allclose(dirs.norm(dim=1), torch.ones(4), atol=1e-5)
    assert bool((explained[:-1] >= explained[1:]).all())


def test_boundary_recovers_the_planted_normal():
    g = torch.Generator().manual_seed(1)
    z = torch.randn((3000, 20), generator=g)
    n = torch.nn.functional.normalize(torch.randn(20, generator=g), dim=0)
    scores = (z @ n + 0.1 * torch.randn(3000, generator=g)).numpy()
    normal = boundary_direction(z, scores)
    assert _cos(normal, n) > 0.95  # and it points to high scores
    with pytest.raises(ValueError, match="do not vary"):
        boundary_direction(z, np.ones(3000))


def test_hand_labels_recover_the_planted_normal():
    """Samples 'ticked by hand' (the sign of z · n, 40 of each, as a user would on a sheet) give a boundary
    normal close to n; overlapping or out-of-pool labels are refused."""
    from interp.analysis.directions import labelled_direction

    g = torch.Generator().manual_seed(2)
    z = torch.randn((500, 20), generator=g)
    n = torch.nn.functional.normalize(torch.randn(20, generator=g), dim=0)
    side = (z @ n).numpy()
    pos, neg = np.flatnonzero(side > 0.3)[:40].tolist(), np.flatnonzero(side < -0.3)[:40].tolist()
    assert _cos(labelled_direction(z, pos, neg), n) > 0.8
    with pytest.raises(ValueError, match="both"):
        labelled_direction(z, [1, 2], [2, 3])
    with pytest.raises(ValueError, match="not in the pool"):
        labelled_direction(z, [1, 600], [3])


def test_exemplar_and_random_directions():
    z = torch.tensor([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0]])
    assert torch.allclose(exemplar_direction(z, [0, 1], [2]), torch.tensor([2.0, -2.0]) / 8**0.5)
    r = random_directions(5, 3, seed=2)
    assert torch.allclose(r, random_directions(5, 3, seed=2)) and torch.allclose(r.norm(dim=1), torch.ones(3))


class ColourG(nn.Module):
    """A toy generator: red = 0.1·z0, blue = 0.1·z1 everywhere on a 4×4 image, green 0."""

    def __init__(self) -> None:
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        img = torch.zeros(len(z), 3, 4, 4)
        img[:, 0] = 0.1 * z[:, :1, None]
        img[:, 2] = 0.1 * z[:, 1:2, None]
        return img


def test_yardstick_on_a_toy_generator():
    def measure(x: torch.Tensor) -> dict[str, np.ndarray]:
        return {"red": x[:, 0].mean((1, 2)).numpy(), "blue": x[:, 2].mean((1, 2)).numpy()}

    z0 = torch.randn((8, 4), generator=torch.Generator().manual_seed(0))
    s = score_direction(ColourG(), torch.tensor([1.0, 0, 0, 0]), measure, "red", z0)
    assert s["effect"] == pytest.approx(0.1, abs=1e-6) and s["entanglement"] == pytest.approx(0.0, abs=1e-6)
    assert s["monotonicity"] > 0.5 and s["pixel_change"] == pytest.approx(0.1 / 3, rel=1e-5)
    tilted = score_direction(ColourG(), torch.tensor([0.6, 0.8, 0, 0]), measure, "red", z0)
    assert tilted["effect"] == pytest.approx(0.06, abs=1e-6) and tilted["entanglement"] == pytest.approx(0.08, abs=1e-6)
    assert match_directions([s["slopes"], {"red": 0.01, "blue": -0.05}], {"red": 0.1, "blue": 0.1}) == [
        ("red", pytest.approx(1.0)), ("blue", pytest.approx(0.5))]
    with pytest.raises(KeyError, match="green"):
        score_direction(ColourG(), torch.tensor([1.0, 0, 0, 0]), measure, "green", z0)


class HalvesG(nn.Module):
    """A toy generator of 2×4 images: the left half's red = z0 (a "window" there when red > 0), the right
    half's red = z1, everything else 0."""

    def __init__(self) -> None:
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        img = torch.zeros(len(z), 3, 2, 4)
        img[:, 0, :, :2] = z[:, :1, None]
        img[:, 0, :, 2:] = z[:, 1:2, None]
        return img


def test_outside_change_counts_only_pixels_away_from_the_target():
    def measure(x: torch.Tensor) -> dict[str, np.ndarray]:
        return {"window": (x[:, 0, :, :2] > 0).float().mean((1, 2)).numpy()}

    def region(x: torch.Tensor) -> dict[str, torch.Tensor]:
        mask = torch.zeros(len(x), 2, 4, dtype=torch.bool)
        mask[:, :, :2] = x[:, 0, :, :2] > 0
        return {"window": mask}

    z0 = torch.tensor([[0.5, 0.0], [-3.0, 1.0]])
    along = score_direction(HalvesG(), torch.tensor([1.0, 0.0]), measure, "window", z0, region=region)
    # walker 0 draws its window only at the last frame (red 0.5 ± 2 > 0 only at +2): its left half counts as
    # the target's, so only the unchanged right half is outside; walker 1 never draws one (red -5 .. -1):
    # its left half changes by 4 over a span of 4 -> per step: 4 changed pixels · (4 / 3 channels) / 12 outside
    assert along["outside_change"] == pytest.approx((4 * 4 / 3) / 12 / 4)
    assert along["pixel_change"] == pytest.approx((8 * 4 / 3) / 16 / 4)
    across = score_direction(HalvesG(), torch.tensor([0.0, 1.0]), measure, "window", z0, region=region)
    assert across["effect"] == pytest.approx(0.0, abs=1e-12) and across["outside_change"] > along["outside_change"]
    assert score_direction(HalvesG(), torch.tensor([1.0, 0.0]), measure, "window", z0)["outside_change"] is None
    assert outside_change(torch.zeros(1, 3, 2, 2), torch.ones(1, 3, 2, 2), torch.ones(1, 2, 2, dtype=torch.bool),
                          torch.zeros(1, 2, 2, dtype=torch.bool)) == 0.0


# ----------------------------------------------------------------------------------- dissection


def test_unit_class_iou_by_hand():
    """Unit 0 fires in the top-left cell of a 2×2 map: upsampled (bilinear) to 4×4 and thresholded at 0.5 it
    covers exactly the top-left 2×2 pixels, where class 1 is: IoU 1 with class 1, 0 with class 0. Unit 1
    fires everywhere: IoU 4/16 with class 1 and 12/16 with class 0."""
    acts = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 1.0]]]])  # (1, 2 units, 2, 2)
    maps = np.zeros((1, 4, 4), np.int64)
    maps[0, :2, :2] = 1
    iou = unit_class_iou(acts, maps, n_classes=2, thresholds=torch.tensor([0.5, 0.5]))
    assert iou.tolist() == [[0.0, 1.0], [0.75, 0.25]]
    assert top_units(iou, 1) == {0: [1], 1: [0]}


def test_dissection_finds_and_removes_the_window_unit():
    """On the hand-built painter G (one relay unit of the penultimate layer paints blue windows), the
    window class's top unit by IoU is that unit, and dropping it removes far more windows than dropping a
    random unit."""
    from test_forget import PAINTER, BlueIsWindow, painter_gan

    G, cfg = painter_gan()
    meter = ClassMeter(BlueIsWindow().eval(), CLASS_NAMES)
    z = sample_z(120, cfg, seed=0)
    acts = layer_activations(G, "up2.act", z)
    from interp.analysis.forget import generate

    window = CLASS_NAMES.index("window")
    iou = unit_class_iou(acts, meter.maps(generate(G, z)), len(CLASS_NAMES))
    assert top_units(iou, 3)[window][0] == PAINTER
    curve = class_removal(G, "up2.act", z[:60], top_units(iou, 3)[window],
                          lambda x: float(meter.shares(x)[:, window].mean()), counts=[0, 1], n_random=3)
    before = curve["before"][0]
    assert curve["ranked"][0] == curve["random"][0] == before > 0.01
    assert curve["ranked"][1] < 0.2 * before and curve["random"][1] > 2 * curve["ranked"][1]
    # ranked by causal effect (each unit dropped alone), the painter unit comes first too
    units, drops = causal_ranking(G, "up2.act", z[:40], lambda x: float(meter.shares(x)[:, window].mean()))
    assert units[0] == PAINTER and drops[0] > 0.5 * before > drops[1]


def test_compare_directions_scores_every_method_with_one_yardstick():
    """On a random small G with two image statistics as attributes: every method yields a scored direction
    per attribute, unsupervised ones oriented to raise it, and the supervised boundary moves its target more
    (relative to the target's spread) than the best of the random directions."""
    from interp.analysis.directions import compare_directions

    cfg = ModelConfig.from_preset("examples", 32, ngf=8, ndf=8)
    torch.manual_seed(3)
    G = Generator(cfg)

    def measure(x: torch.Tensor) -> dict[str, np.ndarray]:
        return {"red": x[:, 0].mean((1, 2)).numpy(), "top_brightness": x[:, :, :16].mean((1, 2, 3)).numpy()}

    res = compare_directions(G, measure, ["red", "top_brightness"], n_pool=300, n_walk=8, k=4, seed=0)
    assert set(res["methods"]) == {"sefa", "ganspace", "interfacegan", "exemplar_mean", "random"}
    for method, per in res["methods"].items():
        assert set(per) == {"red", "top_brightness"}, method
        for a, s in per.items():
            assert s["target"] == a and s["relative_effect"] >= 0
            if method in ("sefa", "ganspace", "random"):
                assert s["effect"] >= 0, (method, a)
    for a in ("red", "top_brightness"):
        assert res["methods"]["interfacegan"][a]["effect"] > 0
        assert res["methods"]["interfacegan"][a]["relative_effect"] > res["methods"]["random"][a]["relative_effect"]
    assert res["not_found"] == []
