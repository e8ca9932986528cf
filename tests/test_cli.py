"""End to end through the command lines on the tiny demo corpus: train, resume, evaluate, predict, bad input."""

import json
import os
import subprocess
import sys
import pathlib

import numpy as np
import pytest

from coaudiotext.data import resolve_data

ROOT = pathlib.Path(__file__).resolve().parents[1]

ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0")


def run(*args, check=True):
    result = subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, env=ENV, timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "bilstm"
    result = run("coaudiotext.train", "--model", "bilstm", "--data", "demo-tiny", "--epochs", "1",
                 "--out", str(out), "--set", "recurrent_activation=sigmoid", "--quiet")
    return out, result


def test_train_writes_a_complete_run_directory(tiny_run):
    out, result = tiny_run
    for name in ("config.json", "environment.json", "history.csv", "best.keras", "last.keras", "state.json",
                 "metrics.json", "confusion_matrix.png", "history.png"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["test"]) >= {"accuracy", "ua", "macro_f1", "weighted_f1", "per_class", "confusion_matrix", "n"}
    assert "on validation" in metrics["selection"]
    config = json.loads((out / "config.json").read_text())
    assert config["arguments"]["model_flags"] == {"recurrent_activation": "sigmoid"}
    assert "macro-F1" in result.stdout and "on test" in result.stdout


def test_resume_continues_from_last_epoch(tiny_run, tmp_path):
    import shutil

    out, _ = tiny_run
    copy = tmp_path / "resumed"
    shutil.copytree(out, copy)
    config = json.loads((copy / "config.json").read_text())
    config["arguments"]["epochs"] = 2
    (copy / "config.json").write_text(json.dumps(config))
    run("coaudiotext.train", "--resume", str(copy), "--quiet")
    state = json.loads((copy / "state.json").read_text())
    assert state["epoch"] == 2
    assert len((copy / "history.csv").read_text().strip().splitlines()) == 3  # header + 2 epochs


def test_evaluate_reproduces_training_metrics_and_predict_runs(tiny_run, tmp_path):
    out, _ = tiny_run
    run("coaudiotext.evaluate", "--weights", str(out / "best.keras"), "--data", "demo-tiny", "--split", "test",
        "--json", str(tmp_path / "eval.json"))
    evaluated = json.loads((tmp_path / "eval.json").read_text())
    trained = json.loads((out / "metrics.json").read_text())["test"]
    for key in ("accuracy", "ua", "macro_f1", "weighted_f1", "n"):
        assert evaluated[key] == pytest.approx(trained[key]), key
    manifest, _ = resolve_data("demo-tiny")
    result = run("coaudiotext.predict", "--weights", str(out / "best.keras"), "--audio", manifest.audio_paths[0], "--json")
    payload = json.loads(result.stdout)
    assert payload["label"] in payload["probabilities"]
    assert sum(payload["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)


def test_bad_manifest_lists_every_bad_row(tmp_path):
    manifest, _ = resolve_data("demo-tiny")
    good = manifest.audio_paths[0]
    (tmp_path / "bad.csv").write_text(
        "audio_path,text,label,speaker,split\n"
        f"{good},hello there,s,a,train\n"
        "nowhere.wav,hello,s,a,train\n"
        f"{good},,s,a,train\n"
        f"{good},hello,shout,a,test\n"
    )
    result = run("coaudiotext.train", "--model", "bilstm", "--data", str(tmp_path / "bad.csv"), "--epochs", "1",
                 "--labels", "s,yn,wh,c,r", check=False)
    assert result.returncode == 2
    for line in ("line 3", "line 4", "line 5"):
        assert line in result.stderr
    assert "line 2" not in result.stderr


def test_predict_requires_text_for_text_models(tmp_path):
    from coaudiotext.callbacks import atomic_save_model
    from coaudiotext.models import build_model

    model = build_model("text_bilstm_att", num_classes=5, text_shape=(30, 43), recurrent_activation="sigmoid")
    metadata = {"model": "text_bilstm_att", "class_names": ["s", "yn", "wh", "c", "r"],
                "features": {"text": {"feature": "chars", "kind": "latin", "max_chars": 30}}}
    atomic_save_model(model, tmp_path / "m.keras", metadata)
    manifest, _ = resolve_data("demo-tiny")
    result = run("coaudiotext.predict", "--weights", str(tmp_path / "m.keras"), "--audio", manifest.audio_paths[0], check=False)
    assert result.returncode == 2 and "--text" in result.stderr
    result = run("coaudiotext.predict", "--weights", str(tmp_path / "m.keras"), "--audio", manifest.audio_paths[0],
                 "--text", "where did you put it", "--json")
    assert json.loads(result.stdout)["label"] in metadata["class_names"]
    np.testing.assert_allclose(sum(json.loads(result.stdout)["probabilities"].values()), 1.0, atol=1e-4)


def test_simulated_asr_manifest_and_bench(tmp_path):
    import csv

    from coaudiotext.bench import main as bench_main
    from coaudiotext.callbacks import atomic_save_model
    from coaudiotext.data.asr_sim import word_error_rate
    from coaudiotext.models import build_model

    manifest, _ = resolve_data("demo-tiny", text_source="asr", asr_wer=0.3)
    assert all(row["asr_text"] == row["text"] for row in manifest.rows)  # the transcript used is the ASR one
    wer = np.mean([word_error_rate(row["gold_text"], row["text"]) for row in manifest.rows])
    assert 0.1 < wer < 0.5, wer
    with open(manifest.path, newline="") as handle:
        assert {row["asr_source"] for row in csv.DictReader(handle)} == {"simulated-wer-0.3"}

    model = build_model("text_bilstm_att", num_classes=5, text_shape=(30, 43), recurrent_activation="sigmoid")
    metadata = {"model": "text_bilstm_att", "class_names": ["s", "yn", "wh", "c", "r"],
                "features": {"text": {"feature": "chars", "kind": "latin", "max_chars": 30}}}
    atomic_save_model(model, tmp_path / "m.keras", metadata)
    results = bench_main(["asr", "--weights", str(tmp_path / "m.keras"), "--data", "demo-tiny", "--wer", "0", "0.5",
                          "--plot", str(tmp_path / "asr.png")])
    measured = [row["measured_wer"] for row in results["results"]]
    assert measured[0] == 0.0 and measured[1] > 0.2
    assert (tmp_path / "asr.png").is_file()


@pytest.fixture(scope="module")
def tiny_text_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "text"
    run("coaudiotext.train", "--model", "text_bilstm_att", "--data", "demo-tiny", "--epochs", "1", "--out", str(out),
        "--quiet")
    return out


def test_demo_runs_use_the_whole_sentence_window_and_report_handwritten(tiny_text_run):
    from coaudiotext.data.demo import TEXT_FEATURES

    config = json.loads((tiny_text_run / "config.json").read_text())
    text = config["features"]["text"]
    assert {k: text[k] for k in TEXT_FEATURES} == TEXT_FEATURES
    metrics = json.loads((tiny_text_run / "metrics.json").read_text())
    assert metrics["extra"]["handwritten"]["n"] == 12  # evaluated, never selected on


def test_predict_says_it_and_notes_a_cut_text(tiny_text_run, tmp_path):
    long_text = " ".join(["please"] + ["bring the very heavy boxes"] * 5)
    result = run("coaudiotext.predict", "--weights", str(tiny_text_run / "best.keras"), "--say", long_text + "?",
                 "--voice", "en-gb-x-rp+m3:40:160", "--save-audio", str(tmp_path / "say.wav"), "--json")
    assert json.loads(result.stdout)["label"] in {"s", "yn", "wh", "c", "r"}
    assert (tmp_path / "say.wav").is_file()
    assert "reads only the first 80" in result.stderr
    short = run("coaudiotext.predict", "--weights", str(tiny_text_run / "best.keras"), "--say", "sit down!")
    assert "note:" not in short.stderr
    both = run("coaudiotext.predict", "--weights", str(tiny_text_run / "best.keras"), check=False)
    assert both.returncode == 2 and "either --audio" in both.stderr


def test_catalog_matches_the_registry():
    from coaudiotext.catalog import CATALOG
    from coaudiotext.models import MODELS

    assert list(CATALOG.items()) == [(key, spec.description) for key, spec in MODELS.items()]


@pytest.mark.parametrize("module, fragment", [
    ("train", "usage"), ("evaluate", "usage"), ("predict", "usage"), ("results", "usage"), ("bench", "usage"),
    ("data.demo", "usage"), ("data.generator", "usage"), ("data.pkl_corpus", "--trust-pickle"),
    ("data.iemocap_folds", "--fix-video-drop"), ("protocol", "usage"),
])
def test_help_answers_before_any_heavy_import(module, fragment):
    """`--help` must not import Keras/TensorFlow (it took 70 s on a loaded machine when it did)."""
    code = (f"import runpy, sys; sys.argv = ['x', '--help']\n"
            f"try:\n    runpy.run_module('coaudiotext.{module}', run_name='__main__')\n"
            f"except SystemExit:\n    pass\n"
            f"print('heavy:', sorted(m for m in ('keras', 'tensorflow', 'torch', 'librosa') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("heavy: []"), out.stdout[-500:]
    assert fragment in out.stdout
    assert "absl" not in out.stderr and "cudart" not in out.stderr


@pytest.mark.parametrize("extra, message", [([], "pass --text"), (["--text", "   "], "blank")])
def test_predict_checks_arguments_before_loading_tensorflow(tmp_path, extra, message):
    import soundfile

    assert (ROOT / "weights" / "mha_a_t.keras").exists(), "the shipped weights are part of the repository"
    wav = tmp_path / "a.wav"
    soundfile.write(wav, (0.1 * np.sin(np.arange(8000) / 5.0)).astype("float32"), 16000)
    argv = ["x", "--weights", str(ROOT / "weights" / "mha_a_t.keras"), "--audio", str(wav)] + extra
    code = (f"import runpy, sys; sys.argv = {argv!r}\n"
            f"try:\n    runpy.run_module('coaudiotext.predict', run_name='__main__')\n"
            f"except SystemExit as e:\n    print('rc', e.code)\n"
            f"print('keras loaded:', 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert "rc 2" in out.stdout and "keras loaded: False" in out.stdout, (out.stdout, out.stderr[-1500:])
    assert message in out.stderr


def test_results_never_touches_shipped_files_without_install(tmp_path):
    import shutil

    from coaudiotext import results

    shipped = ROOT / "weights" / "results.json"
    assert shipped.exists(), "weights/results.json is part of the repository"
    before = {p: p.read_bytes() for p in (ROOT / "README.md", shipped, ROOT / "weights" / "SHA256SUMS")}
    (tmp_path / "weights").mkdir()
    shutil.copyfile(shipped, tmp_path / "weights" / "results.json")
    assert results.main(["--tables-only", "--runs-dir", str(tmp_path)]) == 0
    table = (tmp_path / "results.md").read_text()
    assert "| `mha_a_t`" in table or "mha_a_t" in table
    assert all(p.read_bytes() == data for p, data in before.items())
    with pytest.raises(SystemExit):
        results.main(["--tables-only", "--weights-dir", str(tmp_path)])  # shipped paths need --install


def test_results_install_from_adopts_a_compared_run_without_training(tmp_path):
    import json
    import shutil

    from coaudiotext import results

    shipped = json.loads((ROOT / "weights" / "results.json").read_text())
    run, target = tmp_path / "run", tmp_path / "shipped"
    run.mkdir(), target.mkdir()
    row = dict(shipped["models"]["bilstm"], test={**shipped["models"]["bilstm"]["test"], "macro_f1": 0.5})
    json.dump({"protocol": shipped["protocol"], "models": {"bilstm": row}}, (run / "results.json").open("w"))
    shutil.copyfile(ROOT / "weights" / "bilstm.keras", run / "bilstm.keras")
    shutil.copyfile(ROOT / "weights" / "results.json", target / "results.json")
    readme = tmp_path / "README.md"
    readme.write_text("x\n<!-- results:start -->\nold\n<!-- results:end -->\n<!-- models:start -->\n<!-- models:end -->\n")
    argv = ["--models", "bilstm", "--install", "--install-from", str(run), "--weights-dir", str(target),
            "--readme", str(readme)]
    assert results.main(argv) == 0
    installed = json.loads((target / "results.json").read_text())
    assert installed["models"]["bilstm"]["test"]["macro_f1"] == 0.5
    assert installed["models"]["mha_a_t"] == shipped["models"]["mha_a_t"]  # other rows kept
    assert (target / "bilstm.keras").read_bytes() == (ROOT / "weights" / "bilstm.keras").read_bytes()
    assert "bilstm.keras" in (target / "SHA256SUMS").read_text() and "old" not in readme.read_text()

    row["epochs"] += 1  # not what `train --model bilstm` runs: refused, nothing replaced
    json.dump({"protocol": shipped["protocol"], "models": {"bilstm": row}}, (run / "results.json").open("w"))
    with pytest.raises(SystemExit):
        results.main(argv)
    row["epochs"] -= 1
    row["augment"] = "speaker"  # bilstm's demo_augment is "none": refused as well
    json.dump({"protocol": shipped["protocol"], "models": {"bilstm": row}}, (run / "results.json").open("w"))
    with pytest.raises(SystemExit):
        results.main(argv)
    with pytest.raises(SystemExit):
        results.main(["--models", "bilstm", "--install-from", str(run)])  # shipped paths need --install


def test_same_command_and_seed_give_the_same_numbers(tmp_path):
    """README numbers are reproducible: two runs of one command (fresh processes) print identical metrics."""
    printed = []
    for name in ("a", "b"):
        result = run("coaudiotext.train", "--model", "bilstm_att", "--data", "demo-tiny", "--epochs", "2",
                     "--out", str(tmp_path / name), "--quiet")
        printed.append([line for line in result.stdout.splitlines() if line.startswith("[coaudiotext] test:")])
        metrics = json.loads((tmp_path / name / "metrics.json").read_text())
        printed[-1].append(json.dumps(metrics["val"]["confusion_matrix"]))
    assert printed[0] and printed[0] == printed[1]


def test_train_runs_under_the_torch_backend(tmp_path):
    """`F1Callback` used to crash under KERAS_BACKEND=torch (numpy of a tensor that requires grad)."""
    pytest.importorskip("torch")
    env = dict(ENV, KERAS_BACKEND="torch")
    result = subprocess.run([sys.executable, "-m", "coaudiotext.train", "--model", "text_bilstm_att", "--data",
                             "demo-tiny", "--epochs", "1", "--out", str(tmp_path / "run"), "--quiet"],
                            capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["test"]["accuracy"] >= 0
