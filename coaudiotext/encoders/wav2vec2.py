"""wav2vec2 in Keras 3 (`keras.ops` / `keras.layers` only), loading transformers checkpoints.

A port of transformers' `Wav2Vec2Model` (5.x) that trains and runs on any Keras backend (TensorFlow,
JAX, PyTorch), so a Keras user can fine-tune wav2vec2 end to end instead of freezing it as
`coaudiotext.features.pretrained` does.

Parts, from the waveform up (`wav2vec2_encoder(...)` wires them into one functional model):

- `Wav2Vec2FeatureEncoder`: the conv feature encoder, `len(conv_dim)` `Conv1D` layers (`"valid"`
  padding, `conv_bias`), each followed by the activation. `feat_extract_norm="group"` (base models):
  a `GroupNormalization` with one group per channel (over time) after the *first* conv only;
  `"layer"` (large-lv60 models): a `LayerNormalization` over channels after *every* conv.
- `Wav2Vec2FrameMask`: the frame mask from the sample mask, by `_get_feat_extract_output_lengths`:
  `length = (length - kernel) // stride + 1` per conv; frame t is real when `t < length`.
- `Wav2Vec2FeatureProjection`: LayerNorm + Dense to `hidden_size` + dropout.
- `Wav2Vec2PositionalConvEmbedding`: the convolutional relative position embedding, a grouped conv
  (`num_conv_pos_embeddings` taps, `num_conv_pos_embedding_groups` groups, "same" padding with the last
  step dropped for even kernels) and GELU, **with weight norm kept as two weights**: `weight_g` (kernel,)
  and `weight_v` (kernel, hidden / groups, hidden); the kernel is `g * v / ||v||`, the norm over all axes
  but the kernel-tap axis (PyTorch's `weight_norm(dim=2)`). Fine-tuning therefore updates g and v as
  PyTorch does (folding them into one kernel would give the same outputs but other gradients).
- `Wav2Vec2EncoderLayer`: one Transformer block, post-LN (`do_stable_layer_norm=False`, base:
  `LN(x + FF(LN(x + Attn(x))))`) or pre-LN (`True`, large-lv60: `x + Attn(LN(x))`, then `x + FF(LN(x))`).
- The encoder: padded frames zeroed, `x + pos_conv(x)`, then a LayerNorm *before* the blocks (post-LN) or
  *after* them (pre-LN), dropout, the blocks.

The model takes `{"input_values": (batch, samples) float32, "attention_mask": (batch, samples) int32}`
(1 = real sample; all ones = transformers without a mask) and returns a dict:

- `"last_hidden_state"`: `(batch, frames, hidden_size)`;
- `"hidden_states"`: list of `num_hidden_layers + 1` tensors as transformers 5 `output_hidden_states`:
  the input of the first block, then the output of every block (for pre-LN models the last one is
  *before* the final LayerNorm, i.e. differs from `last_hidden_state`, as in transformers 5);
- `"frame_mask"`: `(batch, frames)` float, 1 for frames of real samples.

Config keys read from `config.json` (`config_to_args`): `hidden_size`, `num_hidden_layers`,
`num_attention_heads`, `intermediate_size`, `hidden_act`, `hidden_dropout`, `activation_dropout`,
`attention_dropout`, `feat_proj_dropout`, `layer_norm_eps`, `feat_extract_norm`,
`feat_extract_activation`, `conv_dim`, `conv_kernel`, `conv_stride`, `conv_bias`,
`num_conv_pos_embeddings`, `num_conv_pos_embedding_groups`, `do_stable_layer_norm`. Checked and refused
when set: `add_adapter`, `adapter_attn_dim`, `model_type` other than `"wav2vec2"`.

Name table (PyTorch `Wav2Vec2Model` name -> Keras weight; the `wav2vec2.` prefix of task checkpoints
such as `Wav2Vec2ForCTC` is stripped; Linear weights transposed, conv kernels permuted
`(out, in, k) -> (k, in, out)`):

    feature_extractor.conv_layers.{i}.conv.{weight,bias}        feature_encoder/conv_{i}/{kernel,bias}
    feature_extractor.conv_layers.{i}.layer_norm.{weight,bias}  feature_encoder/conv_{i}_norm/{gamma,beta}
    feature_projection.layer_norm.{weight,bias}                  feature_projection/layer_norm/{gamma,beta}
    feature_projection.projection.{weight,bias}                  feature_projection/projection/{kernel,bias}
    encoder.pos_conv_embed.conv.parametrizations.weight.original0 (or .weight_g)   pos_conv_embed/weight_g
    encoder.pos_conv_embed.conv.parametrizations.weight.original1 (or .weight_v)   pos_conv_embed/weight_v
    encoder.pos_conv_embed.conv.bias                             pos_conv_embed/bias
    encoder.layer_norm.{weight,bias}                             encoder_layer_norm/{gamma,beta}
    encoder.layers.{i}.attention.{q,k,v,out}_proj.{weight,bias}  encoder_layer_{i}/attention/{query,key,value,output}
    encoder.layers.{i}.layer_norm.{weight,bias}                  encoder_layer_{i}/layer_norm
    encoder.layers.{i}.feed_forward.intermediate_dense.*         encoder_layer_{i}/intermediate_dense
    encoder.layers.{i}.feed_forward.output_dense.*               encoder_layer_{i}/output_dense
    encoder.layers.{i}.final_layer_norm.{weight,bias}            encoder_layer_{i}/final_layer_norm

Ignored checkpoint tensors (heads and training-only parameters, logged): `lm_head.*` (CTC), `masked_spec_embed`,
`quantizer.*`, `project_q.*`, `project_hid.*`, `projector.*`, `classifier.*`, `dropout_features`,
`layer_weights`. Any other unmatched tensor, or a missing one, is a `ValueError` naming it.

Not supported (say so rather than guess): SpecAugment masking (`mask_time_prob`, `mask_feature_prob`, and
so `masked_spec_embed`), LayerDrop (`layerdrop`; every block always runs), adapters (`add_adapter`,
`adapter_attn_dim`), the CTC / pre-training / classification heads, returned attention weights, other
model types (HuBERT, WavLM, wav2vec2-conformer, wav2vec2-bert). Inputs are not normalised here: apply the
checkpoint's feature extractor (`Wav2Vec2FeatureExtractor`, zero mean / unit variance when
`do_normalize`) or `(x - x.mean()) / sqrt(x.var() + 1e-7)` per utterance yourself.

Example:

>>> model = from_pretrained("/path/to/wav2vec2-large-960h-lv60-self")          # doctest: +SKIP
>>> out = model({"input_values": waveforms, "attention_mask": sample_mask})    # doctest: +SKIP
>>> out["last_hidden_state"].shape, len(out["hidden_states"])                  # doctest: +SKIP
(TensorShape([2, 149, 1024]), 25)
"""

from __future__ import annotations

import logging

import keras
import numpy as np
from keras import layers, ops

from coaudiotext._checks import check_choice
from coaudiotext.encoders._common import (
    WeightTable,
    ApplySequenceMask,
    MultiHeadSelfAttention,
    activation_fn,
    assign_weights,
    conv1d,
    read_config,
    read_state_dict,
    strip_prefix,
)

__all__ = [
    "Wav2Vec2FeatureEncoder",
    "Wav2Vec2FrameMask",
    "Wav2Vec2FeatureProjection",
    "Wav2Vec2PositionalConvEmbedding",
    "Wav2Vec2EncoderLayer",
    "wav2vec2_encoder",
    "config_to_args",
    "weight_table",
    "load_weights",
    "from_pretrained",
    "feat_extract_output_lengths",
]

logger = logging.getLogger(__name__)

_FEAT_EXTRACT_NORMS = ("group", "layer")
IGNORED_PREFIXES = (
    "lm_head.",
    "masked_spec_embed",
    "quantizer.",
    "project_q.",
    "project_hid.",
    "projector.",
    "classifier.",
    "dropout_features",
    "layer_weights",
)


def feat_extract_output_lengths(input_lengths, conv_kernel, conv_stride):
    """Frames of the conv feature encoder for `input_lengths` samples (numpy or int), as transformers.

    `length = (length - kernel) // stride + 1` for each conv layer (not clipped at 0).
    """
    lengths = np.asarray(input_lengths, dtype=np.int64)
    for kernel, stride in zip(conv_kernel, conv_stride):
        lengths = (lengths - int(kernel)) // int(stride) + 1
    return lengths


@keras.saving.register_keras_serializable(package="coaudiotext")
class Wav2Vec2FeatureEncoder(layers.Layer):
    """wav2vec2's conv feature encoder: raw waveform -> `(batch, frames, conv_dim[-1])`.

    Args:
        conv_dim: list of int. Output channels per conv layer. Defaults to wav2vec2's seven 512s.
        conv_kernel: list of int. Kernel sizes. Defaults to `(10, 3, 3, 3, 3, 2, 2)`.
        conv_stride: list of int. Strides. Defaults to `(5, 2, 2, 2, 2, 2, 2)` (320x, 20 ms at 16 kHz).
        conv_bias: bool. Biases in the convs. Defaults to False (base); large-lv60 has True.
        feat_extract_norm: str. `"group"`: GroupNorm (one group per channel) after the first conv only;
            `"layer"`: LayerNorm (eps 1e-5) after every conv. Defaults to `"group"`.
        activation: str. Activation after each conv (transformers `feat_extract_activation`).
            Defaults to `"gelu"`.
        **kwargs: base layer arguments.

    Input `(batch, samples)`; output `(batch, frames, conv_dim[-1])`.
    """

    def __init__(self, conv_dim=(512,) * 7, conv_kernel=(10, 3, 3, 3, 3, 2, 2), conv_stride=(5, 2, 2, 2, 2, 2, 2),
                 conv_bias=False, feat_extract_norm="group", activation="gelu", **kwargs):
        super().__init__(**kwargs)
        self.conv_dim = [int(c) for c in conv_dim]
        self.conv_kernel = [int(k) for k in conv_kernel]
        self.conv_stride = [int(s) for s in conv_stride]
        if not len(self.conv_dim) == len(self.conv_kernel) == len(self.conv_stride) or not self.conv_dim:
            raise ValueError(
                "Expected conv_dim, conv_kernel and conv_stride to be non-empty and of the same length. "
                f"Received: conv_dim={conv_dim}, conv_kernel={conv_kernel}, conv_stride={conv_stride}"
            )
        self.conv_bias = bool(conv_bias)
        check_choice("feat_extract_norm", feat_extract_norm, _FEAT_EXTRACT_NORMS)
        self.feat_extract_norm = feat_extract_norm
        self.activation = activation
        self._activation_fn = activation_fn(activation)
        self.convs, self.norms = [], []
        for i, (channels, kernel, stride) in enumerate(zip(self.conv_dim, self.conv_kernel, self.conv_stride)):
            self.convs.append(layers.Conv1D(channels, kernel, strides=stride, padding="valid",
                                            use_bias=self.conv_bias, name=f"conv_{i}", dtype=self.dtype_policy))
            if feat_extract_norm == "layer":
                norm = layers.LayerNormalization(epsilon=1e-5, name=f"conv_{i}_norm", dtype=self.dtype_policy)
            elif i == 0:
                norm = layers.GroupNormalization(groups=channels, epsilon=1e-5, name="conv_0_norm",
                                                 dtype=self.dtype_policy)
            else:
                norm = None
            self.norms.append(norm)

    def build(self, input_shape):
        shape = (input_shape[0], input_shape[1], 1)
        for conv, norm in zip(self.convs, self.norms):
            conv.build(shape)
            shape = conv.compute_output_shape(shape)
            if norm is not None:
                norm.build(shape)
        self.built = True

    def call(self, input_values):
        x = ops.expand_dims(input_values, -1)  # (batch, samples, 1)
        for conv, norm in zip(self.convs, self.norms):
            x = conv(x)
            if norm is not None:
                x = norm(x)
            x = self._activation_fn(x)
        return x  # (batch, frames, conv_dim[-1])

    def compute_output_shape(self, input_shape):
        steps = input_shape[1]
        if steps is not None:
            steps = int(feat_extract_output_lengths(steps, self.conv_kernel, self.conv_stride))
        return (input_shape[0], steps, self.conv_dim[-1])

    def get_config(self):
        config = super().get_config()
        config.update({
            "conv_dim": self.conv_dim, "conv_kernel": self.conv_kernel, "conv_stride": self.conv_stride,
            "conv_bias": self.conv_bias, "feat_extract_norm": self.feat_extract_norm, "activation": self.activation,
        })
        return config


@keras.saving.register_keras_serializable(package="coaudiotext")
class Wav2Vec2FrameMask(layers.Layer):
    """The frame mask `(batch, frames)` of a sample mask `(batch, samples)`, as transformers computes it.

    The real samples of row b are counted, turned into a frame count with the conv output-length formula
    (`_get_feat_extract_output_lengths`), and frames `t < count` are marked 1.

    Args:
        conv_kernel: list of int. The feature encoder's kernel sizes.
        conv_stride: list of int. Its strides.

    Call arguments:
        attention_mask: `(batch, samples)`, 1 for real samples.
        features: `(batch, frames, channels)`, the feature encoder's output (gives the frame count).

    Returns:
        float `(batch, frames)`.
    """

    def __init__(self, conv_kernel=(10, 3, 3, 3, 3, 2, 2), conv_stride=(5, 2, 2, 2, 2, 2, 2), **kwargs):
        super().__init__(**kwargs)
        self.conv_kernel = [int(k) for k in conv_kernel]
        self.conv_stride = [int(s) for s in conv_stride]

    def call(self, attention_mask, features):
        lengths = ops.sum(ops.cast(attention_mask, "int32"), axis=-1)
        for kernel, stride in zip(self.conv_kernel, self.conv_stride):
            lengths = ops.floor_divide(lengths - kernel, stride) + 1
        frames = ops.arange(ops.shape(features)[1], dtype="int32")
        return ops.cast(frames[None, :] < lengths[:, None], self.compute_dtype)

    def compute_output_shape(self, attention_mask_shape, features_shape):
        return (features_shape[0], features_shape[1])

    def get_config(self):
        config = super().get_config()
        config.update({"conv_kernel": self.conv_kernel, "conv_stride": self.conv_stride})
        return config


@keras.saving.register_keras_serializable(package="coaudiotext")
class Wav2Vec2FeatureProjection(layers.Layer):
    """LayerNorm over the conv channels, Dense to `hidden_size`, dropout.

    Args:
        hidden_size: int. Output width.
        layer_norm_eps: float. Defaults to 1e-5.
        dropout: float. `feat_proj_dropout`. Defaults to 0.
    """

    def __init__(self, hidden_size, layer_norm_eps=1e-5, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.hidden_size = int(hidden_size)
        self.layer_norm_eps = float(layer_norm_eps)
        self.dropout = float(dropout)
        self.layer_norm = layers.LayerNormalization(epsilon=self.layer_norm_eps, name="layer_norm",
                                                    dtype=self.dtype_policy)
        self.projection = layers.Dense(self.hidden_size, name="projection", dtype=self.dtype_policy)
        self.dropout_layer = layers.Dropout(self.dropout, name="dropout")

    def build(self, input_shape):
        self.layer_norm.build(input_shape)
        self.projection.build(input_shape)
        self.built = True

    def call(self, features, training=None):
        return self.dropout_layer(self.projection(self.layer_norm(features)), training=training)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.hidden_size)

    def get_config(self):
        config = super().get_config()
        config.update({"hidden_size": self.hidden_size, "layer_norm_eps": self.layer_norm_eps, "dropout": self.dropout})
        return config


@keras.saving.register_keras_serializable(package="coaudiotext")
class Wav2Vec2PositionalConvEmbedding(layers.Layer):
    """Convolutional position embedding with weight norm: `gelu(conv_{g * v / ||v||}(x))`, same length.

    A grouped conv of `kernel_size` taps over time, padded by `kernel_size // 2` on both sides and, for an
    even kernel, with its last output step dropped (transformers' `Wav2Vec2SamePadLayer`).

    Weights: `weight_g` `(kernel_size,)`, `weight_v` `(kernel_size, hidden_size / groups, hidden_size)`,
    `bias` `(hidden_size,)`; the conv kernel is `weight_g[k] * weight_v[k] / ||weight_v[k]||` (norm over
    the channel axes for each tap k, PyTorch `weight_norm(dim=2)`).

    Args:
        hidden_size: int. Channels in and out.
        kernel_size: int. `num_conv_pos_embeddings`. Defaults to 128.
        groups: int. `num_conv_pos_embedding_groups`; must divide `hidden_size`. Defaults to 16.
        activation: str. Defaults to `"gelu"` (`feat_extract_activation`).
    """

    def __init__(self, hidden_size, kernel_size=128, groups=16, activation="gelu", **kwargs):
        super().__init__(**kwargs)
        self.hidden_size = int(hidden_size)
        self.kernel_size = int(kernel_size)
        self.groups = int(groups)
        if self.hidden_size % self.groups:
            raise ValueError(
                f"Expected groups to divide hidden_size. Received: hidden_size={hidden_size}, groups={groups}"
            )
        self.activation = activation
        self._activation_fn = activation_fn(activation)

    def build(self, input_shape):
        self.weight_g = self.add_weight(name="weight_g", shape=(self.kernel_size,), initializer="ones")
        self.weight_v = self.add_weight(
            name="weight_v", shape=(self.kernel_size, self.hidden_size // self.groups, self.hidden_size),
            initializer=keras.initializers.RandomNormal(stddev=2 * (1.0 / (self.kernel_size * self.hidden_size)) ** 0.5),
        )
        self.bias = self.add_weight(name="bias", shape=(self.hidden_size,), initializer="zeros")
        self.built = True

    def kernel(self):
        """The effective conv kernel `g * v / ||v||`, `(kernel_size, hidden_size / groups, hidden_size)`."""
        v = ops.cast(self.weight_v, self.compute_dtype)
        g = ops.cast(self.weight_g, self.compute_dtype)
        norm = ops.sqrt(ops.sum(ops.square(v), axis=(1, 2), keepdims=True))
        return v * (g[:, None, None] / norm)

    def call(self, hidden_states):
        pad = self.kernel_size // 2
        x = ops.pad(hidden_states, ((0, 0), (pad, pad), (0, 0)))
        x = ops.conv(x, self.kernel(), strides=1, padding="valid") + ops.cast(self.bias, self.compute_dtype)
        if self.kernel_size % 2 == 0:
            x = x[:, :-1, :]
        return self._activation_fn(x)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"hidden_size": self.hidden_size, "kernel_size": self.kernel_size, "groups": self.groups,
                       "activation": self.activation})
        return config


@keras.saving.register_keras_serializable(package="coaudiotext")
class Wav2Vec2EncoderLayer(layers.Layer):
    """One wav2vec2 Transformer block, post-LN (base) or pre-LN (`stable_layer_norm=True`, large-lv60).

    Post-LN: `h = LN(x + drop(Attn(x)))`, `out = LN_final(h + FF(h))`.
    Pre-LN: `h = x + drop(Attn(LN(x)))`, `out = h + FF(LN_final(h))`.
    `FF(x) = drop(W2 drop_act(act(W1 x)))`.

    Args:
        hidden_size: int.
        num_heads: int.
        intermediate_size: int. Feed-forward width.
        hidden_act: str. Defaults to `"gelu"`.
        attention_dropout: float. On attention probabilities. Defaults to 0.1.
        hidden_dropout: float. After attention and after the feed-forward. Defaults to 0.1.
        activation_dropout: float. Inside the feed-forward. Defaults to 0.1.
        layer_norm_eps: float. Defaults to 1e-5.
        stable_layer_norm: bool. Pre-LN when True. Defaults to False.

    Call arguments: `hidden_states` `(batch, frames, hidden_size)`, `attention_mask` `(batch, frames)`.
    """

    def __init__(self, hidden_size, num_heads, intermediate_size, hidden_act="gelu", attention_dropout=0.1,
                 hidden_dropout=0.1, activation_dropout=0.1, layer_norm_eps=1e-5, stable_layer_norm=False, **kwargs):
        super().__init__(**kwargs)
        self.hidden_size = int(hidden_size)
        self.num_heads = int(num_heads)
        self.intermediate_size = int(intermediate_size)
        self.hidden_act = hidden_act
        self._activation_fn = activation_fn(hidden_act)
        self.attention_dropout = float(attention_dropout)
        self.hidden_dropout = float(hidden_dropout)
        self.activation_dropout = float(activation_dropout)
        self.layer_norm_eps = float(layer_norm_eps)
        self.stable_layer_norm = bool(stable_layer_norm)
        policy = self.dtype_policy
        self.attention = MultiHeadSelfAttention(self.hidden_size, self.num_heads, self.attention_dropout,
                                                name="attention", dtype=policy)
        self.dropout = layers.Dropout(self.hidden_dropout, name="dropout")
        self.layer_norm = layers.LayerNormalization(epsilon=self.layer_norm_eps, name="layer_norm", dtype=policy)
        self.intermediate_dense = layers.Dense(self.intermediate_size, name="intermediate_dense", dtype=policy)
        self.intermediate_dropout = layers.Dropout(self.activation_dropout, name="intermediate_dropout")
        self.output_dense = layers.Dense(self.hidden_size, name="output_dense", dtype=policy)
        self.output_dropout = layers.Dropout(self.hidden_dropout, name="output_dropout")
        self.final_layer_norm = layers.LayerNormalization(epsilon=self.layer_norm_eps, name="final_layer_norm",
                                                          dtype=policy)

    def build(self, hidden_states_shape, attention_mask_shape=None):
        self.attention.build(hidden_states_shape)
        self.layer_norm.build(hidden_states_shape)
        self.final_layer_norm.build(hidden_states_shape)
        self.intermediate_dense.build(hidden_states_shape)
        self.output_dense.build((*hidden_states_shape[:-1], self.intermediate_size))
        self.built = True

    def _feed_forward(self, x, training):
        x = self.intermediate_dropout(self._activation_fn(self.intermediate_dense(x)), training=training)
        return self.output_dropout(self.output_dense(x), training=training)

    def call(self, hidden_states, attention_mask=None, training=None):
        residual = hidden_states
        if self.stable_layer_norm:
            x = self.attention(self.layer_norm(hidden_states), attention_mask, training=training)
            x = residual + self.dropout(x, training=training)
            return x + self._feed_forward(self.final_layer_norm(x), training)
        x = self.attention(hidden_states, attention_mask, training=training)
        x = self.layer_norm(residual + self.dropout(x, training=training))
        return self.final_layer_norm(x + self._feed_forward(x, training))

    def compute_output_shape(self, hidden_states_shape, attention_mask_shape=None):
        return tuple(hidden_states_shape)

    def get_config(self):
        config = super().get_config()
        config.update({
            "hidden_size": self.hidden_size, "num_heads": self.num_heads, "intermediate_size": self.intermediate_size,
            "hidden_act": self.hidden_act, "attention_dropout": self.attention_dropout,
            "hidden_dropout": self.hidden_dropout, "activation_dropout": self.activation_dropout,
            "layer_norm_eps": self.layer_norm_eps, "stable_layer_norm": self.stable_layer_norm,
        })
        return config


def wav2vec2_encoder(
    hidden_size=768,
    num_hidden_layers=12,
    num_attention_heads=12,
    intermediate_size=3072,
    hidden_act="gelu",
    hidden_dropout=0.1,
    activation_dropout=0.1,
    attention_dropout=0.1,
    feat_proj_dropout=0.0,
    layer_norm_eps=1e-5,
    feat_extract_norm="group",
    feat_extract_activation="gelu",
    conv_dim=(512,) * 7,
    conv_kernel=(10, 3, 3, 3, 3, 2, 2),
    conv_stride=(5, 2, 2, 2, 2, 2, 2),
    conv_bias=False,
    num_conv_pos_embeddings=128,
    num_conv_pos_embedding_groups=16,
    do_stable_layer_norm=False,
    name="wav2vec2",
):
    """Builds the wav2vec2 encoder as a functional Keras model (random weights; see `from_pretrained`).

    The arguments are transformers' `Wav2Vec2Config` fields of the same names; the defaults are
    `facebook/wav2vec2-base`'s.

    Returns:
        `keras.Model` with inputs `{"input_values": (batch, samples) float32, "attention_mask": (batch,
        samples) int32}` and outputs `{"last_hidden_state": (batch, frames, hidden_size), "hidden_states":
        [num_hidden_layers + 1 tensors], "frame_mask": (batch, frames)}`.
    """
    # Inputs
    input_values = keras.Input((None,), dtype="float32", name="input_values")
    attention_mask = keras.Input((None,), dtype="int32", name="attention_mask")

    # Layers
    features = Wav2Vec2FeatureEncoder(conv_dim, conv_kernel, conv_stride, conv_bias, feat_extract_norm,
                                      feat_extract_activation, name="feature_encoder")(input_values)
    frame_mask = Wav2Vec2FrameMask(conv_kernel, conv_stride, name="frame_mask")(attention_mask, features)
    x = Wav2Vec2FeatureProjection(hidden_size, layer_norm_eps, feat_proj_dropout, name="feature_projection")(features)
    x = ApplySequenceMask(name="zero_padded_frames")(x, frame_mask)  # (batch, frames, hidden_size)
    positions = Wav2Vec2PositionalConvEmbedding(hidden_size, num_conv_pos_embeddings, num_conv_pos_embedding_groups,
                                                feat_extract_activation, name="pos_conv_embed")(x)
    x = layers.Add(name="add_positions")([x, positions])
    encoder_norm = layers.LayerNormalization(epsilon=float(layer_norm_eps), name="encoder_layer_norm")
    if not do_stable_layer_norm:
        x = encoder_norm(x)
    x = layers.Dropout(float(hidden_dropout), name="encoder_dropout")(x)
    hidden_states = [x]
    for i in range(int(num_hidden_layers)):
        x = Wav2Vec2EncoderLayer(hidden_size, num_attention_heads, intermediate_size, hidden_act, attention_dropout,
                                 hidden_dropout, activation_dropout, layer_norm_eps, do_stable_layer_norm,
                                 name=f"encoder_layer_{i}")(x, frame_mask)
        hidden_states.append(x)
    if do_stable_layer_norm:
        x = encoder_norm(x)

    # Model
    outputs = {"last_hidden_state": x, "hidden_states": hidden_states, "frame_mask": frame_mask}
    return keras.Model({"input_values": input_values, "attention_mask": attention_mask}, outputs, name=name)


_ARG_KEYS = (
    "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "hidden_act", "hidden_dropout",
    "activation_dropout", "attention_dropout", "feat_proj_dropout", "layer_norm_eps", "feat_extract_norm",
    "feat_extract_activation", "conv_dim", "conv_kernel", "conv_stride", "conv_bias", "num_conv_pos_embeddings",
    "num_conv_pos_embedding_groups", "do_stable_layer_norm",
)


def config_to_args(config):
    """`wav2vec2_encoder` arguments from a transformers `config.json` dict; refuses what is not supported.

    Keys absent from the config take `Wav2Vec2Config`'s defaults (those of `wav2vec2_encoder`).
    """
    model_type = config.get("model_type", "wav2vec2")
    if model_type != "wav2vec2":
        raise ValueError(f"Expected a wav2vec2 checkpoint (model_type 'wav2vec2'). Received: model_type={model_type!r}")
    if config.get("add_adapter"):
        raise ValueError("add_adapter=True (a conv adapter after the encoder) is not supported by the Keras wav2vec2.")
    if config.get("adapter_attn_dim") is not None:
        raise ValueError("adapter_attn_dim (attention adapters) is not supported by the Keras wav2vec2.")
    for key in ("layerdrop", "mask_time_prob", "mask_feature_prob"):
        if config.get(key):
            logger.info("config %s=%s is a training-time option the Keras wav2vec2 does not implement; ignored.",
                        key, config[key])
    args = {key: config[key] for key in _ARG_KEYS if key in config}
    for key in ("conv_dim", "conv_kernel", "conv_stride"):
        if key in args:
            args[key] = [int(v) for v in args[key]]
    return args


def weight_table(model):
    """The name table of a `wav2vec2_encoder` model: list of `(torch_name, keras_variable, transform)`."""
    table = WeightTable()
    dense, norm = table.dense, table.norm

    encoder = model.get_layer("feature_encoder")
    for i, (conv, layer_norm) in enumerate(zip(encoder.convs, encoder.norms)):
        table.append((f"feature_extractor.conv_layers.{i}.conv.weight", conv.kernel, conv1d))
        if conv.use_bias:
            table.append((f"feature_extractor.conv_layers.{i}.conv.bias", conv.bias, None))
        if layer_norm is not None:
            norm(f"feature_extractor.conv_layers.{i}.layer_norm", layer_norm)
    projection = model.get_layer("feature_projection")
    norm("feature_projection.layer_norm", projection.layer_norm)
    dense("feature_projection.projection", projection.projection)
    positions = model.get_layer("pos_conv_embed")
    table.extend([
        ("encoder.pos_conv_embed.conv.parametrizations.weight.original0", positions.weight_g, lambda g: g.reshape(-1)),
        ("encoder.pos_conv_embed.conv.parametrizations.weight.original1", positions.weight_v, conv1d),
        ("encoder.pos_conv_embed.conv.bias", positions.bias, None),
    ])
    norm("encoder.layer_norm", model.get_layer("encoder_layer_norm"))
    i = 0
    while True:
        try:
            block = model.get_layer(f"encoder_layer_{i}")
        except ValueError:
            break
        prefix = f"encoder.layers.{i}"
        for torch_name, sub in (("q_proj", "query"), ("k_proj", "key"), ("v_proj", "value"), ("out_proj", "output_dense")):
            dense(f"{prefix}.attention.{torch_name}", getattr(block.attention, sub))
        norm(f"{prefix}.layer_norm", block.layer_norm)
        dense(f"{prefix}.feed_forward.intermediate_dense", block.intermediate_dense)
        dense(f"{prefix}.feed_forward.output_dense", block.output_dense)
        norm(f"{prefix}.final_layer_norm", block.final_layer_norm)
        i += 1
    return table


def load_weights(model, folder):
    """Copies the weights of a transformers wav2vec2 checkpoint folder into a `wav2vec2_encoder` model.

    Returns:
        list of str: the checkpoint tensors ignored (heads; see the module docstring).

    Raises:
        ValueError: naming every unmatched or missing tensor, and shape mismatches.
    """
    state = strip_prefix(read_state_dict(folder), ("wav2vec2.",))
    return assign_weights(weight_table(model), state, IGNORED_PREFIXES, source=f"checkpoint {folder}")


def from_pretrained(folder, name="wav2vec2", **overrides):
    """A Keras wav2vec2 encoder with the weights of a local transformers checkpoint folder.

    Args:
        folder: str or path. A folder in the `save_pretrained` layout: `config.json` and
            `model.safetensors` (or `pytorch_model.bin`, read with `torch.load(weights_only=True)`).
            `Wav2Vec2Model` and task checkpoints (`Wav2Vec2ForCTC`, ...) both load; heads are ignored.
            Never downloads: fetch hub models once (`huggingface-cli download NAME --local-dir FOLDER`).
        name: str. The Keras model's name. Defaults to `"wav2vec2"`.
        **overrides: `wav2vec2_encoder` arguments that replace the config's, e.g. dropout rates for
            fine-tuning (`hidden_dropout=0.0`). Shape-changing overrides fail at loading.

    Returns:
        The `keras.Model` of `wav2vec2_encoder`.

    The waveform preprocessing stays transformers' `Wav2Vec2FeatureExtractor.from_pretrained(folder)`
    (pure Python/numpy), or its normalisation by hand.
    """
    args = config_to_args(read_config(folder))
    args.update(overrides)
    model = wav2vec2_encoder(name=name, **args)
    load_weights(model, folder)
    return model
