"""Which torch device a setting names: auto prefers CUDA (one GPU per local rank), then MPS."""

from __future__ import annotations

import os

import torch

from ganfill.config import ConfigError


def pick_device(name: str) -> torch.device:
    """The torch device for 'auto', 'cpu', 'cuda' or 'mps'; ConfigError if it is not available."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device cuda: no CUDA GPU is available")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("device mps: MPS is not available")
    if name == "cuda":
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return torch.device(name)


def bfloat16_is_fast(device: torch.device) -> bool:
    """Whether the device multiplies bfloat16 natively (CUDA that supports it; a CPU with AMX),
    so that a bfloat16 pass through G costs clearly less than a float32 one."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    amx = getattr(torch.cpu, "_is_amx_tile_supported", None)
    return device.type == "cpu" and amx is not None and bool(amx())


def amp(device: torch.device, wanted: bool) -> torch.autocast:
    """The trainers' --amp: bfloat16 autocast when asked and the device multiplies it natively."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=wanted and bfloat16_is_fast(device))
