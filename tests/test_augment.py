"""Speaker augmentation (`coaudiotext.augment`, `--augment speaker`): what it does to the mel + RMS frames, that
its draws are fixed by (seed, batch index), and that only training batches of mel + RMS inputs get it."""

import numpy as np
import pytest

from coaudiotext import augment, train
from coaudiotext.run_config import RunConfig


def _frames(batch=3, time=6, seed=0):
    frames = np.random.default_rng(seed).random((batch, time, 129)).astype("float32")
    frames[:, :2] = 0.0  # left padding, as the last-200-frames features have
    return frames


def test_no_warp_and_no_gain_is_the_identity():
    x = _frames()
    y = augment.warp_frames(x, np.ones(3, "float32"), np.ones(3, "float32")).numpy()
    np.testing.assert_allclose(y, x, atol=1e-4)


def test_gain_scales_the_mel_power_only_and_padding_stays_zero():
    x = _frames()
    y = augment.warp_frames(x, np.ones(3, "float32"), np.array([0.25, 1.0, 9.0], "float32")).numpy()
    np.testing.assert_array_equal(y[..., 0], x[..., 0])  # the max-normalised RMS column
    np.testing.assert_allclose(y[..., 1:], x[..., 1:] * np.array([0.25, 1.0, 9.0])[:, None, None], rtol=1e-3, atol=5e-4)
    assert not y[:, :2].any()


@pytest.mark.parametrize("alpha", [0.9, 1.1])
def test_warp_moves_a_tone_up_or_down_by_alpha(alpha):
    """A tone in band 30 (a few hundred Hz: the linear part of the Slaney scale) lands where `warp_sources` says."""
    x = np.zeros((1, 1, 129), "float32")
    x[0, 0, 1 + 30] = 1.0
    y = augment.warp_frames(x, np.array([alpha], "float32"), np.ones(1, "float32")).numpy()[0, 0, 1:]
    peak = int(np.argmax(y))
    assert (peak > 30) if alpha > 1 else (peak < 30)
    sources = augment.warp_sources(alpha)[0]
    assert abs(sources[peak] - 30) < 1.0  # the band that reads from band 30
    assert abs(peak - 30 * alpha) < 2.0  # linear region: band index ~ frequency


def test_draws_are_fixed_by_seed_and_step_and_within_their_ranges():
    a1, g1 = (t.numpy() for t in augment.speaker_draws(256, 0, 5))
    a2, g2 = (t.numpy() for t in augment.speaker_draws(256, 0, 5))
    a3, _ = (t.numpy() for t in augment.speaker_draws(256, 0, 6))
    a4, _ = (t.numpy() for t in augment.speaker_draws(256, 1, 5))
    np.testing.assert_array_equal(a1, a2), np.testing.assert_array_equal(g1, g2)
    assert not np.array_equal(a1, a3) and not np.array_equal(a1, a4)
    assert a1.min() >= 1 - augment.WARP and a1.max() <= 1 + augment.WARP and a1.std() > 0.05
    assert g1.min() >= augment.GAIN ** -2 - 1e-6 and g1.max() <= augment.GAIN ** 2 + 1e-4
    assert g1.min() < 0.3 and g1.max() > 3  # log-uniform over the whole range


def test_only_mel_rms_inputs_are_augmented():
    x = {"audio": _frames(), "text": np.ones((3, 5, 7), "float32")}
    kinds = {"audio": "mel_rms", "text": "chars"}
    out = augment.augment_inputs(x, kinds, "speaker", 0, 0)
    assert not np.allclose(out["audio"].numpy(), x["audio"])
    assert out["text"] is x["text"]
    assert augment.augment_inputs(x, kinds, "none", 0, 0) is x
    with pytest.raises(ValueError, match="Unknown augmentation"):
        augment.augment_inputs(x, kinds, "pitch", 0, 0)


def test_training_batches_are_augmented_by_global_batch_index_so_resume_matches():
    x = {"audio": _frames(batch=10, seed=1), "text": np.ones((10, 5, 7), "float32")}
    y = np.arange(10)
    kinds = {"audio": "mel_rms", "text": "chars"}
    full, steps = train._train_dataset(x, y, 4, 3, 0, 3, augment="speaker", kinds=kinds)
    resumed, _ = train._train_dataset(x, y, 4, 3, 1, 3, augment="speaker", kinds=kinds)
    plain, _ = train._train_dataset(x, y, 4, 3, 0, 3)
    full, resumed, plain = list(full), list(resumed), list(plain)
    assert steps == 3 and len(full) == 9 and len(resumed) == 6
    for a, b in zip(full[steps:], resumed):  # epochs 1-2 of a run resumed after epoch 0: the same batches
        np.testing.assert_array_equal(a[0]["audio"].numpy(), b[0]["audio"].numpy())
        np.testing.assert_array_equal(a[1].numpy(), b[1].numpy())
    for a, p in zip(full, plain):  # same rows and labels, other audio; text untouched
        np.testing.assert_array_equal(a[1].numpy(), p[1].numpy())
        np.testing.assert_array_equal(a[0]["text"].numpy(), p[0]["text"].numpy())
        assert not np.allclose(a[0]["audio"].numpy(), p[0]["audio"].numpy())


def test_run_config_resolves_augment_from_the_key_on_demo_data_only():
    from coaudiotext.models import get_spec

    assert RunConfig(model="ca").resolved().augment == get_spec("ca").train.demo_augment
    assert RunConfig(model="ca", data="prosem").resolved().augment == "none"  # the originals augment nothing
    assert RunConfig(model="bilstm", augment="speaker", data="prosem").resolved().augment == "speaker"
    assert RunConfig(model="text_bilstm_att").resolved().augment == "none"


def test_augment_on_the_command_line():
    args = train.build_parser().parse_args(["--model", "ca", "--augment", "speaker"])
    assert train.run_config_from_args(args).augment == "speaker"
    with pytest.raises(SystemExit):
        train.build_parser().parse_args(["--model", "ca", "--augment", "pitch"])


def test_results_table_marks_rows_trained_with_augmentation():
    import json
    import pathlib

    from coaudiotext import results

    payload = json.loads((pathlib.Path(__file__).resolve().parents[1] / "weights" / "results.json").read_text())
    rows = {key: dict(row, augment="none") for key, row in payload["models"].items()}
    rows["bilstm"]["augment"] = "speaker"
    table = results.render_table(rows)
    marked = [line for line in table.splitlines() if "‡" in line]
    assert len(marked) == 1 and "`bilstm`" in marked[0]
    assert "--augment speaker" in results.render_note({"protocol": payload["protocol"], "models": rows})
    rows["bilstm"]["augment"] = "none"
    assert "‡" not in results.render_table(rows) + results.render_note({"protocol": payload["protocol"], "models": rows})


def test_help_names_the_keys_that_augment_on_the_demo_corpus():
    from coaudiotext.models import MODELS

    augmented = sorted(key for key, spec in MODELS.items() if spec.train.demo_augment != "none")
    assert augmented, "ca and mha_a ship augmented demo weights"
    help_text = train.build_parser().format_help().replace("\n", " ")
    named = ", ".join(augmented[:-1]) + " and " + augmented[-1]
    assert " ".join(help_text.split()).count("speaker for " + named) == 1


def test_a_run_saved_before_augmentation_existed_resumes_without_it(tmp_path):
    import json

    config = RunConfig(model="ca").to_dict()
    del config["augment"]  # config.json of an older version
    (tmp_path / "config.json").write_text(json.dumps({"arguments": config}))
    assert RunConfig.load(tmp_path).resolved().augment == "none"
    config["augment"] = "speaker"
    (tmp_path / "config.json").write_text(json.dumps({"arguments": config}))
    assert RunConfig.load(tmp_path).resolved().augment == "speaker"
