"""Guided backprop at LeakyReLU (interp.analysis.guided_backprop).

The reference is a hand-computed map on a tiny net with hand-set weights (in the style of
captum's tests/attr/layer/test_grad_cam.py); plain captum is shown to give the plain gradient
on the same LeakyReLU net, so a regression to plain gradients would be caught.
"""

from __future__ import annotations

import copy

import pytest
import torch
from captum.attr import GuidedBackprop, NeuronGuidedBackprop
from torch import nn

from interp.analysis import guided_backprop as gb_mod
from interp.analysis.guided_backprop import guided_backprop, max_responses
from interp.core.config import ModelConfig
from interp.core.models import Discriminator

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

# Input (1x3x3) and weights. conv1: 1->2 channels, 2x2 kernel, no bias.
#   w1[0] = [[1, 0], [0, 1]]    -> pre0[i,j] = x[i,j] + x[i+1,j+1]
#   w1[1] = [[0, 1], [-1, 0]]   -> pre1[i,j] = x[i,j+1] - x[i+1,j]
# conv2: 2->1 channel, 2x2 kernel over the 2x2 hidden map -> a single output neuron (0, 0, 0),
# whose gradient w.r.t. hidden unit (k, i, j) is w2[k][i][j].
X = [[1.0, 2.0, 0.0], [0.0, 1.0, -1.0], [2.0, -2.0, 1.0]]
W1 = [[[[1.0, 0.0], [0.0, 1.0]]], [[[0.0, 1.0], [-1.0, 0.0]]]]
W2 = [[[[1.0, -1.0], [2.0, 0.5]], [[-2.0, 1.0], [3.0, 1.0]]]]

# pre0 = [[1+1, 2-1], [0-2, 1+1]] = [[2, 1], [-2, 2]]
# pre1 = [[2-0, 0-1], [1-2, -1+2]] = [[2, -1], [-1, 1]]
# Guided gradient at the hidden units, g = clamp(w2, min=0) * (pre > 0):
#   g0 = [[1*1, 0 (w2<0)], [2*0 (pre<0), 0.5*1]] = [[1, 0], [0, 0.5]]
#   g1 = [[0 (w2<0), 1*0 (pre<0)], [3*0 (pre<0), 1*1]] = [[0, 0], [0, 1]]
# Back through conv1: g0[i,j] adds +g0 at (i,j) and (i+1,j+1); g1[i,j] adds +g1 at (i,j+1), -g1 at (i+1,j).
#   g0[0,0]=1   -> (0,0)+=1, (1,1)+=1
#   g0[1,1]=0.5 -> (1,1)+=0.5, (2,2)+=0.5
#   g1[1,1]=1   -> (1,2)+=1, (2,1)-=1
GUIDED = [[1.0, 0.0, 0.0], [0.0, 1.0 + 0.5, 1.0], [0.0, -1.0, 0.5]]
# Plain gradient with LeakyReLU(0.2): p = w2 * (1 if pre > 0 else 0.2)
#   p0 = [[1, -1], [0.4, 0.5]],  p1 = [[-2, 0.2], [0.6, 1]]
#   (0,0)=p0[0,0]=1; (0,1)=p0[0,1]+p1[0,0]=-1-2=-3; (0,2)=p1[0,1]=0.2;
#   (1,0)=p0[1,0]-p1[0,0]=0.4+2=2.4; (1,1)=p0[0,0]+p0[1,1]-p1[0,1]+p1[1,0]=1+0.5-0.2+0.6=1.9;
#   (1,2)=p0[0,1]+p1[1,1]=-1+1=0; (2,0)=-p1[1,0]=-0.6; (2,1)=p0[1,0]-p1[1,1]=0.4-1=-0.6; (2,2)=p0[1,1]=0.5
PLAIN = [[1.0, -3.0, 0.2], [2.4, 1.9, 0.0], [-0.6, -0.6, 0.5]]


def tiny_net(act: nn.Module) -> nn.Sequential:
    net = nn.Sequential(nn.Conv2d(1, 2, 2, bias=False), act, nn.Conv2d(2, 1, 2, bias=False))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor(W1))
        net[2].weight.copy_(torch.tensor(W2))
    return net


def x_in() -> torch.Tensor:
    return torch.tensor(X).reshape(1, 1, 3, 3)


def clean(model: nn.Module) -> bool:
    return all(
        not m._forward_hooks and not m._backward_hooks and not m._forward_pre_hooks
        for m in model.modules()
    )


def test_hand_computed_leaky():
    net = tiny_net(nn.LeakyReLU(0.2))
    x = x_in()
    out = guided_backprop(net, x, "2", 0, location=(0, 0))
    assert torch.allclose(out, torch.tensor(GUIDED).reshape(1, 1, 3, 3))
    assert torch.equal(out, guided_backprop(net, x, "2", 0))  # argmax of a 1x1 map is (0, 0)
    assert not x.requires_grad and clean(net)


def test_plain_captum_is_plain_gradient_on_leaky_net():
    net = tiny_net(nn.LeakyReLU(0.2))
    x = x_in()
    xg = x.clone().requires_grad_()
    (plain,) = torch.autograd.grad(net(xg)[0, 0, 0, 0], xg)
    assert torch.allclose(plain, torch.tensor(PLAIN).reshape(1, 1, 3, 3))
    captum_neuron = NeuronGuidedBackprop(net, net[2]).attribute(x, (0, 0, 0))
    captum_gb = GuidedBackprop(net).attribute(x.clone(), target=None)  # output is one scalar per example
    assert torch.allclose(captum_neuron, plain) and torch.allclose(captum_gb, plain)
    ours = guided_backprop(net, x, "2", 0, (0, 0))
    assert not torch.allclose(ours, plain)


def test_relu_net_matches_captum_guided_backprop():
    net = tiny_net(nn.ReLU())
    x = torch.cat([x_in(), -x_in(), torch.randn(2, 1, 3, 3, generator=torch.Generator().manual_seed(0))])
    ours = guided_backprop(net, x, "2", 0, (0, 0))
    ref = NeuronGuidedBackprop(net, net[2]).attribute(x, (0, 0, 0))
    assert torch.allclose(ours, ref)
    # the guided rule does not depend on the forward slope: same map as the LeakyReLU net
    assert torch.allclose(ours[:1], torch.tensor(GUIDED).reshape(1, 1, 3, 3))
    # at an activation layer itself, with per-image argmax
    ours_act = guided_backprop(net, x, "1", 1)
    ref_act = NeuronGuidedBackprop(net, net[1]).attribute(x, lambda t: t[:, 1].flatten(1).max(1).values)
    assert torch.allclose(ours_act, ref_act)


def test_inplace_same_as_out_of_place_and_flag_restored():
    x = torch.randn(3, 1, 3, 3, generator=torch.Generator().manual_seed(2))
    net = tiny_net(nn.LeakyReLU(0.2))
    net_ip = tiny_net(nn.LeakyReLU(0.2, inplace=True))
    for layer, ch in [("2", 0), ("1", 0), ("1", 1)]:
        assert torch.equal(guided_backprop(net, x, layer, ch), guided_backprop(net_ip, x, layer, ch))
    assert net_ip[1].inplace is True and net[1].inplace is False


def test_no_leaks_after_errors(monkeypatch):
    net = tiny_net(nn.LeakyReLU(0.2, inplace=True)).train()
    x = x_in()
    with pytest.raises(IndexError, match="channel 3 out of range"):
        guided_backprop(net, x, "1", 3)
    with pytest.raises(IndexError, match="outside layer"):
        guided_backprop(net, x, "1", 0, (5, 0))

    def boom(ctx, grad_out):
        raise RuntimeError("boom in backward")

    monkeypatch.setattr(gb_mod._GuidedGrad, "backward", staticmethod(boom))
    with pytest.raises(RuntimeError, match="boom in backward"):
        guided_backprop(net, x, "2", 0)
    assert clean(net)
    assert all(m.training for m in net.modules())
    assert net[1].inplace is True
    assert not x.requires_grad and x.grad is None
    with pytest.raises(Exception, match="Layers: \\['0', '1', '2'\\]"):
        guided_backprop(net, x, "nope", 0)


def test_max_responses():
    net = tiny_net(nn.LeakyReLU(0.2))
    x = torch.cat([x_in(), -x_in()])
    values, locs = max_responses(net, x, "1")
    assert values.shape == (2, 2) and locs.shape == (2, 2, 2)
    # image 0: pre0 = [[2, 1], [-2, 2]] -> max 2 first at (0, 0); pre1 = [[2, -1], [-1, 1]] -> 2 at (0, 0)
    # image 1 (negated): leaky(-pre0) = [[-.4, -.2], [2, -.4]] -> 2 at (1, 0); leaky(-pre1) -> 1 at (0, 1)
    assert torch.allclose(values, torch.tensor([[2.0, 2.0], [2.0, 1.0]]))
    assert locs.tolist() == [[[0, 0], [0, 0]], [[1, 0], [0, 1]]]


def test_discriminator_last_conv():
    torch.manual_seed(0)
    D = Discriminator(ModelConfig.from_preset("examples", 32, ngf=4, ndf=4)).train()
    x = torch.randn(3, 3, 32, 32)
    values, locs = max_responses(D, x, "last_conv")
    c = int(values.mean(0).argmax())
    out = guided_backprop(D, x, "last_conv", c)
    assert out.shape == x.shape and torch.isfinite(out).all() and out.abs().sum() > 0
    # argmax is per image: each row equals the map for that image's own max location
    for i in range(3):
        y, xx = locs[i, c].tolist()
        single = guided_backprop(D, x[i : i + 1], "last_conv", c, (y, xx))
        assert torch.allclose(out[i : i + 1], single, atol=1e-6)
    plain = NeuronGuidedBackprop(D.eval(), D.get_layer("last_conv")).attribute(
        x[:1], (c, *locs[0, c].tolist())
    )
    D.train()
    assert not torch.allclose(out[:1], plain)
    assert clean(D) and all(m.training for m in D.modules())


def test_pytorch_example_style_sequential_d():
    torch.manual_seed(0)
    D = nn.Sequential(
        nn.Conv2d(3, 4, 4, 2, 1, bias=False),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(4, 8, 4, 2, 1, bias=False),
        nn.BatchNorm2d(8),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(8, 1, 8, 1, 0, bias=False),
        nn.Sigmoid(),
    )
    D_oop = copy.deepcopy(D)
    for m in D_oop.modules():
        if isinstance(m, nn.LeakyReLU):
            m.inplace = False
    x = torch.randn(2, 3, 32, 32)
    out = guided_backprop(D, x, "4", 2)
    assert torch.equal(out, guided_backprop(D_oop, x, "4", 2))
    assert out.shape == x.shape and out.abs().sum() > 0
    assert D[1].inplace and D[4].inplace and clean(D)
