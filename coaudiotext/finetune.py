"""Fine-tuning the RSA-CFN heads end to end, with the Keras wav2vec2 and RoBERTa encoders inside the model.

Two paths lead to the same heads (`coaudiotext.models`: `fusion_heads`, `rsa_cfn`, `mlp_mixer`, `unimodal_heads`; one registry key each):

- **Frozen features** (the package default, and the only practical one on a CPU): PyTorch/transformers
  computes pooled wav2vec2 / RoBERTa vectors once (`coaudiotext.features.pretrained`), and
  `python -m coaudiotext.train --model rsa` trains the head on them.
- **Fine-tuning** (what the paper did; this module): `build_finetune_model` wires raw waveforms and token ids
  through `coaudiotext.encoders.wav2vec2` and `coaudiotext.encoders.bert` (Keras 3 ports that load local
  transformers checkpoints), mean-pools both, and calls the *same* head the registry builds
  (`build_model(key, wav2vec2_shape=(W,), roberta_shape=(T,))`), so the head code and its parameter count are
  shared. `finetune(...)` / `python -m coaudiotext.finetune` train it with per-part AdamW.

    python -m coaudiotext.finetune --model rsa --wav2vec2 DIR --text-encoder DIR --data demo-tiny --epochs 2

Model (`build_finetune_model`): inputs `input_values` (batch, samples) float32 [+ `sample_mask` (batch,
samples) int32 when `sample_mask=True`], `input_ids`, `attention_mask` (batch, max_tokens) int32 [+
`token_type_ids` for BERT checkpoints with two token types]; layers `wav2vec2` (nested encoder),
`wav2vec2_mean`, `text_encoder` (nested encoder), `roberta_mean`, and the head (a nested model named by its
key); output the head's float32 probabilities.

What matches the original (`hyeonho1028/RSA-CFN`, `src/trainer.py`, `main.py`, `src/loader.py`, `src/models.py`):

- Waveforms at 16 kHz, normalised per utterance by the checkpoint's `Wav2Vec2FeatureExtractor` (over the
  whole utterance), then cut at `max_samples=96000` (6 s) and zero-padded to the longest of the batch
  (`audio_padding="longest"`, as `feature_extractor.pad(padding=True, max_length=96000, truncation=True)`).
- **No attention mask is given to wav2vec2** (the default: an all-ones mask, which is transformers'
  `attention_mask=None`); `sample_mask=True` adds a `sample_mask` input and masks padded samples instead.
- Text tokenised with `padding="max_length"`, `max_length=256`, truncation; RoBERTa dropouts set to 0
  (`hidden_dropout_prob`, `attention_probs_dropout_prob`), wav2vec2 dropouts as its config.
- Pooling: the plain mean over time of both last hidden states, padding included (the frozen path's
  `pooling="mean"`), by `GlobalAveragePooling1D` without a mask.
- `freeze="feature_encoder"` (default): the wav2vec2 CNN is frozen (`wav_freeze_feature_extractor()`), the
  rest fine-tuned.
- AdamW, betas (0.9, 0.999), eps 1e-8, **weight decay 0**, no scheduler, **no gradient clipping**, cross-entropy
  on the class scores, batch 6 (4 for `rsa_cfn`/`hybrid_fusion`), validation batch 16, 10 epochs,
  `drop_last` on the training batches, seed 2023, best epoch by validation weighted F1.
- **Learning rates.** The original uses ONE rate for every parameter: 1e-5 for all fusion heads
  (`--lr` default), 1e-4 only for the wav-only baseline (`wav2vec2_cls`, `main.py`: `if use_wav and not
  use_concat: lr = 1e-4`). Those are the defaults here (`default_learning_rates`). The per-part rates
  (`learning_rates={"wav2vec2": ..., "text": ..., "head": ...}`) are an extension, e.g. 1e-4 for wav2vec2
  and 1e-5 for the rest; Keras has no parameter groups, so `PartwiseAdamW` keeps one `keras.optimizers.AdamW`
  per part and a custom train step applies each to its variables. `clipnorm` clips the global norm over all
  parts together (as `torch.nn.utils.clip_grad_norm_`); off by default because the original does not clip.
- AMP: `mixed_precision="auto"` turns Keras' `mixed_float16` policy on where a GPU is visible to the backend
  (the original's `torch.cuda.amp` is on by default), with a dynamic loss scale like `torch.cuda.amp.GradScaler`
  (start 2**16, x2 after 2000 finite steps, /2 and skip the step on inf/nan). On CPU it is off (float16 is
  slow or unsupported there); asking for it on a CPU warns and trains in float32.

What does not match (deviations, said rather than hidden):

- The Keras wav2vec2 has no LayerDrop and no SpecAugment (`layerdrop=0.1`, `mask_time_prob=0.05` in
  wav2vec2-large-960h-lv60-self's config are active in the original's training forward passes).
- Keras' Adam puts epsilon on the bias-uncorrected `sqrt(v)` (PyTorch on the corrected one): the same rule
  except in the first steps, where eps is negligible anyway at 1e-8.
- RoBERTa's `padding_idx` embedding rows get gradients here (see `coaudiotext.encoders.bert`).
- The validation batches are not truncated by `drop_last` (the original's validation loader drops the last
  partial batch; its reported scores are on 2,560 of the validation utterances).
- No gradient checkpointing (not implemented; every activation is kept for the backward pass).
- The train step is custom (not `model.fit`): TensorFlow (`tf.function`), JAX (`jax.jit` of the gradient;
  the optimizers are applied eagerly) and PyTorch (eager) branches, all written with `keras.ops`. The saved
  model is a plain functional model of registered layers, so `coaudiotext.load_model(path)` reloads it with
  `safe_mode` on; the optimizer state is not saved (no `--resume`).

Size on paper (wav2vec2-large 315M + roberta-base 110M parameters; measured only at tiny size here):

- Parameters: 315.4M (wav2vec2-large, of which 4.2M in the frozen CNN) + ~110.6M (klue/roberta-base,
  vocabulary 32,000) + the head (`rsa` 5.07M; `rsa_cfn` 328.3M) = ~431M for `rsa`, of which ~426M are trained
  (the frozen 4.2M CNN and RoBERTa's pooler, which `build_finetune_model` does not build, are not).
- State in float32: weights 1.7 GB + gradients 1.7 GB + AdamW moments 3.4 GB = **~6.9 GB** (`rsa`);
  **~12 GB** with `rsa_cfn`'s head.
- Activations, batch 6 x 6 s (299 frames) and 256 tokens, by the usual transformer estimate of
  `34 T h + 5 a T^2` bytes per layer per sample in half precision: wav2vec2 24 x (10.4 + 7.2) MB x 6 =
  2.5 GB, RoBERTa 12 x (6.7 + 3.9) MB x 6 = 0.8 GB; ~3.3 GB with AMP, ~6.5 GB in float32 (the frozen CNN
  keeps no activations). Total **~10 GB with AMP, ~14 GB in float32**: a 16-24 GB GPU.
- Compute: ~1.4 TFLOP forward per batch (2 x params x frames/tokens, plus ~30 GFLOP of CNN per utterance),
  ~4 TFLOP per training step: about a minute per step on a laptop CPU, a fraction of a second on a
  modern GPU.

Example:

>>> model = build_finetune_model("rsa", "/path/to/wav2vec2-large-960h-lv60-self",
...                              "/path/to/klue-roberta-base")                      # doctest: +SKIP
>>> result = finetune("rsa", "/path/to/w2v", "/path/to/roberta", data="demo-tiny", epochs=1)  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import pathlib
import sys
import time
import warnings

import numpy as np

from coaudiotext._checks import check_choice

__all__ = [
    "FREEZE",
    "AUDIO_PADDING",
    "PARTS",
    "FINETUNE_INPUTS",
    "default_learning_rates",
    "build_finetune_model",
    "variable_groups",
    "PartwiseAdamW",
    "prepare_audio",
    "prepare_text",
    "finetune",
    "build_parser",
    "main",
]

logger = logging.getLogger(__name__)

FREEZE = ("none", "feature_encoder", "encoders")
AUDIO_PADDING = ("longest", "max_length")
PARTS = ("wav2vec2", "text", "head")
FINETUNE_INPUTS = ("wav2vec2", "roberta", "wav2vec2_seq", "roberta_seq")
"""Head inputs the fine-tune model can feed (pooled vectors or the sequences)."""

_BATCH_SIZES = {"rsa_cfn": 4, "hybrid_fusion": 4}  # main.py; every other multimodal head: 6
_VAL_BATCH_SIZE = 16


def default_learning_rates(head_key):
    """The original's rates per part: one rate for all, 1e-4 for `wav2vec2_cls`, else 1e-5 (`main.py`)."""
    rate = 1e-4 if head_key == "wav2vec2_cls" else 1e-5
    return {part: rate for part in PARTS}


def _check_folder(folder, what, flag):
    if folder is None:
        raise ValueError(f"{what} is needed: pass {flag} FOLDER (a local transformers checkpoint folder).")
    path = pathlib.Path(folder)
    if not path.is_dir() or not (path / "config.json").is_file():
        raise FileNotFoundError(
            f"{what} folder {str(folder)!r} {'has no config.json' if path.is_dir() else 'does not exist'}. "
            f"{flag} takes a local checkpoint folder (config.json + model.safetensors, and the tokenizer / "
            "preprocessor files); nothing is downloaded. Fetch one once with "
            "`huggingface-cli download NAME --local-dir FOLDER`, or write a tiny random one with "
            "`python -m coaudiotext.features.pretrained --make-tiny bert|wav2vec2 --out FOLDER`."
        )
    return path


def _gpu_available():
    import keras

    backend = keras.backend.backend()
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            return bool(tf.config.list_physical_devices("GPU"))
        if backend == "jax":
            import jax

            return jax.devices()[0].platform == "gpu"
        if backend == "torch":
            import torch

            return torch.cuda.is_available()
    except Exception:  # pragma: no cover - depends on the installation
        return False
    return False


def _resolve_mixed_precision(mixed_precision):
    if mixed_precision in ("auto", None):
        return _gpu_available()
    if isinstance(mixed_precision, str):
        check_choice("mixed_precision", mixed_precision, ("auto", "on", "off"))
        mixed_precision = mixed_precision == "on"
    if mixed_precision and not _gpu_available():
        warnings.warn("mixed_precision was asked for but the backend sees no GPU: training in float32 "
                      "(float16 on a CPU is slow or unsupported).", stacklevel=3)
        return False
    return bool(mixed_precision)


@contextlib.contextmanager
def _dtype_policy(name):
    import keras

    previous = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_dtype_policy(previous)


def build_finetune_model(
    head_key,
    wav2vec2_folder=None,
    text_folder=None,
    max_samples=96000,
    max_tokens=256,
    freeze="feature_encoder",
    num_classes=7,
    sample_mask=False,
    text_dropout=0.0,
    wav2vec2_overrides=None,
    head_options=None,
    mixed_precision=False,
    name=None,
):
    """Builds encoders + mean pooling + a registry head as one Keras functional model.

    Args:
        head_key: str. A registry key whose inputs are among `FINETUNE_INPUTS` (`early_fusion`, `late_fusion`,
            `stack`, `residual`, `rsa`, `rsa_cfn`, `hybrid_fusion`, `mlp_mixer`, `wav2vec2_cls`, `roberta_cls`).
        wav2vec2_folder: str or path. Local wav2vec2 checkpoint (needed when the head reads audio).
        text_folder: str or path. Local BERT/RoBERTa checkpoint (needed when the head reads text).
        max_samples: int. Audio cut (96000 = 6 s at 16 kHz, the original's `audio_max_lens`); fixes the frame
            count of the `*_seq` heads. Defaults to 96000.
        max_tokens: int. Text length (`max_length` padding). Defaults to 256.
        freeze: str. `"feature_encoder"`: the wav2vec2 CNN frozen (the original); `"none"`: all trainable;
            `"encoders"`: both encoders frozen and run in inference mode (the frozen-features path, trained
            end to end). Defaults to `"feature_encoder"`.
        num_classes: int. Defaults to 7.
        sample_mask: bool. Add a `sample_mask` input passed to wav2vec2 as its attention mask; False gives
            wav2vec2 no mask, as the original. Defaults to False.
        text_dropout: float. Text encoder dropouts (the original sets them to 0). Defaults to 0.
        wav2vec2_overrides: dict or None. `wav2vec2_encoder` arguments replacing the config's (e.g. dropouts).
        head_options: dict or None. Extra head builder arguments (e.g. `projection_units` for `rsa_cfn`).
        mixed_precision: bool. Build under the `mixed_float16` policy (restored afterwards). Defaults to False.
        name: str or None. Defaults to `"{head_key}_finetune"`.

    Returns:
        An uncompiled `keras.Model`; see the module docstring for its inputs and layer names.
    """
    import keras

    from coaudiotext.models import build_model

    spec, uses_audio, uses_text = _finetune_spec(head_key)
    check_choice("freeze", freeze, FREEZE)
    if uses_audio:
        wav2vec2_folder = _check_folder(wav2vec2_folder, "The wav2vec2 checkpoint", "--wav2vec2")
    if uses_text:
        text_folder = _check_folder(text_folder, "The text encoder checkpoint", "--text-encoder")

    with _dtype_policy("mixed_float16" if mixed_precision else "float32"):
        frozen = freeze == "encoders"
        encoder_training = False if frozen else None
        inputs, head_inputs, shapes = {}, {}, {}
        if uses_audio:
            _audio_branch(spec, wav2vec2_folder, max_samples, sample_mask, wav2vec2_overrides, encoder_training,
                          inputs, head_inputs, shapes)
        if uses_text:
            _text_branch(spec, text_folder, max_tokens, text_dropout, encoder_training, inputs, head_inputs, shapes)
        options = dict(head_options or {})
        if "wav2vec2_seq" in spec.inputs:
            options.setdefault("audio_frames", shapes["wav2vec2_seq_shape"][0])
        head = build_model(head_key, num_classes=int(num_classes), **shapes, **options)
        outputs = head(head_inputs)
        model = keras.Model(inputs, outputs, name=name or f"{head_key}_finetune")
        _freeze_parts(model, freeze, uses_audio)
    return model


def _finetune_spec(head_key):
    """The registry spec of `head_key` and whether it reads audio and text; fails on heads it cannot feed."""
    from coaudiotext.models import MODELS, get_spec

    spec = get_spec(head_key)
    supported = [key for key, s in MODELS.items() if set(s.inputs) <= set(FINETUNE_INPUTS)]
    if not set(spec.inputs) <= set(FINETUNE_INPUTS):
        raise ValueError(f"Model {head_key!r} reads {list(spec.inputs)}, which the fine-tune model cannot feed. "
                         f"Expected one of: {', '.join(supported)}.")
    uses_audio = any(n.startswith("wav2vec2") for n in spec.inputs)
    uses_text = any(n.startswith("roberta") for n in spec.inputs)
    return spec, uses_audio, uses_text


def _audio_branch(spec, wav2vec2_folder, max_samples, sample_mask, overrides, encoder_training, inputs, head_inputs,
                  shapes):
    """Adds the wav2vec2 inputs, encoder and pooling to `inputs`, `head_inputs` and `shapes` (in place)."""
    import keras
    from keras import layers

    from coaudiotext.encoders import wav2vec2

    w2v = wav2vec2.from_pretrained(wav2vec2_folder, name="wav2vec2", **(overrides or {}))
    inputs["input_values"] = keras.Input((None,), dtype="float32", name="input_values")
    if sample_mask:
        inputs["sample_mask"] = keras.Input((None,), dtype="int32", name="sample_mask")
        mask = inputs["sample_mask"]
    else:  # no mask, as the original: every sample (padding included) is real to wav2vec2
        mask = layers.Rescaling(0.0, offset=1.0, dtype="float32", name="no_sample_mask")(inputs["input_values"])
    sequence = w2v({"input_values": inputs["input_values"], "attention_mask": mask},
                   training=encoder_training)["last_hidden_state"]  # (batch, frames, W)
    width = int(sequence.shape[-1])
    if "wav2vec2" in spec.inputs:
        head_inputs["wav2vec2"] = layers.GlobalAveragePooling1D(name="wav2vec2_mean")(sequence)  # (batch, W)
        shapes["wav2vec2_shape"] = (width,)
    if "wav2vec2_seq" in spec.inputs:
        config = wav2vec2.config_to_args(wav2vec2.read_config(wav2vec2_folder))
        kernels = config.get("conv_kernel", (10, 3, 3, 3, 3, 2, 2))
        strides = config.get("conv_stride", (5, 2, 2, 2, 2, 2, 2))
        frames = int(wav2vec2.feat_extract_output_lengths(max_samples, kernels, strides))
        head_inputs["wav2vec2_seq"] = sequence
        shapes["wav2vec2_seq_shape"] = (frames, width)


def _text_branch(spec, text_folder, max_tokens, text_dropout, encoder_training, inputs, head_inputs, shapes):
    """Adds the text encoder's inputs, encoder and pooling to `inputs`, `head_inputs` and `shapes` (in place)."""
    import keras
    from keras import layers

    from coaudiotext.encoders import bert

    text = bert.from_pretrained(text_folder, add_pooling_layer=False, name="text_encoder",
                                hidden_dropout_prob=float(text_dropout),
                                attention_probs_dropout_prob=float(text_dropout))
    for key in text.input:
        inputs[key] = keras.Input((int(max_tokens),), dtype="int32", name=key)
    sequence = text({key: inputs[key] for key in text.input}, training=encoder_training)["last_hidden_state"]
    width = int(sequence.shape[-1])
    if "roberta" in spec.inputs:
        head_inputs["roberta"] = layers.GlobalAveragePooling1D(name="roberta_mean")(sequence)  # (batch, T)
        shapes["roberta_shape"] = (width,)
    if "roberta_seq" in spec.inputs:
        head_inputs["roberta_seq"] = sequence
        shapes["roberta_seq_shape"] = (int(max_tokens), width)


def _freeze_parts(model, freeze, uses_audio):
    """Marks the parts `freeze` names non-trainable: the wav2vec2 CNN (`feature_encoder`) or both encoders."""
    if uses_audio and freeze == "feature_encoder":
        model.get_layer("wav2vec2").get_layer("feature_encoder").trainable = False
    if freeze == "encoders":
        for key in ("wav2vec2", "text_encoder"):
            if any(layer.name == key for layer in model.layers):
                model.get_layer(key).trainable = False


def variable_groups(model):
    """The trainable variables of a fine-tune model by part: `{"wav2vec2", "text", "head"}` -> list."""
    groups = {part: [] for part in PARTS}
    owners = {}
    for part, layer_name in (("wav2vec2", "wav2vec2"), ("text", "text_encoder")):
        if any(layer.name == layer_name for layer in model.layers):
            for variable in model.get_layer(layer_name).trainable_variables:
                owners[id(variable)] = part
    for variable in model.trainable_variables:
        groups[owners.get(id(variable), "head")].append(variable)
    return groups


class PartwiseAdamW:
    """One `keras.optimizers.AdamW` per model part: the parameter groups Keras does not have.

    Args:
        learning_rates: dict part -> float (parts of `PARTS`; missing parts use the `"head"` rate).
        weight_decay: float. Decoupled weight decay of every part. Defaults to 0 (the original's).
        beta_1, beta_2: float. Defaults to PyTorch's 0.9, 0.999.
        epsilon: float. Defaults to PyTorch's 1e-8.

    `build(groups)` with `variable_groups(model)`, then `apply(grads)` with the gradients in the order of
    `variables` (the groups concatenated); each optimizer updates its own variables only.
    """

    def __init__(self, learning_rates, weight_decay=0.0, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        import keras

        unknown = set(learning_rates) - set(PARTS)
        if unknown:
            raise ValueError(f"Expected learning_rates keys among {PARTS}. Received: {sorted(unknown)}")
        self.learning_rates = {part: float(learning_rates.get(part, learning_rates.get("head", 1e-5)))
                               for part in PARTS}
        self.optimizers = {
            part: keras.optimizers.AdamW(learning_rate=rate, weight_decay=float(weight_decay), beta_1=beta_1,
                                         beta_2=beta_2, epsilon=epsilon, name=f"adamw_{part}")
            for part, rate in self.learning_rates.items()
        }
        self.groups = None

    def build(self, groups):
        self.groups = {part: list(groups.get(part, [])) for part in PARTS}
        for part, variables in self.groups.items():
            if variables:
                self.optimizers[part].build(variables)

    @property
    def variables(self):
        return [v for part in PARTS for v in self.groups[part]]

    def apply(self, grads):
        start = 0
        for part in PARTS:
            variables = self.groups[part]
            if variables:
                self.optimizers[part].apply(list(grads[start : start + len(variables)]), variables)
            start += len(variables)

    def owner(self, variable):
        """The part whose optimizer updates `variable` (None if none does)."""
        for part in PARTS:
            if any(v is variable for v in self.groups[part]):
                return part
        return None


def _clip_and_check(grads, clipnorm, scale):
    """Unscaled, optionally clipped (global norm, all parts) gradients and an all-finite flag (keras.ops)."""
    from keras import ops

    grads = [g / scale for g in grads]
    squares = ops.stack([ops.sum(ops.square(ops.cast(g, "float32"))) for g in grads])
    norm = ops.sqrt(ops.sum(squares))
    finite = ops.all(ops.isfinite(squares))
    if clipnorm is not None:
        factor = ops.minimum(1.0, float(clipnorm) / (norm + 1e-6))
        grads = [g * ops.cast(factor, g.dtype) for g in grads]
    return grads, finite, norm


class _Stepper:
    """A training step per backend: gradients (scaled loss, unscaled/clipped grads, finite flag), then apply."""

    def __init__(self, model, optimizer, clipnorm=None, run_eagerly=False):
        import keras

        self.model = model
        self.optimizer = optimizer
        self.clipnorm = clipnorm
        self.variables = optimizer.variables
        self.loss_fn = keras.losses.SparseCategoricalCrossentropy()
        self.backend = keras.backend.backend()
        if self.backend == "tensorflow":
            import tensorflow as tf

            compiled = (lambda f: f) if run_eagerly else (lambda f: tf.function(f, reduce_retracing=True))
            self._grads = compiled(self._tf_grads)
            self._apply = compiled(self.optimizer.apply)
        elif self.backend == "jax":
            import jax

            self._grads = self._jax_grads if run_eagerly else jax.jit(self._jax_grads)
            self._apply = self.optimizer.apply
        elif self.backend == "torch":
            self._grads = self._torch_grads
            self._apply = self._torch_apply
        else:  # pragma: no cover
            raise ValueError(f"Unsupported Keras backend {self.backend!r}: expected tensorflow, jax or torch.")

    def _tf_grads(self, x, y, scale):
        import tensorflow as tf

        with tf.GradientTape() as tape:
            probabilities = self.model(x, training=True)
            loss = self.loss_fn(y, probabilities)
            scaled = loss * scale
        grads = tape.gradient(scaled, self.variables)
        grads = [tf.zeros_like(v) if g is None else g for g, v in zip(grads, self.variables)]
        grads, finite, norm = _clip_and_check(grads, self.clipnorm, scale)
        return loss, grads, finite, norm

    def _jax_grads(self, trainable_values, non_trainable_values, x, y, scale):
        import jax

        def compute(values):
            probabilities, updated = self.model.stateless_call(values, non_trainable_values, x, training=True)
            loss = self.loss_fn(y, probabilities)
            return loss * scale, (loss, updated)

        (_, (loss, updated)), grads = jax.value_and_grad(compute, has_aux=True)(trainable_values)
        grads, finite, norm = _clip_and_check(grads, self.clipnorm, scale)
        return loss, grads, finite, norm, updated

    def _torch_grads(self, x, y, scale):
        import torch

        for v in self.model.trainable_variables:
            v.value.grad = None
        probabilities = self.model(x, training=True)
        loss = self.loss_fn(y, probabilities)
        (loss * scale).backward()
        grads = [torch.zeros_like(v.value) if v.value.grad is None else v.value.grad for v in self.variables]
        with torch.no_grad():
            grads, finite, norm = _clip_and_check(grads, self.clipnorm, scale)
        return loss.detach(), grads, finite, norm

    def _torch_apply(self, grads):
        import torch

        with torch.no_grad():
            self.optimizer.apply(grads)

    def step(self, x, y, scale=1.0):
        """One step; returns `(loss, finite, grad_norm)` as Python values, applying the update when finite."""
        import keras
        from keras import ops

        scale_t = ops.convert_to_tensor(float(scale), "float32")
        if self.backend == "jax":
            loss, grads, finite, norm = self._jax_step(x, y, scale_t)
        else:
            loss, grads, finite, norm = self._grads(x, y, scale_t)
        finite = bool(keras.ops.convert_to_numpy(finite))
        if finite:
            self._apply(grads)
        return float(keras.ops.convert_to_numpy(loss)), finite, float(keras.ops.convert_to_numpy(norm))

    def _jax_step(self, x, y, scale):
        # stateless_call takes the model's trainable variables in its own order; the optimizer's order is by part.
        trainable = list(self.model.trainable_variables)
        non_trainable = list(self.model.non_trainable_variables)
        loss, grads, finite, norm, updated = self._grads([v.value for v in trainable],
                                                         [v.value for v in non_trainable], x, y, scale)
        for variable, value in zip(non_trainable, updated):  # dropout seed states
            variable.assign(value)
        by_id = {id(v): g for v, g in zip(trainable, grads)}
        return loss, [by_id[id(v)] for v in self.variables], finite, norm


class _LossScale:
    """Dynamic loss scaling as `torch.cuda.amp.GradScaler` (init 2**16, growth 2 every 2000 steps, backoff .5)."""

    def __init__(self, enabled):
        self.enabled = bool(enabled)
        self.scale = 2.0**16 if enabled else 1.0
        self.good_steps = 0

    def update(self, finite):
        if not self.enabled:
            return
        if finite:
            self.good_steps += 1
            if self.good_steps >= 2000:
                self.scale *= 2.0
                self.good_steps = 0
        else:
            self.scale /= 2.0
            self.good_steps = 0


# ---------------------------------------------------------------------------- data


def _normaliser(wav2vec2_folder):
    """The checkpoint's feature extractor (per-utterance normalisation), or the same formula by hand."""
    folder = pathlib.Path(wav2vec2_folder)
    if (folder / "preprocessor_config.json").is_file():
        from transformers import Wav2Vec2FeatureExtractor

        extractor = Wav2Vec2FeatureExtractor.from_pretrained(str(folder))
        return lambda w: extractor(w, sampling_rate=16000, return_tensors="np")["input_values"][0].astype(np.float32)
    logger.info("%s has no preprocessor_config.json: normalising each waveform to zero mean, unit variance.", folder)
    return lambda w: ((w - w.mean()) / np.sqrt(w.var() + 1e-7)).astype(np.float32)


def prepare_audio(audio, wav2vec2_folder, max_samples=96000, sr=16000):
    """Waveforms (paths, decoded and resampled to 16 kHz with librosa as `features.pretrained`, or 1-D arrays at
    16 kHz), each normalised over the whole utterance by the checkpoint's feature extractor, then cut at
    `max_samples`. Returns a list of float32 arrays."""
    from coaudiotext.features.pretrained import _load_audio

    normalise = _normaliser(wav2vec2_folder)
    out = []
    for item in audio:
        values = normalise(_load_audio(item, sr))
        out.append(values[: int(max_samples)] if max_samples else values)
    return out


def prepare_text(texts, text_folder, model, max_tokens=256):
    """Token ids and masks (`max_length` padding, truncation) with the checkpoint's tokenizer, for `model`."""
    from transformers import AutoTokenizer

    from coaudiotext.encoders import bert

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(text_folder))
    except (OSError, ValueError) as error:
        raise FileNotFoundError(f"No tokenizer in {text_folder}: the text encoder folder needs its tokenizer files "
                                f"(save it with tokenizer.save_pretrained). {error}") from error
    encoded = bert.encode(tokenizer, texts, model.get_layer("text_encoder"), max_length=int(max_tokens))
    return {key: value for key, value in encoded.items() if key in model.input}


def _batch(model, indices, waveforms, tokens, padding, max_samples):
    from coaudiotext.features.pretrained import _padded

    x = {}
    names = set(model.input)
    if "input_values" in names:
        length = max_samples if padding == "max_length" else None
        x["input_values"], mask = _padded([waveforms[i] for i in indices], length, mask_dtype=np.int32)
        if "sample_mask" in names:
            x["sample_mask"] = mask
    for key, value in tokens.items():
        x[key] = value[indices]
    return x


def _predict(model, waveforms, tokens, n, batch_size, padding, max_samples):
    from keras import ops

    out = []
    for start in range(0, n, batch_size):
        indices = np.arange(start, min(n, start + batch_size))
        x = _batch(model, indices, waveforms, tokens, padding, max_samples)
        out.append(ops.convert_to_numpy(model(x, training=False)).astype(np.float32))
    return np.concatenate(out)


# ---------------------------------------------------------------------------- training


def finetune(
    head_key="rsa",
    wav2vec2=None,
    text_encoder=None,
    data=None,
    audio=None,
    texts=None,
    labels=None,
    class_names=None,
    validation=None,
    epochs=10,
    batch_size=None,
    learning_rates=None,
    clipnorm=None,
    freeze="feature_encoder",
    mixed_precision="auto",
    max_samples=96000,
    max_tokens=256,
    audio_padding="longest",
    sample_mask=False,
    seed=2023,
    out=None,
    max_steps=None,
    max_utterances=None,
    head_options=None,
    run_eagerly=False,
    verbose=1,
):
    """Fine-tunes encoders + a RSA-CFN head, as the original's `training(args)`.

    Args:
        head_key: str. Registry key of the head. Defaults to `"rsa"`.
        wav2vec2: str or path. Local wav2vec2 checkpoint folder.
        text_encoder: str or path. Local BERT/RoBERTa checkpoint folder (with its tokenizer).
        data: str or None. `demo-tiny`, `demo`, or a manifest CSV (`coaudiotext.data.resolve_data`): trains on
            split `train`, validates on `val` when present. Or None and pass `audio`, `texts`, `labels`.
        audio, texts, labels: lists. Waveforms (paths or 16 kHz arrays), transcripts, labels (names in
            `class_names` or class indices).
        class_names: list of str or None. Defaults to the sorted labels (or the data's class names).
        validation: tuple `(audio, texts, labels)` or None.
        epochs: int. Defaults to 10 (the original's).
        batch_size: int or None. None: 6, or 4 for `rsa_cfn`/`hybrid_fusion` (the original's).
        learning_rates: dict part -> rate or None (`default_learning_rates(head_key)`).
        clipnorm: float or None. Global-norm clipping over all parts. Defaults to None (the original does not clip).
        freeze: str. See `build_finetune_model`. Defaults to `"feature_encoder"`.
        mixed_precision: `"auto"` (on where a GPU is visible), True/`"on"`, False/`"off"`. Defaults to `"auto"`.
        max_samples: int. Audio cut. Defaults to 96000.
        max_tokens: int. Text length. Defaults to 256.
        audio_padding: str. `"longest"` (the batch's longest, the original) or `"max_length"` (always
            `max_samples`; forced for `*_seq` heads). Defaults to `"longest"`.
        sample_mask: bool. Give wav2vec2 the sample mask. Defaults to False (the original gives none).
        seed: int. Defaults to 2023.
        out: str, path or None. Run folder: `best.keras` (atomic; best validation weighted F1, or the last epoch
            without validation), `history.json`, `config.json`.
        max_steps: int or None. Stop each epoch after this many steps (smoke tests).
        max_utterances: int or None. Use only the first N training (and validation) utterances.
        head_options: dict or None. Extra head builder arguments.
        run_eagerly: bool. Skip `tf.function` / `jax.jit` (debugging; faster for a step or two). Defaults to False.
        verbose: int. 0 silent, 1 one line per epoch.

    Returns:
        dict: `model`, `steps` (per-step loss, finite flag, gradient norm), `epochs` (per-epoch train loss and
        validation metrics), `best` (validation metrics of the saved epoch or None), `settings`.
    """
    import keras

    check_choice("audio_padding", audio_padding, AUDIO_PADDING)
    audio, texts, labels, class_names, validation = _training_data(data, audio, texts, labels, class_names,
                                                                   validation, verbose, max_utterances)
    audio_padding, batch_size, rates = _head_defaults(head_key, audio_padding, batch_size, learning_rates)
    mixed = _resolve_mixed_precision(mixed_precision)
    keras.utils.set_random_seed(int(seed))

    model = build_finetune_model(head_key, wav2vec2, text_encoder, max_samples=max_samples, max_tokens=max_tokens,
                                 freeze=freeze, num_classes=len(class_names), sample_mask=sample_mask,
                                 head_options=head_options, mixed_precision=mixed)
    encoders = (wav2vec2, text_encoder, max_samples, max_tokens)
    train = _prepare_split(model, audio, texts, labels, class_names, *encoders)
    val = None if validation is None else _prepare_split(model, *validation, class_names, *encoders)

    optimizer = PartwiseAdamW(rates)
    optimizer.build(variable_groups(model))
    stepper = _Stepper(model, optimizer, clipnorm=clipnorm, run_eagerly=run_eagerly)
    steps_per_epoch = _steps_per_epoch(len(train.y), batch_size, max_steps)
    settings = _run_settings(
        model, optimizer, train, val, head_key=head_key, wav2vec2=wav2vec2, text_encoder=text_encoder,
        epochs=epochs, batch_size=batch_size, clipnorm=clipnorm, freeze=freeze, mixed=mixed,
        max_samples=max_samples, max_tokens=max_tokens, audio_padding=audio_padding, sample_mask=sample_mask,
        seed=seed, class_names=class_names,
    )
    run_dir = _start_run_dir(out, settings)
    loop = _EpochLoop(model, stepper, _LossScale(mixed), train, val, batch_size, steps_per_epoch, audio_padding,
                      max_samples, class_names)
    epoch_rows, best = loop.run(int(epochs), int(seed), run_dir, settings, verbose)
    return {"model": model, "steps": loop.steps, "epochs": epoch_rows, "best": best, "settings": settings,
            "optimizer": optimizer}


def _head_defaults(head_key, audio_padding, batch_size, learning_rates):
    """`(audio_padding, batch_size, rates)` of `head_key`: `max_length` padding for the `*_seq` heads (fixed frame
    count), and the original's batch size and learning rates where none are given."""
    from coaudiotext.models import get_spec

    spec = get_spec(head_key)
    if any(n.endswith("_seq") for n in spec.inputs):
        audio_padding = "max_length"
    batch_size = int(batch_size or _BATCH_SIZES.get(head_key, 6))
    rates = default_learning_rates(head_key)
    rates.update(learning_rates or {})
    return audio_padding, batch_size, rates


def _start_run_dir(out, settings):
    """The run folder (created, with `config.json`) or None without `out`."""
    run_dir = pathlib.Path(out) if out else None
    if run_dir:
        run_dir.mkdir(parents=True, exist_ok=True)
        _atomic_json(run_dir / "config.json", settings)
    return run_dir


def _steps_per_epoch(train_utterances, batch_size, max_steps):
    """Full training batches per epoch (`drop_last=True`, as the original), at most `max_steps`."""
    steps_per_epoch = train_utterances // batch_size  # drop_last=True
    if steps_per_epoch == 0:
        raise ValueError(f"batch_size={batch_size} is larger than the {train_utterances} training utterances (the "
                         "last partial batch is dropped, as the original): pass a smaller batch_size.")
    if max_steps:
        steps_per_epoch = min(steps_per_epoch, int(max_steps))
    return steps_per_epoch


def _run_settings(model, optimizer, train, val, *, head_key, wav2vec2, text_encoder, epochs, batch_size, clipnorm,
                  freeze, mixed, max_samples, max_tokens, audio_padding, sample_mask, seed, class_names):
    """The run's `config.json` (also `finetune(...)["settings"]` and the `finetune` entry of `best.keras`)."""
    import keras

    uses_audio = "input_values" in model.input
    uses_text = "input_ids" in model.input
    return {
        "model": head_key, "wav2vec2": str(wav2vec2) if uses_audio else None,
        "text_encoder": str(text_encoder) if uses_text else None, "epochs": int(epochs), "batch_size": batch_size,
        "learning_rates": optimizer.learning_rates, "clipnorm": clipnorm, "freeze": freeze, "mixed_precision": mixed,
        "max_samples": int(max_samples), "max_tokens": int(max_tokens), "audio_padding": audio_padding,
        "sample_mask": bool(sample_mask), "seed": int(seed), "class_names": class_names,
        "backend": keras.backend.backend(),
        "weight_decay": 0.0, "train_utterances": int(len(train.y)),
        "validation_utterances": int(len(val.y)) if val is not None else 0,
    }


def _training_data(data, audio, texts, labels, class_names, validation, verbose, max_utterances=None):
    """`finetune`'s training (and validation) utterances and class names, from `data` or the lists given.

    `max_utterances` keeps the first N training (and validation) utterances.
    """
    if data is not None:
        from coaudiotext.data import resolve_data

        manifest, data_classes = resolve_data(data, progress=verbose > 0)
        class_names = list(class_names or data_classes)
        train_rows = manifest.split("train")
        audio, texts, labels = train_rows.audio_paths, train_rows.texts, train_rows.labels
        if validation is None and "val" in manifest.splits:
            val_rows = manifest.split("val")
            validation = (val_rows.audio_paths, val_rows.texts, val_rows.labels)
    if audio is None or texts is None or labels is None:
        raise ValueError("Pass data='demo-tiny' (or a manifest path), or audio, texts and labels.")
    if validation is not None and len(validation) != 3:
        raise ValueError(f"Expected validation=(audio, texts, labels). Received: a sequence of {len(validation)}.")
    if not len(audio) == len(texts) == len(labels):
        raise ValueError(f"Expected audio, texts and labels of one length. Received: {len(audio)}, {len(texts)}, "
                         f"{len(labels)}.")
    if class_names is None:
        class_names = sorted({str(label) for label in labels}) if not all(
            isinstance(label, (int, np.integer)) for label in labels) else [str(i) for i in range(max(labels) + 1)]
    class_names = [str(c) for c in class_names]
    if max_utterances:
        audio, texts, labels = list(audio)[:max_utterances], list(texts)[:max_utterances], list(labels)[:max_utterances]
        if validation is not None:
            validation = tuple(list(v)[:max_utterances] for v in validation)
    return audio, texts, labels, class_names, validation


def _label_indices(values, class_names):
    """Class indices (int32) of labels given as names in `class_names` or as indices."""
    index = {name: i for i, name in enumerate(class_names)}
    out = []
    for value in values:
        if isinstance(value, (int, np.integer)):
            out.append(int(value))
        elif str(value) in index:
            out.append(index[str(value)])
        else:
            raise ValueError(f"Label {value!r} is not one of class_names={class_names}.")
    return np.asarray(out, np.int32)


@dataclasses.dataclass
class _Split:
    """One split ready for the model: class indices `y`, waveforms (or None) and token arrays (or {})."""

    y: np.ndarray
    waveforms: list | None
    tokens: dict


def _prepare_split(model, audio, texts, labels, class_names, wav2vec2, text_encoder, max_samples, max_tokens):
    """Labels, waveforms and tokens of one split, for the inputs `model` has."""
    y = _label_indices(labels, class_names)
    waveforms = prepare_audio(audio, wav2vec2, max_samples) if "input_values" in model.input else None
    tokens = prepare_text(texts, text_encoder, model, max_tokens) if "input_ids" in model.input else {}
    return _Split(y, waveforms, tokens)


@dataclasses.dataclass
class _EpochLoop:
    """`finetune`'s epochs: what they share, and the per-step records (`steps`)."""

    model: object
    stepper: _Stepper
    loss_scale: _LossScale
    train: _Split
    val: _Split | None
    batch_size: int
    steps_per_epoch: int
    audio_padding: str
    max_samples: int
    class_names: list
    steps: list = dataclasses.field(default_factory=list)

    def train_epoch(self, epoch, order):
        """One epoch of steps over the training batches in `order`; returns the finite losses."""
        losses = []
        for step in range(self.steps_per_epoch):
            batch_indices = order[step * self.batch_size : (step + 1) * self.batch_size]
            x = _batch(self.model, batch_indices, self.train.waveforms, self.train.tokens, self.audio_padding,
                       self.max_samples)
            loss, finite, norm = self.stepper.step(x, self.train.y[batch_indices], self.loss_scale.scale)
            self.loss_scale.update(finite)
            self.steps.append({"epoch": epoch + 1, "step": step + 1, "loss": loss, "finite": finite,
                               "grad_norm": norm, "loss_scale": self.loss_scale.scale})
            if finite:
                losses.append(loss)
        return losses

    def validate(self):
        """Validation loss and metrics (`val_*` entries of the epoch row) and the metrics dict."""
        from coaudiotext.metrics import classification_metrics

        val_y = self.val.y
        probabilities = _predict(self.model, self.val.waveforms, self.val.tokens, len(val_y), _VAL_BATCH_SIZE,
                                 self.audio_padding, self.max_samples)
        metrics = classification_metrics(val_y, probabilities.argmax(-1), self.class_names)
        entries = {"val_loss": float(np.mean(-np.log(probabilities[np.arange(len(val_y)), val_y] + 1e-7))),
                   "val_weighted_f1": metrics["weighted_f1"], "val_macro_f1": metrics["macro_f1"],
                   "val_accuracy": metrics["accuracy"]}
        return entries, metrics

    def run(self, epochs, seed, run_dir, settings, verbose):
        """Trains `epochs` epochs, saving the best one under `run_dir`; returns the epoch rows and best metrics."""
        rng = np.random.RandomState(seed)
        epoch_rows, best = [], None
        best_score = -np.inf
        for epoch in range(epochs):
            started = time.time()
            order = rng.permutation(len(self.train.y))
            losses = self.train_epoch(epoch, order)
            row = {"epoch": epoch + 1, "train_loss": float(np.mean(losses)) if losses else float("nan"),
                   "seconds": round(time.time() - started, 2)}
            if self.val is not None:
                entries, metrics = self.validate()
                row.update(entries)
                score = metrics["weighted_f1"]
            else:
                metrics, score = None, float(epoch)  # no validation: keep the last epoch
            epoch_rows.append(row)
            if verbose:
                print(" ".join(f"{k}={v:.5f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()),
                      flush=True)
            if score > best_score:
                best_score, best = score, metrics
                if run_dir:
                    from coaudiotext.callbacks import atomic_save_model

                    atomic_save_model(self.model, run_dir / "best.keras",
                                      {"model": settings["model"], "class_names": self.class_names,
                                       "finetune": settings, "epoch": epoch + 1})
            if run_dir:
                _atomic_json(run_dir / "history.json", {"epochs": epoch_rows, "steps": self.steps})
        return epoch_rows, best


def _atomic_json(path, payload):
    from coaudiotext.cache import atomic_write_json

    atomic_write_json(path, payload, sort_keys=True)


# ---------------------------------------------------------------------------- command line


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m coaudiotext.finetune",
        description="Fine-tune wav2vec2 + RoBERTa + a RSA-CFN head end to end (the original's training). "
                    "Checkpoint folders are local; nothing is downloaded.",
        epilog="example:\n  python -m coaudiotext.finetune --model rsa --wav2vec2 W2V_DIR --text-encoder ROBERTA_DIR "
               "--data demo-tiny --epochs 2 --out runs/finetune",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", default="rsa", help="head registry key (default: rsa)")
    parser.add_argument("--wav2vec2", help="local wav2vec2 checkpoint folder")
    parser.add_argument("--text-encoder", help="local BERT/RoBERTa checkpoint folder (with tokenizer)")
    parser.add_argument("--data", default="demo-tiny", help="demo-tiny, demo or a manifest CSV (default: demo-tiny)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=None, help="default: 6 (4 for rsa_cfn, hybrid_fusion)")
    parser.add_argument("--lr", type=float, default=None, help="one rate for every part (default: the original's)")
    parser.add_argument("--lr-wav2vec2", type=float, default=None)
    parser.add_argument("--lr-text", type=float, default=None)
    parser.add_argument("--lr-head", type=float, default=None)
    parser.add_argument("--clipnorm", type=float, default=None, help="global-norm clipping (default: none)")
    parser.add_argument("--freeze", choices=FREEZE, default="feature_encoder")
    parser.add_argument("--mixed-precision", choices=("auto", "on", "off"), default="auto")
    parser.add_argument("--max-samples", type=int, default=96000)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--audio-padding", choices=AUDIO_PADDING, default="longest")
    parser.add_argument("--sample-mask", action="store_true", help="give wav2vec2 the sample mask (the original: no)")
    parser.add_argument("--max-steps", type=int, default=None, help="steps per epoch at most (smoke runs)")
    parser.add_argument("--max-utterances", type=int, default=None, help="first N utterances only (smoke runs)")
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument("--out", default=None, help="run folder for best.keras, history.json, config.json")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    from coaudiotext._logs import quiet_tensorflow

    quiet_tensorflow()  # after argparse: --help and argument errors stay instant
    rates = {}
    if args.lr is not None:
        rates = {part: args.lr for part in PARTS}
    for part, value in (("wav2vec2", args.lr_wav2vec2), ("text", args.lr_text), ("head", args.lr_head)):
        if value is not None:
            rates[part] = value
    try:
        finetune(args.model, args.wav2vec2, args.text_encoder, data=args.data, epochs=args.epochs,
                 batch_size=args.batch_size, learning_rates=rates, clipnorm=args.clipnorm, freeze=args.freeze,
                 mixed_precision=args.mixed_precision, max_samples=args.max_samples, max_tokens=args.max_tokens,
                 audio_padding=args.audio_padding, sample_mask=args.sample_mask, seed=args.seed, out=args.out,
                 max_steps=args.max_steps, max_utterances=args.max_utterances)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
