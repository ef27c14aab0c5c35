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
