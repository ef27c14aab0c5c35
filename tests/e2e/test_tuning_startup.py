"""Pivotal tuning in a fresh process: its first use must not wait for torch._dynamo's import."""

import subprocess
import sys

import pytest

pytestmark = pytest.mark.e2e

TUNE_ONCE = """
import sys, torch
from ganfill.config import ModelConfig
from ganfill.models import Generator
from ganfill.tuning import tune
g = Generator(ModelConfig(image_size=16, z_dim=8, gf_dim=8, df_dim=4)).eval()
known = torch.ones(1, 1, 16, 16)
out = tune(g, torch.zeros(1, 8), torch.zeros(1, 3, 16, 16), known, steps=2, lr=1e-3, locality=1.0)
assert out.shape == (1, 3, 16, 16)
print(sorted(name for name in sys.modules if name.startswith("torch._dynamo")))
"""


def test_tuning_does_not_import_dynamo() -> None:
    """torch.optim's optimizers import torch._dynamo when first built (2-3 s on a 2-core CPU),
    which a process's first tuned completion would wait for; tuning steps Adam without them."""
    done = subprocess.run([sys.executable, "-c", TUNE_ONCE], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
