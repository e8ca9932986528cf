"""Benchmarks: `python -m coaudiotext.bench SUBCOMMAND [options]`.

Subcommands:

* `features`: the tutorial's per-file librosa loop (`make_data`: load, two STFTs,
  RMS, mel spectrogram per file) against the `tf.data` pipeline of
  `coaudiotext.features.extract("mel_rms", ...)` on the same files, in one run;
  prints both times (best of `--repeat` alternating runs), the speed-up and the
  largest dB difference between the two.
* `asr`: one model on gold and on simulated speech-recognised transcripts at several WERs.
* `text-window`: the text-only model trained with several character windows (`MAX_CHARS:ALIGN`) on the
  demo corpus, accuracy on `test` and `handwritten`: the measurement behind the demo's text window.

Files come from `--data` (a manifest CSV, or a folder searched for audio files)
or, by default, are rendered with the demo corpus's espeak-ng renderer into a
temporary folder.

A subcommand is one function decorated with `@command(name, help, arguments)`;
it receives the parsed `argparse.Namespace` and returns a JSON-able dict, which
`--json OUT` writes to a file.

Example:

    python -m coaudiotext.bench features --n 100
    python -m coaudiotext.bench features --data runs/demo/manifest.csv --json bench.json
    python -m coaudiotext.bench text-window --windows 30:end 80:end 80:start
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import tempfile
import time

import numpy as np

__all__ = ["command", "main"]

_COMMANDS = {}  # name -> (help, arguments, function)

_AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")
_BENCH_TEXTS = (
    "close the window?",
    "you locked the door.",
    "turn off the lights in the kitchen!",
    "where did you put the keys to the car.",
    "could you send me the report before the meeting tomorrow?",
    "she already left for the station.",
    "the weather in the mountains was wonderful and the children played outside until the evening came.",
    "did they finish the project on time?",
    "bring me a glass of water, please!",
    "what time does the last train leave tonight.",
    "after the long winter the river rose over its banks and flooded the fields along the valley for weeks.",
    "we met at the old library near the park.",
)
_BENCH_VOICES = ("en-us", "en-us+f3", "en+m3", "en-gb-x-rp+klatt2", "en-us+f5", "en+m7", "en-us+m1", "en+f2")


def command(name, help, arguments=()):
    """Registers a benchmark subcommand.

    Args:
        name: str. The subcommand name on the command line.
        help: str. One line shown by `--help`.
        arguments: sequence of `(flags, kwargs)` for `ArgumentParser.add_argument`. Defaults to ().

    The decorated function takes the parsed arguments and returns a JSON-able dict of results.
    """

    def register(function):
        _COMMANDS[name] = (help, tuple(arguments), function)
        return function

    return register


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------


def _audio_files(data, n):
    """Up to `n` audio files from a manifest CSV or a folder; errors name what was received."""
    path = pathlib.Path(data)
    if path.is_dir():
        files = sorted(str(p) for p in path.rglob("*") if p.suffix.lower() in _AUDIO_SUFFIXES)
        if not files:
            raise SystemExit(f"--data {data!r}: no audio files ({', '.join(_AUDIO_SUFFIXES)}) under this folder.")
        return files[:n]
    if path.is_file():
        from coaudiotext.data.manifest import read_manifest

        return read_manifest(path, check_files=False).audio_paths[:n]
    raise SystemExit(f"--data {data!r}: expected a manifest CSV or a folder of audio files; nothing is there.")


def _render_files(n, folder):
    """Renders `n` utterances (texts x voices) with the demo renderer as 16-bit wav files in `folder`."""
    import soundfile

    from coaudiotext.data.demo import render

    files = []
    for i in range(n):
        text = _BENCH_TEXTS[i % len(_BENCH_TEXTS)]
        voice = _BENCH_VOICES[(i // len(_BENCH_TEXTS)) % len(_BENCH_VOICES)]
        samples, sample_rate = render(text, voice=voice, rate=150 + 7 * (i % 9))
        target = os.path.join(folder, f"utt{i:05d}.wav")
        soundfile.write(target, samples, sample_rate, subtype="PCM_16")
        files.append(target)
    return files


# ---------------------------------------------------------------------------------------------
# features
# ---------------------------------------------------------------------------------------------


def _tutorial_make_data(files, max_frames=200):
    """The tutorial's `make_data` loop (librosa >= 0.7 names), one file at a time."""
    import librosa

    data = np.zeros((len(files), max_frames, 129))
    for i, filename in enumerate(files):
        y, sr = librosa.load(filename)
        D = np.abs(librosa.stft(y)) ** 2
        ss, phase = librosa.magphase(librosa.stft(y))
        rmse = librosa.feature.rms(S=ss)
        rmse = rmse / np.max(rmse)
        rmse = np.transpose(rmse)
        S = librosa.feature.melspectrogram(S=D)
        S = np.transpose(S)
        if len(S) >= max_frames:
            data[i][:, 0] = rmse[-max_frames:, 0]
            data[i][:, 1:] = S[-max_frames:, :]
        else:
            data[i][-len(S) :, 0] = np.transpose(rmse)
            data[i][-len(S) :, 1:] = S
    return data


def _max_db_difference(reference, other, top_db=80.0):
    """Largest |dB| difference of the mel columns over bins within `top_db` of each utterance's peak."""
    worst = 0.0
    for ref, got in zip(reference[..., 1:], other[..., 1:]):
        selected = ref > ref.max() * 10 ** (-top_db / 10)
        if selected.any():
            diff = np.abs(10 * np.log10(ref[selected]) - 10 * np.log10(np.maximum(got[selected], 1e-30)))
            worst = max(worst, float(diff.max()))
    return worst


@command(
    "features",
    help="tutorial librosa loop vs the tf.data mel+RMS pipeline on the same files",
    arguments=(
        (("--n",), {"type": int, "default": 100, "help": "number of files (default 100)"}),
        (("--data",), {"default": None, "help": "manifest CSV or folder of audio files (default: render demo speech)"}),
        (("--batch-size",), {"type": int, "default": 16, "help": "tf.data batch size (default 16)"}),
        (("--repeat",), {"type": int, "default": 3, "help": "timed runs of each, best kept (default 3)"}),
    ),
)
def features(args):
    import soundfile

    from coaudiotext import features as feature_api

    for flag, value in (("--n", args.n), ("--repeat", args.repeat), ("--batch-size", args.batch_size)):
        if value < 1:
            raise SystemExit(f"{flag} must be a positive integer. Received: {flag} {value}")
    with tempfile.TemporaryDirectory(prefix="coaudiotext-bench-") as folder:
        if args.data:
            files = _audio_files(args.data, args.n)
        else:
            started = time.perf_counter()
            files = _render_files(args.n, folder)
            print(f"rendered {len(files)} files in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        for path in files:  # warm the OS file cache for both contenders
            with open(path, "rb") as handle:
                handle.read()
        import librosa  # noqa: F401  (imports are not timed)
        import tensorflow  # noqa: F401

        _tutorial_make_data(files[:1])  # warm-up: librosa's lazy imports (seconds)
        feature_api.extract("mel_rms", files[:2], progress=False)  # warm-up: TF runtime, mel matrix

        tutorial_times, ours_times = [], []
        for _ in range(args.repeat):  # alternate, keep the best of each (shared machines are noisy)
            started = time.perf_counter()
            tutorial = _tutorial_make_data(files)
            tutorial_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            ours = feature_api.extract("mel_rms", files, batch_size=args.batch_size, progress=False)
            ours_times.append(time.perf_counter() - started)
        tutorial_s, ours_s = min(tutorial_times), min(ours_times)
        audio_s = sum(soundfile.info(path).duration for path in files)

    results = {
        "files": len(files),
        "audio_s": round(audio_s, 1),
        "tutorial_loop_s": round(tutorial_s, 3),
        "tf_data_s": round(ours_s, 3),
        "speedup": round(tutorial_s / ours_s, 2),
        "max_db_difference": _max_db_difference(tutorial, ours),
        "max_rms_difference": float(np.abs(tutorial[..., 0] - ours[..., 0]).max()),
        "cpu_count": os.cpu_count(),
        "batch_size": args.batch_size,
        "repeat": args.repeat,
        "tutorial_loop_runs_s": [round(t, 3) for t in tutorial_times],
        "tf_data_runs_s": [round(t, 3) for t in ours_times],
    }
    print(
        f"{len(files)} files ({audio_s:.0f} s of audio): tutorial librosa loop {tutorial_s:.2f} s, tf.data pipeline {ours_s:.2f} s "
        f"-> {results['speedup']:.2f}x; max |dB| difference {results['max_db_difference']:.2e}, "
        f"max RMS difference {results['max_rms_difference']:.1e}"
    )
    return results


@command(
    "asr",
    help="accuracy of a trained audio+text model against the word error rate of SIMULATED transcripts",
    arguments=(
        (("--weights",), {"required": True, "help": "a trained .keras file (e.g. weights/para.keras)"}),
        (("--data",), {"default": "demo", "help": "demo, demo-tiny or a manifest CSV (default demo)"}),
        (("--split",), {"default": "test", "help": "split to evaluate (default test)"}),
        (("--wer",), {"type": float, "nargs": "+", "default": [0.0, 0.1, 0.2, 0.3, 0.5],
                      "help": "word error rates to simulate (default 0 0.1 0.2 0.3 0.5)"}),
        (("--seed",), {"type": int, "default": 0, "help": "seed of the simulated errors (default 0)"}),
        (("--plot",), {"default": None, "help": "save accuracy vs WER as this PNG"}),
    ),
)
def asr(args):
    """Evaluates one model on gold transcripts and on simulated ASR transcripts at several WERs."""
    from coaudiotext.data import demo as demo_module
    from coaudiotext.data.asr_sim import add_simulated_asr, word_error_rate
    from coaudiotext.data.manifest import read_manifest
    from coaudiotext.evaluate import evaluate

    if args.data in ("demo", "demo-tiny"):
        base = demo_module.demo_manifest(size="default" if args.data == "demo" else "tiny")
    else:
        base = pathlib.Path(args.data)
    rows = []
    for wer in args.wer:
        with tempfile.TemporaryDirectory(dir=base.parent, prefix=".bench-asr-") as folder:
            path = add_simulated_asr(base, wer, seed=args.seed, out=pathlib.Path(folder) / "manifest.csv")
            manifest = read_manifest(path, check_files=False).split(args.split)
            measured = float(np.mean([word_error_rate(r["gold_text"], r.get("asr_text", "")) for r in manifest.rows]))
            metrics = evaluate(args.weights, str(path), split=args.split, text_source="asr")
        rows.append({"requested_wer": wer, "measured_wer": round(measured, 4), "accuracy": metrics["accuracy"],
                     "ua": metrics["ua"], "macro_f1": metrics["macro_f1"], "weighted_f1": metrics["weighted_f1"]})
        print(f"WER {wer:.2f} (measured {measured:.3f}): accuracy (WA) {metrics['accuracy']:.4f} | "
              f"UA {metrics['ua']:.4f} | macro-F1 {metrics['macro_f1']:.4f}", flush=True)
    if args.plot:
        from coaudiotext.plots import _pyplot, save_figure

        plt = _pyplot()
        figure, axis = plt.subplots(figsize=(4.5, 3.2))
        axis.plot([r["measured_wer"] for r in rows], [r["accuracy"] for r in rows], "o-", label="accuracy (WA)")
        axis.plot([r["measured_wer"] for r in rows], [r["macro_f1"] for r in rows], "s--", label="macro-F1")
        axis.set_xlabel("word error rate of the simulated transcripts")
        axis.set_title(pathlib.Path(args.weights).stem)
        axis.grid(alpha=0.3)
        axis.legend()
        save_figure(figure, args.plot)
    return {"weights": args.weights, "data": args.data, "split": args.split, "seed": args.seed, "results": rows}


@command(
    "text-window",
    "trains the text-only model with several text windows on the demo corpus: accuracy on test and handwritten",
    (
        (("--data",), {"default": "demo", "help": "demo or demo-tiny (default demo)"}),
        (("--model",), {"default": "text_bilstm_att", "help": "a model with a text input (default text_bilstm_att)"}),
        (("--windows",), {"nargs": "+", "default": ["30:end", "80:end", "80:start"],
                          "help": "MAX_CHARS:ALIGN settings to compare (default 30:end 80:end 80:start)"}),
        (("--epochs",), {"type": int, "default": 12, "help": "epochs per setting (default 12)"}),
        (("--seed",), {"type": int, "default": 0, "help": "seed (default 0)"}),
    ),
)
def text_window(args):
    """How much of the sentence the character features keep decides what a text model can learn."""
    from coaudiotext.train import train

    rows = []
    for window in args.windows:
        max_chars, _, align = window.partition(":")
        settings = {"max_chars": int(max_chars), "align": align or "end"}
        with tempfile.TemporaryDirectory(prefix="coaudiotext-bench-text-") as folder:
            result = train(args.model, data=args.data, out=folder, epochs=args.epochs, seed=args.seed, verbose=0,
                           report=False, feature_overrides={"text": settings})
        row = {"window": window, "val_accuracy": result["val"]["accuracy"], "test_accuracy": result["test"]["accuracy"]}
        for split, metrics in result.get("extra", {}).items():
            row[f"{split}_accuracy"] = metrics["accuracy"]
        rows.append(row)
        print("  ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()), flush=True)
    return {"model": args.model, "data": args.data, "epochs": args.epochs, "seed": args.seed, "results": rows}


# ---------------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------------


def _parser():
    parser = argparse.ArgumentParser(prog="python -m coaudiotext.bench", description=__doc__.split("\n\n")[0])
    subparsers = parser.add_subparsers(dest="command", metavar="SUBCOMMAND", required=True)
    for name, (help_text, arguments, _) in _COMMANDS.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        for flags, kwargs in arguments:
            sub.add_argument(*flags, **kwargs)
        sub.add_argument("--json", metavar="OUT", default=None, help="also write the results as JSON to OUT")
    return parser


def main(argv=None):
    """Runs one benchmark subcommand; returns its results dict."""
    args = _parser().parse_args(argv)
    from coaudiotext._logs import quiet_tensorflow

    quiet_tensorflow()  # after argparse: --help and argument errors stay instant
    results = _COMMANDS[args.command][2](args)
    if args.json:
        pathlib.Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        pathlib.Path(args.json).write_text(json.dumps({"command": args.command, **results}, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
