"""GE2E speaker encoder (`coaudiotext.features.ge2e`): slicing, layers, shipped weights, parity.

The parity tests compare with the PyTorch originals and skip without them: the frame-level LSTM output
against a `torch.nn.LSTM` stack loaded from resemblyzer's `pretrained.pt` (the SER-MMoE `encoder.pt`),
and the utterance embedding against `resemblyzer.VoiceEncoder.embed_utterance` (160 frames, rate 1.3).
The shipped-weights tests run without torch, resemblyzer and webrtcvad.
"""

import sys

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from model_contract import run_model_contract  # noqa: E402

from coaudiotext.data.espeak import render  # noqa: E402
from coaudiotext.features import ge2e  # noqa: E402

TEXTS = ("where did you park the car?", "close the window!", "the meeting starts at nine tomorrow morning.")


def _shipped_encoder():
    if not ge2e.DEFAULT_WEIGHTS.exists():
        pytest.fail(f"the shipped GE2E weights {ge2e.DEFAULT_WEIGHTS} are missing")
    return ge2e.load_encoder()


class _Blocked:
    """A `sys.meta_path` finder that makes `import NAME` fail for the given top-level modules."""

    def __init__(self, *names):
        self.names = set(names)

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in self.names:
            raise ModuleNotFoundError(f"{fullname} is blocked by the test")
        return None


def _block_imports(monkeypatch, *names):
    # Not `sys.modules[name] = None`: scipy's array-API helpers getattr() any "torch" entry found there.
    for name in names:
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setattr(sys, "meta_path", [_Blocked(*names)] + sys.meta_path)


def _torch_and_resemblyzer():
    torch = pytest.importorskip("torch")
    resemblyzer = pytest.importorskip("resemblyzer")  # needs webrtcvad (webrtcvad-wheels)
    return torch, resemblyzer


# ------------------------------------------------------------------------------ no optional deps


def test_partial_slices_follow_the_original():
    # 1 s = 101 frames; 30-frame windows every 15 frames; the last (75..105) covers 4000/4800 >= 0.75
    assert ge2e.compute_partial_slices(16000) == [(0, 30), (15, 45), (30, 60), (45, 75), (60, 90), (75, 105)]
    # 0.95 s: the window starting at frame 75 covers 3200/4800 < 0.75 and is dropped
    assert ge2e.compute_partial_slices(15200)[-1] == (60, 90)
    # resemblyzer: 160 frames, step round(16000 / 1.3 / 160) = 77
    assert ge2e.compute_partial_slices(48000, 160, rate=1.3) == [(0, 160), (77, 237), (154, 314)]
    # shorter than one window: always one window
    assert ge2e.compute_partial_slices(100, 160, rate=1.3) == [(0, 160)]
    with pytest.raises(ValueError, match="rate"):
        ge2e.compute_partial_slices(16000, 30, rate=1.3)  # a 77-frame step leaves gaps between 30-frame windows
    with pytest.raises(ValueError, match="overlap"):
        ge2e.compute_partial_slices(16000, overlap=1.0)


def test_volume_normalisation_and_vad_choice(monkeypatch):
    quiet = np.full(1000, 1e-3, np.float32)
    louder = ge2e.normalize_volume(quiet)
    assert np.isclose(20 * np.log10(np.sqrt(np.mean(louder.astype(np.float64) ** 2))), -30.0, atol=1e-4)
    loud = np.full(1000, 0.5, np.float32)
    np.testing.assert_array_equal(ge2e.normalize_volume(loud), loud)  # increase only
    silent = ge2e.normalize_volume(np.zeros(1000, np.float32))
    assert np.all(silent == 0.0)  # no NaN from log10(0)
    _block_imports(monkeypatch, "webrtcvad")
    with pytest.raises(ImportError, match="webrtcvad"):
        ge2e.preprocess_wav(quiet, 16000, vad="on")
    assert ge2e.preprocess_wav(quiet, 16000, vad="off").shape == (1000,)
    with pytest.raises(ValueError, match="vad"):
        ge2e.preprocess_wav(quiet, 16000, vad="yes")


def test_encoder_layers_contract(tmp_path):
    encoder = ge2e.ge2e_speaker_encoder(n_mels=6, lstm_units=8, embedding_units=5, name="tiny_ge2e")
    inputs = {"mels": np.abs(np.random.default_rng(0).normal(size=(4, 7, 6))).astype("float32")}
    out = run_model_contract(encoder, inputs, tmp_path, fresh_process=False, probabilities=False,
                             imports=("coaudiotext.features.ge2e",))
    norms = np.linalg.norm(out, axis=1)
    assert np.all(out >= 0) and np.all((norms < 1.0) & (norms > 0.99)), norms  # x / (||x|| + 1e-5)
    frames = ge2e.frame_model(encoder)(inputs).numpy()
    assert frames.shape == (4, 7, 8)
    normalized = ge2e.GE2ENormalization(epsilon=5.0)(np.array([[3.0, 4.0]], "float32")).numpy()
    np.testing.assert_allclose(normalized, [[0.3, 0.4]], rtol=1e-6)  # 3 / (5 + 5), 4 / (5 + 5)


def test_shipped_weights_need_no_torch_and_separate_voices(monkeypatch):
    _block_imports(monkeypatch, "torch", "resemblyzer")  # any `import torch` now fails
    ge2e._cached_encoder.cache_clear()
    encoder = _shipped_encoder()
    assert encoder.count_params() == 1_420_544  # torch counts 1,423,616: two bias vectors per LSTM layer
    # values of resemblyzer's pretrained.pt: lstm.weight_ih_l0[0, 0] and linear.weight[0, 0]
    assert np.isclose(encoder.get_layer("ge2e_lstm_1").get_weights()[0][0, 0], 0.042865801602602005, atol=1e-9)
    assert np.isclose(encoder.get_layer("ge2e_linear").get_weights()[0][0, 0], -0.1689358651638031, atol=1e-9)
    waves, voices = [], []
    for voice in ("en-us+f3", "en-gb-x-rp+m3"):
        for text in TEXTS:
            samples, sample_rate = render(text, voice=voice)
            waves.append(samples)
            voices.append(voice)
    embeddings = ge2e.embed_utterances(waves, sample_rate, vad="off", encoder=encoder)
    assert embeddings.shape == (6, 256) and embeddings.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    assert np.all(embeddings >= 0)
    similarity = embeddings @ embeddings.T
    same = np.equal.outer(voices, voices) & ~np.eye(6, dtype=bool)
    cross = ~np.equal.outer(voices, voices)
    assert similarity[cross].max() < 0.95, similarity  # different voices give different embeddings
    assert similarity[same].mean() > similarity[cross].mean() + 0.05, similarity
    # the 160-frame setting is a different embedding of the same utterance
    wide = ge2e.embed_utterances(waves[:1], sample_rate, partials_n_frames=160, rate=1.3, vad="off", encoder=encoder)
    assert float(wide[0] @ embeddings[0]) < 0.95


def test_embed_cli(tmp_path, capsys):
    import soundfile

    paths = []
    for i, voice in enumerate(("en-us+f3", "en+m2")):
        samples, sample_rate = render(TEXTS[0], voice=voice)
        paths.append(str(tmp_path / f"{i}.wav"))
        soundfile.write(paths[-1], samples, sample_rate)
    out = tmp_path / "speakers.npy"
    assert ge2e.main(["embed", *paths, "--out", str(out), "--vad", "off"]) == 0
    embeddings = np.load(out)
    assert embeddings.shape == (2, 256)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, atol=1e-5)
    assert "2 x 256" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        ge2e.main(["embed", paths[0], "--out", str(out), "--vad", "maybe"])


# ------------------------------------------------------------------------------ parity (torch + resemblyzer)


def test_shipped_weights_are_the_converted_checkpoint(tmp_path):
    _torch_and_resemblyzer()
    out = tmp_path / "ge2e.weights.h5"
    assert ge2e.main(["convert", "--out", str(out)]) == 0
    converted = ge2e.ge2e_speaker_encoder()
    converted.load_weights(out)
    shipped = _shipped_encoder().get_weights()
    assert len(shipped) == 11
    for a, b in zip(converted.get_weights(), shipped):
        np.testing.assert_array_equal(a, b)


def test_frame_level_parity_with_torch_lstm():
    torch, _ = _torch_and_resemblyzer()
    state, step = ge2e.load_torch_state()
    assert step == 1564501 and abs(float(state["similarity_weight"][0]) - 70.8929) < 1e-3
    lstm = torch.nn.LSTM(40, 256, 3, batch_first=True)
    lstm.load_state_dict({name[len("lstm."):]: torch.from_numpy(v) for name, v in state.items()
                          if name.startswith("lstm.")})
    lstm.eval()
    encoder = _shipped_encoder()
    frames = ge2e.frame_model(encoder)
    samples, sample_rate = render(TEXTS[2], voice="en-us+f3")
    wave = ge2e.preprocess_wav(samples, sample_rate, vad="off")
    for n_frames, rate in ((30, None), (160, 1.3)):
        mels = ge2e.partial_mels(wave, n_frames, rate=rate)
        with torch.no_grad():
            expected, (hidden, _) = lstm(torch.from_numpy(mels))
        got = frames({"mels": mels}).numpy()
        assert np.abs(got - expected.numpy()).max() <= 1e-5
        # and the embedding head: Linear -> ReLU -> x / (||x|| + 1e-5), on hidden[-1]
        with torch.no_grad():
            raw = torch.relu(hidden[-1] @ torch.from_numpy(state["linear.weight"]).T
                             + torch.from_numpy(state["linear.bias"]))
            head = (raw / (raw.norm(dim=1, keepdim=True) + 1e-5)).numpy()
        assert np.abs(encoder({"mels": mels}).numpy() - head).max() <= 1e-5


def test_utterance_embedding_matches_resemblyzer():
    _, resemblyzer = _torch_and_resemblyzer()
    from resemblyzer import audio as resemblyzer_audio

    voice_encoder = resemblyzer.VoiceEncoder("cpu", verbose=False)
    encoder = _shipped_encoder()
    samples, sample_rate = render(TEXTS[2], voice="en+m3")
    # a second of silence in the middle, so that the VAD has something to trim
    gap = np.zeros(sample_rate, np.float32)
    with_pause = np.concatenate([samples, gap, render(TEXTS[0], voice="en+m3")[0]])
    for wave in (samples, with_pause):
        theirs = resemblyzer_audio.preprocess_wav(wave, source_sr=sample_rate)
        ours = ge2e.preprocess_wav(wave, sample_rate, vad="on")
        np.testing.assert_allclose(ours, theirs, atol=1e-6)
        expected = voice_encoder.embed_utterance(theirs)  # 160 frames, rate 1.3
        got = ge2e.embed_utterances([wave], sample_rate, partials_n_frames=160, rate=1.3, vad="on",
                                    encoder=encoder)[0]
        assert float(got @ expected) >= 0.9999
    assert len(ours) < len(with_pause) * 16000 / sample_rate - 8000  # the pause was shortened
