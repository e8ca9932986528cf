"""Seed 002: the simple fusion heads of RSA-CFN (`hyeonho1028/RSA-CFN`, `MultiModalClassificationHead`).

Each head reads the mean-pooled wav2vec2 (W = 1024) and RoBERTa (T = 768)
vectors, precomputed by frozen encoders (the original fine-tunes them end to end;
see `coaudiotext.models._rsa_common`).

| key | head | parameters (W=1024, T=768, 7 classes) |
|---|---|---|
| `early_fusion` | concat -> LayerNorm -> Linear | 16,135 |
| `late_fusion` | Linear per modality -> stack -> LayerNorm over classes -> mean | 12,572 |
| `stack` | concat -> LayerNorm -> 5 dropouts (p=.5) through one Linear -> mean | 16,135 |
| `residual` | LayerNorm(concat) + two-layer residual MLP (512) -> Linear | 5,064,711 |

The self-attention heads (`rsa`, `rsa_cfn`, `hybrid_fusion`) are in
`coaudiotext.models.rsa_cfn`.

Example:

>>> from coaudiotext.models import build_model
>>> build_model("residual").count_params()
5064711
"""

from __future__ import annotations

import keras
from keras import layers

from coaudiotext.models._rsa_common import (
    EPSILON,
    check_num_classes,
    early_logits,
    head_spec,
    late_logits,
    residual_logits,
    softmax_probabilities,
    vector_inputs,
)

__all__ = ["early_fusion", "late_fusion", "stack", "residual", "SPECS"]


def early_fusion(wav2vec2_shape=(1024,), roberta_shape=(768,), num_classes=7, epsilon=EPSILON, name="early_fusion"):
    """Builds `early_fusion`: concat -> LayerNorm -> Linear (16,135 parameters at 1024 + 768, 7 classes).

    Args:
        wav2vec2_shape: tuple. `(features,)` of the pooled wav2vec2 vector. Defaults to `(1024,)`.
        roberta_shape: tuple. `(features,)` of the pooled RoBERTa vector. Defaults to `(768,)`.
        num_classes: int. Number of classes. Defaults to 7.
        epsilon: float. LayerNorm epsilon (PyTorch's default). Defaults to 1e-5.
        name: str. Model name.

    Inputs: `wav2vec2` (batch, W), `roberta` (batch, T). Output: probabilities (batch, num_classes).

    Example:

    >>> early_fusion().count_params()
    16135
    """
    num_classes = check_num_classes(num_classes)
    # Inputs
    inputs = vector_inputs(wav2vec2_shape, roberta_shape)
    # Layers
    logits = early_logits(inputs["wav2vec2"], inputs["roberta"], num_classes, epsilon)
    # Model
    return keras.Model(inputs, softmax_probabilities(logits), name=name)


def late_fusion(wav2vec2_shape=(1024,), roberta_shape=(768,), num_classes=7, epsilon=EPSILON, name="late_fusion"):
    """Builds `late_fusion`: one Linear per modality, logits stacked, LayerNorm over classes, mean.

    12,572 parameters at 1024 + 768, 7 classes. The LayerNorm (one, shared by both
    rows) normalises each modality's logits over the class axis before the average.

    Args:
        wav2vec2_shape: tuple. `(features,)` of the pooled wav2vec2 vector. Defaults to `(1024,)`.
        roberta_shape: tuple. `(features,)` of the pooled RoBERTa vector. Defaults to `(768,)`.
        num_classes: int. Number of classes. Defaults to 7.
        epsilon: float. LayerNorm epsilon. Defaults to 1e-5.
        name: str. Model name.

    Example:

    >>> late_fusion().count_params()
    12572
    """
    num_classes = check_num_classes(num_classes)
    inputs = vector_inputs(wav2vec2_shape, roberta_shape)
    logits = late_logits(inputs["wav2vec2"], inputs["roberta"], num_classes, epsilon)
    return keras.Model(inputs, softmax_probabilities(logits), name=name)


def stack(
    wav2vec2_shape=(1024,),
    roberta_shape=(768,),
    num_classes=7,
    num_dropouts=5,
    dropout=0.5,
    epsilon=EPSILON,
    name="stack",
):
    """Builds `stack`: early fusion with multi-sample dropout (16,135 parameters).

    concat -> LayerNorm -> `num_dropouts` independent Dropout(p) copies, each
    through the *same* Linear -> mean of the logits. At inference it equals
    `early_fusion`; in training it averages several dropout masks per step.

    Args:
        wav2vec2_shape: tuple. `(features,)` of the pooled wav2vec2 vector. Defaults to `(1024,)`.
        roberta_shape: tuple. `(features,)` of the pooled RoBERTa vector. Defaults to `(768,)`.
        num_classes: int. Number of classes. Defaults to 7.
        num_dropouts: int. Dropout samples. Defaults to 5.
        dropout: float. Rate of each dropout. Defaults to 0.5.
        epsilon: float. LayerNorm epsilon. Defaults to 1e-5.
        name: str. Model name.

    Example:

    >>> stack().count_params()
    16135
    """
    num_classes = check_num_classes(num_classes)
    if int(num_dropouts) < 1:
        raise ValueError(f"Expected num_dropouts >= 1. Received: num_dropouts={num_dropouts!r}")
    inputs = vector_inputs(wav2vec2_shape, roberta_shape)
    joint = layers.Concatenate(name="concat")([inputs["wav2vec2"], inputs["roberta"]])
    joint = layers.LayerNormalization(epsilon=epsilon, name="norm")(joint)  # (batch, D)
    classifier = layers.Dense(num_classes, name="classifier")  # shared by every dropout sample
    samples = [classifier(layers.Dropout(dropout, name=f"dropout_{i}")(joint)) for i in range(int(num_dropouts))]
    logits = layers.Average(name="dropout_mean")(samples) if len(samples) > 1 else samples[0]
    return keras.Model(inputs, softmax_probabilities(logits), name=name)


def residual(
    wav2vec2_shape=(1024,),
    roberta_shape=(768,),
    num_classes=7,
    hidden_units=512,
    dropout=0.3,
    epsilon=EPSILON,
    name="residual",
):
    """Builds `residual`: LayerNorm(concat) plus a two-layer residual MLP (5,064,711 parameters).

        x = LayerNorm(concat(wav2vec2, roberta))                    # (batch, D)
        r = Dropout(ReLU(Linear(D -> hidden_units)(x)))
        r2 = Dropout(ReLU(Linear(D + hidden_units -> D)(concat(x, r))))
        logits = Linear(D -> C)(x + r2)

    Args:
        wav2vec2_shape: tuple. `(features,)` of the pooled wav2vec2 vector. Defaults to `(1024,)`.
        roberta_shape: tuple. `(features,)` of the pooled RoBERTa vector. Defaults to `(768,)`.
        num_classes: int. Number of classes. Defaults to 7.
        hidden_units: int. Width of the first residual block. Defaults to 512.
        dropout: float. Dropout after each block. Defaults to 0.3.
        epsilon: float. LayerNorm epsilon. Defaults to 1e-5.
        name: str. Model name.

    Example:

    >>> residual().count_params()
    5064711
    """
    num_classes = check_num_classes(num_classes)
    inputs = vector_inputs(wav2vec2_shape, roberta_shape)
    logits, _ = residual_logits(inputs["wav2vec2"], inputs["roberta"], num_classes, epsilon, hidden_units, dropout)
    return keras.Model(inputs, softmax_probabilities(logits), name=name)


# ---------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------

SPECS = {
    "early_fusion": head_spec(early_fusion, "RSA-CFN early fusion: concat -> LayerNorm -> Linear", "early_fusion"),
    "late_fusion": head_spec(
        late_fusion, "RSA-CFN late fusion: per-modality Linear, LayerNorm-ed logits averaged", "late_fusion"
    ),
    "stack": head_spec(stack, "RSA-CFN stack: early fusion with 5-sample dropout", "stack"),
    "residual": head_spec(residual, "RSA-CFN residual MLP on LayerNorm(concat)", "residual"),
}
