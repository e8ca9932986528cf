"""Layers of SER-MMoE (Wang et al., 2022; `hannawong/Speech-Emotion-Recognition`, `model/SER_mmoe`).

- `BranchRecurrence`: the branches' (Bi)LSTM stack, with the original's recurrence **across the
  utterances of a batch** (`nn.LSTM` without `batch_first`) or the per-utterance one.
- `LastFrameAttention`: single-query attention whose query is the hidden state at the "last valid"
  frame, keys masked by length, scaled by 1/sqrt(d) (`ser_model.py` `self_attention_layer*`, l.165-228).
- `HardConcreteGate`: the shared `high_layers` of `DSBN.py`: a hard-concrete (L0-style) gate on
  one weight matrix applied to every expert vector.
- `ExpertMixture`: the per-language "multi-gate" fusion: experts scaled by the gate's softmax,
  summed, concatenated with the scaled GE2E vector.
- `ErfGELU`: PyTorch's exact `F.gelu`, in the layer's dtype (Keras's `gelu` is about 5e-9 off in float64).
- `GE2EEmotionLoss` (and the function `ge2e_emotion_loss`): the GE2E softmax loss over emotion
  "centroids" of the batch (`construct_matrix_embed` + `SpeakerEncoder.loss`), added with
  `add_loss`.

All are registered with Keras (package `coaudiotext`), so `.keras` files reload with `safe_mode=True`.
"""

import math

import keras
from keras import layers, ops

from coaudiotext._checks import check_choice

__all__ = [
    "BranchRecurrence",
    "LastFrameAttention",
    "HardConcreteGate",
    "ExpertMixture",
    "GE2EEmotionLoss",
    "ge2e_emotion_loss",
    "ErfGELU",
]

DEGENERATE = ("zero", "nan")


def _is_shape_list(shape):
    return isinstance(shape, (list, tuple)) and len(shape) > 0 and isinstance(shape[0], (list, tuple))


def _positive_int(argument, value):
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"Expected {argument} to be a positive int. Received: {argument}={value!r}")


def _bool(argument, value):
    if not isinstance(value, bool):
        raise ValueError(f"Expected {argument} to be True or False. Received: {argument}={value!r}")


@keras.saving.register_keras_serializable(package="coaudiotext")
class BranchRecurrence(layers.Layer):
    """A stack of bidirectional LSTMs, run over time or (faithfully) over the batch axis.

    The original's branch LSTMs (`nn.LSTM(..., bidirectional=True)`, `ser_model.py` l.39, l.47, l.55)
    are not `batch_first`, yet receive `(batch, frames, features)` tensors: PyTorch reads them as
    `(time, batch, features)`, so the recurrence runs **across the utterances of the batch** (the
    frames are the "batch"). Each utterance's output then depends on the other utterances of the
    batch and on their order (a batch of one gives a different output than the same utterance in a
    batch). `recur_over_batch=True` reproduces this exactly: the input is transposed to
    `(frames, batch, features)`, a Keras LSTM reads the batch axis as its time axis, and the
    output is transposed back. `recur_over_batch=False` is what the code meant: one recurrence per
    utterance over its frames. Neither masks the zero padding (the original packs nothing).

    PyTorch's LSTM has two biases per gate (`b_ih`, `b_hh`) where Keras has one (their sum), so each
    layer and direction has `4 * units` fewer parameters than the original; the gate order
    (i, f, g, o) is the same, so weights copy as `kernel = W_ih.T`, `recurrent = W_hh.T`,
    `bias = b_ih + b_hh`.

    Args:
        units: int. Units of each direction (the output has `2 * units` features).
        num_layers: int. Stacked bidirectional layers (the next reads the concatenated directions).
            Defaults to 1.
        recur_over_batch: bool. True (faithful): recur over the batch axis; False: over frames.
            Defaults to True.
        kernel_initializer: initializer of the input kernels. Defaults to `"glorot_uniform"`.
        recurrent_initializer: initializer of the recurrent kernels. Defaults to `"orthogonal"`.
        bias_initializer: initializer of the biases. Defaults to `"zeros"`.
        unit_forget_bias: bool. Keras's +1 on the forget-gate bias at init. Defaults to True.
        **kwargs: base `Layer` arguments (`name`, `dtype`, ...).

    Call: `recurrence(x)`, x `(batch, frames, features)`. Output `(batch, frames, 2 * units)`.

    Example:

    >>> import numpy as np
    >>> rnn = BranchRecurrence(4, num_layers=2)
    >>> tuple(rnn(np.zeros((3, 5, 2), "float32")).shape)
    (3, 5, 8)
    """

    def __init__(
        self,
        units,
        num_layers=1,
        recur_over_batch=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        unit_forget_bias=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        _positive_int("units", units)
        _positive_int("num_layers", num_layers)
        _bool("recur_over_batch", recur_over_batch)
        self.units = units
        self.num_layers = num_layers
        self.recur_over_batch = recur_over_batch
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.unit_forget_bias = unit_forget_bias
        self.lstms = []
        for i in range(num_layers):
            lstm = layers.LSTM(
                units,
                return_sequences=True,
                kernel_initializer=self.kernel_initializer,
                recurrent_initializer=self.recurrent_initializer,
                bias_initializer=self.bias_initializer,
                unit_forget_bias=unit_forget_bias,
                dtype=self.dtype_policy,
            )
            self.lstms.append(
                layers.Bidirectional(lstm, merge_mode="concat", name=f"bilstm_{i + 1}", dtype=self.dtype_policy)
            )

    def build(self, input_shape):
        batch, frames, features = input_shape
        shape = (frames, batch, features) if self.recur_over_batch else (batch, frames, features)
        for lstm in self.lstms:
            lstm.build(shape)
            shape = shape[:2] + (2 * self.units,)

    def call(self, x, training=None):
        if self.recur_over_batch:
            x = ops.transpose(x, (1, 0, 2))  # (frames, batch, features): the batch is the time axis
        for lstm in self.lstms:
            x = lstm(x, training=training)
        if self.recur_over_batch:
            x = ops.transpose(x, (1, 0, 2))
        return x  # (batch, frames, 2 * units)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], 2 * self.units)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "num_layers": self.num_layers,
                "recur_over_batch": self.recur_over_batch,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "unit_forget_bias": self.unit_forget_bias,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="coaudiotext")
class LastFrameAttention(layers.Layer):
    """Single-query attention: the query is the hidden state at the stored length index.

    The original (`self_attention_layer`, `_mfcc`, `_wav2vec`, `ser_model.py` l.165-228) takes an index
    `L` per utterance and computes

        q = Q(h[L]);  K = K(h);  V = V(h)                     # Linear(d_in -> units) each
        a = softmax(q K^T / sqrt(units + scale_epsilon) - 10000 * [t >= L])
        context = a V                                          # (batch, units)

    The data pipeline stores `L = n - 1` for the phone and wav2vec branches, so the query is the last
    valid frame and the mask **also hides that frame** (an off-by-one: `[1] * L` covers frames
    0..L-1). The MFCC pipeline stores `L = min(n, T - 1)` (`training/utils.py` l.141): its query is
    the first padded frame and its mask covers all n valid frames. This layer takes the number of
    valid frames `n` and rebuilds `L = min(n - 1 + length_shift, T - 1)` (clipped at 0).
    `mask_query_frame=False` lets the keys include the query frame (keys `t <= L`).

    `.squeeze()` in the original turns a batch of one into a vector (which breaks the stacking that
    follows); this layer always returns `(batch, units)`.

    Args:
        units: int. Width of the query, key and value projections. Defaults to 256.
        scale_epsilon: float. Added to `units` under the square root (the wav2vec branch: 1e-4).
            Defaults to 0.0.
        length_shift: int. 0 (phone, wav2vec: `L = n - 1`) or 1 (the MFCC pipeline: `L = n`).
            Defaults to 0.
        mask_query_frame: bool. True (faithful): keys `t < L`, the query frame is hidden; False:
            keys `t <= L`. Defaults to True.
        mask_value: float. The additive mask. Defaults to -10000.0 (the original's).
        kernel_initializer: initializer of the Q/K/V kernels. Defaults to `"glorot_uniform"`.
        bias_initializer: initializer of the Q/K/V biases. Defaults to `"zeros"`.
        **kwargs: base `Layer` arguments.

    Call: `attention([h, frames])`: h `(batch, T, d_in)`, frames `(batch,)` integer numbers of valid
    frames (>= 1). Output `(batch, units)`.

    Example:

    >>> import numpy as np
    >>> attention = LastFrameAttention(8)
    >>> tuple(attention([np.ones((2, 5, 3), "float32"), np.array([5, 2])]).shape)
    (2, 8)
    """

    def __init__(
        self,
        units=256,
        scale_epsilon=0.0,
        length_shift=0,
        mask_query_frame=True,
        mask_value=-10000.0,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        _positive_int("units", units)
        if length_shift not in (0, 1) or isinstance(length_shift, bool):
            raise ValueError(f"Expected length_shift to be 0 or 1. Received: length_shift={length_shift!r}")
        _bool("mask_query_frame", mask_query_frame)
        self.units = units
        self.scale_epsilon = float(scale_epsilon)
        self.length_shift = length_shift
        self.mask_query_frame = mask_query_frame
        self.mask_value = float(mask_value)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        features = input_shape[0][-1]
        for part in ("query", "key", "value"):
            setattr(
                self,
                f"{part}_kernel",
                self.add_weight(name=f"{part}_kernel", shape=(features, self.units), initializer=self.kernel_initializer),
            )
            setattr(
                self,
                f"{part}_bias",
                self.add_weight(name=f"{part}_bias", shape=(self.units,), initializer=self.bias_initializer),
            )

    def call(self, inputs):
        h, frames = inputs
        steps = ops.shape(h)[1]
        frames = ops.reshape(ops.cast(frames, "int32"), (-1,))
        index = ops.clip(frames - 1 + self.length_shift, 0, steps - 1)  # (batch,) the original's L
        positions = ops.arange(steps, dtype="int32")
        pick = ops.cast(ops.equal(positions[None, :], index[:, None]), h.dtype)  # (batch, T) one-hot of L
        last = ops.einsum("bt,btd->bd", pick, h)  # h[b, L_b]
        query = ops.matmul(last, self.query_kernel) + self.query_bias  # (batch, units)
        keys = ops.matmul(h, self.key_kernel) + self.key_bias  # (batch, T, units)
        values = ops.matmul(h, self.value_kernel) + self.value_bias  # (batch, T, units)
        scores = ops.einsum("bd,btd->bt", query, keys) * (1.0 / math.sqrt(self.units + self.scale_epsilon))
        limit = index if self.mask_query_frame else index + 1
        valid = ops.cast(positions[None, :] < limit[:, None], h.dtype)  # (batch, T)
        scores = scores + (1.0 - valid) * self.mask_value
        weights = ops.softmax(scores, axis=-1)
        return ops.einsum("bt,btd->bd", weights, values)  # (batch, units)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], self.units)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "scale_epsilon": self.scale_epsilon,
                "length_shift": self.length_shift,
                "mask_query_frame": self.mask_query_frame,
                "mask_value": self.mask_value,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config


@keras.saving.register_keras_serializable(package="coaudiotext")
class HardConcreteGate(layers.Layer):
    """The shared `high_layers` of `DSBN.py` (l.8-33): a hard-concrete gated matrix for all experts.

    With trainable `u` (units_in x units_out, init U(0, 1)), `alpha` (one scalar, init U(0, 1)) and
    `W` (xavier normal):

        s = sigmoid(log u - log(1 - u) + log(alpha) / beta)     # beta = 0.9
        z = min(1, max(0, s * (zeta - gamma) + gamma))          # gamma = -0.1, zeta = 2 ("eplison")
        out[e] = x[e] @ (z * W)                                 # one matrix for every expert e

    **Train and inference behaviour.** In the original `u` is a trained parameter, not noise, so
    the gate is deterministic and identical in training and inference: it is a learned, clipped
    mask of `W` (at init about 37% of z are 1, 7% are 0). Despite the file name it is not
    domain-specific batch norm, and no loss term penalises the number of open gates.

    Options (off by default):

    - `stochastic=True`: a real hard-concrete gate: in training, logistic noise
      `log(n) - log(1 - n)`, n ~ U(0, 1), is added to the gate logit before the sigmoid (a fresh
      draw each call); at inference the noise is 0, which gives the faithful deterministic gate.
    - `l0_penalty > 0`: adds `l0_penalty * mean(sigmoid(logit - log(-gamma / zeta)))` with
      `add_loss` in training: the probability that a gate is non-zero (Louizos et al., 2018), where
      `logit = log u - log(1 - u) + log(alpha) / beta`. The original has none.

    `log u` and `log(1 - u)` are NaN once an update moves `u` out of (0, 1) or `alpha` below 0; the
    original has the same hazard (it does not clip), and so does this layer.

    Args:
        units: int. Output width (the original: 256, as its input).
        beta: float. Temperature of `log(alpha)`. Defaults to 0.9.
        gamma: float. Lower end of the stretch interval. Defaults to -0.1.
        zeta: float. Upper end of the stretch interval (the original's `eplison`). Defaults to 2.0.
        stochastic: bool. Sample the hard-concrete noise in training. Defaults to False.
        l0_penalty: float. Weight of the expected-L0 penalty. Defaults to 0.0.
        seed: int or None. Seed of the noise. Defaults to None.
        **kwargs: base `Layer` arguments.

    Call: `gate(x)`, x `(..., units_in)` (the original stacks the experts: `(experts, batch, units_in)`)
    or a list of such tensors (one per expert; one gate draw for all). Output `(..., units)` (or a list).

    Example:

    >>> import numpy as np
    >>> gate = HardConcreteGate(4)
    >>> tuple(gate(np.ones((3, 2, 6), "float32")).shape), gate.count_params()
    ((3, 2, 4), 49)
    """

    def __init__(self, units, beta=0.9, gamma=-0.1, zeta=2.0, stochastic=False, l0_penalty=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        _positive_int("units", units)
        _bool("stochastic", stochastic)
        if not (float(gamma) < 0.0 and float(zeta) > 1.0):
            raise ValueError(f"Expected gamma < 0 and zeta > 1. Received: gamma={gamma!r}, zeta={zeta!r}")
        if float(l0_penalty) < 0.0:
            raise ValueError(f"Expected l0_penalty >= 0. Received: l0_penalty={l0_penalty!r}")
        self.units = units
        self.beta = float(beta)
        self.gamma = float(gamma)
        self.zeta = float(zeta)
        self.stochastic = stochastic
        self.l0_penalty = float(l0_penalty)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed) if stochastic else None

    def build(self, input_shape):
        features = input_shape[0][-1] if _is_shape_list(input_shape) else input_shape[-1]
        self.alpha = self.add_weight(name="alpha", shape=(1,), initializer=keras.initializers.RandomUniform(0.0, 1.0))
        self.u = self.add_weight(
            name="u", shape=(features, self.units), initializer=keras.initializers.RandomUniform(0.0, 1.0)
        )
        self.w = self.add_weight(name="w", shape=(features, self.units), initializer="glorot_normal")

    def gate_logits(self):
        """`log u - log(1 - u) + log(alpha) / beta`, shape `(units_in, units)`."""
        return ops.log(self.u) - ops.log(1.0 - self.u) + ops.log(self.alpha) / self.beta

    def gates(self, training=False):
        """The gate values z in [0, 1], shape `(units_in, units)` (noisy in stochastic training)."""
        logits = self.gate_logits()
        if self.stochastic and training:
            noise = keras.random.uniform(ops.shape(logits), 1e-6, 1.0 - 1e-6, seed=self.seed_generator, dtype=logits.dtype)
            logits = logits + ops.log(noise) - ops.log(1.0 - noise)
        stretched = ops.sigmoid(logits) * (self.zeta - self.gamma) + self.gamma
        z = ops.where(stretched > 0.0, stretched, ops.zeros_like(stretched))
        return ops.where(z > 1.0, ops.ones_like(z), z)

    def call(self, x, training=None):
        z = self.gates(training=bool(training))  # one draw for every expert, as one matrix in the original
        if training and self.l0_penalty > 0.0:
            open_probability = ops.sigmoid(self.gate_logits() - math.log(-self.gamma / self.zeta))
            self.add_loss(self.l0_penalty * ops.mean(open_probability))
        if isinstance(x, (list, tuple)):
            return [ops.matmul(v, ops.cast(z * self.w, v.dtype)) for v in x]
        return ops.matmul(x, ops.cast(z * self.w, x.dtype))

    def compute_output_shape(self, input_shape):
        if _is_shape_list(input_shape):
            return [tuple(shape[:-1]) + (self.units,) for shape in input_shape]
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "beta": self.beta,
                "gamma": self.gamma,
                "zeta": self.zeta,
                "stochastic": self.stochastic,
                "l0_penalty": self.l0_penalty,
                "seed": self.seed,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="coaudiotext")
class ExpertMixture(layers.Layer):
    """Scales each expert vector by its gate weight, sums them and appends the scaled GE2E vector.

    The original (`ser_model.py` l.378-396, 425-441, 479-495, 526-537) computes, per sample,
    `x_k * s_k` for every expert (written as `(X.T @ diag(s_k)).T`), then
    `cat([sum of the other experts, s_g * ge2e])`. The gate has `num_experts` outputs
    (5 for en/pe/fr: phone, mfcc, wav2vec, ge2e, utterance; 4 for ge, without the utterance).
    Experts absent from a reduced model (`present`) contribute nothing: their softmax weight is
    still computed, and the sum of no experts is a zero vector of width `width`.

    Args:
        num_experts: int. Outputs of the gate.
        present: list of int. Gate index of each expert vector passed, in order.
        separate: int or None. Gate index of the vector appended instead of summed (GE2E: 3), or
            None to append nothing. Must be in `present` when given.
        width: int. Width of the expert vectors. Defaults to 256.
        **kwargs: base `Layer` arguments.

    Call: `mixture([experts, scores])`: experts a list of `(batch, width)` in the order of
    `present`, scores `(batch, num_experts)` (the gate's softmax). Output `(batch, 2 * width)`
    with `separate`, else `(batch, width)`.

    Example:

    >>> import numpy as np
    >>> mix = ExpertMixture(3, present=[0, 2], separate=2, width=2)
    >>> out = mix([[np.ones((1, 2)), np.ones((1, 2))], np.array([[0.5, 0.3, 0.2]])])
    >>> keras.ops.convert_to_numpy(out).astype(float).round(2).tolist()
    [[0.5, 0.5, 0.2, 0.2]]
    """

    def __init__(self, num_experts, present, separate=None, width=256, **kwargs):
        super().__init__(**kwargs)
        _positive_int("num_experts", num_experts)
        _positive_int("width", width)
        present = [int(i) for i in present]
        if len(set(present)) != len(present) or any(not 0 <= i < num_experts for i in present):
            raise ValueError(
                f"Expected present to be distinct gate indices in [0, {num_experts}). Received: present={present!r}"
            )
        if separate is not None and separate not in present:
            raise ValueError(f"Expected separate to be one of present={present}. Received: separate={separate!r}")
        self.num_experts = num_experts
        self.present = present
        self.separate = separate
        self.width = width

    def call(self, inputs):
        experts, scores = inputs
        experts = list(experts)
        if len(experts) != len(self.present):
            raise ValueError(f"ExpertMixture expects {len(self.present)} expert vectors; received {len(experts)}.")
        total = ops.zeros_like(scores[:, :1]) * ops.zeros((1, self.width), dtype=scores.dtype)  # (batch, width)
        appended = None
        for index, vector in zip(self.present, experts):
            scaled = vector * scores[:, index : index + 1]
            if index == self.separate:
                appended = scaled
            else:
                total = total + scaled
        return total if appended is None else ops.concatenate([total, appended], axis=-1)

    def compute_output_shape(self, input_shape):
        batch = input_shape[1][0]
        return (batch, self.width * (1 if self.separate is None else 2))

    def get_config(self):
        config = super().get_config()
        config.update(
            {"num_experts": self.num_experts, "present": list(self.present), "separate": self.separate, "width": self.width}
        )
        return config


def ge2e_emotion_loss(embeddings, labels, num_classes, weight, bias, prune=False, degenerate="zero"):
    """The GE2E softmax loss over the emotion classes of a batch (`keras.ops`, any backend).

    The original (`construct_matrix_embed`, `ser_model.py` l.256-282, then `loss` l.230-254 or
    `SpeakerEncoder.loss`, `GE2E_model.py` l.97-125) groups the tower outputs by class, keeps the
    first `m` samples of every class, `m` = the smallest class count of the batch (with
    `prune=True` only classes with more than 5 samples take part), and computes, for each kept
    sample `e` of class `c`:

        sim(e, k) = w * cos-ish(e, centroid_k) + b     centroid_k: mean of class k, L2-normalised
                                                       (+1e-5); for k = c the mean excludes e
        loss = mean over kept samples of CE(softmax_k sim(e, k), c)

    (the embeddings themselves are not normalised: a dot product with the unit centroids). The
    loss does not depend on the order of the classes, so the classes are indexed by label here
    rather than by first appearance; which samples are kept (the first `m` of each class) does
    depend on the batch order, as in the original.

    Degenerate batches: with `m = 1` (a class with one sample) the exclusive centroid divides
    0 by 0 and the original's loss is NaN; with `prune=True` and no class above 5 samples the
    original raises `ValueError` (`np.min` of an empty list). `degenerate="zero"` returns 0 in both
    cases (and computes with safe denominators so gradients stay finite); `degenerate="nan"`
    returns NaN in both (the crash cannot happen inside a graph).

    Args:
        embeddings: tensor `(batch, dim)`.
        labels: integer tensor `(batch,)` or `(batch, 1)`.
        num_classes: int. Number of classes.
        weight: scalar tensor. `similarity_weight`.
        bias: scalar tensor. `similarity_bias`.
        prune: bool. Keep only classes with more than 5 samples (the original's pe). Defaults to False.
        degenerate: str. `"zero"` or `"nan"`, see above. Defaults to `"zero"`.

    Returns:
        A scalar tensor.
    """
    check_choice("degenerate", degenerate, DEGENERATE)
    dtype = embeddings.dtype
    labels = ops.reshape(ops.cast(labels, "int32"), (-1,))
    onehot = ops.one_hot(labels, num_classes, dtype=dtype)  # (batch, C)
    counts = ops.sum(onehot, axis=0)  # (C,)
    present = counts > (5.0 if prune else 0.0)
    big = ops.cast(ops.shape(labels)[0] + 1, dtype)
    m = ops.min(ops.where(present, counts, big * ops.ones_like(counts)))  # smallest count among the kept classes
    rank = ops.sum(ops.cumsum(onehot, axis=0) * onehot, axis=1)  # 1-based rank of a sample within its class
    kept = ops.cast(ops.take(present, labels), dtype) * ops.cast(rank <= m, dtype)  # (batch,)
    members = onehot * kept[:, None]  # (batch, C)
    sums = ops.einsum("bc,bd->cd", members, embeddings)  # (C, dim)
    degenerate_batch = ops.logical_or(m < 2.0, ops.sum(ops.cast(present, dtype)) < 1.0)
    if degenerate == "zero":
        m_safe = ops.maximum(m, 2.0)
    else:
        m_safe = m
    inclusive = sums / m_safe
    inclusive = inclusive / (ops.norm(inclusive, axis=-1, keepdims=True) + 1e-5)
    exclusive = (ops.matmul(onehot, sums) - embeddings) / (m_safe - 1.0)  # (batch, dim), own class without e
    exclusive = exclusive / (ops.norm(exclusive, axis=-1, keepdims=True) + 1e-5)
    similarity = ops.matmul(embeddings, ops.transpose(inclusive))  # (batch, C)
    own = ops.sum(embeddings * exclusive, axis=-1)  # (batch,)
    similarity = similarity * (1.0 - onehot) + own[:, None] * onehot
    weight, bias = (ops.convert_to_tensor(v, dtype=dtype) if isinstance(v, (int, float)) else ops.cast(v, dtype)
                    for v in (weight, bias))  # a Python float stays exact in float64
    similarity = similarity * weight + bias
    similarity = ops.where(present[None, :], similarity, ops.full_like(similarity, -1e9))  # only kept classes compete
    log_probabilities = ops.log_softmax(similarity, axis=-1)
    per_sample = -ops.sum(log_probabilities * onehot, axis=-1)  # (batch,)
    number = ops.sum(kept)
    per_sample = ops.where(kept > 0.0, per_sample, ops.zeros_like(per_sample))  # rows left out add nothing
    loss = ops.sum(per_sample) / ops.maximum(number, 1.0)
    if degenerate == "zero":
        return ops.where(degenerate_batch, ops.zeros_like(loss), loss)
    return ops.where(degenerate_batch, ops.full_like(loss, float("nan")), loss)


@keras.saving.register_keras_serializable(package="coaudiotext")
class GE2EEmotionLoss(layers.Layer):
    """Adds `alpha * ge2e_emotion_loss(embeddings, labels)` with `add_loss` and passes the embeddings on.

    Place it between the tower output and the output layer of a training graph that has a label
    input (`coaudiotext.models.ser_mmoe.training_model` does this): the total training loss is then
    the compiled cross-entropy plus this term, as the original's `loss + alpha * contrastive_loss`.
    The term is only added when `training` is true.

    The similarity scale and offset are the layer's weights `similarity_weight` / `similarity_bias`.
    The original uses, per language:

    - en and pe: `self.similarity_weight/bias = nn.Parameter(...).to("cuda")`, non-leaf tensors on
      the GPU, hence **never trained**: 10 and -5 (`trainable=False`);
    - ge and fr: the pretrained speaker encoder's pair, 70.89 / -4.18, in the optimizer's speaker
      encoder group at 0.01 x the learning rate (`trainable=True`, `lr_multiplier=0.01`).

    `lr_multiplier` trains an offset from the initial value instead of the value: `w = w0 +
    lr_multiplier * offset` (offset starts at 0), so Adam's (scale-invariant) step on the offset
    moves `w` `lr_multiplier` times as far: the original's per-group learning rate without a second
    optimizer. (Weight decay then pulls `w` towards `w0`, not 0; at the original's 1e-5 it is
    negligible either way.)

    Args:
        num_classes: int. Number of classes.
        alpha: float. Weight of the term (en 0.1, ge 0.01, fr 0.015, pe 0.01). Defaults to 0.01.
        similarity_weight: float. Initial `w`. Defaults to 10.0.
        similarity_bias: float. Initial `b`. Defaults to -5.0.
        similarity_trainable: bool. Train `w` and `b`. Defaults to False.
        lr_multiplier: float. Learning-rate factor of `w` and `b` (with an Adam-type optimizer).
            Defaults to 1.0.
        prune: bool. See `ge2e_emotion_loss`. Defaults to False.
        degenerate: str. `"zero"` or `"nan"`, see `ge2e_emotion_loss`. Defaults to `"zero"`.
        **kwargs: base `Layer` arguments.

    Call: `loss_layer([embeddings, labels], training=...)`. Output: the embeddings, unchanged.
    """

    def __init__(
        self,
        num_classes,
        alpha=0.01,
        similarity_weight=10.0,
        similarity_bias=-5.0,
        similarity_trainable=False,
        lr_multiplier=1.0,
        prune=False,
        degenerate="zero",
        **kwargs,
    ):
        super().__init__(**kwargs)
        _positive_int("num_classes", num_classes)
        _bool("similarity_trainable", similarity_trainable)
        _bool("prune", prune)
        check_choice("degenerate", degenerate, DEGENERATE)
        if not float(lr_multiplier) > 0.0:
            raise ValueError(f"Expected lr_multiplier > 0. Received: lr_multiplier={lr_multiplier!r}")
        self.num_classes = num_classes
        self.alpha = float(alpha)
        self.similarity_weight = float(similarity_weight)
        self.similarity_bias = float(similarity_bias)
        self.similarity_trainable = similarity_trainable
        self.lr_multiplier = float(lr_multiplier)
        self.prune = prune
        self.degenerate = degenerate

    def build(self, input_shape):
        self.weight_offset = self.add_weight(
            name="similarity_weight_offset", shape=(), initializer="zeros", trainable=self.similarity_trainable
        )
        self.bias_offset = self.add_weight(
            name="similarity_bias_offset", shape=(), initializer="zeros", trainable=self.similarity_trainable
        )

    def similarity(self):
        """The current `(w, b)`."""
        return (
            self.similarity_weight + self.lr_multiplier * self.weight_offset,
            self.similarity_bias + self.lr_multiplier * self.bias_offset,
        )

    def call(self, inputs, training=None):
        embeddings, labels = inputs
        if training:
            weight, bias = self.similarity()
            loss = ge2e_emotion_loss(
                embeddings, labels, self.num_classes, weight, bias, prune=self.prune, degenerate=self.degenerate
            )
            self.add_loss(self.alpha * ops.cast(loss, "float32"))
        return embeddings

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_classes": self.num_classes,
                "alpha": self.alpha,
                "similarity_weight": self.similarity_weight,
                "similarity_bias": self.similarity_bias,
                "similarity_trainable": self.similarity_trainable,
                "lr_multiplier": self.lr_multiplier,
                "prune": self.prune,
                "degenerate": self.degenerate,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="coaudiotext")
class ErfGELU(layers.Layer):
    """The exact GELU, `0.5 * x * (1 + erf(x / sqrt(2)))`, as PyTorch's `F.gelu` (approximate="none").

    Keras's `gelu(approximate=False)` rounds a constant to float32 (an error of about 5e-9 in
    float64); this layer keeps float64 exact, and agrees with it to float32 round-off otherwise.

    Args:
        **kwargs: base `Layer` arguments.

    Call: `gelu(x)`, any shape. Output: the same shape.

    Example:

    >>> import numpy as np
    >>> round(float(ErfGELU()(np.array([1.0], "float32"))[0]), 6)
    0.841345
    """

    def call(self, x):
        return 0.5 * x * (1.0 + ops.erf(x * 0.7071067811865476))

    def compute_output_shape(self, input_shape):
        return input_shape
