"""Benchmarks: `python -m coaudiotext.bench SUBCOMMAND [options]`.

Subcommands:

* `features`: the tutorial's per-file librosa loop (`make_data`: load, two STFTs,
  RMS, mel spectrogram per file; `coaudiotext.testing.tutorial_make_data`) against the `tf.data` pipeline of
  `coaudiotext.features.extract("mel_rms", ...)` and against that pipeline's compute
  alone (clips decoded in memory), on the same files. Warm-up first, then `--repeat`
  interleaved runs; prints min and median seconds, clips/s, GFLOP/s (the FLOPs the
  features need, `_mel_rms_flops`) against a bound measured in the same run (the
  float32 peak of a `tf.matmul`), the speed-up and the largest dB difference.
* `train`: s/step of a port's training step against the original computation in
  PyTorch (`coaudiotext.reference`), same shapes, same random batch, same initial
  weights, at the original batch size; steps interleaved, the first dropped; median
  and min of each side and the ratio. Needs `torch`.
* `asr`: one model on gold and on simulated speech-recognised transcripts at several WERs.
* `text-window`: the text-only model trained with several character windows (`MAX_CHARS:ALIGN`) on the
  demo corpus, accuracy on `test` and `handwritten`: the measurement behind the demo's text window.

Files of `features` come from `--data` (a manifest CSV, or a folder searched for audio
files) or, by default, are rendered with the demo corpus's espeak-ng renderer into a
temporary folder.

A subcommand is one function decorated with `@command(name, help, arguments)`;
it receives the parsed `argparse.Namespace` and returns a JSON-able dict, which
`--json OUT` writes to a file.

Example:

    python -m coaudiotext.bench features --n 100
    python -m coaudiotext.bench features --data runs/demo/manifest.csv --json bench.json
    python -m coaudiotext.bench train --model crossmodal_transformer --steps 5
    python -m coaudiotext.bench train --model mha_a_t --threads 1
    python -m coaudiotext.bench text-window --windows 30:end 80:end 80:start
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import pathlib
import sys
import tempfile
import time

import numpy as np

from coaudiotext.testing import tutorial_make_data  # the tutorial's loop: the slow side of `features`
from coaudiotext.train import _parse_flag  # light: no Keras

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


def _max_db_difference(reference, other, top_db=80.0):
    """Largest |dB| difference of the mel columns over bins within `top_db` of each utterance's peak."""
    worst = 0.0
    for ref, got in zip(reference[..., 1:], other[..., 1:]):
        selected = ref > ref.max() * 10 ** (-top_db / 10)
        if selected.any():
            diff = np.abs(10 * np.log10(ref[selected]) - 10 * np.log10(np.maximum(got[selected], 1e-30)))
            worst = max(worst, float(diff.max()))
    return worst


def _mel_rms_flops(num_samples, max_frames=200):
    """Floating-point operations that one clip's mel + RMS features need (the work of the output).

    With `T = 1 + num_samples // 512` centred frames, `F = min(T, max_frames)` kept frames,
    `N = n_fft = 2048`, `B = N / 2 + 1 = 1025` bins and `M = 128` mel bands:

        window   T x N               the window product of every frame (the RMS needs all of them)
        RMS      T x 2 N             square and sum per frame (by Parseval, rms(S=|stft|) needs no FFT)
        rfft     F x 2.5 N log2 N    a real-input FFT: half the 5 N log2 N of a complex FFT
                                     (the convention of FFTW's benchFFT)
        power    F x 3 B             re^2 + im^2
        mel      F x 2 B M           the dense (F, B) @ (B, M) matmul

    That is 321.8 kFLOP per kept frame (82 % of it the mel matmul) plus 6.1 kFLOP per frame. The
    tutorial's loop executes more (two complex float64 STFTs and a mel product of every frame);
    both sides are credited with this same count, so their GFLOP/s compare as their clips/s do.

    Example:

    >>> round(_mel_rms_flops(22050 * 2) / 1e6, 2)   # a 2 s clip: 87 frames, all kept
    28.53
    """
    n_fft, hop, n_mels = 2048, 512, 128
    frames = 1 + int(num_samples) // hop
    kept = min(frames, int(max_frames))
    bins = n_fft // 2 + 1
    per_kept = 2.5 * n_fft * math.log2(n_fft) + 3 * bins + 2 * bins * n_mels
    return frames * 3 * n_fft + kept * per_kept


def _best_seconds(function, repeat):
    function()  # warm-up: tracing, allocation
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best


def _matmul_peak_gflops(size=1024, repeat=10):
    """The bound: best float32 GFLOP/s of a `(size, size) @ (size, size)` `tf.matmul` (`2 size^3` FLOP)."""
    import tensorflow as tf

    a = tf.random.stateless_normal((size, size), seed=(1, 2))
    b = tf.random.stateless_normal((size, size), seed=(3, 4))
    product = tf.function(lambda a, b: tf.reduce_sum(tf.matmul(a, b)))
    return 2 * size**3 / _best_seconds(lambda: product(a, b).numpy(), repeat) / 1e9


def _rfft_gflops(frames=1024, n_fft=2048, repeat=10):
    """Best GFLOP/s (2.5 N log2 N per frame) of `tf.signal.rfft` over a `(frames, n_fft)` float32 batch."""
    import tensorflow as tf

    x = tf.random.stateless_normal((frames, n_fft), seed=(5, 6))
    transform = tf.function(lambda x: tf.reduce_sum(tf.abs(tf.signal.rfft(x))))
    return frames * 2.5 * n_fft * math.log2(n_fft) / _best_seconds(lambda: transform(x).numpy(), repeat) / 1e9


def _in_memory_pipeline(waveforms, batch_size):
    """`extract`'s map (`mel_rms_tf` per clip, parallel, batched) over decoded waveforms held in memory:
    the pipeline's compute without reading and decoding the files."""
    import tensorflow as tf

    from coaudiotext.features.audio import mel_rms_tf

    joined = tf.constant(np.concatenate(waveforms))
    lengths = np.array([len(w) for w in waveforms], np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    clips = tf.data.Dataset.from_tensor_slices((np.arange(len(waveforms)), starts, lengths))
    clips = clips.map(lambda i, start, length: (i, mel_rms_tf(joined[start : start + length])),
                      num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)  # as `extract` maps

    def run():
        batches = [(i.numpy(), x.numpy()) for i, x in clips.batch(batch_size).prefetch(tf.data.AUTOTUNE)]
        order = np.argsort(np.concatenate([i for i, _ in batches]))
        return np.concatenate([x for _, x in batches])[order]

    return run


@command(
    "features",
    help="tutorial librosa loop vs the tf.data mel+RMS pipeline on the same files: s, clips/s, GFLOP/s, bound",
    arguments=(
        (("--n",), {"type": int, "default": 100, "help": "number of files (default 100)"}),
        (("--data",), {"default": None, "help": "manifest CSV or folder of audio files (default: render demo speech)"}),
        (("--batch-size",), {"type": int, "default": 16, "help": "tf.data batch size (default 16)"}),
        (("--repeat",), {"type": int, "default": 3,
                         "help": "timed runs of each side, interleaved, after a warm-up (default 3)"}),
    ),
)
def features(args):
    """Times the tutorial's librosa loop and the tf.data pipeline on the same files, interleaved.

    Each side first runs once, untimed, on up to 8 of the files (lazy imports, numba and TF first
    calls, graph tracing), then `--repeat` rounds run tutorial loop, pipeline and the pipeline's
    compute alone (decoded clips in memory), one after the other. Printed: min and median seconds,
    clips/s and GFLOP/s at the median (work counted by `_mel_rms_flops`, the same for every side),
    and the fraction of the bound: the peak float32 GFLOP/s of a 1024 x 1024 `tf.matmul`, measured
    in the same run. `tf.signal.rfft`'s own rate on this machine is printed beside it.
    """
    import soundfile

    from coaudiotext import features as feature_api

    for flag, value in (("--n", args.n), ("--repeat", args.repeat), ("--batch-size", args.batch_size)):
        if value < 1:
            raise SystemExit(f"{flag} must be a positive integer. Received: {flag} {value}")
    with tempfile.TemporaryDirectory(prefix="coaudiotext-bench-") as folder:
        files = _bench_files(args, folder)
        import librosa  # noqa: F401  (imports are not timed)

        waveforms = _decoded_waveforms(files)
        in_memory = _in_memory_pipeline(waveforms, args.batch_size)

        def pipeline():
            return feature_api.extract("mel_rms", files, batch_size=args.batch_size, progress=False)

        tutorial_make_data(files[:8])  # warm-up, untimed
        feature_api.extract("mel_rms", files[:8], batch_size=args.batch_size, progress=False)
        in_memory()
        sides = {"tutorial": lambda: tutorial_make_data(files), "tf_data": pipeline, "compute_only": in_memory}
        runs, outputs = _interleaved(sides, args.repeat)
        bound = _matmul_peak_gflops()
        fft_rate = _rfft_gflops()
        audio_s = sum(soundfile.info(path).duration for path in files)

    flops = float(sum(_mel_rms_flops(len(w)) for w in waveforms))
    kept = sum(min(1 + len(w) // 512, 200) for w in waveforms)
    results = {"files": len(files), "audio_s": round(audio_s, 1), "frames_kept": kept,
               "flops_per_clip": round(flops / len(files)), "gflop": round(flops / 1e9, 3)}
    results.update(_side_rates(runs, len(files), flops, bound))
    results.update(_feature_summary(results, outputs, bound, fft_rate, args))
    _print_features(results, len(files), audio_s, kept, flops, bound, fft_rate, args.repeat)
    return results


def _bench_files(args, folder):
    """`--data`'s files, or `--n` rendered into `folder`; each read once (the OS file cache warm for every side)."""
    if args.data:
        files = _audio_files(args.data, args.n)
    else:
        started = time.perf_counter()
        files = _render_files(args.n, folder)
        print(f"rendered {len(files)} files in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    for path in files:  # warm the OS file cache for every contender
        with open(path, "rb") as handle:
            handle.read()
    return files


def _decoded_waveforms(files):
    """The clips as the pipeline decodes them; a file it cannot decode stops with the pipeline's error."""
    import tensorflow

    from coaudiotext import features as feature_api
    from coaudiotext.features.audio import SAMPLE_RATE, _waveform_dataset

    try:
        return [w.numpy() for w in _waveform_dataset(files, SAMPLE_RATE)]
    except tensorflow.errors.OpError:
        try:
            feature_api.extract("mel_rms", files, progress=False)  # its error names the bad files
        except ValueError as error:
            raise SystemExit(str(error)) from None
        raise


def _interleaved(sides, repeat):
    """`repeat` rounds of every side in turn: `({name: [seconds, ...]}, {name: last output})`."""
    runs = {name: [] for name in sides}
    outputs = {}
    for _ in range(repeat):  # interleaved: a load change hits every side alike
        for name, run in sides.items():
            started = time.perf_counter()
            outputs[name] = run()
            runs[name].append(time.perf_counter() - started)
    return runs, outputs


def _side_rates(runs, count, flops, bound):
    """Min/median seconds, clips/s, GFLOP/s and fraction of the bound of each side."""
    results = {}
    for name, times in runs.items():
        median = float(np.median(times))
        results[f"{name}_min_s"] = round(min(times), 3)
        results[f"{name}_median_s"] = round(median, 3)
        results[f"{name}_clips_per_s"] = round(count / median, 2)
        results[f"{name}_gflops"] = round(flops / median / 1e9, 3)
        results[f"{name}_fraction_of_bound"] = round(flops / median / 1e9 / bound, 4)
        results[f"{name}_runs_s"] = [round(t, 3) for t in times]
    return results


def _feature_summary(results, outputs, bound, fft_rate, args):
    """Speed-ups, the bound, and how far the pipeline's features are from the tutorial's."""
    tutorial, ours = outputs["tutorial"], outputs["tf_data"]
    return {
        "tutorial_loop_s": results["tutorial_min_s"],  # best runs (the names of earlier versions)
        "tf_data_s": results["tf_data_min_s"],
        "speedup": round(results["tutorial_median_s"] / results["tf_data_median_s"], 2),
        "speedup_min": round(results["tutorial_min_s"] / results["tf_data_min_s"], 2),
        "bound_gflops": round(bound, 1),
        "bound": "peak float32 GFLOP/s of a 1024 x 1024 tf.matmul, best of 10, measured in this run",
        "rfft_gflops": round(fft_rate, 2),
        "max_db_difference": _max_db_difference(tutorial, ours),
        "max_rms_difference": float(np.abs(tutorial[..., 0] - ours[..., 0]).max()),
        "compute_only_equals_tf_data": bool(np.array_equal(outputs["compute_only"], ours)),
        "cpu_count": os.cpu_count(),
        "batch_size": args.batch_size,
        "repeat": args.repeat,
    }


def _print_features(results, files, audio_s, kept, flops, bound, fft_rate, repeat):
    """The table of `features` (the values unrounded, as measured)."""
    labels = {"tutorial": "tutorial librosa loop (make_data)", "tf_data": 'tf.data pipeline (extract "mel_rms")',
              "compute_only": "  its compute alone (decoded, in memory)"}
    print(f"{files} files ({audio_s:.0f} s of audio, {kept:,} frames kept): {flops / 1e9:.2f} GFLOP of mel + RMS "
          f"work ({flops / files / 1e6:.1f} MFLOP/clip: rfft 2.5 N log2 N + mel matmul 2 x 1025 x 128 per kept "
          "frame, window and RMS 3 N per frame)")
    print(f"{repeat} interleaved runs after a warm-up{'min s':>13}{'median s':>10}{'clips/s':>9}{'GFLOP/s':>9}"
          f"{'of bound':>10}")
    for name, label in labels.items():
        print(f"  {label:<44}{results[f'{name}_min_s']:>7.2f}{results[f'{name}_median_s']:>10.2f}"
              f"{results[f'{name}_clips_per_s']:>9.1f}{results[f'{name}_gflops']:>9.2f}"
              f"{100 * results[f'{name}_fraction_of_bound']:>9.1f}%")
    print(f"bound: {bound:.1f} GFLOP/s, the float32 peak of a 1024 x 1024 tf.matmul on this machine (this run); "
          f"tf.signal.rfft alone reaches {fft_rate:.1f} GFLOP/s (N = 2048)")
    print(f"speed-up of the pipeline over the tutorial loop: {results['speedup']:.2f}x (medians), "
          f"{results['speedup_min']:.2f}x (minima); max |dB| difference {results['max_db_difference']:.2e}, "
          f"max RMS difference {results['max_rms_difference']:.1e}")


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
# train
# ---------------------------------------------------------------------------------------------


def _random_batch(input_names, shapes, batch_size, num_classes, seed):
    """Random inputs of the port's shapes (masks all ones) and random labels, float32 / int64."""
    rng = np.random.default_rng(seed)
    inputs = {}
    for name in input_names:
        size = (batch_size,) + tuple(shapes[f"{name}_shape"])
        if name.endswith("_mask"):
            inputs[name] = np.ones(size, np.float32)
        else:
            inputs[name] = rng.standard_normal(size).astype(np.float32)
    labels = rng.integers(0, num_classes, size=batch_size)
    return inputs, labels


def _torch_optimizer(torch, settings, parameters):
    """The PyTorch optimizer of a registry `TrainSettings`, as the originals used them."""
    if settings.optimizer == "adam":
        return torch.optim.Adam(parameters, lr=settings.learning_rate, eps=settings.epsilon)
    decay = 0.01 if settings.weight_decay is None else settings.weight_decay
    return torch.optim.AdamW(parameters, lr=settings.learning_rate, eps=settings.epsilon, weight_decay=decay)


def _model_flags(key, spec, flags):
    """The builder keyword arguments of both sides: the registry's shapes and classes, then `--set` flags.

    A `--set NAME_shape=...` without its `NAME_mask_shape` gives the mask the new length too.
    """
    from coaudiotext.models import input_shapes

    kwargs = {"num_classes": spec.num_classes, **input_shapes(key), **flags}
    for name in spec.inputs:
        if name.endswith("_mask"):
            base = name[: -len("_mask")]
            if f"{base}_shape" in flags and f"{name}_shape" not in flags:
                kwargs[f"{name}_shape"] = (tuple(flags[f"{base}_shape"])[0],)
    for name in spec.inputs:
        shape = kwargs[f"{name}_shape"]
        if None in tuple(shape):
            raise SystemExit(f"Input {name!r} has the shape {tuple(shape)}; give it a length: --set {name}_shape=(...)")
    return kwargs


class _PortSide:
    """The port's side of `bench train`, in this process: the model compiled as `train` compiles it."""

    def __init__(self, key, kwargs, batch_size, seed, jit_compile, threads=None):
        import keras
        import tensorflow as tf

        from coaudiotext.models import get_spec
        from coaudiotext.train import make_optimizer

        if threads is not None:
            try:
                tf.config.threading.set_intra_op_parallelism_threads(threads)
                tf.config.threading.set_inter_op_parallelism_threads(threads)
            except RuntimeError:
                raise SystemExit("--threads: TensorFlow has already started in this process; run the bench in a "
                                 "fresh process (python -m coaudiotext.bench train ...).") from None

        spec = get_spec(key)
        self.inputs, labels = _random_batch(spec.inputs, kwargs, batch_size, kwargs["num_classes"], seed)
        keras.utils.set_random_seed(seed)
        self.model = spec.builder(**kwargs)
        self.model.compile(optimizer=make_optimizer(spec.train), loss="sparse_categorical_crossentropy",
                           metrics=["accuracy"], jit_compile=jit_compile)
        self.x, self.y = {name: tf.constant(value) for name, value in self.inputs.items()}, tf.constant(labels)
        self.info = {"parameters": int(self.model.count_params()), "keras": keras.__version__,
                     "tensorflow": tf.__version__,
                     "threads": tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count()}

    def timed_step(self):
        started = time.perf_counter()
        self.model.train_on_batch(self.x, self.y)  # returns numpy logs: the step has finished
        return time.perf_counter() - started


class _TorchSide:
    """The PyTorch side of `bench train`: the reference of `key` with the weights `state` (a state dict of
    numpy arrays, or the module itself when it runs in this process), trained as the original trains.

    `input_names` and `settings` (the registry's `TrainSettings` as a dict) come from the caller, so
    that a process hosting this side imports neither Keras nor TensorFlow.
    """

    def __init__(self, key, kwargs, batch_size, seed, input_names, settings, state, threads=None):
        import types

        from coaudiotext import reference as references

        torch = self.torch = references.require_torch()
        if threads is not None:
            torch.set_num_threads(threads)
        self.settings = types.SimpleNamespace(**settings)
        inputs, labels = _random_batch(input_names, kwargs, batch_size, kwargs["num_classes"], seed)
        torch.manual_seed(seed)
        if isinstance(state, torch.nn.Module):
            self.model = state
        else:
            self.model = references.build(key, **kwargs)
            self.model.load_state_dict({name: torch.from_numpy(value) for name, value in state.items()})
        self.model.train()
        self.optimizer = _torch_optimizer(torch, self.settings, self.model.parameters())
        self.x, self.y = {name: torch.from_numpy(value) for name, value in inputs.items()}, torch.from_numpy(labels)
        self.info = {"torch": torch.__version__, "threads": torch.get_num_threads(),
                     "imports_tensorflow": "tensorflow" in sys.modules}

    def timed_step(self):
        torch = self.torch
        started = time.perf_counter()
        self.optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(self.model(**self.x), self.y)
        loss.backward()
        if self.settings.clipnorm is not None:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.settings.clipnorm)
        self.optimizer.step()
        loss.item()
        return time.perf_counter() - started


def _torch_worker(connection, *arguments):
    """Hosts a `_TorchSide` in its own process (no TensorFlow there): answers "step" with a step's seconds."""
    try:
        side = _TorchSide(*arguments)
        connection.send(("ready", side.info))
        while connection.recv() == "step":
            connection.send(("step", side.timed_step()))
    except BaseException as error:  # reported by the parent
        connection.send(("error", f"{type(error).__name__}: {error}"))
    finally:
        connection.close()


class _TorchProcess:
    """A `_TorchSide` in a spawned process, driven through a pipe (same `info` and `timed_step()`)."""

    def __init__(self, *arguments):
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_torch_worker, args=(child,) + arguments, daemon=True)
        self.process.start()
        child.close()
        self.info = self._answer()

    def _answer(self):
        try:
            kind, payload = self.connection.recv()
        except EOFError:
            self.process.join(5)
            raise SystemExit("The PyTorch process of `bench train` ended without an answer (exit code "
                             f"{self.process.exitcode}; out of memory?).") from None
        if kind == "error":
            raise SystemExit(f"The PyTorch side failed: {payload}")
        return payload

    def timed_step(self):
        self.connection.send("step")
        return self._answer()

    def close(self):
        try:
            self.connection.send("stop")
        except (BrokenPipeError, OSError):
            pass
        self.process.join(30)
        if self.process.is_alive():
            self.process.terminate()


@command(
    "train",
    help="s/step of a port's training step against the original computation in PyTorch, interleaved",
    arguments=(
        (("--model",), {"required": True, "metavar": "KEY",
                        "help": "registry key with a PyTorch reference: mha_a, mha_a_t, audio_transformer, "
                                "crossmodal_transformer, residual, rsa"}),
        (("--steps",), {"type": int, "default": 10, "help": "timed steps of each side (default 10)"}),
        (("--warmup",), {"type": int, "default": 1,
                         "help": "first steps of each side run but not timed (default 1: the first traces the graph)"}),
        (("--batch-size",), {"type": int, "default": None, "help": "batch size (default: the original's)"}),
        (("--set",), {"action": "append", "type": _parse_flag, "default": [], "metavar": "FLAG=VALUE",
                      "help": "builder argument of both sides, repeatable, e.g. --set recurrent_activation=sigmoid "
                              "--set mfcc_shape=(100,40)"}),
        (("--jit-compile",), {"action": "store_true",
                              "help": "compile the port's step with XLA (off by default, as `train` and Keras' "
                                      "jit_compile='auto' leave it on CPU)"}),
        (("--seed",), {"type": int, "default": 0, "help": "seed of the random batch and of the weights (default 0)"}),
        (("--threads",), {"type": int, "default": None,
                          "help": "CPU threads of each side (TensorFlow intra- and inter-op, torch.set_num_threads); "
                                  "default: each library's own (all cores). --threads 1 compares one core each, "
                                  "which a loaded machine disturbs least"}),
        (("--in-process",), {"action": "store_true",
                             "help": "train the PyTorch side in this process too (starts faster, for smoke tests; the "
                                     "two libraries' thread pools then slow each other down)"}),
    ),
)
def train_steps(args):
    """Times training steps of the port and of the original computation in PyTorch, side by side.

    The PyTorch side trains in a process of its own, without TensorFlow (the two libraries' thread
    pools, busy in turn in one process, slowed PyTorch's steps down 20-30x on a loaded 2-core
    machine); the port trains in this one. Both get the same random batch (the port's input shapes,
    the original batch size) and start from the same weights (the port's, copied into the reference
    by `coaudiotext.reference`); their eval-mode forward passes are compared first.
    Then steps alternate, port step then PyTorch step, `--warmup + --steps` times; the first
    `--warmup` of each are dropped, and the median and min s/step of the rest are printed, with
    `speedup = median PyTorch s/step / median port s/step` (above 1: the port is faster).

    Port step: `train_on_batch` of the model compiled as `train` compiles it (the registry's optimizer,
    learning rate, epsilon and clipping; sparse categorical cross-entropy; accuracy). PyTorch step:
    `zero_grad`, forward (logits), `cross_entropy`, `backward`, `clip_grad_norm_` when the original
    clips, `step` of `Adam` / `AdamW` with the same settings. Each uses every CPU core.
    """
    from coaudiotext import reference as references
    from coaudiotext.models import MODELS

    key = args.model
    _check_train_args(args, key)
    spec = MODELS[key]
    batch_size = args.batch_size or spec.train.batch_size
    flags = dict(args.set)
    kwargs = _model_flags(key, spec, flags)
    try:  # argument errors of either side, here, before two processes import TensorFlow
        references.module_for(key).reference(key, **kwargs)
    except (TypeError, ValueError) as error:
        raise SystemExit(f"{key}: {error}") from None

    port = _PortSide(key, kwargs, batch_size, args.seed, bool(args.jit_compile), args.threads)
    original = references.build(key, port.model, **kwargs).eval()  # the port's weights
    forward_difference = _forward_difference(port, original)
    arguments = (key, kwargs, batch_size, args.seed, tuple(spec.inputs), dataclasses.asdict(spec.train))
    if args.in_process:
        sides = {"port": port, "torch": _TorchSide(*arguments, original, args.threads)}
    else:
        state = {name: value.detach().numpy().copy() for name, value in original.state_dict().items()}
        sides = {"port": port, "torch": _TorchProcess(*arguments, state, args.threads)}
    try:
        times = _interleaved_steps(sides, args.warmup, args.steps)
    finally:
        if isinstance(sides["torch"], _TorchProcess):
            sides["torch"].close()
    info = {name: side.info for name, side in sides.items()}
    results = _train_results(args, key, batch_size, flags, times, info, forward_difference)
    _print_train(results, info, args)
    return results


def _check_train_args(args, key):
    """Stops (`SystemExit`, naming the problem) on a key without reference, a bad count, or no torch."""
    from coaudiotext import reference as references
    from coaudiotext.models import MODELS

    if key not in references.KEYS:
        known = "" if key in MODELS else " (and it is not a registry key)"
        raise SystemExit(
            f"--model {key!r}: no PyTorch reference{known}. Expected one of: {', '.join(references.KEYS)}."
        )
    for flag, value in (("--steps", args.steps), ("--warmup", args.warmup), ("--batch-size", args.batch_size),
                        ("--threads", args.threads)):
        if value is not None and value < 1:
            raise SystemExit(f"{flag} must be a positive integer. Received: {flag} {value}")
    try:
        references.require_torch()
    except ImportError as error:
        raise SystemExit(str(error)) from None


def _forward_difference(port, original):
    """Max |p_port - p_torch| of the eval-mode class probabilities on the port's batch (the same function?)."""
    import torch

    with torch.no_grad():  # eval mode: no dropout
        probabilities = torch.softmax(original(**{n: torch.from_numpy(v) for n, v in port.inputs.items()}), -1).numpy()
    return float(np.abs(np.asarray(port.model(port.x, training=False)) - probabilities).max())


def _interleaved_steps(sides, warmup, steps):
    """`{name: [s/step, ...]}` of `warmup + steps` alternating steps, the first `warmup` of each dropped."""
    times = {name: [] for name in sides}
    for step in range(warmup + steps):  # interleaved: a load change hits both sides alike
        for name, side in sides.items():
            seconds = side.timed_step()
            if step >= warmup:
                times[name].append(seconds)
    return times


def _train_results(args, key, batch_size, flags, times, info, forward_difference):
    port_median, torch_median = (float(np.median(times[side])) for side in ("port", "torch"))
    port_info, torch_info = info["port"], info["torch"]
    return {
        "model": key,
        "batch_size": batch_size,
        "steps": args.steps,
        "warmup": args.warmup,
        "flags": flags,
        "parameters": port_info["parameters"],
        "port_median_s": round(port_median, 4),
        "port_min_s": round(min(times["port"]), 4),
        "torch_median_s": round(torch_median, 4),
        "torch_min_s": round(min(times["torch"]), 4),
        "speedup": round(torch_median / port_median, 2),
        "forward_max_abs_difference": forward_difference,
        "jit_compile": bool(args.jit_compile),
        "in_process": bool(args.in_process),
        "threads_requested": args.threads,
        "versions": {"keras": port_info["keras"], "tensorflow": port_info["tensorflow"], "torch": torch_info["torch"]},
        "threads": {"cpu_count": os.cpu_count(), "tensorflow": port_info["threads"], "torch": torch_info["threads"]},
        "torch_process_imports_tensorflow": torch_info["imports_tensorflow"],
        "port_steps_s": [round(t, 4) for t in times["port"]],
        "torch_steps_s": [round(t, 4) for t in times["torch"]],
    }


def _print_train(results, info, args):
    port_info, torch_info = info["port"], info["torch"]
    shown = "".join(f", {name}={value}" for name, value in results["flags"].items())
    print(f"{results['model']} ({results['parameters']:,} parameters{shown}), batch {results['batch_size']}, random "
          f"data; {args.steps} steps of each side, interleaved, after {args.warmup} untimed; forward check: "
          f"max |p_port - p_torch| = {results['forward_max_abs_difference']:.1e} (same weights, eval mode)")
    port_label = f"port: Keras {port_info['keras']} / TensorFlow {port_info['tensorflow']}" + (
        " + XLA" if args.jit_compile else "")
    torch_label = f"original in PyTorch {torch_info['torch']} (coaudiotext.reference)"
    width = max(len(port_label), len(torch_label)) + 2
    for label, side in ((port_label, "port"), (torch_label, "torch")):
        print(f"  {label:<{width}}median {results[f'{side}_median_s']:.4f} s/step   min {results[f'{side}_min_s']:.4f}")
    print(f"  -> speed-up of the port: {results['speedup']:.2f}x (median PyTorch / median port s/step); "
          f"{os.cpu_count()} CPUs, threads: TensorFlow {port_info['threads']}, torch {torch_info['threads']}")


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
