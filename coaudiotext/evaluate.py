"""Evaluate a trained model on a manifest split.

    python -m coaudiotext.evaluate --weights weights/mha_a_t.keras --data demo --split test --json out.json

Prints accuracy (WA), UA, macro-F1, weighted-F1 and the per-class report; `--json`
writes `accuracy`, `ua`, `macro_f1`, `weighted_f1`, `per_class`,
`confusion_matrix`, `n` (and more); `--plot` saves the confusion matrix.
The features are rebuilt exactly as in training, from the settings stored in the
`.keras` file (see `coaudiotext.predict.load_trained`).
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["evaluate_arrays", "evaluate", "main"]


def evaluate_arrays(model, features, labels, class_names, batch_size=64):
    """Metrics of `model` on feature arrays `features` (dict) with integer `labels`."""
    import numpy as np

    from coaudiotext.data.pipeline import make_dataset
    from coaudiotext.metrics import classification_metrics

    probabilities = model.predict(make_dataset(features, batch_size=batch_size), verbose=0)
    return classification_metrics(np.asarray(labels), np.argmax(probabilities, axis=-1), class_names)


def evaluate(weights, data, split="test", skip_bad=False, text_source=None, data_dir=None, x_fem=None, x_mal=None,
             use_cache=True, trust_pickle=False):
    """Loads `weights` (a `.keras` file written by coaudiotext) and returns its metrics on `split` of `data`."""
    from coaudiotext.data import resolve_data
    from coaudiotext.data.pipeline import build_features, encode_labels
    from coaudiotext.predict import load_trained

    model, metadata = load_trained(weights)
    class_names = metadata["class_names"]
    manifest, _ = resolve_data(data, data_dir=data_dir, x_fem=x_fem, x_mal=x_mal, skip_bad=skip_bad,
                               text_source=text_source or "gold", labels=class_names, trust_pickle=trust_pickle)
    rows = manifest.split(split)
    features = build_features(metadata["features"], rows, use_cache=use_cache)
    metrics = evaluate_arrays(model, features, encode_labels(rows.labels, class_names), class_names)
    metrics.update({"weights": str(weights), "data": str(data), "split": split, "model": metadata.get("model")})
    return metrics


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m coaudiotext.evaluate",
        description="Evaluate a trained coaudiotext model (.keras) on a split of a manifest.",
    )
    parser.add_argument("--weights", required=True, help="a .keras file written by coaudiotext (run best.keras or weights/KEY.keras)")
    parser.add_argument("--data", required=True, help="manifest CSV, its folder, demo, demo-tiny or prosem")
    parser.add_argument("--split", default="test", help="split to evaluate (default test)")
    parser.add_argument("--json", help="write the metrics to this JSON file")
    parser.add_argument("--plot", help="save the confusion matrix to this PNG file")
    parser.add_argument("--text-source", choices=("gold", "asr"), default="gold", help="transcript column: text (gold) or asr_text")
    parser.add_argument("--data-dir", help="ProSem folder (--data prosem)")
    parser.add_argument("--x-fem", help="ProSem x_fem.npy")
    parser.add_argument("--x-mal", help="ProSem x_mal.npy")
    parser.add_argument("--skip-bad", action="store_true", help="leave out bad manifest rows (listed) instead of stopping")
    parser.add_argument("--trust-pickle", action="store_true",
                        help="--data seed001: allow unpickling its .pkl files (they can run code; refused by default)")
    args = parser.parse_args(argv)
    from coaudiotext._logs import quiet_tensorflow

    quiet_tensorflow()  # after argparse: --help and argument errors stay instant
    try:
        metrics = evaluate(args.weights, args.data, split=args.split, skip_bad=args.skip_bad,
                           text_source=args.text_source, data_dir=args.data_dir, x_fem=args.x_fem, x_mal=args.x_mal,
                           trust_pickle=args.trust_pickle)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from coaudiotext.metrics import format_metrics

    print(format_metrics(metrics, args.split))
    print(f"{'class':<8}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}")
    for name, row in metrics["per_class"].items():
        print(f"{name:<8}{row['precision']:>10.3f}{row['recall']:>10.3f}{row['f1']:>10.3f}{row['support']:>9d}")
    if args.json:
        from coaudiotext.cache import atomic_write_json

        atomic_write_json(args.json, metrics, default=None)
    if args.plot:
        from coaudiotext.plots import plot_confusion_matrix

        plot_confusion_matrix(metrics["confusion_matrix"], metrics["labels"], path=args.plot,
                              title=f"{metrics.get('model')} on {args.split}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
