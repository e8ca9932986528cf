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
# # 02. Speech only: a BiLSTM over mel + RMS frames (Audio-BRE)
#
# *CoAudioText tutorial, section 2: speech-only analysis with librosa and Keras.*
#
# The first model reads only the audio features of tutorial 01: a bidirectional LSTM runs over the
# 200 frames, the last states of both directions (2 x 64) go through a Dense(128, relu) layer and a
# softmax. The tutorial's code (Keras 2.1, `Sequential`):
#
# ```python
# model = Sequential()
# model.add(Bidirectional(LSTM(hidden_lstm), input_shape=(200, 129)))
# model.add(layers.Dense(hidden_dim, activation='relu'))
# model.add(layers.Dense(int(max(y)+1), activation='softmax'))
# model.compile(optimizer=adam_half, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
# model.fit(rnn_speech, train_y, validation_split=0.1, epochs=100, batch_size=16,
#           callbacks=[metricsf1macro, checkpoint], class_weight=cw)
# ```
#
# In this notebook we do by hand what `python -m coaudiotext.train --model bilstm` does: build the
# features, build the model from the registry, train it with the **F1 callback**, keep the best
# epoch on the validation split, and evaluate it on the test split.
#
# What the port keeps, and what it changes (each change is a flag or an explicit choice):
#
# * **Keras 2.1's LSTM gate activation**: `hard_sigmoid` was `0.2 x + 0.5` in Keras 2.1 (Keras 3's has
#   slope 1/6). The faithful default reproduces it; `recurrent_activation="sigmoid"` is the fast,
#   modern choice.
# * **Adam** with learning rate 5e-4 and epsilon 1e-8 (`adam_half`), batch 16; a *fresh* optimizer per
#   model (the tutorial shared one object between models).
# * `class_weight`: Keras 2.1 silently ignored it in this setting, so training is unweighted by default.
# * `validation_split=0.1` took the *last* 10% of the arrays, which in the tutorial were the test
#   utterances: the "validation" curve was the test set. We use explicit train / val / test splits
#   and select the checkpoint on **val** only.

# %%
import os

FAST = os.environ.get("COAUDIOTEXT_FAST", "0") == "1"
DATA = "demo-tiny" if FAST else "demo"
EPOCHS = 2 if FAST else 10
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import pathlib
import tempfile
import time

import keras
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display

from coaudiotext.callbacks import F1Callback
from coaudiotext.data import resolve_data
from coaudiotext.data.pipeline import build_features, encode_labels, input_config, make_dataset
from coaudiotext.evaluate import evaluate_arrays
from coaudiotext.models import MODELS, build_model
from coaudiotext.plots import plot_confusion_matrix, plot_history
from coaudiotext.train import make_optimizer

keras.utils.set_random_seed(0)
RUNS = pathlib.Path(tempfile.mkdtemp(prefix="coaudiotext-tutorial-02-"))
print(f"data {DATA}, {EPOCHS} epochs, runs in {RUNS}")

# %% [markdown]
# ## 1. Features for the inputs the model declares
#
# The registry entry of a model lists its inputs; the data pipeline builds exactly those. `bilstm`
# needs one input, `audio`: the `(200, 129)` mel + RMS frames. `build_features` computes them through
# `tf.data` and caches them on disk, so the next notebooks start instantly.

# %%
spec = MODELS["bilstm"]
print("bilstm:", spec.description, "| inputs:", spec.inputs, "| source:", spec.source)

manifest, class_names = resolve_data(DATA)
splits = {name: manifest.split(name) for name in ("train", "val", "test")}
config = input_config(spec.inputs, texts=splits["train"].texts)
print("feature settings:", config)

start = time.perf_counter()
x = {name: build_features(config, rows, progress=False) for name, rows in splits.items()}
y = {name: encode_labels(rows.labels, class_names) for name, rows in splits.items()}
print(f"features in {time.perf_counter() - start:.1f} s:",
      {name: (arrays["audio"].shape, len(y[name])) for name, arrays in x.items()})
print("classes:", class_names, "| train labels:", np.bincount(y["train"], minlength=len(class_names)))

# %% [markdown]
# ## 2. The model
#
# `build_model("bilstm")` returns the uncompiled Keras model; every layer is named after its role.
# At the tutorial's shapes (7 ProSem classes) it has **116,743** parameters; the demo corpus has 5
# classes, so the classifier is 2 x 129 weights smaller.

# %%
print("parameters at the tutorial's 7 classes:", build_model("bilstm").count_params())
model = build_model("bilstm", num_classes=len(class_names), audio_shape=x["train"]["audio"].shape[1:])
model.summary()

# %% [markdown]
# ## 3. Training with the F1 callback
#
# Accuracy alone hides what happens to small classes, so the tutorial printed macro F1 after every
# epoch from a callback (`Metricsf1macro`, pasted three times for 1, 2 and 4 inputs, reading
# `self.validation_data`, which TF >= 2.2 no longer provides). `coaudiotext.callbacks.F1Callback`
# takes the validation set (any number of inputs) and **writes** `val_macro_f1`, `val_weighted_f1`,
# `val_ua`, `val_macro_precision` and `val_macro_recall` into the Keras logs, so `ModelCheckpoint`,
# `EarlyStopping` and the history can use them. It must come before the callbacks that read them.

# %%
model.compile(optimizer=make_optimizer(spec.train), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
train_ds = make_dataset(x["train"], y["train"], batch_size=spec.train.batch_size, shuffle=True, seed=0)
val_ds = make_dataset(x["val"], y["val"], batch_size=64)
best_path = RUNS / "bilstm_best.keras"
callbacks = [
    F1Callback(val_ds, class_names),
    keras.callbacks.ModelCheckpoint(best_path, monitor="val_macro_f1", mode="max", save_best_only=True),
]
start = time.perf_counter()
history = model.fit(train_ds, validation_data=val_ds, epochs=EPOCHS, callbacks=callbacks, verbose=0,
                    shuffle=False)  # make_dataset already shuffles the training set every epoch
train_seconds = time.perf_counter() - start
print(f"{EPOCHS} epochs in {train_seconds:.0f} s")
pd.DataFrame(history.history).round(3)

# %%
plot_history(history.history)
plt.show()

# %% [markdown]
# ## 4. Evaluation of the selected checkpoint
#
# The best epoch by validation macro-F1 is reloaded (`.keras` files reload with `safe_mode` on: the
# package registers its layers) and evaluated on the **test** split: unseen voices and unseen
# scripts. The metrics have their proper names: **accuracy (WA)** is overall accuracy, **UA** the
# unweighted average recall (balanced accuracy).

# %%
best = keras.saving.load_model(best_path)
metrics = {split: evaluate_arrays(best, x[split], y[split], class_names) for split in ("val", "test")}
plot_confusion_matrix(metrics["test"]["confusion_matrix"], class_names, title="bilstm on test")
plt.show()
pd.DataFrame(metrics["test"]["per_class"]).T.round(3)

# %% [markdown]
# **Reading the confusion matrix.** A speech-only model hears the tune, not the words. The best it
# can learn is *rising* (`yn`, `r`, spoken with `?`) versus *falling* (`s`, `wh`) versus *exclamatory*
# (`c`); it cannot separate `s` from `wh` or `yn` from `r` without the words, so expect confusions
# inside those pairs. On `demo-tiny` (48 training utterances) with 2 epochs the model has barely
# started to learn, and the numbers are close to chance: they only show that the pipeline works.
# The README's results table reports every model trained on the full demo corpus.

# %% [markdown]
# ## Results

# %%
rows = []
for split in ("val", "test"):
    m = metrics[split]
    rows.append({"model": "bilstm", "split": split, "n": m["n"], "accuracy (WA)": m["accuracy"], "UA": m["ua"],
                 "macro-F1": m["macro_f1"], "weighted-F1": m["weighted_f1"]})
results = pd.DataFrame(rows).round(3)
results["parameters"] = best.count_params()
results["epochs"] = EPOCHS
results["selection"] = "best val macro-F1"
results

# %% [markdown]
# The same run from the command line writes a run directory with the config, history, best
# checkpoint, metrics JSON and plots:
#
# ```bash
# python -m coaudiotext.train --model bilstm --data demo --epochs 10
# ```
#
# **Next**: tutorial 03 adds attention over the BiLSTM's hidden states.
