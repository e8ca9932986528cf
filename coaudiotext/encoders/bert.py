"""BERT and RoBERTa in Keras 3 (`keras.ops` / `keras.layers` only), loading transformers checkpoints.

One post-LN Transformer serves both; they differ only in their embeddings (`variant`):

- `BertEmbeddings`: word + position + token-type embeddings, LayerNorm, dropout.
  `variant="bert"`: positions `0, 1, ..., L-1`.
  `variant="roberta"`: fairseq positions from the ids, `cumsum(ids != pad) * (ids != pad) + pad_token_id`:
  real tokens are numbered `pad + 1, pad + 2, ...` and padding gets position `pad_token_id` (the
  "padding_idx offset", hence RoBERTa's 514 = 512 + 2 position rows). RoBERTa checkpoints have
  `type_vocab_size=1`, so the model has no `token_type_ids` input by default and uses type 0.
- `BertLayer`: `h = LN(x + drop(Attn(x)))`, `out = LN(h + drop(W2 act(W1 h)))` (post-LN).
- `BertPooler`: `tanh(Dense(h[:, 0]))`, the [CLS] (`<s>`) vector through a dense layer.

`bert_encoder(...)` builds the functional model. Inputs `{"input_ids", "attention_mask"[, "token_type_ids"]}`,
int32 `(batch, tokens)`, `attention_mask` 1 for real tokens. Outputs:

- `"last_hidden_state"`: `(batch, tokens, hidden_size)`;
- `"hidden_states"`: `num_hidden_layers + 1` tensors, the embeddings then each layer's output (transformers'
  `output_hidden_states`; the last equals `last_hidden_state`);
- `"pooler_output"`: `(batch, hidden_size)`, when the model has a pooler.

Tokenisation stays transformers' (pure Python): `tokenizer = transformers.AutoTokenizer.from_pretrained(folder)`,
then `tokenizer(texts, padding="max_length", max_length=64, truncation=True, return_tensors="np")` and pass
`input_ids`, `attention_mask` (and `token_type_ids` for BERT) as int32 arrays (`encode(tokenizer, texts, model)`
does exactly that).

Config keys read from `config.json` (`config_to_args`): `model_type` (`"bert"` or `"roberta"`), `vocab_size`,
`hidden_size`, `num_hidden_layers`, `num_attention_heads`, `intermediate_size`, `hidden_act`,
`hidden_dropout_prob`, `attention_probs_dropout_prob`, `max_position_embeddings`, `type_vocab_size`,
`layer_norm_eps`, `pad_token_id`. Refused: `position_embedding_type` other than `"absolute"`, `is_decoder`,
`add_cross_attention`, other model types.

Name table (PyTorch `BertModel`/`RobertaModel` name -> Keras weight; the `bert.` / `roberta.` prefix of task
checkpoints such as `RobertaForMaskedLM` is stripped; Linear weights transposed; TF-era `gamma`/`beta` names
accepted):

    embeddings.word_embeddings.weight             embeddings/word_embeddings/embeddings
    embeddings.position_embeddings.weight         embeddings/position_embeddings/embeddings
    embeddings.token_type_embeddings.weight       embeddings/token_type_embeddings/embeddings
    embeddings.LayerNorm.{weight,bias}            embeddings/layer_norm/{gamma,beta}
    encoder.layer.{i}.attention.self.{query,key,value}.*   layer_{i}/attention/{query,key,value}/{kernel,bias}
    encoder.layer.{i}.attention.output.dense.*    layer_{i}/attention/output
    encoder.layer.{i}.attention.output.LayerNorm.*  layer_{i}/attention_layer_norm
    encoder.layer.{i}.intermediate.dense.*        layer_{i}/intermediate_dense
    encoder.layer.{i}.output.dense.*              layer_{i}/output_dense
    encoder.layer.{i}.output.LayerNorm.*          layer_{i}/output_layer_norm
    pooler.dense.{weight,bias}                    pooler/dense

Ignored checkpoint tensors (logged): `cls.*` and `lm_head.*` (MLM/NSP heads), `classifier.*`, `qa_outputs.*`,
the `embeddings.position_ids` / `embeddings.token_type_ids` buffers, and `pooler.*` when the model is built
without a pooler. Any other unmatched tensor, or a missing one, is a `ValueError` naming it. A checkpoint
with no pooler (e.g. `RobertaForMaskedLM`) gives a model without `"pooler_output"` unless
`add_pooling_layer=True` is asked for, which then fails naming the missing tensors.

Not supported: relative position embeddings, decoder use (causal masks, cross-attention, caches), the task
heads, returned attention weights, `inputs_embeds`, explicit `position_ids`. Fine-tuning difference:
PyTorch never updates the `padding_idx` rows of the word (and RoBERTa position) embeddings; here they get
gradients like any other row (only padded positions use them).

Example:

>>> from transformers import AutoTokenizer                              # doctest: +SKIP
>>> model = from_pretrained("/path/to/klue-roberta-base")                 # doctest: +SKIP
>>> tokenizer = AutoTokenizer.from_pretrained("/path/to/klue-roberta-base")  # doctest: +SKIP
>>> out = model(encode(tokenizer, ["안녕하세요"], model, max_length=16))    # doctest: +SKIP
>>> out["last_hidden_state"].shape                                         # doctest: +SKIP
TensorShape([1, 16, 768])
"""

from __future__ import annotations

import logging

import keras
import numpy as np
from keras import layers, ops

from coaudiotext._checks import check_choice
from coaudiotext.encoders._common import (
    WeightTable,
    MultiHeadSelfAttention,
    activation_fn,
    assign_weights,
    read_config,
    read_state_dict,
    strip_prefix,
)

__all__ = [
    "VARIANTS",
    "BertEmbeddings",
    "BertLayer",
    "BertPooler",
    "bert_encoder",
    "config_to_args",
    "weight_table",
    "load_weights",
    "from_pretrained",
    "encode",
]

logger = logging.getLogger(__name__)

VARIANTS = ("bert", "roberta")
IGNORED_PREFIXES = ("cls.", "lm_head.", "classifier.", "qa_outputs.", "embeddings.position_ids",
                    "embeddings.token_type_ids")


@keras.saving.register_keras_serializable(package="coaudiotext")
class BertEmbeddings(layers.Layer):
    """Word + position + token-type embeddings, LayerNorm, dropout (BERT or RoBERTa positions).

    Args:
        vocab_size: int.
        hidden_size: int.
        max_position_embeddings: int. Rows of the position table.
        type_vocab_size: int. Rows of the token-type table.
        layer_norm_eps: float. Defaults to 1e-12.
        dropout: float. `hidden_dropout_prob`. Defaults to 0.1.
        pad_token_id: int. RoBERTa's padding index (positions start after it). Defaults to 0.
        variant: str. `"bert"` (positions 0..L-1) or `"roberta"` (positions from the ids, see the module
            docstring). Defaults to `"bert"`.

    Call arguments:
        input_ids: int `(batch, tokens)`.
        token_type_ids: int `(batch, tokens)` or None (all type 0).

    Returns:
        `(batch, tokens, hidden_size)`.
    """

    def __init__(self, vocab_size, hidden_size, max_position_embeddings=512, type_vocab_size=2, layer_norm_eps=1e-12,
                 dropout=0.1, pad_token_id=0, variant="bert", **kwargs):
        super().__init__(**kwargs)
        check_choice("variant", variant, VARIANTS)
        self.vocab_size = int(vocab_size)
        self.hidden_size = int(hidden_size)
        self.max_position_embeddings = int(max_position_embeddings)
        self.type_vocab_size = int(type_vocab_size)
        self.layer_norm_eps = float(layer_norm_eps)
        self.dropout = float(dropout)
        self.pad_token_id = int(pad_token_id)
        self.variant = variant
        policy = self.dtype_policy
        self.word_embeddings = layers.Embedding(self.vocab_size, self.hidden_size, name="word_embeddings", dtype=policy)
        self.position_embeddings = layers.Embedding(self.max_position_embeddings, self.hidden_size,
                                                    name="position_embeddings", dtype=policy)
        self.token_type_embeddings = layers.Embedding(self.type_vocab_size, self.hidden_size,
                                                      name="token_type_embeddings", dtype=policy)
        self.layer_norm = layers.LayerNormalization(epsilon=self.layer_norm_eps, name="layer_norm", dtype=policy)
        self.dropout_layer = layers.Dropout(self.dropout, name="dropout")

    def build(self, input_ids_shape, token_type_ids_shape=None):
        for embedding in (self.word_embeddings, self.position_embeddings, self.token_type_embeddings):
            embedding.build(input_ids_shape)
        self.layer_norm.build((*input_ids_shape, self.hidden_size))
        self.built = True

    def position_ids(self, input_ids):
        """The position of every token: `(batch, tokens)` (BERT: `(1, tokens)`, broadcast)."""
        if self.variant == "roberta":
            real = ops.cast(ops.not_equal(input_ids, self.pad_token_id), "int32")
            return ops.cumsum(real, axis=1) * real + self.pad_token_id
        return ops.arange(ops.shape(input_ids)[1], dtype="int32")[None, :]

    def call(self, input_ids, token_type_ids=None, training=None):
        input_ids = ops.cast(input_ids, "int32")
        x = self.word_embeddings(input_ids)
        if token_type_ids is None:
            token_type_ids = ops.zeros_like(input_ids)
        x = x + self.token_type_embeddings(ops.cast(token_type_ids, "int32"))
        x = x + self.position_embeddings(self.position_ids(input_ids))
        return self.dropout_layer(self.layer_norm(x), training=training)

    def compute_output_shape(self, input_ids_shape, token_type_ids_shape=None):
        return (*input_ids_shape, self.hidden_size)

    def get_config(self):
        config = super().get_config()
        config.update({
            "vocab_size": self.vocab_size, "hidden_size": self.hidden_size,
            "max_position_embeddings": self.max_position_embeddings, "type_vocab_size": self.type_vocab_size,
            "layer_norm_eps": self.layer_norm_eps, "dropout": self.dropout, "pad_token_id": self.pad_token_id,
            "variant": self.variant,
        })
        return config


@keras.saving.register_keras_serializable(package="coaudiotext")
class BertLayer(layers.Layer):
    """One post-LN BERT block: `h = LN(x + drop(Attn(x)))`, `out = LN(h + drop(W2 act(W1 h)))`.

    Args:
        hidden_size: int.
        num_heads: int.
        intermediate_size: int.
        hidden_act: str. Defaults to `"gelu"` (exact GELU).
        hidden_dropout: float. `hidden_dropout_prob`. Defaults to 0.1.
        attention_dropout: float. `attention_probs_dropout_prob`. Defaults to 0.1.
        layer_norm_eps: float. Defaults to 1e-12.

    Call arguments: `hidden_states` `(batch, tokens, hidden_size)`, `attention_mask` `(batch, tokens)`.
    """

    def __init__(self, hidden_size, num_heads, intermediate_size, hidden_act="gelu", hidden_dropout=0.1,
                 attention_dropout=0.1, layer_norm_eps=1e-12, **kwargs):
        super().__init__(**kwargs)
        self.hidden_size = int(hidden_size)
        self.num_heads = int(num_heads)
        self.intermediate_size = int(intermediate_size)
        self.hidden_act = hidden_act
        self._activation_fn = activation_fn(hidden_act)
        self.hidden_dropout = float(hidden_dropout)
        self.attention_dropout = float(attention_dropout)
        self.layer_norm_eps = float(layer_norm_eps)
        policy = self.dtype_policy
        self.attention = MultiHeadSelfAttention(self.hidden_size, self.num_heads, self.attention_dropout,
                                                name="attention", dtype=policy)
        self.attention_output_dropout = layers.Dropout(self.hidden_dropout, name="attention_output_dropout")
        self.attention_layer_norm = layers.LayerNormalization(epsilon=self.layer_norm_eps, name="attention_layer_norm",
                                                              dtype=policy)
        self.intermediate_dense = layers.Dense(self.intermediate_size, name="intermediate_dense", dtype=policy)
        self.output_dense = layers.Dense(self.hidden_size, name="output_dense", dtype=policy)
        self.output_dropout = layers.Dropout(self.hidden_dropout, name="output_dropout")
        self.output_layer_norm = layers.LayerNormalization(epsilon=self.layer_norm_eps, name="output_layer_norm",
                                                           dtype=policy)

    def build(self, hidden_states_shape, attention_mask_shape=None):
        self.attention.build(hidden_states_shape)
        self.attention_layer_norm.build(hidden_states_shape)
        self.intermediate_dense.build(hidden_states_shape)
        self.output_dense.build((*hidden_states_shape[:-1], self.intermediate_size))
        self.output_layer_norm.build(hidden_states_shape)
        self.built = True

    def call(self, hidden_states, attention_mask=None, training=None):
        x = self.attention(hidden_states, attention_mask, training=training)
        x = self.attention_layer_norm(hidden_states + self.attention_output_dropout(x, training=training))
        h = self._activation_fn(self.intermediate_dense(x))
        h = self.output_dropout(self.output_dense(h), training=training)
        return self.output_layer_norm(x + h)

    def compute_output_shape(self, hidden_states_shape, attention_mask_shape=None):
        return tuple(hidden_states_shape)

    def get_config(self):
        config = super().get_config()
        config.update({
            "hidden_size": self.hidden_size, "num_heads": self.num_heads, "intermediate_size": self.intermediate_size,
            "hidden_act": self.hidden_act, "hidden_dropout": self.hidden_dropout,
            "attention_dropout": self.attention_dropout, "layer_norm_eps": self.layer_norm_eps,
        })
        return config


@keras.saving.register_keras_serializable(package="coaudiotext")
class BertPooler(layers.Layer):
    """`tanh(Dense(hidden_states[:, 0]))`: the first token ([CLS] / `<s>`) through a dense layer.

    Args:
        hidden_size: int.

    Input `(batch, tokens, hidden_size)`; output `(batch, hidden_size)`.
    """

    def __init__(self, hidden_size, **kwargs):
        super().__init__(**kwargs)
        self.hidden_size = int(hidden_size)
        self.dense = layers.Dense(self.hidden_size, activation="tanh", name="dense", dtype=self.dtype_policy)

    def build(self, input_shape):
        self.dense.build((input_shape[0], input_shape[-1]))
        self.built = True

    def call(self, hidden_states):
        return self.dense(hidden_states[:, 0])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.hidden_size)

    def get_config(self):
        config = super().get_config()
        config.update({"hidden_size": self.hidden_size})
        return config


def bert_encoder(
    vocab_size=30522,
    hidden_size=768,
    num_hidden_layers=12,
    num_attention_heads=12,
    intermediate_size=3072,
    hidden_act="gelu",
    hidden_dropout_prob=0.1,
    attention_probs_dropout_prob=0.1,
    max_position_embeddings=512,
    type_vocab_size=2,
    layer_norm_eps=1e-12,
    pad_token_id=0,
    variant="bert",
    use_token_type_ids=None,
    add_pooling_layer=True,
    name=None,
):
    """Builds a BERT or RoBERTa encoder as a functional Keras model (random weights; see `from_pretrained`).

    The arguments up to `pad_token_id` are transformers' `BertConfig`/`RobertaConfig` fields (defaults:
    `bert-base-uncased`).

    Args:
        variant: str. `"bert"` or `"roberta"` (the position ids; see the module docstring). Defaults to `"bert"`.
        use_token_type_ids: bool or None. Give the model a `token_type_ids` input; None: when
            `type_vocab_size > 1`. Without it every token has type 0.
        add_pooling_layer: bool. Add the tanh pooler and its `"pooler_output"`. Defaults to True.
        name: str or None. Defaults to the variant.

    Returns:
        `keras.Model`: inputs `{"input_ids", "attention_mask"[, "token_type_ids"]}` int32 `(batch, tokens)`;
        outputs `{"last_hidden_state", "hidden_states"[, "pooler_output"]}`.
    """
    check_choice("variant", variant, VARIANTS)
    if use_token_type_ids is None:
        use_token_type_ids = int(type_vocab_size) > 1

    # Inputs
    inputs = {
        "input_ids": keras.Input((None,), dtype="int32", name="input_ids"),
        "attention_mask": keras.Input((None,), dtype="int32", name="attention_mask"),
    }
    if use_token_type_ids:
        inputs["token_type_ids"] = keras.Input((None,), dtype="int32", name="token_type_ids")

    # Layers
    x = BertEmbeddings(vocab_size, hidden_size, max_position_embeddings, type_vocab_size, layer_norm_eps,
                       hidden_dropout_prob, pad_token_id, variant, name="embeddings")(
        inputs["input_ids"], inputs.get("token_type_ids"))  # (batch, tokens, hidden_size)
    hidden_states = [x]
    for i in range(int(num_hidden_layers)):
        x = BertLayer(hidden_size, num_attention_heads, intermediate_size, hidden_act, hidden_dropout_prob,
                      attention_probs_dropout_prob, layer_norm_eps, name=f"layer_{i}")(x, inputs["attention_mask"])
        hidden_states.append(x)

    # Model
    outputs = {"last_hidden_state": x, "hidden_states": hidden_states}
    if add_pooling_layer:
        outputs["pooler_output"] = BertPooler(hidden_size, name="pooler")(x)
    return keras.Model(inputs, outputs, name=name or variant)


_ARG_KEYS = (
    "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "hidden_act",
    "hidden_dropout_prob", "attention_probs_dropout_prob", "max_position_embeddings", "type_vocab_size",
    "layer_norm_eps", "pad_token_id",
)
_ROBERTA_DEFAULTS = {"pad_token_id": 1, "max_position_embeddings": 514, "type_vocab_size": 1, "layer_norm_eps": 1e-5,
                     "vocab_size": 50265}


def config_to_args(config):
    """`bert_encoder` arguments from a transformers `config.json` dict; refuses what is not supported."""
    model_type = config.get("model_type", "bert")
    check_choice("model_type", model_type, VARIANTS)
    position_type = config.get("position_embedding_type", "absolute")
    if position_type not in (None, "absolute"):
        raise ValueError(
            f"Only absolute position embeddings are supported. Received: position_embedding_type={position_type!r}"
        )
    if config.get("is_decoder") or config.get("add_cross_attention"):
        raise ValueError("Decoder BERT/RoBERTa (is_decoder, add_cross_attention) is not supported; encoders only.")
    args = dict(_ROBERTA_DEFAULTS) if model_type == "roberta" else {}
    args.update({key: config[key] for key in _ARG_KEYS if config.get(key) is not None})
    args["variant"] = model_type
    return args


def weight_table(model):
    """The name table of a `bert_encoder` model: list of `(torch_name, keras_variable, transform)`."""
    table = WeightTable()
    dense, norm = table.dense, table.norm

    embeddings = model.get_layer("embeddings")
    for torch_name in ("word_embeddings", "position_embeddings", "token_type_embeddings"):
        table.append((f"embeddings.{torch_name}.weight", getattr(embeddings, torch_name).embeddings, None))
    norm("embeddings.LayerNorm", embeddings.layer_norm)
    i = 0
    while True:
        try:
            block = model.get_layer(f"layer_{i}")
        except ValueError:
            break
        prefix = f"encoder.layer.{i}"
        for sub in ("query", "key", "value"):
            dense(f"{prefix}.attention.self.{sub}", getattr(block.attention, sub))
        dense(f"{prefix}.attention.output.dense", block.attention.output_dense)
        norm(f"{prefix}.attention.output.LayerNorm", block.attention_layer_norm)
        dense(f"{prefix}.intermediate.dense", block.intermediate_dense)
        dense(f"{prefix}.output.dense", block.output_dense)
        norm(f"{prefix}.output.LayerNorm", block.output_layer_norm)
        i += 1
    if any(layer.name == "pooler" for layer in model.layers):
        dense("pooler.dense", model.get_layer("pooler").dense)
    return table


def _state(folder):
    return strip_prefix(read_state_dict(folder), ("bert.", "roberta."))


def load_weights(model, folder, state=None):
    """Copies the weights of a transformers BERT/RoBERTa checkpoint folder into a `bert_encoder` model.

    Returns:
        list of str: the checkpoint tensors ignored (heads, buffers; see the module docstring).

    Raises:
        ValueError: naming every unmatched or missing tensor, and shape mismatches.
    """
    state = _state(folder) if state is None else state
    ignored = IGNORED_PREFIXES
    if not any(layer.name == "pooler" for layer in model.layers):
        ignored = ignored + ("pooler.",)
    return assign_weights(weight_table(model), state, ignored, source=f"checkpoint {folder}")


def from_pretrained(folder, add_pooling_layer=None, use_token_type_ids=None, name=None, **overrides):
    """A Keras BERT/RoBERTa encoder with the weights of a local transformers checkpoint folder.

    Args:
        folder: str or path. `save_pretrained` layout: `config.json` and `model.safetensors` (or
            `pytorch_model.bin`, read with `torch.load(weights_only=True)`). `BertModel`/`RobertaModel` and
            task checkpoints (`...ForMaskedLM`, `...ForSequenceClassification`) load; heads are ignored.
            Never downloads.
        add_pooling_layer: bool or None. None: a pooler when the checkpoint has one.
        use_token_type_ids: bool or None. See `bert_encoder`.
        name: str or None. The model's name (defaults to the variant).
        **overrides: `bert_encoder` arguments replacing the config's (e.g. `hidden_dropout_prob=0.0`).

    Returns:
        The `keras.Model` of `bert_encoder`. The tokenizer: `transformers.AutoTokenizer.from_pretrained(folder)`.
    """
    args = config_to_args(read_config(folder))
    args.update(overrides)
    state = _state(folder)
    if add_pooling_layer is None:
        add_pooling_layer = "pooler.dense.weight" in state
        if not add_pooling_layer:
            logger.info("Checkpoint %s has no pooler: the Keras model has no pooler_output.", folder)
    model = bert_encoder(**args, use_token_type_ids=use_token_type_ids, add_pooling_layer=add_pooling_layer, name=name)
    load_weights(model, folder, state=state)
    return model


def encode(tokenizer, texts, model, max_length=64, padding="max_length"):
    """Tokenises `texts` with a transformers tokenizer into the model's int32 input dict.

    Args:
        tokenizer: a transformers tokenizer (`AutoTokenizer.from_pretrained(folder)`).
        texts: list of str.
        model: the Keras model (its input names decide whether `token_type_ids` is passed).
        max_length: int. Defaults to 64.
        padding: str. `"max_length"` or `"longest"`. Defaults to `"max_length"`.

    Returns:
        dict of int32 numpy arrays `(len(texts), tokens)`.
    """
    encoded = tokenizer(list(texts), padding=padding, max_length=int(max_length), truncation=True,
                        return_attention_mask=True, return_token_type_ids=True, return_tensors="np")
    structure = model.input
    names = list(structure) if isinstance(structure, dict) else [tensor.name for tensor in model.inputs]
    return {key: np.asarray(encoded[key], dtype=np.int32) for key in ("input_ids", "attention_mask", "token_type_ids")
            if key in names}
