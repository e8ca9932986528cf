"""(3) Para-BRE-Att: parallel self-attentive BiLSTMs over speech and text.

Tutorial section 4 (`validate_speech_self_text_self`): two independent
BiLSTM-SA branches, speech (BiLSTM 64 over mel+RMS frames) and text (BiLSTM 32
over character features), each: keys Dense(64, tanh), query Dense(64, relu) of
an all-zero attention source, ATT, Dense(128, relu). Their outputs are
concatenated -> Dense(128, relu) -> Dropout(0.3) -> Dense(128, relu) ->
Dropout(0.3) -> Dense(num_classes, softmax). 261,937 parameters at the default
shapes (the tutorial's table says 260K; the code gives 261,937).

Also here: `text_bilstm_att`, a text-only baseline (not in the tutorial): the
text branch of Para-BRE-Att with the same head, 77,097 parameters at (30, 67).

Faithful quirk: both branches have dead attention (zero query forever, same
weights for every sample); `query="learned"` is the documented fix.
"""

import keras
from keras import layers

from coaudiotext.models.spec import ModelSpec, TrainSettings
from coaudiotext.models._blocks import check_flags, classifier_head, self_attentive_branch

__all__ = ["parallel_bilstm_att", "text_bilstm_att", "SPECS"]


def parallel_bilstm_att(
    audio_shape=(200, 129),
    text_shape=(30, 67),
    num_classes=7,
    speech_lstm_units=64,
    text_lstm_units=32,
    attention_units=64,
    hidden_units=128,
    dropout=0.3,
    query="zero",
    score_mixing=True,
    recurrent_activation="hard_sigmoid",
    name="parallel_bilstm_att",
):
    """Builds Para-BRE-Att, the tutorial's parallel speech and text BiLSTM-SA model.

    Args:
        audio_shape: tuple. `(frames, features)` of the mel+RMS input. Defaults to `(200, 129)`.
        text_shape: tuple. `(chars, features)` of the character input. Defaults to `(30, 67)`.
        num_classes: int. Number of classes. Defaults to 7.
        speech_lstm_units: int. Units of each speech LSTM direction. Defaults to 64.
        text_lstm_units: int. Units of each text LSTM direction. Defaults to 32.
        attention_units: int. Size of keys, sources and queries (`hidden_con`). Defaults to 64.
        hidden_units: int. Units of the branch and head Dense layers (`hidden_dim`). Defaults to 128.
        dropout: float. Rate of the head's Dropout layers. Defaults to 0.3.
        query: str. `"zero"` (faithful, dead attention in both branches) or
            `"learned"` (trainable sources). Defaults to `"zero"`.
        score_mixing: bool. `True` (faithful) keeps the T x T score mixer; `False`
            is a plain softmax. Defaults to `True`.
        recurrent_activation: str. `"hard_sigmoid"` (Keras 2.1, faithful) or
            `"sigmoid"`. Defaults to `"hard_sigmoid"`.
        name: str. Model name.

    Inputs: `audio` (batch, frames, features), `text` (batch, chars, features).
    Output: class probabilities (batch, num_classes). Attention layers:
    `speech_attention`, `text_attention`.

    Example:

    >>> model = parallel_bilstm_att()
    >>> model.count_params()
    261937
    """
    check_flags(query=query, recurrent_activation=recurrent_activation, score_mixing=score_mixing)

    # Inputs
    audio = keras.Input(tuple(audio_shape), name="audio")
    text = keras.Input(tuple(text_shape), name="text")

    # Layers
    speech_output, _, _ = self_attentive_branch(
        audio, speech_lstm_units, attention_units, hidden_units, "speech", query, score_mixing, recurrent_activation
    )  # (batch, hidden_units)
    text_output, _, _ = self_attentive_branch(
        text, text_lstm_units, attention_units, hidden_units, "text", query, score_mixing, recurrent_activation
    )  # (batch, hidden_units)
    fused = layers.Concatenate(name="fusion")([speech_output, text_output])  # (batch, 2 * hidden_units)
    probabilities = classifier_head(fused, hidden_units, num_classes, dropout)

    # Model
    return keras.Model({"audio": audio, "text": text}, probabilities, name=name)


def text_bilstm_att(
    text_shape=(30, 67),
    num_classes=7,
    lstm_units=32,
    attention_units=64,
    hidden_units=128,
    dropout=0.3,
    query="zero",
    score_mixing=True,
    recurrent_activation="hard_sigmoid",
    name="text_bilstm_att",
):
    """Builds the text-only baseline: Para-BRE-Att's text branch with its head.

    BiLSTM(32) -> ATT with the zero-source query Dense(64, relu) -> Dense(128, relu)
    -> Dense(128, relu) -> Dropout -> Dense(128, relu) -> Dropout -> Dense(num_classes).
    Not in the tutorial; it measures what the text alone can do (on ProSem every
    script has 2-4 labels, so text-only accuracy is capped at 36.4%).

    Args:
        text_shape: tuple. `(chars, features)` of the character input. Defaults to `(30, 67)`.
        num_classes: int. Number of classes. Defaults to 7.
        lstm_units: int. Units of each LSTM direction. Defaults to 32.
        attention_units: int. Size of keys, source and query. Defaults to 64.
        hidden_units: int. Units of the Dense layers. Defaults to 128.
        dropout: float. Rate of the head's Dropout layers. Defaults to 0.3.
        query: str. `"zero"` (faithful) or `"learned"`. Defaults to `"zero"`.
        score_mixing: bool. T x T score mixer (`True`) or plain softmax. Defaults to `True`.
        recurrent_activation: str. `"hard_sigmoid"` or `"sigmoid"`. Defaults to `"hard_sigmoid"`.
        name: str. Model name.

    Input: `text` (batch, chars, features). Output: class probabilities (batch, num_classes).

    Example:

    >>> text_bilstm_att().count_params()
    77097
    """
    check_flags(query=query, recurrent_activation=recurrent_activation, score_mixing=score_mixing)

    # Inputs
    text = keras.Input(tuple(text_shape), name="text")

    # Layers
    text_output, _, _ = self_attentive_branch(
        text, lstm_units, attention_units, hidden_units, "text", query, score_mixing, recurrent_activation
    )  # (batch, hidden_units)
    probabilities = classifier_head(text_output, hidden_units, num_classes, dropout)

    # Model
    return keras.Model({"text": text}, probabilities, name=name)


SPECS = {
    "para": ModelSpec(
        builder=parallel_bilstm_att,
        inputs=("audio", "text"),
        default_shapes={"audio": (200, 129), "text": (30, 67)},
        source="CoAudioText tutorial §4, (3) Para-BRE-Att (validate_speech_self_text_self)",
        tutorial="tutorials/04_parallel_audio_text.py",
        description="Parallel self-attentive BiLSTMs over speech and text, concatenated (Para-BRE-Att)",
        train=TrainSettings(),
    ),
    "text_bilstm_att": ModelSpec(
        builder=text_bilstm_att,
        inputs=("text",),
        default_shapes={"text": (30, 67)},
        source="Text branch of the CoAudioText tutorial's (3) Para-BRE-Att (a text-only baseline, not in the tutorial)",
        tutorial="tutorials/04_parallel_audio_text.py",
        description="Text-only self-attentive BiLSTM: Para-BRE-Att's text branch and head",
        # Text alone cannot tell a statement from the same words asked (s vs yn, wh vs yn, c vs r): every script
        # has two right answers, so validation macro-F1 swings with which one it picks; accuracy (what its
        # results row reports) selects the epoch. Validation accuracy still rose at epoch 39 of 40 on the demo
        # corpus (0.419 at epoch 7, 0.473 at 37-40).
        train=TrainSettings(demo_epochs=40, monitor="val_accuracy"),
    ),
}
