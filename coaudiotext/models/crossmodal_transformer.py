"""Seed 001: the audio-only and cross-modal Transformers, and the text-only BERT classifier.

Ports `MULTModel` of Donghwa-KIM/audiotext-transformer (`model.py`, `modules.py`), itself
jhnlee's unofficial MulT reduced to two modalities:

- `audio_transformer` (`--do_audio`): one self-attention `CrossmodalTransformer` over the raw
  MFCC frames; the width is the MFCC dimension (40; `--d_model` is ignored by the original),
  no convolution. 82,447 parameters at (400, 40), 7 classes.
- `crossmodal_transformer`: Conv1D(k=3, valid, no bias) projections of MFCC and BERT token
  features to d=64, four stacks (audio<-text, text<-audio, then audio self and text self),
  pooling per stream, concatenation, residual MLP head. 988,807 parameters at
  mfcc (400, 40), bert (64, 768) or any token length, 7 classes.
- `text_bert`: the text-only row. The original fine-tunes the whole KorBERT
  (`BertForEmotionClassification`: pooler `tanh(W h_[CLS] + b)` -> dropout 0.1 ->
  Linear(768, 7)); here BERT is a frozen feature extractor and only that head is
  trained, over the `[CLS]` token features. 595,975 parameters at (64, 768).

Faithful defaults (each quirk has an opt-in fix):

- per-batch text padding: the original's collate function pads the BERT token features of each
  batch to the longest text of that batch (at most `max_len` 64), and the quirks below (the
  un-masked mean, the causal cross-attention) let the amount of padding change the output. The
  features are stored padded to 64; `crossmodal_transformer` cuts each batch after its longest
  text itself (`TrimToLongest`), so training, evaluation and prediction all see the batch the
  original would have built (training batches: the shuffled batches of `--batch-size`;
  evaluation: the split in order, 64 at a time, as the original's `SequentialSampler`; a single
  prediction: the text alone). `text_padding="fixed"` keeps all 64 positions, as the shipped
  `weights/crossmodal_transformer.keras` was trained (saved without the layer: it computes fixed
  padding). MFCC frames are not padded per batch: the original caps its batch at
  `min(400, longest waveform)` counted in *samples*, so every batch has 400 frames (here:
  `max_frames`);
- no key-padding mask (the original passes a mask that is never used, and it would not fit the
  conv output anyway: 400 vs 398) — `key_mask=True` masks padded keys, with the mask shrunk to
  the conv output length;
- causal ("future") masks on self- *and* cross-attention (text token i sees audio frames 0..i
  only) — `causal=False`;
- mean pooling over all steps including padding (`merge_how="average"`) or the last step
  (`"last"`, a padding frame for right-padded audio) — `merge_how="masked_mean"`;
- positions come from the first feature channel (zero = padding);
- the outputs are class probabilities (softmax); the original returns logits for
  `CrossEntropyLoss`, which is the same training objective.

The masks `mfcc_mask` and `bert_mask` (1 = real frame/token) are always declared inputs so that
every variant takes the same data; the faithful model reads `bert_mask` only to find the batch's
longest text, as the original's collate function knew the token counts.
"""

import keras
from keras import layers

from coaudiotext.layers.transformer import CrossmodalTransformer, SequencePooling, TrimToLongest, ValidConvMask
from coaudiotext.models.spec import ModelSpec, TrainSettings
from coaudiotext._checks import check_choice

__all__ = ["audio_transformer", "crossmodal_transformer", "text_bert", "text_padding_of", "SPECS"]

_MERGE_HOW = {"average": "mean", "last": "last", "masked_mean": "masked_mean"}
_TEXT_POOLING = {"cls": "first", "mean": "mean", "masked_mean": "masked_mean"}
_TEXT_PADDING = ("batch", "fixed")
_TRIM_LAYER = "text_batch_padding"


def _check_mask_shape(name, mask_shape, shape):
    if tuple(mask_shape) != (shape[0],):
        raise ValueError(
            f"{name}_mask_shape must be (steps,) with the steps of {name}_shape {tuple(shape)}. "
            f"Received: {name}_mask_shape={tuple(mask_shape)}"
        )


def _residual_head(features, num_classes, out_dropout):
    """`out = fc2(dropout(relu(fc1(f)))) + f; out_layer(out)` of `MULTModel.forward`."""
    width = features.shape[-1]
    hidden = layers.Dense(width, activation="relu", name="fc1")(features)
    hidden = layers.Dropout(out_dropout, name="out_dropout")(hidden)
    hidden = layers.Dense(width, name="fc2")(hidden)
    hidden = layers.Add(name="head_residual")([hidden, features])
    return layers.Dense(num_classes, activation="softmax", name="classifier")(hidden)


def audio_transformer(
    mfcc_shape=(400, 40),
    mfcc_mask_shape=(400,),
    num_classes=7,
    num_heads=8,
    num_layers=4,
    embed_dropout=0.2,
    attn_dropout=0.2,
    relu_dropout=0.1,
    res_dropout=0.1,
    out_dropout=0.1,
    merge_how="average",
    causal=True,
    key_mask=False,
    name="audio_transformer",
):
    """Builds the seed-001 audio-only Transformer over MFCC frames (`--do_audio`).

    The model width is the MFCC dimension (`mfcc_shape[-1]`, 40): the original builds the
    stack with `only_audio_dim=40` and ignores `--d_model`. Dropout defaults are those of
    `train_audio.sh` (attn 0.2, embed 0.2, out 0.1) and of `train.py` (relu 0.1, res 0.1).

    Args:
        mfcc_shape: tuple. `(frames, n_mfcc)`. Defaults to `(400, 40)`.
        mfcc_mask_shape: tuple. `(frames,)`; 1 = real frame. Defaults to `(400,)`.
        num_classes: int. Number of classes. Defaults to 7.
        num_heads: int. Attention heads; must divide n_mfcc. Defaults to 8.
        num_layers: int. Transformer blocks. Defaults to 4.
        embed_dropout: float. Dropout after scaling and positions. Defaults to 0.2.
        attn_dropout: float. Attention-probability dropout. Defaults to 0.2.
        relu_dropout: float. FFN ReLU dropout. Defaults to 0.1.
        res_dropout: float. Residual dropout. Defaults to 0.1.
        out_dropout: float. Dropout in the residual MLP head. Defaults to 0.1.
        merge_how: str. `"average"` (mean over all 400 frames, padding included; faithful),
            `"last"` (last frame), or `"masked_mean"` (mean over real frames; a fix).
            Defaults to `"average"`.
        causal: bool. Causal self-attention, as the original. Defaults to True.
        key_mask: bool. Mask padded frames as keys (a fix; the original's README claims key
            masking, but its code passes `None`). Defaults to False.
        name: str. Model name.

    Inputs: `mfcc` (batch, frames, n_mfcc), `mfcc_mask` (batch, frames).
    Output: class probabilities (batch, num_classes).

    Example:

    >>> audio_transformer().count_params()
    82447
    """
    check_choice("merge_how", merge_how, _MERGE_HOW)
    _check_mask_shape("mfcc", mfcc_mask_shape, mfcc_shape)

    # Inputs
    mfcc = keras.Input(tuple(mfcc_shape), name="mfcc")
    mfcc_mask = keras.Input(tuple(mfcc_mask_shape), name="mfcc_mask")

    # Layers
    encoder = CrossmodalTransformer(
        mfcc_shape[-1],
        num_heads=num_heads,
        num_layers=num_layers,
        embed_dropout=embed_dropout,
        attn_dropout=attn_dropout,
        res_dropout=res_dropout,
        relu_dropout=relu_dropout,
        causal=causal,
        name="audio_self",
    )
    encoded = encoder(mfcc, key_mask=mfcc_mask if key_mask else None)  # (batch, frames, n_mfcc)
    pooling = SequencePooling(_MERGE_HOW[merge_how], name="audio_pooling")
    features = pooling(encoded, mfcc_mask) if merge_how == "masked_mean" else pooling(encoded)
    probabilities = _residual_head(features, num_classes, out_dropout)

    # Model
    return keras.Model({"mfcc": mfcc, "mfcc_mask": mfcc_mask}, probabilities, name=name)


def crossmodal_transformer(
    mfcc_shape=(400, 40),
    mfcc_mask_shape=(400,),
    bert_shape=(None, 768),
    bert_mask_shape=(None,),
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
    key_mask=False,
    text_padding="batch",
    name="crossmodal_transformer",
):
    """Builds the seed-001 cross-modal Transformer over MFCC frames and BERT token features.

    Computation (`MULTModel.forward`, `only_audio=False`):

        bert, bert_mask = bert[:, :n], bert_mask[:, :n]            # n: the batch's longest text
        a = Conv1D(d, k, valid, no bias)(mfcc)                     # (batch, 398, d)
        t = Conv1D(d, k, valid, no bias)(dropout(bert, embed))     # (batch, L-2, d)
        a = audio_with_text(query=a, key=t)    # attention dropout `attn_dropout_audio`
        t = text_with_audio(query=t, key=a)    # uses the *projected* a, not the line above
        a = audio_self(a); t = text_self(t)
        f = concat(pool(a), pool(t))                                # (batch, 2d)
        out = softmax(out_layer(fc2(dropout(relu(fc1(f)))) + f))

    Defaults are the run scripts (`train_cross.sh`: d 64, attn 0.2, attn_a 0.0, embed 0.2,
    out 0.1) and `train.py` (8 heads, 4 layers, relu 0.1, res 0.1).

    Args:
        mfcc_shape: tuple. `(frames, n_mfcc)`. Defaults to `(400, 40)`.
        mfcc_mask_shape: tuple. `(frames,)`; 1 = real frame. Defaults to `(400,)`.
        bert_shape: tuple. `(tokens, hidden)` of the frozen BERT last layer; `tokens` may be
            None (any length) or the stored length (the registry: the original's `max_len` 64).
            Defaults to `(None, 768)`.
        bert_mask_shape: tuple. `(tokens,)`; 1 = real token. Defaults to `(None,)`.
        num_classes: int. Number of classes. Defaults to 7.
        d_model: int. Model width. Defaults to 64.
        num_heads: int. Attention heads. Defaults to 8.
        num_layers: int. Blocks per stack (four stacks). Defaults to 4.
        kernel_size: int. Kernel of both input projections. Defaults to 3.
        embed_dropout: float. Dropout on the BERT input and after positions. Defaults to 0.2.
        attn_dropout: float. Attention dropout of text<-audio and both self stacks. Defaults to 0.2.
        attn_dropout_audio: float. Attention dropout of audio<-text. Defaults to 0.0.
        relu_dropout: float. FFN ReLU dropout. Defaults to 0.1.
        res_dropout: float. Residual dropout. Defaults to 0.1.
        out_dropout: float. Head dropout. Defaults to 0.1.
        merge_how: str. `"average"` (faithful), `"last"`, or `"masked_mean"` (a fix: masks
            shrunk to the conv output length). Defaults to `"average"`.
        causal: bool. Causal masks, also across modalities, as the original. Defaults to True.
        key_mask: bool. Mask padded keys (masks shrunk to the conv output length; a fix).
            Defaults to False.
        text_padding: str. `"batch"`: each batch is cut after its longest text (the last real
            token of `bert_mask`, at least `kernel_size` tokens), i.e. padded per batch as the
            original's collate function does (faithful); `"fixed"`: every token position given
            is used (all 64 of the stored features; how the shipped weights were trained).
            The two give different outputs unless `key_mask=True` and
            `merge_how="masked_mean"`. Defaults to `"batch"`.
        name: str. Model name.

    Inputs: `mfcc` (batch, frames, n_mfcc), `mfcc_mask` (batch, frames), `bert`
    (batch, tokens, hidden), `bert_mask` (batch, tokens). Output: (batch, num_classes).

    Example:

    >>> crossmodal_transformer().count_params()
    988807
    """
    check_choice("merge_how", merge_how, _MERGE_HOW)
    check_choice("text_padding", text_padding, _TEXT_PADDING)
    _check_mask_shape("mfcc", mfcc_mask_shape, mfcc_shape)
    _check_mask_shape("bert", bert_mask_shape, bert_shape)
    for label, shape in (("mfcc_shape", mfcc_shape), ("bert_shape", bert_shape)):
        if shape[0] is not None and shape[0] < kernel_size:
            raise ValueError(f"{label} {tuple(shape)} has fewer steps than kernel_size={kernel_size}.")

    # Inputs
    mfcc = keras.Input(tuple(mfcc_shape), name="mfcc")
    mfcc_mask = keras.Input(tuple(mfcc_mask_shape), name="mfcc_mask")
    bert = keras.Input(tuple(bert_shape), name="bert")
    bert_mask = keras.Input(tuple(bert_mask_shape), name="bert_mask")

    # Layers
    def stack(stack_name, attention_dropout):
        return CrossmodalTransformer(
            d_model,
            num_heads=num_heads,
            num_layers=num_layers,
            embed_dropout=embed_dropout,
            attn_dropout=attention_dropout,
            res_dropout=res_dropout,
            relu_dropout=relu_dropout,
            causal=causal,
            name=stack_name,
        )

    tokens, token_mask = bert, bert_mask
    if text_padding == "batch":
        tokens, token_mask = TrimToLongest(kernel_size, name=_TRIM_LAYER)(bert, bert_mask)  # (batch, n, hidden)
    audio = layers.Conv1D(d_model, kernel_size, padding="valid", use_bias=False, name="audio_projection")(mfcc)
    text = layers.Dropout(embed_dropout, name="text_input_dropout")(tokens)
    text = layers.Conv1D(d_model, kernel_size, padding="valid", use_bias=False, name="text_projection")(text)
    # (batch, frames - k + 1, d), (batch, n - k + 1, d)

    need_masks = key_mask or merge_how == "masked_mean"
    audio_steps = ValidConvMask(kernel_size, name="audio_conv_mask")(mfcc_mask) if need_masks else None
    text_steps = ValidConvMask(kernel_size, name="text_conv_mask")(token_mask) if need_masks else None
    audio_keys = audio_steps if key_mask else None
    text_keys = text_steps if key_mask else None

    audio_with_text = stack("audio_with_text", attn_dropout_audio)(audio, text, key_mask=text_keys)
    text_with_audio = stack("text_with_audio", attn_dropout)(text, audio, key_mask=audio_keys)
    audio_self = stack("audio_self", attn_dropout)(audio_with_text, key_mask=audio_keys)
    text_self = stack("text_self", attn_dropout)(text_with_audio, key_mask=text_keys)

    mode = _MERGE_HOW[merge_how]
    audio_pooling = SequencePooling(mode, name="audio_pooling")
    text_pooling = SequencePooling(mode, name="text_pooling")
    if mode == "masked_mean":
        pooled = [audio_pooling(audio_self, audio_steps), text_pooling(text_self, text_steps)]
    else:
        pooled = [audio_pooling(audio_self), text_pooling(text_self)]
    features = layers.Concatenate(name="features")(pooled)  # (batch, 2 * d_model)
    probabilities = _residual_head(features, num_classes, out_dropout)

    # Model
    inputs = {"mfcc": mfcc, "mfcc_mask": mfcc_mask, "bert": bert, "bert_mask": bert_mask}
    return keras.Model(inputs, probabilities, name=name)


def text_bert(
    bert_shape=(None, 768),
    bert_mask_shape=(None,),
    num_classes=7,
    pooling="cls",
    pooler_units=None,
    dropout=0.1,
    name="text_bert",
):
    """Builds the text-only classifier: BERT's pooler and a linear layer over frozen token features.

    The original text-only row is `BertForEmotionClassification` (korbert_vat), a KorBERT
    fine-tuned end to end: `fc(dropout(tanh(W_pool h_[CLS] + b)))`. Here the BERT features are
    precomputed by a frozen encoder (`coaudiotext.features.pretrained`), so this model trains a
    freshly initialised pooler (`Dense(hidden, tanh)`) and classifier on top of them. With
    features from the fine-tuned KorBERT that is the original's head; with any other frozen
    BERT it is a linear-probe-style baseline.

    Padding per batch or to 64 does not change the faithful `[CLS]` pooling (BERT masks its
    padding), so this model has no `text_padding` setting; `"mean"` pools over whatever padding
    it is given.

    Args:
        bert_shape: tuple. `(tokens, hidden)`; `tokens` may be None (any length). Defaults to
            `(None, 768)`.
        bert_mask_shape: tuple. `(tokens,)`; 1 = real token. Defaults to `(None,)`.
        num_classes: int. Number of classes. Defaults to 7.
        pooling: str. `"cls"` (token 0, faithful), `"mean"` (all tokens incl. padding) or
            `"masked_mean"` (real tokens). Defaults to `"cls"`.
        pooler_units: int or None. Width of the tanh pooler. Defaults to the BERT hidden size.
        dropout: float. Dropout before the classifier (BERT's `hidden_dropout_prob`). Defaults to 0.1.
        name: str. Model name.

    Inputs: `bert` (batch, tokens, hidden), `bert_mask` (batch, tokens).
    Output: class probabilities (batch, num_classes).

    Example:

    >>> text_bert().count_params()
    595975
    """
    check_choice("pooling", pooling, _TEXT_POOLING)
    _check_mask_shape("bert", bert_mask_shape, bert_shape)
    pooler_units = bert_shape[-1] if pooler_units is None else pooler_units

    # Inputs
    bert = keras.Input(tuple(bert_shape), name="bert")
    bert_mask = keras.Input(tuple(bert_mask_shape), name="bert_mask")

    # Layers
    token_pooling = SequencePooling(_TEXT_POOLING[pooling], name="token_pooling")
    pooled = token_pooling(bert, bert_mask) if pooling == "masked_mean" else token_pooling(bert)
    pooled = layers.Dense(pooler_units, activation="tanh", name="pooler")(pooled)
    pooled = layers.Dropout(dropout, name="dropout")(pooled)
    probabilities = layers.Dense(num_classes, activation="softmax", name="classifier")(pooled)

    # Model
    return keras.Model({"bert": bert, "bert_mask": bert_mask}, probabilities, name=name)


def text_padding_of(model):
    """How a seed-001 cross-modal model pads its text: `"batch"` or `"fixed"` (from its layers).

    The setting is part of the saved graph, so a `.keras` file evaluates as it was trained:
    files saved before per-batch padding existed (the shipped `weights/*.keras`) have no
    trimming layer and report `"fixed"` (all 64 token positions).

    Args:
        model: keras.Model. A built or loaded `crossmodal_transformer`.

    Returns:
        str. `"batch"` when the model cuts each batch after its longest text, else `"fixed"`.

    Example:

    >>> text_padding_of(crossmodal_transformer(text_padding="fixed"))
    'fixed'
    """
    return "batch" if any(isinstance(layer, TrimToLongest) for layer in model.layers) else "fixed"


# Run settings of the reported runs (train_audio.sh / train_cross.sh): Adam (PyTorch eps 1e-8),
# lr 1e-5 (the README says 1e-3; the scripts pass 0.00001), batch 64, 10 epochs, clip 0.8.
# The warmup wrapper with multiplier 1 keeps the rate constant (reference §2.4).
# On the demo corpus (~3,000 training utterances, ~470 steps in 10 epochs) 1e-5 barely moves the
# weights, so demo runs use MulT's default 1e-3 unless --lr is given.
_SEED001_TRAIN = TrainSettings(
    optimizer="adam",
    learning_rate=1e-5,
    epsilon=1e-8,
    batch_size=64,
    epochs=10,
    clipnorm=0.8,
    demo_epochs=10,
    demo_learning_rate=1e-3,
)

SPECS = {
    "audio_transformer": ModelSpec(
        builder=audio_transformer,
        inputs=("mfcc", "mfcc_mask"),
        default_shapes={"mfcc": (400, 40), "mfcc_mask": (400,)},
        source="Seed 001, Donghwa-KIM/audiotext-transformer, MULTModel(only_audio=True) (train_audio.sh)",
        tutorial="tutorials/08_crossmodal_transformer.py",
        description="Audio-only Transformer over MFCC frames (seed 001, d = 40)",
        train=_SEED001_TRAIN,
    ),
    "crossmodal_transformer": ModelSpec(
        builder=crossmodal_transformer,
        inputs=("mfcc", "mfcc_mask", "bert", "bert_mask"),
        default_shapes={"mfcc": (400, 40), "mfcc_mask": (400,), "bert": (64, 768), "bert_mask": (64,)},
        source="Seed 001, Donghwa-KIM/audiotext-transformer, MULTModel (train_cross.sh)",
        tutorial="tutorials/08_crossmodal_transformer.py",
        description="Cross-modal Transformer over MFCC and frozen BERT token features (seed 001, MulT-style)",
        train=_SEED001_TRAIN,
    ),
    "text_bert": ModelSpec(
        builder=text_bert,
        inputs=("bert", "bert_mask"),
        default_shapes={"bert": (64, 768), "bert_mask": (64,)},
        source="Seed 001, korbert_vat BertForEmotionClassification head over frozen BERT features",
        tutorial="tutorials/08_crossmodal_transformer.py",
        description="Text-only classifier: BERT pooler + linear over frozen [CLS] features (seed 001)",
        # korbert_vat/train_classification.py: AdamW (pytorch_transformers, eps 1e-6,
        # weight decay 0.01), lr 2e-5, batch 100, 50 epochs, clip 1.0. That rate fine-tuned the
        # whole BERT; a fresh head over frozen features needs more on the demo corpus.
        train=TrainSettings(
            optimizer="adamw",
            learning_rate=2e-5,
            epsilon=1e-6,
            batch_size=100,
            epochs=50,
            clipnorm=1.0,
            weight_decay=0.01,
            demo_epochs=20,
            demo_learning_rate=1e-3,
        ),
    ),
}
