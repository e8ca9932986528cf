"""Fusion layers of RSA-CFN (seed 002, `hyeonho1028/RSA-CFN`, `src/layer.py` and `src/models.py`).

- `FeatureSelfAttention`: the original's `SelfAttention(1, h)`. It treats each
  *feature dimension* of a pooled vector as a token of size 1 and attends over
  them: a (batch, D) vector gives a (batch, D, D) attention map.
- `TensorFusion`: the outer product of two vectors, each with a constant 1
  appended (Tensor-Fusion style), flattened: (batch, m), (batch, n) ->
  (batch, (m + 1) * (n + 1)). The 1s keep the unimodal terms beside the bimodal ones.

Both are registered and serialisable; `plot_rsa_attention` draws the attention
map that the original saves for `rsa` (`img/Self-Attention Weights.png`).
"""

from __future__ import annotations

import math

import keras
from keras import ops

__all__ = ["FeatureSelfAttention", "TensorFusion", "plot_rsa_attention"]


@keras.saving.register_keras_serializable(package="coaudiotext")
class FeatureSelfAttention(keras.layers.Layer):
    """Self-attention over the feature dimensions of a vector (`SelfAttention(1, h)`).

    Each of the D features is a token of size 1. The query and key projections are
    `Linear(1 -> attention_units)`, the value projection is `Linear(1 -> 1)`:

        q = x[..., None] @ Wq + bq          # (batch, D, attention_units)
        k = x[..., None] @ Wk + bk          # (batch, D, attention_units)
        v = x[..., None] @ Wv + bv          # (batch, D, 1)
        A = softmax(q k^T / sqrt(attention_units), axis=-1)   # (batch, D, D)
        y = (A v)[..., 0]                   # (batch, D)

    It has `4 * attention_units + 2` weights whatever D is (1,026 for 256 units).

    Args:
        attention_units: int. Size of the query/key projections (the original's
            `hidden_size`: 256 in `rsa`, 96 in `rsa_cfn`). Defaults to 256.
        kernel_initializer: str or initializer. Initialiser of the three projection
            kernels. Keras's default; PyTorch's `nn.Linear` with one input draws
            from U(-1, 1) (`keras.initializers.RandomUniform(-1, 1)` reproduces it).
            Defaults to `"glorot_uniform"`.
        bias_initializer: str or initializer. Initialiser of the three biases
            (PyTorch: U(-1, 1) as well). Defaults to `"zeros"`.
        factorized: bool. Compute the scores from the structure of scalar tokens,
            `q_i . k_j = x_i x_j (Wq.Wk) + x_j (bq.Wk) + x_i (Wq.bk) + bq.bk`: the same
            scores as the explicit `q k^T` (to float rounding) in O(D^2) instead of
            O(D^2 h) (h = 256 in `rsa`, D = 1792). False computes `q k^T` literally,
            as the original. Defaults to True.
        **kwargs: base `Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: (batch, D) tensor.
        return_attention_scores: bool. Also return the (batch, D, D) attention map,
            as the original does. Defaults to False.

    Returns:
        (batch, D), or `(output, attention)` when `return_attention_scores=True`.

    Example:

    >>> layer = FeatureSelfAttention(attention_units=4)
    >>> y, a = layer(keras.ops.ones((2, 5)), return_attention_scores=True)
    >>> tuple(y.shape), tuple(a.shape), layer.count_params()
    ((2, 5), (2, 5, 5), 18)
    """

    def __init__(
        self,
        attention_units=256,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        factorized=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(attention_units) < 1:
            raise ValueError(
                f"Expected attention_units to be a positive integer. Received: attention_units={attention_units!r}"
            )
        self.attention_units = int(attention_units)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.factorized = bool(factorized)

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(
                f"FeatureSelfAttention expects (batch, features) inputs; received shape {tuple(input_shape)}."
            )
        units = self.attention_units
        self.query_kernel = self.add_weight(name="query_kernel", shape=(1, units), initializer=self.kernel_initializer)
        self.query_bias = self.add_weight(name="query_bias", shape=(units,), initializer=self.bias_initializer)
        self.key_kernel = self.add_weight(name="key_kernel", shape=(1, units), initializer=self.kernel_initializer)
        self.key_bias = self.add_weight(name="key_bias", shape=(units,), initializer=self.bias_initializer)
        self.value_kernel = self.add_weight(name="value_kernel", shape=(1, 1), initializer=self.kernel_initializer)
        self.value_bias = self.add_weight(name="value_bias", shape=(1,), initializer=self.bias_initializer)

    def call(self, inputs, return_attention_scores=False):
        scale = ops.cast(math.sqrt(self.attention_units), inputs.dtype)
        if self.factorized:
            # Tokens are scalars, so q_i . k_j = x_i x_j (Wq.Wk) + x_j (bq.Wk) + x_i (Wq.bk) + bq.bk:
            # the same scores as the explicit q k^T in O(D^2) instead of O(D^2 * attention_units).
            # (The last two terms are constant along the softmax axis; kept so every weight has a gradient.)
            qk = ops.cast(ops.sum(self.query_kernel * self.key_kernel), inputs.dtype)
            bias_key = ops.cast(ops.sum(self.query_bias * self.key_kernel), inputs.dtype)
            query_bias = ops.cast(ops.sum(self.query_kernel * self.key_bias), inputs.dtype)
            bias_bias = ops.cast(ops.sum(self.query_bias * self.key_bias), inputs.dtype)
            row = (inputs * qk + bias_key) / scale  # (batch, D): coefficient of x_j in row i
            constant = (inputs * query_bias + bias_bias) / scale  # (batch, D): same for every j
            scores = ops.expand_dims(row, -1) * ops.expand_dims(inputs, 1) + ops.expand_dims(constant, -1)
        else:
            tokens = ops.expand_dims(inputs, -1)  # (batch, D, 1)
            query = ops.matmul(tokens, self.query_kernel) + self.query_bias  # (batch, D, units)
            key = ops.matmul(tokens, self.key_kernel) + self.key_bias  # (batch, D, units)
            scores = ops.matmul(query, ops.transpose(key, (0, 2, 1))) / scale  # (batch, D, D)
        attention = ops.softmax(scores, axis=-1)
        value = ops.expand_dims(inputs, -1) * self.value_kernel[0, 0] + self.value_bias  # (batch, D, 1)
        outputs = ops.squeeze(ops.matmul(attention, value), -1)  # (batch, D)
        if return_attention_scores:
            return outputs, attention
        return outputs

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "attention_units": self.attention_units,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "factorized": self.factorized,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="coaudiotext")
class TensorFusion(keras.layers.Layer):
    """Outer-product fusion of two vectors with appended 1s, flattened (RSA-CFN's "cross fusion").

    `[1, a] (x) [1, b]`, flattened row-major: element `i * (n + 1) + j` is
    `a'_i * b'_j` with `a' = [1, a]`, `b' = [1, b]`. So element 0 is 1, elements
    1..n are `b`, every `(n + 1)`-th element is `a`, and the rest are the
    bimodal products `a_i * b_j`. The original prepends the 1 (`torch.cat((ones, vec))`).

    Args:
        append_one: bool. Prepend a constant 1 to each vector before the outer
            product (the original, as in Tensor Fusion Networks); False gives the
            plain bilinear outer product (m * n outputs). Defaults to True.
        **kwargs: base `Layer` arguments.

    Input: a list `[a, b]` of (batch, m) and (batch, n) tensors.
    Output: (batch, (m + 1) * (n + 1)), or (batch, m * n) with `append_one=False`.

    Example:

    >>> fused = TensorFusion()([keras.ops.ones((2, 3)), keras.ops.ones((2, 4))])
    >>> tuple(fused.shape)
    (2, 20)
    """

    def __init__(self, append_one=True, **kwargs):
        super().__init__(**kwargs)
        self.append_one = bool(append_one)

    def _sizes(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 2:
            raise ValueError(f"TensorFusion expects a list of two (batch, features) inputs; received {input_shape}.")
        extra = 1 if self.append_one else 0
        first, second = input_shape
        if len(first) != 2 or len(second) != 2:
            raise ValueError(
                "TensorFusion expects two (batch, features) inputs; "
                f"received shapes {tuple(first)} and {tuple(second)}."
            )
        return first[-1] + extra, second[-1] + extra

    def build(self, input_shape):
        self._sizes(input_shape)

    def call(self, inputs):
        first, second = inputs
        if self.append_one:
            first = ops.concatenate([ops.ones_like(first[:, :1]), first], axis=-1)  # (batch, m + 1)
            second = ops.concatenate([ops.ones_like(second[:, :1]), second], axis=-1)  # (batch, n + 1)
        outer = ops.einsum("bi,bj->bij", first, second)  # (batch, m + 1, n + 1)
        return ops.reshape(outer, (-1, ops.shape(first)[-1] * ops.shape(second)[-1]))

    def compute_output_shape(self, input_shape):
        rows, columns = self._sizes(input_shape)
        return (input_shape[0][0], rows * columns)

    def get_config(self):
        config = super().get_config()
        config.update({"append_one": self.append_one})
        return config


def plot_rsa_attention(
    attention,
    boundaries=(1024,),
    modality_names=("wav2vec2", "RoBERTa"),
    title="Self-attention weights",
    path=None,
    ax=None,
    cmap="viridis",
):
    """Draws a feature-by-feature attention map, as the original's `img/Self-Attention Weights.png`.

    The original saves `np.mean(np.mean(attn_weights, 0), 0)` of the validation
    set (mean over batches, then samples) for `rsa`: a (1792, 1792) map whose first
    1024 dimensions are wav2vec2 and the other 768 RoBERTa. Lines mark the
    modality boundaries.

    Args:
        attention: array. (D, D) map, or (N, D, D) maps that are averaged first.
        boundaries: sequence of int. Feature indices where a new modality starts.
            Defaults to `(1024,)`.
        modality_names: sequence of str. One name per block (len(boundaries) + 1),
            written on the axes. Defaults to `("wav2vec2", "RoBERTa")`.
        title: str. Figure title. Defaults to `"Self-attention weights"`.
        path: str or None. Save the figure there (PNG, ...). Defaults to None.
        ax: matplotlib Axes or None. Draw into it; a new figure otherwise. Defaults to None.
        cmap: str. Matplotlib colour map. Defaults to `"viridis"`.

    Returns:
        The matplotlib `Figure`.

    Example:

    >>> import numpy as np
    >>> figure = plot_rsa_attention(np.full((6, 6), 1 / 6), boundaries=(4,))
    """
    import numpy as np

    attention = np.asarray(attention, dtype=np.float64)
    if attention.ndim == 3:
        attention = attention.mean(axis=0)
    if attention.ndim != 2 or attention.shape[0] != attention.shape[1]:
        raise ValueError(f"Expected attention of shape (D, D) or (N, D, D). Received shape {attention.shape}.")
    size = attention.shape[0]
    boundaries = [int(b) for b in boundaries if 0 < int(b) < size]
    if ax is None:
        # A figure with the Agg canvas, outside pyplot: no window, no global backend change.
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        figure = Figure(figsize=(6, 5))
        FigureCanvasAgg(figure)
        ax = figure.add_subplot()
    else:
        figure = ax.figure
    image = ax.imshow(attention, cmap=cmap, aspect="auto", interpolation="nearest")
    figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    for boundary in boundaries:
        ax.axhline(boundary - 0.5, color="white", linewidth=0.8)
        ax.axvline(boundary - 0.5, color="white", linewidth=0.8)
    edges = [0] + boundaries + [size]
    names = list(modality_names)
    if len(names) == len(edges) - 1:
        centres = [(lo + hi - 1) / 2 for lo, hi in zip(edges[:-1], edges[1:])]
        ax.set_xticks(centres, names)
        ax.set_yticks(centres, names, rotation=90, va="center")
    ax.set_xlabel("key feature")
    ax.set_ylabel("query feature")
    ax.set_title(title)
    if path is not None:
        figure.savefig(path, dpi=120, bbox_inches="tight")
    return figure
