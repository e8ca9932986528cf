"""Predict the label of one utterance with a trained model.

    python -m coaudiotext.predict --weights weights/mha_a_t.keras --audio x.wav --text "you are coming home"
    python -m coaudiotext.predict --weights weights/ca.keras --say "could you close the window?" --voice en-gb-x-rp+m3

Prints the predicted label and the probability of every class (`--json` for
machine-readable output). Models that need no text ignore `--text`; models that
need it refuse to run without it.

**What the probabilities are.** The model's softmax over the classes it was trained
on: they sum to 1 for *any* input, a chirp or silence as well as a sentence, so a
probability of 1.0 says which class the model prefers, not that the input is speech
or like its training data.

**Notes.** Before the model runs, the inputs are checked and each finding is printed
on stderr as `note: ...` (a `UserWarning` from `predict`, a `notes` list with
`--json`): a transcript longer than the text window (`text_notes`), and audio far
from ordinary speech (`audio_notes`, the cheap signal checks of
`coaudiotext.features.speech_check`: silent or near-silent, too short, much longer
than the model's audio window, clipped, no voiced frames at 60-500 Hz, energy in one
narrow band like a tone or a sweep, a steady sound that never changes). No note does
not mean in-domain: a human voice is far from the demo's espeak-ng voices and passes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import zipfile

__all__ = ["read_metadata", "load_trained", "check_inputs", "predict", "text_notes", "audio_window", "audio_notes",
           "main"]


def read_metadata(path):
    """The `coaudiotext.json` that training stored in a `.keras` file (model key, class names, feature
    settings), read from the zip without loading Keras, so arguments are checked before TensorFlow loads."""
    path = str(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} does not exist. Train a model with `python -m coaudiotext.train` or use weights/KEY.keras.")
    try:
        with zipfile.ZipFile(path) as archive:
            return json.loads(archive.read("coaudiotext.json"))
    except (zipfile.BadZipFile, KeyError) as error:
        raise ValueError(
            f"{path} is not a .keras file written by coaudiotext (no coaudiotext.json inside: {error}). "
            "Use a run's best.keras or a file from weights/."
        ) from error


def load_trained(path):
    """Loads a `.keras` file written by coaudiotext; returns `(model, metadata)`.

    `metadata` holds the model key, class names and feature settings that training
    embedded in the file (`coaudiotext.json`, see `read_metadata`). The model is read by
    `coaudiotext.load_model` (custom layers registered, `safe_mode` on).
    """
    import coaudiotext

    metadata = read_metadata(path)
    return coaudiotext.load_model(str(path), safe_mode=True), metadata


def check_inputs(metadata, audio, text=None):
    """Raises a `ValueError` naming the fix when `audio`/`text` cannot be given to the model of `metadata`;
    returns the notes on a transcript its text window cuts. Needs no Keras."""
    from coaudiotext.data.manifest import check_audio

    needs_text = any(settings["feature"] in ("chars", "pretrained_text") for settings in metadata["features"].values())
    if text is not None and not str(text).strip():
        raise ValueError("The transcript is empty or blank: pass the words that were said, e.g. --text \"close the window\".")
    if needs_text and not text:
        raise ValueError(f"Model {metadata.get('model')!r} reads the transcript too: pass --text \"...\".")
    problem = check_audio(audio)
    if problem:
        raise ValueError(f"{audio}: {problem}")
    return text_notes(metadata, text)


def text_notes(metadata, text):
    """Notes on how a model's text input sees `text`: one line per input whose window cut characters."""
    from coaudiotext.features.text import TextFeaturizer

    notes = []
    for name, settings in metadata["features"].items():
        if settings["feature"] != "chars" or not text:
            continue
        featurizer = TextFeaturizer.from_config({k: v for k, v in settings.items() if k != "feature"})
        kept, cut = featurizer.window(text)
        if cut:
            side = "first" if featurizer.align == "start" else "last"
            notes.append(f"the text has {len(kept) + cut} characters; input {name!r} reads only the {side} "
                         f"{featurizer.max_chars} ({kept!r}): {cut} character(s) were cut")
    return notes


def audio_window(metadata):
    """`(seconds, end, input_name)`: how much audio the model of `metadata` reads and which end of a longer
    file it keeps (`"last"` for mel + RMS, `"first"` for MFCC and wav2vec2), for its shortest audio input;
    `seconds` is None for an input with no limit (pooled wav2vec2 features). None for a model without audio."""
    from coaudiotext.features import audio as settings_of

    windows = []
    for name, settings in metadata["features"].items():
        kind = settings["feature"]
        if kind == "mel_rms":
            frames = settings.get("max_frames", settings_of.MAX_FRAMES)
            rate = settings.get("sample_rate", settings_of.SAMPLE_RATE)
            windows.append((frames * settings_of.HOP_LENGTH / rate, "last", name))
        elif kind == "mfcc":
            frames = settings.get("max_frames", settings_of.MFCC_MAX_FRAMES)
            rate = settings.get("sample_rate", settings_of.MFCC_SAMPLE_RATE)
            windows.append((frames * settings_of.MFCC_HOP_LENGTH / rate, "first", name))
        elif kind == "pretrained_audio":
            rate = settings.get("sr", 16000)
            samples = settings.get("max_samples")
            if not samples and settings.get("max_frames"):
                samples = settings["max_frames"] * 320  # wav2vec2's frame step
            windows.append((samples / rate if samples else None, "first", name))
    if not windows:
        return None
    return min(windows, key=lambda window: float("inf") if window[0] is None else window[0])


def audio_notes(metadata, audio):
    """Notes on how far the audio file `audio` is from ordinary speech (`coaudiotext.features.speech_check`,
    against the window of `audio_window(metadata)`); empty for ordinary speech and for models without audio."""
    from coaudiotext.features.speech_check import speech_check

    window = audio_window(metadata)
    if window is None:
        return []
    seconds, end, _ = window
    return speech_check(audio, window_seconds=seconds, window_end=end)


def predict(weights, audio, text=None):
    """Returns `(label, {class: probability})` for one wav file (and transcript).

    The probabilities are the model's softmax over the classes it was trained on: they sum to 1 for any
    input and do not say whether the input is speech or like the training data. Each note on the inputs is
    emitted as a `UserWarning`: a transcript longer than the model's text window (cut as in training,
    `text_notes`) and audio far from ordinary speech (silence, a tone, noise, clipping, ...: `audio_notes`).
    """
    import warnings

    import keras
    import numpy as np

    from coaudiotext.data.manifest import Manifest
    from coaudiotext.data.pipeline import build_features

    metadata = read_metadata(weights)
    notes = check_inputs(metadata, audio, text) + audio_notes(metadata, audio)
    model, metadata = load_trained(weights)
    for note in notes:
        warnings.warn(note, UserWarning, stacklevel=2)
    rows = Manifest(rows=[{"audio_path": os.path.abspath(audio), "text": text or "", "label": "", "speaker": "", "split": ""}])
    features = build_features(metadata["features"], rows, use_cache=False, progress=False)
    # One utterance: a direct call (model.predict would trace a new tf.function per loaded model and warn
    # about "retracing" after a few of them; the numbers are the same).
    probabilities = np.asarray(keras.ops.convert_to_numpy(model(features, training=False)))[0]
    class_names = metadata["class_names"]
    return class_names[int(np.argmax(probabilities))], {name: float(p) for name, p in zip(class_names, probabilities)}


def _render_sentence(sentence, voice, text=None, keep=None):
    """Renders `sentence` with espeak-ng to a wav (`keep`, or a temporary file); returns `(path, transcript)`."""
    import tempfile

    import soundfile

    from coaudiotext.data.espeak import render
    from coaudiotext.data.voices import parse_voice

    speaker = parse_voice(voice)
    if not sentence.strip():
        raise ValueError("--say needs a sentence, e.g. --say \"could you open the window?\"")
    samples, sample_rate = render(sentence.strip(), speaker.voice, rate=speaker.rate, pitch=speaker.pitch,
                                  pitch_range=speaker.pitch_range)
    path = keep or os.path.join(tempfile.mkdtemp(prefix="coaudiotext-say-"), "say.wav")
    soundfile.write(path, samples, sample_rate, subtype="PCM_16")
    return path, text if text else sentence.strip().rstrip(".?!").strip()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m coaudiotext.predict",
                                     description="Predict the label of one utterance with a trained coaudiotext model.")
    parser.add_argument("--weights", required=True, help="a .keras file written by coaudiotext")
    parser.add_argument("--audio", help="a mono wav (any sample rate; resampled as in training)")
    parser.add_argument("--text", help="the transcript (needed by audio+text models)")
    parser.add_argument("--say", metavar="SENTENCE",
                        help="instead of --audio: render SENTENCE with espeak-ng (its final . ? or ! chooses the tune) "
                             "and predict it; the transcript is SENTENCE without the final punctuation")
    parser.add_argument("--voice", default="en-us+f3",
                        help="espeak-ng voice for --say, VOICE[:PITCH[:RATE[:RANGE]]] (default en-us+f3)")
    parser.add_argument("--save-audio", metavar="WAV", help="with --say: also keep the rendered wav here")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    from coaudiotext._logs import quiet_tensorflow

    quiet_tensorflow()  # after argparse: --help and argument errors stay instant
    if (args.audio is None) == (args.say is None):
        parser.error("pass either --audio WAV or --say SENTENCE")
    import warnings

    try:
        metadata = read_metadata(args.weights)  # before TensorFlow: bad arguments answer at once
        if args.audio is not None:
            check_inputs(metadata, args.audio, args.text)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    if args.say is not None:
        try:
            args.audio, args.text = _render_sentence(args.say, args.voice, args.text, args.save_audio)
        except ValueError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", UserWarning)
            label, probabilities = predict(args.weights, args.audio, args.text)
        notes = [str(warning.message) for warning in caught]
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"label": label, "probabilities": probabilities, "notes": notes}, indent=2))
    else:
        print(f"label: {label}")
        for name, p in sorted(probabilities.items(), key=lambda item: -item[1]):
            print(f"  {name:<6}{p:.4f}")
        print(f"probabilities: the model's softmax over the {len(probabilities)} classes it was trained on; they "
              "sum to 1 for any input, so they do not say whether the input is speech or like the training data"
              + (" (see the notes above)" if notes else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
