"""Batch serving: device-resident and host paths agree; order is seeded; ranks split batches."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from interp.train.batches import BatchSource


def test_device_resident_equals_host_path(tiny_images: np.ndarray) -> None:
    a = BatchSource(tiny_images, 16, seed=3, device=torch.device("cpu"), keep_on_device=True)
    b = BatchSource(tiny_images, 16, seed=3, device=torch.device("cpu"), keep_on_device=False)
    perm = a.permutation(2)
    assert torch.equal(perm, b.permutation(2))
    for i in range(a.steps_per_epoch):
        xa, xb = a.batch(perm, i), b.batch(perm, i)
        assert torch.equal(xa, xb)
        assert xa.min() >= -1 and xa.max() <= 1 and xa.dtype == torch.float32
    # the batch really is the permuted images
    assert torch.equal(a.batch(perm, 1)[0], torch.from_numpy(tiny_images[perm[16].item()]).float() / 127.5 - 1)


def test_epochs_differ_and_seed_reproduces(tiny_images: np.ndarray) -> None:
    s = BatchSource(tiny_images, 16, seed=0, device=torch.device("cpu"))
    assert not torch.equal(s.permutation(0), s.permutation(1))
    assert torch.equal(s.permutation(1), BatchSource(tiny_images, 16, seed=0, device=torch.device("cpu")).permutation(1))
    assert s.steps_per_epoch == 96 // 16


def test_ranks_split_the_global_batch(tiny_images: np.ndarray) -> None:
    full = BatchSource(tiny_images, 16, seed=0, device=torch.device("cpu"))
    r0 = BatchSource(tiny_images, 16, seed=0, device=torch.device("cpu"), rank=0, world_size=2)
    r1 = BatchSource(tiny_images, 16, seed=0, device=torch.device("cpu"), rank=1, world_size=2)
    perm = full.permutation(0)
    assert torch.equal(torch.cat([r0.batch(perm, 2), r1.batch(perm, 2)]), full.batch(perm, 2))


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="uint8"):
        BatchSource(np.zeros((4, 3, 8, 8), np.float32), 2, 0, torch.device("cpu"))
    with pytest.raises(ValueError, match="fewer than one batch"):
        BatchSource(np.zeros((4, 3, 8, 8), np.uint8), 8, 0, torch.device("cpu"))
    with pytest.raises(ValueError, match="divisible"):
        BatchSource(np.zeros((40, 3, 8, 8), np.uint8), 9, 0, torch.device("cpu"), world_size=2)
