"""Seed 004: SER-MMoE, multilingual speech emotion recognition with a mixture of experts (Wang et al., 2022).

Ports `SER_MODEL` of `hannawong/Speech-Emotion-Recognition` (`model/SER_mmoe/modeling/ser_model.py`,
`DSBN.py`, `GE2E_model.py`; trained by `training/training.py`). One model per language: en (IEMOCAP,
4 classes), ge (EmoDB, 7), pe (ShEMO, 6), fr (CaFE, 7).

    branch b in {phone (230-d allosaurus posteriors), mfcc (24-d), wav2vec (512-d)}:
        Conv1D(k=3, same) + Conv1D(k=5, same) -> BiLSTM -> LastFrameAttention   # (batch, 256)
    high_layers (DSBN.py): one hard-concrete gated 256x256 matrix applied to every branch vector
    utterance (BYOL-S, 2048-d) -> Dense(512) -> Dense(256), no activation between   # the "adaptor"
    gate: softmax(MLP 256 -> 128 -> 64 -> 32 -> experts (relu between)) on the GE2E vector
          (ge: on the adapted utterance vector)
    x = [sum_k s_k * expert_k (k != ge2e) || s_ge2e * ge2e]                   # (batch, 512)
    tower: Dense -> BatchNorm -> activation -> Dropout, per language; Dense(classes) -> softmax
    loss = CE + alpha * GE2E softmax loss over the batch's emotion centroids of the tower output

Tower widths (`ser_model.py` l.397-564): en 512 tanh / 256 relu / 128 gelu (dropout 0.1 after the
first two); ge and fr 1024 / 512 / 256, same activations; pe 2048 tanh+mish / 1024 tanh+mish
(dropout 0.01) / 512 gelu (dropout 0.1) / 256 mish.

**Parameters.** Per component, this port (Keras) vs the original's modules (PyTorch):

| component | Keras | PyTorch |
|---|---:|---:|
| phone branch | 512,896 | 513,920 |
| mfcc branch | 253,760 | 254,784 |
| wav2vec branch | 657,280 | 658,304 |
| gate MLP (en, pe, fr / ge) | 43,397 / 43,364 | same |
| high_layers | 131,073 | same |
| utterance adaptor | 1,180,416 | same |
| tower + output en / ge, fr / pe (trainable) | 429,188 / 1,186,823 / 3,814,150 | same |

The LSTMs have one bias per gate in Keras (PyTorch: `b_ih + b_hh`), 4 x units fewer per layer and
direction. Keras's `count_params()` also counts the BatchNorm moving mean and variance. The GE2E
speaker encoder (1,423,616 parameters) is not part of the model: it never receives a gradient in
the original (`embed_frames_batch` detaches it), so the model reads precomputed 256-d GE2E
embeddings (`coaudiotext.features.ge2e` computes them).

**Inputs** (named dict): `phone (frames, 230)`, `mfcc (frames, 24)`, `wav2vec (frames, 512)`, each with
`<branch>_length` (batch,) int32, the number of valid frames n (>= 1; the padding follows);
`ge2e (256,)`; `utterance (2048,)` (the BYOL-S vector; for fr the original sums its two vectors
before the adaptor, a linear map: pass their sum). The original pads to T = 250 frames (pe: 300).

**Output**: class probabilities. The logits are the `logits` layer's; the tower output fed to the
contrastive loss is the `tower_embedding` layer's. `training_model(model, language)` adds a `label`
input and the contrastive term (`GE2EEmotionLoss`) for training with the original's objective.

**What the original does, and what this port does** (faithful by default where it runs; each
change is a flag):

1. The branch LSTMs are not `batch_first`: they recur across the utterances of the batch, so
   outputs depend on the batch's order and composition. Reproduced (`BranchRecurrence` transposes
   the batch axis into the time axis); `batch_first_fix=True` recurs over each utterance's frames.
   Consequences of the faithful default: a prediction depends on the batch it is in, including
   in `predict` (batch it as it was trained, or use the fix).
2. The attention mask also hides the query frame, the last valid one (`[1] * length`, with
   `length = n - 1`). Reproduced; `fix_mask_off_by_one=True` lets the keys include it.
3. The MFCC pipeline stores `length = n`, not n - 1 (`training/utils.py` l.141): its query is the
   first padded frame. Reproduced; `fix_mfcc_length=True` uses n - 1 like the other branches.
4. `.squeeze()` makes a batch of one a vector, which crashes the stacking: always fixed
   (the vectors keep their batch axis).
5. The ge gate reads the adapted BYOL-S (utterance) vector and has 4 experts (no utterance
   expert); en, pe and fr gate on GE2E with 5. Reproduced; `gate_input="ge2e"` gates ge on GE2E.
6. The GE2E speaker encoder is frozen in effect (`.detach()`): precomputed embeddings (see above).
7. `similarity_weight/bias` of the contrastive loss: en/pe use unregistered 10 / -5 (never
   trained), ge/fr the speaker encoder's pretrained 70.89 / -4.18, trained at 0.01 x the learning
   rate. Reproduced in `training_model` (per-language defaults, overridable).
8. The contrastive loss is NaN when a class has one sample in the batch and raises when `prune`
   (pe) leaves no class with more than 5: `degenerate="zero"` (default) makes both 0,
   `degenerate="nan"` gives NaN (`training_model`).
9. `np.int` (removed from NumPy) and the dead `Q/K/V_layer_feat` dicts (592,128 unregistered,
   unused parameters): not ported.
10. `high_layers` is a hard-concrete gate with no L0 penalty and no noise (`u` is a trained
    parameter): reproduced; `l0_penalty` and `high_layer_stochastic` add them.
11. `pe` is never trained (`langs = ["en", "ge", "fr"]` in training.py): its tower is ported as
    written, untested against any result.
12. en's `alpha`: 0.1 (the repository's head, `f05f8a0b`); an earlier commit (`208286aa`) has 0.0.
13. Evaluation runs in training mode in the original (no `model.eval()`): here inference uses
    the BatchNorm moving statistics and no dropout, as Keras does.
14. BatchNorm as PyTorch's (`epsilon=1e-5`, `momentum=0.9` in Keras terms); `gelu` is the exact
    (erf) one (`ErfGELU`).
"""

import math

import keras
from keras import layers

from coaudiotext._checks import check_choice
from coaudiotext.layers.ser_mmoe import (
    BranchRecurrence,
    ErfGELU,
    ExpertMixture,
    GE2EEmotionLoss,
    HardConcreteGate,
    LastFrameAttention,
)
from coaudiotext.models.spec import ModelSpec, TrainSettings

__all__ = [
    "LANGUAGES",
    "BRANCHES",
    "ser_mmoe",
    "ser_mmoe_ge2e",
    "ser_phone",
    "ser_mfcc",
    "ser_wav2vec",
    "training_model",
    "SPECS",
]

WIDTH = 256  # ALLO_ATTN_SIZE: every expert vector
EXPERT_INDEX = {"phone": 0, "mfcc": 1, "wav2vec": 2, "ge2e": 3, "utterance": 4}

BRANCHES = {
    # name: (features, conv filters, lstm units, lstm layers, attention scale epsilon, length shift)
    "phone": (230, 64, 128, 1, 0.0, 0),
    "mfcc": (24, 32, 64, 2, 0.0, 1),
    "wav2vec": (512, 64, 128, 1, 1e-4, 0),
}
"""Branch -> (input features, conv filters, LSTM units per direction, LSTM layers, scale epsilon,
length shift of the original's pipeline), `ser_model.py` l.17-57 and `training/utils.py`."""

LANGUAGES = {
    # tower: (units, activations, dropout after)
    "en": {
        "classes": 4,
        "experts": 5,
        "tower": ((512, ("tanh",), 0.1), (256, ("relu",), 0.1), (128, ("gelu",), 0.0)),
        "alpha": 0.1,
        "similarity": (10.0, -5.0, False, 1.0),
        "prune": False,
        "batch_size": 1024,
    },
    "ge": {
        "classes": 7,
        "experts": 4,
        "tower": ((1024, ("tanh",), 0.1), (512, ("relu",), 0.1), (256, ("gelu",), 0.0)),
        "alpha": 0.01,
        "similarity": (70.8929, -4.1807, True, 0.01),
        "prune": False,
        "batch_size": 512,
    },
    "fr": {
        "classes": 7,
        "experts": 5,
        "tower": ((1024, ("tanh",), 0.1), (512, ("relu",), 0.1), (256, ("gelu",), 0.0)),
        "alpha": 0.015,
        "similarity": (70.8929, -4.1807, True, 0.01),
        "prune": False,
        "batch_size": 256,
    },
    "pe": {
        "classes": 6,
        "experts": 5,
        "tower": (
            (2048, ("tanh", "mish"), 0.01),
            (1024, ("tanh", "mish"), 0.01),
            (512, ("gelu",), 0.1),
            (256, ("mish",), 0.0),
        ),
        "alpha": 0.01,
        "similarity": (10.0, -5.0, False, 1.0),
        "prune": True,
        "batch_size": 256,
    },
}
"""Per language: classes, gate outputs, tower layers, contrastive alpha, similarity (w, b, trainable,
lr multiplier), prune, and the training reader's chunk (the batch size of one optimizer step)."""

GATE_INPUTS = (None, "ge2e", "utterance")
INITIALIZERS = ("torch", "keras")
DTYPES = ("float32", "float64")


def _uniform(bound):
    return keras.initializers.RandomUniform(-bound, bound)


def _linear_init(fan_in, torch_init):
    """PyTorch's `nn.Linear` / `nn.Conv1d` default: weight and bias U(±1/√fan_in)."""
    if not torch_init:
        return {}
    bound = 1.0 / math.sqrt(fan_in)
    return {"kernel_initializer": _uniform(bound), "bias_initializer": _uniform(bound)}


def _check_bool(argument, value):
    if not isinstance(value, bool):
        raise ValueError(f"Expected {argument} to be True or False. Received: {argument}={value!r}")


def _check_shape(argument, shape, size):
    ok = isinstance(shape, (tuple, list)) and len(shape) == len(size)
    if ok:
        for got, want in zip(shape, size):
            if want is None:  # frames: a positive int or None
                ok = ok and (got is None or (isinstance(got, int) and not isinstance(got, bool) and got > 0))
            else:
                ok = ok and got == want
    if not ok:
        wanted = "(frames, {})".format(size[1]) if len(size) == 2 else str(tuple(size))
        raise ValueError(f"Expected {argument} to be {wanted}. Received: {argument}={shape!r}")


def ser_mmoe(
    language="en",
    branches=("phone", "mfcc", "wav2vec"),
    ge2e=True,
    utterance=None,
    num_classes=None,
    phone_shape=(250, 230),
    mfcc_shape=(250, 24),
    wav2vec_shape=(250, 512),
    ge2e_shape=(256,),
    utterance_shape=(2048,),
    phone_length_shape=(),
    mfcc_length_shape=(),
    wav2vec_length_shape=(),
    gate_input=None,
    high_layer=True,
    batch_first_fix=False,
    fix_mask_off_by_one=False,
    fix_mfcc_length=False,
    high_layer_stochastic=False,
    l0_penalty=0.0,
    initializers="torch",
    dtype="float32",
    name=None,
):
    """Builds the SER-MMoE model of one language, or a reduced one (fewer branches/experts).

    See the module docstring for the computation and the list of the original's quirks.

    Args:
        language: str. `"en"`, `"ge"`, `"pe"` or `"fr"`: gate size, tower and classes. Defaults to `"en"`.
        branches: tuple of str. Frame branches, from `"phone"`, `"mfcc"`, `"wav2vec"`; may be empty.
            Defaults to all three.
        ge2e: bool. Use the GE2E input (expert 3, appended to the mixture, and the gate input of
            en/pe/fr). Defaults to True.
        utterance: bool or None. Use the 2048-d utterance (BYOL-S) input through the adaptor: an
            expert for en/pe/fr, the gate input for ge. None: the original's use (True, except for
            ge with `gate_input="ge2e"`). Defaults to None.
        num_classes: int or None. Classes; None: the language's (en 4, ge 7, pe 6, fr 7). Defaults to None.
        phone_shape: tuple. `(frames, 230)`. Defaults to `(250, 230)`.
        mfcc_shape: tuple. `(frames, 24)`. Defaults to `(250, 24)`.
        wav2vec_shape: tuple. `(frames, 512)`. Defaults to `(250, 512)`.
        ge2e_shape: tuple. `(256,)`.
        utterance_shape: tuple. `(2048,)`.
        phone_length_shape, mfcc_length_shape, wav2vec_length_shape: tuple. `()`: the length
            inputs are one int per utterance (they are registry inputs, hence the arguments).
        gate_input: str or None. `"ge2e"` or `"utterance"`; None: the original's (`"utterance"`
            for ge, `"ge2e"` otherwise). Without its input there is no gate: the experts are summed
            with weight 1. Defaults to None.
        high_layer: bool. Apply the shared `high_layers` gate to the branch vectors. Defaults to True.
        batch_first_fix: bool. Recur over each utterance's frames instead of across the batch
            (quirk 1). Defaults to False.
        fix_mask_off_by_one: bool. The attention keys include the query frame (quirk 2). Defaults to False.
        fix_mfcc_length: bool. The MFCC query is the last valid frame, as in the other branches
            (quirk 3). Defaults to False.
        high_layer_stochastic: bool. Hard-concrete noise in `high_layers` during training. Defaults to False.
        l0_penalty: float. Expected-L0 penalty weight of `high_layers`. Defaults to 0.0.
        initializers: str. `"torch"` (PyTorch's default initialisation: Linear and Conv1d
            U(±1/√fan_in), LSTM U(±1/√units), no forget-bias offset) or `"keras"`. Defaults to `"torch"`.
        dtype: str. `"float32"` or `"float64"`. Defaults to `"float32"`.
        name: str or None. Model name. Defaults to `"ser_mmoe_<language>"`.

    Inputs: a dict; see the module docstring. Output: `(batch, num_classes)` probabilities.

    Example:

    >>> model = ser_mmoe("en")
    >>> sum(int(w.numpy().size) for w in model.trainable_weights)
    3208010
    """
    # Arguments
    check_choice("language", language, tuple(LANGUAGES))
    check_choice("gate_input", gate_input, GATE_INPUTS)
    check_choice("initializers", initializers, INITIALIZERS)
    check_choice("dtype", dtype, DTYPES)
    if isinstance(branches, str):
        branches = (branches,)
    branches = tuple(branches)
    if any(b not in BRANCHES for b in branches) or len(set(branches)) != len(branches):
        raise ValueError(
            f"Expected branches to be distinct names from {tuple(BRANCHES)}. Received: branches={branches!r}"
        )
    for argument, value in (
        ("ge2e", ge2e),
        ("high_layer", high_layer),
        ("batch_first_fix", batch_first_fix),
        ("fix_mask_off_by_one", fix_mask_off_by_one),
        ("fix_mfcc_length", fix_mfcc_length),
        ("high_layer_stochastic", high_layer_stochastic),
    ):
        _check_bool(argument, value)
    spec = LANGUAGES[language]
    if gate_input is None:
        gate_input = "utterance" if language == "ge" else "ge2e"
    if utterance is None:
        utterance = not (language == "ge" and gate_input != "utterance")
    _check_bool("utterance", utterance)
    if language == "ge" and utterance and gate_input != "utterance":
        raise ValueError(
            "For language='ge' the utterance vector is not an expert (the ge gate has 4 outputs); it only "
            f"feeds the gate. Use gate_input='utterance' or utterance=False. Received: gate_input={gate_input!r}"
        )
    if num_classes is None:
        num_classes = spec["classes"]
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 2:
        raise ValueError(f"Expected num_classes to be an int >= 2. Received: num_classes={num_classes!r}")
    if not branches and not ge2e and not utterance:
        raise ValueError("The model needs at least one input: a branch, ge2e=True or utterance=True.")
    shapes = {"phone": phone_shape, "mfcc": mfcc_shape, "wav2vec": wav2vec_shape}
    for branch in branches:
        _check_shape(f"{branch}_shape", shapes[branch], (None, BRANCHES[branch][0]))
    for argument, value in (
        ("phone_length_shape", phone_length_shape),
        ("mfcc_length_shape", mfcc_length_shape),
        ("wav2vec_length_shape", wav2vec_length_shape),
    ):
        _check_shape(argument, value, ())
    if ge2e:
        _check_shape("ge2e_shape", ge2e_shape, (WIDTH,))
    if utterance:
        _check_shape("utterance_shape", utterance_shape, (2048,))
    if name is None:
        name = f"ser_mmoe_{language}"
    torch_init = initializers == "torch"

    # Inputs
    inputs = {}
    for branch in branches:
        inputs[branch] = keras.Input(tuple(shapes[branch]), name=branch, dtype=dtype)
        inputs[f"{branch}_length"] = keras.Input((), name=f"{branch}_length", dtype="int32")
    if ge2e:
        inputs["ge2e"] = keras.Input((WIDTH,), name="ge2e", dtype=dtype)
    if utterance:
        inputs["utterance"] = keras.Input((2048,), name="utterance", dtype=dtype)

    # Branches: conv k3 + conv k5 -> BiLSTM -> last-frame attention
    experts = {}
    for branch in branches:
        features, filters, units, num_layers, scale_epsilon, shift = BRANCHES[branch]
        if branch == "mfcc" and fix_mfcc_length:
            shift = 0
        x = inputs[branch]
        convs = [
            layers.Conv1D(filters, k, padding="same", name=f"{branch}_conv_k{k}", dtype=dtype,
                          **_linear_init(features * k, torch_init))(x)
            for k in (3, 5)
        ]
        x = layers.Add(name=f"{branch}_conv", dtype=dtype)(convs)  # (batch, frames, filters)
        rnn_init = {}
        if torch_init:
            bound = 1.0 / math.sqrt(units)
            rnn_init = {
                "kernel_initializer": _uniform(bound),
                "recurrent_initializer": _uniform(bound),
                "bias_initializer": _uniform(bound),
                "unit_forget_bias": False,
            }
        x = BranchRecurrence(
            units, num_layers=num_layers, recur_over_batch=not batch_first_fix, name=f"{branch}_lstm", dtype=dtype,
            **rnn_init,
        )(x)  # (batch, frames, 2 * units)
        attention = LastFrameAttention(
            WIDTH, scale_epsilon=scale_epsilon, length_shift=shift, mask_query_frame=not fix_mask_off_by_one,
            name=f"{branch}_attention", dtype=dtype, **_linear_init(2 * units, torch_init),
        )
        experts[branch] = attention([x, inputs[f"{branch}_length"]])  # (batch, 256)

    # Shared high_layers (DSBN.py) over the branch vectors
    if branches and high_layer:
        gate = HardConcreteGate(
            WIDTH, stochastic=high_layer_stochastic, l0_penalty=l0_penalty, name="high_layer", dtype=dtype
        )
        gated = gate([experts[b] for b in branches])
        experts.update(zip(branches, gated))

    # Utterance adaptor (no activation between the two Linears)
    adapted = None
    if utterance:
        adapted = layers.Dense(512, name="utterance_adaptor", dtype=dtype, **_linear_init(2048, torch_init))(
            inputs["utterance"]
        )
        adapted = layers.Dense(WIDTH, name="utterance_adaptor_1", dtype=dtype, **_linear_init(512, torch_init))(adapted)
        if language != "ge":
            experts["utterance"] = adapted
    if ge2e:
        experts["ge2e"] = inputs["ge2e"]

    # Gate (softmax over the language's experts) and the mixture
    source = {"ge2e": inputs.get("ge2e"), "utterance": adapted}[gate_input]
    order = [k for k in ("phone", "mfcc", "wav2vec", "utterance", "ge2e") if k in experts]
    if source is not None:
        g = source
        for i, units in enumerate((128, 64, 32), start=1):
            g = layers.Dense(units, activation="relu", name=f"gate_{i}", dtype=dtype,
                             **_linear_init(g.shape[-1], torch_init))(g)
        scores = layers.Dense(spec["experts"], activation="softmax", name="gate_scores", dtype=dtype,
                              **_linear_init(32, torch_init))(g)  # (batch, experts)
        mixture = ExpertMixture(
            spec["experts"], present=[EXPERT_INDEX[k] for k in order], separate=EXPERT_INDEX["ge2e"] if ge2e else None,
            width=WIDTH, name="mixture", dtype=dtype,
        )
        x = mixture([[experts[k] for k in order], scores])  # (batch, 512) with GE2E
    else:  # no gate input: the experts summed with weight 1, GE2E appended
        summed = [experts[k] for k in order if k != "ge2e"]
        x = summed[0] if len(summed) == 1 else layers.Add(name="mixture", dtype=dtype)(summed)
        if ge2e:
            x = layers.Concatenate(name="mixture_ge2e", dtype=dtype)([x, experts["ge2e"]])

    # Tower: Dense -> BatchNorm -> activation(s) -> Dropout
    tower = spec["tower"]
    for i, (units, activations, rate) in enumerate(tower, start=1):
        x = layers.Dense(units, name=f"tower_{i}", dtype=dtype, **_linear_init(x.shape[-1], torch_init))(x)
        x = layers.BatchNormalization(epsilon=1e-5, momentum=0.9, name=f"tower_{i}_bn", dtype=dtype)(x)
        for j, activation in enumerate(activations):
            last = i == len(tower) and j == len(activations) - 1
            activation_name = "tower_embedding" if last else f"tower_{i}_{activation}"
            if activation == "gelu":  # exact (erf) GELU, as F.gelu
                x = ErfGELU(name=activation_name, dtype=dtype)(x)
            else:
                x = layers.Activation(activation, name=activation_name, dtype=dtype)(x)
        if rate:
            x = layers.Dropout(rate, name=f"tower_{i}_dropout", dtype=dtype)(x)
    logits = layers.Dense(num_classes, name="logits", dtype=dtype, **_linear_init(x.shape[-1], torch_init))(x)
    probabilities = layers.Activation("softmax", name="probabilities", dtype=dtype)(logits)

    # Model
    return keras.Model(inputs, probabilities, name=name)


def ser_mmoe_ge2e(language="en", num_classes=None, ge2e_shape=(256,), **flags):
    """The GE2E-fed part of SER-MMoE: the language's gate and tower on the GE2E vector alone.

    `ser_mmoe(language, branches=(), ge2e=True, utterance=False, gate_input="ge2e")`: the gate MLP
    (256 -> 128 -> 64 -> 32 -> experts, softmax) scales the GE2E vector by its expert weight; the
    experts that are absent contribute zeros, so the tower keeps the original's 512-d input
    (`[0 || s_ge2e * ge2e]`) and its parameter count. For ge the original gates on the utterance
    vector; here there is none, so it gates on GE2E (its 4 outputs are kept). Parameters
    (trainable): en 472,585; ge 1,230,187; fr 1,230,220; pe 3,857,547.

    Args:
        language: str. `"en"`, `"ge"`, `"pe"` or `"fr"`. Defaults to `"en"`.
        num_classes: int or None. None: the language's. Defaults to None.
        ge2e_shape: tuple. `(256,)`.
        **flags: other `ser_mmoe` arguments (`initializers`, `dtype`, `name`).

    Inputs: `{"ge2e": (batch, 256)}`. Output: `(batch, num_classes)` probabilities.

    Example:

    >>> ser_mmoe_ge2e("ge").count_params()   # with 2 x 1,792 BatchNorm moving statistics
    1233771
    """
    flags.setdefault("name", f"ser_mmoe_ge2e_{language}")
    return ser_mmoe(language, branches=(), ge2e=True, utterance=False, gate_input="ge2e",
                    num_classes=num_classes, ge2e_shape=ge2e_shape, **flags)


def _single_branch(branch, language, num_classes, shape, length_shape, flags):
    flags.setdefault("name", f"ser_{branch}")
    return ser_mmoe(language, branches=(branch,), ge2e=False, utterance=False, num_classes=num_classes,
                    **{f"{branch}_shape": shape, f"{branch}_length_shape": length_shape}, **flags)


def ser_phone(language="en", num_classes=None, phone_shape=(250, 230), phone_length_shape=(), **flags):
    """Single-branch baseline: the phone-posterior branch, `high_layers` and the language's tower.

    `ser_mmoe(branches=("phone",), ge2e=False, utterance=False)`: no gate (nothing to gate on), the
    tower reads the 256-d branch vector. Inputs `phone (frames, 230)`, `phone_length`.

    Example:

    >>> ser_phone().count_params()
    943877
    """
    return _single_branch("phone", language, num_classes, phone_shape, phone_length_shape, flags)


def ser_mfcc(language="en", num_classes=None, mfcc_shape=(250, 24), mfcc_length_shape=(), **flags):
    """Single-branch baseline: the MFCC branch, `high_layers` and the language's tower.

    Inputs `mfcc (frames, 24)`, `mfcc_length`. See `ser_phone`.

    Example:

    >>> ser_mfcc().count_params()
    684741
    """
    return _single_branch("mfcc", language, num_classes, mfcc_shape, mfcc_length_shape, flags)


def ser_wav2vec(language="en", num_classes=None, wav2vec_shape=(250, 512), wav2vec_length_shape=(), **flags):
    """Single-branch baseline: the wav2vec branch, `high_layers` and the language's tower.

    Inputs `wav2vec (frames, 512)`, `wav2vec_length`. See `ser_phone`.

    Example:

    >>> ser_wav2vec().count_params()
    1088261
    """
    return _single_branch("wav2vec", language, num_classes, wav2vec_shape, wav2vec_length_shape, flags)


def training_model(model, language, alpha=None, similarity=None, prune=None, degenerate="zero"):
    """The training graph of a `ser_mmoe*` model: a `label` input and the contrastive term.

    Shares every layer (and weight) with `model`; a `GE2EEmotionLoss` sits between the
    `tower_embedding` layer and the `logits` layer, so compiling with
    `sparse_categorical_crossentropy` and fitting on `{**inputs, "label": y}, y` minimises the
    original's `CE + alpha * contrastive` (`ser_model.py`, the end of each language's block).
    Evaluate and predict with `model` itself.

    Args:
        model: keras.Model. Built by `ser_mmoe` and relatives.
        language: str. Selects the defaults below (see `LANGUAGES`).
        alpha: float or None. Weight of the term; None: the language's (en 0.1, ge 0.01, fr 0.015,
            pe 0.01).
        similarity: tuple or None. `(w, b, trainable, lr_multiplier)`; None: the language's
            (en/pe `(10, -5, False, 1)`, ge/fr `(70.8929, -4.1807, True, 0.01)`).
        prune: bool or None. None: the language's (pe True).
        degenerate: str. `"zero"` or `"nan"` (the original's NaN); see `ge2e_emotion_loss`.
            Defaults to `"zero"`.

    Returns:
        A `keras.Model` with the inputs of `model` plus `label` `(batch,)` int32.
    """
    check_choice("language", language, tuple(LANGUAGES))
    spec = LANGUAGES[language]
    alpha = spec["alpha"] if alpha is None else alpha
    weight, bias, trainable, multiplier = spec["similarity"] if similarity is None else similarity
    prune = spec["prune"] if prune is None else prune
    num_classes = model.output.shape[-1]
    label = keras.Input((), name="label", dtype="int32")
    embedding = model.get_layer("tower_embedding").output
    after = embedding
    for layer in model.layers[model.layers.index(model.get_layer("tower_embedding")) + 1 :]:
        if layer.name == "logits":
            break
        after = layer(after)  # the dropout after the last activation, if any
    loss_layer = GE2EEmotionLoss(
        num_classes, alpha=alpha, similarity_weight=weight, similarity_bias=bias, similarity_trainable=trainable,
        lr_multiplier=multiplier, prune=prune, degenerate=degenerate, name="contrastive_loss", dtype=model.dtype_policy,
    )
    passed = loss_layer([after, label])
    probabilities = model.get_layer("probabilities")(model.get_layer("logits")(passed))
    inputs = dict(model.input) if isinstance(model.input, dict) else {t.name: t for t in model.inputs}
    return keras.Model({**inputs, "label": label}, probabilities, name=f"{model.name}_training")


# training.py: transformers.AdamW (eps 1e-6, weight decay 1e-5), lr 5e-4 / 3; one optimizer step
# per reader chunk (en 1024, ge 512, fr 256 lines) and language, 20 epochs (StepLR never decays).
def _settings(language):
    return TrainSettings(optimizer="adamw", learning_rate=5e-4 / 3, epsilon=1e-6, weight_decay=1e-5,
                         batch_size=LANGUAGES[language]["batch_size"], epochs=20)


_SOURCE = "Seed 004, hannawong/Speech-Emotion-Recognition, SER_mmoe"
_TUTORIAL = "tutorials/13_ser_mmoe.py"
_BRANCH_DEFAULTS = {"phone": (250, 230), "mfcc": (250, 24), "wav2vec": (250, 512)}

SPECS = {
    "ser_mmoe": ModelSpec(
        builder=ser_mmoe,
        inputs=("phone", "phone_length", "mfcc", "mfcc_length", "wav2vec", "wav2vec_length", "ge2e", "utterance"),
        default_shapes={
            "phone": (250, 230), "phone_length": (), "mfcc": (250, 24), "mfcc_length": (),
            "wav2vec": (250, 512), "wav2vec_length": (), "ge2e": (256,), "utterance": (2048,),
        },
        source=f"{_SOURCE}, SER_MODEL (ser_model.py, DSBN.py)",
        tutorial=_TUTORIAL,
        description="SER-MMoE: phone/MFCC/wav2vec conv-BiLSTM-attention experts gated by GE2E, per-language tower (seed 004)",
        train=_settings("en"),
        num_classes=4,
    ),
    "ser_mmoe_ge2e": ModelSpec(
        builder=ser_mmoe_ge2e,
        inputs=("ge2e",),
        default_shapes={"ge2e": (256,)},
        source=f"{_SOURCE}, SER_MODEL's gate and tower on the GE2E embedding alone",
        tutorial=_TUTORIAL,
        description="SER-MMoE's GE2E expert alone: per-language gate and BatchNorm tower on 256-d GE2E embeddings",
        train=_settings("en"),
        num_classes=4,
    ),
}
for _branch, _builder in (("phone", ser_phone), ("mfcc", ser_mfcc), ("wav2vec", ser_wav2vec)):
    SPECS[f"ser_{_branch}"] = ModelSpec(
        builder=_builder,
        inputs=(_branch, f"{_branch}_length"),
        default_shapes={_branch: _BRANCH_DEFAULTS[_branch], f"{_branch}_length": ()},
        source=f"{_SOURCE}, one SER_MODEL branch + high_layers + the en tower (inferred baseline)",
        tutorial=_TUTORIAL,
        description=f"SER-MMoE single-branch baseline: {_branch} conv-BiLSTM-attention + BatchNorm tower (seed 004)",
        train=_settings("en"),
        num_classes=4,
    )
