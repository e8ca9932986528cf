"""Reproduce the README results table and the shipped weights on the demo corpus.

    python -m coaudiotext.results                       # every tutorial model, fixed protocol
    python -m coaudiotext.results --models bilstm para  # a subset (rows of other models are kept)
    python -m coaudiotext.results --models pretrained --epochs 10   # Transformer and RSA-CFN rows

Protocol (the same for every model): the default demo corpus (seed 0), the key's
original optimiser settings (tutorial models: Adam 5e-4, epsilon 1e-8, batch 16; the
pretrained-feature models use their `demo_learning_rate`), `--epochs` epochs (default: each
key's `demo_epochs`, the epochs `python -m coaudiotext.train --model <key>` runs on the demo corpus),
seed 0, the checkpoint with the best validation macro-F1 (the text-only model: validation accuracy,
the metric its row reports; each key's `TrainSettings.monitor`) (the `val` split: training
voices, other training scripts), reported on the `test` split (unseen voices *and*
unseen scripts). Test is never used for selection.

By default nothing shipped is touched: runs go to `runs/results/<key>`, and the weights
(`runs/results/weights/<key>.keras`, with the class names and feature settings inside),
`SHA256SUMS`, `results.json` and the rendered table (`runs/results/results.md`) beside them.
Compare them with the shipped ones, then `--install` (what a maintainer does to ship new
weights) writes `weights/<key>.keras`, `weights/SHA256SUMS`, `weights/results.json` and the
tables between the `<!-- results:start -->` / `<!-- results:end -->` markers of README.md and
weights/README.md. A run already compared need not be trained again:

    python -m coaudiotext.results --models mha_a --install-from runs/results/weights

copies those keys' `.keras` files and rows from that folder into the shipped ones (and refreshes
the sums and tables); it refuses a row whose epochs differ from the key's `demo_epochs`, so every
shipped row stays what `python -m coaudiotext.train --model <key>` reproduces.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import pathlib
import shutil
import sys
import time
import warnings

from coaudiotext.cache import atomic_write_json, atomic_write_text
from coaudiotext.augment import AUGMENTATIONS  # light: NumPy only

TUTORIAL_KEYS = ("text_bilstm_att", "bilstm", "bilstm_att", "para", "mha_a", "mha_a_t", "ca")
# Models over frozen pretrained-encoder features. No encoder can be downloaded here, so on the demo
# corpus they read features of tiny RANDOM-weight encoders (weights/encoders/): their rows only show
# that the whole path works, not what the architectures can do.
# `rsa_cfn` and `hybrid_fusion` keep their ~330M parameters whatever the encoder width (the fused
# 129x129 outer product feeds a 16,641-wide layer): too slow to train on a laptop CPU, so they are
# not in the default table (`--models rsa_cfn` trains them anyway; tests train them at reduced width).
PRETRAINED_KEYS = ("text_bert", "audio_transformer", "crossmodal_transformer", "roberta_cls", "wav2vec2_cls",
                   "early_fusion", "late_fusion", "stack", "residual", "rsa", "mlp_mixer")
MARKED_KEYS = PRETRAINED_KEYS + ("rsa_cfn", "hybrid_fusion")
TEXT_ENCODER_INPUTS = ("bert", "bert_mask", "roberta", "roberta_seq")
AUDIO_ENCODER_INPUTS = ("wav2vec2", "wav2vec2_seq")
# Demo utterances last at most ~2 s = 80 MFCC frames: keep 100 of seed 001's 400 (4x less attention work).
DEMO_FEATURE_OVERRIDES = {"mfcc": {"max_frames": 100}, "mfcc_mask": {"max_frames": 100}}
# What the tutorial reports on ProSem (accuracy %, macro-F1), from its README's results table.
TUTORIAL_REPORTED = {
    "bilstm": "83.9 (0.652)",
    "bilstm_att": "89.3 (0.759)",
    "para": "93.2 (0.919)",
    "mha_a": "93.8 (0.928)",
    "mha_a_t": "92.8 (0.909)",
    "ca": "91.8 (0.884)",
}
START, END = "<!-- results:start -->", "<!-- results:end -->"
MODELS_START, MODELS_END = "<!-- models:start -->", "<!-- models:end -->"


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tune_accuracy(metrics):
    """Rising-vs-non-rising accuracy read off a demo confusion matrix (`yn`, `r` are spoken with `?`).

    On the demo corpus the label is (script form) x (tune): this says how much of the tune a model
    gets right, whatever it makes of the form. None for other label sets.
    """
    import numpy as np

    labels = metrics["labels"]
    if set(labels) != {"s", "yn", "wh", "c", "r"}:
        return None
    matrix = np.asarray(metrics["confusion_matrix"])
    rising = np.isin(labels, ["yn", "r"])
    right = matrix[np.ix_(rising, rising)].sum() + matrix[np.ix_(~rising, ~rising)].sum()
    return float(right / matrix.sum())


def split_sizes(data):
    """Utterances per split of corpus `data` (for the table's protocol note)."""
    from coaudiotext.data import resolve_data

    manifest, _ = resolve_data(data, progress=False)
    return {name: len(manifest.split(name)) for name in ("train", "val", "test", "handwritten") if name in manifest.splits}


def tiny_encoders(folder, data):
    """Creates (once) the tiny random-weight BERT and wav2vec2 stand-ins under `folder`; returns their paths."""
    from coaudiotext.data import resolve_data
    from coaudiotext.testing import make_tiny_bert, make_tiny_wav2vec2

    folder = pathlib.Path(folder)
    text, audio = folder / "tiny-bert", folder / "tiny-wav2vec2"
    if not (text / "config.json").exists():
        manifest, _ = resolve_data(data)
        make_tiny_bert(text, texts=manifest.split("train").texts)
    if not (audio / "config.json").exists():
        make_tiny_wav2vec2(audio)
    return str(text), str(audio)


def feature_overrides(key, encoders):
    from coaudiotext.models import MODELS

    overrides = {}
    for name in MODELS[key].inputs:
        if name in TEXT_ENCODER_INPUTS:
            overrides[name] = {"model": encoders[0]}
        elif name in AUDIO_ENCODER_INPUTS:
            overrides[name] = {"model": encoders[1]}
        elif name in DEMO_FEATURE_OVERRIDES:
            overrides[name] = dict(DEMO_FEATURE_OVERRIDES[name])
    return overrides


def _split_sizes(payload):
    sizes = payload["protocol"].get("sizes") or {}
    return ", ".join(f"`{name}` {count:,}" for name, count in sizes.items()) or "see the corpus report"


def render_table(results):
    from coaudiotext.models import MODELS

    lines = [
        "| model | key | inputs | params (demo shapes) | test WA (acc) | test UA | test macro-F1 | test weighted-F1 | "
        "test tune acc | handwritten WA | handwritten macro-F1 | best epoch / epochs | s/epoch | tutorial on ProSem: acc (macro-F1) |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    order = [k for k in MODELS if k in results]
    for key in order:
        row = results[key]
        test = row["test"]
        hand = row.get("extra", {}).get("handwritten")
        spec = MODELS[key]
        tune = tune_accuracy(test)
        marker = ("†" if key in MARKED_KEYS else "") + ("‡" if row.get("augment", "none") != "none" else "")
        hand_cells = "– | –" if hand is None else f"{hand['accuracy']:.3f} | {hand['macro_f1']:.3f}"
        lines.append(
            f"| {spec.description}{marker} | `{key}` | {' + '.join(spec.inputs)} | {row['parameters']:,} | "
            f"{test['accuracy']:.3f} | {test['ua']:.3f} | {test['macro_f1']:.3f} | {test['weighted_f1']:.3f} | "
            f"{'–' if tune is None else f'{tune:.3f}'} | {hand_cells} | "
            f"{row['best_epoch']} / {row.get('epochs', '?')} | {row.get('seconds_per_epoch', float('nan')):.1f} | {TUTORIAL_REPORTED.get(key, '–')} |"
        )
    return "\n".join(lines)


def _row_loads(results):
    """`; <key> under load (...)` for rows whose training shared the CPU (their `load` field)."""
    loaded = [f"`{key}` {row['load']}" for key, row in results.items() if row.get("load")]
    return ("; trained while other jobs shared the CPU (1-min load average): " + ", ".join(loaded)) if loaded else ""


def _augment_note(results):
    """` ‡ trained with --augment ...` for rows trained with augmentation (their `augment` field)."""
    augmented = sorted({row["augment"] for row in results.values() if row.get("augment", "none") != "none"})
    return "".join(f" ‡ trained with `--augment {name}` (the key's demo default: random gain and frequency warp of "
                   f"the training audio, see `coaudiotext.augment`)." for name in augmented)


def render_note(payload):
    protocol, results = payload["protocol"], payload["models"]
    minutes = sum(r["train_seconds"] for r in results.values()) / 60
    load = protocol.get("load")
    load_note = f" (1-min load average at the start: {load})" if load else ""
    return (f"\n_Protocol: `python -m coaudiotext.results --seed {protocol['seed']}` (tutorial models, each key's "
            f"demo epochs) and `python -m coaudiotext.results --models pretrained --epochs 2 --seed {protocol['seed']}` "
            f"(†), epochs per row in the table, on the `{protocol['data']}` corpus ({_split_sizes(payload)} utterances); checkpoint with the best "
            f"validation macro-F1 (text-only: validation accuracy, the metric its row reports; split `val`: training "
            f"voices, scripts not in train); metrics on the `test` split "
            f"(unseen voices, unseen generated scripts, each with at least one word held out of the training lexicon) "
            f"and on `handwritten` (the 210 hand-written scripts, unseen voices; never trained on). *tune acc* = rising "
            f"(`yn`, `r`) vs non-rising accuracy from the test confusion matrix. Training wall time of the whole table: "
            f"{minutes:.1f} min on a {protocol.get('cpu_count', os.cpu_count())}-core CPU{load_note} (s/epoch = median)"
            f"{_row_loads(results)}.{_augment_note(results)} "
            f"† over features of tiny **random-weight** encoders (`weights/encoders/`, nothing pretrained can be "
            f"downloaded here) and 100 MFCC frames: these rows only show that the path runs end to end; they say "
            f"nothing about the architectures._")


def render_models_table():
    """The registry as a markdown table: key, inputs, parameters at the original shapes, source, tutorial."""
    from coaudiotext.models import MODELS, build_model
    from coaudiotext.models.rsa_cfn import LargeModelWarning

    lines = ["| key | model | inputs | parameters (original shapes) | source | tutorial |", "|---|---|---|---:|---|---|"]
    for key, spec in MODELS.items():
        # The ~330M-parameter heads build with zero kernels: ~2 s and ~1.3 GB each (random init peaks at ~3.4 GB).
        options = {"kernel_initializer": "zeros"} if key in ("rsa_cfn", "hybrid_fusion") else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LargeModelWarning)
            model = build_model(key, **options)
        count = model.count_params()
        del model
        gc.collect()  # frees the big heads' weights before the next build
        tutorial = pathlib.Path(spec.tutorial).name
        notebook = pathlib.Path(__file__).resolve().parents[1] / "tutorials" / tutorial.replace(".py", ".ipynb")
        link = f"[{tutorial}](tutorials/{notebook.name})" if notebook.exists() else tutorial  # planned: no link
        lines.append(f"| `{key}` | {spec.description} | {', '.join(spec.inputs)} | {count:,} | {spec.source} | {link} |")
    return "\n".join(lines)


def replace_block(path, block, start=START, end=END):
    path = pathlib.Path(path)
    text = path.read_text(encoding="utf-8")
    if start not in text or end not in text:
        raise ValueError(f"{path} has no {start} ... {end} markers.")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    atomic_write_text(path, head + start + "\n" + block + "\n" + end + tail)


def _build_parser():
    """The command line of `python -m coaudiotext.results`."""
    parser = argparse.ArgumentParser(prog="python -m coaudiotext.results", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=list(TUTORIAL_KEYS),
                        help="registry keys to (re)train (default: the tutorial models); 'pretrained' = every "
                             "model over pretrained-encoder features")
    parser.add_argument("--epochs", type=int, default=None,
                        help="epochs for every model (default: each key's demo_epochs, what "
                             "`python -m coaudiotext.train --model KEY` runs on the demo corpus)")
    parser.add_argument("--augment", choices=AUGMENTATIONS, default=None,
                        help="training-time audio augmentation for every model (default: each key's demo_augment, "
                             "what `python -m coaudiotext.train --model KEY` uses on the demo corpus)")
    parser.add_argument("--encoders-dir", default="weights/encoders",
                        help="where the tiny random-weight stand-in encoders are created (default weights/encoders)")
    parser.add_argument("--data", default="demo", help="corpus (default demo)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs-dir", default="runs/results",
                        help="runs, and (without --install) the weights, results.json and results.md (default runs/results)")
    parser.add_argument("--install", action="store_true",
                        help="replace the SHIPPED weights/*.keras, weights/SHA256SUMS, weights/results.json and the "
                             "README tables (off by default: everything goes under --runs-dir)")
    parser.add_argument("--weights-dir", help="with --install: the shipped weights folder (default weights)")
    parser.add_argument("--readme", help="with --install: the README to update (default README.md)")
    parser.add_argument("--install-from", metavar="RUN_WEIGHTS",
                        help="with --install: train nothing, copy the --models' .keras files and results rows from "
                             "this folder (an earlier run's <runs-dir>/weights)")
    parser.add_argument("--tables-only", action="store_true",
                        help="train nothing: regenerate the tables from the registry and results.json")
    return parser


def main(argv=None):
    parser = _build_parser()
    args = parser.parse_args(argv)
    from coaudiotext._logs import quiet_tensorflow

    quiet_tensorflow()  # after argparse: --help and argument errors stay instant
    if not args.install and (args.weights_dir or args.readme):
        parser.error("--weights-dir and --readme write shipped files: add --install")
    if args.install_from and not args.install:
        parser.error("--install-from replaces shipped weights: add --install")
    if args.install:
        args.weights_dir, args.readme = args.weights_dir or "weights", args.readme or "README.md"
    else:
        args.weights_dir, args.readme = str(pathlib.Path(args.runs_dir) / "weights"), None
    if args.tables_only:
        args.models = []
    if "pretrained" in args.models:
        args.models = [k for k in args.models if k != "pretrained"] + list(PRETRAINED_KEYS)

    weights = pathlib.Path(args.weights_dir)
    weights.mkdir(parents=True, exist_ok=True)
    results_path = weights / "results.json"
    if args.install_from:
        _adopt_models(args, weights, results_path, parser)
    else:
        _train_models(args, weights, results_path)
    sums = "".join(f"{sha256(p)}  {p.name}\n" for p in sorted(weights.glob("*.keras")))
    (weights / "SHA256SUMS").write_text(sums)
    _write_tables(args, weights, results_path)
    return 0


def _load():
    """The 1-minute load average (0.0 where the platform has none)."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0


def _train_models(args, weights, results_path):
    """Trains each key of `args.models`, copying its best weights into `weights` and its row into `results_path`."""
    from coaudiotext.models import get_spec
    from coaudiotext.train import train

    stored = json.loads(results_path.read_text()) if results_path.exists() else {}
    results = stored.get("models", {})
    started = time.perf_counter()
    load = f"{_load():.2f}" if hasattr(os, "getloadavg") else None
    for key in args.models:
        run_dir = pathlib.Path(args.runs_dir) / key
        if run_dir.exists():
            shutil.rmtree(run_dir)
        print(f"\n=== {key} ===", flush=True)
        overrides = None
        if key in MARKED_KEYS:
            overrides = feature_overrides(key, tiny_encoders(args.encoders_dir, args.data))
        epochs = args.epochs or get_spec(key).train.demo_epochs
        augment = args.augment or get_spec(key).train.demo_augment
        load_before = _load()
        row = train(key, data=args.data, out=run_dir, epochs=epochs, seed=args.seed, verbose=2,
                    feature_overrides=overrides, augment=augment)
        shutil.copyfile(run_dir / "best.keras", weights / f"{key}.keras")
        row = {k: v for k, v in row.items() if k in ("parameters", "best_epoch", "seconds_per_epoch", "train_seconds",
                                                     "selection", "validation", "test", "val", "extra")}
        row["epochs"] = epochs
        row["augment"] = augment
        load_after = _load()
        if max(load_before, load_after) > 1.5 * (os.cpu_count() or 1):  # s/epoch are not idle-machine figures
            row["load"] = f"{load_before:.1f} at the start, {load_after:.1f} at the end"
        results[key] = row
        payload = {
            "protocol": {"data": args.data, "epochs": args.epochs or "demo_epochs of each key", "seed": args.seed,
                         "selection": "best validation macro-F1, text-only model: validation accuracy (split 'val')",
                         "reported": "splits 'test' (unseen voices, scripts and words) and 'handwritten'",
                         "cpu_count": os.cpu_count(), "sizes": split_sizes(args.data), "load": load},
            "models": results,
        }
        atomic_write_json(results_path, payload, default=None)
    if args.models:
        print(f"trained {len(args.models)} model(s) in {(time.perf_counter() - started) / 60:.1f} min")


def _adopt_models(args, weights, results_path, parser):
    """Copies the rows and `.keras` files of `args.models` from an earlier run's weights folder (`--install-from`)."""
    from coaudiotext.models import get_spec

    source = pathlib.Path(args.install_from)
    source_json = source / "results.json"
    if not source_json.is_file():
        parser.error(f"--install-from {source}: no results.json there (pass the run's <runs-dir>/weights folder)")
    adopted = json.loads(source_json.read_text())
    stored = json.loads(results_path.read_text()) if results_path.exists() else {"models": {}}
    for key in args.models:
        row = adopted.get("models", {}).get(key)
        model_file = source / f"{key}.keras"
        if row is None or not model_file.is_file():
            parser.error(f"--install-from {source}: no row or no {key}.keras for {key!r}")
        settings = get_spec(key).train
        for field, wanted, default in (("epochs", settings.demo_epochs, None), ("augment", settings.demo_augment, "none")):
            trained = row.get(field, default)
            if trained != wanted:  # the shipped row must be what `train --model KEY` reproduces
                parser.error(f"--install-from {source}: {key} was trained with {field}={trained!r} but its "
                             f"demo_{field} is {wanted!r}; set TrainSettings(demo_{field}={trained!r}) first, so "
                             f"`python -m coaudiotext.train --model {key}` reproduces the shipped row")
        shutil.copyfile(model_file, weights / f"{key}.keras")
        stored["models"][key] = row
        print(f"installed {key} from {model_file}")
    stored["protocol"] = {**adopted.get("protocol", {}), **stored.get("protocol", {}),
                          "epochs": "demo_epochs of each key"}
    atomic_write_json(results_path, stored, default=None)


def _write_tables(args, weights, results_path):
    """Prints the results table and writes it to `runs_dir/results.md`, or (with --install) into the READMEs."""
    payload = json.loads(results_path.read_text()) if results_path.exists() else None
    results = payload["models"] if payload else {}
    if results:
        table, note = render_table(results), render_note(payload)
        print(table)
    if args.readme is None:
        if results:
            out = pathlib.Path(args.runs_dir) / "results.md"
            out.write_text(table + "\n" + note + "\n")
            print(f"wrote {weights}/ and {out}; the shipped weights/ and README.md are unchanged "
                  "(--install replaces them)")
        return
    for target in (args.readme, weights / "README.md"):
        if pathlib.Path(target).exists() and results:
            replace_block(target, table + "\n" + note)
    if pathlib.Path(args.readme).exists():
        replace_block(args.readme, render_models_table(), MODELS_START, MODELS_END)


if __name__ == "__main__":
    sys.exit(main())
