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

import importlib

from coaudiotext.models.spec import ModelSpec, TrainSettings

__all__ = ["ModelSpec", "TrainSettings", "MODELS", "build_model", "get_spec", "input_shapes"]


# Modules that contribute a `SPECS` dict, in the order they appear in --help.
_FAMILY_MODULES = (
    "coaudiotext.models.speech_bilstm",
    "coaudiotext.models.self_attentive_bilstm",
    "coaudiotext.models.parallel_bilstm_att",
    "coaudiotext.models.multi_hop_attention",
    "coaudiotext.models.cross_attention",
    "coaudiotext.models.crossmodal_transformer",
    "coaudiotext.models.fusion_heads",
    "coaudiotext.models.rsa_cfn",
    "coaudiotext.models.mlp_mixer",
    "coaudiotext.models.unimodal_heads",
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
