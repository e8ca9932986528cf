"""`TrainSettings` and `ModelSpec`: what the registry knows about a model and how its original was trained.

Family modules (`coaudiotext/models/*.py`) import these from here, and `coaudiotext.models` gathers the
families' `SPECS` dicts; keeping the two classes in their own module means no family imports the registry
that imports it (no import cycle).
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Mapping

__all__ = ["TrainSettings", "ModelSpec"]


@dataclasses.dataclass(frozen=True)
class TrainSettings:
    """Training settings of the original runs of a model.

    Args:
        optimizer: str. `"adam"` or `"adamw"`.
        learning_rate: float. Learning rate.
        epsilon: float. Adam epsilon (Keras 2.1 used 1e-8; Keras 3 defaults to 1e-7).
        batch_size: int. Batch size.
        epochs: int. Epochs of the original runs.
        clipnorm: float or None. Gradient clipping by global norm.
        weight_decay: float or None. Decoupled weight decay (AdamW only).
        demo_epochs: int. Epochs used on the embedded demo corpus when `--epochs` is not given.
        demo_learning_rate: float or None. Learning rate on the demo corpus when `--lr` is not given
            (None: the original's). Used where the original rate was meant for fine-tuning whole
            pretrained encoders and barely moves a head over frozen features.
        monitor: str. Validation log value that selects the best epoch when `--monitor` is not given.
            Defaults to `"val_macro_f1"`.
        demo_augment: str. Training-time audio augmentation on the demo corpus when `--augment` is not given:
            `"none"` or `"speaker"` (random gain and frequency warp of the mel frames, `coaudiotext.augment`).
            Defaults to `"none"`.
    """

    optimizer: str = "adam"
    learning_rate: float = 5e-4
    epsilon: float = 1e-8
    batch_size: int = 16
    epochs: int = 100
    clipnorm: float | None = None
    weight_decay: float | None = None
    demo_epochs: int = 12
    demo_learning_rate: float | None = None
    monitor: str = "val_macro_f1"
    demo_augment: str = "none"


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """What the registry knows about one model.

    Args:
        builder: callable. Returns an uncompiled `keras.Model`; takes `num_classes`
            and one `<input>_shape` keyword per declared input, plus model flags.
        inputs: tuple of str. Names of the model's `keras.Input`s, in order. Each
            name is a feature kind the data pipeline knows how to build
            (see `coaudiotext.data.pipeline.FEATURE_KINDS`).
        default_shapes: mapping input name -> shape tuple (without batch), the
            shapes of the original source; used when no data is given.
        source: str. The seed document / repository and the original name.
        tutorial: str. The tutorial notebook that teaches the model.
        description: str. One line for `--help` and the README.
        train: TrainSettings. Settings of the original runs.
        num_classes: int. Classes of the original task.
    """

    builder: Callable
    inputs: tuple
    default_shapes: Mapping
    source: str
    tutorial: str
    description: str
    train: TrainSettings = TrainSettings()
    num_classes: int = 7
