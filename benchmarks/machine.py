"""One line naming the machine a benchmark ran on, printed with every figure."""

from __future__ import annotations

import platform

import torch


def describe_machine() -> str:
    """CPU model, torch threads and version, and the GPU when one is visible."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    line = f"CPU: {cpu}, torch threads: {torch.get_num_threads()}, torch {torch.__version__}"
    if torch.cuda.is_available():
        line += f", GPU: {torch.cuda.get_device_name()}"
    return line
