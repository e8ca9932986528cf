"""What the seed-002 heads (`hyeonho1028/RSA-CFN`) share: input checks, softmax, branches, registry settings.

The original fine-tunes wav2vec2-large-960h-lv60-self (1024-d) and KLUE-RoBERTa-base
(768-d) end to end and puts a head (`MultiModalClassificationHead` in `src/models.py`,
or a unimodal one) on the mean-pooled last hidden states. Here the heads take
precomputed features (`coaudiotext.features.pretrained`), so the backbones are
frozen feature extractors: a documented deviation from the original.

The heads live by family: `coaudiotext.models.fusion_heads` (`early_fusion`,
`late_fusion`, `stack`, `residual`), `coaudiotext.models.rsa_cfn` (`rsa`, `rsa_cfn`,
`hybrid_fusion`), `coaudiotext.models.mlp_mixer` and `coaudiotext.models.unimodal_heads`
(`wav2vec2_cls`, `roberta_cls`). The branches here (`early_logits`, `late_logits`,
`residual_logits`, `vote`) are shared because `hybrid_fusion` votes over the
early, late and residual heads with its own, prefixed copies of their layers.

Every model ends with a float32 softmax (`probabilities`), also under a
`mixed_float16` policy; the original trains on the logits with
`CrossEntropyLoss`, which is the same loss. LayerNorm epsilon is PyTorch's 1e-5.
"""

from __future__ import annotations

import keras
from keras import layers

from coaudiotext.layers.fusion import FeatureSelfAttention
from coaudiotext.models.spec import ModelSpec, TrainSettings

__all__ = [
    "EPSILON",
    "vector_inputs",
    "check_num_classes",
    "prefixed",
    "softmax_probabilities",
    "vote",
    "early_logits",
    "late_logits",
    "residual_sum",
    "residual_logits",
    "SOURCE",
    "TUTORIAL",
    "FUSED",
    "HUGE",
    "head_spec",
]

EPSILON = 1e-5  # PyTorch nn.LayerNorm default (Keras: 1e-3)


def vector_inputs(wav2vec2_shape, roberta_shape):
    """The `wav2vec2` and `roberta` inputs of a pooled-vector head; each shape must be `(features,)`."""
    inputs = {}
    for name, shape in (("wav2vec2", wav2vec2_shape), ("roberta", roberta_shape)):
        shape = tuple(shape)
        if len(shape) != 1 or shape[0] is None:
            raise ValueError(
                f"Expected {name}_shape to be (features,), the pooled feature vector. Received: {name}_shape={shape}."
            )
        inputs[name] = keras.Input(shape, name=name)
    return inputs


def check_num_classes(num_classes):
    """Returns `int(num_classes)`; raises a `ValueError` below 2."""
    if int(num_classes) < 2:
        raise ValueError(f"Expected num_classes >= 2. Received: num_classes={num_classes!r}")
    return int(num_classes)


def prefixed(prefix, name):
    """`<prefix>_<name>`, or `name` without a prefix (the layer names of `hybrid_fusion`'s branches)."""
    return f"{prefix}_{name}" if prefix else name


def softmax_probabilities(logits):
    """The model output: softmax of the logits, named `probabilities`."""
    # float32 even under a mixed_float16 policy.
    return layers.Activation("softmax", dtype="float32", name="probabilities")(logits)


def vote(logits_list, num_classes, epsilon, prefix):
    """Stacks (batch, C) logits to (batch, k, C), LayerNorm over classes, mean over k."""
    stacked = [
        layers.Reshape((1, num_classes), name=prefixed(prefix, f"expand_{i}"))(logits)
        for i, logits in enumerate(logits_list)
    ]
    stacked = layers.Concatenate(axis=1, name=prefixed(prefix, "stack"))(stacked)  # (batch, k, C)
    normed = layers.LayerNormalization(epsilon=epsilon, name=prefixed(prefix, "norm"))(stacked)
    return layers.GlobalAveragePooling1D(name=prefixed(prefix, "mean"))(normed)  # (batch, C)


def early_logits(wav, text, num_classes, epsilon, prefix="", kernel_initializer="glorot_uniform"):
    """`early_fusion`'s branch: concat -> LayerNorm -> Linear; returns the logits (batch, C)."""
    joint = layers.Concatenate(name=prefixed(prefix, "concat"))([wav, text])  # (batch, W + T)
    joint = layers.LayerNormalization(epsilon=epsilon, name=prefixed(prefix, "norm"))(joint)
    return layers.Dense(num_classes, kernel_initializer=kernel_initializer, name=prefixed(prefix, "classifier"))(joint)


def late_logits(wav, text, num_classes, epsilon, prefix="", kernel_initializer="glorot_uniform"):
    """`late_fusion`'s branch: one Linear per modality, `vote` over the two; returns the logits (batch, C)."""
    dense = {"kernel_initializer": kernel_initializer}
    wav_logits = layers.Dense(num_classes, name=prefixed(prefix, "wave_classifier"), **dense)(wav)
    text_logits = layers.Dense(num_classes, name=prefixed(prefix, "text_classifier"), **dense)(text)
    return vote([wav_logits, text_logits], num_classes, epsilon, prefix)


def residual_sum(x, block_input, hidden_units, dropout, prefix, kernel_initializer="glorot_uniform"):
    """`x + res_block2(concat[block_input, res_block(block_input)])`, each block Linear -> ReLU -> Dropout."""
    width = x.shape[-1]
    dense = {"activation": "relu", "kernel_initializer": kernel_initializer}
    res = layers.Dense(hidden_units, name=prefixed(prefix, "res_block"), **dense)(block_input)
    res = layers.Dropout(dropout, name=prefixed(prefix, "res_block_dropout"))(res)
    res_concat = layers.Concatenate(name=prefixed(prefix, "res_concat"))([block_input, res])
    res2 = layers.Dense(width, name=prefixed(prefix, "res_block2"), **dense)(res_concat)
    res2 = layers.Dropout(dropout, name=prefixed(prefix, "res_block2_dropout"))(res2)
    return layers.Add(name=prefixed(prefix, "residual_add"))([x, res2])


def residual_logits(
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
    """`residual`'s branch (`rsa`'s with `attention_units`); returns `(logits, attention map or None)`."""
    joint = layers.Concatenate(name=prefixed(prefix, "concat"))([wav, text])
    x = layers.LayerNormalization(epsilon=epsilon, name=prefixed(prefix, "norm"))(joint)  # (batch, D)
    attention = None
    block_input = x
    if attention_units:
        block_input, attention = FeatureSelfAttention(attention_units, name=prefixed(prefix, "self_attention"))(
            x, return_attention_scores=True
        )  # (batch, D), (batch, D, D)
    summed = residual_sum(x, block_input, hidden_units, dropout, prefix, kernel_initializer)
    classifier = layers.Dense(num_classes, kernel_initializer=kernel_initializer, name=prefixed(prefix, "classifier"))
    logits = classifier(summed)
    return logits, attention


# ---------------------------------------------------------------------------
# Registry settings
# ---------------------------------------------------------------------------

SOURCE = "hyeonho1028/RSA-CFN src/models.py MultiModalClassificationHead"
TUTORIAL = "tutorials/09_rsa_cfn.py"
POOLED = {"wav2vec2": (1024,), "roberta": (768,)}
# AdamW (weight_decay 0.0, PyTorch eps 1e-8), lr 1e-5, 10 epochs; batch 6 for the fused
# models (`use_concat`), 4 for rsa_cfn / hybrid_fusion, 16 for the unimodal ones.
FUSED = TrainSettings(
    optimizer="adamw", learning_rate=1e-5, epsilon=1e-8, batch_size=6, epochs=10, weight_decay=0.0, demo_epochs=10,
    demo_learning_rate=1e-3,
)
HUGE = TrainSettings(
    optimizer="adamw", learning_rate=1e-5, epsilon=1e-8, batch_size=4, epochs=10, weight_decay=0.0, demo_epochs=2,
    demo_learning_rate=1e-3,
)


def head_spec(builder, description, method, train=FUSED, inputs=("wav2vec2", "roberta"), shapes=None):
    """The `ModelSpec` of a `MultiModalClassificationHead` head (`method`: the original's name of it)."""
    return ModelSpec(
        builder=builder,
        inputs=inputs,
        default_shapes=shapes or POOLED,
        source=f"{SOURCE} ('{method}')" if method else SOURCE,
        tutorial=TUTORIAL,
        description=description,
        train=train,
    )

