"""Building helpers shared by the tutorial attention models (sections 3-6).

Each helper adds a few *named* layers to a functional graph and returns the
output tensors, so the model files read like the tutorial's figure and the
same code builds the same branch everywhere. Names are `<prefix>_<part>`,
e.g. `speech_bilstm`, `speech_context`, `speech_query`, `speech_attention`.
"""

from keras import layers

from coaudiotext.layers.activations import recurrent_activation as _recurrent_activation
from coaudiotext._checks import check_choice
from coaudiotext.layers.attention import AttentionBlock, LearnedSource, ReverseTime, ZeroSource

QUERIES = ("zero", "learned")


def check_flags(query="zero", recurrent_activation="hard_sigmoid", score_mixing=True, align_backward=False):
    """Validates the flags common to the tutorial attention models."""
    check_choice("query", query, QUERIES)
    check_choice("recurrent_activation", recurrent_activation, ("hard_sigmoid", "sigmoid"))
    for argument, value in (("score_mixing", score_mixing), ("align_backward", align_backward)):
        if not isinstance(value, bool):  # `1 in (True, False)` would pass check_choice
            raise ValueError(f"Expected {argument} to be True or False. Received: {argument}={value!r}")


def bilstm(x, units, prefix, recurrent_activation):
    """Keras `Bidirectional(LSTM(units, return_sequences=True))`, named `<prefix>_bilstm`.

    Returns the hidden-state sequence (batch, T, 2 * units).
    """
    lstm = layers.LSTM(units, return_sequences=True, recurrent_activation=_recurrent_activation(recurrent_activation))
    return layers.Bidirectional(lstm, name=f"{prefix}_bilstm")(x)


def hand_built_bilstm(x, units, prefix, recurrent_activation, align_backward):
    """The tutorial's hand-built BiLSTM (MHA-A, MHA-AT, CA): two LSTMs, one `go_backwards`.

    `LSTM(go_backwards=True)` returns its sequence in reversed time order. The
    tutorial concatenates it as is, so step t of the forward half meets step
    T-1-t of the backward half (faithful, `align_backward=False`);
    `align_backward=True` flips it back first, as `Bidirectional` does.

    Layers: `<prefix>_lstm_forward`, `<prefix>_lstm_backward`,
    (`<prefix>_backward_align`), `<prefix>_bilstm` (the sequence concat),
    `<prefix>_final_state` (concat of the two last hidden states).

    Returns:
        `(sequence, final)`: (batch, T, 2 * units) and (batch, 2 * units).
    """
    activation = _recurrent_activation(recurrent_activation)
    forward, forward_h, _ = layers.LSTM(
        units, return_sequences=True, return_state=True, recurrent_activation=activation, name=f"{prefix}_lstm_forward"
    )(x)
    backward, backward_h, _ = layers.LSTM(
        units,
        return_sequences=True,
        return_state=True,
        go_backwards=True,
        recurrent_activation=activation,
        name=f"{prefix}_lstm_backward",
    )(x)  # (batch, T, units), time reversed
    if align_backward:
        backward = ReverseTime(name=f"{prefix}_backward_align")(backward)
    sequence = layers.Concatenate(name=f"{prefix}_bilstm")([forward, backward])  # (batch, T, 2 * units)
    final = layers.Concatenate(name=f"{prefix}_final_state")([forward_h, backward_h])  # (batch, 2 * units)
    return sequence, final


def context(sequence, attention_units, prefix):
    """The keys K = Dense(attention_units, tanh)(H), named `<prefix>_context` (the tutorial's `*_att`)."""
    return layers.Dense(attention_units, activation="tanh", name=f"{prefix}_context")(sequence)


def self_query(reference, attention_units, prefix, query, query_layers=1, dropout=0.3):
    """The query of a self-attentive branch: an attention source through `Dense(units, relu)` layers.

    `query="zero"` (faithful) uses the tutorial's all-zero source (`ZeroSource`),
    so the query is exactly 0 forever (dead attention); `query="learned"` uses
    a trainable source vector (`LearnedSource`).

    Args:
        reference: tensor. Any batched tensor, only its batch size is used.
        attention_units: int. Size of the source and of the query.
        prefix: str. Name prefix.
        query: str. `"zero"` or `"learned"`.
        query_layers: int. 1 (Para, MHA-A, CA) or 2 (Audio-BRE-Att: Dense, Dropout, Dense).
        dropout: float. Dropout between the query layers.

    Returns:
        The query (batch, attention_units).
    """
    check_choice("query", query, QUERIES)
    if query == "zero":
        source = ZeroSource(attention_units, name=f"{prefix}_attention_source")(reference)
    else:
        source = LearnedSource(attention_units, name=f"{prefix}_attention_source")(reference)
    q = source
    for index in range(query_layers - 1):
        q = layers.Dense(attention_units, activation="relu", name=f"{prefix}_query_hidden_{index + 1}")(q)
        q = layers.Dropout(dropout, name=f"{prefix}_query_dropout_{index + 1}")(q)
    return layers.Dense(attention_units, activation="relu", name=f"{prefix}_query")(q)


def hop_query(source, attention_units, name):
    """The query of a hop / exchange attention: `Dense(units, relu)` of the other modality's vector."""
    return layers.Dense(attention_units, activation="relu", name=name)(source)


def attend(values, keys, query, name, score_mixing=True):
    """Applies an `AttentionBlock` named `name`; returns the pooled vector (batch, D)."""
    return AttentionBlock(score_mixing=score_mixing, name=name)([values, keys, query])


def classifier_head(x, hidden_units, num_classes, dropout):
    """The tutorial's head: [Dense relu -> Dropout] -> Dense relu -> Dropout -> Dense softmax.

    Layers `hidden_1`, `dropout_1`, `hidden_2`, `dropout_2`, `classifier`.
    """
    x = layers.Dense(hidden_units, activation="relu", name="hidden_1")(x)
    x = layers.Dropout(dropout, name="dropout_1")(x)
    x = layers.Dense(hidden_units, activation="relu", name="hidden_2")(x)
    x = layers.Dropout(dropout, name="dropout_2")(x)
    return layers.Dense(num_classes, activation="softmax", name="classifier")(x)


def attend_and_project(values, keys, query, attention_name, hidden_name, hidden_units, score_mixing=True):
    """`AttentionBlock` then `Dense(hidden_units, relu)`: the tutorial's `*_output` of every branch.

    Returns (batch, hidden_units).
    """
    pooled = attend(values, keys, query, attention_name, score_mixing)  # (batch, D)
    return layers.Dense(hidden_units, activation="relu", name=hidden_name)(pooled)


def self_attentive_branch(
    x, lstm_units, attention_units, hidden_units, prefix, query, score_mixing, recurrent_activation
):
    """One BiLSTM-SA branch of Para-BRE-Att (and the speech branch of CA).

    `<prefix>_bilstm` -> keys `<prefix>_context`; query `<prefix>_query` of the
    attention source; `<prefix>_attention` -> `<prefix>_hidden` Dense(hidden_units, relu).

    Returns:
        `(output, states, keys)`: (batch, hidden_units), (batch, T, 2 * lstm_units),
        (batch, T, attention_units).
    """
    states = bilstm(x, lstm_units, prefix, recurrent_activation)  # (batch, T, 2 * lstm_units)
    keys = context(states, attention_units, prefix)  # (batch, T, attention_units)
    q = self_query(x, attention_units, prefix, query)  # (batch, attention_units)
    output = attend_and_project(
        states, keys, q, f"{prefix}_attention", f"{prefix}_hidden", hidden_units, score_mixing
    )  # (batch, hidden_units)
    return output, states, keys
