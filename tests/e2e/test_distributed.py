"""Training in two processes on CPU with gloo: identical weights after training, no gloo threads
left once the group is left, and `torchrun -m ganfill train` ending cleanly."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import torch
import torch.multiprocessing as mp
from safetensors.torch import load_file, save_file

from ganfill import shards
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
    shards.leave(trainer.shard)
    if sys.platform == "linux":  # which lists a process's threads, by name, in /proc/self/task
        names = [(t / "comm").read_text() for t in Path("/proc/self/task").iterdir()]
        Path(out, f"threads{rank}.txt").write_text("".join(names))


def test_two_cpu_ranks_end_with_identical_weights(small_faces: Path, tmp_path: Path) -> None:
    mp.spawn(_rank, args=(2, _free_port(), str(small_faces), str(tmp_path)), nprocs=2, join=True)
    a, b = load_file(tmp_path / "rank0.safetensors"), load_file(tmp_path / "rank1.safetensors")
    weights = [k for k in a if "running" not in k and "num_batches" not in k]
    assert weights and all(torch.equal(a[k], b[k]) for k in weights)
    assert (tmp_path / "run" / "checkpoints" / "latest.safetensors").exists()  # rank 0 wrote it
    # Threads of a group still alive as the interpreter ends can abort the process (DDP's did).
    for rank in (0, 1) if sys.platform == "linux" else ():
        threads = (tmp_path / f"threads{rank}.txt").read_text().split()
        assert threads and not [t for t in threads if "gloo" in t], threads


def test_torchrun_train_exits_zero_with_rank_zero_s_checkpoint(small_faces: Path, tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    cmd += ["-m", "ganfill", "train", str(small_faces), "--out", str(tmp_path / "run"), "--device", "cpu"]
    cmd += ["--image-size", "16", "--z-dim", "8", "--gf-dim", "4", "--df-dim", "4", "--batch-size", "4"]
    cmd += ["--max-steps", "3", "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("done: step 3") == 2  # both ranks trained to the end
    assert (tmp_path / "run" / "checkpoints" / "step_0000003.safetensors").exists()
