"""`RunConfig`: every setting of one training run, saved as the run directory's `config.json`.

A run is a `RunConfig` plus named stages (`coaudiotext.train`): prepare the data, build (or resume) the
model, fit with callbacks, select the best epoch, evaluate it, write the run. `train(...)` and the command
line build a `RunConfig`; `--resume RUN_DIR` is `RunConfig.load(RUN_DIR)`. A new option is one field here
and one flag in `train.build_parser()`.

`config.json` keeps the format of earlier coaudiotext versions: the fields are its `"arguments"` object
(runs saved before a field existed load with that field's default; `augment`, with `"none"`).

Example:

>>> config = RunConfig(model="mha_a_t").resolved()   # the key's demo settings fill the gaps
>>> config.epochs, config.batch_size, config.augment, config.feature_overrides["text"]["max_chars"]
(8, 16, 'speaker', 80)
>>> RunConfig.from_dict(config.to_dict()) == config
True
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib

__all__ = ["RunConfig", "CORPUS_NAMES", "demo_feature_defaults"]

CORPUS_NAMES = ("demo", "demo-tiny", "prosem", "kemdy20", "seed001")
"""`--data` values that name a corpus (anything else is a manifest CSV or its folder)."""


def demo_feature_defaults(inputs, overrides=None):
    """`overrides` on top of the demo corpus' own feature settings (the text window, `demo.TEXT_FEATURES`)."""
    from coaudiotext.data.demo import TEXT_FEATURES

    overrides = {name: dict(value) for name, value in (overrides or {}).items()}
    if "text" in inputs:
        overrides["text"] = {**TEXT_FEATURES, **overrides.get("text", {})}
    return overrides


def _absolute(value):
    """A path that exists, made absolute (so `--resume` works from any folder); anything else unchanged."""
    return str(pathlib.Path(value).resolve()) if value and os.path.exists(str(value)) else value


@dataclasses.dataclass
class RunConfig:
    """The settings of one training run (the command line's options; see `python -m coaudiotext.train --help`).

    Args:
        model: str. Registry key.
        data: str. `demo`, `demo-tiny`, `prosem`, `kemdy20`, `seed001`, or a manifest CSV / its folder.
        epochs: int or None. None = the key's `demo_epochs` on demo data, else the original's.
        batch_size: int or None. None = the original's.
        learning_rate: float or None. None = the key's demo rate on demo data (if it has one), else the original's.
        seed: int. Random seed. Defaults to 0.
        monitor: str or None. Validation log value that selects the best epoch. None = the key's
            `TrainSettings.monitor` (`val_macro_f1`; `val_accuracy` for the text-only model).
        augment: str or None. Training-time augmentation of the mel + RMS audio frames, `"none"` or
            `"speaker"` (`coaudiotext.augment`). None = the key's `TrainSettings.demo_augment` on demo data,
            else `"none"` (the originals use none).
        val_split: str. Manifest split used for validation. Defaults to `"val"`.
        val_fraction: float. Held-out fraction of train when the manifest has no `val_split`. Defaults to 0.1.
        test_split: str. Manifest split reported as test. Defaults to `"test"`.
        use_class_weight: bool. Balanced class weights. Defaults to False (Keras 2.1 ignored the tutorial's).
        model_flags: dict. Builder flags, e.g. `{"recurrent_activation": "sigmoid"}`.
        feature_overrides: dict. `{input_name: {setting: value}}` on top of the feature defaults.
        data_dir, x_fem, x_mal: str or None. Corpus folder and ProSem permutation files.
        skip_bad: bool. Leave out bad manifest rows instead of stopping.
        text_source: str. `"gold"` (the text column) or `"asr"` (the asr_text column).
        asr_wer: float. Word error rate of the demo corpus' simulated asr_text.
        labels: list of str or None. Class names in class-id order.
        trust_pickle: bool. Allow unpickling (`--data seed001`).
    """

    model: str
    data: str = "demo"
    epochs: "int | None" = None
    batch_size: "int | None" = None
    learning_rate: "float | None" = None
    seed: int = 0
    monitor: "str | None" = None
    augment: "str | None" = None
    val_split: str = "val"
    val_fraction: float = 0.1
    test_split: str = "test"
    use_class_weight: bool = False
    model_flags: dict = dataclasses.field(default_factory=dict)
    feature_overrides: dict = dataclasses.field(default_factory=dict)
    data_dir: "str | None" = None
    x_fem: "str | None" = None
    x_mal: "str | None" = None
    skip_bad: bool = False
    text_source: str = "gold"
    asr_wer: float = 0.15
    labels: "list | None" = None
    trust_pickle: bool = False

    @property
    def is_demo(self):
        """True on the embedded demo corpus (`demo`, `demo-tiny`), where the keys' demo settings apply."""
        return self.data in ("demo", "demo-tiny")

    def resolved(self):
        """A copy with every default filled in from the model's `TrainSettings` (what the run really uses).

        Epochs, learning rate and batch size come from the key's settings (its demo ones on demo data), the
        demo corpus' text window is added to the feature settings, and existing paths become absolute.
        """
        from coaudiotext.models import get_spec

        spec = get_spec(self.model)
        settings = spec.train
        epochs = self.epochs
        if epochs is None:
            epochs = settings.demo_epochs if self.is_demo else settings.epochs
        learning_rate = self.learning_rate
        if learning_rate is None and self.is_demo and settings.demo_learning_rate is not None:
            learning_rate = settings.demo_learning_rate
        if learning_rate is None:
            learning_rate = settings.learning_rate
        overrides = (demo_feature_defaults(spec.inputs, self.feature_overrides) if self.is_demo
                     else {name: dict(value) for name, value in (self.feature_overrides or {}).items()})
        data = self.data if self.data in CORPUS_NAMES else _absolute(self.data)
        return dataclasses.replace(
            self, data=data, epochs=epochs, batch_size=self.batch_size or settings.batch_size,
            monitor=self.monitor or settings.monitor,
            augment=self.augment or (settings.demo_augment if self.is_demo else "none"),
            learning_rate=learning_rate, model_flags=dict(self.model_flags or {}), feature_overrides=overrides,
            data_dir=_absolute(self.data_dir), x_fem=_absolute(self.x_fem), x_mal=_absolute(self.x_mal),
        )

    def to_dict(self):
        """The fields as a JSON-able dict (the `"arguments"` object of `config.json`)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, arguments):
        """A `RunConfig` from a `to_dict()` dict; a missing field takes its default (runs of older versions)."""
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(arguments) - known)
        if unknown:
            raise ValueError(f"Unknown run setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}.")
        if "model" not in arguments:
            raise ValueError("A run configuration needs its 'model' (a registry key).")
        # Runs saved before `augment` existed trained without augmentation: resume them so, not with today's default.
        return cls(**{"augment": "none", **arguments})

    @classmethod
    def load(cls, run_dir):
        """The configuration of the run in `run_dir` (its `config.json`), e.g. to resume it."""
        path = pathlib.Path(run_dir) / "config.json"
        if not path.exists():
            raise FileNotFoundError(f"{path} not found: {run_dir} is not a coaudiotext run directory "
                                    "(python -m coaudiotext.train writes one).")
        try:
            arguments = json.loads(path.read_text(encoding="utf-8"))["arguments"]
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise ValueError(f"{path} is not a coaudiotext run configuration ({error}).") from None
        return cls.from_dict(arguments)

    def to_json(self):
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, default=str)
