"""Pieces shared by the Keras wav2vec2 and BERT/RoBERTa encoders.

- `MultiHeadSelfAttention`: transformers' eager/SDPA self-attention (separate query, key, value and output
  projections with biases, scores scaled by `head_dim ** -0.5`, padded keys masked out, dropout on the
  attention probabilities), written with `keras.ops` so it runs on every backend.
- `ApplySequenceMask`: multiplies a `(batch, steps, channels)` sequence by a `(batch, steps)` mask.
- `activation_fn(name)`: the transformers `ACT2FN` names the encoders accept (`"gelu"` is the exact,
  erf-based GELU, as in PyTorch).
- Checkpoint reading (`read_config`, `read_state_dict`) and the strict name-table loader
  (`assign_weights`): every checkpoint tensor must be claimed by the table or by a documented list of
  ignored heads, and every table entry must be in the checkpoint, or a `ValueError` names them.

No file is downloaded: checkpoints are local folders in the `save_pretrained` layout (`config.json` plus
`model.safetensors`, a sharded `model.safetensors.index.json`, or `pytorch_model.bin`, read with
`torch.load(weights_only=True)`, so PyTorch is needed only for `.bin` files).
"""

from __future__ import annotations

import json
import logging
import pathlib

import keras
import numpy as np
from keras import ops

from coaudiotext._checks import check_choice

__all__ = [
    "ACTIVATIONS",
    "activation_fn",
    "MultiHeadSelfAttention",
    "ApplySequenceMask",
    "read_config",
    "read_state_dict",
    "strip_prefix",
    "assign_weights",
    "linear",
    "conv1d",
    "WeightTable",
]

logger = logging.getLogger(__name__)

ACTIVATIONS = ("gelu", "gelu_new", "gelu_pytorch_tanh", "relu", "silu", "swish", "tanh")


def _gelu_erf(x):
    return keras.activations.gelu(x, approximate=False)


def _gelu_tanh(x):
    return keras.activations.gelu(x, approximate=True)


_ACTIVATION_FNS = {
    "gelu": _gelu_erf,
    "gelu_new": _gelu_tanh,
    "gelu_pytorch_tanh": _gelu_tanh,
    "relu": keras.activations.relu,
    "silu": keras.activations.silu,
    "swish": keras.activations.silu,
    "tanh": keras.activations.tanh,
}


def activation_fn(name):
    """The function of a transformers activation name (`hidden_act`, `feat_extract_activation`).

    Args:
        name: str. One of `ACTIVATIONS`.

    Returns:
        A callable on tensors.
    """
    check_choice("activation", name, ACTIVATIONS)
    return _ACTIVATION_FNS[name]


def _masked_fill_value(dtype):
    return -1e9 if keras.backend.standardize_dtype(dtype) in ("float32", "float64") else -3e4


@keras.saving.register_keras_serializable(package="coaudiotext")
class MultiHeadSelfAttention(keras.layers.Layer):
    """Bidirectional multi-head self-attention with a key-padding mask (transformers' encoder attention).

    `softmax(q k^T / sqrt(head_dim) + mask) v`, heads concatenated, then the output projection. Padded keys
    get a large negative score; padded queries are computed like the others (their outputs are
    meaningless, as in transformers).

    Args:
        hidden_size: int. Model width; also the width of q, k, v and the output.
        num_heads: int. Attention heads; must divide `hidden_size`.
        dropout: float. Dropout on the attention probabilities (training only). Defaults to 0.
        **kwargs: base `keras.layers.Layer` arguments.

    Call arguments:
        hidden_states: `(batch, steps, hidden_size)`.
        attention_mask: `(batch, steps)`, 1 for real steps and 0 for padding, or None (no padding).
        training: bool. Dropout on when True.

    Returns:
        `(batch, steps, hidden_size)`.

    Sublayers (the names the weight tables use): `query`, `key`, `value`, `output` (all `Dense`).
    """

    def __init__(self, hidden_size, num_heads, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.hidden_size = int(hidden_size)
        self.num_heads = int(num_heads)
        self.dropout = float(dropout)
        if self.hidden_size % self.num_heads:
            raise ValueError(
                f"Expected hidden_size to be a multiple of num_heads. Received: hidden_size={hidden_size}, "
                f"num_heads={num_heads}"
            )
        self.head_dim = self.hidden_size // self.num_heads
        self.query = keras.layers.Dense(self.hidden_size, name="query", dtype=self.dtype_policy)
        self.key = keras.layers.Dense(self.hidden_size, name="key", dtype=self.dtype_policy)
        self.value = keras.layers.Dense(self.hidden_size, name="value", dtype=self.dtype_policy)
        self.output_dense = keras.layers.Dense(self.hidden_size, name="output", dtype=self.dtype_policy)
        self.attention_dropout = keras.layers.Dropout(self.dropout, name="attention_dropout")

    def build(self, hidden_states_shape, attention_mask_shape=None):
        for dense in (self.query, self.key, self.value, self.output_dense):
            dense.build(hidden_states_shape)
        self.built = True

    def _heads(self, x):
        batch, steps = ops.shape(x)[0], ops.shape(x)[1]
        x = ops.reshape(x, (batch, steps, self.num_heads, self.head_dim))
        return ops.transpose(x, (0, 2, 1, 3))  # (batch, heads, steps, head_dim)

    def call(self, hidden_states, attention_mask=None, training=None):
        q = self._heads(self.query(hidden_states))
        k = self._heads(self.key(hidden_states))
        v = self._heads(self.value(hidden_states))
        scores = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2))) * ops.cast(self.head_dim**-0.5, q.dtype)
        if attention_mask is not None:
            keep = ops.cast(attention_mask, "bool")[:, None, None, :]  # (batch, 1, 1, keys)
            scores = ops.where(keep, scores, ops.cast(_masked_fill_value(scores.dtype), scores.dtype))
        probs = ops.softmax(scores, axis=-1)
        probs = self.attention_dropout(probs, training=training)
        context = ops.matmul(probs, v)  # (batch, heads, steps, head_dim)
        context = ops.transpose(context, (0, 2, 1, 3))
        batch, steps = ops.shape(context)[0], ops.shape(context)[1]
        context = ops.reshape(context, (batch, steps, self.hidden_size))
        return self.output_dense(context)

    def compute_output_shape(self, hidden_states_shape, attention_mask_shape=None):
        return tuple(hidden_states_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"hidden_size": self.hidden_size, "num_heads": self.num_heads, "dropout": self.dropout})
        return config


@keras.saving.register_keras_serializable(package="coaudiotext")
class ApplySequenceMask(keras.layers.Layer):
    """`sequence * mask[..., None]`: zeroes the padded steps of a `(batch, steps, channels)` sequence.

    Call arguments:
        sequence: `(batch, steps, channels)`.
        sequence_mask: `(batch, steps)`, 1 for real steps.
    """

    def call(self, sequence, sequence_mask):
        return sequence * ops.cast(sequence_mask, sequence.dtype)[..., None]

    def compute_output_shape(self, sequence_shape, sequence_mask_shape):
        return tuple(sequence_shape)


# ---------------------------------------------------------------------------- checkpoints


def _folder(folder):
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"{folder} is not a folder. from_pretrained reads a local transformers checkpoint folder "
            "(config.json + model.safetensors or pytorch_model.bin); it never downloads. Fetch the model "
            "once with `huggingface-cli download NAME --local-dir FOLDER` (or `save_pretrained`) and pass FOLDER."
        )
    return folder


def read_config(folder):
    """The `config.json` of a checkpoint folder, as a dict."""
    path = _folder(folder) / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: a transformers checkpoint folder needs its config.json.")
    return json.loads(path.read_text(encoding="utf-8"))


def _safetensors_numpy(path):
    from safetensors import safe_open

    tensors = {}
    try:
        with safe_open(str(path), framework="numpy") as handle:
            for name in handle.keys():
                tensors[name] = handle.get_tensor(name)
    except (TypeError, ValueError):  # bfloat16 has no numpy dtype: go through torch
        import torch  # noqa: F401
        from safetensors.torch import load_file

        tensors = {name: t.float().numpy() for name, t in load_file(str(path)).items()}
    return tensors


def read_state_dict(folder):
    """All tensors of a checkpoint folder as float32 numpy arrays, by their PyTorch names.

    Reads, in order of preference, `model.safetensors`, the shards of `model.safetensors.index.json`, or
    `pytorch_model.bin` (with `torch.load(..., weights_only=True)`, which refuses pickled code).

    Args:
        folder: str or path. The checkpoint folder.

    Returns:
        dict name -> numpy array.
    """
    folder = _folder(folder)
    single = folder / "model.safetensors"
    index = folder / "model.safetensors.index.json"
    binary = folder / "pytorch_model.bin"
    if single.is_file():
        state = _safetensors_numpy(single)
    elif index.is_file():
        shards = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
        state = {}
        for shard in shards:
            state.update(_safetensors_numpy(folder / shard))
    elif binary.is_file():
        try:
            import torch
        except ImportError as error:  # pragma: no cover - depends on the environment
            raise ImportError(f"{binary} is a PyTorch pickle; reading it needs torch (pip install torch).") from error
        loaded = torch.load(str(binary), map_location="cpu", weights_only=True)
        state = {name: t.float().numpy() if t.is_floating_point() else t.numpy() for name, t in loaded.items()}
    else:
        raise FileNotFoundError(
            f"No weights in {folder}: expected model.safetensors, model.safetensors.index.json or pytorch_model.bin."
        )
    return {name: np.asarray(array) for name, array in state.items()}


def _renamed(name):
    """Legacy PyTorch names -> current ones (TF-era LayerNorm gamma/beta, old weight_norm g/v)."""
    if name.endswith(".gamma"):
        name = name[: -len(".gamma")] + ".weight"
    elif name.endswith(".beta"):
        name = name[: -len(".beta")] + ".bias"
    name = name.replace(".weight_g", ".parametrizations.weight.original0")
    name = name.replace(".weight_v", ".parametrizations.weight.original1")
    return name


def strip_prefix(state, prefixes):
    """Removes the task model's base prefix (`"bert."`, `"roberta."`, `"wav2vec2."`) where the checkpoint has one.

    A checkpoint of a task model (`...ForMaskedLM`, `...ForCTC`) stores the encoder under that prefix and
    its heads beside it; a bare `...Model` checkpoint has no prefix. Legacy names are renamed too.
    """
    state = {_renamed(name): value for name, value in state.items()}
    for prefix in prefixes:
        if any(name.startswith(prefix) for name in state):
            return {(name[len(prefix):] if name.startswith(prefix) else name): value for name, value in state.items()}
    return state


def assign_weights(table, state, ignored_prefixes=(), source="checkpoint"):
    """Copies checkpoint tensors into Keras variables by a name table; strict about both sides.

    Args:
        table: list of `(torch_name, variable, transform)`: `transform` maps the numpy tensor to the
            variable's layout (e.g. `np.transpose` for a `Linear` weight) or is None.
        state: dict torch_name -> numpy array (see `read_state_dict`, `strip_prefix`).
        ignored_prefixes: tuple of str. Checkpoint tensors starting with one of these (task heads, buffers)
            are skipped and logged; any other tensor the table does not claim is an error.
        source: str. What to call the checkpoint in error messages.

    Returns:
        list of str: the ignored checkpoint tensors.

    Raises:
        ValueError: naming the checkpoint tensors with no place in the model, the model weights with no
            tensor in the checkpoint, and shape mismatches.
    """
    claimed = {name for name, _, _ in table}
    missing = sorted(name for name in claimed if name not in state)
    ignored = sorted(n for n in state if n not in claimed and any(n.startswith(p) for p in ignored_prefixes))
    unmatched = sorted(n for n in state if n not in claimed and n not in ignored)
    problems = []
    if unmatched:
        problems.append(f"{len(unmatched)} tensor(s) in the {source} match no weight of the Keras model: {unmatched}")
    if missing:
        problems.append(f"{len(missing)} weight(s) of the Keras model are missing from the {source}: {missing}")
    shaped = []
    for name, variable, transform in table:
        if name not in state:
            continue
        value = state[name] if transform is None else transform(state[name])
        if tuple(value.shape) != tuple(variable.shape):
            problems.append(
                f"{name}: the {source} has shape {tuple(state[name].shape)} -> {tuple(value.shape)}, "
                f"the Keras weight {variable.path} has shape {tuple(variable.shape)}"
            )
        else:
            shaped.append((variable, value))
    if problems:
        raise ValueError("Cannot load the weights:\n- " + "\n- ".join(problems))
    for variable, value in shaped:
        variable.assign(value.astype(keras.backend.standardize_dtype(variable.dtype)))
    if ignored:
        logger.info("Ignored %d %s tensor(s) of heads/buffers the encoder has no use for: %s", len(ignored), source, ignored)
    return ignored


def linear(value):
    """A torch `Linear` weight `(out, in)` -> Keras `Dense` kernel `(in, out)`."""
    return np.ascontiguousarray(value.T)


def conv1d(value):
    """A torch `Conv1d` weight `(out, in / groups, kernel)` -> Keras layout `(kernel, in / groups, out)`."""
    return np.ascontiguousarray(np.transpose(value, (2, 1, 0)))


class WeightTable(list):
    """A name table: `(torch_name, keras_variable, transform)` rows, with helpers for the common layers."""

    def dense(self, prefix, layer):
        """A torch `Linear` at `prefix` -> a Keras `Dense` (kernel transposed, bias as is)."""
        self.extend([(f"{prefix}.weight", layer.kernel, linear), (f"{prefix}.bias", layer.bias, None)])

    def norm(self, prefix, layer):
        """A torch `LayerNorm`/`GroupNorm` at `prefix` -> gamma and beta."""
        self.extend([(f"{prefix}.weight", layer.gamma, None), (f"{prefix}.bias", layer.beta, None)])
