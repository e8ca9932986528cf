"""The model registry: every model of the package, by key.

`MODELS` maps a registry key (the `--model` of the command line) to a
`ModelSpec`: the builder, the inputs the model declares (the data pipeline
builds exactly those), where it comes from, the tutorial that teaches it, and
the training settings of the original runs.

Each model family lives in its own module and contributes a `SPECS` dict; this
module only gathers them, so adding a model never touches another family.

Example:

>>> from coaudiotext.models import MODELS, build_model
>>> model = build_model("bilstm")          # tutorial default shapes
>>> model.count_params()
116743
"""

from __future__ import annotations

import dataclasses
import importlib
from typing import Callable, Mapping

__all__ = ["ModelSpec", "TrainSettings", "MODELS", "build_model", "get_spec", "input_shapes"]


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


# Modules that contribute a `SPECS` dict, in the order they appear in --help.
_FAMILY_MODULES = (
    "coaudiotext.models.speech_bilstm",
    "coaudiotext.models.self_attentive_bilstm",
    "coaudiotext.models.parallel_bilstm_att",
    "coaudiotext.models.multi_hop_attention",
    "coaudiotext.models.cross_attention",
    "coaudiotext.models.crossmodal_transformer",
    "coaudiotext.models.rsa_cfn",
    "coaudiotext.models.self_cross_attn",
    "coaudiotext.models.ser_mmoe",
)


def _collect() -> dict:
    models = {}
    for module_name in _FAMILY_MODULES:
        module = importlib.import_module(module_name)
        for key, spec in module.SPECS.items():
            if key in models:
                raise RuntimeError(f"Model key {key!r} is registered twice (in {module_name}).")
            models[key] = spec
    return models


MODELS: dict = _collect()


def get_spec(key: str) -> ModelSpec:
    """Returns the `ModelSpec` of `key`, or raises a `ValueError` naming the known keys."""
    if key not in MODELS:
        raise ValueError(f"Unknown model {key!r}. Expected one of: {', '.join(MODELS)}.")
    return MODELS[key]


def input_shapes(key: str, **shapes) -> dict:
    """Returns the `<input>_shape` keyword arguments of `key`'s builder.

    Shapes given as `audio=(200, 129)` override the registry defaults.
    """
    spec = get_spec(key)
    unknown = set(shapes) - set(spec.inputs)
    if unknown:
        raise ValueError(
            f"Model {key!r} has inputs {list(spec.inputs)}; received shapes for {sorted(unknown)}."
        )
    return {f"{name}_shape": tuple(shapes.get(name, spec.default_shapes[name])) for name in spec.inputs}


def build_model(key: str, **overrides):
    """Builds the registry model `key` (uncompiled) at the original default shapes.

    Args:
        key: str. A key of `MODELS`.
        **overrides: builder keyword arguments, e.g. `num_classes=5`,
            `audio_shape=(200, 129)`, or a model flag such as `recurrent_activation="sigmoid"`.

    Returns:
        An uncompiled `keras.Model` whose inputs are named as `MODELS[key].inputs`.
    """
    spec = get_spec(key)
    kwargs = {"num_classes": spec.num_classes}
    kwargs.update(input_shapes(key))
    kwargs.update(overrides)
    return spec.builder(**kwargs)
