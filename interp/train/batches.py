"""Training batches from a decoded uint8 image array, in a seeded, resumable order.

The whole uint8 array (N, 3, S, S) lives on the GPU when it fits (a 64×64 image is 12 KiB, so
100k images are 1.2 GB), otherwise in (memory-mapped) host memory; each batch is gathered,
moved and converted to float in [-1, 1] on the training device. The order of epoch ``e`` is a
permutation drawn from ``(seed, e)`` alone, so a resumed run sees exactly the batches an
uninterrupted run would have seen.
"""

from __future__ import annotations

import numpy as np
import torch

#: Keep at most this share of free GPU memory for the dataset.
GPU_DATA_FRACTION = 0.4


class BatchSource:
    """Seeded epoch permutations over a uint8 image array; batches as float tensors on ``device``.

    In a distributed run each of ``world_size`` ranks takes its own slice of every global batch.
    """

    def __init__(
        self,
        images: np.ndarray,
        batch_size: int,
        seed: int,
        device: torch.device,
        *,
        rank: int = 0,
        world_size: int = 1,
        channels_last: bool = False,
        keep_on_device: bool | None = None,
    ) -> None:
        if images.ndim != 4 or images.dtype != np.uint8:
            raise ValueError(f"expected uint8 images (N, C, S, S), got {images.dtype} {images.shape}")
        if batch_size % world_size:
            raise ValueError(f"batch size {batch_size} is not divisible by {world_size} processes")
        if len(images) < batch_size:
            raise ValueError(f"dataset has {len(images)} images, fewer than one batch of {batch_size}")
        self.num_images = len(images)
        self.batch_size = batch_size
        self.local_batch = batch_size // world_size
        self.seed, self.rank, self.device = seed, rank, torch.device(device)
        self.channels_last = channels_last
        if keep_on_device is None:
            keep_on_device = self.device.type == "cuda" and _fits_on_gpu(images.nbytes, self.device)
        self.on_device = bool(keep_on_device)
        if self.on_device:
            self.images = torch.from_numpy(np.ascontiguousarray(images)).to(self.device)
        else:
            self.images_host = images

    @property
    def steps_per_epoch(self) -> int:
        return self.num_images // self.batch_size  # the last partial batch is dropped

    def permutation(self, epoch: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(_mix(self.seed, epoch))
        return torch.randperm(self.num_images, generator=g)

    def batch(self, perm: torch.Tensor, index_in_epoch: int) -> torch.Tensor:
        """This rank's share of global batch ``index_in_epoch``: float (b, C, S, S) in [-1, 1]."""
        start = index_in_epoch * self.batch_size + self.rank * self.local_batch
        idx = perm[start : start + self.local_batch]
        if self.on_device:
            u8 = self.images[idx.to(self.device)]
        else:
            rows = np.sort(idx.numpy())  # sorted reads are friendlier to a memory map
            order = np.argsort(np.argsort(idx.numpy()))
            u8 = torch.from_numpy(np.ascontiguousarray(self.images_host[rows][order]))
            if self.device.type == "cuda":
                u8 = u8.pin_memory().to(self.device, non_blocking=True)
        x = u8.float().div_(127.5).sub_(1.0)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x


def _fits_on_gpu(nbytes: int, device: torch.device) -> bool:
    try:
        free, _ = torch.cuda.mem_get_info(device)
    except (RuntimeError, AssertionError):
        return False
    return nbytes < GPU_DATA_FRACTION * free


def _mix(*values: int) -> int:
    """A 63-bit seed from several integers (stable across runs and platforms)."""
    return int(np.random.SeedSequence(list(values)).generate_state(1, np.uint64)[0] >> np.uint64(1))
