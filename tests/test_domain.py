"""Instrument domains: where an instrument's numbers are valid (interp.instruments.domain), and the flag
every instrument-measured figure carries."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from interp.cli.figures import main
from interp.core.config import ModelConfig
from interp.core.models import Discriminator, Generator
from interp.figures import context as fctx
from interp.figures import read_metrics
from interp.instruments import FaceAttributeNet
from interp.instruments.domain import Domain, check_domain, fit_domain, load_domain, save_domain
from interp.io.checkpoint import save_checkpoint


class MeanColour(nn.Module):
    """A stand-in instrument whose features are the mean colour of the image: (N, 3, S, S) -> (N, 3)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


def _images(n: int, colour: tuple[float, float, float], seed: int) -> np.ndarray:
    """uint8 (n, 3, 16, 16) images of one colour each, jittered around ``colour`` (in [0, 255])."""
    rng = np.random.default_rng(seed)
    c = np.asarray(colour)[None] + rng.normal(0, 6, (n, 3))
    return np.clip(np.broadcast_to(c[:, :, None, None], (n, 3, 16, 16)), 0, 255).round().astype(np.uint8)


def test_unseen_images_of_the_domain_are_inside_and_other_images_outside():
    net = MeanColour()
    domain = fit_domain(net, _images(400, (120, 80, 60), seed=0))
    same = check_domain(domain, net, _images(300, (120, 80, 60), seed=1))
    other = check_domain(domain, net, _images(300, (60, 160, 200), seed=2))
    assert same.in_domain and same.distance < 0.05  # ~1% by construction (99% quantile on unseen renders)
    assert not other.in_domain and other.distance == 1.0
    assert other.as_metrics() == {"in_domain": False, "domain_distance": 1.0, "domain_max_outside": 0.5,
                                  "domain_n": 300}
    with pytest.raises(ValueError, match="no images"):
        check_domain(domain, net, _images(0, (0, 0, 0), seed=3))


def test_domain_files_round_trip(tmp_path):
    d = Domain(torch.arange(3.0), torch.eye(3) * 2, threshold=7.5, max_outside=0.4, n_calibration=10)
    back = load_domain(save_domain(tmp_path / "d.safetensors", d, note="x"))
    assert torch.equal(back.mean, d.mean) and torch.equal(back.precision, d.precision)
    assert (back.threshold, back.max_outside, back.n_calibration) == (7.5, 0.4, 10)
    # squared distance by hand: (x - mean)^T P (x - mean) = 2 * |(1, 1, 1)|^2 = 6
    assert float(d.squared_distances(torch.tensor([[1.0, 2.0, 3.0]]))[0]) == pytest.approx(6.0)


@pytest.mark.parametrize("threshold, expect", [(0.0, False), (float("inf"), True)])
def test_fig8_records_the_flag_titles_and_warns(tmp_path, monkeypatch, capsys, threshold, expect):
    """Out of domain: in_domain false in metrics, a warning line on stderr; in domain: no warning."""
    torch.manual_seed(0)
    net = FaceAttributeNet(widths=(8, 16, 24, 32)).eval()
    monkeypatch.setattr(fctx, "get_instrument", lambda name, **kw: net)
    dim = net.features(torch.zeros(1, 3, 64, 64)).shape[1]
    monkeypatch.setattr(fctx, "get_domain", lambda name, **kw: Domain(torch.zeros(dim), torch.eye(dim), threshold))
    cfg = ModelConfig.from_preset("examples", 64, ngf=8, ndf=8)
    ck = save_checkpoint(tmp_path / "faces", Generator(cfg), Discriminator(cfg), cfg,
                         {"dataset": {"name": "faces", "world": "faces"}, "epoch": 1})
    assert main(["--only", "fig8", "--quick", "--checkpoint", str(ck), "--out", str(tmp_path / "f"),
                 "--no-progress"]) == 0
    m = read_metrics(tmp_path / "f" / "metrics.json")["fig8"]
    assert m["in_domain"] is expect and m["domain_distance"] == (0.0 if expect else 1.0)
    err = capsys.readouterr().err
    assert ("WARNING: fig8" in err) is (not expect)


def test_the_shipped_instruments_accept_their_world_and_flag_the_other(cache):
    """The shipped (full) measuring instruments and their shipped domains: unseen renders of their own world
    lie inside, renders of the other world (a generator of something else, measured as if it drew this
    world) outside."""
    from interp.data import open_dataset
    from interp.instruments.registry import domain_file, get_domain, get_instrument, instrument_config
    from interp.io.zoo import shipped_instrument

    for name, world, other in (("face_attributes", "faces", "rooms"), ("room_segmenter", "rooms", "faces")):
        if shipped_instrument(domain_file(name, instrument_config(name), 64).name) is None:
            pytest.skip("the instruments are not shipped in this tree (zoo/instruments)")
        net = get_instrument(name, progress=False)
        domain = get_domain(name, image_size=64, progress=False)
        own = np.asarray(open_dataset(world, split="test", n=200, image_size=64).uint8_images())
        foreign = np.asarray(open_dataset(other, split="test", n=200, image_size=64).uint8_images())
        inside, outside = check_domain(domain, net, own), check_domain(domain, net, foreign)
        assert inside.in_domain and inside.distance < 0.1, (name, inside)
        assert not outside.in_domain and outside.distance > 0.8, (name, outside)
