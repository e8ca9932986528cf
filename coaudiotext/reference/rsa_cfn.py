"""PyTorch reference of seed 002's fusion heads (`hyeonho1028/RSA-CFN`), for parity tests and benchmarks.

Re-written from `src/models.py` (`MultiModalClassificationHead`) and `src/layer.py` (`SelfAttention`).
One functional forward, `heads_forward(key, weights, inputs)`, covers the ten heads; it reads each
layer's weights through `weights(name)` in the Keras layout (a Dense kernel is `(in, out)`), so the
same code runs with a Keras port's weights (`keras_forward`, the parity tests) and with trainable
PyTorch parameters (`HeadReference`, the benchmark). The original's computation:

- `SelfAttention(1, h)`: every feature is a token of size 1; `q, k = Linear(1, h)(x[..., None])`,
  `v = Linear(1, 1)`, `softmax(q k^T / sqrt(h)) v`, computed literally: a `(batch, D, h) @ (batch, h, D)`
  matmul (D = 1792 and h = 256 in `rsa`; the port's `FeatureSelfAttention` factorises it);
- residual blocks `Linear -> ReLU -> Dropout`, `x + res_block2(cat(block_input, res_block(block_input)))`;
- LayerNorm epsilon 1e-5; `heads_forward` returns logits.

With `training=True` the residual blocks' dropout is applied (the heads `residual` and `rsa`, the two
that `HeadReference` trains); the other heads' dropouts are not reproduced (they are compared in
eval mode only).

Example:

>>> import torch
>>> head = HeadReference("rsa", wav2vec2_shape=(6,), roberta_shape=(4,), hidden_units=5, attention_units=3)
>>> tuple(head(wav2vec2=torch.zeros(2, 6), roberta=torch.zeros(2, 4)).shape)
(2, 7)
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from coaudiotext.reference import check_flags

__all__ = ["heads_forward", "keras_forward", "HeadReference", "reference", "copy_keras_weights"]

EPSILON = 1e-5


def heads_forward(key, weights, inputs, training=False, dropout=0.3, fix_mixer_norm=False, audio_frames=None):
    """Logits of the head `key` (the original's forward).

    Args:
        key: str. A head: `early_fusion`, `late_fusion`, `stack`, `residual`, `rsa`, `rsa_cfn`,
            `hybrid_fusion`, `mlp_mixer`, `wav2vec2_cls` or `roberta_cls`.
        weights: callable. `weights(layer_name)` returns that layer's tensors in the Keras order and
            layout (`[kernel (in, out), bias]`, `[gamma, beta]`, `FeatureSelfAttention`'s six).
        inputs: dict of tensors keyed by the port's input names.
        training: bool. Apply the residual blocks' dropout. Defaults to False.
        dropout: float. Its rate. Defaults to 0.3.
        fix_mixer_norm: bool. The port's `mlp_mixer(fix_mixer_norm=True)`. Defaults to False.
        audio_frames: int or None. `mlp_mixer`'s padded audio length. Defaults to None (no padding).

    Returns:
        Logits `(batch, num_classes)`.
    """

    heads = _Heads(weights, training=training, dropout=dropout)
    wav, text = inputs.get("wav2vec2"), inputs.get("roberta")
    if key in ("early_fusion", "stack"):
        return heads.early("", wav, text)
    if key == "late_fusion":
        return heads.late("", wav, text)
    if key == "residual":
        return heads.residual("", wav, text)
    if key == "rsa":
        return heads.residual("", wav, text, attention=True)
    if key == "rsa_cfn":
        return heads.cfn("", wav, text)
    if key == "hybrid_fusion":
        return heads.hybrid(wav, text)
    if key == "mlp_mixer":
        return heads.mixer(inputs["wav2vec2_seq"], inputs["roberta_seq"], fix_mixer_norm, audio_frames)
    if key == "wav2vec2_cls":
        return heads.linear("out_proj", torch.tanh(heads.linear("dense", wav)))
    if key == "roberta_cls":
        return heads.linear("classifier", heads.norm("norm", text))
    raise ValueError(
        "Unknown head. Expected one of: early_fusion, late_fusion, stack, residual, rsa, rsa_cfn, hybrid_fusion, "
        f"mlp_mixer, wav2vec2_cls, roberta_cls. Received: key={key!r}"
    )


class _Heads:
    """The layers and head families of `heads_forward`, reading each layer's tensors through `weights(name)`.

    `prefix` names a sub-head's layers inside `hybrid_fusion` (`early_`, `late_`, `residual_`, `cfn_`).
    """

    def __init__(self, weights, training=False, dropout=0.3):
        self.weights, self.training, self.dropout = weights, training, dropout

    def linear(self, name, x):
        kernel, bias = self.weights(name)
        return F.linear(x, kernel.T, bias)

    def norm(self, name, x):
        gamma, beta = self.weights(name)
        return F.layer_norm(x, (x.shape[-1],), gamma, beta, eps=EPSILON)

    def self_attention(self, name, x):
        """`SelfAttention(1, h)`, literally."""
        wq, bq, wk, bk, wv, bv = self.weights(name)
        x = x.unsqueeze(-1)  # (batch, D, 1)
        q, k, v = F.linear(x, wq.T, bq), F.linear(x, wk.T, bk), F.linear(x, wv.T, bv)
        scores = torch.matmul(q, k.transpose(1, 2)) / math.sqrt(q.size(-1))  # (batch, D, D)
        return torch.matmul(F.softmax(scores, dim=-1), v).squeeze(-1)

    def drop(self, x):
        return F.dropout(x, self.dropout, self.training) if self.training else x

    def res_blocks(self, prefix, x, block_input):
        res = self.drop(F.relu(self.linear(prefix + "res_block", block_input)))
        res2 = self.drop(F.relu(self.linear(prefix + "res_block2", torch.cat([block_input, res], dim=1))))
        return x + res2

    def early(self, prefix, wav, text):
        return self.linear(prefix + "classifier", self.norm(prefix + "norm", torch.cat([wav, text], dim=1)))

    def late(self, prefix, wav, text):
        stacked = torch.stack([self.linear(prefix + "wave_classifier", wav),
                               self.linear(prefix + "text_classifier", text)], 1)
        return self.norm(prefix + "norm", stacked).mean(1)

    def residual(self, prefix, wav, text, attention=False):
        x = self.norm(prefix + "norm", torch.cat([wav, text], dim=1))
        block_input = self.self_attention(prefix + "self_attention", x) if attention else x
        return self.linear(prefix + "classifier", self.res_blocks(prefix, x, block_input))

    def cfn(self, prefix, wav, text):
        batch = wav.shape[0]
        w, s = self.linear(prefix + "wav_proj", wav), self.linear(prefix + "text_proj", text)
        w = self.norm(prefix + "wav_norm", self.self_attention(prefix + "wav_attention", w) + w)
        s = self.norm(prefix + "text_norm", self.self_attention(prefix + "text_attention", s) + s)
        ones = torch.ones(batch, 1, dtype=w.dtype)
        w, s = torch.cat((ones, w), dim=1), torch.cat((ones, s), dim=1)
        cross = torch.matmul(w.unsqueeze(2), s.unsqueeze(1)).view(batch, -1)
        hidden = F.relu(self.linear(prefix + "classifier_hidden", self.res_blocks(prefix, cross, cross)))
        return self.linear(prefix + "classifier", hidden)

    def hybrid(self, wav, text):
        votes = [self.early("early_", wav, text), self.late("late_", wav, text)]
        votes += [self.residual("residual_", wav, text), self.cfn("cfn_", wav, text)]
        return self.norm("hybrid_norm", torch.stack(votes, dim=1)).mean(1)

    def mlp(self, name, x):
        return self.linear(name + "_fc2", F.gelu(self.linear(name + "_fc", x)))

    def mixer(self, wav, text, fix_mixer_norm=False, audio_frames=None):
        a, s = self.linear("audio_projection", wav), self.linear("text_projection", text)
        if audio_frames is not None and a.shape[1] < audio_frames:
            a = torch.cat([a, a.new_zeros(a.shape[0], audio_frames - a.shape[1], a.shape[2])], dim=1)
        x = torch.cat([s, a], dim=1)
        y = self.norm("mixer_0_norm", x).permute(0, 2, 1)
        y = self.mlp("mixer_0_sequence_mixing", y).permute(0, 2, 1)
        x = x + y
        y = self.norm("mixer_0_channel_norm", x) if fix_mixer_norm else self.norm("mixer_0_norm", y)
        y = self.mlp("mixer_0_modal_mixing", y) + x
        x = self.norm("norm", y).mean(dim=1)
        return self.linear("classifier", F.gelu(self.linear("classifier_hidden", x)))


def keras_forward(model, key, inputs, fix_mixer_norm=False, dtype=torch.float64):
    """Class probabilities of the original head `key` with the weights of the Keras port `model` (numpy).

    The parity-test entry point (`tests/test_rsa_cfn.py`); computes in float64 by default.

    Args:
        model: keras.Model. A port of `key` (e.g. `build_model("rsa")`).
        key: str. The head (see `heads_forward`).
        inputs: dict of numpy arrays keyed by the model's input names.
        fix_mixer_norm: bool. As `mlp_mixer(fix_mixer_norm=True)`. Defaults to False.
        dtype: torch dtype of the computation. Defaults to float64.
    """

    def weights(name):
        return [torch.tensor(np.asarray(w), dtype=dtype) for w in model.get_layer(name).get_weights()]

    feeds = {name: torch.tensor(np.asarray(value), dtype=dtype) for name, value in inputs.items()}
    audio_frames = None
    if key == "mlp_mixer":  # the mixer's token count is tokens + audio_frames
        tokens = model.get_layer("mixer_0_sequence_mixing_fc").get_weights()[0].shape[0]
        audio_frames = tokens - feeds["roberta_seq"].shape[1]
    with torch.no_grad():
        logits = heads_forward(key, weights, feeds, fix_mixer_norm=fix_mixer_norm, audio_frames=audio_frames)
    return F.softmax(logits, dim=-1).numpy()


class _SelfAttention(nn.Module):
    """`SelfAttention(1, h)` of `src/layer.py`: the three `Linear(1, .)` projections."""

    def __init__(self, hidden_size):
        super().__init__()
        self.query, self.key, self.value = nn.Linear(1, hidden_size), nn.Linear(1, hidden_size), nn.Linear(1, 1)


class HeadReference(nn.Module):
    """The trainable `residual` / `rsa` head: PyTorch parameters fed through `heads_forward`.

    Args:
        key: str. `"residual"` or `"rsa"`.
        wav2vec2_shape, roberta_shape, num_classes, hidden_units, attention_units, dropout: as the
            port's builders (defaults: the original's 1024, 768, 7, 512, 256, 0.3).

    Call: `forward(wav2vec2, roberta)`, `(batch, W)` and `(batch, T)`; returns logits.
    """

    def __init__(self, key, wav2vec2_shape=(1024,), roberta_shape=(768,), num_classes=7, hidden_units=512,
                 attention_units=256, dropout=0.3):
        super().__init__()
        if key not in ("residual", "rsa"):
            raise ValueError(f"HeadReference trains the heads 'residual' and 'rsa'. Received: key={key!r}")
        self.key, self.dropout = key, float(dropout)
        width = wav2vec2_shape[0] + roberta_shape[0]
        self.norm = nn.LayerNorm(width, eps=EPSILON)
        if key == "rsa":
            self.self_attention = _SelfAttention(attention_units)
        self.res_block = nn.Linear(width, hidden_units)
        self.res_block2 = nn.Linear(width + hidden_units, width)
        self.classifier = nn.Linear(width, num_classes)

    def weights(self, name):
        """The tensors of layer `name` in the Keras layout (views of the parameters)."""
        layer = getattr(self, name)
        if isinstance(layer, nn.LayerNorm):
            return [layer.weight, layer.bias]
        if isinstance(layer, _SelfAttention):
            return [t for part in (layer.query, layer.key, layer.value) for t in (part.weight.T, part.bias)]
        return [layer.weight.T, layer.bias]

    def forward(self, wav2vec2, roberta):
        inputs = {"wav2vec2": wav2vec2, "roberta": roberta}
        return heads_forward(self.key, self.weights, inputs, training=self.training, dropout=self.dropout)


_SUPPORTED = {name: None for name in ("wav2vec2_shape", "roberta_shape", "num_classes", "hidden_units",
                                      "attention_units", "dropout", "name")}
_SUPPORTED["epsilon"] = (EPSILON,)
_SUPPORTED["return_attention"] = (False,)


def reference(key, **flags):
    """The trainable reference of `residual` or `rsa` from the port builder's keyword arguments."""
    check_flags(key, flags, _SUPPORTED)
    if key == "residual" and "attention_units" in flags:
        raise ValueError(f"residual has no self-attention. Received: attention_units={flags['attention_units']!r}")
    flags = {name: value for name, value in flags.items() if name not in ("name", "epsilon", "return_attention")}
    return HeadReference(key, **flags)


def copy_keras_weights(keras_model, reference):
    """Copies the weights of a Keras `residual` / `rsa` port into a `HeadReference` (in place); returns it."""
    names = ["norm", "res_block", "res_block2", "classifier"] + (["self_attention"] if reference.key == "rsa" else [])
    with torch.no_grad():
        for name in names:
            for target, value in zip(reference.weights(name), keras_model.get_layer(name).get_weights()):
                target.copy_(torch.as_tensor(np.asarray(value), dtype=target.dtype).reshape(target.shape))
    return reference
