"""Seed 002: the unimodal baseline heads of RSA-CFN (`hyeonho1028/RSA-CFN`, `src/models.py`).

Each reads one mean-pooled vector, precomputed by a frozen encoder (the original
fine-tunes the encoder end to end; see `coaudiotext.models._rsa_common`).

| key | head | parameters (W=1024, T=768, 7 classes) |
|---|---|---|
| `wav2vec2_cls` | dropout -> Linear(1024) -> tanh -> dropout -> Linear | 1,056,775 |
| `roberta_cls` | LayerNorm -> Linear | 6,919 |

Example:

>>> from coaudiotext.models import build_model
>>> build_model("roberta_cls").count_params()
6919
"""

from __future__ import annotations

import keras
from keras import layers

from coaudiotext.models._rsa_common import EPSILON, TUTORIAL, check_num_classes, softmax_probabilities
from coaudiotext.models.spec import ModelSpec, TrainSettings

__all__ = ["wav2vec2_cls", "roberta_cls", "SPECS"]


def wav2vec2_cls(wav2vec2_shape=(1024,), num_classes=7, hidden_units=None, dropout=0.1, name="wav2vec2_cls"):
    """Builds the wav-only baseline head (`Wav2Vec2ClassificationHead`; 1,056,775 parameters).

    Pooled wav2vec2 -> Dropout -> Linear(W -> W) -> tanh -> Dropout -> Linear(W -> C).
    The original fine-tunes wav2vec2 with this head at lr 1e-4.

    Args:
        wav2vec2_shape: tuple. `(features,)` of the pooled wav2vec2 vector. Defaults to `(1024,)`.
        num_classes: int. Number of classes. Defaults to 7.
        hidden_units: int or None. Hidden width; None uses the feature size (the original's
            `hidden_size`). Defaults to None.
        dropout: float. `final_dropout` of the wav2vec2 config (transformers' default). Defaults to 0.1.
        name: str. Model name.

    Example:

    >>> wav2vec2_cls().count_params()
    1056775
    """
    num_classes = check_num_classes(num_classes)
    shape = tuple(wav2vec2_shape)
    if len(shape) != 1:
        raise ValueError(f"Expected wav2vec2_shape to be (features,). Received: wav2vec2_shape={shape}.")
    wav = keras.Input(shape, name="wav2vec2")
    x = layers.Dropout(dropout, name="dropout")(wav)
    x = layers.Dense(hidden_units or shape[0], activation="tanh", name="dense")(x)
    x = layers.Dropout(dropout, name="dense_dropout")(x)
    logits = layers.Dense(num_classes, name="out_proj")(x)
    return keras.Model({"wav2vec2": wav}, softmax_probabilities(logits), name=name)


def roberta_cls(roberta_shape=(768,), num_classes=7, epsilon=EPSILON, name="roberta_cls"):
    """Builds the text-only baseline head (`xlm_RoBertaBase`; 6,919 parameters).

    Pooled RoBERTa (mean over all 256 positions, padding included, in the original)
    -> LayerNorm -> Linear(T -> C).

    Args:
        roberta_shape: tuple. `(features,)` of the pooled RoBERTa vector. Defaults to `(768,)`.
        num_classes: int. Number of classes. Defaults to 7.
        epsilon: float. LayerNorm epsilon. Defaults to 1e-5.
        name: str. Model name.

    Example:

    >>> roberta_cls().count_params()
    6919
    """
    num_classes = check_num_classes(num_classes)
    shape = tuple(roberta_shape)
    if len(shape) != 1:
        raise ValueError(f"Expected roberta_shape to be (features,). Received: roberta_shape={shape}.")
    text = keras.Input(shape, name="roberta")
    x = layers.LayerNormalization(epsilon=epsilon, name="norm")(text)
    logits = layers.Dense(num_classes, name="classifier")(x)
    return keras.Model({"roberta": text}, softmax_probabilities(logits), name=name)


# ---------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------

SPECS = {
    "wav2vec2_cls": ModelSpec(
        builder=wav2vec2_cls,
        inputs=("wav2vec2",),
        default_shapes={"wav2vec2": (1024,)},
        source="hyeonho1028/RSA-CFN src/models.py Wav2Vec2ForSpeechClassification (wav only)",
        tutorial=TUTORIAL,
        description="wav2vec2-only head: dropout, Linear+tanh, dropout, Linear",
        train=TrainSettings(
            optimizer="adamw", learning_rate=1e-4, epsilon=1e-8, batch_size=16, epochs=10, weight_decay=0.0,
            demo_epochs=10, demo_learning_rate=1e-3,
        ),
    ),
    "roberta_cls": ModelSpec(
        builder=roberta_cls,
        inputs=("roberta",),
        default_shapes={"roberta": (768,)},
        source="hyeonho1028/RSA-CFN src/models.py xlm_RoBertaBase (text only)",
        tutorial=TUTORIAL,
        description="RoBERTa-only head: LayerNorm -> Linear",
        train=TrainSettings(
            optimizer="adamw", learning_rate=1e-5, epsilon=1e-8, batch_size=16, epochs=10, weight_decay=0.0,
            demo_epochs=10, demo_learning_rate=1e-3,
        ),
    ),
}
