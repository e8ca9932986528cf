"""Keras 3 encoders that load transformers checkpoints: wav2vec2, BERT and RoBERTa.

Native Keras ports (`keras.ops` / `keras.layers` only, any backend: TensorFlow, JAX, PyTorch) of
transformers' `Wav2Vec2Model`, `BertModel` and `RobertaModel`, so the pretrained encoders the seeds use
(`facebook/wav2vec2-large-960h-lv60-self`, `klue/roberta-base`) can be fine-tuned inside Keras models
instead of being frozen PyTorch feature extractors (`coaudiotext.features.pretrained`).

- `wav2vec2`: `wav2vec2_encoder(...)`, `wav2vec2.from_pretrained(folder)` (alias `wav2vec2_from_pretrained`).
- `bert`: `bert_encoder(..., variant="bert" | "roberta")`, `bert.from_pretrained(folder)` (alias
  `bert_from_pretrained`; the variant comes from the config's `model_type`), `bert.encode(tokenizer, texts, model)`.

`from_pretrained` reads a *local* checkpoint folder only (`config.json` + `model.safetensors`, or
`pytorch_model.bin` with `torch.load(weights_only=True)`); nothing is downloaded. Tokenizers and the
wav2vec2 feature extractor stay transformers' (pure Python), loaded from the same folder. Importing this
package registers its layers with Keras, so saved `.keras` models reload with `safe_mode=True`.

Each module's docstring lists the config keys it reads, its weight-name table and what it does not support.
"""

from coaudiotext.encoders import _common, bert, wav2vec2  # noqa: F401  (registers the layers)
from coaudiotext.encoders.bert import bert_encoder
from coaudiotext.encoders.bert import from_pretrained as bert_from_pretrained
from coaudiotext.encoders.wav2vec2 import from_pretrained as wav2vec2_from_pretrained
from coaudiotext.encoders.wav2vec2 import wav2vec2_encoder

__all__ = ["bert", "wav2vec2", "bert_encoder", "wav2vec2_encoder", "bert_from_pretrained", "wav2vec2_from_pretrained"]
