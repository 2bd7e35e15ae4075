"""DistributedDataParallel on CPU: two gloo processes train one model and stay in sync."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import numpy as np
import pytest
import safetensors.torch
import torch
import torch.multiprocessing as mp

from interp.io.checkpoint import read_checkpoint
from interp.train.distributed import init_from_env, shutdown
from interp.train.trainer import TrainConfig, Trainer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, out: str, images: np.ndarray) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    info = init_from_env("cpu")
    try:
        cfg = TrainConfig(data="tiny", preset="examples", image_size=32, ngf=8, ndf=8, epochs=2,
                          batch_size=16, out=out, progress=False, tensorboard=False, checkpoint_every=0)
        trainer = Trainer(cfg, images, {"name": "tiny"}, dist=info)
        trainer.run()
        state = {f"G.{k}": v.detach().contiguous().clone() for k, v in trainer.G.state_dict().items()}
        safetensors.torch.save_file(state, str(Path(out) / f"rank{rank}_G.safetensors"))
    finally:
        shutdown(info)


@pytest.mark.slow
def test_two_gloo_processes_stay_in_sync(tmp_path: Path, tiny_images: np.ndarray) -> None:
    torch.manual_seed(0)
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path), tiny_images), nprocs=2, join=True)
    r0 = safetensors.torch.load_file(str(tmp_path / "rank0_G.safetensors"))
    r1 = safetensors.torch.load_file(str(tmp_path / "rank1_G.safetensors"))
    for key in r0:
        if "running" in key or "num_batches" in key:
            continue  # batch-norm statistics are per process (as in any DDP run without SyncBN)
        assert torch.allclose(r0[key], r1[key], atol=1e-6), key
    # only rank 0 wrote the run; its checkpoint is the synchronised model after 2 epochs
    tensors, meta = read_checkpoint(tmp_path / "checkpoints/final.safetensors")
    assert meta["world_size"] == 2 and meta["step"] == 2 * (96 // 16)
    assert torch.allclose(tensors["G.out.conv.weight"], r0["G.out.conv.weight"])
    torch.manual_seed(0)
    from interp.core.models import Generator
    fresh = Generator(TrainConfig(preset="examples", image_size=32, ngf=8, ndf=8).model_config())
    assert not torch.allclose(fresh.out.conv.weight, r0["G.out.conv.weight"])  # it trained
