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
# # 00. The problem and the data
#
# *CoAudioText tutorial, section 0: problem definition and loading the data set.*
#
# Understanding the **intention** of an utterance is hard when the words alone do not decide it:
# in a chat log or a speech-recognition transcript the intonation is gone. The tutorial's concern
# is to tell whether an utterance is a statement, a question (and which type), a command or a
# request, and whether it is rhetorical. In Seoul Korean, which is *wh-in-situ*, many sentences
# can be read several ways and only the prosody (the pitch contour, the pauses, the overall tone)
# decides, so a spoken-language-understanding system needs **both the audio and the text**.
#
# This notebook introduces:
#
# 1. **ProSem**, the Korean corpus of the original tutorial (not shipped with this package);
# 2. the **demo corpus** embedded in `coaudiotext`: the same problem, in English, synthesised locally
#    with espeak-ng, so that every notebook runs anywhere without downloads;
# 3. what separates the intentions acoustically: we listen to examples and draw pitch contours
#    (a question `?` rises at the end, a statement `.` falls).
#
# `COAUDIOTEXT_FAST=1` (used by CI) uses the tiny demo corpus and fewer examples.

# %%
import os

FAST = os.environ.get("COAUDIOTEXT_FAST", "0") == "1"
DATA = "demo-tiny" if FAST else "demo"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import pathlib
import time

import librosa
import soundfile
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Audio, Markdown, display

import coaudiotext
from coaudiotext.data import demo, prosem, resolve_data

print("coaudiotext", coaudiotext.__version__, "| data:", DATA)

# %% [markdown]
# ## 1. ProSem: the tutorial's corpus
#
# ProSem (Cho et al., ICPhS 2019) has **3,552 Korean scripts**, each read by one female and one male
# speaker (7,104 wav files), labelled with seven intentions:
#
# | code | intention | example gloss |
# |---|---|---|
# | `s` | statement | "Somebody seems to be teaching them." |
# | `yn` | yes/no question | "Is somebody teaching you?" |
# | `wh` | wh-question | "Who'll teach me?" |
# | `rq` | rhetorical question | "Who would teach you?" (= nobody) |
# | `c` | command | "Teach me." |
# | `r` | request | "Could somebody teach me?" |
# | `rc` | rhetorical command | |
#
# The script file `spec_final.txt` (7 tab-separated columns: lemma, wh-family id, script, label,
# English gloss, speech level, note) and the tutorial's split files `x_fem.npy`, `x_mal.npy` are
# in the tutorial repository; the recordings are a separate download. The tutorial's split is
# 6,392 training and 712 test utterances (`coaudiotext.data.prosem.load_prosem` reproduces it
# exactly; `python -m coaudiotext.train --data prosem ...` trains on it).
#
# **Every ProSem script carries 2 to 4 labels**: the same words are recorded once per intention.
# So a model that reads only the text can at best pick each script's most frequent label. If the
# script file `spec_final.txt` is found near this checkout, the next cell measures that ceiling;
# otherwise it states the measured figure (36.4% on the tutorial's `spec_final.txt`) and where to get
# the file to measure it yourself.

# %%
def find_prosem_script():
    here = pathlib.Path.cwd().resolve()
    if (here / "spec_final.txt").is_file():
        return here / "spec_final.txt"
    for folder in [here, *here.parents][:4]:
        candidate = folder / "shared" / "data" / "prosem" / "spec_final.txt"
        if candidate.is_file():
            return candidate
    return None


script_file = find_prosem_script()
if script_file is None:
    display(Markdown("`spec_final.txt` was not found near this checkout. Measured on that file (the "
                     "tutorial's `text/spec_final.txt`, https://github.com/warnikchow/coaudiotext): "
                     "**text-only ceiling 36.4%**: a model that reads only the words can be right on at "
                     "most 36.4% of ProSem's utterances. Put the file in `shared/data/prosem/` beside "
                     "this checkout (or in the working folder) to measure it here."))
    prosem_summary = None
else:
    rows = prosem.read_prosem_script(script_file)
    scripts = pd.DataFrame(rows)
    labels_per_script = scripts.groupby("text")["label"].nunique()
    prosem_summary = {
        "rows": len(scripts),
        "distinct scripts": scripts["text"].nunique(),
        "labels per script (min-max)": f"{labels_per_script.min()}-{labels_per_script.max()}",
        "text-only ceiling": prosem.text_only_ceiling(rows),
    }
    display(pd.Series(prosem_summary, name="ProSem spec_final.txt").to_frame())
    display(scripts["label"].value_counts().reindex(list(prosem.PROSEM_LABELS)).to_frame("rows"))
    example = labels_per_script.idxmax()
    display(Markdown(f"One script, several intentions: **{example}**"))
    display(scripts[scripts["text"] == example][["text", "label", "gloss"]])

# %% [markdown]
# ## 2. The demo corpus: the same problem, licence-free
#
# `coaudiotext.data.demo` builds an English corpus with the same property. Its sentences come from a
# small compositional grammar (`coaudiotext.data.generator`: statements, wh-questions and imperatives
# over a lexicon of names, nouns, verbs in several tenses, places, times and numbers, 3-14 words), so the
# models must learn the *form* of a sentence, not a list of sentences. Each is **spoken** by espeak-ng as
# `text + punctuation`, where the punctuation
# comes from the label and makes espeak-ng choose the tune, and **transcribed** as `text` without
# punctuation (as a speech recogniser would write it):

# %%
display(pd.DataFrame({"punctuation (spoken)": demo.PUNCTUATION}).rename_axis("label"))
display(pd.DataFrame({"labels": {form: ", ".join(labels) for form, labels in demo.FORMS.items()}}).rename_axis("script form"))

# %% [markdown]
# Every script appears **once with every label its form admits**: "you locked the door" is both a
# statement (`s`, falling) and a yes/no question (`yn`, rising); "close the window" is a command
# (`c`, `!`) and a request (`r`, `?`). So the transcript alone caps accuracy at 50%, and the tune
# alone cannot tell a statement from a wh-question (both fall) nor a yes/no question from a request
# (both rise); **together** they can. Each espeak-ng voice/variant with its own pitch and rate is
# one `speaker`. The **test** split uses unseen voices, unseen scripts, and words held out of the
# training lexicon (every test sentence has at least one); the **handwritten** split holds the 210
# sentences the project wrote by hand, spoken by the unseen voices and never trained on.
#
# `resolve_data` builds the corpus on first use (seconds; cached under `~/.cache/coaudiotext` or
# `$COAUDIOTEXT_CACHE`) and returns the validated manifest and the class names.

# %%
start = time.perf_counter()
manifest, class_names = resolve_data(DATA)
print(f"{DATA}: {len(manifest)} utterances in {time.perf_counter() - start:.1f} s; classes {class_names}")
table = pd.DataFrame(manifest.rows)
display(table[["text", "label", "speaker", "split"]].head(6))
display(pd.crosstab(table["split"], table["label"], margins=True)[class_names + ["All"]])

# %%
per_split = table.groupby("split").agg(utterances=("text", "size"), scripts=("text", "nunique"),
                                      speakers=("speaker", "nunique"))
train_scripts, test_scripts = set(table[table.split == "train"].text), set(table[table.split == "test"].text)
train_voices, test_voices = set(table[table.split == "train"].speaker), set(table[table.split == "test"].speaker)
print("scripts shared by train and test:", len(train_scripts & test_scripts),
      "| voices shared by train and test:", len(train_voices & test_voices))
demo_ceiling = demo.text_only_ceiling(manifest.rows)
print(f"text-only ceiling (majority label of each transcript): {demo_ceiling:.1%}")
per_split

# %% [markdown]
# ## 3. Listen
#
# One script from the test split, spoken by one voice with every label of its form. Listen to the
# end of each utterance.

# %%
test = table[table.split == "test"]
speaker = test.speaker.iloc[0]
pair_text = test[(test.speaker == speaker) & (test.label == "yn")].text.iloc[0]
examples = test[(test.speaker == speaker) & (test.text == pair_text)]
for _, row in examples.iterrows():
    display(Markdown(f"`{row.label}`: *{row.text}* ({row.speaker}, spoken as `{row.text}{demo.PUNCTUATION[row.label]}`)"))
    display(Audio(row.audio_path))

# %% [markdown]
# ## 4. Pitch contours: what the audio adds
#
# The fundamental frequency F0 (the pitch) tracked with `librosa.pyin`: a question (`?`) ends with a
# **rise**, a statement (`.`) with a **fall**. We plot F0 against normalised time, so utterances of
# different lengths line up at their ends. Solid: frames pyin calls voiced; dotted: its best guess
# elsewhere (pyin tends to give up on the last, breathy frames, where espeak-ng's rise is).

# %%
def pyin_contour(path, sr=16000):
    y, _ = librosa.load(path, sr=sr)
    f0, voiced, _ = librosa.pyin(y, fmin=60, fmax=500, sr=sr, frame_length=1024, fill_na=None)
    return f0, voiced


fig, axis = plt.subplots(figsize=(9, 3.5))
for _, row in examples.iterrows():
    f0, voiced = pyin_contour(row.audio_path)
    t = np.linspace(0, 1, len(f0))
    line, = axis.plot(t, np.where(voiced, f0, np.nan), marker=".", label=f"{row.label} (spoken with '{demo.PUNCTUATION[row.label]}')")
    axis.plot(t, f0, ":", color=line.get_color(), alpha=0.6)
axis.set_xlabel("normalised time")
axis.set_ylabel("F0 (Hz)")
axis.set_title(f"'{pair_text}', {speaker}")
axis.legend(loc="lower left")
plt.tight_layout()
plt.show()

# %% [markdown]
# The same measurement over more utterances, as one number: `demo.pitch_ratio`, the mean F0 of the
# last 3 voiced frames over the median F0 of the first 80% (tracked with `librosa.yin`, about 30 ms
# per utterance). Labels spoken with `?` (`yn`, `r`) should sit above the others. A threshold on this
# single number is a decent "rising or not" detector, but it cannot tell `s` from `wh` or `yn` from
# `r`: for that a model needs the words.

# %%
per_label = 4 if FAST else 40
held_out = table[table.split != "train"]
sample = pd.concat([group.sample(min(per_label, len(group)), random_state=0) for _, group in held_out.groupby("label")])
start = time.perf_counter()
sample["rise_ratio"] = [demo.pitch_ratio(*soundfile.read(path, dtype="float32")) for path in sample.audio_path]
print(f"pitch ratio of {len(sample)} utterances in {time.perf_counter() - start:.1f} s")
sample["rising_tune"] = sample.label.isin(demo.RISING_LABELS)

fig, axis = plt.subplots(figsize=(7, 3.2))
axis.boxplot([sample[sample.label == label].rise_ratio.dropna() for label in class_names], tick_labels=class_names)
axis.axhline(1.0, color="grey", ls="--")
axis.set_ylabel("final F0 / median F0")
axis.set_title("sentence-final pitch movement by label (val + test utterances)")
plt.tight_layout()
plt.show()

valid = sample.dropna(subset=["rise_ratio"])
threshold_accuracy = float(((valid.rise_ratio >= 1.0) == valid.rising_tune).mean())
candidates = np.unique(valid.rise_ratio)
scores = [float(((valid.rise_ratio >= t) == valid.rising_tune).mean()) for t in candidates]
best_threshold, best_accuracy = float(candidates[int(np.argmax(scores))]), max(scores)
print(f"'ratio >= 1.0' agrees with 'spoken with ?' for {threshold_accuracy:.1%} of {len(valid)} utterances; "
      f"the best threshold on these same utterances ({best_threshold:.2f}) for {best_accuracy:.1%}")

# %% [markdown]
# ## Results
#
# What this notebook measured (on `demo-tiny` in FAST mode, with only a handful of pitch tracks, the
# numbers are rough):

# %%
results = pd.DataFrame([
    {"quantity": "demo utterances (train / val / test)",
     "value": " / ".join(str((table.split == s).sum()) for s in ("train", "val", "test"))},
    {"quantity": "demo text-only ceiling", "value": f"{demo_ceiling:.1%}"},
    {"quantity": "pitch ratio >= 1 agrees with '?' (val+test sample)", "value": f"{threshold_accuracy:.1%} (n={len(valid)})"},
    {"quantity": "same, best threshold (fit on the same sample)", "value": f"{best_accuracy:.1%} (>= {best_threshold:.2f})"},
    {"quantity": "ProSem text-only ceiling",
     "value": f"{prosem_summary['text-only ceiling']:.1%}" if prosem_summary else "spec_final.txt not found"},
])
results

# %% [markdown]
# **Next**: tutorial 01 turns each utterance into the tutorial's acoustic features (mel spectrogram
# + RMS energy, the last 200 frames); tutorials 02-06 train the tutorial's six models on them.
