"""Seed 002: the MLP-Mixer head of RSA-CFN (`hyeonho1028/RSA-CFN`, from HumanUnderstandingOpen).

Unlike the pooled-vector heads, it reads the two *sequences*: 299 wav2vec2 frames
(W = 1024) and 256 RoBERTa tokens (T = 768), precomputed by frozen encoders (the
original fine-tunes them end to end; see `coaudiotext.models._rsa_common`).

| key | head | parameters (W=1024, T=768, 7 classes) |
|---|---|---|
| `mlp_mixer` | per-modality Linear(256) on sequences, one Mixer block over 256 + 299 tokens | 1,344,207 |

Example:

>>> from coaudiotext.models import build_model
>>> build_model("mlp_mixer").count_params()
1344207
"""

from __future__ import annotations

import keras
from keras import layers

from coaudiotext.models._rsa_common import EPSILON, check_num_classes, head_spec, softmax_probabilities

__all__ = ["mlp_mixer", "SPECS"]


def _mlp_block(x, units, dropout, name):
    """The Mixer's `MlpBlock`: Linear -> GELU -> Linear -> Dropout on the last axis."""
    x = layers.Dense(units, activation="gelu", name=f"{name}_fc")(x)
    x = layers.Dense(units, name=f"{name}_fc2")(x)
    return layers.Dropout(dropout, name=f"{name}_dropout")(x)


def _mixer_block(x, dropout, epsilon, fix_mixer_norm, name):
    """One `MixerBlock` (token mixing over the sequence, then channel mixing), original quirk by default."""
    length, channels = x.shape[1], x.shape[2]
    norm = layers.LayerNormalization(epsilon=epsilon, name=f"{name}_norm")
    y = norm(x)
    y = layers.Permute((2, 1), name=f"{name}_to_tokens_last")(y)  # (batch, channels, length)
    y = _mlp_block(y, length, dropout, f"{name}_sequence_mixing")
    y = layers.Permute((2, 1), name=f"{name}_to_channels_last")(y)  # (batch, length, channels)
    x = layers.Add(name=f"{name}_token_residual")([x, y])
    if fix_mixer_norm:
        y = layers.LayerNormalization(epsilon=epsilon, name=f"{name}_channel_norm")(x)  # MLP-Mixer: LN(x)
    else:
        y = norm(y)  # original: the same LayerNorm, applied to the token-mixing output y, not x
    y = _mlp_block(y, channels, dropout, f"{name}_modal_mixing")
    return layers.Add(name=f"{name}_channel_residual")([y, x])


def mlp_mixer(
    wav2vec2_seq_shape=(299, 1024),
    roberta_seq_shape=(256, 768),
    num_classes=7,
    hidden_units=256,
    classifier_units=512,
    audio_frames=299,
    num_blocks=1,
    dropout=0.1,
    fix_mixer_norm=False,
    epsilon=EPSILON,
    name="mlp_mixer",
):
    """Builds `mlp_mixer`, the MLP-Mixer head over both sequences (1,344,207 parameters).

    From HumanUnderstandingOpen, as RSA-CFN's `MultiModalMixer`:

        a = Linear(W -> 256)(wav2vec2 frames), zero-padded after the projection to 299 frames
        t = Linear(T -> 256)(RoBERTa tokens)                       # 256 tokens (max_length padding)
        x = concat_time(t, a)                                      # (batch, 256 + 299 = 555, 256)
        x = MixerBlock(x); x = LayerNorm(x); x = mean over time
        logits = Linear(512 -> C)(Dropout(GELU(Linear(256 -> 512)(Dropout(x)))))

    The original's MixerBlock has a LayerNorm quirk kept by default: after token
    mixing (`x = x + y`) the channel-mixing MLP reads `LN(y)` instead of `LN(x)`,
    with the *same* LayerNorm both times. `fix_mixer_norm=True` gives the MLP-Mixer
    block (a second LayerNorm on x; +2 * hidden_units parameters).

    96,000 samples (6 s at 16 kHz, the original's `audio_max_lens`) give 299
    wav2vec2 frames; the original pads shorter batches with zeros after the
    projection, which `audio_frames` reproduces for inputs with fewer frames.

    Args:
        wav2vec2_seq_shape: tuple. `(frames, features)` of the wav2vec2 sequence. Defaults to `(299, 1024)`.
        roberta_seq_shape: tuple. `(tokens, features)` of the RoBERTa sequence. Defaults to `(256, 768)`.
        num_classes: int. Number of classes. Defaults to 7.
        hidden_units: int. Projection / channel width. Defaults to 256.
        classifier_units: int. Hidden width of the classifier. Defaults to 512.
        audio_frames: int. Audio length after zero-padding (the mixer's token count is
            tokens + audio_frames). Defaults to 299.
        num_blocks: int. Mixer blocks. Defaults to 1.
        dropout: float. Dropout of the mixer and the classifier. Defaults to 0.1.
        fix_mixer_norm: bool. Use the standard MLP-Mixer normalisation. Defaults to False (original).
        epsilon: float. LayerNorm epsilon. Defaults to 1e-5.
        name: str. Model name.

    Inputs: `wav2vec2_seq` (batch, frames, W), `roberta_seq` (batch, tokens, T).
    Output: probabilities (batch, num_classes).

    Example:

    >>> mlp_mixer().count_params()
    1344207
    """
    num_classes = check_num_classes(num_classes)
    shapes = {}
    for input_name, shape in (("wav2vec2_seq", wav2vec2_seq_shape), ("roberta_seq", roberta_seq_shape)):
        shape = tuple(shape)
        if len(shape) != 2 or None in shape:
            raise ValueError(
                f"Expected {input_name}_shape to be (frames, features) with a fixed number of frames "
                f"(the mixer mixes over time). Received: {input_name}_shape={shape}."
            )
        shapes[input_name] = shape
    frames = shapes["wav2vec2_seq"][0]
    if frames > audio_frames:
        raise ValueError(
            f"wav2vec2_seq has {frames} frames, more than audio_frames={audio_frames}. Truncate the audio "
            "(the original keeps 96,000 samples = 299 frames) or raise audio_frames."
        )
    # Inputs
    inputs = {name_: keras.Input(shape, name=name_) for name_, shape in shapes.items()}

    # Layers
    audio = layers.Dense(hidden_units, name="audio_projection")(inputs["wav2vec2_seq"])  # (batch, frames, E)
    text = layers.Dense(hidden_units, name="text_projection")(inputs["roberta_seq"])  # (batch, tokens, E)
    if frames < audio_frames:
        audio = layers.ZeroPadding1D((0, audio_frames - frames), name="audio_padding")(audio)
    x = layers.Concatenate(axis=1, name="concat_time")([text, audio])  # (batch, tokens + audio_frames, E)
    for i in range(int(num_blocks)):
        x = _mixer_block(x, dropout, epsilon, fix_mixer_norm, name=f"mixer_{i}")
    x = layers.LayerNormalization(epsilon=epsilon, name="norm")(x)
    x = layers.GlobalAveragePooling1D(name="mean_time")(x)  # (batch, E)
    x = layers.Dropout(dropout, name="classifier_dropout")(x)
    x = layers.Dense(classifier_units, activation="gelu", name="classifier_hidden")(x)
    x = layers.Dropout(dropout, name="classifier_hidden_dropout")(x)
    logits = layers.Dense(num_classes, name="classifier")(x)

    # Model
    return keras.Model(inputs, softmax_probabilities(logits), name=name)


# ---------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------

SPECS = {
    "mlp_mixer": head_spec(
        mlp_mixer,
        "MLP-Mixer over wav2vec2 frames + RoBERTa tokens (HumanUnderstandingOpen)",
        "mlp_mixer",
        inputs=("wav2vec2_seq", "roberta_seq"),
        shapes={"wav2vec2_seq": (299, 1024), "roberta_seq": (256, 768)},
    ),
}
