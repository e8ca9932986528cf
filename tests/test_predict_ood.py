"""Inputs far from speech: `speech_check` flags them, `predict` warns, the command line prints the notes and says
what the probabilities are. The thresholds themselves are measured by `python -m coaudiotext.features.speech_check`."""

import json
import pathlib
import warnings

import numpy as np
import pytest
import soundfile

from coaudiotext.features.speech_check import speech_check

WEIGHTS = pathlib.Path(__file__).resolve().parents[1] / "weights" / "mha_a_t.keras"
SR = 22050
T = np.arange(3 * SR) / SR


def _chirp():
    return 0.5 * np.sin(2 * np.pi * (100 * T + (4000 - 100) / (2 * 3) * T ** 2))  # linear 100 Hz -> 4 kHz in 3 s


def _render(text, voice, **jitter):
    from coaudiotext.data.espeak import render

    samples, sr = render(text, voice, **jitter)
    return samples, sr


@pytest.fixture(scope="module")
def chirp_wav(tmp_path_factory):
    path = tmp_path_factory.mktemp("ood") / "chirp.wav"
    soundfile.write(path, _chirp(), SR, subtype="PCM_16")
    return str(path)


@pytest.mark.parametrize("name, signal, expected", [
    ("silence", np.zeros(3 * SR), "silent"),
    ("near silence", None, "near-silent"),
    ("sine 220 Hz", 0.5 * np.sin(2 * np.pi * 220 * T), "narrow band"),
    ("chirp", _chirp(), "narrow band"),
    ("white noise", 0.1 * np.random.default_rng(0).normal(size=3 * SR), "no voiced frames"),
    ("clicks", np.where(np.arange(3 * SR) % (SR // 4) == 0, 0.9, 0.0), "no voiced frames"),
    ("sawtooth buzz", 0.3 * (2 * ((120 * T) % 1) - 1), "barely changes"),
])
def test_check_flags_signals_that_are_not_speech(name, signal, expected):
    if signal is None:  # ordinary speech, 50 dB too quiet
        speech, _ = _render("could you close the window?", "en-us+f3")
        signal = 0.003 * speech
    notes = speech_check(signal, sample_rate=SR)
    assert any(expected in note for note in notes), (name, notes)


@pytest.mark.parametrize("voice, jitter", [
    ("en-us+f3", {}),
    ("en-gb-x-rp+m3", {"pitch": 40, "rate": 160}),
    ("en-029+klatt5", {"pitch": 60, "rate": 200, "pitch_range": 70}),  # espeak-ng's klatt5 clips a little
    ("en-gb-scotland+anika", {"pitch": 58, "rate": 194}),  # a near-sinusoidal /i/
    ("de+m1", {}),
])
def test_check_is_silent_on_rendered_speech(voice, jitter):
    for text in ("could you close the window in the kitchen?", "leave the gym!"):
        samples, sr = _render(text, voice, **jitter)
        assert speech_check(samples, sample_rate=sr, window_seconds=200 * 512 / 22050) == [], (voice, text)


def test_check_reads_files_and_compares_with_the_window(tmp_path):
    speech, sr = _render("could you close the window in the kitchen before we leave?", "en-us+f3")
    long = np.tile(np.concatenate([speech, np.zeros(sr // 4, np.float32)]), 12)[: 30 * sr]
    soundfile.write(tmp_path / "long.wav", long, sr, subtype="PCM_16")
    notes = speech_check(tmp_path / "long.wav", window_seconds=4.64, window_end="last")
    assert len(notes) == 1 and "reads only its last 4.6 s" in notes[0]
    assert speech_check(tmp_path / "long.wav", window_seconds=40.0) == []
    soundfile.write(tmp_path / "clipped.wav", np.clip(4 * speech, -1, 1), sr, subtype="PCM_16")
    assert any("clipped" in note for note in speech_check(tmp_path / "clipped.wav"))
    assert any("too short" in note for note in speech_check(speech[: sr // 5], sample_rate=sr))
    with pytest.raises(ValueError, match="sample_rate"):
        speech_check(speech)
    with pytest.raises(ValueError, match="window_end"):
        speech_check(speech, sample_rate=sr, window_end="middle")


def test_audio_window_from_the_stored_settings():
    from coaudiotext.predict import audio_window, read_metadata

    seconds, end, name = audio_window(read_metadata(WEIGHTS))
    assert (round(seconds, 2), end, name) == (4.64, "last", "audio")  # 200 frames x 512 / 22,050 Hz
    mfcc = {"features": {"mfcc": {"feature": "mfcc", "max_frames": 100},
                         "mfcc_mask": {"feature": "mfcc", "max_frames": 100}}}
    assert audio_window(mfcc)[:2] == (2.5, "first")  # 100 frames x 200 / 8 kHz
    assert audio_window({"features": {"text": {"feature": "chars"}}}) is None


def test_predict_warns_on_a_chirp_and_keeps_its_return_value(chirp_wav):
    from coaudiotext.predict import predict

    with pytest.warns(UserWarning, match="narrow band"):
        label, probabilities = predict(str(WEIGHTS), chirp_wav, "could you close the window")
    assert label in probabilities and max(probabilities, key=probabilities.get) == label
    assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-4)


def test_main_prints_the_notes_and_what_the_probabilities_are(chirp_wav, capsys):
    from coaudiotext.predict import main

    assert main(["--weights", str(WEIGHTS), "--audio", chirp_wav, "--text", "could you close the window"]) == 0
    out, err = capsys.readouterr()
    assert "note: its energy lies in one narrow band" in err
    last = out.strip().splitlines()[-1]
    assert last.startswith("probabilities: the model's softmax over the 5 classes") and "see the notes" in last


def test_json_output_lists_the_notes(chirp_wav, capsys, monkeypatch):
    import coaudiotext.predict as cli

    def fake_predict(weights, audio, text=None):  # main's plumbing only: the model is exercised above
        warnings.warn("a note", UserWarning)
        return "yn", {"s": 0.25, "yn": 0.75}

    monkeypatch.setattr(cli, "predict", fake_predict)
    assert cli.main(["--weights", str(WEIGHTS), "--audio", chirp_wav, "--text", "hello there", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == {"label": "yn", "probabilities": {"s": 0.25, "yn": 0.75}, "notes": ["a note"]}
    assert "note: a note" in err
