"""PyTorch reference of seed 001's `MULTModel` (audio-only and cross-modal), for parity tests and benchmarks.

Re-written from Donghwa-KIM/audiotext-transformer (`model.py`, `modules.py`), module names as there
(`audio_layers_with_text.layers[i].transformer.self_attn`, ...), fairseq's sinusoidal positions
computed on the fly. The original's computation, quirks included:

- each `TransformerBlock` applies its one LayerNorm to query, key and value separately (three calls,
  also in self-attention), calls `nn.MultiheadAttention(q, k, v, attn_mask=future_mask)` with its default
  `need_weights=True`, and adds the *normalised* query as the residual; `FeedForwardBlock` is pre-LN with
  the residual on the normalised input;
- causal ("future") masks in every block, also across modalities; no key-padding mask reaches a block;
- positions from the first feature channel (0 = padding), `sqrt(d)` scaling, embedding dropout;
- the collate function pads each batch's BERT token features to the batch's longest text
  (`text_padding="batch"`: `forward` cuts `bert` after the last real token of `bert_mask`, at least
  `kernel_size` tokens, as the port's `TrimToLongest`);
- cross-modal: Conv1d(k=3, no bias) projections (dropout on the BERT input first), audio<-text and
  text<-audio stacks on the *projected* sequences, then one self stack each, mean (or last) pooling,
  `out_layer(fc_layer2(dropout(relu(fc_layer1(f)))) + f)`.

`forward` returns the logits (the original returns `(logits, features)`; `CrossEntropyLoss` takes the logits).

Example:

>>> import torch
>>> reference = MULTReference(mfcc_shape=(12, 8), bert_shape=(6, 10), d_model=16, num_heads=4, num_layers=1)
>>> tuple(reference(mfcc=torch.ones(2, 12, 8), bert=torch.ones(2, 6, 10)).shape)
(2, 7)
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from coaudiotext.reference import check_flags

__all__ = ["MULTReference", "reference", "copy_keras_weights", "keras_forward", "sinusoidal_positions"]


def sinusoidal_positions(tokens, dim):
    """fairseq `SinusoidalPositionalEmbedding(dim, padding_idx=0)` of `tokens` (batch, steps): zero = padding."""
    keep = (tokens != 0).long()
    positions = torch.cumsum(keep, dim=1) * keep
    half = dim // 2
    freq = torch.exp(torch.arange(half, dtype=torch.float, device=tokens.device) * -(math.log(10000) / (half - 1)))
    table = torch.arange(int(positions.max()) + 1, dtype=torch.float, device=tokens.device).unsqueeze(1) * freq
    table = torch.cat([torch.sin(table), torch.cos(table)], dim=1)
    if dim % 2:
        table = torch.cat([table, table.new_zeros(len(table), 1)], dim=1)
    table[0] = 0
    return table[positions]  # (batch, steps, dim)


def _future_mask(query_steps, key_steps, device):
    mask = torch.triu(torch.ones(query_steps, key_steps, device=device), diagonal=1)
    return mask.masked_fill(mask == 1, float("-inf"))


class _TransformerBlock(nn.Module):
    def __init__(self, d_model, num_heads, attn_dropout, res_dropout, causal):
        super().__init__()
        self.res_dropout, self.causal = res_dropout, causal
        self.self_attn = nn.MultiheadAttention(d_model, num_heads, dropout=attn_dropout)
        self.layernorm = nn.LayerNorm(d_model)

    def forward(self, query, key, value):  # (steps, batch, d)
        mask = _future_mask(query.shape[0], key.shape[0], query.device) if self.causal else None
        query, key, value = [self.layernorm(x) for x in (query, key, value)]
        x = self.self_attn(query, key, value, attn_mask=mask)[0]
        return query + F.dropout(x, self.res_dropout, self.training)


class _FeedForwardBlock(nn.Module):
    def __init__(self, d_model, ffn_dim, res_dropout, relu_dropout):
        super().__init__()
        self.res_dropout, self.relu_dropout = res_dropout, relu_dropout
        self.linear1 = nn.Linear(d_model, ffn_dim)
        self.linear2 = nn.Linear(ffn_dim, d_model)
        self.layernorm = nn.LayerNorm(d_model)

    def forward(self, x):
        x = self.layernorm(x)
        hidden = self.linear2(F.dropout(F.relu(self.linear1(x)), self.relu_dropout, self.training))
        return x + F.dropout(hidden, self.res_dropout, self.training)


class _EncoderBlock(nn.Module):
    def __init__(self, d_model, num_heads, attn_dropout, res_dropout, relu_dropout, causal):
        super().__init__()
        self.transformer = _TransformerBlock(d_model, num_heads, attn_dropout, res_dropout, causal)
        self.feedforward = _FeedForwardBlock(d_model, 4 * d_model, res_dropout, relu_dropout)

    def forward(self, query, key=None):
        key = query if key is None else key
        return self.feedforward(self.transformer(query, key, key))


class _CrossmodalTransformer(nn.Module):
    def __init__(self, d_model, num_heads, embed_dropout, attn_dropout, res_dropout, relu_dropout, num_layers, causal):
        super().__init__()
        self.d_model, self.embed_dropout = d_model, embed_dropout
        self.scale = math.sqrt(d_model)
        self.layers = nn.ModuleList(
            _EncoderBlock(d_model, num_heads, attn_dropout, res_dropout, relu_dropout, causal)
            for _ in range(num_layers)
        )

    def _prepare(self, x):  # (batch, steps, d) -> (steps, batch, d)
        x = self.scale * x + sinusoidal_positions(x[:, :, 0], self.d_model)
        return F.dropout(x, self.embed_dropout, self.training).transpose(0, 1)

    def forward(self, query, key=None):
        query = self._prepare(query)
        key = None if key is None else self._prepare(key)
        for layer in self.layers:
            query = layer(query, key)
        return query  # (steps, batch, d)


class MULTReference(nn.Module):
    """`MULTModel` with the port's argument names (see `crossmodal_transformer`, `audio_transformer`).

    Args:
        mfcc_shape: tuple. `(frames, n_mfcc)`. Defaults to `(400, 40)`.
        bert_shape: tuple or None. `(tokens, hidden)`; None builds the audio-only model (`--do_audio`,
            width n_mfcc, no convolutions). Defaults to `(64, 768)`.
        num_classes, d_model, num_heads, num_layers, kernel_size, embed_dropout, attn_dropout,
        attn_dropout_audio, relu_dropout, res_dropout, out_dropout, merge_how, causal, text_padding: as
            the port's builders (defaults: the seed-001 run scripts).

    Call: `forward(mfcc, bert=None, bert_mask=None, mfcc_mask=None)`; `bert_mask` only sets the batch's
    text length (`text_padding="batch"`), `mfcc_mask` is unused, as in the original. Returns logits
    `(batch, num_classes)`.
    """

    def __init__(
        self,
        mfcc_shape=(400, 40),
        bert_shape=(64, 768),
        num_classes=7,
        d_model=64,
        num_heads=8,
        num_layers=4,
        kernel_size=3,
        embed_dropout=0.2,
        attn_dropout=0.2,
        attn_dropout_audio=0.0,
        relu_dropout=0.1,
        res_dropout=0.1,
        out_dropout=0.1,
        merge_how="average",
        causal=True,
        text_padding="batch",
    ):
        super().__init__()
        if merge_how not in ("average", "last"):
            raise ValueError(f"Expected merge_how to be one of ('average', 'last'). Received: merge_how={merge_how!r}")
        if text_padding not in ("batch", "fixed"):
            raise ValueError(
                f"Expected text_padding to be one of ('batch', 'fixed'). Received: text_padding={text_padding!r}"
            )
        self.only_audio = bert_shape is None
        self.text_padding, self.kernel_size = text_padding, kernel_size
        self.merge_how, self.embed_dropout, self.out_dropout = merge_how, embed_dropout, out_dropout

        def stack(width, attention_dropout):
            return _CrossmodalTransformer(
                width, num_heads, embed_dropout, attention_dropout, res_dropout, relu_dropout, num_layers, causal
            )

        if self.only_audio:
            width = mfcc_shape[-1]
            self.audio_layers = stack(width, attn_dropout)
        else:
            width = 2 * d_model
            self.audio_encoder = nn.Conv1d(mfcc_shape[-1], d_model, kernel_size=kernel_size, padding=0, bias=False)
            self.text_encoder = nn.Conv1d(bert_shape[-1], d_model, kernel_size=kernel_size, padding=0, bias=False)
            self.audio_layers_with_text = stack(d_model, attn_dropout_audio)
            self.text_layers_with_audio = stack(d_model, attn_dropout)
            self.audio_layers = stack(d_model, attn_dropout)
            self.text_layers = stack(d_model, attn_dropout)
        self.fc_layer1 = nn.Linear(width, width)
        self.fc_layer2 = nn.Linear(width, width)
        self.out_layer = nn.Linear(width, num_classes)

    def _pool(self, x):  # (steps, batch, d)
        return x.mean(dim=0) if self.merge_how == "average" else x[-1]

    def forward(self, mfcc, bert=None, bert_mask=None, mfcc_mask=None):
        if not self.only_audio and self.text_padding == "batch" and bert_mask is not None:
            real = (bert_mask > 0.5).long() * torch.arange(1, bert_mask.shape[1] + 1, device=bert_mask.device)
            bert = bert[:, : min(max(int(real.max()), self.kernel_size), bert.shape[1])]  # the collate's padding
        if self.only_audio:
            features = self._pool(self.audio_layers(mfcc))
        else:
            audio = self.audio_encoder(mfcc.transpose(1, 2)).transpose(1, 2)  # (batch, frames - k + 1, d)
            text = F.dropout(bert.transpose(1, 2), self.embed_dropout, self.training)
            text = self.text_encoder(text).transpose(1, 2)
            audio_with_text = self.audio_layers_with_text(audio, text).transpose(0, 1)  # (batch, steps, d)
            text_with_audio = self.text_layers_with_audio(text, audio).transpose(0, 1)
            audio2, text2 = self.audio_layers(audio_with_text), self.text_layers(text_with_audio)
            features = torch.cat([self._pool(audio2), self._pool(text2)], dim=1)
        out = F.relu(self.fc_layer1(features))
        out = self.fc_layer2(F.dropout(out, self.out_dropout, self.training)) + features
        return self.out_layer(out)


_SUPPORTED = {
    name: None
    for name in ("mfcc_shape", "mfcc_mask_shape", "bert_shape", "bert_mask_shape", "num_classes", "d_model",
                 "num_heads", "num_layers", "kernel_size", "embed_dropout", "attn_dropout", "attn_dropout_audio",
                 "relu_dropout", "res_dropout", "out_dropout", "name")
}
_SUPPORTED.update(
    merge_how=("average", "last"), causal=(True, False), key_mask=(False,), text_padding=("batch", "fixed")
)


def reference(key, **flags):
    """The reference of `audio_transformer` or `crossmodal_transformer` from the port builder's keyword arguments."""
    check_flags(key, flags, _SUPPORTED)
    flags = {k: v for k, v in flags.items() if k not in ("name", "mfcc_mask_shape", "bert_mask_shape", "key_mask")}
    if key == "audio_transformer":
        for name in ("bert_shape", "d_model", "kernel_size", "attn_dropout_audio"):
            if name in flags:
                raise ValueError(
                    f"audio_transformer has no {name} (its width is n_mfcc). Received: {name}={flags[name]!r}"
                )
        defaults = dict(num_heads=8, num_layers=4, embed_dropout=0.2, attn_dropout=0.2)
        return MULTReference(bert_shape=None, **{**defaults, **flags})
    return MULTReference(**flags)


def _stack_names(reference):
    if reference.only_audio:
        return {"audio_self": reference.audio_layers}
    return {
        "audio_with_text": reference.audio_layers_with_text,
        "text_with_audio": reference.text_layers_with_audio,
        "audio_self": reference.audio_layers,
        "text_self": reference.text_layers,
    }


def copy_keras_weights(keras_model, reference):
    """Copies the weights of a Keras `crossmodal_transformer` / `audio_transformer` into `reference`; returns it.

    The reference also takes the port's text padding: per batch when the port has its `text_batch_padding`
    layer (`text_padding="batch"`), else every position given.
    """

    def put(parameter, value):
        with torch.no_grad():
            parameter.copy_(torch.as_tensor(np.ascontiguousarray(np.asarray(value)), dtype=parameter.dtype))

    for name, stack in _stack_names(reference).items():
        for block, keras_block in zip(stack.layers, keras_model.get_layer(name).blocks):
            attention, keras_attention = block.transformer.self_attn, keras_block.attention
            d = attention.embed_dim
            dense = (keras_attention._query_dense, keras_attention._key_dense, keras_attention._value_dense)
            # Keras EinsumDense kernels (d, heads, head_dim) -> PyTorch rows of in_proj_weight (3d, d)
            put(attention.in_proj_weight, np.concatenate([np.asarray(layer.kernel).reshape(d, d).T for layer in dense]))
            put(attention.in_proj_bias, np.concatenate([np.asarray(layer.bias).reshape(d) for layer in dense]))
            put(attention.out_proj.weight, np.asarray(keras_attention._output_dense.kernel).reshape(d, d).T)
            put(attention.out_proj.bias, keras_attention._output_dense.bias)
            for norm, keras_norm in ((block.transformer.layernorm, keras_block.attention_norm),
                                     (block.feedforward.layernorm, keras_block.ffn_norm)):
                put(norm.weight, keras_norm.gamma)
                put(norm.bias, keras_norm.beta)
            for linear, keras_dense in ((block.feedforward.linear1, keras_block.ffn_in),
                                        (block.feedforward.linear2, keras_block.ffn_out)):
                put(linear.weight, np.asarray(keras_dense.kernel).T)
                put(linear.bias, keras_dense.bias)
    if not reference.only_audio:
        # the port's padding of texts: per batch with its `text_batch_padding` layer, else as given
        per_batch = any(layer.name == "text_batch_padding" for layer in keras_model.layers)
        reference.text_padding = "batch" if per_batch else "fixed"
        for conv, name in ((reference.audio_encoder, "audio_projection"), (reference.text_encoder, "text_projection")):
            put(conv.weight, np.transpose(np.asarray(keras_model.get_layer(name).kernel), (2, 1, 0)))  # (k, in, out)
    head = ((reference.fc_layer1, "fc1"), (reference.fc_layer2, "fc2"), (reference.out_layer, "classifier"))
    for linear, name in head:
        kernel, bias = keras_model.get_layer(name).get_weights()
        put(linear.weight, kernel.T)
        put(linear.bias, bias)
    return reference


def keras_forward(keras_model, d, heads, layers_per_stack, audio_only=False):
    """A numpy forward of the original computation (eval mode) with the weights of `keras_model`.

    The parity-test entry point (`tests/test_transformer.py`): returns `forward(mfcc, bert, bert_mask=None)`
    (cross-modal) or `forward(mfcc)` (`audio_only=True`), mapping float32 arrays to class probabilities.
    A port that pads texts per batch (its `text_batch_padding` layer) is mirrored when `bert_mask` is given.

    Args:
        keras_model: keras.Model. A `crossmodal_transformer` or `audio_transformer` port.
        d: int. Model width (`d_model`; n_mfcc for the audio-only model).
        heads: int. Attention heads.
        layers_per_stack: int. Blocks per stack.
        audio_only: bool. The audio-only model. Defaults to False.
    """
    merge_how = "last" if keras_model.get_layer("audio_pooling").mode == "last" else "average"
    common = dict(num_heads=heads, num_layers=layers_per_stack, merge_how=merge_how,
                  causal=keras_model.get_layer("audio_self").causal)
    mfcc_shape = tuple(keras_model.input["mfcc"].shape[1:])
    num_classes = keras_model.output.shape[-1]
    if audio_only:
        reference = MULTReference(mfcc_shape=mfcc_shape, bert_shape=None, num_classes=num_classes, **common)
    else:
        bert_shape = tuple(keras_model.input["bert"].shape[1:])
        reference = MULTReference(mfcc_shape=mfcc_shape, bert_shape=bert_shape, num_classes=num_classes, d_model=d,
                                  kernel_size=keras_model.get_layer("audio_projection").kernel_size[0], **common)
    copy_keras_weights(keras_model, reference).eval()

    def forward(mfcc, bert=None, bert_mask=None):
        def tensor(a):
            return None if a is None else torch.as_tensor(np.asarray(a, dtype=np.float32))

        with torch.no_grad():
            logits = reference(tensor(mfcc), tensor(bert), bert_mask=tensor(bert_mask))
            return torch.softmax(logits, dim=1).numpy()

    return forward
