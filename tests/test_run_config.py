"""A run is a `RunConfig` (saved as `config.json`) plus stages that can be called one by one."""

import dataclasses
import json

import pytest

from coaudiotext import train as T
from coaudiotext.models import get_spec
from coaudiotext.run_config import RunConfig


def test_resolved_fills_the_keys_settings_and_round_trips():
    settings = get_spec("bilstm").train
    assert settings.demo_epochs != settings.epochs
    config = RunConfig(model="bilstm", data="demo-tiny").resolved()
    assert (config.epochs, config.batch_size) == (settings.demo_epochs, 16)  # demo epochs, the tutorial's batch
    assert RunConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert config.resolved() == config  # resolving twice changes nothing (resume re-resolves a saved config)
    other = RunConfig(model="bilstm", data="my.csv").resolved()
    assert other.epochs == settings.epochs and other.feature_overrides == {}  # not demo: the original's epochs, no demo window


def test_unknown_settings_are_named():
    with pytest.raises(ValueError, match="Unknown run setting.*epoch_count"):
        RunConfig.from_dict({"model": "bilstm", "epoch_count": 3})
    with pytest.raises(TypeError, match="Unknown train setting.*epoch_count.*known: asr_wer"):
        T.train("bilstm", epoch_count=3)
    # older config.json: defaults, but no augmentation (it did not exist then)
    assert RunConfig.from_dict({"model": "bilstm"}) == RunConfig(model="bilstm", augment="none")


def test_resume_takes_no_other_settings(tmp_path):
    with pytest.raises(ValueError, match="saved settings"):
        T.train(resume=tmp_path, epochs=3)


def test_load_names_a_folder_that_is_not_a_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a coaudiotext run directory"):
        RunConfig.load(tmp_path)


def test_stages_one_by_one(tmp_path):
    config = RunConfig(model="text_bilstm_att", data="demo-tiny", epochs=2).resolved()
    data = T.prepare_data(config, verbose=0, report=False)
    assert data.x_train is None and len(data.train_rows) > len(data.val_rows) > 0
    T.load_train_val(config, data, verbose=0, report=False)
    assert data.x_train["text"].shape == (len(data.train_rows), 80, 43) and len(data.y_val) == len(data.val_rows)
    run_dir = T.open_run_dir(config, data, out=tmp_path / "run")
    assert RunConfig.load(run_dir) == config  # --resume reads exactly this
    net, first = T.build_or_resume(config, data, run_dir, report=False)
    assert first == 0 and net.count_params() == 76245
    seconds = T.fit(config, data, net, run_dir, verbose=0)
    assert seconds > 0 and (run_dir / "best.keras").exists() and (run_dir / "last.keras").exists()
    results = T.evaluate_selected(config, data, run_dir, seconds)
    assert set(results) >= {"val", "test", "extra", "best_epoch"} and results["best_epoch"] in (1, 2)
    T.write_run(config, data, run_dir, results, report=False)
    assert json.loads((run_dir / "metrics.json").read_text())["val"] == results["val"]
    with pytest.raises(ValueError, match="already holds a run"):
        T.refuse_existing_run(run_dir)


def test_the_command_line_builds_the_same_config():
    args = T.build_parser().parse_args(["--model", "mha_a_t", "--epochs", "3", "--set", "query=learned",
                                        "--max-chars", "60", "--class-weight"])
    config = T.run_config_from_args(args)
    assert config == RunConfig(model="mha_a_t", epochs=3, model_flags={"query": "learned"},
                               feature_overrides={"text": {"max_chars": 60}}, use_class_weight=True)
    fields = {f.name for f in dataclasses.fields(RunConfig)}
    assert fields - set(vars(args)) == {"model_flags", "feature_overrides"}  # every other field is an option
