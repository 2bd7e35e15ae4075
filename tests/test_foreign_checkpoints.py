"""Foreign checkpoints: pytorch/examples dcgan and the authors' Theano parameters.

Each loader is checked against an independent reference forward pass:

* PyTorch example: the example's own ``nn.Sequential`` (copied below), randomised including the
  batch-norm running statistics, saved with ``torch.save(state_dict)``.
* Theano: a NumPy forward written from the Theano code's semantics, with TRUE convolutions from
  ``scipy.signal.convolve2d`` and the deconvolution computed literally as the gradient (adjoint)
  of that true convolution (an explicit matrix), so it shares nothing with the loader's flip.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.signal import convolve2d
from torch import nn

from interp.io.foreign import CheckpointFormatError, detect_format, load_pytorch_example, load_theano

NZ, NGF, NDF, NC = 5, 4, 3, 3


# ---------------------------------------------------------------------------------------------
# Reference: pytorch/examples dcgan/main.py networks (64×64 verbatim; 32×32 = one block fewer)
# ---------------------------------------------------------------------------------------------


class ExampleG(nn.Module):
    def __init__(self, nz: int, ngf: int, nc: int, size: int = 64) -> None:
        super().__init__()
        if size == 64:
            self.main = nn.Sequential(
                nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
                nn.BatchNorm2d(ngf * 8),
                nn.ReLU(True),
                nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf * 4),
                nn.ReLU(True),
                nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf * 2),
                nn.ReLU(True),
                nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf),
                nn.ReLU(True),
                nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
                nn.Tanh(),
            )
        else:
            self.main = nn.Sequential(
                nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False),
                nn.BatchNorm2d(ngf * 4),
                nn.ReLU(True),
                nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf * 2),
                nn.ReLU(True),
                nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ngf),
                nn.ReLU(True),
                nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
                nn.Tanh(),
            )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z)


class ExampleD(nn.Module):
    def __init__(self, ndf: int, nc: int, size: int = 64) -> None:
        super().__init__()
        if size == 64:
            self.main = nn.Sequential(
                nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ndf * 2),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ndf * 4),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ndf * 8),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),
                nn.Sigmoid(),
            )
        else:
            self.main = nn.Sequential(
                nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ndf * 2),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ndf * 4),
                nn.LeakyReLU(0.2, inplace=True),
                nn.Conv2d(ndf * 4, 1, 4, 1, 0, bias=False),
                nn.Sigmoid(),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x).view(-1, 1).squeeze(1)


def randomise(net: nn.Module, seed: int) -> nn.Module:
    """Random weights AND batch-norm running statistics, so every tensor's placement matters."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
                module.weight.copy_(torch.randn(module.weight.shape, generator=gen) * 0.2)
            elif isinstance(module, nn.BatchNorm2d):
                c = module.num_features
                module.weight.copy_(0.5 + torch.rand(c, generator=gen))
                module.bias.copy_(0.3 * torch.randn(c, generator=gen))
                module.running_mean.copy_(0.3 * torch.randn(c, generator=gen))
                module.running_var.copy_(0.5 + torch.rand(c, generator=gen))
                module.num_batches_tracked.fill_(17)
    return net.eval()


def save_pair(tmp_path: Path, size: int = 64, epoch: int = 3) -> tuple[ExampleG, ExampleD, Path, Path]:
    net_g = randomise(ExampleG(NZ, NGF, NC, size), 1)
    net_d = randomise(ExampleD(NDF, NC, size), 2)
    g_path, d_path = tmp_path / f"netG_epoch_{epoch}.pth", tmp_path / f"netD_epoch_{epoch}.pth"
    torch.save(net_g.state_dict(), g_path)
    torch.save(net_d.state_dict(), d_path)
    return net_g, net_d, g_path, d_path


def assert_g_matches(ours: nn.Module, theirs: ExampleG, size: int = 64) -> None:
    z = torch.randn(6, NZ, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        expected = theirs(z[:, :, None, None])
        got = ours(z)
    assert got.shape == (6, NC, size, size)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


def assert_d_matches(ours: nn.Module, theirs: ExampleD, size: int = 64) -> None:
    x = torch.rand(6, NC, size, size, generator=torch.Generator().manual_seed(6)) * 2 - 1
    with torch.no_grad():
        expected = theirs(x)
        got = torch.sigmoid(ours(x))
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


# ---------------------------------------------------------------------------------------------
# PyTorch example: loading
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["G", "D"])
def test_example_pair_loads_from_either_file(tmp_path: Path, which: str) -> None:
    net_g, net_d, g_path, d_path = save_pair(tmp_path)
    gen, disc, meta = load_pytorch_example(g_path if which == "G" else d_path)
    assert gen is not None and disc is not None
    assert not gen.training and not disc.training
    cfg = meta["config"]
    assert meta["format"] == "pytorch_example" and meta["epoch"] == 3
    assert meta["files"] == {"G": str(g_path), "D": str(d_path)}
    assert (cfg["image_size"], cfg["nz"], cfg["ngf"], cfg["ndf"], cfg["nc"]) == (64, NZ, NGF, NDF, NC)
    assert (cfg["kernel_size"], cfg["projection"], cfg["z_distribution"], cfg["d_head"]) == (
        4, "conv", "normal", "conv"
    )
    assert_g_matches(gen, net_g)
    assert_d_matches(disc, net_d)


def test_example_32x32_variant(tmp_path: Path) -> None:
    net_g, net_d, g_path, _ = save_pair(tmp_path, size=32)
    gen, disc, meta = load_pytorch_example(g_path)
    assert meta["config"]["image_size"] == 32
    assert_g_matches(gen, net_g, 32)
    assert_d_matches(disc, net_d, 32)


def test_example_without_sibling_loads_one(tmp_path: Path) -> None:
    net_g, _, g_path, d_path = save_pair(tmp_path)
    d_path.unlink()
    gen, disc, meta = load_pytorch_example(g_path)
    assert disc is None and set(meta["files"]) == {"G"}
    assert_g_matches(gen, net_g)


def test_example_nested_and_dataparallel(tmp_path: Path) -> None:
    net_g = randomise(ExampleG(NZ, NGF, NC), 1)
    net_d = randomise(ExampleD(NDF, NC), 2)
    g_sd = {f"module.{k}": v for k, v in net_g.state_dict().items()}
    g_path, d_path = tmp_path / "netG_epoch_7.pth", tmp_path / "netD_epoch_7.pth"
    torch.save({"epoch": 7, "netG_state_dict": g_sd, "optimizer": {"lr": 2e-4}}, g_path)
    torch.save({"state_dict": net_d.state_dict()}, d_path)
    gen, disc, meta = load_pytorch_example(d_path)
    assert meta["sources"]["G"]["nested_key"] == "netG_state_dict"
    assert meta["sources"]["G"]["dataparallel"] is True
    assert_g_matches(gen, net_g)
    assert_d_matches(disc, net_d)


def test_example_combined_file(tmp_path: Path) -> None:
    net_g = randomise(ExampleG(NZ, NGF, NC), 1)
    net_d = randomise(ExampleD(NDF, NC), 2)
    path = tmp_path / "checkpoint.pt"
    torch.save({"generator": net_g.state_dict(), "discriminator": net_d.state_dict()}, path)
    gen, disc, _ = load_pytorch_example(path)
    assert_g_matches(gen, net_g)
    assert_d_matches(disc, net_d)


def test_example_old_checkpoint_without_num_batches_tracked(tmp_path: Path) -> None:
    net_g = randomise(ExampleG(NZ, NGF, NC), 1)
    sd = {k: v for k, v in net_g.state_dict().items() if not k.endswith("num_batches_tracked")}
    torch.save(sd, tmp_path / "netG.pth")
    gen, _, _ = load_pytorch_example(tmp_path / "netG.pth")
    assert_g_matches(gen, net_g)


# ---------------------------------------------------------------------------------------------
# PyTorch example: errors
# ---------------------------------------------------------------------------------------------


def _load_error(path: Path) -> str:
    with pytest.raises(CheckpointFormatError) as info:
        load_pytorch_example(path)
    return str(info.value)


@pytest.mark.parametrize("content", [bytes(range(7, 256)) * 16, b"this is a text file\nnot a checkpoint\n"])
def test_not_a_checkpoint(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "netG_epoch_1.pth"
    path.write_bytes(content)
    message = _load_error(path)
    assert str(path) in message
    assert detect_format(path) is None


def test_missing_key(tmp_path: Path) -> None:
    net_g = randomise(ExampleG(NZ, NGF, NC), 1)
    sd = net_g.state_dict()
    del sd["main.4.running_var"]
    torch.save(sd, tmp_path / "netG_epoch_1.pth")
    message = _load_error(tmp_path / "netG_epoch_1.pth")
    assert "netG_epoch_1.pth" in message and "main.4.running_var" in message


def test_wrong_kernel_size(tmp_path: Path) -> None:
    sd = randomise(ExampleG(NZ, NGF, NC), 1).state_dict()
    sd["main.3.weight"] = torch.randn(NGF * 8, NGF * 4, 3, 3)
    torch.save(sd, tmp_path / "netG_epoch_1.pth")
    message = _load_error(tmp_path / "netG_epoch_1.pth")
    assert "main.3.weight" in message
    assert str((NGF * 8, NGF * 4, 4, 4)) in message and str((NGF * 8, NGF * 4, 3, 3)) in message


def test_mismatched_channels_between_layers(tmp_path: Path) -> None:
    sd = randomise(ExampleD(NDF, NC), 1).state_dict()
    sd["main.5.weight"] = torch.randn(NDF * 4, NDF * 2 + 1, 4, 4)  # conv3 expects 2·ndf inputs
    torch.save(sd, tmp_path / "netD_epoch_1.pth")
    message = _load_error(tmp_path / "netD_epoch_1.pth")
    assert "main.5.weight" in message
    assert str((NDF * 4, NDF * 2, 4, 4)) in message and str((NDF * 4, NDF * 2 + 1, 4, 4)) in message


def test_unexpected_key(tmp_path: Path) -> None:
    sd = randomise(ExampleG(NZ, NGF, NC), 1).state_dict()
    sd["main.13.bias"] = torch.zeros(NC)
    torch.save(sd, tmp_path / "netG.pth")
    assert "main.13.bias" in _load_error(tmp_path / "netG.pth")


def test_missing_last_layer(tmp_path: Path) -> None:
    sd = randomise(ExampleG(NZ, NGF, NC), 1).state_dict()
    del sd["main.12.weight"]
    torch.save(sd, tmp_path / "netG.pth")
    assert "main.12.weight" in _load_error(tmp_path / "netG.pth")


class _Payload:
    """Unpickling this would run a shell command that creates ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204
        return (os.system, (f"touch {shlex.quote(str(self.marker))}",))


@pytest.mark.parametrize("nested", [False, True])
def test_pickled_object_is_refused_and_not_executed(tmp_path: Path, nested: bool) -> None:
    marker = tmp_path / "payload_ran"
    path = tmp_path / "netG_epoch_1.pth"
    if nested:
        sd = dict(randomise(ExampleG(NZ, NGF, NC), 1).state_dict())
        sd["main.0.weight"] = _Payload(marker)  # type: ignore[assignment]
        torch.save(sd, path)
    else:
        torch.save(_Payload(marker), path)
    assert not marker.exists()
    message = _load_error(path)
    assert "not a plain state dict" in message and str(path) in message
    assert detect_format(path) == "pytorch_example"  # a torch.save file, by its first bytes
    # load_gan says what happened (refused pickle), not "not a readable safetensors file"
    from interp.io.checkpoint import load_gan

    with pytest.raises(ValueError) as info:
        load_gan(path)
    assert "refused" in str(info.value) and "safetensors" not in str(info.value)
    assert not marker.exists(), "the pickled payload was executed"


# ---------------------------------------------------------------------------------------------
# Reference: the Theano code's forward pass, literally (NumPy float64 + scipy true convolution)
# ---------------------------------------------------------------------------------------------


def true_conv(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """dnn_conv(x, w, subsample=2, border_mode=2): TRUE convolution. x (N,Ci,H,W), w (Co,Ci,5,5)."""
    xp = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)))
    n, ci, h, wd = x.shape
    out = np.zeros((n, w.shape[0], h // 2, wd // 2))
    for i in range(n):
        for o in range(w.shape[0]):
            for c in range(ci):
                out[i, o] += convolve2d(xp[i, c], w[o, c], mode="valid")[::2, ::2]
    return out


def theano_deconv(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """deconv(x, w, subsample=2, border_mode=2) = gradient of true_conv w.r.t. its input.

    x (N, Ci, h, w), w (Ci, Co, 5, 5) -> (N, Co, 2h, 2w). Built as the transpose of true_conv's
    explicit matrix (true_conv applied to every basis image), so no kernel flip is involved.
    """
    n, ci, h, wd = x.shape
    co = w.shape[1]
    dim = co * 4 * h * wd
    basis = np.eye(dim).reshape(dim, co, 2 * h, 2 * wd)
    forward_t = true_conv(basis, w).reshape(dim, ci * h * wd)  # row j = true_conv(e_j)
    return (x.reshape(n, -1) @ forward_t.T).reshape(n, co, 2 * h, 2 * wd)


def theano_bn(x: np.ndarray, g: np.ndarray, b: np.ndarray, e: float = 1e-8) -> np.ndarray:
    """lib/ops.batchnorm without running stats: biased batch variance, over spatial axes for 4-D."""
    if x.ndim == 4:
        u = x.mean(axis=(0, 2, 3), keepdims=True)
        s = ((x - u) ** 2).mean(axis=(0, 2, 3), keepdims=True)
        return (x - u) / np.sqrt(s + e) * g[None, :, None, None] + b[None, :, None, None]
    u = x.mean(axis=0)
    s = ((x - u) ** 2).mean(axis=0)
    return (x - u) / np.sqrt(s + e) * g + b


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)


def lrelu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, 0.2 * x)


def theano_gen(z: np.ndarray, p: list[np.ndarray]) -> np.ndarray:
    h = relu(theano_bn(z @ p[0], p[1], p[2]))
    h = h.reshape(h.shape[0], p[3].shape[0], 4, 4)
    for i in range(3, len(p) - 1, 3):
        h = relu(theano_bn(theano_deconv(h, p[i]), p[i + 1], p[i + 2]))
    return np.tanh(theano_deconv(h, p[-1]))


def theano_discrim(x: np.ndarray, p: list[np.ndarray]) -> np.ndarray:
    h = lrelu(true_conv(x, p[0]))
    for i in range(1, len(p) - 1, 3):
        h = lrelu(theano_bn(true_conv(h, p[i]), p[i + 1], p[i + 2]))
    return 1 / (1 + np.exp(-(h.reshape(h.shape[0], -1) @ p[-1])))[:, 0]


# Tiny 32×32 layout: nz=3, G widths 4,2,1 (ngf=1), D widths 1,2,4 (ndf=1), nc=2.
T_NZ, T_NC = 3, 2


def theano_params(seed: int = 0, nc: int = T_NC) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(seed)

    def w(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.5).astype(np.float32)

    def gb(c: int) -> list[np.ndarray]:
        return [(0.5 + rng.random(c)).astype(np.float32), (0.3 * rng.standard_normal(c)).astype(np.float32)]

    gen = [w(T_NZ, 4 * 16), *gb(4 * 16), w(4, 2, 5, 5), *gb(2), w(2, 1, 5, 5), *gb(1), w(1, nc, 5, 5)]
    dis = [w(1, nc, 5, 5), w(2, 1, 5, 5), *gb(2), w(4, 2, 5, 5), *gb(4), w(4 * 16, 1) * 0.2]
    return gen, dis


def write_theano(directory: Path, prefix: str, gen: list[np.ndarray], dis: list[np.ndarray],
                 start: int = 0, width: int = 2) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for role, arrays in (("gen", gen), ("discrim", dis)):
        for i, array in enumerate(arrays):
            np.save(directory / f"{prefix}_{role}_params.jl_{i + start:0{width}d}.npy", array)


@pytest.fixture(scope="module")
def theano_reference() -> dict[str, np.ndarray]:
    """Parameters plus reference outputs of the literal Theano forward (computed once)."""
    gen, dis = theano_params()
    rng = np.random.default_rng(1)
    z = rng.uniform(-1, 1, (5, T_NZ)).astype(np.float32)
    x = rng.uniform(-1, 1, (5, T_NC, 32, 32)).astype(np.float32)
    return dict(gen=gen, dis=dis, z=z, x=x,
                images=theano_gen(z.astype(np.float64), [p.astype(np.float64) for p in gen]),
                probs=theano_discrim(x.astype(np.float64), [p.astype(np.float64) for p in dis]))


def _check_theano_models(gen: nn.Module, disc: nn.Module, ref: dict) -> None:
    with torch.no_grad():
        images = gen(torch.from_numpy(ref["z"])).double().numpy()
        probs = torch.sigmoid(disc(torch.from_numpy(ref["x"]))).double().numpy()
    assert images.shape == (5, T_NC, 32, 32)
    np.testing.assert_allclose(images, ref["images"], atol=1e-4, rtol=0)
    np.testing.assert_allclose(probs, ref["probs"], atol=1e-4, rtol=0)


# ---------------------------------------------------------------------------------------------
# Theano: loading
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("start,width,entry", [(0, 2, "dir"), (1, 2, "file"), (0, 1, "prefix"),
                                               (1, 1, "jl")])
def test_theano_matches_reference(tmp_path: Path, theano_reference: dict, start: int, width: int,
                                  entry: str) -> None:
    write_theano(tmp_path / "svhn", "30", theano_reference["gen"], theano_reference["dis"], start, width)
    target = {
        "dir": tmp_path / "svhn",
        "file": tmp_path / "svhn" / f"30_discrim_params.jl_{start + 3:0{width}d}.npy",
        "prefix": tmp_path / "svhn" / "30",
        "jl": tmp_path / "svhn" / "30_gen_params.jl",
    }[entry]
    assert detect_format(target) == "theano"
    gen, disc, meta = load_theano(target)
    assert not gen.training and not disc.training
    cfg = meta["config"]
    assert meta["format"] == "theano" and meta["first_index"] == {"G": start, "D": start}
    assert (cfg["image_size"], cfg["nz"], cfg["ngf"], cfg["ndf"], cfg["nc"]) == (32, T_NZ, 1, 1, T_NC)
    assert (cfg["kernel_size"], cfg["projection"], cfg["z_distribution"], cfg["d_head"]) == (
        5, "dense", "uniform", "dense"
    )
    assert cfg["bn_batch_stats"] is True and cfg["bn_eps"] == 1e-8
    _check_theano_models(gen, disc, theano_reference)


def test_theano_reference_detects_an_unflipped_kernel(tmp_path: Path, theano_reference: dict) -> None:
    """The reference is sensitive to the flip: loading kernels as cross-correlation would fail."""
    write_theano(tmp_path, "p", theano_reference["gen"], theano_reference["dis"])
    gen, disc, _ = load_theano(tmp_path)
    with torch.no_grad():
        gen.out.conv.weight.copy_(gen.out.conv.weight.flip(-2, -1))
        disc.conv1.conv.weight.copy_(disc.conv1.conv.weight.flip(-2, -1))
        images = gen(torch.from_numpy(theano_reference["z"])).double().numpy()
        probs = torch.sigmoid(disc(torch.from_numpy(theano_reference["x"]))).double().numpy()
    assert np.abs(images - theano_reference["images"]).max() > 1e-2
    assert np.abs(probs - theano_reference["probs"]).max() > 1e-3


def test_theano_64x64_layout(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    nz, nc = 4, 3
    g_widths, d_widths = [8, 4, 2, 1], [1, 2, 4, 8]
    gen = [rng.standard_normal((nz, 8 * 16)), np.ones(8 * 16), np.zeros(8 * 16)]
    for a, b in zip(g_widths, g_widths[1:], strict=False):
        gen += [rng.standard_normal((a, b, 5, 5)), np.ones(b), np.zeros(b)]
    gen.append(rng.standard_normal((1, nc, 5, 5)))
    dis = [rng.standard_normal((1, nc, 5, 5))]
    for a, b in zip(d_widths, d_widths[1:], strict=False):
        dis += [rng.standard_normal((b, a, 5, 5)), np.ones(b), np.zeros(b)]
    dis.append(rng.standard_normal((8 * 16, 1)))
    write_theano(tmp_path, "lsun", gen, dis)
    g, d, meta = load_theano(tmp_path / "lsun_gen_params.jl_00.npy")
    assert meta["config"]["image_size"] == 64 and (meta["config"]["nz"], meta["config"]["nc"]) == (nz, nc)
    with torch.no_grad():
        images = g(torch.rand(4, nz) * 2 - 1)
        assert images.shape == (4, nc, 64, 64)
        assert d(images).shape == (4,)


def test_theano_generator_only(tmp_path: Path, theano_reference: dict) -> None:
    write_theano(tmp_path, "p", theano_reference["gen"], [])
    gen, disc, meta = load_theano(tmp_path / "p")
    assert disc is None and set(meta["files"]) == {"G"}
    with torch.no_grad():
        images = gen(torch.from_numpy(theano_reference["z"])).numpy()
    np.testing.assert_allclose(images, theano_reference["images"], atol=1e-4, rtol=0)


# ---------------------------------------------------------------------------------------------
# Theano: errors
# ---------------------------------------------------------------------------------------------


def _theano_error(path: Path) -> str:
    with pytest.raises(CheckpointFormatError) as info:
        load_theano(path)
    return str(info.value)


def test_theano_missing_numbered_file(tmp_path: Path, theano_reference: dict) -> None:
    write_theano(tmp_path, "p", theano_reference["gen"], theano_reference["dis"])
    (tmp_path / "p_gen_params.jl_03.npy").unlink()
    assert "p_gen_params.jl_03.npy" in _theano_error(tmp_path)


@pytest.mark.parametrize("number", ["00", "07"])
def test_theano_missing_first_or_last_file(tmp_path: Path, theano_reference: dict, number: str) -> None:
    """A gap at either end cannot be seen in the numbering; the file count gives it away."""
    write_theano(tmp_path, "p", theano_reference["gen"], theano_reference["dis"])
    (tmp_path / f"p_discrim_params.jl_{number}.npy").unlink()
    assert f"p_discrim_params.jl_{number}.npy" in _theano_error(tmp_path)


def test_theano_wrong_rank(tmp_path: Path, theano_reference: dict) -> None:
    write_theano(tmp_path, "p", theano_reference["gen"], theano_reference["dis"])
    np.save(tmp_path / "p_gen_params.jl_04.npy", np.ones((2, 1), np.float32))  # g should be (2,)
    message = _theano_error(tmp_path)
    assert "p_gen_params.jl_04.npy" in message and "(2, 1)" in message and "(2,)" in message


def test_theano_wrong_shape(tmp_path: Path, theano_reference: dict) -> None:
    gen, dis = theano_reference["gen"], list(theano_reference["dis"])
    dis[1] = np.ones((2, 1, 3, 3), np.float32)
    write_theano(tmp_path, "p", gen, dis)
    message = _theano_error(tmp_path)
    assert "p_discrim_params.jl_01.npy" in message and "(2, 1, 5, 5)" in message
    assert "(2, 1, 3, 3)" in message


def test_theano_not_an_array(tmp_path: Path, theano_reference: dict) -> None:
    write_theano(tmp_path, "p", theano_reference["gen"], theano_reference["dis"])
    (tmp_path / "p_gen_params.jl_02.npy").write_bytes(b"not numpy")
    assert "p_gen_params.jl_02.npy" in _theano_error(tmp_path)


def test_theano_nothing_there(tmp_path: Path) -> None:
    assert "p_gen_params" in _theano_error(tmp_path / "p")
    assert detect_format(tmp_path / "p") is None


def test_detect_format_example(tmp_path: Path) -> None:
    _, _, g_path, _ = save_pair(tmp_path)
    assert detect_format(g_path) == "pytorch_example"


def test_load_gan_dispatches_to_foreign_formats(tmp_path: Path, theano_reference: dict) -> None:
    """The one loader analyses use reads both foreign formats too."""
    from interp.io.checkpoint import load_gan

    G_ref, D_ref, g_path, _ = save_pair(tmp_path, size=64)
    loaded = load_gan(g_path)
    assert loaded.config.preset == "examples" and loaded.G is not None and loaded.D is not None
    assert_g_matches(loaded.G, G_ref)
    gen, dis = theano_params()
    write_theano(tmp_path / "theano", "svhn", gen, dis)
    theano = load_gan(next((tmp_path / "theano").glob("*gen_params*")))
    assert theano.config.preset == "paper" and theano.config.bn_batch_stats


def test_z_law_of_a_foreign_checkpoint_can_be_given_but_not_contradicted(tmp_path: Path) -> None:
    """The authors' SVHN G has the paper architecture (uniform z guessed) but Gaussian z: --z normal says
    so, and samples change accordingly; an interp checkpoint records its z law, so --z may not contradict it."""
    from interp.core.latent import sample_z
    from interp.io.checkpoint import CheckpointError, load_gan, save_checkpoint, with_z_distribution

    gen, dis = theano_params(nc=3)
    write_theano(tmp_path / "authors", "svhn", gen, dis)
    g_file = next((tmp_path / "authors").glob("svhn_gen_params*"))
    gan = load_gan(g_file)
    assert gan.config.z_distribution == "uniform"
    normal = with_z_distribution(gan, "normal")
    assert normal.config.z_distribution == "normal" and normal.G is not None and normal.G.cfg.z_distribution == "normal"
    z = sample_z(64, normal.config, seed=0)
    assert z.abs().max() > 1.0  # Gaussian, not U[-1, 1]
    assert normal.meta["z_distribution_given"] == "normal"
    assert normal.D is not None
    native = save_checkpoint(tmp_path / "native", normal.G, normal.D, normal.config, {"epoch": 1})
    with pytest.raises(CheckpointError, match="--z uniform"):
        with_z_distribution(load_gan(native), "uniform")


@pytest.mark.slow
def test_a_pytorch_example_pair_goes_through_every_figure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`interp figures --all --checkpoint netG_epoch_3.pth`: every figure draws THAT model (its D found
    beside it), each metrics section names the file, nothing falls back to a default model, and the
    numbers that need an instrument of the model's world are null with a note (the file does not say
    what it was trained on)."""
    from interp.cli.figures import main
    from interp.figures import list_figures, read_metrics

    _, _, g_path, _ = save_pair(tmp_path, size=64, epoch=3)
    out = tmp_path / "figs"
    env_guard = {k: os.environ.get(k) for k in ("INTERP_QUICK_ROOMS_RUN", "INTERP_QUICK_FACES_RUN")}
    os.environ["INTERP_QUICK_ROOMS_RUN"] = os.environ["INTERP_QUICK_FACES_RUN"] = str(tmp_path / "no-default-model")
    try:
        code = main(["--all", "--quick", "--checkpoint", str(g_path), "--out", str(out), "--no-progress"])
    finally:
        for k, v in env_guard.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert not (tmp_path / "no-default-model").exists()
    m = read_metrics(out / "metrics.json")
    assert set(m) == set(list_figures())
    for name, section in m.items():
        assert section["checkpoint"] == str(g_path), name
        assert f"  model: {g_path}" in printed.out
    assert m["fig2"]["fd"] is None and m["fig2"]["note"]
    assert m["fig7"]["success"] is None and m["fig8"]["spearman"] is None
    assert m["fig2"]["epoch"] == 3 and m["fig4"]["max_step_ratio"] >= 1.0
    # drawn where there is something to draw; Fig. 6 (no boxes), memorisation (no reference images) and
    # table1 (no labels) say why not in their notes
    assert {p.name for p in out.glob("*.png")} == {
        "fig2_samples_epoch1.png", "fig3_samples_epoch5.png", "fig4_latent_walk.png", "fig5_guided_backprop.png",
        "fig7_sample_sheet.png", "fig8_sample_sheet.png"}
    for name in ("fig6", "memorization", "table1"):
        assert m[name]["note"], name
