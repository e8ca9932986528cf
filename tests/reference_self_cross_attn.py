"""A PyTorch reference of the SelfCrossAttn forward pass, for the parity tests of `self_cross_attn`.

Written from `smartcameras/SelfCrossAttn` `models.py` (`TVAModel_Self`, `TVAModel_Cross`), with
the sizes as arguments so the tests can run it small:

- text: `F.dropout(x, 0.25, training)` -> BiGRU; video / audio: `Conv1d(T, T_out, 1)` over the
  frames as channels -> BiGRU (one layer, batch_first, hidden state ignored);
- `nn.MultiheadAttention(2H, heads, dropout, batch_first)` called `(query, key, value)`, no masks,
  output averaged over time;
- `torch.std_mean` over the stacked vectors (it returns std first), concatenated, then
  `concat_linear` and `classifier` with nothing between. Returns `(logits, embedding)`.

`copy_keras_weights(keras_model, reference)` copies the weights of a Keras `self_cross_attention`
model into it (Keras gate order [z, r, h] -> PyTorch [r, z, n]).

Imported by `tests/test_self_cross_attn.py` only after `pytest.importorskip("torch")`.
"""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["TVASelfReference", "TVACrossReference", "copy_keras_weights"]


class TVASelfReference(nn.Module):
    """`TVAModel_Self` with configurable sizes (defaults: the original's)."""

    def __init__(
        self,
        text_dim=300,
        video_frames=32,
        video_dim=2048,
        video_out=25,
        audio_frames=1000,
        audio_dim=120,
        audio_out=500,
        rnn_size=60,
        heads=6,
        attention_dropout=0.1,
        classes=7,
    ):
        super().__init__()
        width = 2 * rnn_size

        def bigru(size):
            return nn.GRU(size, rnn_size, num_layers=1, batch_first=True, bidirectional=True)

        self.text_encoder = bigru(text_dim)
        self.video_conv = nn.Conv1d(video_frames, video_out, kernel_size=1)
        self.video_encoder = bigru(video_dim)
        self.audio_conv = nn.Conv1d(audio_frames, audio_out, kernel_size=1)
        self.audio_encoder = bigru(audio_dim)
        for name in self.attention_names():
            setattr(self, name, nn.MultiheadAttention(width, heads, dropout=attention_dropout, batch_first=True))
        self.concat_linear = nn.Linear(2 * width, rnn_size)
        self.classifier = nn.Linear(rnn_size, classes)

    @staticmethod
    def attention_names():
        return ("mha_t", "mha_v", "mha_a")

    def encode(self, x_txt, x_vid, x_mfcc, emb_dp=0.25):
        text, _ = self.text_encoder(F.dropout(x_txt, p=emb_dp, training=self.training))
        video, _ = self.video_encoder(self.video_conv(x_vid))
        audio, _ = self.audio_encoder(self.audio_conv(x_mfcc))
        return text, video, audio

    def attend(self, name, query, source):
        output, _ = getattr(self, name)(query, source, source)
        return output.mean(dim=1)

    def vectors(self, text, video, audio):
        return [
            self.attend("mha_t", text, text),
            self.attend("mha_v", video, video),
            self.attend("mha_a", audio, audio),
        ]

    def forward(self, x_txt, x_vid, x_mfcc):
        stacked = torch.stack(self.vectors(*self.encode(x_txt, x_vid, x_mfcc)), dim=1)
        std, mean = torch.std_mean(stacked, dim=1)  # std first (the original names them the other way round)
        embedding = self.concat_linear(torch.cat((std, mean), dim=1))
        return self.classifier(embedding), embedding


class TVACrossReference(TVASelfReference):
    """`TVAModel_Cross`: `mha_<source>_<target>(query=target, key=value=source)`, six of them."""

    @staticmethod
    def attention_names():
        return ("mha_v_t", "mha_a_t", "mha_t_v", "mha_a_v", "mha_t_a", "mha_v_a")

    def vectors(self, text, video, audio):
        # The original's stacking order: a2t, v2t, t2v, a2v, t2a, v2a.
        return [
            self.attend("mha_a_t", text, audio),
            self.attend("mha_v_t", text, video),
            self.attend("mha_t_v", video, text),
            self.attend("mha_a_v", video, audio),
            self.attend("mha_t_a", audio, text),
            self.attend("mha_v_a", audio, video),
        ]


def _gates_to_torch(matrix, units):
    """Keras GRU gate blocks [z, r, h] along the last axis -> PyTorch [r, z, n]."""
    z, r, h = (matrix[..., i * units : (i + 1) * units] for i in range(3))
    return np.concatenate([r, z, h], axis=-1)


def copy_keras_weights(keras_model, reference):
    """Copies a Keras `self_cross_attention` model's weights into `reference` (in place)."""

    def put(parameter, value):
        with torch.no_grad():
            parameter.copy_(torch.as_tensor(np.ascontiguousarray(value), dtype=parameter.dtype))

    for prefix in ("text", "video", "audio"):
        gru = getattr(reference, f"{prefix}_encoder")
        bidirectional = keras_model.get_layer(f"{prefix}_encoder")
        for keras_layer, suffix in ((bidirectional.forward_layer, ""), (bidirectional.backward_layer, "_reverse")):
            kernel, recurrent, bias = keras_layer.get_weights()  # (in, 3H), (H, 3H), (2, 3H)
            units = recurrent.shape[0]
            put(getattr(gru, f"weight_ih_l0{suffix}"), _gates_to_torch(kernel, units).T)
            put(getattr(gru, f"weight_hh_l0{suffix}"), _gates_to_torch(recurrent, units).T)
            put(getattr(gru, f"bias_ih_l0{suffix}"), _gates_to_torch(bias[0], units))
            put(getattr(gru, f"bias_hh_l0{suffix}"), _gates_to_torch(bias[1], units))
        if prefix != "text":
            kernel, bias = keras_model.get_layer(f"{prefix}_conv").get_weights()  # (T, T_out), (T_out,)
            conv = getattr(reference, f"{prefix}_conv")
            put(conv.weight, kernel.T[:, :, None])
            put(conv.bias, bias)

    for name in reference.attention_names():
        layer = keras_model.get_layer(name)
        mha = getattr(reference, name)
        weights, biases = [], []
        for dense in (layer.query_dense, layer.key_dense, layer.value_dense):
            kernel, bias = dense.get_weights()  # (E, heads, head_dim), (heads, head_dim)
            weights.append(kernel.reshape(kernel.shape[0], -1).T)
            biases.append(bias.reshape(-1))
        put(mha.in_proj_weight, np.concatenate(weights, axis=0))
        put(mha.in_proj_bias, np.concatenate(biases))
        kernel, bias = layer.output_dense.get_weights()  # (heads, head_dim, E), (E,)
        put(mha.out_proj.weight, kernel.reshape(-1, kernel.shape[-1]).T)
        put(mha.out_proj.bias, bias)

    for name in ("concat_linear", "classifier"):
        kernel, bias = keras_model.get_layer(name).get_weights()
        put(getattr(reference, name).weight, kernel.T)
        put(getattr(reference, name).bias, bias)
    return reference
