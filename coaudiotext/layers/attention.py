"""The attention block of the CoAudioText tutorial and the small layers around it.

The tutorial (sections 3-6) pastes one attention block ten times. Written once,
it is ATT(H, K, q) for a hidden-state sequence H (batch, T, D), its keys
K = Dense(64, tanh)(H) (batch, T, 64) and a query q (batch, 64):

    s = batch_dot(q, K)               # (batch, T) scores
    a = Dense(T, softmax)(s)          # (batch, T) the learned T x T score mixer
    pooled = sum_t a_t * H_t          # (batch, D)

`AttentionBlock` does the last three lines; the key projection is an ordinary
named `Dense` in the model, because the cross-attention model (CA) computes the
keys of a sequence once and uses them in two attention blocks.

The query comes from an "attention source": in the self-attentive branches the
tutorial feeds an all-zero `Input(64)` through `Dense(64, relu)`. `ZeroSource`
produces that zero vector from the batch size, so the models take only real
features as inputs while keeping the tutorial's parameter counts. Because
`relu(0 @ W + 0) = 0` and the ReLU gradient at 0 is 0, that query stays exactly
0 for the whole of training: the branch's attention is `softmax(b)` of the
score mixer's bias, the same for every sample (a learned positional pooling).
`LearnedSource` is the documented fix: a trainable source vector.

`ReverseTime` flips a sequence in time; it re-aligns the backward LSTM of the
tutorial's hand-built BiLSTMs when `align_backward=True`.

Reference: Lin et al. 2017, "A structured self-attentive sentence embedding"
(arXiv:1703.03130), as adapted by the CoAudioText tutorial (Cho et al. 2019).
"""

import keras
from keras import ops

__all__ = ["AttentionBlock", "ZeroSource", "LearnedSource", "ReverseTime", "attention_weights"]


@keras.saving.register_keras_serializable(package="coaudiotext")
class AttentionBlock(keras.layers.Layer):
    """The tutorial's attention block: scores, (mixed) softmax, weighted sum.

    Given values H (batch, T, D), keys K (batch, T, U) and a query q (batch, U),
    computes `s = batch_dot(q, K)` (batch, T), attention weights
    `a = softmax(s @ W + b)` with a learned (T, T) score mixer `W, b` (the
    tutorial's `Dense(len(seq), softmax)`), and returns `sum_t a_t H_t`.

    With `score_mixing=False` the weights are the plain softmax over the scores
    (standard dot-product attention, no weights, any T).

    Args:
        score_mixing: bool. `True` (faithful) applies the tutorial's learned
            T x T mixing before the softmax (T^2 + T weights, so T must be known
            when the layer is built); `False` uses `softmax(s)`. Defaults to `True`.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: list `[values, keys, query]` of shapes (batch, T, D),
            (batch, T, U), (batch, U).
        return_attention: bool. Also return the attention weights (batch, T).
            Defaults to `False`.

    Returns:
        The pooled vector (batch, D), or `(pooled, weights)` when `return_attention=True`.

    Example:

    >>> import numpy as np
    >>> block = AttentionBlock(name="speech_attention")
    >>> h = np.ones((2, 5, 8), "float32"); k = np.ones((2, 5, 4), "float32")
    >>> q = np.zeros((2, 4), "float32")
    >>> pooled, weights = block([h, k, q], return_attention=True)
    >>> tuple(pooled.shape), tuple(weights.shape)
    ((2, 8), (2, 5))
    >>> block.count_params()  # 5 * 5 + 5
    30
    """

    def __init__(self, score_mixing=True, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(score_mixing, bool):
            raise ValueError(f"Expected score_mixing to be True or False. Received: score_mixing={score_mixing!r}")
        self.score_mixing = score_mixing

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 3:
            raise ValueError(
                "AttentionBlock expects inputs [values, keys, query] of shapes (batch, T, D), "
                f"(batch, T, U), (batch, U). Received input_shape={input_shape}"
            )
        values_shape, keys_shape, query_shape = (tuple(s) for s in input_shape)
        if len(values_shape) != 3 or len(keys_shape) != 3 or len(query_shape) != 2:
            raise ValueError(
                "AttentionBlock expects values (batch, T, D), keys (batch, T, U) and query (batch, U). "
                f"Received shapes values={values_shape}, keys={keys_shape}, query={query_shape}"
            )
        if None not in (keys_shape[-1], query_shape[-1]) and keys_shape[-1] != query_shape[-1]:
            raise ValueError(
                "The keys and the query of an AttentionBlock must have the same last dimension. "
                f"Received keys={keys_shape}, query={query_shape}"
            )
        if None not in (values_shape[1], keys_shape[1]) and values_shape[1] != keys_shape[1]:
            raise ValueError(
                f"The values and keys of an AttentionBlock must have the same length T. "
                f"Received values={values_shape}, keys={keys_shape}"
            )
        steps = values_shape[1]
        if self.score_mixing:
            if steps is None:
                raise ValueError(
                    "score_mixing=True needs a fixed sequence length T (the mixer is a T x T Dense). "
                    f"Received values shape {values_shape}; give the input a fixed length or use score_mixing=False."
                )
            # The tutorial's Dense(len(seq), softmax) applied to the (batch, T) scores.
            self.score_mixer_kernel = self.add_weight(
                shape=(steps, steps), initializer="glorot_uniform", name="score_mixer_kernel"
            )
            self.score_mixer_bias = self.add_weight(shape=(steps,), initializer="zeros", name="score_mixer_bias")

    def call(self, inputs, return_attention=False):
        values, keys, query = inputs
        scores = ops.einsum("bu,btu->bt", query, keys)  # (batch, T), K.batch_dot(q, K, axes=(1, 2))
        if self.score_mixing:
            scores = ops.matmul(scores, self.score_mixer_kernel) + self.score_mixer_bias
        weights = ops.softmax(scores, axis=-1)  # (batch, T)
        pooled = ops.sum(values * ops.expand_dims(weights, -1), axis=1)  # (batch, D)
        if return_attention:
            return pooled, weights
        return pooled

    def get_config(self):
        config = super().get_config()
        config.update({"score_mixing": self.score_mixing})
        return config


@keras.saving.register_keras_serializable(package="coaudiotext")
class ZeroSource(keras.layers.Layer):
    """An all-zero "attention source" (batch, units), sized from any batched input.

    Replaces the tutorial's dummy `Input(shape=(64,))` fed with `np.zeros`: the
    model's inputs stay real features only, and the `Dense(64, relu)` that
    follows keeps its parameters. Has no weights.

    Args:
        units: int. Size of the zero vector (`attention_units`). Defaults to 64.
        **kwargs: base `keras.layers.Layer` arguments.

    Input: any tensor whose first axis is the batch. Output: zeros (batch, units).

    Example:

    >>> import numpy as np
    >>> tuple(ZeroSource(4)(np.ones((3, 7, 2), "float32")).shape)
    (3, 4)
    """

    def __init__(self, units=64, **kwargs):
        super().__init__(**kwargs)
        _check_units(units)
        self.units = units

    def call(self, inputs):
        batch = ops.shape(inputs)[0]
        return ops.zeros((batch, self.units), dtype=self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units})
        return config


@keras.saving.register_keras_serializable(package="coaudiotext")
class LearnedSource(keras.layers.Layer):
    """A trainable "attention source" vector (batch, units), the fix for dead attention.

    Used by `query="learned"`: the tutorial's zero source is replaced by one
    trainable vector shared by all samples; the query `Dense(64, relu)` that
    follows then receives gradients, so the attention depends on the input.
    Adds `units` weights.

    Args:
        units: int. Size of the vector (`attention_units`). Defaults to 64.
        initializer: str or initializer. Initialiser of the vector; non-zero, so
            that the following ReLU starts alive. Defaults to `"random_normal"`
            with standard deviation 1.
        **kwargs: base `keras.layers.Layer` arguments.

    Input: any tensor whose first axis is the batch. Output: the vector, repeated (batch, units).
    """

    def __init__(self, units=64, initializer=None, **kwargs):
        super().__init__(**kwargs)
        _check_units(units)
        self.units = units
        self.initializer = keras.initializers.get(
            initializer if initializer is not None else keras.initializers.RandomNormal(stddev=1.0)
        )

    def build(self, input_shape):
        self.source = self.add_weight(shape=(self.units,), initializer=self.initializer, name="source")

    def call(self, inputs):
        batch = ops.shape(inputs)[0]
        return ops.broadcast_to(ops.expand_dims(ops.cast(self.source, self.compute_dtype), 0), (batch, self.units))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units, "initializer": keras.initializers.serialize(self.initializer)})
        return config


@keras.saving.register_keras_serializable(package="coaudiotext")
class ReverseTime(keras.layers.Layer):
    """Flips a sequence along time (axis 1): `keras.ops.flip(x, axis=1)`.

    A Keras `LSTM(go_backwards=True, return_sequences=True)` returns its outputs
    in reversed time order; `Bidirectional` flips them back, the tutorial's
    hand-built BiLSTMs do not. `align_backward=True` inserts this layer.

    Args:
        **kwargs: base `keras.layers.Layer` arguments.

    Input: (batch, T, ...). Output: the same shape, time reversed.
    """

    def call(self, inputs):
        return ops.flip(inputs, axis=1)

    def compute_output_shape(self, input_shape):
        return input_shape


def attention_weights(model, layer_name, inputs):
    """Returns the attention weights of the `AttentionBlock` `layer_name` of `model`.

    Runs `model` up to the block's inputs (inference mode) and calls the block
    with `return_attention=True`. Used by the tutorials to plot attention and by
    the tests that check dead attention.

    Args:
        model: keras.Model. A model containing the block.
        layer_name: str. Name of an `AttentionBlock` layer of `model`.
        inputs: dict of arrays keyed by the model's input names.

    Returns:
        A numpy array (batch, T) of attention weights (each row sums to 1).

    Example:

    >>> from coaudiotext.models import build_model
    >>> import numpy as np
    >>> model = build_model("bilstm_att", audio_shape=(20, 129))
    >>> w = attention_weights(model, "speech_attention", {"audio": np.zeros((2, 20, 129), "float32")})
    >>> w.shape
    (2, 20)
    """
    block = model.get_layer(layer_name)
    if not isinstance(block, AttentionBlock):
        raise ValueError(
            f"Expected layer_name to name an AttentionBlock of the model. Received: layer_name={layer_name!r} "
            f"({type(block).__name__})"
        )
    probe = keras.Model(model.inputs, block.input)
    values, keys, query = probe(inputs, training=False)
    _, weights = block([values, keys, query], return_attention=True)
    return keras.ops.convert_to_numpy(weights)


def _check_units(units):
    if not isinstance(units, int) or isinstance(units, bool) or units <= 0:
        raise ValueError(f"Expected units to be a positive int. Received: units={units!r}")
