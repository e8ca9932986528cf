"""`python -m coaudiotext.bench features` and `bench train` on tiny sizes, and the PyTorch references they use.

The benches' numbers are machine-dependent; what is tested is what they report (the documented keys,
the FLOP count, the forward check that both sides of `bench train` compute the same function) and
that bad arguments are refused with a message naming them.
"""

import json
import math
import sys

import numpy as np
import pytest

from coaudiotext import bench

FEATURE_KEYS = {
    "files", "audio_s", "frames_kept", "flops_per_clip", "gflop", "bound_gflops", "bound", "rfft_gflops",
    "speedup", "speedup_min", "tutorial_loop_s", "tf_data_s", "max_db_difference", "max_rms_difference",
    "compute_only_equals_tf_data", "cpu_count", "batch_size", "repeat",
} | {f"{side}_{what}" for side in ("tutorial", "tf_data", "compute_only")
     for what in ("min_s", "median_s", "clips_per_s", "gflops", "fraction_of_bound", "runs_s")}
TRAIN_KEYS = {
    "model", "batch_size", "steps", "warmup", "flags", "parameters", "port_median_s", "port_min_s",
    "torch_median_s", "torch_min_s", "speedup", "forward_max_abs_difference", "jit_compile", "in_process",
    "threads_requested",
    "versions", "threads", "torch_process_imports_tensorflow", "port_steps_s", "torch_steps_s",
}
TINY_RSA = ["--set", "wav2vec2_shape=(12,)", "--set", "roberta_shape=(8,)", "--set", "hidden_units=6",
            "--set", "attention_units=5"]


# ---------------------------------------------------------------------------------------------
# features
# ---------------------------------------------------------------------------------------------


def test_mel_rms_flop_count_by_hand():
    # 1 s at 22,050 Hz: 1 + 22050 // 512 = 44 frames, all kept (< 200)
    per_kept = 2.5 * 2048 * 11 + 3 * 1025 + 2 * 1025 * 128  # rfft + power + mel matmul
    assert bench._mel_rms_flops(22050) == 44 * per_kept + 44 * 3 * 2048
    # 10 s: 431 frames, the last 200 kept; window and RMS still cover every frame
    assert bench._mel_rms_flops(220500) == 200 * per_kept + 431 * 3 * 2048
    assert bench._mel_rms_flops(220500, max_frames=100) == 100 * per_kept + 431 * 3 * 2048


def test_features_bench_reports_min_median_flops_and_bound(tmp_path, capsys):
    soundfile = pytest.importorskip("soundfile")
    rng = np.random.default_rng(0)
    lengths = (11025, 30000)  # 22 and 59 frames
    for i, n in enumerate(lengths):
        t = np.arange(n) / 22050
        y = 0.3 * np.sin(2 * np.pi * (180 + 40 * i) * t) * (1 + np.sin(2 * np.pi * 3 * t)) + 0.01 * rng.normal(size=n)
        soundfile.write(tmp_path / f"clip{i}.wav", y.astype("float32"), 22050, subtype="PCM_16")
    out = tmp_path / "features.json"
    results = bench.main(["features", "--data", str(tmp_path), "--n", "2", "--repeat", "2", "--json", str(out)])

    assert FEATURE_KEYS <= set(results), FEATURE_KEYS - set(results)
    assert results["files"] == 2 and results["frames_kept"] == 22 + 59
    assert results["flops_per_clip"] == round(sum(bench._mel_rms_flops(n) for n in lengths) / 2)
    for side in ("tutorial", "tf_data", "compute_only"):
        runs = results[f"{side}_runs_s"]
        assert len(runs) == 2 and results[f"{side}_min_s"] == min(runs)
        assert results[f"{side}_median_s"] == pytest.approx(np.median(runs), abs=1e-3)  # all rounded to 1 ms
        flops = results["flops_per_clip"] * 2
        assert results[f"{side}_gflops"] == pytest.approx(flops / np.median(runs) / 1e9, rel=0.05)  # runs_s rounded
        assert results[f"{side}_clips_per_s"] == pytest.approx(2 / np.median(runs), rel=0.05)
        assert 0 < results[f"{side}_fraction_of_bound"] < 1
    assert results["bound_gflops"] > results["rfft_gflops"] > 0
    assert results["compute_only_equals_tf_data"]  # the in-memory side computes the same features
    assert results["max_db_difference"] <= 0.01 and results["max_rms_difference"] <= 1e-6
    assert json.loads(out.read_text())["command"] == "features"
    printed = capsys.readouterr().out
    assert "median s" in printed and "GFLOP/s" in printed and "bound:" in printed


def test_features_bench_argument_errors(tmp_path):
    with pytest.raises(SystemExit, match=r"--repeat must be a positive integer. Received: --repeat 0"):
        bench.main(["features", "--repeat", "0"])
    with pytest.raises(SystemExit, match="no audio files"):
        bench.main(["features", "--data", str(tmp_path)])
    soundfile = pytest.importorskip("soundfile")
    soundfile.write(tmp_path / "good.wav", np.zeros(8000, "float32") + 0.1, 22050, subtype="PCM_16")
    (tmp_path / "truncated.wav").write_bytes((tmp_path / "good.wav").read_bytes()[:3000])
    with pytest.raises(SystemExit, match=r"1 audio file\(s\) gave no mel_rms features:\n  .*truncated.wav"):
        bench.main(["features", "--data", str(tmp_path), "--repeat", "1"])


# ---------------------------------------------------------------------------------------------
# train
# ---------------------------------------------------------------------------------------------


def test_train_bench_in_process_reports_both_sides(tmp_path, capsys):
    # rsa only, for time: the other models' references are tested below, their flags in the next tests
    pytest.importorskip("torch", reason="bench train compares against PyTorch (optional dependency)")
    key = "rsa"
    out = tmp_path / "train.json"
    results = bench.main(["train", "--model", key, "--steps", "2", "--in-process", "--json", str(out)] + TINY_RSA)
    assert TRAIN_KEYS <= set(results), TRAIN_KEYS - set(results)
    assert results["model"] == key and results["in_process"] and results["steps"] == 2
    assert results["batch_size"] == 6  # the original's
    assert results["forward_max_abs_difference"] < 1e-5  # both sides compute the same function
    for side in ("port", "torch"):
        steps = results[f"{side}_steps_s"]
        assert len(steps) == 2 and all(s > 0 for s in steps)  # the warm-up step is not among them
        assert results[f"{side}_median_s"] == pytest.approx(np.median(steps), abs=2e-4)  # steps_s rounded
    ratio = results["torch_median_s"] / results["port_median_s"]
    assert results["speedup"] == pytest.approx(ratio, rel=0.02, abs=0.01)
    assert json.loads(out.read_text())["command"] == "train"
    assert "speed-up of the port" in capsys.readouterr().out


def test_train_bench_runs_each_side_in_its_own_process():
    pytest.importorskip("torch", reason="bench train compares against PyTorch (optional dependency)")
    results = bench.main(["train", "--model", "rsa", "--steps", "1"] + TINY_RSA)
    assert not results["in_process"] and len(results["port_steps_s"]) == len(results["torch_steps_s"]) == 1
    assert results["forward_max_abs_difference"] < 1e-5
    assert results["threads"]["torch"] >= 1 and results["threads"]["tensorflow"] >= 1
    assert results["torch_process_imports_tensorflow"] is False  # PyTorch trains without TensorFlow beside it


def test_train_bench_builder_arguments_of_both_sides():
    from coaudiotext.models import MODELS

    kwargs = bench._model_flags("crossmodal_transformer", MODELS["crossmodal_transformer"],
                                {"mfcc_shape": (12, 8), "bert_shape": (6, 10), "num_layers": 1})
    assert kwargs["mfcc_mask_shape"] == (12,) and kwargs["bert_mask_shape"] == (6,)  # the masks follow
    assert kwargs["num_classes"] == 7 and kwargs["num_layers"] == 1
    kwargs = bench._model_flags("mha_a_t", MODELS["mha_a_t"], {})
    assert kwargs == {"num_classes": 7, "audio_shape": (200, 129), "text_shape": (30, 67)}  # the original's


@pytest.mark.parametrize("argv, message", [
    (["--model", "bilstm"], r"--model 'bilstm': no PyTorch reference\. Expected one of: mha_a, mha_a_t"),
    (["--model", "nope"], r"not a registry key"),
    (["--model", "rsa", "--steps", "0"], r"--steps must be a positive integer. Received: --steps 0"),
    (["--model", "rsa", "--batch-size", "-2"], r"--batch-size must be a positive integer"),
    (["--model", "rsa", "--threads", "0"], r"--threads must be a positive integer. Received: --threads 0"),
    (["--model", "crossmodal_transformer", "--set", "key_mask=True"], r"key_mask in \(False,\) only"),
    (["--model", "rsa", "--set", "colour=3"], r"does not take the flag colour=3"),
    (["--model", "mha_a_t", "--set", "query=learned"], r"query in \('zero',\) only"),
    (["--model", "crossmodal_transformer", "--set", "bert_shape=(None,768)"], r"give it a length"),
])
def test_train_bench_argument_errors(argv, message):
    pytest.importorskip("torch", reason="the flags are checked against the PyTorch reference")
    with pytest.raises(SystemExit, match=message):
        bench.main(["train"] + argv)


def test_train_bench_without_torch_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    with pytest.raises(SystemExit, match=r"needs PyTorch, which is not installed.*pip install torch"):
        bench.main(["train", "--model", "rsa"])


def test_set_flag_must_be_name_equals_value(capsys):
    with pytest.raises(SystemExit):
        bench.main(["train", "--model", "rsa", "--set", "hidden_units"])
    assert "--set expects FLAG=VALUE" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# the references the train bench runs: same function as the ports
# ---------------------------------------------------------------------------------------------


def _randomise(model, seed=1, scale=0.2):
    rng = np.random.default_rng(seed)
    model.set_weights([(rng.standard_normal(w.shape) * scale).astype("float32") for w in model.get_weights()])


@pytest.mark.parametrize("key, flags", [
    ("mha_a_t", {}),
    ("mha_a_t", {"recurrent_activation": "sigmoid"}),
    ("mha_a", {}),
    ("mha_a", {"align_backward": True, "score_mixing": False}),
])
def test_multi_hop_attention_reference_matches_the_port(key, flags):
    torch = pytest.importorskip("torch")
    from coaudiotext.models import build_model
    from coaudiotext.reference import build

    kwargs = dict(audio_shape=(11, 6), text_shape=(5, 4), speech_lstm_units=5, text_lstm_units=3,
                  attention_units=4, hidden_units=6, **flags)
    port = build_model(key, **kwargs)
    _randomise(port)
    reference = build(key, port, num_classes=7, **kwargs).eval()
    rng = np.random.default_rng(2)
    x = {"audio": rng.normal(size=(3, 11, 6)).astype("float32"), "text": rng.normal(size=(3, 5, 4)).astype("float32")}
    with torch.no_grad():
        got = torch.softmax(reference(**{k: torch.from_numpy(v) for k, v in x.items()}), -1).numpy()
    want = np.asarray(port(x, training=False))
    assert want.std() > 0.01  # not saturated: the comparison can fail
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_transformer_reference_matches_the_port_and_pads_texts_per_batch():
    torch = pytest.importorskip("torch")
    from coaudiotext.models import build_model
    from coaudiotext.reference import build

    kwargs = dict(mfcc_shape=(14, 8), mfcc_mask_shape=(14,), bert_shape=(9, 10), bert_mask_shape=(9,), d_model=8,
                  num_heads=2, num_layers=2)
    port = build_model("crossmodal_transformer", **kwargs)
    reference = build("crossmodal_transformer", port, num_classes=7, **kwargs).eval()
    rng = np.random.default_rng(3)
    x = {"mfcc": rng.normal(size=(2, 14, 8)).astype("float32"), "mfcc_mask": np.ones((2, 14), "float32"),
         "bert": rng.normal(size=(2, 9, 10)).astype("float32"), "bert_mask": np.ones((2, 9), "float32")}
    x["bert_mask"][:, 6:] = 0  # the batch's longest text: 6 tokens
    with torch.no_grad():
        got = torch.softmax(reference(**{k: torch.from_numpy(v) for k, v in x.items()}), -1).numpy()
        fixed = torch.softmax(reference(**{k: torch.from_numpy(v) for k, v in x.items() if k != "bert_mask"}), -1)
    np.testing.assert_allclose(got, np.asarray(port(x, training=False)), atol=1e-5)
    if any(layer.name == "text_batch_padding" for layer in port.layers):  # the port pads per batch too
        assert not np.allclose(got, fixed.numpy(), atol=1e-4)  # 9 positions instead of 6: another output
    feeds = {k: torch.from_numpy(v) for k, v in x.items()}
    with torch.no_grad():  # dropout is on in training mode (embedding, attention, residual, head)
        assert not torch.allclose(reference.train()(**feeds), reference.eval()(**feeds))


@pytest.mark.parametrize("key", ["rsa", "residual"])
def test_head_reference_matches_the_port(key):
    torch = pytest.importorskip("torch")
    from coaudiotext.models import build_model
    from coaudiotext.reference import build

    kwargs = dict(wav2vec2_shape=(10,), roberta_shape=(6,), hidden_units=5)
    if key == "rsa":
        kwargs["attention_units"] = 4
    port = build_model(key, **kwargs)
    _randomise(port, scale=0.4)
    reference = build(key, port, num_classes=7, **kwargs).eval()
    x = {"wav2vec2": np.random.default_rng(4).normal(size=(3, 10)).astype("float32"),
         "roberta": np.random.default_rng(5).normal(size=(3, 6)).astype("float32")}
    with torch.no_grad():
        got = torch.softmax(reference(**{k: torch.from_numpy(v) for k, v in x.items()}), -1).numpy()
    np.testing.assert_allclose(got, np.asarray(port(x, training=False)), atol=1e-5)
    loss = torch.nn.functional.cross_entropy(reference.train()(**{k: torch.from_numpy(v) for k, v in x.items()}),
                                             torch.tensor([0, 1, 2]))
    loss.backward()  # trainable: every parameter gets a gradient
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in reference.parameters())
    assert math.isfinite(loss.item())


def test_reference_keys_and_errors():
    from coaudiotext import reference

    assert reference.KEYS == ("mha_a", "mha_a_t", "audio_transformer", "crossmodal_transformer", "residual", "rsa")
    with pytest.raises(ValueError, match=r"No PyTorch reference for model 'bilstm'. Expected one of: mha_a"):
        reference.module_for("bilstm")
