"""(4a) MHA-A and (4b) MHA-AT: multi-hop attention from speech to text (and back).

Tutorial section 5 (`validate_speech_self_text_self_mha_a`, `..._mha_a_t`).
The speech encoder is a hand-built BiLSTM(64): a forward LSTM and a
`go_backwards=True` LSTM whose outputs are concatenated *without* re-reversing
the backward sequence (faithful; `align_backward=True` fixes it). Its last
hidden states, `speech_final` (batch, 128), are the attention source of the
text branch: the first hop, speech -> text.

- `hops=1` (MHA-A, 266,033 parameters): the speech branch has its own
  self-attention with the zero source (dead attention, as in Audio-BRE-Att).
- `hops=2` (MHA-AT, 270,129 parameters): a second hop, text -> speech: the
  text branch's output is the source of the speech attention query.

Each branch ends in Dense(128, relu); the two are concatenated -> Dense(128,
relu) -> Dropout(0.3) -> Dense(128, relu) -> Dropout(0.3) -> Dense(num_classes,
softmax). The text BiLSTM(32) is a Keras `Bidirectional`. The tutorial's extra
zero `Input`s are unused dummies in MHA-AT (and the text one in MHA-A); they
are not inputs here.
"""

import keras
from keras import layers

from coaudiotext.models.spec import ModelSpec, TrainSettings
from coaudiotext.models._blocks import (
    attend_and_project,
    bilstm,
    check_choice,
    check_flags,
    classifier_head,
    context,
    hand_built_bilstm,
    hop_query,
    self_query,
)

__all__ = ["multi_hop_attention", "mha_a", "mha_a_t", "SPECS"]


def multi_hop_attention(
    audio_shape=(200, 129),
    text_shape=(30, 67),
    num_classes=7,
    hops=1,
    speech_lstm_units=64,
    text_lstm_units=32,
    attention_units=64,
    hidden_units=128,
    dropout=0.3,
    query="zero",
    score_mixing=True,
    align_backward=False,
    recurrent_activation="hard_sigmoid",
    name=None,
):
    """Builds MHA-A (`hops=1`) or MHA-AT (`hops=2`), the tutorial's multi-hop attention models.

    Args:
        audio_shape: tuple. `(frames, features)` of the mel+RMS input. Defaults to `(200, 129)`.
        text_shape: tuple. `(chars, features)` of the character input. Defaults to `(30, 67)`.
        num_classes: int. Number of classes. Defaults to 7.
        hops: int. 1: speech self-attention (zero source) and the speech -> text
            hop (MHA-A); 2: the speech -> text hop, then the text -> speech hop
            (MHA-AT). Defaults to 1.
        speech_lstm_units: int. Units of each hand-built speech LSTM. Defaults to 64.
        text_lstm_units: int. Units of each text LSTM direction. Defaults to 32.
        attention_units: int. Size of keys and queries (`hidden_con`). Defaults to 64.
        hidden_units: int. Units of the branch and head Dense layers. Defaults to 128.
        dropout: float. Rate of the head's Dropout layers. Defaults to 0.3.
        query: str. Source of the speech self-attention when `hops=1`: `"zero"`
            (faithful, dead attention) or `"learned"`. No effect when `hops=2`
            (every query then comes from the other modality). Defaults to `"zero"`.
        score_mixing: bool. `True` (faithful) keeps the T x T score mixers;
            `False` uses plain softmaxes. Defaults to `True`.
        align_backward: bool. `False` (faithful) concatenates the backward LSTM's
            time-reversed outputs as they are; `True` flips them back first.
            Defaults to `False`.
        recurrent_activation: str. `"hard_sigmoid"` (Keras 2.1, faithful) or
            `"sigmoid"`. Defaults to `"hard_sigmoid"`.
        name: str. Model name. Defaults to `"mha_a"` or `"mha_a_t"`.

    Inputs: `audio` (batch, frames, features), `text` (batch, chars, features).
    Output: class probabilities (batch, num_classes). Attention layers:
    `speech_to_text_hop` and `speech_attention` (`hops=1`) or `text_to_speech_hop` (`hops=2`).

    Example:

    >>> multi_hop_attention(hops=1).count_params(), multi_hop_attention(hops=2).count_params()
    (266033, 270129)
    """
    check_choice("hops", hops, (1, 2))
    check_flags(
        query=query, recurrent_activation=recurrent_activation, score_mixing=score_mixing, align_backward=align_backward
    )
    if name is None:
        name = "mha_a" if hops == 1 else "mha_a_t"

    # Inputs
    audio = keras.Input(tuple(audio_shape), name="audio")
    text = keras.Input(tuple(text_shape), name="text")

    # Speech encoder: hand-built BiLSTM
    speech_states, speech_final = hand_built_bilstm(
        audio, speech_lstm_units, "speech", recurrent_activation, align_backward
    )  # (batch, frames, 2 * speech_lstm_units), (batch, 2 * speech_lstm_units)

    # Hop 1, speech -> text: the text attention's query comes from speech_final
    text_states = bilstm(text, text_lstm_units, "text", recurrent_activation)  # (batch, chars, 2 * text_lstm_units)
    text_keys = context(text_states, attention_units, "text")  # (batch, chars, attention_units)
    text_query = hop_query(speech_final, attention_units, "speech_to_text_query")  # (batch, attention_units)
    text_output = attend_and_project(
        text_states, text_keys, text_query, "speech_to_text_hop", "text_hidden", hidden_units, score_mixing
    )  # (batch, hidden_units)

    # Speech attention: self-attention (hops=1) or hop 2, text -> speech
    speech_keys = context(speech_states, attention_units, "speech")  # (batch, frames, attention_units)
    if hops == 1:
        speech_query = self_query(audio, attention_units, "speech", query)
        speech_attention_name = "speech_attention"
    else:
        speech_query = hop_query(text_output, attention_units, "text_to_speech_query")
        speech_attention_name = "text_to_speech_hop"
    speech_output = attend_and_project(
        speech_states, speech_keys, speech_query, speech_attention_name, "speech_hidden", hidden_units, score_mixing
    )  # (batch, hidden_units)

    # Head
    fused = layers.Concatenate(name="fusion")([speech_output, text_output])  # (batch, 2 * hidden_units)
    probabilities = classifier_head(fused, hidden_units, num_classes, dropout)

    # Model
    return keras.Model({"audio": audio, "text": text}, probabilities, name=name)


def mha_a(**kwargs):
    """MHA-A: `multi_hop_attention(hops=1, **kwargs)` (266,033 parameters at the default shapes)."""
    return multi_hop_attention(hops=1, **kwargs)


def mha_a_t(**kwargs):
    """MHA-AT: `multi_hop_attention(hops=2, **kwargs)` (270,129 parameters at the default shapes)."""
    return multi_hop_attention(hops=2, **kwargs)


SPECS = {
    "mha_a": ModelSpec(
        builder=mha_a,
        inputs=("audio", "text"),
        default_shapes={"audio": (200, 129), "text": (30, 67)},
        source="CoAudioText tutorial §5, (4a) MHA-A (validate_speech_self_text_self_mha_a)",
        tutorial="tutorials/05_multi_hop_attention.py",
        description="Multi-hop attention, one hop: speech state queries the text (MHA-A)",
        # 45 demo epochs, chosen on validation: the best epoch of a 12-epoch run is its last, and of a
        # 30-epoch run too (val macro-F1 0.880); 45 epochs select epoch 40 (val 0.886). On unseen voices:
        # test 0.795 / 0.846 / 0.852 and handwritten 0.879 / 0.897 / 0.897 after 12 / 30 / 45 epochs.
        # Speaker augmentation (`--augment speaker`), chosen on validation (0.937 against 0.886) and on 1,280
        # development utterances of 16 voices outside the test pool (0.936 against 0.856): test 0.917,
        # handwritten 0.910.
        train=TrainSettings(demo_epochs=45, demo_augment="speaker"),
    ),
    "mha_a_t": ModelSpec(
        builder=mha_a_t,
        inputs=("audio", "text"),
        default_shapes={"audio": (200, 129), "text": (30, 67)},
        source="CoAudioText tutorial §5, (4b) MHA-AT (validate_speech_self_text_self_mha_a_t)",
        tutorial="tutorials/05_multi_hop_attention.py",
        description="Multi-hop attention, two hops: speech -> text -> speech (MHA-AT)",
        # The README main command must stay under ~8 min on a 2-core CPU. Without augmentation, 7 demo epochs
        # (the epoch validation selects in a 12-epoch run). With speaker augmentation (`--augment speaker`)
        # it learns more slowly but further: validation 0.843 / 0.878 / 0.894 after 7 / 8 / 9 epochs (0.842
        # without). 10 epochs (best 9) take 9.5 min from an empty cache, so 8, whose last epoch validation
        # selects (the first 8 epochs of both runs are the same computation).
        train=TrainSettings(demo_epochs=8, demo_augment="speaker"),
    ),
}
