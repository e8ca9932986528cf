"""A PyTorch reference of SER-MMoE's modules, for the count and parity tests of `coaudiotext.models.ser_mmoe`.

Re-implemented (not copied) from `hannawong/Speech-Emotion-Recognition`, `model/SER_mmoe/modeling/`:

- `Branch`: `Conv1d(k=3, same) + Conv1d(k=5, same)` -> `nn.LSTM(..., bidirectional=True)` **without
  `batch_first`** (it reads `(batch, T, C)` as `(time, batch, C)`) -> the last-frame attention of
  `self_attention_layer*` (query `h[i, L_i]`, mask `[1] * L_i`, additive -10000, scale
  `1/sqrt(256 [+ 1e-4])`); it takes the original's stored index `L` (phone, wav2vec: n - 1;
  MFCC: min(n, T - 1));
- `HighLayers`: `DSBN.high_layers`;
- `SpeakerEncoder`: `GE2E_model.SpeakerEncoder` (3-layer LSTM 40 -> 256, Linear, similarity w/b),
  present for the parameter count only (the port reads precomputed GE2E vectors);
- `SERModelReference`: `SER_MODEL` with every registered module of the original (10,952,656
  parameters) and `forward(lang, ...) -> (logits, tower output)` as `classification_score`,
  without the loss (the `.squeeze()` calls become `[:, 0]`-style indexing of the batch's rows);
- `construct_matrix_embed` and `ge2e_loss`: the original's grouping by class (first appearance
  order, the first `min_count` per class, `prune` keeps classes above 5) and the GE2E softmax loss.

`copy_to_keras(reference, model, language)` copies the weights into a Keras `ser_mmoe` model.
Imported by the tests only after `pytest.importorskip("torch")`.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "Branch",
    "HighLayers",
    "SpeakerEncoder",
    "SERModelReference",
    "construct_matrix_embed",
    "ge2e_loss",
    "copy_to_keras",
    "TOWERS",
]

# lang -> hidden size of the tower (ser_model.py l.27-30)
TOWERS = {"en": 256, "ge": 512, "pe": 1024, "fr": 512}
CLASSES = {"en": 4, "ge": 7, "pe": 6, "fr": 7}


class Branch(nn.Module):
    """One frame branch: two summed convs, a non-batch-first BiLSTM, the last-frame attention."""

    def __init__(self, features, filters, units, num_layers, scale_epsilon=0.0, attention=256):
        super().__init__()
        self.conv1d_1 = nn.Conv1d(features, filters, kernel_size=3, padding="same")
        self.conv1d_2 = nn.Conv1d(features, filters, kernel_size=5, padding="same")
        self.lstm = nn.LSTM(filters, units, num_layers, bidirectional=True)  # batch_first=False, as the original
        self.Q_layer = nn.Linear(2 * units, attention)
        self.K_layer = nn.Linear(2 * units, attention)
        self.V_layer = nn.Linear(2 * units, attention)
        self.scale_epsilon = scale_epsilon

    def forward(self, x, index, batch_first=False):
        y = x.permute(0, 2, 1)
        y = (self.conv1d_1(y) + self.conv1d_2(y)).permute(0, 2, 1)  # (B, T, filters)
        if batch_first:
            y = y.permute(1, 0, 2)
        h, _ = self.lstm(y)  # the original: B read as time
        if batch_first:
            h = h.permute(1, 0, 2)
        rows = torch.arange(h.shape[0])
        last = h[rows, index.long(), :]  # (B, 2 units)
        query = self.Q_layer(last).unsqueeze(1)
        keys, values = self.K_layer(h), self.V_layer(h)
        scores = torch.matmul(query, keys.permute(0, 2, 1)) * (1.0 / math.sqrt(float(keys.shape[-1]) + self.scale_epsilon))
        steps = h.shape[1]
        mask = torch.tensor(
            [[1.0] * int(index[i]) + [0.0] * (steps - int(index[i])) for i in range(h.shape[0])], dtype=h.dtype
        )
        scores = scores + ((1.0 - mask) * -10000.0).unsqueeze(1)
        return torch.matmul(torch.softmax(scores, dim=2), values)[:, 0, :]  # (B, 256)


class HighLayers(nn.Module):
    """`DSBN.high_layers`: `s = sigmoid(log u - log(1-u) + log(alpha)/0.9)`, stretched to [-0.1, 2], clipped."""

    def __init__(self, size=256):
        super().__init__()
        self.alpha = nn.Parameter(torch.rand((1,)))
        self.beta, self.gamma, self.eplison = 0.9, -0.1, 2
        self.u = nn.Parameter(torch.nn.init.uniform_(torch.empty(size, size), 0, 1))
        self.w_params = nn.Parameter(torch.nn.init.xavier_normal_(torch.empty(size, size)))

    def gates(self):
        s = torch.sigmoid(torch.log(self.u) - torch.log(1 - self.u) + torch.log(self.alpha) / self.beta)
        s_ = s * (self.eplison - self.gamma) + self.gamma
        z = (s_ > 0).to(s_.dtype) * s_
        return (z > 1).to(z.dtype) + (z <= 1).to(z.dtype) * z

    def forward(self, x):
        return torch.einsum("anc,cd->and", x, self.gates() * self.w_params)


class SpeakerEncoder(nn.Module):
    """`GE2E_model.SpeakerEncoder` (only its parameters matter here)."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(40, 256, 3, batch_first=True)
        self.linear = nn.Linear(256, 256)
        self.similarity_weight = nn.Parameter(torch.tensor([10.0]))
        self.similarity_bias = nn.Parameter(torch.tensor([-5.0]))

    def forward(self, mels):
        _, (hidden, _) = self.lstm(mels)
        embeds = torch.relu(self.linear(hidden[-1]))
        return embeds / (torch.norm(embeds, dim=1, keepdim=True) + 1e-5)


class SERModelReference(nn.Module):
    """`SER_MODEL` with its registered modules, named as the original's."""

    def __init__(self):
        super().__init__()
        self.allo = Branch(230, 64, 128, 1)
        self.mfcc = Branch(24, 32, 64, 2)
        self.wav2vec = Branch(512, 64, 128, 1, scale_epsilon=1e-4)
        self.SpeakerEncoder = SpeakerEncoder()
        for lang in ("pe", "en", "ge", "fr"):
            setattr(self, f"W_{lang}", nn.Linear(256, 128))
            setattr(self, f"W_{lang}_1", nn.Linear(128, 64))
            setattr(self, f"W_{lang}_2", nn.Linear(64, 32))
            setattr(self, f"W_{lang}_3", nn.Linear(32, 4 if lang == "ge" else 5))
        self.high_layer = HighLayers(256)
        for lang, hidden in TOWERS.items():
            setattr(self, f"dense1_{lang}", nn.Linear(512, 2 * hidden))
            setattr(self, f"bn_{lang}", nn.BatchNorm1d(2 * hidden))
            setattr(self, f"dense2_{lang}", nn.Linear(2 * hidden, hidden))
            setattr(self, f"bn1_{lang}", nn.BatchNorm1d(hidden))
            setattr(self, f"dense3_{lang}", nn.Linear(hidden, hidden // 2))
            setattr(self, f"bn2_{lang}", nn.BatchNorm1d(hidden // 2))
        self.dense4_pe = nn.Linear(512, 256)
        self.bn3_pe = nn.BatchNorm1d(256)
        self.out_proj_en = nn.Linear(128, 4)
        self.out_proj_ge = nn.Linear(256, 7)
        self.out_proj_pe = nn.Linear(256, 6)
        self.out_proj_fr = nn.Linear(256, 7)
        self.adaptor = nn.Linear(2048, 512)
        self.adaptor1 = nn.Linear(512, 256)
        self.similarity_weight = nn.Parameter(torch.tensor([10.0]))
        self.similarity_bias = nn.Parameter(torch.tensor([-5.0]))
        self.dropout = nn.Dropout(0.1)
        self.dropout1 = nn.Dropout(0.01)

    def gate(self, lang, x):
        for suffix in ("", "_1", "_2"):
            x = F.relu(getattr(self, f"W_{lang}{suffix}")(x))
        return torch.softmax(getattr(self, f"W_{lang}_3")(x), dim=1)

    def tower(self, lang, x):
        if lang == "pe":
            x = self.dropout1(F.mish(torch.tanh(self.bn_pe(self.dense1_pe(x)))))
            x = self.dropout1(F.mish(torch.tanh(self.bn1_pe(self.dense2_pe(x)))))
            x = self.dropout(F.gelu(self.bn2_pe(self.dense3_pe(x))))
            return F.mish(self.bn3_pe(self.dense4_pe(x)))
        x = self.dropout(torch.tanh(getattr(self, f"bn_{lang}")(getattr(self, f"dense1_{lang}")(x))))
        x = self.dropout(F.relu(getattr(self, f"bn1_{lang}")(getattr(self, f"dense2_{lang}")(x))))
        return F.gelu(getattr(self, f"bn2_{lang}")(getattr(self, f"dense3_{lang}")(x)))

    def forward(self, lang, feat_emb, ge2e_emb, mfcc_emb, length, mfcc_length, wav2vec_emb, wav2vec_length,
                bloy_embedding, batch_first=False):
        """Returns `(logits, tower output)`; the indices are the original's stored `L`, bloy `(B, 2048)`."""
        allo = self.allo(feat_emb, length, batch_first)
        mfcc = self.mfcc(mfcc_emb, mfcc_length, batch_first)
        w2v = self.wav2vec(wav2vec_emb, wav2vec_length, batch_first)
        allo, mfcc, w2v = self.high_layer(torch.stack([allo, mfcc, w2v]))
        bloy = self.adaptor1(self.adaptor(bloy_embedding))
        score = self.gate(lang, bloy if lang == "ge" else ge2e_emb)
        mixed = allo * score[:, 0:1] + mfcc * score[:, 1:2] + w2v * score[:, 2:3]
        if lang != "ge":
            mixed = mixed + bloy * score[:, 4:5]
        x = self.tower(lang, torch.cat([mixed, ge2e_emb * score[:, 3:4]], dim=1))
        return getattr(self, f"out_proj_{lang}")(x), x


def construct_matrix_embed(embeds, labels, prune=False):
    """The original's grouping: classes by first appearance, the first `min_count` samples of each."""
    counts = {}
    for label in labels.tolist():
        counts[int(label)] = counts.get(int(label), 0) + 1
    kept = {k: c for k, c in counts.items() if (c > 5 or not prune)}
    per_class = int(np.min(list(kept.values())))  # ValueError when empty (prune), as the original
    out = torch.zeros((len(kept), per_class, embeds.shape[-1]), dtype=embeds.dtype)
    for k, key in enumerate(kept):
        rows = [i for i, label in enumerate(labels.tolist()) if int(label) == key][:per_class]
        for j, i in enumerate(rows):
            out[k, j] = embeds[i]
    return out


def ge2e_loss(embeds, weight, bias):
    """GE2E softmax loss of `(classes, per_class, dim)` embeddings (`SpeakerEncoder.loss`, without the EER)."""
    classes, per_class = embeds.shape[:2]
    inclusive = embeds.mean(dim=1, keepdim=True)
    inclusive = inclusive / (torch.norm(inclusive, dim=2, keepdim=True) + 1e-5)
    exclusive = (embeds.sum(dim=1, keepdim=True) - embeds) / (per_class - 1)
    exclusive = exclusive / (torch.norm(exclusive, dim=2, keepdim=True) + 1e-5)
    sim = torch.zeros(classes, per_class, classes, dtype=embeds.dtype)
    for j in range(classes):
        others = [i for i in range(classes) if i != j]
        sim[others, :, j] = (embeds[others] * inclusive[j]).sum(dim=2)
        sim[j, :, j] = (embeds[j] * exclusive[j]).sum(dim=1)
    sim = sim * weight + bias
    target = torch.from_numpy(np.repeat(np.arange(classes), per_class)).long()
    return F.cross_entropy(sim.reshape(classes * per_class, classes), target)


def _np(t):
    return t.detach().cpu().numpy().astype(np.float64)


def _linear(layer, linear):
    layer.set_weights([_np(linear.weight).T, _np(linear.bias)])


def _bn(layer, bn):
    layer.set_weights([_np(bn.weight), _np(bn.bias), _np(bn.running_mean), _np(bn.running_var)])


def copy_to_keras(reference, model, language, branches=("phone", "mfcc", "wav2vec")):
    """Copies the reference's weights (of `language`) into a Keras `ser_mmoe` model with those branches."""
    names = {"phone": "allo", "mfcc": "mfcc", "wav2vec": "wav2vec"}
    for branch in branches:
        source = getattr(reference, names[branch])
        for k, conv in ((3, source.conv1d_1), (5, source.conv1d_2)):
            model.get_layer(f"{branch}_conv_k{k}").set_weights([_np(conv.weight).transpose(2, 1, 0), _np(conv.bias)])
        recurrence = model.get_layer(f"{branch}_lstm")
        for i, bidirectional in enumerate(recurrence.lstms):
            for suffix, direction in (("", bidirectional.forward_layer), ("_reverse", bidirectional.backward_layer)):
                w_ih = _np(getattr(source.lstm, f"weight_ih_l{i}{suffix}"))
                w_hh = _np(getattr(source.lstm, f"weight_hh_l{i}{suffix}"))
                b = _np(getattr(source.lstm, f"bias_ih_l{i}{suffix}")) + _np(getattr(source.lstm, f"bias_hh_l{i}{suffix}"))
                direction.set_weights([w_ih.T, w_hh.T, b])
        attention = model.get_layer(f"{branch}_attention")
        attention.set_weights([
            _np(source.Q_layer.weight).T, _np(source.Q_layer.bias),
            _np(source.K_layer.weight).T, _np(source.K_layer.bias),
            _np(source.V_layer.weight).T, _np(source.V_layer.bias),
        ])
    names_in_model = {layer.name for layer in model.layers}
    if "high_layer" in names_in_model:
        high = reference.high_layer
        model.get_layer("high_layer").set_weights([_np(high.alpha), _np(high.u), _np(high.w_params)])
    if "utterance_adaptor" in names_in_model:
        _linear(model.get_layer("utterance_adaptor"), reference.adaptor)
        _linear(model.get_layer("utterance_adaptor_1"), reference.adaptor1)
    if "gate_1" in names_in_model:
        for i, suffix in enumerate(("", "_1", "_2", "_3"), start=1):
            _linear(model.get_layer("gate_scores" if i == 4 else f"gate_{i}"), getattr(reference, f"W_{language}{suffix}"))
    steps = [("dense1", "bn"), ("dense2", "bn1"), ("dense3", "bn2")] + ([("dense4", "bn3")] if language == "pe" else [])
    for i, (dense, bn) in enumerate(steps, start=1):
        _linear(model.get_layer(f"tower_{i}"), getattr(reference, f"{dense}_{language}"))
        _bn(model.get_layer(f"tower_{i}_bn"), getattr(reference, f"{bn}_{language}"))
    _linear(model.get_layer("logits"), getattr(reference, f"out_proj_{language}"))
