"""Training throughput (images/second): interp's path vs the PyTorch-example way, side by side.

* ``interp``: pre-decoded uint8 data (on the GPU when it fits), bf16 autocast on CUDA, channels_last
  (``--no-channels-last`` to compare), optional ``--compile``: exactly the trainer's step (``Trainer._train_step``).
* ``plain``: an eager fp32 loop fed by a ``DataLoader`` that decodes image files with PIL on
  the CPU for every batch (the way pytorch/examples' dcgan/main.py trains via ImageFolder).

Both train the same architecture with the same optimiser; the image files for the plain loop
are written once into a temporary folder (PNG) from the embedded data.

    python bench/train_throughput.py --preset examples --size 64 --batch 128 --steps 30
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from interp.core.models import build_gan
from interp.data import open_dataset
from interp.train.trainer import TrainConfig, Trainer, resolve_device


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_interp(images: np.ndarray, args: argparse.Namespace, out: Path) -> float:
    cfg = TrainConfig(data=args.data, preset=args.preset, image_size=args.size, batch_size=args.batch, ngf=args.ngf, ndf=args.ndf,
                      out=str(out), progress=False, tensorboard=False, compile=args.compile,
                      amp=args.amp, device=args.device, channels_last=args.channels_last)
    trainer = Trainer(cfg, images)
    source, device = trainer.source, trainer.device
    z_gen = torch.Generator(device=device).manual_seed(0)
    perm = source.permutation(0)

    def step(i: int) -> None:
        real = source.batch(perm, i % source.steps_per_epoch)
        z = torch.randn(args.batch, trainer.model_cfg.nz, generator=z_gen, device=device)
        trainer._train_step(real, z)

    for i in range(args.warmup):
        step(i)
    _sync(device)
    t0 = time.perf_counter()
    for i in range(args.steps):
        step(i)
    _sync(device)
    return args.steps * args.batch / (time.perf_counter() - t0)


class _PngFolder(torch.utils.data.Dataset):
    """Decode a PNG per item on the CPU, centre-crop/resize and normalise: ImageFolder-style."""

    def __init__(self, files: list[Path], size: int) -> None:
        self.files, self.size = files, size

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> torch.Tensor:
        img = Image.open(self.files[i]).convert("RGB").resize((self.size, self.size), Image.BICUBIC)
        x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 127.5 - 1.0)
        return x.permute(2, 0, 1)


def bench_plain(images: np.ndarray, args: argparse.Namespace, folder: Path) -> float:
    device = resolve_device(args.device)
    files = []
    for i, img in enumerate(images):
        path = folder / f"{i:06d}.png"
        Image.fromarray(img.transpose(1, 2, 0)).save(path)
        files.append(path)
    loader = torch.utils.data.DataLoader(
        _PngFolder(files, args.size), batch_size=args.batch, shuffle=True, drop_last=True,
        num_workers=args.workers, pin_memory=device.type == "cuda", persistent_workers=args.workers > 0,
    )
    cfg = TrainConfig(preset=args.preset, image_size=args.size, ngf=args.ngf, ndf=args.ndf).model_config()
    G, D = (m.to(device) for m in build_gan(cfg))
    optG = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optD = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))

    def batches():
        while True:
            yield from loader

    it = batches()

    def step() -> None:
        real = next(it).to(device)
        z = torch.randn(args.batch, cfg.nz, device=device)
        optD.zero_grad()
        fake = G(z)
        out_r, out_f = D(real), D(fake.detach())
        loss_d = F.binary_cross_entropy_with_logits(out_r, torch.ones_like(out_r)) + \
            F.binary_cross_entropy_with_logits(out_f, torch.zeros_like(out_f))
        loss_d.backward()
        optD.step()
        optG.zero_grad()
        out_g = D(fake)
        F.binary_cross_entropy_with_logits(out_g, torch.ones_like(out_g)).backward()
        optG.step()

    for _ in range(args.warmup):
        step()
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    _sync(device)
    return args.steps * args.batch / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="shapes", help="embedded dataset to train on (default shapes)")
    p.add_argument("--preset", default="examples", choices=["examples", "paper"])
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=20, help="timed steps per path")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--images", type=int, default=4096, help="dataset size")
    p.add_argument("--ngf", type=int, help="generator width (preset default)")
    p.add_argument("--ndf", type=int, help="discriminator width (preset default)")
    p.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1), help="DataLoader workers of the plain loop")
    p.add_argument("--device", default="auto")
    p.add_argument("--amp", default="auto", choices=["auto", "bf16", "none"])
    p.add_argument("--compile", action="store_true")
    p.add_argument("--channels-last", dest="channels_last", action="store_const", const=True,
                   help="channels_last memory format (default: the trainer's, on CUDA and CPU)")
    p.add_argument("--no-channels-last", dest="channels_last", action="store_const", const=False)
    p.add_argument("--only", choices=["interp", "plain"], help="run one path only")
    args = p.parse_args()
    images = open_dataset(args.data, image_size=args.size, n=args.images).uint8_images()[: args.images]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "interp"):
            results["interp_images_per_s"] = bench_interp(np.asarray(images), args, Path(tmp) / "run")
        if args.only in (None, "plain"):
            (Path(tmp) / "png").mkdir()
            results["plain_images_per_s"] = bench_plain(np.asarray(images), args, Path(tmp) / "png")
    if len(results) == 2:
        results["speedup"] = results["interp_images_per_s"] / results["plain_images_per_s"]
    device = resolve_device(args.device)
    info = {
        "hardware": torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({os.cpu_count()} cores, {platform.processor() or platform.machine()})",
        "torch": torch.__version__, "threads": torch.get_num_threads(),
        **{k: v for k, v in vars(args).items() if k not in ("only",)},
    }
    print(json.dumps({**info, **{k: round(v, 2) for k, v in results.items()}}, indent=2))


if __name__ == "__main__":
    main()
