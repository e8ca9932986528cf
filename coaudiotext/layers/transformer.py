"""The cross-modal Transformer of seed 001 (Donghwa-KIM/audiotext-transformer, a MulT port).

Layers, from the inside out:

- `SinusoidalPositionalEmbedding`: fairseq's sinusoidal positions with
  `padding_idx=0`, fed with the *first feature channel* of a sequence as if it
  were a token id: an element whose channel 0 is exactly 0 is padding and gets a
  zero vector; the other elements are numbered 1, 2, ... (a running count of
  non-padding elements, so interior zeros do not advance the count).
- `TransformerEncoderBlock`: one pre-LayerNorm block. One LayerNorm is shared
  by query, key and value, and the residual adds the *normalised* query (MulT adds
  the raw input); then a pre-LayerNorm ReLU feed-forward block, again with the
  residual on the normalised input. Attention is causal by default, also across
  modalities (a rectangular mask: query i sees keys 0..i).
- `CrossmodalTransformer`: scale by sqrt(d), add positions, dropout, then
  `num_layers` blocks; no final LayerNorm. Query and key/value (if any) are
  prepared the same way; the prepared key is reused by every block.
- `ValidConvMask`: shrinks a padding mask to the length of a `padding="valid"`
  convolution's output (used by the key-mask fix).
- `TrimToLongest`: cuts a right-padded batch after its longest sequence, so that
  features stored at a fixed `max_len` enter the model padded per batch, as the
  original's collate function pads the BERT token features.
- `SequencePooling`: mean over all steps (the original "average", padding
  included), last step, first step (`[CLS]`), or masked mean (a fix).

The original code drops the key-padding mask it is given (`x_key_padding_mask`
is never passed to the blocks); here a key mask is applied only when one is
passed to `CrossmodalTransformer(...)(query, key, key_mask=...)`.

Reference: Tsai et al., "Multimodal Transformer for Unaligned Multimodal
Language Sequences", ACL 2019; the seed-001 code is github.com/Donghwa-KIM/audiotext-transformer
(`models/`), the quirks kept here are listed in the README's "Faithful by default" table.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import layers, ops

__all__ = [
    "SinusoidalPositionalEmbedding",
    "TransformerEncoderBlock",
    "CrossmodalTransformer",
    "ValidConvMask",
    "TrimToLongest",
    "SequencePooling",
    "sinusoidal_table",
]

_POOLING_MODES = ("mean", "last", "first", "masked_mean")


def sinusoidal_table(num_positions, embedding_dim, padding_idx=0):
    """fairseq's sinusoidal table as numpy (the reference the layer is tested against).

    Row p is `[sin(p * f_k) for k] + [cos(p * f_k) for k]` with
    `f_k = exp(-log(10000) / (embedding_dim // 2 - 1) * k)`, a zero column for an odd
    `embedding_dim`, and row `padding_idx` all zeros.

    Args:
        num_positions: int. Rows of the table.
        embedding_dim: int. Columns (at least 4).
        padding_idx: int or None. Row set to zeros. Defaults to 0.

    Returns:
        float32 array `(num_positions, embedding_dim)`.
    """
    _check_embedding_dim(embedding_dim)
    half_dim = embedding_dim // 2
    freq = np.exp(np.arange(half_dim, dtype=np.float32) * np.float32(-math.log(10000) / (half_dim - 1)))
    arg = np.arange(num_positions, dtype=np.float32)[:, None] * freq[None, :].astype(np.float32)
    table = np.concatenate([np.sin(arg), np.cos(arg)], axis=1)
    if embedding_dim % 2 == 1:
        table = np.concatenate([table, np.zeros((num_positions, 1), np.float32)], axis=1)
    if padding_idx is not None:
        table[padding_idx] = 0.0
    return table.astype(np.float32)


def _check_embedding_dim(embedding_dim):
    if int(embedding_dim) < 4:
        raise ValueError(
            "Sinusoidal positions need embedding_dim >= 4 (the frequency step divides by "
            f"embedding_dim // 2 - 1). Received: embedding_dim={embedding_dim}"
        )


@keras.saving.register_keras_serializable(package="coaudiotext")
class SinusoidalPositionalEmbedding(layers.Layer):
    """fairseq `SinusoidalPositionalEmbedding`, computed on the fly (no table, any length).

    Positions follow fairseq's `make_positions`: `cumsum(x != padding_idx) * (x != padding_idx)
    + padding_idx`, and the row of `padding_idx` is zero. With `padding_idx=0` (the original)
    the non-padding elements are numbered from 1 and padding elements get a zero vector.

    Args:
        embedding_dim: int. Size of each position vector (at least 4).
        padding_idx: int. The "token" value that marks padding. Defaults to 0.

    Input: `(batch, steps)` token ids (any dtype; the seed-001 model passes the first feature
    channel, a float). Output: `(batch, steps, embedding_dim)` float32.

    Example:

    >>> layer = SinusoidalPositionalEmbedding(8)
    >>> tuple(layer(np.array([[3.0, 0.0, 5.0]])).shape)
    (1, 3, 8)
    """

    def __init__(self, embedding_dim, padding_idx=0, **kwargs):
        super().__init__(**kwargs)
        _check_embedding_dim(embedding_dim)
        self.embedding_dim = int(embedding_dim)
        self.padding_idx = int(padding_idx)
        half_dim = self.embedding_dim // 2
        self._freq = np.exp(
            np.arange(half_dim, dtype=np.float32) * np.float32(-math.log(10000) / (half_dim - 1))
        ).astype(np.float32)

    def call(self, tokens):
        keep = ops.cast(ops.not_equal(tokens, ops.cast(self.padding_idx, tokens.dtype)), "float32")
        positions = ops.cumsum(keep, axis=1) * keep + float(self.padding_idx)  # (batch, steps)
        arg = ops.expand_dims(positions, -1) * ops.convert_to_tensor(self._freq)  # (batch, steps, half)
        parts = [ops.sin(arg), ops.cos(arg)]
        if self.embedding_dim % 2 == 1:
            parts.append(ops.zeros_like(arg[..., :1]))
        embedding = ops.concatenate(parts, axis=-1)
        return embedding * ops.expand_dims(keep, -1)  # the padding row is zero

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.embedding_dim,)

    def get_config(self):
        config = super().get_config()
        config.update({"embedding_dim": self.embedding_dim, "padding_idx": self.padding_idx})
        return config


@keras.saving.register_keras_serializable(package="coaudiotext")
class TransformerEncoderBlock(layers.Layer):
    """One block of the seed-001 Transformer: shared pre-LN attention, then pre-LN FFN.

    Computation (PyTorch `TransformerBlock` + `FeedForwardBlock` of `modules.py`):

        q = LN1(query); k = v = LN1(key)                 # one LayerNorm for all three
        x = q + dropout_res(MHA(q, k, v, causal mask))   # residual on the normalised query
        y = LN2(x)
        x = y + dropout_res(W2 dropout_relu(relu(W1 y)))  # residual on the normalised input

    Args:
        d_model: int. Model width.
        num_heads: int. Attention heads (must divide `d_model`).
        ffn_dim: int or None. Width of the feed-forward layer. Defaults to `4 * d_model`.
        attn_dropout: float. Dropout on the attention probabilities. Defaults to 0.1.
        res_dropout: float. Dropout before each residual addition. Defaults to 0.1.
        relu_dropout: float. Dropout after the ReLU. Defaults to 0.1.
        causal: bool. Causal (future) mask, rectangular for cross-attention: query i sees
            keys 0..i. True reproduces the original. Defaults to True.
        epsilon: float. LayerNorm epsilon (PyTorch's 1e-5). Defaults to 1e-5.

    Call: `block(query, key=None, key_mask=None)`, query `(batch, Tq, d)`, key `(batch, Tk, d)`
    (None: self-attention), key_mask `(batch, Tk)` with 1 for keys that may be attended
    (None: no key masking, as in the original). Output `(batch, Tq, d)`.

    Example:

    >>> block = TransformerEncoderBlock(16, 4)
    >>> tuple(block(np.zeros((2, 5, 16)), np.ones((2, 3, 16))).shape)
    (2, 5, 16)
    """

    def __init__(
        self,
        d_model,
        num_heads,
        ffn_dim=None,
        attn_dropout=0.1,
        res_dropout=0.1,
        relu_dropout=0.1,
        causal=True,
        epsilon=1e-5,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(d_model) % int(num_heads):
            raise ValueError(
                f"num_heads must divide d_model. Received: d_model={d_model}, num_heads={num_heads}"
            )
        self.d_model = int(d_model)
        self.num_heads = int(num_heads)
        self.ffn_dim = int(ffn_dim) if ffn_dim is not None else 4 * self.d_model
        self.attn_dropout = float(attn_dropout)
        self.res_dropout = float(res_dropout)
        self.relu_dropout = float(relu_dropout)
        self.causal = bool(causal)
        self.epsilon = float(epsilon)

        self.attention_norm = layers.LayerNormalization(epsilon=self.epsilon, name="attention_norm")
        self.attention = layers.MultiHeadAttention(
            num_heads=self.num_heads,
            key_dim=self.d_model // self.num_heads,
            dropout=self.attn_dropout,
            name="attention",
        )
        self.attention_dropout = layers.Dropout(self.res_dropout, name="attention_res_dropout")
        self.ffn_norm = layers.LayerNormalization(epsilon=self.epsilon, name="ffn_norm")
        self.ffn_in = layers.Dense(self.ffn_dim, activation="relu", name="ffn_in")
        self.ffn_relu_dropout = layers.Dropout(self.relu_dropout, name="ffn_relu_dropout")
        self.ffn_out = layers.Dense(self.d_model, name="ffn_out")
        self.ffn_dropout = layers.Dropout(self.res_dropout, name="ffn_res_dropout")

    def build(self, query_shape, key_shape=None, key_mask_shape=None):
        key_shape = query_shape if key_shape is None else key_shape
        self.attention_norm.build(query_shape)
        self.attention.build(query_shape, key_shape, key_shape)
        self.ffn_norm.build(query_shape)
        self.ffn_in.build(query_shape)
        self.ffn_out.build(tuple(query_shape[:-1]) + (self.ffn_dim,))
        self.built = True

    def call(self, query, key=None, key_mask=None, training=None):
        q = self.attention_norm(query)
        kv = q if key is None else self.attention_norm(key)
        attention_mask = None
        if key_mask is not None:
            # (batch, Tq, 1) * (batch, 1, Tk) -> (batch, Tq, Tk)
            attention_mask = ops.expand_dims(ops.ones_like(query[:, :, 0]), -1) * ops.expand_dims(
                ops.cast(key_mask, query.dtype), 1
            )
            attention_mask = ops.cast(attention_mask, "bool")
        attended = self.attention(
            q,
            kv,
            kv,
            attention_mask=attention_mask,
            use_causal_mask=self.causal,
            training=training,
        )
        x = q + self.attention_dropout(attended, training=training)
        y = self.ffn_norm(x)
        hidden = self.ffn_relu_dropout(self.ffn_in(y), training=training)
        return y + self.ffn_dropout(self.ffn_out(hidden), training=training)

    def compute_output_shape(self, query_shape, key_shape=None, key_mask_shape=None):
        return tuple(query_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "d_model": self.d_model,
                "num_heads": self.num_heads,
                "ffn_dim": self.ffn_dim,
                "attn_dropout": self.attn_dropout,
                "res_dropout": self.res_dropout,
                "relu_dropout": self.relu_dropout,
                "causal": self.causal,
                "epsilon": self.epsilon,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="coaudiotext")
class CrossmodalTransformer(layers.Layer):
    """A stack of seed-001 Transformer blocks, self- or cross-modal (`CrossmodalTransformer`).

    Input preparation (for the query, and for the key/value when given):
    `dropout(sqrt(d) * x + SinPos(x[:, :, 0]), embed_dropout)`. Then `num_layers`
    `TransformerEncoderBlock`s; every block attends to the same prepared key. No final
    LayerNorm (MulT has one; the seed-001 code does not).

    Args:
        d_model: int. Width of query and key (the input's last axis).
        num_heads: int. Attention heads. Defaults to 8.
        num_layers: int. Blocks. Defaults to 4.
        embed_dropout: float. Dropout after adding positions. Defaults to 0.25.
        attn_dropout: float. Attention-probability dropout. Defaults to 0.1.
        res_dropout: float. Residual dropout. Defaults to 0.1.
        relu_dropout: float. FFN ReLU dropout. Defaults to 0.1.
        causal: bool. Causal masks in every block (the original's `attn_mask=True`).
            Defaults to True.
        scale_embedding: bool. Multiply the input by sqrt(d_model). Defaults to True.
        epsilon: float. LayerNorm epsilon. Defaults to 1e-5.

    Call: `stack(query, key=None, key_mask=None)`, shapes as in `TransformerEncoderBlock`.
    Output `(batch, Tq, d_model)`.

    Example:

    >>> stack = CrossmodalTransformer(16, num_heads=4, num_layers=2)
    >>> tuple(stack(np.ones((2, 7, 16)), np.ones((2, 5, 16))).shape)
    (2, 7, 16)
    """

    def __init__(
        self,
        d_model,
        num_heads=8,
        num_layers=4,
        embed_dropout=0.25,
        attn_dropout=0.1,
        res_dropout=0.1,
        relu_dropout=0.1,
        causal=True,
        scale_embedding=True,
        epsilon=1e-5,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.d_model = int(d_model)
        self.num_heads = int(num_heads)
        self.num_layers = int(num_layers)
        self.embed_dropout = float(embed_dropout)
        self.attn_dropout = float(attn_dropout)
        self.res_dropout = float(res_dropout)
        self.relu_dropout = float(relu_dropout)
        self.causal = bool(causal)
        self.scale_embedding = bool(scale_embedding)
        self.epsilon = float(epsilon)
        self.scale = math.sqrt(self.d_model) if self.scale_embedding else 1.0

        self.positions = SinusoidalPositionalEmbedding(self.d_model, padding_idx=0, name="positions")
        self.input_dropout = layers.Dropout(self.embed_dropout, name="embed_dropout")
        self.blocks = [
            TransformerEncoderBlock(
                self.d_model,
                self.num_heads,
                4 * self.d_model,
                attn_dropout=self.attn_dropout,
                res_dropout=self.res_dropout,
                relu_dropout=self.relu_dropout,
                causal=self.causal,
                epsilon=self.epsilon,
                name=f"block_{i}",
            )
            for i in range(self.num_layers)
        ]

    def build(self, query_shape, key_shape=None, key_mask_shape=None):
        if query_shape[-1] != self.d_model or (key_shape is not None and key_shape[-1] != self.d_model):
            raise ValueError(
                f"CrossmodalTransformer {self.name!r} has d_model={self.d_model}; received query "
                f"shape {tuple(query_shape)} and key shape {key_shape}."
            )
        for block in self.blocks:
            block.build(query_shape, key_shape)
        self.built = True

    def _prepare(self, x, training):
        x = self.scale * x + self.positions(x[:, :, 0])
        return self.input_dropout(x, training=training)

    def call(self, query, key=None, key_mask=None, training=None):
        x = self._prepare(query, training)
        source = None if key is None else self._prepare(key, training)
        for block in self.blocks:
            x = block(x, source, key_mask=key_mask, training=training)
        return x

    def compute_output_shape(self, query_shape, key_shape=None, key_mask_shape=None):
        return tuple(query_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "d_model": self.d_model,
                "num_heads": self.num_heads,
                "num_layers": self.num_layers,
                "embed_dropout": self.embed_dropout,
                "attn_dropout": self.attn_dropout,
                "res_dropout": self.res_dropout,
                "relu_dropout": self.relu_dropout,
                "causal": self.causal,
                "scale_embedding": self.scale_embedding,
                "epsilon": self.epsilon,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="coaudiotext")
class ValidConvMask(layers.Layer):
    """Shrinks a padding mask to the output length of a `padding="valid"` 1-D convolution.

    Output step j of a valid convolution with kernel k (stride 1) covers input steps j..j+k-1;
    it is kept (1) only when all of them are real: `out[j] = min(mask[j:j+k])`.

    Args:
        kernel_size: int. The convolution's kernel size. Defaults to 3.

    Input `(batch, steps)` with 1 = real step; output `(batch, steps - kernel_size + 1)` float32.

    Example:

    >>> ops.convert_to_numpy(ValidConvMask(3)(np.array([[1, 1, 1, 1, 0, 0]]))).tolist()
    [[1.0, 1.0, 0.0, 0.0]]
    """

    def __init__(self, kernel_size=3, **kwargs):
        super().__init__(**kwargs)
        if int(kernel_size) < 1:
            raise ValueError(f"kernel_size must be >= 1. Received: kernel_size={kernel_size}")
        self.kernel_size = int(kernel_size)

    def call(self, inputs):
        mask = ops.cast(ops.greater(ops.cast(inputs, "float32"), 0.5), "float32")
        steps = ops.shape(mask)[1]
        out_steps = steps - self.kernel_size + 1
        kept = mask[:, 0:out_steps]
        for offset in range(1, self.kernel_size):
            kept = kept * mask[:, offset : offset + out_steps]
        return kept

    def compute_output_shape(self, input_shape):
        steps = input_shape[1]
        return (input_shape[0], None if steps is None else steps - self.kernel_size + 1)

    def get_config(self):
        config = super().get_config()
        config.update({"kernel_size": self.kernel_size})
        return config


@keras.saving.register_keras_serializable(package="coaudiotext")
class TrimToLongest(layers.Layer):
    """Cuts a right-padded batch after its longest sequence: the batch padded to its own longest.

    Seed 001's collate function pads the BERT token features of each batch to the longest text
    *of that batch* (at most `max_len` 64), and the model averages over that padding without a
    mask, so its output depends on how much padding the batch has. Features stored once at a
    fixed `max_len` give the same batch when cut here: steps `0 .. n - 1` are kept, with `n` the
    last real step of any sequence in the batch plus one (BERT's outputs at the real and the
    padding positions before `n` do not depend on how many padding tokens follow, since its
    attention masks them). `n` is at least `min_steps` and at most the padded length.

    `n` depends on the data, so the layer is not XLA-compilable (`supports_jit` is False, and
    Keras' `jit_compile="auto"` leaves XLA off for a model that contains it).

    Args:
        min_steps: int. Fewest steps kept (e.g. the kernel size of a following valid
            convolution). Defaults to 1.

    Call: `trim(sequence, sequence_mask)`, sequence `(batch, steps, features)`, sequence_mask
    `(batch, steps)` with 1 = real step. Returns `(sequence[:, :n], sequence_mask[:, :n])`.

    Example:

    >>> mask = np.array([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 0]])
    >>> sequence, _ = TrimToLongest()(np.ones((2, 6, 4)), mask)
    >>> tuple(sequence.shape)
    (2, 5, 4)
    """

    def __init__(self, min_steps=1, **kwargs):
        super().__init__(**kwargs)
        if int(min_steps) < 1:
            raise ValueError(f"min_steps must be >= 1. Received: min_steps={min_steps}")
        self.min_steps = int(min_steps)
        self.supports_jit = False  # a data-dependent length

    def call(self, sequence, sequence_mask):
        real = ops.cast(ops.greater(ops.cast(sequence_mask, "float32"), 0.5), "int32")  # (batch, steps)
        steps = ops.shape(real)[1]
        positions = ops.expand_dims(ops.arange(1, steps + 1, dtype="int32"), 0)  # 1-based step numbers
        longest = ops.max(real * positions)  # the batch's last real step, counted from 1
        length = ops.minimum(ops.maximum(longest, self.min_steps), steps)
        shape = ops.shape(sequence)
        trimmed = ops.slice(sequence, [0, 0, 0], [shape[0], length, shape[2]])
        trimmed_mask = ops.slice(sequence_mask, [0, 0], [shape[0], length])
        return trimmed, trimmed_mask

    def compute_output_shape(self, sequence_shape, sequence_mask_shape):
        return (sequence_shape[0], None, sequence_shape[2]), (sequence_mask_shape[0], None)

    def get_config(self):
        config = super().get_config()
        config.update({"min_steps": self.min_steps})
        return config


@keras.saving.register_keras_serializable(package="coaudiotext")
class SequencePooling(layers.Layer):
    """Pools a sequence to one vector per example.

    Args:
        mode: str. `"mean"`: mean over all steps, padding included (the original
            `merge_how="average"`); `"last"`: the last step (the original's other choice;
            for right-padded inputs that is a padding step); `"first"`: the first step
            (BERT's `[CLS]`); `"masked_mean"`: mean over the steps where
            `sequence_mask` is 1 (a fix; needs `sequence_mask`). Defaults to `"mean"`.

    Call: `pool(x, sequence_mask=None)`, x `(batch, steps, features)`, sequence_mask
    `(batch, steps)`. Output `(batch, features)`.

    Example:

    >>> tuple(SequencePooling("masked_mean")(np.ones((1, 3, 2)), np.array([[1, 1, 0]])).shape)
    (1, 2)
    """

    def __init__(self, mode="mean", **kwargs):
        super().__init__(**kwargs)
        if mode not in _POOLING_MODES:
            raise ValueError(f"Unknown pooling mode. Expected one of {_POOLING_MODES}. Received: mode={mode!r}")
        self.mode = mode

    def call(self, x, sequence_mask=None):
        if self.mode == "mean":
            return ops.mean(x, axis=1)
        if self.mode == "last":
            return x[:, -1, :]
        if self.mode == "first":
            return x[:, 0, :]
        if sequence_mask is None:
            raise ValueError("SequencePooling(mode='masked_mean') needs `sequence_mask`.")
        weights = ops.expand_dims(ops.cast(sequence_mask, x.dtype), -1)  # (batch, steps, 1)
        total = ops.sum(x * weights, axis=1)
        count = ops.maximum(ops.sum(weights, axis=1), 1.0)
        return total / count

    def compute_output_shape(self, x_shape, sequence_mask_shape=None):
        return (x_shape[0], x_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update({"mode": self.mode})
        return config
