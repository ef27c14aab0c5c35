"""ganfill: semantic image completion with deep generative models (Yeh et al., CVPR 2017)."""

from ganfill import masks
from ganfill.checkpoint import Model, load_model, save_model
from ganfill.completion import Completer, Completion
from ganfill.config import CompletionConfig, ModelConfig, TrainConfig
from ganfill.models import Discriminator, Generator, generate
from ganfill.training import train

__all__ = [
    "Completer",
    "Completion",
    "CompletionConfig",
    "Discriminator",
    "Generator",
    "Model",
    "ModelConfig",
    "TrainConfig",
    "generate",
    "load_model",
    "masks",
    "save_model",
    "train",
]
__version__ = "0.1.0"
