"""Seed 002: the RSA-CFN fusion heads and unimodal baselines (`hyeonho1028/RSA-CFN`).

The original fine-tunes wav2vec2-large-960h-lv60-self (1024-d) and KLUE-RoBERTa-base
(768-d) end to end and puts one of eight fusion heads (`MultiModalClassificationHead`
in `src/models.py`) on the mean-pooled last hidden states. Here the heads take
precomputed features (`coaudiotext.features.pretrained`), so the backbones are
frozen feature extractors: a documented deviation from the original.

| key | head | parameters (W=1024, T=768, 7 classes) |
|---|---|---|
| `early_fusion` | concat -> LayerNorm -> Linear | 16,135 |
| `late_fusion` | Linear per modality -> stack -> LayerNorm over classes -> mean | 12,572 |
| `stack` | concat -> LayerNorm -> 5 dropouts (p=.5) through one Linear -> mean | 16,135 |
| `residual` | LayerNorm(concat) + two-layer residual MLP (512) -> Linear | 5,064,711 |
| `rsa` | `residual` whose MLP reads a feature self-attention of the input | 5,065,737 |
| `rsa_cfn` | project to 128, self-attend, LayerNorm, outer product with 1s (129x129), residual MLP | 328,300,813 |
| `hybrid_fusion` | early + late + residual + rsa_cfn -> stack -> LayerNorm -> mean | 333,394,245 |
| `mlp_mixer` | per-modality Linear(256) on sequences, one Mixer block over 256 + 299 tokens | 1,344,207 |
| `wav2vec2_cls` | dropout -> Linear(1024) -> tanh -> dropout -> Linear | 1,056,775 |
| `roberta_cls` | LayerNorm -> Linear | 6,919 |

Every model ends with a float32 softmax (`probabilities`), also under a
`mixed_float16` policy; the original trains on the logits with
`CrossEntropyLoss`, which is the same loss. LayerNorm epsilon is PyTorch's 1e-5.

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
from coaudiotext.models.spec import ModelSpec, TrainSettings

__all__ = [
    "early_fusion",
    "late_fusion",
    "stack",
    "residual",
    "rsa",
    "rsa_cfn",
    "hybrid_fusion",
    "mlp_mixer",
    "wav2vec2_cls",
    "roberta_cls",
    "expected_param_count",
    "attention_model",
    "mean_attention",
    "LargeModelWarning",
    "SPECS",
]

EPSILON = 1e-5  # PyTorch nn.LayerNorm default (Keras: 1e-3)
LARGE_MODEL_PARAMS = 50_000_000  # builders warn above this many parameters


class LargeModelWarning(UserWarning):
    """A head is large enough (hundreds of millions of parameters) to exhaust memory."""


# ---------------------------------------------------------------------------
# Parameter counts, computed from the layer shapes (no weights allocated)
# ---------------------------------------------------------------------------


def _dense(n_in, n_out):
    return n_in * n_out + n_out


def _residual_count(width, hidden_units, num_classes):
    # LayerNorm(D) + Linear(D->h) + Linear(D+h->D) + Linear(D->C)
    return 2 * width + _dense(width, hidden_units) + _dense(width + hidden_units, width) + _dense(width, num_classes)


def _cfn_count(wav_dim, text_dim, num_classes, projection_units, attention_units, hidden_units):
    fused = (projection_units + 1) ** 2
    return (
        _dense(wav_dim, projection_units)
        + _dense(text_dim, projection_units)
        + 2 * (4 * attention_units + 2)  # two FeatureSelfAttention
        + 2 * 2 * projection_units  # two LayerNorm
        + _dense(fused, hidden_units)
        + _dense(fused + hidden_units, fused)
        + _dense(fused, hidden_units)
        + _dense(hidden_units, num_classes)
    )


def expected_param_count(key, wav_dim=1024, text_dim=768, num_classes=7, **options):
    """Parameters of a head, computed from its layer shapes without building it.

    Args:
        key: str. One of the keys of `SPECS`.
        wav_dim: int. wav2vec2 feature size. Defaults to 1024.
        text_dim: int. RoBERTa feature size. Defaults to 768.
        num_classes: int. Number of classes. Defaults to 7.
        **options: the builder's width options (`projection_units`, `attention_units`,
            `hidden_units`, `text_frames`, `audio_frames`, ...), defaults as the builders'.

    Returns:
        int.

    Example:

    >>> expected_param_count("rsa_cfn")
    328300813
    >>> expected_param_count("rsa_cfn", projection_units=32)
    4599949
    """
    width = wav_dim + text_dim
    classes = num_classes
    early = 2 * width + _dense(width, classes)
    late = _dense(wav_dim, classes) + _dense(text_dim, classes) + 2 * classes
    residual_count = _residual_count(width, options.get("hidden_units", 512), classes)
    cfn = _cfn_count(
        wav_dim,
        text_dim,
        classes,
        options.get("projection_units", 128),
        options.get("attention_units", 96),
        options.get("cfn_hidden_units" if key == "hybrid_fusion" else "hidden_units", 1024),
    )
    if key in ("early_fusion", "stack"):
        return early
    if key == "late_fusion":
        return late
    if key == "residual":
        return residual_count
    if key == "rsa":
        return residual_count + 4 * options.get("attention_units", 256) + 2
    if key == "rsa_cfn":
        return cfn
    if key == "hybrid_fusion":
        return early + late + _residual_count(width, options.get("residual_units", 512), classes) + cfn + 2 * classes
    if key == "mlp_mixer":
        units = options.get("hidden_units", 256)
        length = options.get("text_frames", 256) + options.get("audio_frames", 299)
        blocks = options.get("num_blocks", 1)
        block = 2 * units + 2 * _dense(length, length) + 2 * _dense(units, units)
        if options.get("fix_mixer_norm", False):
            block += 2 * units
        classifier_units = options.get("classifier_units", 512)
        return (
            _dense(wav_dim, units)
            + _dense(text_dim, units)
            + blocks * block
            + 2 * units
            + _dense(units, classifier_units)
            + _dense(classifier_units, classes)
        )
    if key == "wav2vec2_cls":
        hidden = options.get("hidden_units") or wav_dim
        return _dense(wav_dim, hidden) + _dense(hidden, classes)
    if key == "roberta_cls":
        return 2 * text_dim + _dense(text_dim, classes)
    raise ValueError(f"Unknown RSA-CFN head {key!r}. Expected one of: {', '.join(SPECS)}.")


def _warn_if_large(key, count):
    if count <= LARGE_MODEL_PARAMS:
        return
    gib = 1024**3
    weights = 4 * count / gib
    warnings.warn(
        f"{key} has {count:,} parameters: {weights:.2f} GiB of float32 weights, "
        f"{3 * weights:.2f} GiB with Adam's two moment slots ({4 * weights:.2f} GiB with the gradients "
        f"while training). Pass a smaller projection_units for a lighter head "
        f"(projection_units=32 gives {expected_param_count('rsa_cfn', projection_units=32):,} for rsa_cfn).",
        LargeModelWarning,
        stacklevel=3,
    )


# ---------------------------------------------------------------------------
# Shared pieces
# ---------------------------------------------------------------------------


def _vector_inputs(wav2vec2_shape, roberta_shape):
    inputs = {}
    for name, shape in (("wav2vec2", wav2vec2_shape), ("roberta", roberta_shape)):
        shape = tuple(shape)
        if len(shape) != 1 or shape[0] is None:
            raise ValueError(
                f"Expected {name}_shape to be (features,), the pooled feature vector. Received: {name}_shape={shape}."
            )
        inputs[name] = keras.Input(shape, name=name)
    return inputs


def _check_num_classes(num_classes):
    if int(num_classes) < 2:
        raise ValueError(f"Expected num_classes >= 2. Received: num_classes={num_classes!r}")
    return int(num_classes)


def _prefixed(prefix, name):
    return f"{prefix}_{name}" if prefix else name


def _probabilities(logits):
    # float32 even under a mixed_float16 policy.
    return layers.Activation("softmax", dtype="float32", name="probabilities")(logits)


def _vote(logits_list, num_classes, epsilon, prefix):
    """Stacks (batch, C) logits to (batch, k, C), LayerNorm over classes, mean over k."""
    stacked = [
        layers.Reshape((1, num_classes), name=_prefixed(prefix, f"expand_{i}"))(logits)
        for i, logits in enumerate(logits_list)
    ]
    stacked = layers.Concatenate(axis=1, name=_prefixed(prefix, "stack"))(stacked)  # (batch, k, C)
    normed = layers.LayerNormalization(epsilon=epsilon, name=_prefixed(prefix, "norm"))(stacked)
    return layers.GlobalAveragePooling1D(name=_prefixed(prefix, "mean"))(normed)  # (batch, C)


def _early_logits(wav, text, num_classes, epsilon, prefix="", kernel_initializer="glorot_uniform"):
    joint = layers.Concatenate(name=_prefixed(prefix, "concat"))([wav, text])  # (batch, W + T)
    joint = layers.LayerNormalization(epsilon=epsilon, name=_prefixed(prefix, "norm"))(joint)
    return layers.Dense(num_classes, kernel_initializer=kernel_initializer, name=_prefixed(prefix, "classifier"))(joint)


def _late_logits(wav, text, num_classes, epsilon, prefix="", kernel_initializer="glorot_uniform"):
    dense = {"kernel_initializer": kernel_initializer}
    wav_logits = layers.Dense(num_classes, name=_prefixed(prefix, "wave_classifier"), **dense)(wav)
    text_logits = layers.Dense(num_classes, name=_prefixed(prefix, "text_classifier"), **dense)(text)
    return _vote([wav_logits, text_logits], num_classes, epsilon, prefix)


def _residual_sum(x, block_input, hidden_units, dropout, prefix, kernel_initializer="glorot_uniform"):
    """`x + res_block2(concat[block_input, res_block(block_input)])`, each block Linear -> ReLU -> Dropout."""
    width = x.shape[-1]
    dense = {"activation": "relu", "kernel_initializer": kernel_initializer}
    res = layers.Dense(hidden_units, name=_prefixed(prefix, "res_block"), **dense)(block_input)
    res = layers.Dropout(dropout, name=_prefixed(prefix, "res_block_dropout"))(res)
    res_concat = layers.Concatenate(name=_prefixed(prefix, "res_concat"))([block_input, res])
    res2 = layers.Dense(width, name=_prefixed(prefix, "res_block2"), **dense)(res_concat)
    res2 = layers.Dropout(dropout, name=_prefixed(prefix, "res_block2_dropout"))(res2)
    return layers.Add(name=_prefixed(prefix, "residual_add"))([x, res2])


def _residual_logits(
    wav,
    text,
    num_classes,
    epsilon,
    hidden_units,
    dropout,
    attention_units=None,
    prefix="",
    kernel_initializer="glorot_uniform",
):
    joint = layers.Concatenate(name=_prefixed(prefix, "concat"))([wav, text])
    x = layers.LayerNormalization(epsilon=epsilon, name=_prefixed(prefix, "norm"))(joint)  # (batch, D)
    attention = None
    block_input = x
    if attention_units:
        block_input, attention = FeatureSelfAttention(attention_units, name=_prefixed(prefix, "self_attention"))(
            x, return_attention_scores=True
        )  # (batch, D), (batch, D, D)
    summed = _residual_sum(x, block_input, hidden_units, dropout, prefix, kernel_initializer)
    classifier = layers.Dense(num_classes, kernel_initializer=kernel_initializer, name=_prefixed(prefix, "classifier"))
    logits = classifier(summed)
    return logits, attention


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
    dense = {"kernel_initializer": kernel_initializer}
    vectors = []
    for modality, source in (("wav", wav), ("text", text)):
        projection = layers.Dense(projection_units, name=_prefixed(prefix, f"{modality}_proj"), **dense)
        projected = projection(source)  # (batch, P)
        attended = FeatureSelfAttention(attention_units, name=_prefixed(prefix, f"{modality}_attention"))(
            projected, return_attention_scores=True
        )[0]
        summed = layers.Add(name=_prefixed(prefix, f"{modality}_attention_add"))([attended, projected])
        vectors.append(layers.LayerNormalization(epsilon=epsilon, name=_prefixed(prefix, f"{modality}_norm"))(summed))
    cross = TensorFusion(name=_prefixed(prefix, "cross_fusion"))(vectors)  # (batch, (P + 1) ** 2)
    summed = _residual_sum(cross, cross, hidden_units, dropout, prefix, kernel_initializer)
    hidden = layers.Dense(hidden_units, activation="relu", name=_prefixed(prefix, "classifier_hidden"), **dense)(summed)
    hidden = layers.Dropout(dropout, name=_prefixed(prefix, "classifier_dropout"))(hidden)
    return layers.Dense(num_classes, name=_prefixed(prefix, "classifier"), **dense)(hidden)


# ---------------------------------------------------------------------------
# Builders
# ---------------------------------------------------------------------------


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
    num_classes = _check_num_classes(num_classes)
    # Inputs
    inputs = _vector_inputs(wav2vec2_shape, roberta_shape)
    # Layers
    logits = _early_logits(inputs["wav2vec2"], inputs["roberta"], num_classes, epsilon)
    # Model
    return keras.Model(inputs, _probabilities(logits), name=name)


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
    num_classes = _check_num_classes(num_classes)
    inputs = _vector_inputs(wav2vec2_shape, roberta_shape)
    logits = _late_logits(inputs["wav2vec2"], inputs["roberta"], num_classes, epsilon)
    return keras.Model(inputs, _probabilities(logits), name=name)


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
    num_classes = _check_num_classes(num_classes)
    if int(num_dropouts) < 1:
        raise ValueError(f"Expected num_dropouts >= 1. Received: num_dropouts={num_dropouts!r}")
    inputs = _vector_inputs(wav2vec2_shape, roberta_shape)
    joint = layers.Concatenate(name="concat")([inputs["wav2vec2"], inputs["roberta"]])
    joint = layers.LayerNormalization(epsilon=epsilon, name="norm")(joint)  # (batch, D)
    classifier = layers.Dense(num_classes, name="classifier")  # shared by every dropout sample
    samples = [classifier(layers.Dropout(dropout, name=f"dropout_{i}")(joint)) for i in range(int(num_dropouts))]
    logits = layers.Average(name="dropout_mean")(samples) if len(samples) > 1 else samples[0]
    return keras.Model(inputs, _probabilities(logits), name=name)


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
    num_classes = _check_num_classes(num_classes)
    inputs = _vector_inputs(wav2vec2_shape, roberta_shape)
    logits, _ = _residual_logits(inputs["wav2vec2"], inputs["roberta"], num_classes, epsilon, hidden_units, dropout)
    return keras.Model(inputs, _probabilities(logits), name=name)


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
    num_classes = _check_num_classes(num_classes)
    inputs = _vector_inputs(wav2vec2_shape, roberta_shape)
    logits, attention = _residual_logits(
        inputs["wav2vec2"], inputs["roberta"], num_classes, epsilon, hidden_units, dropout, attention_units
    )
    probabilities = _probabilities(logits)
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
    (`LargeModelWarning`) above 50M parameters; `projection_units` shrinks it.

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
            Random initialisation of the full-width head takes ~20 s and ~4 GB of
            temporaries on 2 CPU cores; `"zeros"` builds it at once (for `summary()`,
            `count_params()` or loading weights). Defaults to `"glorot_uniform"`.
        name: str. Model name.

    Example:

    >>> rsa_cfn(projection_units=8, hidden_units=16).count_params()
    25837
    """
    num_classes = _check_num_classes(num_classes)
    inputs = _vector_inputs(wav2vec2_shape, roberta_shape)
    _warn_if_large(
        name,
        expected_param_count(
            "rsa_cfn",
            inputs["wav2vec2"].shape[-1],
            inputs["roberta"].shape[-1],
            num_classes,
            projection_units=projection_units,
            attention_units=attention_units,
            hidden_units=hidden_units,
        ),
    )
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
    return keras.Model(inputs, _probabilities(logits), name=name)


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
            Random initialisation of the full-width head takes ~20 s and ~4 GB of
            temporaries on 2 CPU cores; `"zeros"` builds it at once (for `summary()`,
            `count_params()` or loading weights). Defaults to `"glorot_uniform"`.
        name: str. Model name.

    Example:

    >>> hybrid_fusion(projection_units=8, cfn_hidden_units=16).count_params()
    5119269
    """
    num_classes = _check_num_classes(num_classes)
    inputs = _vector_inputs(wav2vec2_shape, roberta_shape)
    _warn_if_large(
        name,
        expected_param_count(
            "hybrid_fusion",
            inputs["wav2vec2"].shape[-1],
            inputs["roberta"].shape[-1],
            num_classes,
            projection_units=projection_units,
            attention_units=attention_units,
            cfn_hidden_units=cfn_hidden_units,
            residual_units=residual_units,
        ),
    )
    wav, text = inputs["wav2vec2"], inputs["roberta"]
    init = kernel_initializer
    branches = [
        _early_logits(wav, text, num_classes, epsilon, prefix="early", kernel_initializer=init),
        _late_logits(wav, text, num_classes, epsilon, prefix="late", kernel_initializer=init),
        _residual_logits(
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
    logits = _vote(branches, num_classes, epsilon, prefix="hybrid")
    return keras.Model(inputs, _probabilities(logits), name=name)


def _mlp_block(x, units, dropout, name):
    """The Mixer's `MlpBlock`: Linear -> GELU -> Linear -> Dropout on the last axis."""
    x = layers.Dense(units, activation="gelu", name=f"{name}_fc")(x)
    x = layers.Dense(units, name=f"{name}_fc2")(x)
    return layers.Dropout(dropout, name=f"{name}_dropout")(x)


def _mixer_block(x, dropout, epsilon, fix_mixer_norm, name):
    """One `MixerBlock` (token mixing over the sequence, then channel mixing), original quirk by default."""
    length, channels = x.shape[1], x.shape[2]
    norm = layers.LayerNormalization(epsilon=epsilon, name=f"{name}_norm")
    y = norm(x)
    y = layers.Permute((2, 1), name=f"{name}_to_tokens_last")(y)  # (batch, channels, length)
    y = _mlp_block(y, length, dropout, f"{name}_sequence_mixing")
    y = layers.Permute((2, 1), name=f"{name}_to_channels_last")(y)  # (batch, length, channels)
    x = layers.Add(name=f"{name}_token_residual")([x, y])
    if fix_mixer_norm:
        y = layers.LayerNormalization(epsilon=epsilon, name=f"{name}_channel_norm")(x)  # MLP-Mixer: LN(x)
    else:
        y = norm(y)  # original: the same LayerNorm, applied to the token-mixing output y, not x
    y = _mlp_block(y, channels, dropout, f"{name}_modal_mixing")
    return layers.Add(name=f"{name}_channel_residual")([y, x])


def mlp_mixer(
    wav2vec2_seq_shape=(299, 1024),
    roberta_seq_shape=(256, 768),
    num_classes=7,
    hidden_units=256,
    classifier_units=512,
    audio_frames=299,
    num_blocks=1,
    dropout=0.1,
    fix_mixer_norm=False,
    epsilon=EPSILON,
    name="mlp_mixer",
):
    """Builds `mlp_mixer`, the MLP-Mixer head over both sequences (1,344,207 parameters).

    From HumanUnderstandingOpen, as RSA-CFN's `MultiModalMixer`:

        a = Linear(W -> 256)(wav2vec2 frames), zero-padded after the projection to 299 frames
        t = Linear(T -> 256)(RoBERTa tokens)                       # 256 tokens (max_length padding)
        x = concat_time(t, a)                                      # (batch, 256 + 299 = 555, 256)
        x = MixerBlock(x); x = LayerNorm(x); x = mean over time
        logits = Linear(512 -> C)(Dropout(GELU(Linear(256 -> 512)(Dropout(x)))))

    The original's MixerBlock has a LayerNorm quirk kept by default: after token
    mixing (`x = x + y`) the channel-mixing MLP reads `LN(y)` instead of `LN(x)`,
    with the *same* LayerNorm both times. `fix_mixer_norm=True` gives the MLP-Mixer
    block (a second LayerNorm on x; +2 * hidden_units parameters).

    96,000 samples (6 s at 16 kHz, the original's `audio_max_lens`) give 299
    wav2vec2 frames; the original pads shorter batches with zeros after the
    projection, which `audio_frames` reproduces for inputs with fewer frames.

    Args:
        wav2vec2_seq_shape: tuple. `(frames, features)` of the wav2vec2 sequence. Defaults to `(299, 1024)`.
        roberta_seq_shape: tuple. `(tokens, features)` of the RoBERTa sequence. Defaults to `(256, 768)`.
        num_classes: int. Number of classes. Defaults to 7.
        hidden_units: int. Projection / channel width. Defaults to 256.
        classifier_units: int. Hidden width of the classifier. Defaults to 512.
        audio_frames: int. Audio length after zero-padding (the mixer's token count is
            tokens + audio_frames). Defaults to 299.
        num_blocks: int. Mixer blocks. Defaults to 1.
        dropout: float. Dropout of the mixer and the classifier. Defaults to 0.1.
        fix_mixer_norm: bool. Use the standard MLP-Mixer normalisation. Defaults to False (original).
        epsilon: float. LayerNorm epsilon. Defaults to 1e-5.
        name: str. Model name.

    Inputs: `wav2vec2_seq` (batch, frames, W), `roberta_seq` (batch, tokens, T).
    Output: probabilities (batch, num_classes).

    Example:

    >>> mlp_mixer().count_params()
    1344207
    """
    num_classes = _check_num_classes(num_classes)
    shapes = {}
    for input_name, shape in (("wav2vec2_seq", wav2vec2_seq_shape), ("roberta_seq", roberta_seq_shape)):
        shape = tuple(shape)
        if len(shape) != 2 or None in shape:
            raise ValueError(
                f"Expected {input_name}_shape to be (frames, features) with a fixed number of frames "
                f"(the mixer mixes over time). Received: {input_name}_shape={shape}."
            )
        shapes[input_name] = shape
    frames = shapes["wav2vec2_seq"][0]
    if frames > audio_frames:
        raise ValueError(
            f"wav2vec2_seq has {frames} frames, more than audio_frames={audio_frames}. Truncate the audio "
            "(the original keeps 96,000 samples = 299 frames) or raise audio_frames."
        )
    # Inputs
    inputs = {name_: keras.Input(shape, name=name_) for name_, shape in shapes.items()}

    # Layers
    audio = layers.Dense(hidden_units, name="audio_projection")(inputs["wav2vec2_seq"])  # (batch, frames, E)
    text = layers.Dense(hidden_units, name="text_projection")(inputs["roberta_seq"])  # (batch, tokens, E)
    if frames < audio_frames:
        audio = layers.ZeroPadding1D((0, audio_frames - frames), name="audio_padding")(audio)
    x = layers.Concatenate(axis=1, name="concat_time")([text, audio])  # (batch, tokens + audio_frames, E)
    for i in range(int(num_blocks)):
        x = _mixer_block(x, dropout, epsilon, fix_mixer_norm, name=f"mixer_{i}")
    x = layers.LayerNormalization(epsilon=epsilon, name="norm")(x)
    x = layers.GlobalAveragePooling1D(name="mean_time")(x)  # (batch, E)
    x = layers.Dropout(dropout, name="classifier_dropout")(x)
    x = layers.Dense(classifier_units, activation="gelu", name="classifier_hidden")(x)
    x = layers.Dropout(dropout, name="classifier_hidden_dropout")(x)
    logits = layers.Dense(num_classes, name="classifier")(x)

    # Model
    return keras.Model(inputs, _probabilities(logits), name=name)


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
    num_classes = _check_num_classes(num_classes)
    shape = tuple(wav2vec2_shape)
    if len(shape) != 1:
        raise ValueError(f"Expected wav2vec2_shape to be (features,). Received: wav2vec2_shape={shape}.")
    wav = keras.Input(shape, name="wav2vec2")
    x = layers.Dropout(dropout, name="dropout")(wav)
    x = layers.Dense(hidden_units or shape[0], activation="tanh", name="dense")(x)
    x = layers.Dropout(dropout, name="dense_dropout")(x)
    logits = layers.Dense(num_classes, name="out_proj")(x)
    return keras.Model({"wav2vec2": wav}, _probabilities(logits), name=name)


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
    num_classes = _check_num_classes(num_classes)
    shape = tuple(roberta_shape)
    if len(shape) != 1:
        raise ValueError(f"Expected roberta_shape to be (features,). Received: roberta_shape={shape}.")
    text = keras.Input(shape, name="roberta")
    x = layers.LayerNormalization(epsilon=epsilon, name="norm")(text)
    logits = layers.Dense(num_classes, name="classifier")(x)
    return keras.Model({"roberta": text}, _probabilities(logits), name=name)


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

_SOURCE = "hyeonho1028/RSA-CFN src/models.py MultiModalClassificationHead"
_TUTORIAL = "tutorials/09_rsa_cfn.py"
_POOLED = {"wav2vec2": (1024,), "roberta": (768,)}
# AdamW (weight_decay 0.0, PyTorch eps 1e-8), lr 1e-5, 10 epochs; batch 6 for the fused
# models (`use_concat`), 4 for rsa_cfn / hybrid_fusion, 16 for the unimodal ones.
_FUSED = TrainSettings(
    optimizer="adamw", learning_rate=1e-5, epsilon=1e-8, batch_size=6, epochs=10, weight_decay=0.0, demo_epochs=10,
    demo_learning_rate=1e-3,
)
_HUGE = TrainSettings(
    optimizer="adamw", learning_rate=1e-5, epsilon=1e-8, batch_size=4, epochs=10, weight_decay=0.0, demo_epochs=2,
    demo_learning_rate=1e-3,
)


def _spec(builder, description, method, train=_FUSED, inputs=("wav2vec2", "roberta"), shapes=None):
    return ModelSpec(
        builder=builder,
        inputs=inputs,
        default_shapes=shapes or _POOLED,
        source=f"{_SOURCE} ('{method}')" if method else _SOURCE,
        tutorial=_TUTORIAL,
        description=description,
        train=train,
    )


SPECS = {
    "early_fusion": _spec(early_fusion, "RSA-CFN early fusion: concat -> LayerNorm -> Linear", "early_fusion"),
    "late_fusion": _spec(
        late_fusion, "RSA-CFN late fusion: per-modality Linear, LayerNorm-ed logits averaged", "late_fusion"
    ),
    "stack": _spec(stack, "RSA-CFN stack: early fusion with 5-sample dropout", "stack"),
    "residual": _spec(residual, "RSA-CFN residual MLP on LayerNorm(concat)", "residual"),
    "rsa": _spec(rsa, "RSA: residual MLP over a feature self-attention (attention map)", "rsa"),
    "rsa_cfn": _spec(rsa_cfn, "RSA-CFN: self-attention + 129x129 outer-product fusion (328M params)", "rsa_cfn", _HUGE),
    "hybrid_fusion": _spec(
        hybrid_fusion, "RSA-CFN hybrid: vote of early, late, residual, rsa_cfn (333M params)", "hybrid_fusion", _HUGE
    ),
    "mlp_mixer": _spec(
        mlp_mixer,
        "MLP-Mixer over wav2vec2 frames + RoBERTa tokens (HumanUnderstandingOpen)",
        "mlp_mixer",
        inputs=("wav2vec2_seq", "roberta_seq"),
        shapes={"wav2vec2_seq": (299, 1024), "roberta_seq": (256, 768)},
    ),
    "wav2vec2_cls": ModelSpec(
        builder=wav2vec2_cls,
        inputs=("wav2vec2",),
        default_shapes={"wav2vec2": (1024,)},
        source="hyeonho1028/RSA-CFN src/models.py Wav2Vec2ForSpeechClassification (wav only)",
        tutorial=_TUTORIAL,
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
        tutorial=_TUTORIAL,
        description="RoBERTa-only head: LayerNorm -> Linear",
        train=TrainSettings(
            optimizer="adamw", learning_rate=1e-5, epsilon=1e-8, batch_size=16, epochs=10, weight_decay=0.0,
            demo_epochs=10, demo_learning_rate=1e-3,
        ),
    ),
}
