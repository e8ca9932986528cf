"""Activations of the original code that Keras 3 no longer has."""

import keras
from keras import ops

__all__ = ["hard_sigmoid_keras21", "recurrent_activation"]


@keras.saving.register_keras_serializable(package="coaudiotext")
def hard_sigmoid_keras21(x):
    """Keras 2.1's `hard_sigmoid`: `clip(0.2 * x + 0.5, 0, 1)`.

    Keras 2.1 LSTMs used it as their default recurrent activation. Keras 3's
    `hard_sigmoid` is `relu6(x + 3) / 6` (slope 1/6), so it is written here.
    """
    return ops.clip(0.2 * x + 0.5, 0.0, 1.0)


def recurrent_activation(name):
    """Maps the `recurrent_activation` flag of the tutorial models to a Keras activation.

    Args:
        name: str. `"hard_sigmoid"` (Keras 2.1, the faithful default) or `"sigmoid"`
            (Keras 3's default; faster, and uses cuDNN on a GPU).
    """
    if name == "hard_sigmoid":
        return hard_sigmoid_keras21
    if name == "sigmoid":
        return "sigmoid"
    raise ValueError(
        f"Expected recurrent_activation to be one of {{'hard_sigmoid', 'sigmoid'}}. Received: recurrent_activation={name!r}"
    )
