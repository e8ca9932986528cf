"""(2) Audio-BRE-Att: the self-attentive speech BiLSTM of the CoAudioText tutorial.

Tutorial section 3 (`validate_rnn_self_drop`): mel+RMS frames -> BiLSTM(64)
hidden states H -> attention ATT(H, q) with keys Dense(64, tanh)(H) and the
query q = Dense(64, relu) -> Dropout(0.3) -> Dense(64, relu) of an all-zero
"attention source" -> Dense(128, relu) -> Dropout -> Dense(128, relu) ->
Dropout -> Dense(num_classes, softmax). 190,031 parameters at the default
shapes (200 frames x 129 features, 7 classes).

Faithful quirk (dead attention): the zero source gives a query that is exactly
0 and stays 0 (the ReLU gradient at 0 is 0), so the attention weights are
`softmax(b)` of the score mixer's bias: one learned weighting over time
positions, the same for every utterance. The keys and the mixer's kernel never
train. `query="learned"` is the documented fix (a trainable source, +64 weights).
"""

import keras

from coaudiotext.models.spec import ModelSpec, TrainSettings
from coaudiotext.models._blocks import attend, bilstm, check_flags, classifier_head, context, self_query

__all__ = ["self_attentive_bilstm", "SPECS"]


def self_attentive_bilstm(
    audio_shape=(200, 129),
    num_classes=7,
    lstm_units=64,
    attention_units=64,
    hidden_units=128,
    dropout=0.3,
    query="zero",
    score_mixing=True,
    recurrent_activation="hard_sigmoid",
    name="self_attentive_bilstm",
):
    """Builds Audio-BRE-Att, the tutorial's self-attentive speech BiLSTM.

    Args:
        audio_shape: tuple. `(frames, features)` of the mel+RMS input. Defaults to `(200, 129)`.
        num_classes: int. Number of classes. Defaults to 7.
        lstm_units: int. Units of each LSTM direction (`hidden_lstm`). Defaults to 64.
        attention_units: int. Size of keys, source and query (`hidden_con`). Defaults to 64.
        hidden_units: int. Units of the head's Dense layers (`hidden_dim`). Defaults to 128.
        dropout: float. Rate of the Dropout layers. Defaults to 0.3.
        query: str. `"zero"` (faithful: the all-zero attention source, a query
            that stays exactly 0, input-independent attention) or `"learned"`
            (fix: a trainable source vector). Defaults to `"zero"`.
        score_mixing: bool. `True` (faithful) keeps the tutorial's T x T
            `Dense(T, softmax)` over the scores; `False` is a plain softmax.
            Defaults to `True`.
        recurrent_activation: str. `"hard_sigmoid"` (Keras 2.1's 0.2x + 0.5, faithful)
            or `"sigmoid"` (Keras 3's default, faster). Defaults to `"hard_sigmoid"`.
        name: str. Model name.

    Input: `audio` (batch, frames, features). Output: class probabilities (batch, num_classes).
    The attention weights of the `speech_attention` layer can be read with
    `coaudiotext.layers.attention.attention_weights`.

    Example:

    >>> model = self_attentive_bilstm()
    >>> model.count_params()
    190031
    """
    check_flags(query=query, recurrent_activation=recurrent_activation, score_mixing=score_mixing)

    # Inputs
    audio = keras.Input(tuple(audio_shape), name="audio")

    # Layers
    states = bilstm(audio, lstm_units, "speech", recurrent_activation)  # (batch, frames, 2 * lstm_units)
    keys = context(states, attention_units, "speech")  # (batch, frames, attention_units)
    q = self_query(audio, attention_units, "speech", query, query_layers=2, dropout=dropout)  # (batch, attention_units)
    pooled = attend(states, keys, q, "speech_attention", score_mixing)  # (batch, 2 * lstm_units)
    probabilities = classifier_head(pooled, hidden_units, num_classes, dropout)

    # Model
    return keras.Model({"audio": audio}, probabilities, name=name)


SPECS = {
    "bilstm_att": ModelSpec(
        builder=self_attentive_bilstm,
        inputs=("audio",),
        default_shapes={"audio": (200, 129)},
        source="CoAudioText tutorial §3, (2) Audio-BRE-Att (validate_rnn_self_drop)",
        tutorial="tutorials/03_self_attentive_bilstm.py",
        description="Self-attentive speech BiLSTM with the zero-source attention (Audio-BRE-Att)",
        train=TrainSettings(),
    ),
}
