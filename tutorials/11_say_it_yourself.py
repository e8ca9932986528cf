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
# # 11. Say it yourself: your own sentence, your own voice, the shipped models
#
# The models in `weights/` were trained on the demo corpus: generated English sentences of three
# forms (declarative, wh, imperative), each spoken with the two tunes its form admits. Here you type
# a sentence of your own, choose a voice the models never heard (or bring a wav you recorded), and ask
# the shipped models what the speaker *meant*.
#
# Two things decide the label, and you control both:
#
# * **the words** (the transcript): they tell the *form*. `close the window` is imperative,
#   `you closed the window` declarative, `where did you put it` a wh-form;
# * **the tune** (the audio): espeak-ng reads the final punctuation. `.` and `!` fall, `?` rises.
#   A rise on an imperative makes it a request (`r`), on a declarative or wh-form a yes/no question
#   (`yn`).
#
# | you type | form (words) | tune | label |
# |---|---|---|---|
# | `my sister moved to lisbon.` | declarative | falls | `s` statement |
# | `my sister moved to lisbon?` | declarative | rises | `yn` yes/no question |
# | `why is the kitchen light still on.` | wh | falls | `wh` wh-question |
# | `hand me the scissors!` | imperative | falls | `c` command |
# | `hand me the scissors?` | imperative | rises | `r` request |

# %%
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import pathlib
import tempfile

FAST = os.environ.get("COAUDIOTEXT_FAST", "0") == "1"  # CI: one voice in section 3

import IPython.display as ipd
import pandas as pd
import soundfile

from coaudiotext.data.espeak import render
from coaudiotext.data.voices import parse_voice
from coaudiotext.predict import load_trained, predict, text_notes

WEIGHTS = pathlib.Path("..") / "weights" if pathlib.Path("../weights").is_dir() else pathlib.Path("weights")
OUT = pathlib.Path(tempfile.mkdtemp(prefix="coaudiotext-tutorial-11-"))
print("weights from", WEIGHTS)

# %% [markdown]
# ## 1. Render a sentence
#
# `render(text, voice)` speaks `text` with espeak-ng and returns float32 samples at 22,050 Hz. A voice is
# `LANGUAGE+VARIANT` (`python -m coaudiotext.data.demo --list-voices` lists them), optionally with
# pitch, rate and pitch range: `en-gb-x-rp+m3:40:160`. The demo's test voices use variants never used
# in training; `en-us+f3` is one of those.

# %%
SENTENCE = "could you pass me the salt?"   # change me: any sentence, ending with . ? or !
VOICE = "en-us+f3"                          # change me

speaker = parse_voice(VOICE)
samples, sr = render(SENTENCE, speaker.voice, rate=speaker.rate, pitch=speaker.pitch, pitch_range=speaker.pitch_range)
wav = OUT / "mine.wav"
soundfile.write(wav, samples, sr, subtype="PCM_16")
print(f"{len(samples) / sr:.2f} s at {sr} Hz -> {wav}")
ipd.display(ipd.Audio(samples, rate=sr))

# %% [markdown]
# ## 2. Ask the models
#
# `predict(weights, wav, text)` rebuilds the features exactly as in training (the settings are stored
# inside each `.keras` file) and returns the label with the probability of every class. The transcript
# is the sentence **without** its final punctuation — what a speech recogniser would give; the tune
# must come from the audio. Each model reads its own inputs: `bilstm` only the audio,
# `text_bilstm_att` only the transcript, the fusion models both.

# %%
TRANSCRIPT = SENTENCE.rstrip(".?!").strip()
rows = []
for key in ("text_bilstm_att", "bilstm", "para", "mha_a_t", "ca"):
    path = WEIGHTS / f"{key}.keras"
    if not path.exists():
        continue
    label, probabilities = predict(path, wav, TRANSCRIPT)
    rows.append({"model": key, "label": label, **{k: round(v, 3) for k, v in probabilities.items()}})
pd.DataFrame(rows).set_index("model")

# %% [markdown]
# The text-only model cannot hear the tune: on a `?`/`.` pair of the same words it must give the same
# answer, and its best is to name the form and pick one of its two labels. The speech-only model hears
# the tune but not the words. The fusion models combine the two.
#
# ## 3. The same words, both tunes
#
# A quick experiment: one sentence of each form, spoken with both of its tunes by two unseen voices.

# %%
SENTENCES = {"declarative": "the neighbours painted their fence green",
             "wh": "how long does the ferry take",
             "imperative": "put the plates back in the cupboard"}
TUNES = {"declarative": (".", "?"), "wh": (".", "?"), "imperative": ("!", "?")}
model = WEIGHTS / "ca.keras"
rows = []
VOICES = ("en-us+f3",) if FAST else ("en-us+f3", "en-gb-x-rp+m3:40:160")
for voice in VOICES:
    speaker = parse_voice(voice)
    for form, text in SENTENCES.items():
        for mark in TUNES[form]:
            audio, sr = render(text + mark, speaker.voice, rate=speaker.rate, pitch=speaker.pitch,
                               pitch_range=speaker.pitch_range)
            path = OUT / f"{form}{'q' if mark == '?' else 'x'}-{speaker.speaker}.wav"
            soundfile.write(path, audio, sr, subtype="PCM_16")
            label, probabilities = predict(model, path, text)
            rows.append({"voice": voice, "spoken": text + mark, "predicted": label,
                         "p": round(probabilities[label], 3)})
pd.DataFrame(rows)

# %% [markdown]
# ## 4. Long sentences and the text window
#
# The tutorial's Korean models read the **last 30 characters** of a transcript: Korean marks the
# sentence type at its end. English marks it at the start (the wh-word, the imperative verb, the
# subject), so the demo models read the **first 80** characters, left-aligned — every generated
# sentence fits. Longer transcripts are cut, and `predict` says so:

# %%
_, metadata = load_trained(WEIGHTS / "ca.keras")
print("text input:", {k: v for k, v in metadata["features"]["text"].items() if k in ("kind", "max_chars", "align")})
long_text = ("when you get to the station tomorrow morning please remember to buy two return tickets "
             "for the early train to the coast")
for note in text_notes(metadata, long_text):
    print("note:", note)

# %% [markdown]
# ## 5. Your own recording
#
# Any mono wav works (any sample rate: it is resampled as in training). Record yourself saying a
# sentence with a clear final rise or fall, then:
#
# ```bash
# python -m coaudiotext.predict --weights weights/ca.keras --audio me.wav --text "could you pass me the salt"
# python -m coaudiotext.predict --weights weights/ca.keras --say "could you pass me the salt?" --voice en-gb-x-rp+f4
# ```
#
# A human voice is far outside the espeak-ng voices the models were trained on, so treat the
# probabilities as the model's confidence on *its* training distribution, not as calibrated odds.
# To score many sentences at once, write them to a script file (`text<TAB>label`, every label you
# mean) and render them with unseen voices:
#
# ```bash
# python -m coaudiotext.data.demo --out mine --scripts my_sentences.tsv
# python -m coaudiotext.evaluate --weights weights/ca.keras --data mine/manifest.csv --split test
# ```
