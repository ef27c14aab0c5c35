"""DistributedDataParallel on CPU with gloo: two processes, identical weights after training."""

import os
import socket
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from safetensors.torch import load_file, save_file

from ganfill.config import ModelConfig, TrainConfig
from ganfill.data import load_folder
from ganfill.training import Trainer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank(rank: int, world: int, port: int, faces: str, out: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        WORLD_SIZE=str(world),
        LOCAL_RANK=str(rank),
    )
    torch.set_num_threads(1)
    cfg = TrainConfig(
        model=ModelConfig(image_size=16, z_dim=8, gf_dim=4, df_dim=4),
        batch_size=4,
        max_steps=3,
        sample_every=100,
        checkpoint_every=100,
        device="cpu",
    )
    trainer = Trainer(load_folder(faces, 16), Path(out) / "run", cfg, data_dir=Path(faces))
    trainer.run(progress=False)
    state = {**trainer.g.state_dict(), **{f"d.{k}": v for k, v in trainer.d.state_dict().items()}}
    save_file({k: v.contiguous() for k, v in state.items()}, f"{out}/rank{rank}.safetensors")
    dist.destroy_process_group()


def test_two_cpu_ranks_end_with_identical_weights(small_faces: Path, tmp_path: Path) -> None:
    mp.spawn(_rank, args=(2, _free_port(), str(small_faces), str(tmp_path)), nprocs=2, join=True)
    a, b = load_file(tmp_path / "rank0.safetensors"), load_file(tmp_path / "rank1.safetensors")
    weights = [k for k in a if "running" not in k and "num_batches" not in k]
    assert weights and all(torch.equal(a[k], b[k]) for k in weights)
    assert (tmp_path / "run" / "checkpoints" / "latest.safetensors").exists()  # rank 0 wrote it
