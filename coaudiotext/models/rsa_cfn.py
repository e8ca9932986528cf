"""Seed 002: the self-attention heads of RSA-CFN (`hyeonho1028/RSA-CFN`, `MultiModalClassificationHead`).

Each head reads the mean-pooled wav2vec2 (W = 1024) and RoBERTa (T = 768)
vectors, precomputed by frozen encoders (the original fine-tunes them end to end;
see `coaudiotext.models._rsa_common`).

| key | head | parameters (W=1024, T=768, 7 classes) |
|---|---|---|
| `rsa` | `residual` whose MLP reads a feature self-attention of the input | 5,065,737 |
| `rsa_cfn` | project to 128, self-attend, LayerNorm, outer product with 1s (129x129), residual MLP | 328,300,813 |
| `hybrid_fusion` | early + late + residual + rsa_cfn -> stack -> LayerNorm -> mean | 333,394,245 |

`attention_model` and `mean_attention` read the (D, D) maps of their
`FeatureSelfAttention` layers. The simple fusion heads (`early_fusion`,
`late_fusion`, `stack`, `residual`) are in `coaudiotext.models.fusion_heads`.

Example:

>>> from coaudiotext.models import build_model
>>> build_model("rsa").count_params()
5065737
"""

from __future__ import annotations

import warnings

import keras
import numpy as np
from keras import layers

from coaudiotext.layers.fusion import FeatureSelfAttention, TensorFusion
from coaudiotext.models._rsa_common import (
    EPSILON,
    HUGE,
    check_num_classes,
    early_logits,
    head_spec,
    late_logits,
    prefixed,
    residual_logits,
    residual_sum,
    softmax_probabilities,
    vector_inputs,
    vote,
)

__all__ = [
    "rsa",
    "rsa_cfn",
    "hybrid_fusion",
    "attention_model",
    "mean_attention",
    "LargeModelWarning",
    "LARGE_MODEL_PARAMS",
    "SPECS",
]

LARGE_MODEL_PARAMS = 50_000_000  # builders warn above this many parameters
# `rsa_cfn(projection_units=32).count_params()` at the original shapes (1024 + 768, 7 classes), quoted by the
# warning; tests/test_rsa_cfn.py checks it against the built model.
_RSA_CFN_32_PARAMS = 4_599_949


class LargeModelWarning(UserWarning):
    """A head is large enough (hundreds of millions of parameters) to exhaust memory."""


def _warn_if_large(model):
    """Warns (`LargeModelWarning`) when the built `model` has more than `LARGE_MODEL_PARAMS` parameters."""
    count = model.count_params()
    if count <= LARGE_MODEL_PARAMS:
        return
    gib = 1024**3
    weights = 4 * count / gib
    warnings.warn(
        f"{model.name} has {count:,} parameters: {weights:.2f} GiB of float32 weights, "
        f"{3 * weights:.2f} GiB with Adam's two moment slots ({4 * weights:.2f} GiB with the gradients "
        f"while training). Pass a smaller projection_units for a lighter head "
        f"(at the original shapes, projection_units=32 gives {_RSA_CFN_32_PARAMS:,} for rsa_cfn).",
        LargeModelWarning,
        stacklevel=3,
    )


def _cfn_logits(
    wav,
    text,
    num_classes,
    epsilon,
    projection_units,
    attention_units,
    hidden_units,
    dropout,
    prefix="",
    kernel_initializer="glorot_uniform",
):
    """`rsa_cfn`'s branch: projections, feature self-attentions, `TensorFusion`, residual MLP; returns the logits."""
    dense = {"kernel_initializer": kernel_initializer}
    vectors = []
    for modality, source in (("wav", wav), ("text", text)):
        projection = layers.Dense(projection_units, name=prefixed(prefix, f"{modality}_proj"), **dense)
        projected = projection(source)  # (batch, P)
        attended = FeatureSelfAttention(attention_units, name=prefixed(prefix, f"{modality}_attention"))(
            projected, return_attention_scores=True
        )[0]
        summed = layers.Add(name=prefixed(prefix, f"{modality}_attention_add"))([attended, projected])
        vectors.append(layers.LayerNormalization(epsilon=epsilon, name=prefixed(prefix, f"{modality}_norm"))(summed))
    cross = TensorFusion(name=prefixed(prefix, "cross_fusion"))(vectors)  # (batch, (P + 1) ** 2)
    summed = residual_sum(cross, cross, hidden_units, dropout, prefix, kernel_initializer)
    hidden = layers.Dense(hidden_units, activation="relu", name=prefixed(prefix, "classifier_hidden"), **dense)(summed)
    hidden = layers.Dropout(dropout, name=prefixed(prefix, "classifier_dropout"))(hidden)
    return layers.Dense(num_classes, name=prefixed(prefix, "classifier"), **dense)(hidden)


# ---------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------


def rsa(
    wav2vec2_shape=(1024,),
    roberta_shape=(768,),
    num_classes=7,
    attention_units=256,
    hidden_units=512,
    dropout=0.3,
    epsilon=EPSILON,
    return_attention=False,
    name="rsa",
):
    """Builds `rsa`, the Residual Self-Attention head (5,065,737 parameters).

    As `residual`, but the residual MLP reads a feature self-attention of x
    (each of the D = W + T dimensions is a token), while the skip adds x itself:

        x = LayerNorm(concat(wav2vec2, roberta))
        a, A = FeatureSelfAttention(attention_units)(x)             # (batch, D), (batch, D, D)
        r = block1(a); r2 = block2(concat(a, r)); logits = Linear(x + r2)

    The (batch, D, D) map `A` is the output of the layer named `self_attention`:
    `attention_model(model)` / `mean_attention(model, inputs)` read it and
    `coaudiotext.layers.fusion.plot_rsa_attention` draws it.

    Args:
        wav2vec2_shape: tuple. `(features,)` of the pooled wav2vec2 vector. Defaults to `(1024,)`.
        roberta_shape: tuple. `(features,)` of the pooled RoBERTa vector. Defaults to `(768,)`.
        num_classes: int. Number of classes. Defaults to 7.
        attention_units: int. Query/key size of the self-attention. Defaults to 256.
        hidden_units: int. Width of the first residual block. Defaults to 512.
        dropout: float. Dropout after each block. Defaults to 0.3.
        epsilon: float. LayerNorm epsilon. Defaults to 1e-5.
        return_attention: bool. Output a dict `{"probabilities", "attention"}` like the
            original's `(outputs, attn_weights)`; the default outputs only the probabilities,
            which is what training needs. Defaults to False.
        name: str. Model name.

    Example:

    >>> rsa().count_params()
    5065737
    """
    num_classes = check_num_classes(num_classes)
    inputs = vector_inputs(wav2vec2_shape, roberta_shape)
    logits, attention = residual_logits(
        inputs["wav2vec2"], inputs["roberta"], num_classes, epsilon, hidden_units, dropout, attention_units
    )
    probabilities = softmax_probabilities(logits)
    if return_attention:
        attention = layers.Identity(name="attention", dtype="float32")(attention)
        return keras.Model(inputs, {"probabilities": probabilities, "attention": attention}, name=name)
    return keras.Model(inputs, probabilities, name=name)


def rsa_cfn(
    wav2vec2_shape=(1024,),
    roberta_shape=(768,),
    num_classes=7,
    projection_units=128,
    attention_units=96,
    hidden_units=1024,
    dropout=0.3,
    epsilon=EPSILON,
    kernel_initializer="glorot_uniform",
    name="rsa_cfn",
):
    """Builds `rsa_cfn`, the Residual Self-Attention Cross Fusion Network (328,300,813 parameters).

        w = Linear(W -> P)(wav2vec2); t = Linear(T -> P)(roberta)
        w = LayerNorm(FeatureSelfAttention(96)(w) + w); t likewise      # (batch, P) each
        cf = flatten([1, w] (x) [1, t])                                  # (batch, (P + 1) ** 2)
        r = Dropout(ReLU(Linear(cf -> 1024))); r2 = Dropout(ReLU(Linear(cf + 1024 -> cf)))
        logits = Linear(1024 -> C)(Dropout(ReLU(Linear(cf -> 1024)(cf + r2))))

    At the original width P = 128 the fused vector has 16,641 dimensions and one
    Linear(17,665 -> 16,641) alone holds 293,979,906 weights: about 1.2 GiB of
    float32 weights and 3.7 GiB with Adam's state. The builder warns
    (`LargeModelWarning`) when the built model's `count_params()` exceeds 50M,
    before any training allocates gradients and optimizer slots;
    `projection_units` shrinks it.

    Args:
        wav2vec2_shape: tuple. `(features,)` of the pooled wav2vec2 vector. Defaults to `(1024,)`.
        roberta_shape: tuple. `(features,)` of the pooled RoBERTa vector. Defaults to `(768,)`.
        num_classes: int. Number of classes. Defaults to 7.
        projection_units: int. Width P of each modality's projection; the fused
            vector has (P + 1) ** 2 dimensions. Defaults to 128 (the original).
        attention_units: int. Query/key size of the two feature self-attentions. Defaults to 96.
        hidden_units: int. Width of the residual block and of the classifier's hidden layer. Defaults to 1024.
        dropout: float. Dropout rate. Defaults to 0.3.
        epsilon: float. LayerNorm epsilon. Defaults to 1e-5.
        kernel_initializer: str or initializer. Kernel initialiser of the Dense layers.
            Random initialisation of the full-width head peaks at ~3.4 GB (the weights
            and the initialiser's temporaries); `"zeros"` needs only the ~1.3 GB of
            weights and is faster (for `summary()`, `count_params()` or loading weights).
            Defaults to `"glorot_uniform"`.
        name: str. Model name.

    Example:

    >>> rsa_cfn(projection_units=8, hidden_units=16).count_params()
    25837
    """
    num_classes = check_num_classes(num_classes)
    inputs = vector_inputs(wav2vec2_shape, roberta_shape)
    logits = _cfn_logits(
        inputs["wav2vec2"],
        inputs["roberta"],
        num_classes,
        epsilon,
        projection_units,
        attention_units,
        hidden_units,
        dropout,
        kernel_initializer=kernel_initializer,
    )
    model = keras.Model(inputs, softmax_probabilities(logits), name=name)
    _warn_if_large(model)
    return model


def hybrid_fusion(
    wav2vec2_shape=(1024,),
    roberta_shape=(768,),
    num_classes=7,
    projection_units=128,
    attention_units=96,
    cfn_hidden_units=1024,
    residual_units=512,
    dropout=0.3,
    epsilon=EPSILON,
    kernel_initializer="glorot_uniform",
    name="hybrid_fusion",
):
    """Builds `hybrid_fusion`: soft voting of early, late, residual and rsa_cfn heads (333,394,245 parameters).

    The four heads have their own weights (layer prefixes `early_`, `late_`,
    `residual_`, `cfn_`); their logits are stacked (batch, 4, C), LayerNorm-ed over
    the class axis and averaged. Warns like `rsa_cfn` about its size.

    Args:
        wav2vec2_shape: tuple. `(features,)` of the pooled wav2vec2 vector. Defaults to `(1024,)`.
        roberta_shape: tuple. `(features,)` of the pooled RoBERTa vector. Defaults to `(768,)`.
        num_classes: int. Number of classes. Defaults to 7.
        projection_units: int. Projection width of the rsa_cfn branch. Defaults to 128.
        attention_units: int. Query/key size of the rsa_cfn branch's self-attentions. Defaults to 96.
        cfn_hidden_units: int. Hidden width of the rsa_cfn branch. Defaults to 1024.
        residual_units: int. Hidden width of the residual branch. Defaults to 512.
        dropout: float. Dropout of the residual and rsa_cfn branches. Defaults to 0.3.
        epsilon: float. LayerNorm epsilon. Defaults to 1e-5.
        kernel_initializer: str or initializer. Kernel initialiser of the Dense layers.
            Random initialisation of the full-width head peaks at ~3.4 GB (the weights
            and the initialiser's temporaries); `"zeros"` needs only the ~1.3 GB of
            weights and is faster (for `summary()`, `count_params()` or loading weights).
            Defaults to `"glorot_uniform"`.
        name: str. Model name.

    Example:

    >>> hybrid_fusion(projection_units=8, cfn_hidden_units=16).count_params()
    5119269
    """
    num_classes = check_num_classes(num_classes)
    inputs = vector_inputs(wav2vec2_shape, roberta_shape)
    wav, text = inputs["wav2vec2"], inputs["roberta"]
    init = kernel_initializer
    branches = [
        early_logits(wav, text, num_classes, epsilon, prefix="early", kernel_initializer=init),
        late_logits(wav, text, num_classes, epsilon, prefix="late", kernel_initializer=init),
        residual_logits(
            wav, text, num_classes, epsilon, residual_units, dropout, prefix="residual", kernel_initializer=init
        )[0],
        _cfn_logits(
            wav,
            text,
            num_classes,
            epsilon,
            projection_units,
            attention_units,
            cfn_hidden_units,
            dropout,
            prefix="cfn",
            kernel_initializer=init,
        ),
    ]
    logits = vote(branches, num_classes, epsilon, prefix="hybrid")
    model = keras.Model(inputs, softmax_probabilities(logits), name=name)
    _warn_if_large(model)
    return model


# ---------------------------------------------------------------------------
# Attention maps
# ---------------------------------------------------------------------------


def attention_model(model, layer_name="self_attention"):
    """A model from `model`'s inputs to the (batch, D, D) map of its `FeatureSelfAttention` `layer_name`.

    Args:
        model: keras.Model. An `rsa` model (or `rsa_cfn`, with `layer_name="wav_attention"`
            or `"text_attention"`; `hybrid_fusion`: `"cfn_wav_attention"`, ...).
        layer_name: str. Name of the attention layer. Defaults to `"self_attention"`.

    Returns:
        keras.Model with the same inputs.
    """
    try:
        layer = model.get_layer(layer_name)
    except ValueError:
        names = [layer.name for layer in model.layers if isinstance(layer, FeatureSelfAttention)]
        raise ValueError(
            f"Model {model.name!r} has no layer {layer_name!r}. Its FeatureSelfAttention layers: {names}."
        ) from None
    outputs = layer.output
    if not isinstance(outputs, (list, tuple)) or len(outputs) != 2:
        raise ValueError(f"Layer {layer_name!r} was not called with return_attention_scores=True.")
    return keras.Model(model.input, outputs[1], name=f"{model.name}_{layer_name}_map")


def mean_attention(model, inputs, batch_size=16, layer_name="self_attention"):
    """Mean attention map over samples, as the `attn_weights.npy` the original saves for `rsa`.

    Accumulates batch by batch, so the (N, D, D) maps are never held at once
    (at D = 1792 each map is 12.8 MB).

    Args:
        model: keras.Model. See `attention_model`.
        inputs: dict of arrays. The model inputs, e.g. `{"wav2vec2": ..., "roberta": ...}`.
        batch_size: int. Batch size. Defaults to 16.
        layer_name: str. Attention layer. Defaults to `"self_attention"`.

    Returns:
        numpy array (D, D).
    """
    mapper = attention_model(model, layer_name)
    n = len(next(iter(inputs.values())))
    total = None
    for start in range(0, n, batch_size):
        batch = {key: np.asarray(value[start : start + batch_size]) for key, value in inputs.items()}
        maps = np.asarray(mapper.predict_on_batch(batch), dtype=np.float64)
        total = maps.sum(axis=0) if total is None else total + maps.sum(axis=0)
    return total / n


# ---------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------

SPECS = {
    "rsa": head_spec(rsa, "RSA: residual MLP over a feature self-attention (attention map)", "rsa"),
    "rsa_cfn": head_spec(
        rsa_cfn, "RSA-CFN: self-attention + 129x129 outer-product fusion (328M params)", "rsa_cfn", HUGE
    ),
    "hybrid_fusion": head_spec(
        hybrid_fusion, "RSA-CFN hybrid: vote of early, late, residual, rsa_cfn (333M params)", "hybrid_fusion", HUGE
    ),
}
