# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 03. Self-attentive BiLSTM (Audio-BRE-Att), and what its attention really computes
#
# *CoAudioText tutorial, section 3.*
#
# Tutorial 02's BiLSTM summarises an utterance by its **last** hidden states. A self-attentive
# BiLSTM (Lin et al. 2017, *A structured self-attentive sentence embedding*) instead takes a
# **weighted sum of all hidden states** `H = (h_1, ..., h_T)`, with weights computed by a small
# network. The tutorial's block, in its own words:
#
# ```python
# speech_layer = Bidirectional(LSTM(64, return_sequences=True))(speech_input)   # H: (T, 128)
# speech_att = Dense(64, activation='tanh')(speech_layer)                      # keys K: (T, 64)
# att_source = np.zeros((len(rnn_speech), 64))                                 # an all-zero input!
# att_vec = Dense(64, activation='relu')(att_input)                            # query q: (64,)
# att_vec = Dropout(0.3)(att_vec)
# att_vec = Dense(64, activation='relu')(att_vec)
# att_vec = Lambda(lambda x: K.batch_dot(*x, axes=(1, 2)))([att_vec, speech_att])   # scores s = K q: (T,)
# att_vec = Dense(200, activation='softmax')(att_vec)                          # a = softmax(s W + b): (T,)
# speech_output = K.sum(att_vec * speech_layer, axis=1)                        # sum_t a_t h_t: (128,)
# ```
#
# followed by Dense(128) -> Dropout -> Dense(128) -> Dropout -> softmax.
#
# In `coaudiotext` the block is one layer, `AttentionBlock`, and the query comes from a
# `ZeroSource` layer instead of a dummy input (same parameters: **190,031** at the tutorial's shapes).
# This notebook trains the faithful model, then looks inside: **the zero source makes the attention
# the same for every utterance**. Then it trains the documented fix, `query="learned"`.

# %%
import os

FAST = os.environ.get("COAUDIOTEXT_FAST", "0") == "1"
DATA = "demo-tiny" if FAST else "demo"
EPOCHS = 2 if FAST else 10
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import pathlib
import tempfile

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import tensorflow as tf

from coaudiotext.data import resolve_data
from coaudiotext.data.pipeline import build_features, encode_labels, input_config
from coaudiotext.layers.attention import attention_weights
from coaudiotext.models import MODELS, build_model
from coaudiotext.plots import plot_confusion_matrix, plot_history
from coaudiotext.train import train

RUNS = pathlib.Path(tempfile.mkdtemp(prefix="coaudiotext-tutorial-03-"))
print(f"data {DATA}, {EPOCHS} epochs, runs in {RUNS}")

# %% [markdown]
# ## 1. The model, layer by layer
#
# The layer names follow the roles: `speech_bilstm` (H), `speech_context` (the keys K),
# `speech_attention_source` (the zero vector), `speech_query_hidden_1` / `speech_query` (the query
# MLP), `speech_attention` (scores, T x T score mixer `W, b`, softmax, weighted sum), then the head.

# %%
print(MODELS["bilstm_att"].description, "|", MODELS["bilstm_att"].source)
print("parameters at the tutorial's shapes (7 classes):", build_model("bilstm_att").count_params())
build_model("bilstm_att", num_classes=5).summary()

# %% [markdown]
# ## 2. Train the faithful model
#
# `coaudiotext.train.train` does what tutorial 02 did by hand (features, model, F1 callback, best
# checkpoint on validation macro-F1, test evaluation) and writes a run directory.

# %%
faithful = train("bilstm_att", data=DATA, epochs=EPOCHS, out=RUNS / "bilstm_att", verbose=0, report=False)
print(f"trained in {faithful['train_seconds']:.0f} s; best epoch {faithful['best_epoch']}; "
      f"test accuracy {faithful['test']['accuracy']:.3f}, macro-F1 {faithful['test']['macro_f1']:.3f}")
history = pd.read_csv(pathlib.Path(faithful["run_dir"]) / "history.csv")
plot_history(history.to_dict("list"))
plt.show()

# %% [markdown]
# ## 3. Look at the attention weights
#
# `coaudiotext.layers.attention.attention_weights(model, layer_name, inputs)` runs the model up to
# an `AttentionBlock` and returns its weights `a` (batch, T). We take a batch of test utterances.

# %%
manifest, class_names = resolve_data(DATA)
train_rows, test_rows = manifest.split("train"), manifest.split("test")
config = input_config(MODELS["bilstm_att"].inputs, texts=train_rows.texts)
x_test = build_features(config, test_rows, progress=False)
y_test = encode_labels(test_rows.labels, class_names)
batch = {name: array[:16] for name, array in x_test.items()}

model = keras.saving.load_model(pathlib.Path(faithful["run_dir"]) / "best.keras")
weights = attention_weights(model, "speech_attention", batch)  # (16, 200)

fig, axes = plt.subplots(1, 2, figsize=(13, 3.2))
image = axes[0].imshow(weights, aspect="auto", cmap="viridis")
axes[0].set_xlabel("frame")
axes[0].set_ylabel("test utterance")
axes[0].set_title("faithful (zero source): attention weights")
plt.colorbar(image, ax=axes[0])
axes[1].plot(weights.T, alpha=0.6)
axes[1].set_xlabel("frame")
axes[1].set_title("the same 16 rows, overlaid")
plt.tight_layout()
plt.show()
print("largest difference between any two rows:", float(np.abs(weights - weights[0]).max()))

# %% [markdown]
# **Every row is the same.** Why: the attention source is all zeros, and the query MLP is
# `q = relu(W2 relu(W1 0 + b1) + b2)`. The biases start at 0, so `q = relu(0) = 0`; and since the
# derivative of `relu` at 0 is 0, **no gradient ever reaches `W1, b1, W2, b2`**: the query stays
# exactly 0 for the whole of training. Then the scores are `s = K q = 0` whatever the audio, and
#
# `a = softmax(s W + b) = softmax(b)`:
#
# the attention is the softmax of the score mixer's **bias**, one learned weighting of the 200
# frame positions, shared by all utterances. The keys `K` and the mixer's kernel `W` never train
# either. Let us check each claim.

# %%
probe = keras.Model(model.inputs, model.get_layer("speech_query").output)
query = np.asarray(probe(batch, training=False))
bias = np.asarray(model.get_layer("speech_attention").score_mixer_bias)
softmax_bias = np.exp(bias - bias.max()) / np.exp(bias - bias.max()).sum()
print("query is exactly zero for every utterance:", bool(np.all(query == 0)))
print("attention == softmax(score mixer bias):", bool(np.allclose(weights, softmax_bias[None], atol=1e-6)))

# Which weights receive a gradient? One batch, the training loss, tf.GradientTape.
x_train = build_features(config, train_rows, progress=False)
y_train = encode_labels(train_rows.labels, class_names)
with tf.GradientTape() as tape:
    probabilities = model({k: v[:16] for k, v in x_train.items()}, training=True)
    loss = keras.losses.sparse_categorical_crossentropy(y_train[:16], probabilities)
gradients = tape.gradient(loss, model.trainable_weights)
gradient_table = pd.DataFrame(
    [{"weight": w.path, "shape": tuple(w.shape), "|gradient|": float(tf.norm(g)) if g is not None else 0.0}
     for w, g in zip(model.trainable_weights, gradients)])
gradient_table

# %% [markdown]
# The query MLP, the keys (`speech_context`) and the mixer's kernel get **zero** gradient; only the
# mixer's bias, the LSTM and the head learn. So Audio-BRE-Att's "attention" is a *learned positional
# pooling*: which frames matter on average. Plotting `softmax(b)` shows where the model has learned
# to look; with the utterances aligned on their end (tutorial 01), the interesting part is the last
# frames. (On `demo-tiny` after 2 epochs the bias has hardly moved from uniform.)

# %%
plt.figure(figsize=(9, 2.8))
plt.plot(softmax_bias)
plt.axhline(1 / len(softmax_bias), color="grey", ls="--", label="uniform")
plt.xlabel("frame")
plt.ylabel("weight")
plt.title("the faithful model's attention: softmax of the score mixer's bias")
plt.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 4. The fix: `query="learned"`
#
# `query="learned"` replaces the zero source by a trainable vector (`LearnedSource`, 64 more
# parameters). The ReLUs start alive, the query and keys train, and the scores `K q` now depend on
# the hidden states, so each utterance gets its own weights. (On ProSem the faithful model's
# numbers are what the tutorial reported; the fix is opt-in.)

# %%
learned = train("bilstm_att", data=DATA, epochs=EPOCHS, out=RUNS / "bilstm_att_learned", verbose=0,
                report=False, model_flags={"query": "learned"})
learned_model = keras.saving.load_model(pathlib.Path(learned["run_dir"]) / "best.keras")
learned_weights = attention_weights(learned_model, "speech_attention", batch)

fig, axes = plt.subplots(1, 2, figsize=(13, 3.2))
for axis, (title, values) in zip(axes, [("faithful (zero source)", weights), ('query="learned"', learned_weights)]):
    image = axis.imshow(values, aspect="auto", cmap="viridis")
    axis.set_title(title)
    axis.set_xlabel("frame")
    plt.colorbar(image, ax=axis)
axes[0].set_ylabel("test utterance")
plt.tight_layout()
plt.show()
spread = {"faithful": float(weights.std(axis=0).max()), "learned": float(learned_weights.std(axis=0).max())}
print("largest standard deviation across utterances of a frame's weight:", spread)

# %%
plot_confusion_matrix(learned["test"]["confusion_matrix"], class_names, title='bilstm_att, query="learned", test')
plt.show()

# %% [markdown]
# ## Results
#
# Both variants, trained here with the same data, epochs and seed, and selected on validation
# macro-F1. On `demo-tiny` with 2 epochs the scores are noise (24 test utterances); the point of this
# notebook is the attention analysis. The README's results table has the full demo-corpus numbers.

# %%
rows = []
for variant, result in (("faithful (zero source)", faithful), ('query="learned"', learned)):
    for split in ("val", "test"):
        m = result[split]
        rows.append({"model": "bilstm_att", "variant": variant, "split": split, "accuracy (WA)": m["accuracy"],
                     "UA": m["ua"], "macro-F1": m["macro_f1"], "parameters": result["parameters"]})
results = pd.DataFrame(rows).round(3)
results["attention differs across utterances"] = results["variant"].map(
    {"faithful (zero source)": spread["faithful"] > 1e-6, 'query="learned"': spread["learned"] > 1e-6})
results

# %% [markdown]
# **Next**: tutorial 04 adds the text: a second self-attentive BiLSTM over the transcript's characters.
