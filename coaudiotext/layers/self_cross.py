"""Layers of the self- vs cross-attention models (Rajan et al., ICASSP 2022; `smartcameras/SelfCrossAttn`).

- `FrameMixing`: PyTorch's `Conv1d(in_channels=T, out_channels=frames, kernel_size=1)` applied to a
  `(batch, T, features)` tensor, i.e. with the **frames as channels**: a learned linear remix of the
  T input frames into `frames` new ones, the same at every feature position. It is not a local
  convolution over time.
- `StatisticsPooling`: `torch.std_mean` over a set of utterance vectors, concatenated as
  [std ‖ mean] (the original's order; its variable names say the opposite), or their mean only.

Both are registered with Keras (package `coaudiotext`), so `.keras` files reload with `safe_mode=True`.
"""

import keras
from keras import layers, ops

from coaudiotext._checks import check_choice

__all__ = ["FrameMixing", "StatisticsPooling"]

STATS_ORDERS = ("std_mean", "mean_std")
POOLING_MODES = ("stats", "mean")
UNDEFINED_STD = ("error", "zero")


@keras.saving.register_keras_serializable(package="coaudiotext")
class FrameMixing(layers.Layer):
    """Mixes the frames of a sequence: `Conv1d(T, frames, kernel_size=1)` with frames as channels.

    Computes `y[b, o, f] = sum_t x[b, t, f] * kernel[t, o] + bias[o]`. The kernel is PyTorch's
    `Conv1d.weight[:, :, 0].T`, shape `(T, frames)`; the input must have a known number of frames.

    Args:
        frames: int. Number of output frames (the conv's `out_channels`).
        use_bias: bool. Add one bias per output frame. Defaults to True.
        kernel_initializer: str or initializer. Defaults to `"glorot_uniform"`.
        bias_initializer: str or initializer. Defaults to `"zeros"`.
        **kwargs: base `Layer` arguments (`name`, `dtype`, ...).

    Call: `mix(x)`, x `(batch, T, features)`. Output `(batch, frames, features)`.

    Example:

    >>> import numpy as np
    >>> mix = FrameMixing(25)
    >>> tuple(mix(np.zeros((2, 32, 7), "float32")).shape), mix.count_params()
    ((2, 25, 7), 825)
    """

    def __init__(self, frames, use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        if not isinstance(frames, int) or isinstance(frames, bool) or frames < 1:
            raise ValueError(f"Expected frames to be a positive int. Received: frames={frames!r}")
        self.frames = frames
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        steps = input_shape[1]
        if steps is None:
            raise ValueError(
                f"FrameMixing needs a known number of input frames (they are its channels). "
                f"Received: input_shape={tuple(input_shape)}"
            )
        self.kernel = self.add_weight(name="kernel", shape=(steps, self.frames), initializer=self.kernel_initializer)
        self.bias = (
            self.add_weight(name="bias", shape=(self.frames,), initializer=self.bias_initializer)
            if self.use_bias
            else None
        )

    def call(self, x):
        y = ops.einsum("btf,to->bof", x, ops.cast(self.kernel, x.dtype))  # (batch, frames, features)
        if self.use_bias:
            y = y + ops.expand_dims(ops.cast(self.bias, x.dtype), -1)
        return y

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.frames, input_shape[2])

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "frames": self.frames,
                "use_bias": self.use_bias,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config


@keras.saving.register_keras_serializable(package="coaudiotext")
class StatisticsPooling(layers.Layer):
    """Pools n vectors `(batch, features)` into one: [std ‖ mean] over the n (or their mean).

    With `mode="stats"` this is `torch.cat(torch.std_mean(torch.stack(vectors, 1), dim=1), 1)`:
    `torch.std_mean` returns `(std, mean)`, so the original's concatenation is **[std ‖ mean]**,
    and its std is unbiased (`ddof=1`).

    Args:
        mode: str. `"stats"` ([std ‖ mean], 2 * features) or `"mean"` (the mean only, the paper's
            "noSP" ablation). Defaults to `"stats"`.
        ddof: int. Delta degrees of freedom of the std (1: unbiased, `torch.std`'s default).
            Defaults to 1.
        order: str. `"std_mean"` (the original) or `"mean_std"` (what its variable names say).
            Defaults to `"std_mean"`.
        undefined_std: str. What to do when there are at most `ddof` vectors, where the std is
            undefined (PyTorch returns NaN): `"error"` raises a `ValueError`, `"zero"` uses a std
            of exactly 0 (no square root, so no NaN gradient). Defaults to `"error"`.
        **kwargs: base `Layer` arguments.

    Call: `pool([v1, ..., vn])`, each `(batch, features)`. Output `(batch, 2 * features)` or
    `(batch, features)`.

    Example:

    >>> import numpy as np
    >>> pool = StatisticsPooling()
    >>> [float(v) for v in pool([np.array([[1.0]]), np.array([[3.0]])])[0]]   # std, mean
    [1.4142135381698608, 2.0]
    """

    def __init__(self, mode="stats", ddof=1, order="std_mean", undefined_std="error", **kwargs):
        super().__init__(**kwargs)
        check_choice("mode", mode, POOLING_MODES)
        check_choice("order", order, STATS_ORDERS)
        check_choice("undefined_std", undefined_std, UNDEFINED_STD)
        if not isinstance(ddof, int) or isinstance(ddof, bool) or ddof < 0:
            raise ValueError(f"Expected ddof to be a non-negative int. Received: ddof={ddof!r}")
        self.mode = mode
        self.ddof = ddof
        self.order = order
        self.undefined_std = undefined_std

    def _check_count(self, count):
        if self.mode == "stats" and count <= self.ddof and self.undefined_std == "error":
            raise ValueError(
                f"StatisticsPooling(mode='stats', ddof={self.ddof}) needs more than {self.ddof} vector(s): "
                f"the std of {count} is undefined (PyTorch gives NaN). Use mode='mean' or "
                f"undefined_std='zero'. Received: {count} vector(s)"
            )

    def build(self, input_shape):
        self._check_count(len(input_shape))

    def call(self, vectors):
        vectors = list(vectors)
        self._check_count(len(vectors))
        stacked = ops.stack(vectors, axis=1)  # (batch, n, features)
        mean = ops.mean(stacked, axis=1)  # (batch, features)
        if self.mode == "mean":
            return mean
        count = len(vectors)
        if count <= self.ddof:  # undefined_std == "zero"
            std = ops.zeros_like(mean)
        else:
            squares = ops.sum(ops.square(stacked - ops.expand_dims(mean, 1)), axis=1)
            std = ops.sqrt(squares / ops.cast(count - self.ddof, stacked.dtype))
        parts = [std, mean] if self.order == "std_mean" else [mean, std]
        return ops.concatenate(parts, axis=-1)  # (batch, 2 * features)

    def compute_output_shape(self, input_shape):
        batch, features = input_shape[0][0], input_shape[0][-1]
        return (batch, features if self.mode == "mean" else 2 * features)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"mode": self.mode, "ddof": self.ddof, "order": self.order, "undefined_std": self.undefined_std}
        )
        return config
