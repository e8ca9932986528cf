"""PyTorch reference of MHA-A / MHA-AT (CoAudioText tutorial §5), for parity tests and benchmarks.

Re-written from the tutorial's Keras 2.1 code (`validate_speech_self_text_self_mha_a` and `..._mha_a_t`);
no PyTorch original exists. The computation, as Keras 2.1 ran it:

- speech: a forward `LSTM(64, return_sequences, return_state)` and a `go_backwards=True` one over the
  mel+RMS frames, their sequences concatenated **without** re-reversing the backward one, their last
  hidden states concatenated (`speech_final`);
- text: `Bidirectional(LSTM(32, return_sequences=True))` over the character features;
- LSTMs use Keras 2.1's defaults: gates `[i, f, c, o]`, recurrent activation `hard_sigmoid`
  (`clip(0.2 x + 0.5, 0, 1)`), one bias vector;
- attention block: keys `K = tanh(Dense(64)(H))`, scores `s = batch_dot(q, K)`, weights
  `a = softmax(Dense(T)(s))` (the learned T x T "score mixer"), output `sum_t a_t H_t`;
- hop 1 (speech -> text): `q = relu(Dense(64)(speech_final))`; MHA-AT's hop 2 (text -> speech):
  `q = relu(Dense(64)(text_output))`; MHA-A's speech branch instead queries with
  `relu(Dense(64)(zeros))` (the tutorial's all-zero attention source);
- each branch `Dense(128, relu)`, concatenated, `Dense(128, relu)`, `Dropout(0.3)`, `Dense(128, relu)`,
  `Dropout(0.3)`, `Dense(classes)`; `forward` returns the logits (the softmax is in the loss).

PyTorch's fused `nn.LSTM` has no hard sigmoid, so with `recurrent_activation="hard_sigmoid"` (the
original) the LSTMs run as an explicit loop over time steps (the input projection of all steps is one
matmul, then one `h @ W_hh` per step); with `"sigmoid"` they are `nn.LSTM` calls. Each LSTM keeps its
weights in an `nn.LSTM` (`weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`; `bias_hh_l0` is kept at 0 by
`copy_keras_weights`, Keras having one bias).

Example:

>>> import torch
>>> reference = MultiHopAttentionReference(audio_shape=(6, 5), text_shape=(4, 3), hops=2)
>>> tuple(reference(audio=torch.zeros(2, 6, 5), text=torch.zeros(2, 4, 3)).shape)
(2, 7)
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from coaudiotext.reference import check_flags

__all__ = ["MultiHopAttentionReference", "KerasLSTM", "reference", "copy_keras_weights"]


def hard_sigmoid(x):
    """Keras 2.1's `hard_sigmoid`: `clip(0.2 x + 0.5, 0, 1)`."""
    return torch.clamp(0.2 * x + 0.5, 0.0, 1.0)


class KerasLSTM(nn.Module):
    """A Keras 2.1 `LSTM(units, return_sequences=True, return_state=True)` in PyTorch.

    Args:
        input_size: int. Features per step.
        units: int. Hidden units.
        recurrent_activation: str. `"hard_sigmoid"` (Keras 2.1; an explicit loop over steps) or
            `"sigmoid"` (one fused `nn.LSTM` call). Defaults to `"hard_sigmoid"`.
        go_backwards: bool. Read the sequence from its end and return the outputs in that (reversed)
            order, as Keras does. Defaults to False.

    Call: `(x)` with x `(batch, steps, input_size)`; returns `(outputs, last_h)`,
    `(batch, steps, units)` and `(batch, units)`.
    """

    def __init__(self, input_size, units, recurrent_activation="hard_sigmoid", go_backwards=False):
        super().__init__()
        if recurrent_activation not in ("hard_sigmoid", "sigmoid"):
            raise ValueError(
                "Expected recurrent_activation to be one of {'hard_sigmoid', 'sigmoid'}. "
                f"Received: recurrent_activation={recurrent_activation!r}"
            )
        self.lstm = nn.LSTM(input_size, units, batch_first=True)
        self.units = units
        self.recurrent_activation = recurrent_activation
        self.go_backwards = go_backwards

    def forward(self, x):
        if self.go_backwards:
            x = torch.flip(x, dims=[1])
        if self.recurrent_activation == "sigmoid":
            outputs, (h, _) = self.lstm(x)
            return outputs, h[0]
        lstm = self.lstm
        projected = F.linear(x, lstm.weight_ih_l0, lstm.bias_ih_l0 + lstm.bias_hh_l0)  # (batch, steps, 4 units)
        h = x.new_zeros(x.shape[0], self.units)
        c = x.new_zeros(x.shape[0], self.units)
        outputs = []
        for step in range(x.shape[1]):
            gates = projected[:, step] + h @ lstm.weight_hh_l0.T
            i, f, g, o = gates.chunk(4, dim=-1)  # Keras [i, f, c, o] = PyTorch [i, f, g, o]
            c = hard_sigmoid(f) * c + hard_sigmoid(i) * torch.tanh(g)
            h = hard_sigmoid(o) * torch.tanh(c)
            outputs.append(h)
        return torch.stack(outputs, dim=1), h


class _AttentionBlock(nn.Module):
    """`a = softmax(Dense(T)(batch_dot(q, K)))`, output `sum_t a_t H_t` (the T x T mixer is `mixer`)."""

    def __init__(self, steps, score_mixing=True):
        super().__init__()
        self.mixer = nn.Linear(steps, steps) if score_mixing else None

    def forward(self, values, keys, query):
        scores = torch.einsum("bu,btu->bt", query, keys)  # K.batch_dot(q, K, axes=(1, 2))
        if self.mixer is not None:
            scores = self.mixer(scores)
        weights = torch.softmax(scores, dim=-1)
        return (weights.unsqueeze(-1) * values).sum(dim=1)


class MultiHopAttentionReference(nn.Module):
    """MHA-A (`hops=1`) or MHA-AT (`hops=2`), with the port's argument names (see `multi_hop_attention`).

    Call: `forward(audio, text)`, `(batch, frames, features)` and `(batch, chars, features)`;
    returns logits `(batch, num_classes)`.
    """

    def __init__(
        self,
        audio_shape=(200, 129),
        text_shape=(30, 67),
        num_classes=7,
        hops=2,
        speech_lstm_units=64,
        text_lstm_units=32,
        attention_units=64,
        hidden_units=128,
        dropout=0.3,
        score_mixing=True,
        align_backward=False,
        recurrent_activation="hard_sigmoid",
    ):
        super().__init__()
        if hops not in (1, 2):
            raise ValueError(f"Expected hops to be one of (1, 2). Received: hops={hops!r}")
        frames, audio_features = audio_shape
        chars, text_features = text_shape
        self.hops, self.dropout, self.align_backward = hops, float(dropout), bool(align_backward)
        self.attention_units = attention_units
        self.speech_lstm_forward = KerasLSTM(audio_features, speech_lstm_units, recurrent_activation)
        self.speech_lstm_backward = KerasLSTM(
            audio_features, speech_lstm_units, recurrent_activation, go_backwards=True
        )
        self.text_lstm_forward = KerasLSTM(text_features, text_lstm_units, recurrent_activation)
        self.text_lstm_backward = KerasLSTM(text_features, text_lstm_units, recurrent_activation, go_backwards=True)
        self.text_context = nn.Linear(2 * text_lstm_units, attention_units)
        self.speech_to_text_query = nn.Linear(2 * speech_lstm_units, attention_units)
        self.speech_to_text_hop = _AttentionBlock(chars, score_mixing)
        self.text_hidden = nn.Linear(2 * text_lstm_units, hidden_units)
        self.speech_context = nn.Linear(2 * speech_lstm_units, attention_units)
        if hops == 2:
            self.text_to_speech_query = nn.Linear(hidden_units, attention_units)
            self.text_to_speech_hop = _AttentionBlock(frames, score_mixing)
        else:
            self.speech_query = nn.Linear(attention_units, attention_units)  # fed the all-zero source
            self.speech_attention = _AttentionBlock(frames, score_mixing)
        self.speech_hidden = nn.Linear(2 * speech_lstm_units, hidden_units)
        self.hidden_1 = nn.Linear(2 * hidden_units, hidden_units)
        self.hidden_2 = nn.Linear(hidden_units, hidden_units)
        self.classifier = nn.Linear(hidden_units, num_classes)

    def forward(self, audio, text):
        speech_forward, speech_forward_h = self.speech_lstm_forward(audio)
        speech_backward, speech_backward_h = self.speech_lstm_backward(audio)  # reversed in time (go_backwards)
        if self.align_backward:
            speech_backward = torch.flip(speech_backward, dims=[1])
        speech_layer = torch.cat([speech_forward, speech_backward], dim=-1)  # (batch, frames, 2 * units)
        speech_final = torch.cat([speech_forward_h, speech_backward_h], dim=-1)  # (batch, 2 * units)

        text_forward, _ = self.text_lstm_forward(text)
        text_backward, _ = self.text_lstm_backward(text)
        text_layer = torch.cat([text_forward, torch.flip(text_backward, dims=[1])], dim=-1)  # Bidirectional
        text_keys = torch.tanh(self.text_context(text_layer))
        text_query = F.relu(self.speech_to_text_query(speech_final))
        text_output = F.relu(self.text_hidden(self.speech_to_text_hop(text_layer, text_keys, text_query)))

        speech_keys = torch.tanh(self.speech_context(speech_layer))
        if self.hops == 2:
            speech_query = F.relu(self.text_to_speech_query(text_output))
            pooled = self.text_to_speech_hop(speech_layer, speech_keys, speech_query)
        else:
            source = audio.new_zeros(audio.shape[0], self.attention_units)  # the tutorial's np.zeros input
            pooled = self.speech_attention(speech_layer, speech_keys, F.relu(self.speech_query(source)))
        speech_output = F.relu(self.speech_hidden(pooled))

        x = torch.cat([speech_output, text_output], dim=-1)
        x = F.dropout(F.relu(self.hidden_1(x)), self.dropout, self.training)
        x = F.dropout(F.relu(self.hidden_2(x)), self.dropout, self.training)
        return self.classifier(x)


_SUPPORTED = {
    name: None
    for name in ("audio_shape", "text_shape", "num_classes", "speech_lstm_units", "text_lstm_units",
                 "attention_units", "hidden_units", "dropout", "name")
}
_SUPPORTED.update(
    score_mixing=(True, False),
    align_backward=(True, False),
    recurrent_activation=("hard_sigmoid", "sigmoid"),
    query=("zero",),
)


def reference(key, **flags):
    """The reference of `mha_a` or `mha_a_t` built from the port builder's keyword arguments."""
    check_flags(key, flags, _SUPPORTED)
    flags = {name: value for name, value in flags.items() if name not in ("name", "query")}
    return MultiHopAttentionReference(hops=1 if key == "mha_a" else 2, **flags)


def copy_keras_weights(keras_model, reference):
    """Copies the weights of a Keras `multi_hop_attention` model into `reference` (in place); returns it."""

    def put(parameter, value):
        with torch.no_grad():
            parameter.copy_(torch.as_tensor(np.ascontiguousarray(value), dtype=parameter.dtype))

    def put_lstm(target, keras_lstm):
        kernel, recurrent, bias = keras_lstm.get_weights()  # (in, 4u), (u, 4u), (4u,), gates [i, f, c, o]
        put(target.lstm.weight_ih_l0, kernel.T)
        put(target.lstm.weight_hh_l0, recurrent.T)
        put(target.lstm.bias_ih_l0, bias)
        put(target.lstm.bias_hh_l0, np.zeros_like(bias))

    def put_dense(target, name):
        kernel, bias = keras_model.get_layer(name).get_weights()
        put(target.weight, kernel.T)
        put(target.bias, bias)

    put_lstm(reference.speech_lstm_forward, keras_model.get_layer("speech_lstm_forward"))
    put_lstm(reference.speech_lstm_backward, keras_model.get_layer("speech_lstm_backward"))
    text = keras_model.get_layer("text_bilstm")
    put_lstm(reference.text_lstm_forward, text.forward_layer)
    put_lstm(reference.text_lstm_backward, text.backward_layer)
    hops = ("speech_to_text_hop", "text_to_speech_hop" if reference.hops == 2 else "speech_attention")
    dense = ["text_context", "speech_to_text_query", "text_hidden", "speech_context", "speech_hidden",
             "hidden_1", "hidden_2", "classifier"]
    dense.append("text_to_speech_query" if reference.hops == 2 else "speech_query")
    for name in dense:
        put_dense(getattr(reference, name), name)
    for name in hops:
        block = getattr(reference, name)
        if block.mixer is not None:
            kernel, bias = keras_model.get_layer(name).get_weights()  # (T, T) Keras layout (in, out), (T,)
            put(block.mixer.weight, kernel.T)
            put(block.mixer.bias, bias)
    return reference
