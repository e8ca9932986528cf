"""Train any registry model on the demo corpus, ProSem or your own manifest.

    python -m coaudiotext.train --model mha_a_t                  # embedded demo corpus
    python -m coaudiotext.train --model bilstm --data my.csv --epochs 30
    python -m coaudiotext.train --model para --data prosem --data-dir ProSem_KOR_speech \\
        --x-fem x_fem.npy --x-mal x_mal.npy
    python -m coaudiotext.train --resume runs/bilstm-20261122-101500

Every run writes a run directory: `config.json` (the command and every setting),
`environment.json` (versions, device), `history.csv`, `best.keras` (selected on the
validation split by `--monitor`, never on test), `last.keras` + `state.json`
(for `--resume`), `metrics.json` (val and test metrics of the best model),
`confusion_matrix.png` and `history.png`.

Resuming is exact: a run stopped at any moment (Ctrl-C, `kill -9`, a crash) and continued with
`--resume` gives the same per-epoch losses and the same final weights, bit for bit, as an
uninterrupted run with the same seed. Each epoch's commit is one atomic `last.keras`: weights,
optimizer state (Adam moments and step) and a resume state (epoch, best, the logs so far, the
dropout `SeedGenerator` states and Python's and NumPy's generator states); the data order of
epoch e is a pure function of `--seed` and e (`_epoch_orders`). Measured on CPU
(`tests/test_resume_exact.py`). Not measured on a GPU, where nondeterministic kernels (cuDNN) may
make even two uninterrupted runs differ; resuming saves and restores the same state there.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import datetime
import json
import os
import pathlib
import platform
import sys
import time

from coaudiotext.run_config import RunConfig, demo_feature_defaults  # light: no Keras
from coaudiotext.augment import AUGMENTATIONS  # light: NumPy only

__all__ = ["train", "main", "make_optimizer", "environment_info", "RunConfig", "RunData", "prepare_data",
           "load_train_val", "open_run_dir", "build_or_resume", "fit", "evaluate_selected", "write_run",
           "demo_feature_defaults"]


def environment_info():
    """Versions and device of this run (for `environment.json`)."""
    import keras
    import numpy

    info = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "keras": keras.__version__,
        "keras_backend": keras.backend.backend(),
        "numpy": numpy.__version__,
    }
    for name in ("tensorflow", "librosa", "sklearn", "torch", "transformers", "jax"):
        module = sys.modules.get(name)
        if module is not None:
            info[name] = getattr(module, "__version__", "?")
    try:
        import tensorflow as tf

        info["tensorflow"] = tf.__version__
        info["devices"] = [d.name for d in tf.config.list_logical_devices()]
    except Exception:  # noqa: BLE001 - TF is optional under other backends
        pass
    from coaudiotext import __version__

    info["coaudiotext"] = __version__
    return info


def make_optimizer(settings, learning_rate=None):
    """A fresh Keras optimizer from a `TrainSettings` (never shared between models)."""
    import keras

    lr = settings.learning_rate if learning_rate is None else learning_rate
    common = {"learning_rate": lr, "epsilon": settings.epsilon}
    if settings.clipnorm is not None:
        common["global_clipnorm"] = settings.clipnorm
    if settings.optimizer == "adam":
        return keras.optimizers.Adam(**common)
    if settings.optimizer == "adamw":
        decay = 0.01 if settings.weight_decay is None else settings.weight_decay  # torch AdamW's default
        return keras.optimizers.AdamW(weight_decay=decay, **common)
    raise ValueError(f"Expected optimizer to be one of {{'adam', 'adamw'}}. Received: optimizer={settings.optimizer!r}")


class _EpochTimer:
    """Adds `epoch_seconds` to the Keras logs."""

    def __new__(cls):
        import keras

        class EpochTimer(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self._start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                if logs is not None:
                    logs["epoch_seconds"] = time.perf_counter() - self._start

        return EpochTimer()


def _carve_validation(manifest, fraction, seed):
    """Splits `manifest` rows into (train, val) stratified by label, deterministically."""
    import numpy as np

    from coaudiotext.data.manifest import Manifest

    rng = np.random.default_rng(seed)
    val_index = []
    labels = np.array(manifest.labels)
    for label in sorted(set(labels)):
        members = np.flatnonzero(labels == label)
        rng.shuffle(members)
        val_index.extend(members[: max(1, int(round(fraction * len(members))))].tolist())
    val_set = set(val_index)
    pick = lambda keep: Manifest(  # noqa: E731
        rows=[r for i, r in enumerate(manifest.rows) if (i in val_set) == keep], path=manifest.path
    )
    return pick(False), pick(True)


def _class_weights(labels, num_classes):
    import numpy as np

    counts = np.bincount(labels, minlength=num_classes).astype(float)
    present = counts > 0
    weights = np.zeros(num_classes)
    weights[present] = len(labels) / (present.sum() * counts[present])
    return {i: float(w) for i, w in enumerate(weights) if present[i]}


def _atomic_json(path, payload):
    from coaudiotext.cache import atomic_write_json

    atomic_write_json(path, payload, sort_keys=True)


# ------------------------------------------------------------------------------------------------ stages
@dataclasses.dataclass
class RunData:
    """What `prepare_data` gives the later stages: the splits, their features and labels."""

    manifest: object
    class_names: list
    train_rows: object
    val_rows: object
    test_rows: object
    validation_note: str
    features_config: dict
    x_train: dict
    y_train: object
    x_val: dict
    y_val: object


def read_resume_point(run_dir):
    """The resume state of the interrupted run in `run_dir` (its last committed epoch)."""
    from coaudiotext.callbacks import read_resume_state

    run_dir = pathlib.Path(run_dir)
    # The resume state inside last.keras is the commit of an epoch (weights, optimizer and random states in one
    # atomic file); state.json, written just after it, can be one epoch behind after a kill -9 between the two.
    state = read_resume_state(run_dir / "last.keras") if (run_dir / "last.keras").exists() else None
    if state is None:
        state_path = run_dir / "state.json"
        if not state_path.exists():
            raise FileNotFoundError(f"{state_path} not found: {run_dir} has no finished epoch to resume from.")
        state = json.loads(state_path.read_text())  # saved before exact resume: weights + optimizer only
    return state


def prepare_data(config, use_cache=True, verbose=1, report=True):
    """Stage 1: the manifest, its train/val/test splits (checked), the feature settings and the train/val arrays.

    Args:
        config: RunConfig, resolved.
        use_cache: bool. Reuse cached features.
        verbose: int. Progress bars at 1.
        report: bool. Print sizes and feature settings.

    Returns:
        `RunData`.
    """
    from coaudiotext.data import resolve_data
    from coaudiotext.data.pipeline import input_config
    from coaudiotext.models import get_spec

    manifest, class_names = resolve_data(
        config.data, data_dir=config.data_dir, x_fem=config.x_fem, x_mal=config.x_mal, skip_bad=config.skip_bad,
        text_source=config.text_source, labels=config.labels, asr_wer=config.asr_wer, progress=verbose == 1,
        trust_pickle=config.trust_pickle,
    )
    if manifest.skipped:
        print(f"Skipped {len(manifest.skipped)} bad manifest row(s):\n" + "\n".join(manifest.skipped))
    train_rows = manifest.split("train")
    if config.val_split in manifest.splits:
        val_rows = manifest.split(config.val_split)
        validation_note = f"split {config.val_split!r} of the manifest"
    else:
        train_rows, val_rows = _carve_validation(train_rows, config.val_fraction, config.seed)
        validation_note = (f"{config.val_fraction:.0%} of 'train' (stratified, seed {config.seed}); the manifest "
                           f"has no {config.val_split!r} split")
    test_rows = manifest.split(config.test_split) if config.test_split in manifest.splits else None
    _check_splits(manifest, train_rows, val_rows, test_rows, class_names, config.val_split, config.test_split,
                  config.batch_size, report)
    return RunData(manifest, class_names, train_rows, val_rows, test_rows, validation_note,
                   input_config(get_spec(config.model).inputs, texts=train_rows.texts,
                                overrides=config.feature_overrides), None, None, None, None)


def load_train_val(config, data, use_cache=True, verbose=1, report=True):
    """Stage 1b: fills `data.x_train/y_train/x_val/y_val` (rows whose audio fails are dropped with `--skip-bad`)."""
    from coaudiotext.data.pipeline import encode_labels

    if report:
        print(f"[coaudiotext] {config.model}: {len(data.train_rows)} train / {len(data.val_rows)} val / "
              f"{len(data.test_rows) if data.test_rows else 0} test utterances; classes {data.class_names}")
        print(f"[coaudiotext] features: {json.dumps(data.features_config)}")
    data.x_train, data.train_rows = _features(data.features_config, data.train_rows, config.skip_bad, use_cache,
                                              verbose == 1)
    data.x_val, data.val_rows = _features(data.features_config, data.val_rows, config.skip_bad, use_cache,
                                          verbose == 1)
    data.y_train = encode_labels(data.train_rows.labels, data.class_names)
    data.y_val = encode_labels(data.val_rows.labels, data.class_names)


def refuse_existing_run(out, overwrite=False):
    """Stops before any work when `out` already holds a run (unless `overwrite`): nothing the user made is lost."""
    if out and not overwrite:
        finished = [name for name in ("metrics.json", "state.json", "best.keras") if (pathlib.Path(out) / name).exists()]
        if finished:
            raise ValueError(f"--out {out} already holds a run ({', '.join(finished)}): pass --overwrite to replace it, "
                             f"--resume {out} to continue it, or choose another --out.")


def open_run_dir(config, data, out=None):
    """Stage 2: a new run directory (`out`, default `runs/KEY-TIMESTAMP`) with `config.json` and `environment.json`."""
    from coaudiotext.models import get_spec

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = pathlib.Path(out) if out else pathlib.Path("runs") / f"{config.model}-{stamp}"
    run_dir.mkdir(parents=True, exist_ok=True)
    spec = get_spec(config.model)
    _atomic_json(run_dir / "config.json", {
        "arguments": config.to_dict(),
        "command": " ".join(sys.argv),
        "spec": {"source": spec.source, "inputs": list(spec.inputs), "train": dataclasses.asdict(spec.train)},
        "features": data.features_config,
        "class_names": data.class_names,
        "validation": data.validation_note,
        "selection": f"best epoch by {config.monitor} on the validation split",
        "sizes": {"train": len(data.train_rows), "val": len(data.val_rows),
                  "test": len(data.test_rows) if data.test_rows else 0},
    })
    _atomic_json(run_dir / "environment.json", environment_info())
    return run_dir


def build_or_resume(config, data, run_dir, state=None, report=True):
    """Stage 3: the compiled model and its first epoch: a fresh build, or `last.keras` of a resumed run.

    Returns:
        `(model, initial_epoch)`.
    """
    import keras

    from coaudiotext.models import get_spec, input_shapes

    spec = get_spec(config.model)
    if state is not None:
        net = keras.saving.load_model(run_dir / "last.keras")  # weights and optimizer state (Adam moments, step)
        initial_epoch = state["epoch"]
        if "random" not in state:
            import warnings

            warnings.warn(f"{run_dir / 'last.keras'} has no saved random state (a run of an older coaudiotext): "
                          "the resumed epochs draw other dropout masks than an uninterrupted run would.",
                          UserWarning, stacklevel=2)
        _restore_history(run_dir / "history.csv", state.get("history"), initial_epoch)
    else:
        shapes = {name: data.x_train[name].shape[1:] for name in spec.inputs}
        net = spec.builder(num_classes=len(data.class_names), **input_shapes(config.model, **shapes),
                           **config.model_flags)
        net.compile(
            optimizer=make_optimizer(spec.train, config.learning_rate),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        initial_epoch = 0
    if report:
        print(f"[coaudiotext] {config.model}: {net.count_params():,} parameters; {config.epochs} epochs, batch "
              f"{config.batch_size}; selection: {config.monitor} on validation ({data.validation_note})")
    return net, initial_epoch


def fit(config, data, net, run_dir, state=None, initial_epoch=0, verbose=1):
    """Stage 4: trains epochs `initial_epoch .. config.epochs - 1`; every epoch is committed (`last.keras`,
    `state.json`, `history.csv`) and the best one by `config.monitor` saved as `best.keras`.

    Returns:
        float: training seconds.
    """
    import keras
    import numpy as np

    from coaudiotext.callbacks import BestCheckpoint, F1Callback, InterruptAtBatchEnd, set_random_state
    from coaudiotext.data.pipeline import make_dataset

    metadata = {"model": config.model, "class_names": data.class_names, "features": data.features_config,
                "model_flags": config.model_flags, "data": str(config.data)}
    monitor = config.monitor
    callbacks = [
        _EpochTimer(),
        F1Callback(make_dataset(data.x_val, data.y_val, batch_size=64), data.class_names),
        BestCheckpoint(run_dir, monitor=monitor, mode="min" if monitor.endswith("loss") else "max", metadata=metadata,
                       initial_best=state["best"] if state else None,
                       initial_best_epoch=state["best_epoch"] if state else None,
                       initial_history=state.get("history") if state else None,
                       extra_state={"seed": config.seed, "data_order": "replayed tf.data reshuffles"}),
        keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=state is not None),
        keras.callbacks.TerminateOnNaN(),
    ]
    stopper = InterruptAtBatchEnd()  # Ctrl-C stops at a batch end, never inside TensorFlow or a checkpoint write
    callbacks.append(stopper)
    class_weight = _class_weights(data.y_train, len(data.class_names)) if config.use_class_weight else None
    start = time.perf_counter()
    try:
        if initial_epoch < config.epochs:
            kinds = {name: settings.get("feature") for name, settings in data.features_config.items()}
            train_data, steps = _train_dataset(data.x_train, data.y_train, config.batch_size, config.seed,
                                               initial_epoch, config.epochs, augment=config.augment, kinds=kinds)
            if state is not None and "random" in state:
                set_random_state(net, state["random"])  # dropout masks, Python/NumPy generators: as after that epoch
            with stopper:
                net.fit(
                    train_data,
                    validation_data=make_dataset(data.x_val, data.y_val, batch_size=64),
                    epochs=config.epochs,
                    initial_epoch=initial_epoch,
                    steps_per_epoch=steps,  # one dataset holds every remaining epoch, each in its own fixed order
                    callbacks=callbacks,
                    class_weight=class_weight,
                    shuffle=False,
                    verbose=verbose,
                )
    except KeyboardInterrupt:  # Ctrl-C: the finished epochs are already saved, atomically
        # TensorFlow objects whose construction the signal cut short fail in their finalisers once this frame is
        # released ("Exception ignored in ... _TFShouldUseHelper"); that noise would bury the message below.
        sys.unraisablehook = lambda unraisable: None
        done = json.loads((run_dir / "state.json").read_text())["epoch"] if (run_dir / "state.json").exists() else 0
        print(f"\n[coaudiotext] interrupted: {done} finished epoch(s) are saved in {run_dir} "
              f"(last.keras, state.json); continue with --resume {run_dir}", file=sys.stderr)
        raise
    train_seconds = time.perf_counter() - start
    losses = _read_history(run_dir / "history.csv").get("loss", [])
    if not (run_dir / "best.keras").exists() or any(not np.isfinite(v) for v in losses):
        bad = next((i + 1 for i, v in enumerate(losses) if not np.isfinite(v)), None)
        raise ValueError(
            f"Training stopped: the loss became NaN/inf{f' in epoch {bad}' if bad else ''} ({run_dir}). Check the "
            "features for NaN/inf (a corrupt cache: rerun with --no-cache) and try a smaller --lr."
        )
    return train_seconds


def evaluate_selected(config, data, run_dir, train_seconds, use_cache=True, verbose=1):
    """Stage 5: loads the selected `best.keras` and scores it on val, test and every evaluation-only split.

    Returns:
        the metrics dict (`metrics.json`).
    """
    import keras
    import numpy as np

    from coaudiotext.data.pipeline import encode_labels
    from coaudiotext.evaluate import evaluate_arrays

    best = keras.saving.load_model(run_dir / "best.keras")
    results = {"model": config.model, "parameters": int(best.count_params()), "train_seconds": train_seconds,
               "selection": f"best epoch by {config.monitor} on validation", "validation": data.validation_note}
    results["val"] = evaluate_arrays(best, data.x_val, data.y_val, data.class_names)
    # `test`, then further evaluation-only splits of the manifest (the demo corpus' `handwritten`): never selected on.
    extras = [s for s in data.manifest.splits if s not in ("train", config.val_split, config.test_split)]
    for split in ([config.test_split] if data.test_rows is not None else []) + extras:
        rows = data.test_rows if split == config.test_split else data.manifest.split(split)
        x, rows = _features(data.features_config, rows, config.skip_bad, use_cache, verbose == 1)
        metrics = evaluate_arrays(best, x, encode_labels(rows.labels, data.class_names), data.class_names)
        if split == config.test_split:
            results["test"] = metrics
        else:
            results.setdefault("extra", {})[split] = metrics
    results["best_epoch"] = json.loads((run_dir / "state.json").read_text())["best_epoch"]
    history = _read_history(run_dir / "history.csv")
    if "epoch_seconds" in history:
        results["seconds_per_epoch"] = float(np.median(history["epoch_seconds"]))
    return results


def write_run(config, data, run_dir, results, report=True):
    """Stage 6: `metrics.json`, the plots, and the printed summary."""
    _atomic_json(run_dir / "metrics.json", results)
    _write_plots(run_dir, results, _read_history(run_dir / "history.csv"), data.class_names, config.model,
                 config.monitor)
    if report:
        from coaudiotext.metrics import format_metrics

        print(f"[coaudiotext] best epoch {results['best_epoch']} ({config.monitor}); run directory {run_dir}")
        print("[coaudiotext] val:  " + format_metrics(results["val"], "val"))
        if "test" in results:
            print("[coaudiotext] test: " + format_metrics(results["test"], config.test_split))
        for extra, metrics in results.get("extra", {}).items():
            print(f"[coaudiotext] {extra}: " + format_metrics(metrics, extra))


def train(model=None, *, resume=None, out=None, verbose=1, use_cache=True, report=True, overwrite=False, config=None,
          **settings):
    """Trains registry model `model` and writes a run directory. Returns the metrics dict.

    Args:
        model: str. Registry key (not needed with `resume` or `config`).
        resume: str or path. A run directory: continue its interrupted run exactly where its last finished
            epoch ended (see the module docstring); its settings are read from its `config.json`
            (`RunConfig.load`).
        out: str or path. Run directory (default `runs/KEY-TIMESTAMP`).
        verbose: int. Keras' fit verbosity (feature progress bars only at 1; 2 = one line per epoch).
        use_cache: bool. Reuse cached features.
        report: bool. Print the data sizes and the final val/test metrics.
        overwrite: bool. Replace a run already in `out`.
        config: RunConfig. All settings at once (instead of `model` and `**settings`).
        **settings: the fields of `coaudiotext.run_config.RunConfig` (`data`, `epochs`, `batch_size`,
            `learning_rate`, `seed`, `monitor`, `model_flags`, `feature_overrides`, ...), as on the command line
            (`python -m coaudiotext.train --help`).

    The run is the stages `prepare_data` -> `open_run_dir` (or the resumed one) -> `build_or_resume` -> `fit` ->
    `evaluate_selected` -> `write_run`, each callable on its own. The splits are checked for leakage first
    (`_check_leakage`: one warning per kind of shared audio, script or speaker; val identical to test is an error).
    """
    import keras

    state = None
    if resume is not None:
        if settings or config is not None:
            raise ValueError(f"resume={resume!r} continues a run with its saved settings; do not pass others "
                             f"({', '.join(sorted(settings)) or 'config'}).")
        state = read_resume_point(resume)
        config = RunConfig.load(resume)
    elif config is None:
        if model is None:
            raise ValueError("Pass a registry key (model=...), a RunConfig (config=...) or a run to resume.")
        try:
            config = RunConfig(model=model, **settings)
        except TypeError:
            known = sorted(f.name for f in dataclasses.fields(RunConfig))
            unknown = sorted(set(settings) - set(known))
            raise TypeError(f"Unknown train setting(s) {', '.join(unknown)}; known: {', '.join(known)}.") from None
    config = config.resolved()
    keras.utils.set_random_seed(config.seed)

    data = prepare_data(config, use_cache=use_cache, verbose=verbose, report=report)
    if resume is None:
        refuse_existing_run(out, overwrite)
    load_train_val(config, data, use_cache, verbose, report)
    run_dir = pathlib.Path(resume) if resume is not None else open_run_dir(config, data, out=out)
    net, initial_epoch = build_or_resume(config, data, run_dir, state, report)
    train_seconds = fit(config, data, net, run_dir, state, initial_epoch, verbose)
    results = evaluate_selected(config, data, run_dir, train_seconds, use_cache, verbose)
    write_run(config, data, run_dir, results, report)
    results["run_dir"] = str(run_dir)
    return results


def _epoch_orders(n, seed, epochs):
    """The row order of every epoch `0 .. epochs-1`: a pure function of `(n, seed, epoch)` (and of TensorFlow's
    global seed, which `train` sets to `seed`).

    Epoch e gets reshuffle 2e of `tf.data.Dataset.shuffle(n, seed=seed, reshuffle_each_iteration=True)`: the order
    that Keras 3's `fit` on `make_dataset(..., shuffle=True, seed=seed)` gave before (it opens a second iterator at
    the end of each epoch of a dataset of known length, and a new one at the start of the next), so runs keep the
    numbers of earlier coaudiotext versions. The reshuffles are replayed from the start on indices (cheap: one
    shuffle of `n` integers each), so a resumed run gets epoch k's order without the killed process' iterator.
    """
    import numpy as np
    import tensorflow as tf

    if epochs <= 0:
        return np.zeros((0, n), dtype=np.int64)
    order = tf.data.Dataset.range(n).shuffle(n, seed=seed, reshuffle_each_iteration=True).repeat(2 * epochs).batch(n)
    return np.stack([batch.numpy() for batch in order])[::2]


def _train_dataset(x, y, batch_size, seed, first_epoch, epochs, augment="none", kinds=None):
    """The training batches of epochs `first_epoch .. epochs-1`, in one dataset; returns `(dataset, steps_per_epoch)`.

    Epoch e is `x[order_e]` cut in batches, `order_e = _epoch_orders(n, seed, epochs)[e]`: the same batches an
    uninterrupted run gets, whether or not the run was stopped and resumed before epoch e. With `augment`
    (`coaudiotext.augment`), batch k of the run (counted from epoch 0) is augmented with draws fixed by
    `(seed, k)`, so a resumed run is augmented exactly as an uninterrupted one.
    """
    import math

    import tensorflow as tf

    from coaudiotext.augment import augment_inputs

    def _augmented(batch, step):
        return augment_inputs(batch[0], kinds or {}, augment, seed, step), batch[1]

    n = len(y)
    orders = _epoch_orders(n, seed, epochs)[first_epoch:]
    steps = math.ceil(n / batch_size)
    with tf.device("/cpu:0"):  # tf.data runs on the CPU: keep the arrays there (as from_tensor_slices does)
        tensors = ({name: tf.constant(array) for name, array in x.items()}, tf.constant(y))
    batches = tf.data.Dataset.from_tensor_slices(orders).flat_map(
        lambda order: tf.data.Dataset.from_tensor_slices(order).batch(batch_size))
    dataset = batches.enumerate(start=first_epoch * steps).map(
        lambda step, index: _augmented(tf.nest.map_structure(lambda t: tf.gather(t, index), tensors), step))
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(len(orders) * steps))
    return dataset.prefetch(tf.data.AUTOTUNE), steps


def _restore_history(path, rows, epochs_done):
    """Makes `history.csv` hold exactly the first `epochs_done` epochs before a resume appends to it.

    A kill between the commit of an epoch (last.keras) and `CSVLogger`'s line leaves the file one line short
    (rebuilt from the logs saved in the resume state); lines of epochs after the commit are cut.
    """
    import csv
    import io

    path = pathlib.Path(path)
    text = ""
    if path.exists():
        with open(path, newline="") as handle:  # newline="": CSVLogger's \r\n are kept as written
            text = handle.read()
    lines = [line for line in text.splitlines(keepends=True) if line.endswith("\n")]  # a half-written line is cut
    header, data = (lines[0], lines[1:]) if lines else (None, [])
    data = [line for line in data if line.strip()][:epochs_done]
    logged = {row.get("epoch"): row for row in rows or []}
    if len(data) < epochs_done and all(epoch in logged for epoch in range(len(data), epochs_done)):
        fields = (next(csv.reader([header])) if header
                  else ["epoch"] + sorted(key for key in logged[0] if key != "epoch"))
        buffer = io.StringIO()
        writer = csv.writer(buffer)  # the excel dialect, as keras.callbacks.CSVLogger writes
        if header is None:
            writer.writerow(fields)
        for epoch in range(len(data), epochs_done):
            writer.writerow([epoch if name == "epoch" else logged[epoch].get(name, "NA") for name in fields])
        lines = buffer.getvalue().splitlines(keepends=True)
        header, data = (header, data + lines) if header is not None else (lines[0], lines[1:])
    if header is not None:
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        with open(tmp, "w", newline="") as handle:
            handle.write(header + "".join(data))
        os.replace(tmp, path)


def _read_history(path):
    import csv

    history = {}
    if not pathlib.Path(path).exists():
        return history
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            for key, value in row.items():
                try:
                    history.setdefault(key, []).append(float(value))
                except (TypeError, ValueError):
                    pass
    return history


def _features(config, rows, skip_bad, use_cache, progress):
    """`build_features(config, rows)`; with `skip_bad`, rows whose audio gives no features (a decode
    failure, NaN/inf samples) are left out and listed. Returns `(features, rows)`."""
    from coaudiotext.data.manifest import Manifest
    from coaudiotext.data.pipeline import build_features
    from coaudiotext.features.audio import AudioDecodeError

    try:
        return build_features(config, rows, use_cache=use_cache, progress=progress), rows
    except AudioDecodeError as error:
        if not skip_bad:
            raise
        bad = dict(zip(error.paths, error.reasons))
        keep = [i for i, row in enumerate(rows.rows) if row["audio_path"] not in bad]
        lines = rows.line_numbers or [None] * len(rows.rows)
        report = [f"  line {lines[i]}: {rows.rows[i]['audio_path']}: {bad[rows.rows[i]['audio_path']]}"
                  for i in range(len(rows.rows)) if rows.rows[i]["audio_path"] in bad]
        print(f"Skipped {len(report)} row(s) whose audio gave no features (--skip-bad):\n" + "\n".join(report))
        if not keep:
            raise ValueError("--skip-bad left no rows in a split: every file failed to decode.") from error
        kept = Manifest(rows=[rows.rows[i] for i in keep], path=rows.path,
                        line_numbers=[lines[i] for i in keep] if rows.line_numbers else [])
        return build_features(config, kept, use_cache=use_cache, progress=progress), kept


def _check_splits(manifest, train_rows, val_rows, test_rows, class_names, val_split, test_split, batch_size,
                  report=True):
    """Stops on splits that cannot train; warns (one line each) about splits that train but mislead."""
    import warnings

    if val_split == test_split:
        raise ValueError(f"--val-split and --test-split are both {val_split!r}: the test split would select the "
                         "checkpoint. Use another split (or none: a fraction of train is held out) for validation.")
    if len(train_rows) < 2 or len(val_rows) < 1:
        raise ValueError(f"Too few rows to train: {len(train_rows)} train / {len(val_rows)} val "
                         f"(manifest {manifest.path}). Give at least 2 train rows and a validation split "
                         f"(or enough train rows that --val-fraction leaves one).")
    present = set(train_rows.labels)
    if len(present) < 2:
        warnings.warn(f"only one class in train ({sorted(present)}): the model can only learn to predict it.",
                      UserWarning, stacklevel=3)
    absent = [name for name in class_names if name not in present]
    if absent and len(present) >= 2:
        warnings.warn(f"class(es) {absent} have no training rows: the model will never predict them.",
                      UserWarning, stacklevel=3)
    if test_rows is None:
        warnings.warn(f"no {test_split!r} split in the manifest: only validation metrics will be reported.",
                      UserWarning, stacklevel=3)
    _check_leakage(manifest, train_rows, val_rows, test_rows, val_split, test_split, report)


_LEAK_WORDS = {
    "audio": ("audio file(s) (the same bytes)", "those rows are scored on recordings the model was trained or "
              "selected on"),
    "text": ("script(s) (the same text, case and punctuation ignored)", "scores partly measure sentences seen in "
             "training or selection"),
    "speaker": ("speaker(s)", "scores are speaker-dependent: they do not tell how the model does on new voices"),
}


def _check_leakage(manifest, train_rows, val_rows, test_rows, val_split="val", test_split="test", report=True):
    """Warns once per kind (audio, script, speaker) about what train shares with an evaluation split, or val with
    test; refuses a val split that is the test split under another name. Speakers shared by train and val are a
    note (speaker-dependent validation is common, and the demo corpus' design: val = training voices, other
    scripts). Splits that are only evaluated (test, the demo's handwritten) may share anything."""
    import warnings

    from coaudiotext.data.manifest import audio_identities, split_overlaps

    if test_rows is not None and len(val_rows) == len(test_rows):
        keys = audio_identities(val_rows.audio_paths + test_rows.audio_paths)  # together: copies are compared
        if sorted(keys[:len(val_rows)]) == sorted(keys[len(val_rows):]):
            raise ValueError(f"The validation split ({val_split!r}) and the test split ({test_split!r}) hold the same "
                             f"{len(val_rows)} audio files: the checkpoint would be selected on the test set. Give "
                             "them different rows, or drop the val split (a fraction of train is then held out).")
    extras = {name: manifest.split(name) for name in manifest.splits if name not in ("train", val_split, test_split)}
    splits = {"train": train_rows, val_split: val_rows, test_split: test_rows, **extras}
    overlaps = [o for o in split_overlaps(splits)  # train vs each evaluation split; val (selection) vs test
                if "train" in o.splits or (set(o.splits) == {val_split, test_split} and o.kind != "speaker")]
    for kind in ("audio", "text", "speaker"):
        found = [o for o in overlaps if o.kind == kind]
        if kind == "speaker":
            notes = [o for o in found if set(o.splits) == {"train", val_split}]
            found = [o for o in found if o not in notes]
            if notes and report:
                print(f"[coaudiotext] note: {notes[0].count} speaker(s) of {val_split!r} also speak in train "
                      "(speaker-dependent validation; fine for choosing the epoch).")
        if not found:
            continue
        what, why = _LEAK_WORDS[kind]
        counts = ", ".join(f"{o.count} in {o.splits[0]} & {o.splits[1]}" for o in found)
        examples = "; ".join([e for o in found for e in o.examples][:3])
        warnings.warn(f"leakage: {sum(o.count for o in found)} {what} appear in more than one split ({counts}): "
                      f"{why}. E.g. {examples}.", UserWarning, stacklevel=4)


def _write_plots(run_dir, results, history, class_names, model, monitor=None):
    from coaudiotext.plots import _pyplot, plot_confusion_matrix, plot_history

    plt = _pyplot()  # leaves a notebook's inline backend alone

    split = "test" if "test" in results else "val"
    figure = plot_confusion_matrix(results[split]["confusion_matrix"], class_names,
                                   path=run_dir / "confusion_matrix.png", title=f"{model} on {split}")
    plt.close(figure)
    if history:
        plt.close(plot_history(history, path=run_dir / "history.png", best_epoch=results.get("best_epoch"),
                               monitor=monitor))


def _parse_flag(text):
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"--set expects FLAG=VALUE, e.g. recurrent_activation=sigmoid; got {text!r}")
    key, value = text.split("=", 1)
    try:
        value = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        pass
    return key.strip(), value


def build_parser():
    from coaudiotext.catalog import CATALOG  # no Keras: --help answers at once

    lines = "\n".join(f"  {key:<24}{description}" for key, description in CATALOG.items())
    parser = argparse.ArgumentParser(
        prog="python -m coaudiotext.train",
        description="Train a coaudiotext model and write a run directory (config, history, best/last "
                    ".keras, metrics JSON, confusion matrix). The best epoch is chosen on the validation "
                    "split, never on test; test metrics of that checkpoint are printed at the end.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"models:\n{lines}\n\nexamples:\n"
               "  python -m coaudiotext.train --model mha_a_t\n"
               "  python -m coaudiotext.train --model bilstm --data demo-tiny --epochs 2 --out runs/smoke\n"
               "  python -m coaudiotext.train --model para --data my_manifest.csv --set query=learned\n",
    )
    _add_data_args(parser, CATALOG)
    _add_training_args(parser)
    _add_input_args(parser)
    _add_run_args(parser)
    return parser


def _add_data_args(parser, catalog):
    """`--model` and what to train on: `--data`, `--data-dir`, the ProSem permutation files."""
    parser.add_argument("--model", choices=list(catalog), metavar="KEY", help="registry key (list below)")
    parser.add_argument("--data", default="demo",
                        help="demo (default: embedded synthetic corpus, built on first use), demo-tiny, prosem, "
                             "kemdy20, seed001, or a manifest CSV (columns audio_path,text,label,speaker,split); "
                             "iemocap-folds and ser-mmoe (pre-extracted features) go to their own runners: "
                             "see python -m coaudiotext.train --data iemocap-folds --help")
    parser.add_argument("--data-dir", help="corpus folder: ProSem (spec_final.txt, FEMALE/, MALE/), KEMDy20_v1_1, "
                                           "or the seed-001 pickles (train/dev/test.pkl)")
    parser.add_argument("--x-fem", help="ProSem female permutation file x_fem.npy (from the tutorial repository)")
    parser.add_argument("--x-mal", help="ProSem male permutation file x_mal.npy")


def _add_training_args(parser):
    """Epochs, batch size, learning rate, seed, run folder, best-epoch monitor, splits, class weights."""
    parser.add_argument("--epochs", type=int, help="epochs (default: the key's demo setting on demo data, else the original's)")
    parser.add_argument("--batch-size", type=int, help="batch size (default: the original's)")
    parser.add_argument("--lr", type=float, dest="learning_rate", help="learning rate (default: the original's)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--out", help="run directory (default runs/KEY-TIMESTAMP)")
    parser.add_argument("--monitor",
                        help="validation log value that selects the best epoch (default: the key's, val_macro_f1 "
                             "for every model but text_bilstm_att, which uses val_accuracy; also val_ua, "
                             "val_weighted_f1, val_loss)")
    parser.add_argument("--augment", choices=AUGMENTATIONS,
                        help="training-time augmentation of the mel + RMS audio frames: none, or speaker (per "
                             "example a random gain of x1/3..x3 and a frequency warp of +-12%%, like another voice; "
                             "validation and test are never augmented). Default: the key's on demo data "
                             "(TrainSettings.demo_augment: speaker for ca, mha_a and mha_a_t), none elsewhere, as in the originals")
    parser.add_argument("--val-split", default="val", help="manifest split used for validation (default val; "
                        "if absent, --val-fraction of train is held out)")
    parser.add_argument("--val-fraction", type=float, default=0.1, help="held-out fraction of train when there is no val split")
    parser.add_argument("--test-split", default="test", help="manifest split reported as test (default test)")
    parser.add_argument("--class-weight", action="store_true", dest="use_class_weight",
                        help="balanced class weights (off by default: Keras 2.1 silently ignored the tutorial's)")


def _add_input_args(parser):
    """Which transcripts, their character features, and the pretrained encoders."""
    parser.add_argument("--text-source", choices=("gold", "asr"), default="gold",
                        help="transcripts from the text column (gold) or the asr_text column")
    parser.add_argument("--asr-wer", type=float, default=0.15,
                        help="word error rate of the SIMULATED asr_text of the demo corpus (--text-source asr; default 0.15)")
    parser.add_argument("--text-features", choices=("auto", "hangul", "latin", "ids"),
                        help="character features of the text input (default auto: Hangul multi-hot for Korean, else Latin one-hot)")
    parser.add_argument("--max-chars", type=int,
                        help="characters of each transcript the text input keeps (default 30, the tutorial's; "
                             "demo corpus: 80, the whole sentence)")
    parser.add_argument("--text-align", choices=("end", "start"),
                        help="which characters are kept and where: end = the last --max-chars, right-aligned (the "
                             "tutorial's, for Korean); start = the first ones, left-aligned (demo corpus default)")
    parser.add_argument("--text-encoder", help="transformers text encoder (local folder or hub name) for bert/roberta inputs")
    parser.add_argument("--text-engine", choices=("torch", "keras"),
                        help="what runs the --text-encoder checkpoint: torch (transformers, the reference; default) "
                             "or keras (coaudiotext.encoders.bert, no torch needed; features equal to <= 1e-4)")
    parser.add_argument("--audio-encoder", help="transformers wav2vec2 encoder (local folder or hub name) for wav2vec2 inputs")


def _add_run_args(parser):
    """Model flags, labels, bad rows, overwrite/resume, pickles, fine-tuning, cache and progress."""
    parser.add_argument("--set", action="append", type=_parse_flag, default=[], metavar="FLAG=VALUE",
                        help="model flag, repeatable, e.g. --set recurrent_activation=sigmoid --set query=learned")
    parser.add_argument("--labels", type=lambda text: [t.strip() for t in text.split(",") if t.strip()],
                        help="comma-separated class names in class-id order; rows with other labels are errors "
                             "(default: the corpus' label set, or the sorted labels of a manifest)")
    parser.add_argument("--skip-bad", action="store_true", help="leave out bad manifest rows (listed) instead of stopping")
    parser.add_argument("--overwrite", action="store_true", help="replace the run already in --out (refused by default)")
    parser.add_argument("--trust-pickle", action="store_true",
                        help="--data seed001: allow unpickling its .pkl files (a pickle can run arbitrary code when "
                             "read; refused by default). Only for files you made or trust")
    parser.add_argument("--finetune", action="store_true",
                        help="RSA-CFN heads: fine-tune wav2vec2 + RoBERTa + the head end to end (Keras encoders from "
                             "local transformers checkpoints); every other argument goes to python -m "
                             "coaudiotext.finetune (--wav2vec2 DIR --text-encoder DIR ...; see its --help)")
    parser.add_argument("--resume", metavar="RUN_DIR",
                        help="continue an interrupted run (Ctrl-C, kill -9, a crash) from its last finished epoch. "
                             "Exact: last.keras holds the weights, the optimizer state and the random states "
                             "(dropout seeds, Python/NumPy generators), and each epoch's data order follows from "
                             "--seed and the epoch number, so the losses and weights equal those of an "
                             "uninterrupted run bit for bit (measured on CPU, not on GPU; runs saved by older "
                             "versions resume with new dropout masks)")
    parser.add_argument("--no-cache", action="store_true", help="recompute features instead of using the feature cache")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run_config_from_args(args):
    """The `RunConfig` of parsed command-line arguments (each field from the option of the same name)."""
    from coaudiotext.models import get_spec

    values = {field.name: getattr(args, field.name) for field in dataclasses.fields(RunConfig) if hasattr(args, field.name)}
    values["model_flags"] = dict(args.set)
    values["feature_overrides"] = feature_overrides_from_args(args, get_spec(args.model).inputs)
    return RunConfig(**values)


def feature_overrides_from_args(args, inputs):
    overrides = {}
    if "text" in inputs:
        text = {}
        if args.text_features:
            text["kind"] = args.text_features
        if args.max_chars:
            text["max_chars"] = args.max_chars
        if args.text_align:
            text["align"] = args.text_align
        if text:
            overrides["text"] = text
    for name in inputs:
        if name.startswith(("bert", "roberta")) and (args.text_encoder or args.text_engine):
            overrides[name] = {key: value for key, value in (("model", args.text_encoder), ("engine", args.text_engine))
                               if value}
        if name.startswith("wav2vec2") and args.audio_encoder:
            overrides[name] = {"model": args.audio_encoder}
    return overrides


_HAND_OFF_DATA = {
    "iemocap-folds": "python -m coaudiotext.protocol (seed 003's fold x seed protocol)",
    "ser-mmoe": "python -m coaudiotext.ser_mmoe_run (SER-MMoE's GE2E part on its EmoDB / CaFE embeddings)",
}


def _hand_off_parser():
    parser = argparse.ArgumentParser(
        prog="python -m coaudiotext.train --data {iemocap-folds,ser-mmoe}",
        description="Corpora of pre-extracted features have their own runners; train forwards these arguments: "
                    + "; ".join(f"--data {k} -> {v}" for k, v in _HAND_OFF_DATA.items()) + ".")
    parser.add_argument("--model", required=True, help="iemocap-folds: tva_self, tva_cross (or a variant key); "
                                                       "ser-mmoe: ser_mmoe_ge2e")
    parser.add_argument("--data", required=True, choices=tuple(_HAND_OFF_DATA))
    parser.add_argument("--data-dir", required=True, help="iemocap-folds: the folds/ folder (fold01/ ...); "
                                                          "ser-mmoe: the folder holding emodb/ and french/")
    parser.add_argument("--fold", type=int, default=1, help="iemocap-folds: the fold id to train on (default 1)")
    parser.add_argument("--corpus", choices=("emodb", "french"), help="ser-mmoe: the corpus (required)")
    parser.add_argument("--seed", type=int, help="seed (default: the runner's: seed 1 for iemocap-folds; SER-MMoE's three seeds 12345 1 2 for ser-mmoe)")
    parser.add_argument("--epochs", type=int, help="epochs (default: the original's)")
    parser.add_argument("--batch-size", type=int, help="ser-mmoe: batch size (default: the original's)")
    parser.add_argument("--out", help="output folder (default: the runner's)")
    parser.add_argument("--quiet", action="store_true", help="iemocap-folds: no Keras progress output")
    return parser


def _hand_off(argv):
    """`train --data iemocap-folds|ser-mmoe ...` runs the corpus' own runner with the translated arguments."""
    args = _hand_off_parser().parse_args(argv)
    optional = lambda flag, value: [flag, str(value)] if value is not None else []  # noqa: E731
    if args.data == "iemocap-folds":
        from coaudiotext.protocol import main as runner

        forwarded = (["--models", args.model, "--data", "iemocap-folds", "--data-dir", args.data_dir,
                      "--folds", f"{args.fold},", "--seeds", f"{args.seed if args.seed is not None else 1},"]
                     + optional("--epochs", args.epochs) + optional("--out", args.out) + (["--quiet"] if args.quiet else []))
    else:
        if args.model != "ser_mmoe_ge2e":
            raise SystemExit(f"--data ser-mmoe trains ser_mmoe_ge2e (the part of SER-MMoE whose inputs, the GE2E "
                             f"embeddings, ship with the original's splits). Received: --model {args.model}")
        if args.corpus is None:
            raise SystemExit("--data ser-mmoe needs --corpus emodb or --corpus french")
        from coaudiotext.ser_mmoe_run import main as runner

        forwarded = (["--data-dir", args.data_dir, "--corpus", args.corpus] + optional("--seeds", args.seed)
                     + optional("--epochs", args.epochs) + optional("--batch-size", args.batch_size)
                     + optional("--out", args.out))
    print(f"[coaudiotext] --data {args.data}: running {_HAND_OFF_DATA[args.data].split(' (')[0]} {' '.join(forwarded)}",
          file=sys.stderr)
    return runner(forwarded)


def _data_value(argv):
    for i, item in enumerate(argv):
        if item == "--data" and i + 1 < len(argv):
            return argv[i + 1]
        if item.startswith("--data="):
            return item.split("=", 1)[1]
    return None


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if _data_value(argv) in _HAND_OFF_DATA:  # pre-extracted features: the corpus' own runner
        return _hand_off(argv)
    if "--finetune" in argv:  # end to end: the encoders inside the model; the rest goes to coaudiotext.finetune
        argv.remove("--finetune")
        from coaudiotext.finetune import main as finetune_main

        return finetune_main(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    from coaudiotext._logs import quiet_tensorflow

    quiet_tensorflow()  # after argparse: --help and argument errors stay instant
    if args.resume is None and args.model is None:
        parser.error("--model is required (or --resume RUN_DIR)")
    process = {"verbose": 0 if args.quiet else (1 if sys.stdout.isatty() else 2),  # off a terminal: one line per epoch
               "use_cache": not args.no_cache}
    try:
        if args.resume is not None:
            train(resume=args.resume, **process)
        else:
            train(config=run_config_from_args(args), out=args.out, overwrite=args.overwrite, **process)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except OSError as error:
        import errno

        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            print(f"error: the disk is full ({error.filename or 'while writing'}): free some space, then rerun "
                  "(with --resume RUN_DIR if epochs were saved). Files are written atomically: nothing saved "
                  "before is damaged.", file=sys.stderr)
            return 1
        raise
    return 0


if __name__ == "__main__":
    code = main()
    if code == 130:
        # Interrupted mid-step: everything worth keeping is already on disk (atomic writes). Skip the interpreter's
        # teardown, where TensorFlow's finalisers of half-built graph objects can print spurious tracebacks.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
    sys.exit(code)
