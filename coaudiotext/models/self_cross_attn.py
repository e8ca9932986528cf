"""Seed 003: self- vs cross-attention for emotion recognition (Rajan et al., ICASSP 2022).

Ports `TVAModel_Self` and `TVAModel_Cross` of `smartcameras/SelfCrossAttn` (`models.py`, run by
`main_tva_1.py` / `train_tva_1.py`) on Yoon et al.'s preprocessed IEMOCAP (7 classes): text as
GloVe vectors (128, 300), video ResNet features (32, 2048), audio MFCC (1000, 120).

Per modality (`models.py` l.31-45):

    text:  dropout(0.25) -> BiGRU(60)                                   # (batch, 128, 120)
    video: Conv1d(32 -> 25, k=1), frames as channels -> BiGRU(60)       # (batch, 25, 120)
    audio: Conv1d(1000 -> 500, k=1), frames as channels -> BiGRU(60)    # (batch, 500, 120)

- `tva_self` (1,645,892 parameters): one self-attention `MHA(x, x, x)` per modality
  (`nn.MultiheadAttention(120, 6 heads, dropout 0.1)`), mean over time, stack the 3 vectors.
- `tva_cross` (1,820,132 parameters): the six ordered cross-attentions `mha_<src>_<tgt>`
  (query = target, key = value = source), each averaged over the query's time, stack the 6.

Then `torch.std_mean` over the stacked vectors -> [std ‖ mean] (240) -> `Linear(240, 60)` ->
`Linear(60, 7)`, with no activation between (the head is one affine map of rank <= 60).

Faithful quirks, each with an opt-in change:

- the 1x1 convs mix *frames* (a global, learned temporal remix; the slides call it a local
  conv), so audio and video must have exactly the frames they were built for —
  `frame_mixing=False` feeds the frames to the GRU as they are;
- no padding masks anywhere: attention attends to zero-padded frames and tokens and the means
  include them (not changeable here: the mixed frames of audio and video have no padding to mask);
- text input dropout 0.25, hard-coded in `forward` — `text_dropout`;
- statistics pooling as [std ‖ mean], unbiased std — `stats_order="mean_std"`,
  `pooling="mean"` (the paper's "noSP" ablation);
- no activation between `concat_linear` and `classifier` — `head_activation="relu"`;
- float64 everywhere (`tva_model.double()`) — `dtype="float64"`; the default is float32.

The repository has only the two tri-modal classes. Uni- and bi-modal models (`modalities`) and
`attention="cross+self"` follow the slides and are **inferred** (see the builder's docstring).

The model outputs class probabilities (a softmax after `classifier`); the original returns the
logits for `CrossEntropyLoss`, the same training objective. The logits are the output of the
`classifier` layer, the 60-d embedding the original also returns that of `concat_linear`.
"""

import math

import keras
from keras import layers

from coaudiotext._checks import check_choice
from coaudiotext.layers.self_cross import FrameMixing, StatisticsPooling
from coaudiotext.layers.transformer import SequencePooling
from coaudiotext.models.spec import ModelSpec, TrainSettings

__all__ = [
    "self_cross_attention",
    "tva_self",
    "tva_cross",
    "tva_self_at",
    "tva_cross_at",
    "IEMOCAP_INPUTS",
    "DEMO_INPUTS",
    "SPECS",
]

MODALITIES = ("t", "v", "a")
_PREFIX = {"t": "text", "v": "video", "a": "audio"}
ATTENTIONS = ("self", "cross", "cross+self")
_NAMES = {"self": "tva_self", "cross": "tva_cross", "cross+self": "tva_cross_self"}
POOLINGS = ("stats", "mean")
SINGLE_STD = ("drop", "zero")
INITIALIZERS = ("torch", "keras")
DTYPES = ("float32", "float64")
HEAD_ACTIVATIONS = (None, "relu", "tanh", "gelu")

IEMOCAP_INPUTS = {"t": "glove", "v": "video", "a": "mfcc120"}
"""Input names of the IEMOCAP keys: GloVe token vectors, ResNet video frames, 120-d MFCC frames."""
DEMO_INPUTS = {"t": "text", "a": "audio"}
"""Input names of the demo-corpus keys: character one-hots and mel+RMS frames."""


def _uniform(bound):
    return keras.initializers.RandomUniform(-bound, bound)


def _linear_init(fan_in):
    """PyTorch's `nn.Linear` / `nn.Conv1d` default: weight and bias U(±1/√fan_in)."""
    bound = 1.0 / math.sqrt(fan_in)
    return {"kernel_initializer": _uniform(bound), "bias_initializer": _uniform(bound)}


def _check_shape(input_name, shape, frames_needed):
    """A `(frames, features)` tuple of positive ints; frames may be None if nothing mixes them."""
    valid = isinstance(shape, (tuple, list)) and len(shape) == 2
    if valid:
        frames, features = shape
        ints = all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (features,))
        frames_ok = (frames is None and not frames_needed) or (
            isinstance(frames, int) and not isinstance(frames, bool) and frames > 0
        )
        valid = ints and frames_ok
    if not valid:
        need = "a positive int" if frames_needed else "a positive int or None"
        raise ValueError(
            f"Expected {input_name}_shape to be (frames, features), frames {need} and features a positive int. "
            f"Received: {input_name}_shape={shape!r}"
        )


def _check_positive_int(argument, value):
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"Expected {argument} to be a positive int. Received: {argument}={value!r}")


def _check_rate(argument, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"Expected {argument} to be a float in [0, 1). Received: {argument}={value!r}")


def _check_modalities(modalities, attention):
    if isinstance(modalities, str):
        modalities = tuple(modalities)  # "tva" -> ("t", "v", "a")
    modalities = tuple(modalities)
    unknown = [m for m in modalities if m not in MODALITIES]
    if not modalities or unknown or len(set(modalities)) != len(modalities):
        raise ValueError(
            f"Expected modalities to be distinct letters of {MODALITIES} (t: text, v: video, a: audio). "
            f"Received: modalities={modalities!r}"
        )
    if attention != "self" and len(modalities) < 2:
        raise ValueError(
            f"attention={attention!r} needs at least two modalities (a cross-attention's query and keys come "
            f"from different ones). Received: modalities={modalities!r}"
        )
    return modalities


def self_cross_attention(
    modalities=("t", "v", "a"),
    attention="self",
    pooling="stats",
    text_shape=(128, 300),
    video_shape=(32, 2048),
    audio_shape=(1000, 120),
    input_names=None,
    num_classes=7,
    rnn_units=60,
    num_heads=6,
    attention_dropout=0.1,
    text_dropout=0.25,
    video_frames=25,
    audio_frames=500,
    frame_mixing=True,
    stats_order="std_mean",
    single_std="drop",
    head_activation=None,
    initializers="torch",
    dtype="float32",
    name=None,
):
    """Builds a SelfCrossAttn model: `TVAModel_Self`, `TVAModel_Cross` and their variants.

    Computation, for the modalities m in `modalities` (`models.py`):

        h_m = BiGRU(rnn_units)(mix_m(x_m))          # (batch, T_m, 2 * rnn_units); text: dropout, no mix
        self:  s_m    = mean_time(MHA_m(h_m, h_m, h_m))           # for each m
        cross: c_{s,t} = mean_time(MHA_{s,t}(h_t, h_s, h_s))      # for each ordered pair, query = target t
        z = [std ‖ mean] over the stacked vectors                 # (batch, 4 * rnn_units)
        logits = classifier(concat_linear(z))                     # no activation between

    Variants not in the repository (**inferred** from the slides): `modalities` with one or two
    letters keeps those branches (`tva_self` / `tva_cross` with two modalities have the same
    count: the 2 self MHAs vs the 2 cross MHAs); `attention="cross+self"` stacks the k self and
    the k(k-1) cross vectors before one pooling; `pooling="mean"` is "noSP". With one vector
    (uni-modal self) the unbiased std is NaN (`torch.std` of one element), so `single_std`
    chooses the behaviour.

    Args:
        modalities: tuple of str. Branches, from `"t"` (text), `"v"` (video), `"a"` (audio);
            the order is the stacking order (immaterial to the pooling; cross vectors are stacked
            target by target, v->t, a->t, t->v, ..., where the original puts a->t first).
            Defaults to `("t", "v", "a")`.
        attention: str. `"self"` (`TVAModel_Self`), `"cross"` (`TVAModel_Cross`) or
            `"cross+self"` (both sets of vectors, pooled together). Defaults to `"self"`.
        pooling: str. `"stats"` ([std ‖ mean] over the stacked vectors, faithful) or `"mean"`
            (their mean, the "noSP" ablation: head `Linear(2 * rnn_units, rnn_units)`).
            Defaults to `"stats"`.
        text_shape: tuple. `(tokens, features)` of the text input (GloVe: `(128, 300)`).
        video_shape: tuple. `(frames, features)` of the video input. Defaults to `(32, 2048)`.
        audio_shape: tuple. `(frames, features)` of the audio input. Defaults to `(1000, 120)`.
        input_names: dict or None. Input name per modality letter. Defaults to
            `IEMOCAP_INPUTS` (`{"t": "glove", "v": "video", "a": "mfcc120"}`).
        num_classes: int. Number of classes. Defaults to 7.
        rnn_units: int. Units of each GRU direction (`--rnnsize`). The attention width is
            `2 * rnn_units`. Defaults to 60.
        num_heads: int. Heads of every attention; must divide `2 * rnn_units`. Defaults to 6.
        attention_dropout: float. Dropout on the attention weights (`--*_dp`). Defaults to 0.1.
        text_dropout: float. Dropout on the text input (`emb_dp`, hard-coded in `forward`).
            Defaults to 0.25.
        video_frames: int. Output frames of the video frame mixing (`Conv1d(32, 25, 1)`).
            Defaults to 25.
        audio_frames: int. Output frames of the audio frame mixing (`Conv1d(1000, 500, 1)`).
            Defaults to 500.
        frame_mixing: bool. `True` (faithful) applies the frames-as-channels 1x1 convs to video
            and audio; `False` drops them (the GRUs read the frames as they are; frames may then
            be None). Defaults to True.
        stats_order: str. `"std_mean"` (faithful: `torch.std_mean` returns std first) or
            `"mean_std"` (the order the original's variable names claim). Defaults to `"std_mean"`.
        single_std: str. Statistics pooling of a single vector (uni-modal self model):
            `"drop"` pools the mean only (head `Linear(2 * rnn_units, rnn_units)`, the noSP
            head) or `"zero"` uses [0 ‖ mean] (keeps the tri-modal head). Ignored with more than
            one vector. Defaults to `"drop"`.
        head_activation: str or None. Activation between `concat_linear` and `classifier`:
            None (faithful, a linear head), `"relu"`, `"tanh"` or `"gelu"`. Defaults to None.
        initializers: str. `"torch"` (faithful: PyTorch's default initialisation of each module:
            GRU weights and biases U(±1/√rnn_units); Conv1d and Linear U(±1/√fan_in);
            `nn.MultiheadAttention` in-projection xavier_uniform of the packed (3E, E) matrix,
            out-projection U(±1/√E), biases 0) or `"keras"` (Keras defaults). The out-projection
            is drawn when the model is built; a `from_config` rebuild draws it with the
            in-projection's bound until weights are loaded. Defaults to `"torch"`.
        dtype: str. `"float32"` or `"float64"` (the original: `tva_model.double()`; float64 GRUs
            never use cuDNN). In float64 the port matches PyTorch to about 1e-10: Keras's
            `MultiHeadAttention` scales by a float32-rounded 1/√head_dim. Defaults to `"float32"`.
        name: str or None. Model name. Defaults to `"tva_self"`, `"tva_cross"` or `"tva_cross_self"`.

    Inputs: one per modality, named by `input_names`, each `(batch, frames, features)`.
    Output: class probabilities (batch, num_classes); the logits are the `classifier` layer's.

    Example:

    >>> self_cross_attention(attention="self").count_params()
    1645892
    >>> self_cross_attention(attention="cross").count_params()
    1820132
    """
    # Arguments
    check_choice("attention", attention, ATTENTIONS)
    modalities = _check_modalities(modalities, attention)
    check_choice("pooling", pooling, POOLINGS)
    check_choice("stats_order", stats_order, ("std_mean", "mean_std"))
    check_choice("single_std", single_std, SINGLE_STD)
    check_choice("head_activation", head_activation, HEAD_ACTIVATIONS)
    check_choice("initializers", initializers, INITIALIZERS)
    check_choice("dtype", dtype, DTYPES)
    if not isinstance(frame_mixing, bool):
        raise ValueError(f"Expected frame_mixing to be True or False. Received: frame_mixing={frame_mixing!r}")
    for argument, value in (
        ("num_classes", num_classes),
        ("rnn_units", rnn_units),
        ("num_heads", num_heads),
        ("video_frames", video_frames),
        ("audio_frames", audio_frames),
    ):
        _check_positive_int(argument, value)
    width = 2 * rnn_units  # (the MHA embed_dim)
    if width % num_heads:
        raise ValueError(
            f"Expected num_heads to divide the attention width 2 * rnn_units = {width}. "
            f"Received: num_heads={num_heads}, rnn_units={rnn_units}"
        )
    _check_rate("attention_dropout", attention_dropout)
    _check_rate("text_dropout", text_dropout)
    input_names = dict(IEMOCAP_INPUTS if input_names is None else input_names)
    missing = [m for m in modalities if not isinstance(input_names.get(m), str)]
    if missing:
        raise ValueError(
            f"Expected input_names to give an input name (str) for every modality in {modalities}. "
            f"Received: input_names={input_names!r}"
        )
    shapes = {"t": text_shape, "v": video_shape, "a": audio_shape}
    mixed_frames = {"t": None, "v": video_frames if frame_mixing else None, "a": audio_frames if frame_mixing else None}
    for m in modalities:
        _check_shape(input_names[m], shapes[m], frames_needed=mixed_frames[m] is not None)
    if name is None:
        name = _NAMES[attention]
    torch_init = initializers == "torch"

    # Inputs
    inputs = {m: keras.Input(tuple(shapes[m]), name=input_names[m], dtype=dtype) for m in modalities}

    # Encoders: (mix frames) -> BiGRU
    def gru_kwargs():
        if not torch_init:
            return {}
        bound = 1.0 / math.sqrt(rnn_units)
        return {
            "kernel_initializer": _uniform(bound),
            "recurrent_initializer": _uniform(bound),
            "bias_initializer": _uniform(bound),
        }

    states = {}
    for m in modalities:
        prefix = _PREFIX[m]
        x = inputs[m]
        if m == "t":
            x = layers.Dropout(text_dropout, name="text_dropout", dtype=dtype)(x)
        if mixed_frames[m] is not None:
            init = _linear_init(shapes[m][0]) if torch_init else {}  # fan_in: the input frames
            mix = FrameMixing(mixed_frames[m], name=f"{prefix}_conv", dtype=dtype, **init)
            x = mix(x)  # (batch, frames_out, features)
        gru = layers.GRU(rnn_units, return_sequences=True, reset_after=True, dtype=dtype, **gru_kwargs())
        states[m] = layers.Bidirectional(gru, merge_mode="concat", name=f"{prefix}_encoder", dtype=dtype)(x)
        # (batch, frames, 2 * rnn_units)

    # Attentions: mha_<m> (self) and mha_<source>_<target> (cross, query = target)
    def attend(layer_name, query, source):
        mha_kwargs = {}
        if torch_init:  # xavier_uniform of the packed (3E, E) in_proj_weight; biases 0
            mha_kwargs["kernel_initializer"] = _uniform(math.sqrt(6.0 / (width + 3 * width)))
        mha = layers.MultiHeadAttention(
            num_heads, key_dim=width // num_heads, dropout=attention_dropout, name=layer_name, dtype=dtype, **mha_kwargs
        )
        attended = mha(query, source, source)  # (batch, query frames, width)
        if torch_init:  # out_proj keeps nn.Linear's U(±1/√E)
            kernel = mha.output_dense.kernel
            kernel.assign(_uniform(1.0 / math.sqrt(width))(kernel.shape, dtype=kernel.dtype))
        return SequencePooling("mean", name=f"{layer_name}_mean", dtype=dtype)(attended)  # (batch, width)

    vectors = []
    if attention in ("self", "cross+self"):
        vectors += [attend(f"mha_{m}", states[m], states[m]) for m in modalities]
    if attention in ("cross", "cross+self"):
        for target in modalities:
            for source in modalities:
                if source != target:
                    vectors.append(attend(f"mha_{source}_{target}", states[target], states[source]))

    # Head: statistics pooling -> concat_linear -> (activation) -> classifier
    mode = "mean" if pooling == "mean" or (len(vectors) == 1 and single_std == "drop") else "stats"
    statistics = StatisticsPooling(
        mode, ddof=1, order=stats_order, undefined_std="zero", name="statistics_pooling", dtype=dtype
    )
    pooled = statistics(vectors)  # (batch, 2 * width) or (batch, width)

    def dense_kwargs(fan_in):
        return _linear_init(fan_in) if torch_init else {}

    embedding = layers.Dense(
        rnn_units, activation=head_activation, name="concat_linear", dtype=dtype, **dense_kwargs(pooled.shape[-1])
    )(pooled)  # (batch, rnn_units)
    logits = layers.Dense(num_classes, name="classifier", dtype=dtype, **dense_kwargs(rnn_units))(embedding)
    probabilities = layers.Activation("softmax", name="probabilities", dtype=dtype)(logits)

    # Model
    return keras.Model({input_names[m]: inputs[m] for m in modalities}, probabilities, name=name)


def _iemocap(attention, glove_shape, video_shape, mfcc120_shape, flags):
    flags.setdefault("attention", attention)
    flags.setdefault("input_names", IEMOCAP_INPUTS)
    return self_cross_attention(text_shape=glove_shape, video_shape=video_shape, audio_shape=mfcc120_shape, **flags)


def _demo(attention, audio_shape, text_shape, flags):
    flags.setdefault("attention", attention)
    flags.setdefault("name", _NAMES.get(flags["attention"], "tva") + "_at")
    flags.setdefault("modalities", ("t", "a"))
    flags.setdefault("audio_frames", max(1, audio_shape[0] // 2) if isinstance(audio_shape[0], int) else 100)
    flags.setdefault("input_names", DEMO_INPUTS)
    return self_cross_attention(text_shape=text_shape, audio_shape=audio_shape, **flags)


def tva_self(glove_shape=(128, 300), video_shape=(32, 2048), mfcc120_shape=(1000, 120), **flags):
    """`TVAModel_Self`: `self_cross_attention(attention="self")` over `glove`, `video`, `mfcc120`.

    1,645,892 parameters at the default shapes; `flags` are `self_cross_attention`'s.

    Example:

    >>> tva_self().count_params()
    1645892
    """
    return _iemocap("self", glove_shape, video_shape, mfcc120_shape, flags)


def tva_cross(glove_shape=(128, 300), video_shape=(32, 2048), mfcc120_shape=(1000, 120), **flags):
    """`TVAModel_Cross`: `self_cross_attention(attention="cross")` over `glove`, `video`, `mfcc120`.

    1,820,132 parameters at the default shapes; `flags` are `self_cross_attention`'s.

    Example:

    >>> tva_cross().count_params()
    1820132
    """
    return _iemocap("cross", glove_shape, video_shape, mfcc120_shape, flags)


def tva_self_at(audio_shape=(200, 129), text_shape=(80, 43), **flags):
    """Demo-corpus audio+text self-attention model over `audio` (mel+RMS) and `text` (character one-hots).

    `self_cross_attention(modalities=("t", "a"), attention="self")`; the audio frame mixing
    halves the frames, as the original's 1000 -> 500 (`audio_frames` defaults to
    `audio_shape[0] // 2`). 257,707 parameters at the default shapes.

    Example:

    >>> tva_self_at().count_params()
    257707
    """
    return _demo("self", audio_shape, text_shape, flags)


def tva_cross_at(audio_shape=(200, 129), text_shape=(80, 43), **flags):
    """Demo-corpus audio+text cross-attention model: `mha_a_t` (text queries audio) and `mha_t_a`.

    `self_cross_attention(modalities=("t", "a"), attention="cross")`, with the same count as
    `tva_self_at` (257,707 parameters at the default shapes).

    Example:

    >>> tva_cross_at().count_params()
    257707
    """
    return _demo("cross", audio_shape, text_shape, flags)


# main_tva_1.py / train_tva_1.py: Adam (torch defaults, eps 1e-8), lr 1e-3, batch 32, cross-entropy.
# The original runs until its early stopping (10 epochs without a better dev accuracy, at most
# 20,000 epochs) with ReduceLROnPlateau(patience 10, factor 0.1) on the dev loss; coaudiotext.train
# runs a fixed number of epochs, so `epochs` is a cap, not the original's number.
_SEED003_TRAIN = TrainSettings(optimizer="adam", learning_rate=1e-3, epsilon=1e-8, batch_size=32, epochs=100)
_SOURCE = "Seed 003, smartcameras/SelfCrossAttn"
_TUTORIAL = "tutorials/12_self_vs_cross_attention.py"

SPECS = {
    "tva_self": ModelSpec(
        builder=tva_self,
        inputs=("glove", "video", "mfcc120"),
        default_shapes={"glove": (128, 300), "video": (32, 2048), "mfcc120": (1000, 120)},
        source=f"{_SOURCE}, TVAModel_Self (models.py, main_tva_1.py)",
        tutorial=_TUTORIAL,
        description="Tri-modal self-attention: BiGRU + MHA per modality, [std, mean] pooling (seed 003, IEMOCAP)",
        train=_SEED003_TRAIN,
        num_classes=7,
    ),
    "tva_cross": ModelSpec(
        builder=tva_cross,
        inputs=("glove", "video", "mfcc120"),
        default_shapes={"glove": (128, 300), "video": (32, 2048), "mfcc120": (1000, 120)},
        source=f"{_SOURCE}, TVAModel_Cross (models.py, main_tva_1.py)",
        tutorial=_TUTORIAL,
        description="Tri-modal cross-attention: six ordered MHAs, [std, mean] pooling (seed 003, IEMOCAP)",
        train=_SEED003_TRAIN,
        num_classes=7,
    ),
    "tva_self_at": ModelSpec(
        builder=tva_self_at,
        inputs=("audio", "text"),
        default_shapes={"audio": (200, 129), "text": (80, 43)},
        source=f"{_SOURCE}, TVAModel_Self reduced to audio + text (inferred), on the demo inputs",
        tutorial=_TUTORIAL,
        description="Self-attention (seed 003) over speech and text: BiGRU + MHA per modality, [std, mean] pooling",
        train=_SEED003_TRAIN,
    ),
    "tva_cross_at": ModelSpec(
        builder=tva_cross_at,
        inputs=("audio", "text"),
        default_shapes={"audio": (200, 129), "text": (80, 43)},
        source=f"{_SOURCE}, TVAModel_Cross reduced to audio + text (inferred), on the demo inputs",
        tutorial=_TUTORIAL,
        description="Cross-attention (seed 003) between speech and text: text<-audio and audio<-text MHAs",
        train=_SEED003_TRAIN,
    ),
}
