"""torchrun's processes: the process group (joined and left here, by batch jobs and training
alike), what training's processes share (rank 0's weights at the start, then the mean of their
gradients), which inputs of a batch job are this process's, and where the processes wait for each
other. Without torchrun a job is shard 0 of 1 and nothing here talks."""

from __future__ import annotations

import atexit
import importlib
import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Shard:
    """This process's place in the job: rank of world (torchrun's RANK and WORLD_SIZE)."""

    rank: int = 0
    world: int = 1

    @classmethod
    def from_env(cls) -> Shard:
        """The shard torchrun (or any launcher that sets its variables) gave this process."""
        return cls(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)))

    def take(self, indices: list[int]) -> list[int]:
        """This process's share of the sorted inputs: every world-th one from its rank, so each
        process gets as many images, and of each part of the list, as the others."""
        return indices[self.rank :: self.world]

    @property
    def part(self) -> str:
        """The name part of this process's own files: "" alone, ".rank1" among several."""
        return "" if self.world == 1 else f".rank{self.rank}"


def join(device: torch.device) -> Shard:
    """This process's shard, with the process group started when there are several (NCCL on
    GPUs, gloo on the CPU)."""
    shard = Shard.from_env()
    if shard.world > 1 and not dist.is_initialized():
        # Loaded first: torch._dynamo (which building an optimiser loads) loaded after the group
        # starts keeps it, and gloo's threads, alive past leave() into the interpreter's end.
        importlib.import_module("torch._dynamo")
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        # Ended before the interpreter is: a group still alive at exit aborts the process.
        atexit.register(leave, shard)
    return shard


def share_first(shard: Shard, module: torch.nn.Module) -> None:
    """Give every process the first one's weights and buffers, so that all start alike."""
    if shard.world > 1:
        for tensor in module.state_dict().values():
            dist.broadcast(tensor, 0)


def average_gradients(shard: Shard, module: torch.nn.Module) -> None:
    """Replace the module's gradients by their mean over the processes, in one all-reduce.

    Done here rather than by DistributedDataParallel, which holds the process group for as
    long as the wrapped module lives, past leave() (in a script, to the interpreter's end,
    where gloo's threads still running now and then abort the process: 9 of 52 two-process
    runs that ended right after DDP steps; none of 52 averaging here).
    """
    if shard.world == 1:
        return
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    flat = torch.cat([g.flatten() for g in grads]).div_(shard.world)
    dist.all_reduce(flat)
    for grad, mean in zip(grads, flat.split([g.numel() for g in grads]), strict=True):
        grad.copy_(mean.view_as(grad))


def wait_for_all(shard: Shard) -> None:
    """Return when every process of the job has reached this point."""
    if shard.world > 1:
        dist.barrier()


def leave(shard: Shard) -> None:
    """End this process's part in the process group."""
    if shard.world > 1 and dist.is_initialized():
        dist.destroy_process_group()


def gather(shard: Shard, mine: list[int], part: np.ndarray, n: int) -> np.ndarray:
    """Every process's part of an array of n rows, put together in every process (part holds
    the rows `mine`, as Shard.take gave them)."""
    if shard.world == 1:
        return part
    parts: list[tuple[list[int], np.ndarray] | None] = [None] * shard.world
    dist.all_gather_object(parts, (mine, part))
    whole = np.empty((n, *part.shape[1:]), part.dtype)
    for rows, values in filter(None, parts):
        whole[rows] = values
    return whole
