"""SER-MMoE on real GE2E embeddings: a logistic-regression probe vs the `ser_mmoe_ge2e` port, side by side.

    python -m coaudiotext.ser_mmoe_run --data-dir data/ser_mmoe --corpus emodb

For one corpus (`emodb` -> language ge, `french` -> fr), on the original's split files (see
`coaudiotext.data.ser_mmoe`; the leaked first row is kept in test only):

1. probe: StandardScaler + sklearn LogisticRegression; C from `--probe-c` chosen on validation UA;
2. port: `ser_mmoe_ge2e(language)` trained with the original's recipe (`training/training.py`):
   AdamW (lr 5e-4 / 3, weight decay 1e-5, eps 1e-6), cross-entropy + alpha x the GE2E emotion
   loss (`training_model`: ge alpha 0.01, fr 0.015, pretrained similarity 70.89 / -4.18 at 0.01 x lr),
   one optimizer step per reader chunk (ge 512 lines, fr 256: the whole train split in one or two
   batches), 20 epochs, no shuffling (the reader reads the file in order). `--batch-size` and
   `--epochs` change the recipe (recorded in the results). The epoch with the best validation UA
   is kept (the original keeps the best sum of validation UA over languages), and evaluated once
   on test, in inference mode (the original evaluates in training mode).

Test WA (accuracy), UA (mean per-class recall) and macro-F1 of both, per seed and averaged, go to
`<out>/<corpus>/results.json` (written atomically).
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

import numpy as np

__all__ = ["main", "run_probe", "run_port"]

DEFAULT_C = (0.01, 0.1, 1.0, 10.0, 100.0)
DEFAULT_SEEDS = (12345, 1, 2)


def _metrics(y_true, y_pred, classes):
    from coaudiotext.metrics import classification_metrics

    m = classification_metrics(y_true, y_pred, classes)
    return {k: m[k] for k in ("n", "accuracy", "ua", "macro_f1", "confusion_matrix")}


def run_probe(data, classes, grid=DEFAULT_C):
    """Logistic regression on standardised embeddings; C with the best validation UA (ties: smaller C)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    (xt, yt), (xv, yv), (xs, ys) = data["train"], data["val"], data["test"]
    best = None
    scores = {}
    for c in grid:
        probe = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000))
        probe.fit(xt, yt)
        ua = _metrics(yv, probe.predict(xv), classes)["ua"]
        scores[str(c)] = ua
        if best is None or ua > best[0]:
            best = (ua, c, probe)
    ua, c, probe = best
    return {"C": c, "val_ua_by_C": scores, "val": _metrics(yv, probe.predict(xv), classes),
            "test": _metrics(ys, probe.predict(xs), classes)}


def run_port(data, classes, language, seed, epochs=20, batch_size=None, verbose=0):
    """Trains `ser_mmoe_ge2e(language)` with the original's recipe; returns val/test metrics of the best epoch."""
    import keras

    from coaudiotext.models.ser_mmoe import LANGUAGES, ser_mmoe_ge2e, training_model

    keras.utils.set_random_seed(seed)
    batch_size = batch_size or LANGUAGES[language]["batch_size"]
    model = ser_mmoe_ge2e(language, num_classes=len(classes))
    train = training_model(model, language)
    train.compile(optimizer=keras.optimizers.AdamW(learning_rate=5e-4 / 3, weight_decay=1e-5, epsilon=1e-6),
                  loss="sparse_categorical_crossentropy")
    (xt, yt), (xv, yv), (xs, ys) = data["train"], data["val"], data["test"]

    def predict(x):
        return np.argmax(keras.ops.convert_to_numpy(model({"ge2e": x}, training=False)), axis=-1)

    best, history = None, []
    for epoch in range(1, epochs + 1):
        fit = train.fit({"ge2e": xt, "label": yt.astype("int32")}, yt, batch_size=batch_size, epochs=1,
                        shuffle=False, verbose=verbose)
        val = _metrics(yv, predict(xv), classes)
        history.append({"epoch": epoch, "loss": float(fit.history["loss"][-1]), "val_ua": val["ua"],
                        "val_accuracy": val["accuracy"]})
        if best is None or val["ua"] > best[0]:
            best = (val["ua"], epoch, model.get_weights(), val)
    _, epoch, weights, val = best
    model.set_weights(weights)
    return {"seed": seed, "best_epoch": epoch, "val": val, "test": _metrics(ys, predict(xs), classes),
            "history": history, "batch_size": batch_size, "epochs": epochs}


def _summary(runs):
    out = {}
    for key in ("accuracy", "ua", "macro_f1"):
        values = np.array([r["test"][key] for r in runs])
        out[key] = {"mean": float(values.mean()), "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0}
    return out


def _write_atomic(path, payload):
    from coaudiotext.cache import atomic_write_json

    atomic_write_json(path, payload, default=None)


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m coaudiotext.ser_mmoe_run",
        description=("Train and evaluate SER-MMoE's GE2E part (ser_mmoe_ge2e) and a logistic-regression probe on the "
                     "original's EmoDB / CaFE GE2E embeddings and splits; report test WA, UA and macro-F1."),
        epilog=("Selection: the probe's C and the port's epoch are chosen on validation UA; test is evaluated once. "
                "Example: python -m coaudiotext.ser_mmoe_run --data-dir data/ser_mmoe --corpus french"),
    )
    parser.add_argument("--data-dir", required=True, help="folder with emodb/ and french/ (train/val/test.csv, GE2E/)")
    parser.add_argument("--corpus", required=True, choices=("emodb", "french"), help="emodb (language ge) or french (fr)")
    parser.add_argument("--out", default="runs/ser_mmoe", help="results go to OUT/<corpus>/results.json (default: %(default)s)")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(DEFAULT_SEEDS),
                        help="seeds of the port's runs (default: %(default)s; 12345 is the original's)")
    parser.add_argument("--epochs", type=int, default=20, help="epochs of the port (original: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="batch size of the port (default: the original's reader chunk, ge 512, fr 256)")
    parser.add_argument("--probe-c", type=float, nargs="+", default=list(DEFAULT_C),
                        help="C grid of the probe (default: %(default)s)")
    parser.add_argument("--first-row", default="test_only", choices=("test_only", "keep", "drop"),
                        help="the leaked first row of every split file (default: %(default)s)")
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    from coaudiotext._logs import quiet_tensorflow

    quiet_tensorflow()  # after argparse: --help and argument errors stay instant
    if args.epochs < 1 or (args.batch_size is not None and args.batch_size < 1):
        raise SystemExit("--epochs and --batch-size must be positive.")
    from coaudiotext.data.ser_mmoe import LANGUAGE, leaked_row, load_split

    started = time.time()
    data, classes, sizes = {}, None, {}
    for split in ("train", "val", "test"):
        x, y, _, classes = load_split(args.data_dir, args.corpus, split, first_row=args.first_row)
        data[split] = (x, y)
        sizes[split] = len(y)
    language = LANGUAGE[args.corpus]
    probe_start = time.time()
    probe = run_probe(data, classes, args.probe_c)
    probe["seconds"] = round(time.time() - probe_start, 2)
    runs = []
    for seed in args.seeds:
        t = time.time()
        run = run_port(data, classes, language, seed, epochs=args.epochs, batch_size=args.batch_size)
        run["seconds"] = round(time.time() - t, 2)
        runs.append(run)
    payload = {
        "corpus": args.corpus,
        "language": language,
        "classes": classes,
        "sizes": sizes,
        "first_row": {"policy": args.first_row, "utterance": leaked_row(args.data_dir, args.corpus)},
        "selection": "probe C and port epoch: best validation UA; test evaluated once with the selected model",
        "recipe": {"optimizer": "AdamW", "learning_rate": 5e-4 / 3, "weight_decay": 1e-5, "epsilon": 1e-6,
                   "epochs": args.epochs, "batch_size": runs[0]["batch_size"], "shuffle": False,
                   "loss": "CE + alpha * GE2E emotion loss (training_model defaults)"},
        "probe": probe,
        "port": {"runs": runs, "test_mean": _summary(runs)},
        "seconds": round(time.time() - started, 1),
    }
    path = pathlib.Path(args.out) / args.corpus / "results.json"
    _write_atomic(path, payload)
    print(f"{args.corpus} ({language}): n train/val/test = {sizes['train']}/{sizes['val']}/{sizes['test']}")
    print(f"{'model':<28}{'test WA':>9}{'test UA':>9}{'macro-F1':>10}")
    t = probe["test"]
    print(f"{'probe (C=' + str(probe['C']) + ')':<28}{t['accuracy']:>9.3f}{t['ua']:>9.3f}{t['macro_f1']:>10.3f}")
    for run in runs:
        t = run["test"]
        label = f"port seed {run['seed']} (ep {run['best_epoch']})"
        print(f"{label:<28}{t['accuracy']:>9.3f}{t['ua']:>9.3f}{t['macro_f1']:>10.3f}")
    s = payload["port"]["test_mean"]
    print(f"{'port mean':<28}{s['accuracy']['mean']:>9.3f}{s['ua']['mean']:>9.3f}{s['macro_f1']['mean']:>10.3f}")
    print(f"wrote {path} ({payload['seconds']} s)")
    return payload


if __name__ == "__main__":
    main(sys.argv[1:])
