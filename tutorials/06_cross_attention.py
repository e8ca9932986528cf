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
# # 06. Cross-attention (CA)
#
# *CoAudioText tutorial, section 6.*
#
# Multi-hop attention (tutorial 05) passes information one way at a time: speech -> text, then
# text -> speech. The cross-attention model lets the two modalities **query each other in one
# exchange phase**:
#
# * **speech**: a `Bidirectional` LSTM(64) gives the states `H_s` and keys `K_s`; a zero-source
#   self-attention (dead, as in tutorial 03) pools them into `speech_output` (Dense 128);
# * **text**: the hand-built forward/backward LSTM(32) of tutorial 05 (backward half not re-reversed)
#   gives the states `H_t`, keys `K_t` and the final state `text_final`;
# * **exchange**: `text_to_speech_hop` = ATT(`H_s`, `K_s`, query from `text_final`): the words choose
#   the frames; `speech_to_text_hop` = ATT(`H_t`, `K_t`, query from `speech_output`): the (positionally
#   pooled) speech chooses the characters. Each goes through Dense(128);
# * the head classifies the concatenation of the two **hop** outputs; `speech_output` itself only
#   serves as a query source.
#
# **326,905** parameters at the tutorial's shapes. The speech keys `K_s` are computed once and used
# by two attention blocks (the self-attention and the hop), as in the original.

# %%
import os

FAST = os.environ.get("COAUDIOTEXT_FAST", "0") == "1"
DATA = "demo-tiny" if FAST else "demo"
EPOCHS = 1 if FAST else 10
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import pathlib
import tempfile

import keras
import matplotlib.pyplot as plt
import pandas as pd

from coaudiotext.data import resolve_data
from coaudiotext.data.pipeline import build_features, input_config
from coaudiotext.layers.attention import attention_weights
from coaudiotext.models import MODELS, build_model
from coaudiotext.plots import plot_confusion_matrix
from coaudiotext.train import demo_feature_defaults, train

RUNS = pathlib.Path(tempfile.mkdtemp(prefix="coaudiotext-tutorial-06-"))
print(f"data {DATA}, {EPOCHS} epoch(s), runs in {RUNS}")

# %% [markdown]
# ## 1. The model

# %%
print(MODELS["ca"].description, "|", MODELS["ca"].source)
print("parameters at the tutorial's shapes (7 classes):", build_model("ca").count_params())
manifest, class_names = resolve_data(DATA)
ca = build_model("ca", num_classes=len(class_names))
attention_layers = [layer.name for layer in ca.layers if type(layer).__name__ == "AttentionBlock"]
print("attention blocks:", attention_layers)
ca.summary(line_length=120)

# %% [markdown]
# ## 2. Train
#
# The faithful model, and (outside FAST mode) the same model with both documented fixes: a learned
# query for the speech self-attention (`query="learned"`, tutorial 03) and the re-aligned backward
# text LSTM (`align_backward=True`, tutorial 05).

# %%
variants = {"ca": {}}
if not FAST:
    variants["ca (query=learned, align_backward)"] = {"query": "learned", "align_backward": True}
results = {}
for index, (name, flags) in enumerate(variants.items()):
    results[name] = train("ca", data=DATA, epochs=EPOCHS, out=RUNS / f"ca_{index}", verbose=0, report=False,
                          model_flags=flags)
    print(f"{name:36s} {results[name]['train_seconds']:.0f} s: test accuracy "
          f"{results[name]['test']['accuracy']:.3f}, macro-F1 {results[name]['test']['macro_f1']:.3f}")

# %% [markdown]
# ## 3. The three attention blocks side by side
#
# For 8 test utterances: the dead speech self-attention (identical rows), and the two exchange hops,
# which depend on the input. After one epoch on `demo-tiny` the hop weights are still nearly
# uniform; each panel has its own colour scale.

# %%
train_rows, test_rows = manifest.split("train"), manifest.split("test")
config = input_config(MODELS["ca"].inputs, texts=train_rows.texts,
                      overrides=demo_feature_defaults(MODELS["ca"].inputs))  # as train() on the demo
x_test = build_features(config, test_rows, progress=False)
batch = {name: array[:8] for name, array in x_test.items()}
model = keras.saving.load_model(pathlib.Path(results["ca"]["run_dir"]) / "best.keras")

fig, axes = plt.subplots(1, 3, figsize=(16, 3.4), gridspec_kw={"width_ratios": [1.4, 1.4, 1]})
spread = {}
for axis, name in zip(axes, ("speech_attention", "text_to_speech_hop", "speech_to_text_hop")):
    weights = attention_weights(model, name, batch)
    spread[name] = float(weights.std(axis=0).max())
    image = axis.imshow(weights, aspect="auto", cmap="viridis")
    axis.set_title(name)
    axis.set_xlabel("character position" if name == "speech_to_text_hop" else "frame")
    plt.colorbar(image, ax=axis)
axes[0].set_ylabel("test utterance")
plt.tight_layout()
plt.show()
print("largest standard deviation across utterances of one position's weight:", spread)

# %%
plot_confusion_matrix(results["ca"]["test"]["confusion_matrix"], class_names, title="ca on test")
plt.show()

# %% [markdown]
# ## 4. The six tutorial models, as the tutorial reported them
#
# For reference, the tutorial's numbers on ProSem (7 classes). Its "validation" split was its test
# set, so these were selected on test: they are optimistic. Cross-attention did not beat the simpler
# multi-hop model there. `coaudiotext` selects on a separate validation split; the README's table
# reports all six models trained on the full demo corpus.

# %%
reported = pd.DataFrame({
    "model": ["bilstm", "bilstm_att", "para", "mha_a", "mha_a_t", "ca"],
    "tutorial name": ["Audio-BRE", "Audio-BRE-Att", "Para-BRE-Att", "MHA-A", "MHA-AT", "CA"],
    "accuracy (ProSem, reported)": [0.839, 0.893, 0.932, 0.938, 0.928, 0.918],
    "macro-F1 (ProSem, reported)": [0.652, 0.759, 0.919, 0.928, 0.909, 0.884],
})
reported["parameters (7 classes)"] = [build_model(key).count_params() for key in reported["model"]]
reported

# %% [markdown]
# ## Results
#
# What this notebook trained (on `demo-tiny` with one epoch the numbers are noise; they show that
# the model trains and evaluates end to end).

# %%
rows = []
for name, result in results.items():
    for split in ("val", "test"):
        m = result[split]
        rows.append({"model": name, "split": split, "accuracy (WA)": m["accuracy"], "UA": m["ua"],
                     "macro-F1": m["macro_f1"], "parameters": result["parameters"]})
table = pd.DataFrame(rows).round(3)
print(f"{EPOCHS} epoch(s) on {DATA}")
table

# %% [markdown]
# **Next**: tutorial 07 asks what happens when the transcript comes from a speech recogniser, with
# errors, instead of the gold script.
