"""Predict the label of one utterance with a trained model.

    python -m coaudiotext.predict --weights weights/mha_a_t.keras --audio x.wav --text "you are coming home"
    python -m coaudiotext.predict --weights weights/ca.keras --say "could you close the window?" --voice en-gb-x-rp+m3

Prints the predicted label and the probability of every class (`--json` for
machine-readable output). Models that need no text ignore `--text`; models that
need it refuse to run without it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import zipfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

__all__ = ["read_metadata", "load_trained", "check_inputs", "predict", "text_notes", "main"]


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


def predict(weights, audio, text=None):
    """Returns `(label, {class: probability})` for one wav file (and transcript).

    A transcript longer than the model's text window is cut as in training; a `UserWarning` says so.
    """
    import warnings

    import numpy as np

    from coaudiotext.data.manifest import Manifest
    from coaudiotext.data.pipeline import build_features

    notes = check_inputs(read_metadata(weights), audio, text)
    model, metadata = load_trained(weights)
    for note in notes:
        warnings.warn(note, UserWarning, stacklevel=2)
    rows = Manifest(rows=[{"audio_path": os.path.abspath(audio), "text": text or "", "label": "", "speaker": "", "split": ""}])
    features = build_features(metadata["features"], rows, use_cache=False, progress=False)
    probabilities = np.asarray(model.predict(features, verbose=0))[0]
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
        for warning in caught:
            print(f"note: {warning.message}", file=sys.stderr)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"label": label, "probabilities": probabilities}, indent=2))
    else:
        print(f"label: {label}")
        for name, p in sorted(probabilities.items(), key=lambda item: -item[1]):
            print(f"  {name:<6}{p:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
