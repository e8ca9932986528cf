"""(1) Audio-BRE: the speech-only BiLSTM of the CoAudioText tutorial.

Tutorial section 2 (`validate_bilstm`): mel+RMS frames -> BiLSTM(64), last
states of both directions -> Dense(128, relu) -> Dense(num_classes, softmax).
116,743 parameters at the default shapes (200 frames x 129 features, 7 classes).
"""

import keras
from keras import layers

from coaudiotext.layers.activations import recurrent_activation as _recurrent_activation
from coaudiotext.models.spec import ModelSpec, TrainSettings

__all__ = ["speech_bilstm", "SPECS"]


def speech_bilstm(
    audio_shape=(200, 129),
    num_classes=7,
    lstm_units=64,
    hidden_units=128,
    recurrent_activation="hard_sigmoid",
    name="speech_bilstm",
):
    """Builds Audio-BRE, the tutorial's speech-only bidirectional LSTM.

    Args:
        audio_shape: tuple. `(frames, features)` of the mel+RMS input. Defaults to `(200, 129)`.
        num_classes: int. Number of classes. Defaults to 7.
        lstm_units: int. Units of each LSTM direction (`hidden_lstm`). Defaults to 64.
        hidden_units: int. Units of the hidden Dense layer (`hidden_dim`). Defaults to 128.
        recurrent_activation: str. `"hard_sigmoid"` reproduces Keras 2.1
            (0.2x + 0.5, the faithful default); `"sigmoid"` is Keras 3's default
            and faster. Defaults to `"hard_sigmoid"`.
        name: str. Model name.

    Input: `audio` (batch, frames, features). Output: class probabilities (batch, num_classes).

    Example:

    >>> model = speech_bilstm()
    >>> model.count_params()
    116743
    """
    # Inputs
    audio = keras.Input(tuple(audio_shape), name="audio")

    # Layers
    encoded = layers.Bidirectional(
        layers.LSTM(lstm_units, recurrent_activation=_recurrent_activation(recurrent_activation)),
        name="speech_bilstm",
    )(audio)  # (batch, 2 * lstm_units)
    hidden = layers.Dense(hidden_units, activation="relu", name="hidden")(encoded)
    probabilities = layers.Dense(num_classes, activation="softmax", name="classifier")(hidden)

    # Model
    return keras.Model({"audio": audio}, probabilities, name=name)


SPECS = {
    "bilstm": ModelSpec(
        builder=speech_bilstm,
        inputs=("audio",),
        default_shapes={"audio": (200, 129)},
        source="CoAudioText tutorial §2, (1) Audio-BRE (validate_bilstm)",
        tutorial="tutorials/02_speech_bilstm.py",
        description="Speech-only BiLSTM over mel+RMS frames (Audio-BRE)",
        train=TrainSettings(),
    ),
}
