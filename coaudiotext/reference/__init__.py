"""PyTorch references: the original computations, re-written for parity tests and benchmarks.

Each module re-writes one original model's forward pass in PyTorch, from the original code, with the
sizes as arguments (so tests can run them small) and a `copy_keras_weights(keras_model, reference)`
that loads a Keras port's weights into it:

| module | original | registry keys |
|---|---|---|
| `coaudiotext.reference.multi_hop_attention` | CoAudioText tutorial §5 (Keras 2.1), MHA-A / MHA-AT | `mha_a`, `mha_a_t` |
| `coaudiotext.reference.transformer` | seed 001 `MULTModel` (`model.py`, `modules.py`) | `audio_transformer`, `crossmodal_transformer` |
| `coaudiotext.reference.rsa_cfn` | seed 002 `MultiModalClassificationHead` (`src/models.py`, `src/layer.py`) | the ten RSA-CFN heads |

They serve two purposes only:

- **parity tests**: the Keras port with copied weights must give the reference's outputs
  (`tests/test_transformer.py`, `tests/test_rsa_cfn.py`, `tests/test_bench.py`);
- **benchmarks**: `python -m coaudiotext.bench train --model KEY` times a training step of the port
  against a training step of the reference (`build(key)` below), same shapes, same batch.

They need `torch` (an optional dependency: `pip install torch`, or the `pretrained` extra) and are
**not used by any model**: the models are Keras 3 code (`keras.ops` / `keras.layers` only). Importing
this package does not import torch; `build(key)` and the submodules do.

Example:

>>> from coaudiotext.reference import KEYS
>>> KEYS
('mha_a', 'mha_a_t', 'audio_transformer', 'crossmodal_transformer', 'residual', 'rsa')
"""

from __future__ import annotations

import importlib

__all__ = ["KEYS", "require_torch", "build", "module_for"]

# Registry keys with a trainable reference (the ones `bench train` accepts), and their modules.
_MODULES = {
    "mha_a": "coaudiotext.reference.multi_hop_attention",
    "mha_a_t": "coaudiotext.reference.multi_hop_attention",
    "audio_transformer": "coaudiotext.reference.transformer",
    "crossmodal_transformer": "coaudiotext.reference.transformer",
    "residual": "coaudiotext.reference.rsa_cfn",
    "rsa": "coaudiotext.reference.rsa_cfn",
}
KEYS = tuple(_MODULES)


def require_torch():
    """Imports and returns `torch`, or raises an `ImportError` that says how to install it."""
    try:
        import torch
    except ImportError as error:
        raise ImportError(
            "coaudiotext.reference (the PyTorch references of the original models, used by the parity tests "
            "and `python -m coaudiotext.bench train`) needs PyTorch, which is not installed. Install it with "
            "`pip install torch` (or `pip install -e .[pretrained]`)."
        ) from error
    return torch


def module_for(key):
    """The reference module of registry key `key`; a `ValueError` names the keys that have one."""
    if key not in _MODULES:
        raise ValueError(f"No PyTorch reference for model {key!r}. Expected one of: {', '.join(KEYS)}.")
    require_torch()
    return importlib.import_module(_MODULES[key])


def build(key, keras_model=None, **flags):
    """Builds the trainable PyTorch reference of registry key `key`.

    Args:
        key: str. One of `KEYS`.
        keras_model: keras.Model or None. A port of `key`; when given, the reference takes its weights
            (`copy_keras_weights`), so both compute the same function. Defaults to None.
        **flags: the port builder's keyword arguments (`num_classes`, `<input>_shape`, model flags);
            a flag the reference does not reproduce raises a `ValueError` naming it.

    Returns:
        A `torch.nn.Module` in training mode whose `forward(**inputs)` takes the port's inputs by name
        (float32 tensors) and returns logits `(batch, num_classes)`.
    """
    module = module_for(key)
    reference = module.reference(key, **flags)
    if keras_model is not None:
        module.copy_keras_weights(keras_model, reference)
    return reference


def check_flags(key, flags, supported):
    """Raises a `ValueError` for flags of `key`'s port that its reference does not reproduce.

    `supported` maps a flag name to the tuple of values the reference reproduces, or to None for any value.
    """
    for name, value in flags.items():
        if name not in supported:
            raise ValueError(
                f"The PyTorch reference of {key!r} does not take the flag {name}={value!r}. "
                f"Expected any of: {', '.join(sorted(supported))}."
            )
        allowed = supported[name]
        if allowed is not None and value not in allowed:
            raise ValueError(
                f"The PyTorch reference of {key!r} reproduces {name} in {allowed} only (the original computation). "
                f"Received: {name}={value!r}"
            )
