"""Audio features: the tf.signal and Keras-layer versions agree with the librosa reference on real speech.

Speech is rendered with the demo corpus's espeak-ng renderer: a short utterance (< 200 mel frames =
4.64 s), a long one (> 200 mel frames) and a very long one (> 400 MFCC frames = 10 s at 8 kHz).
"""


import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")
librosa = pytest.importorskip("librosa")
soundfile = pytest.importorskip("soundfile")

from coaudiotext import features  # noqa: E402
from coaudiotext.features import audio  # noqa: E402

MEL_DB_TOLERANCE = 0.01  # dB, over mel bins within 80 dB of the utterance's peak (measured: <= 6e-4)
RMS_TOLERANCE = 1e-6  # measured: <= 2.4e-7
MFCC_TOLERANCE = 2e-3  # dB-scaled MFCC units (values up to ~700); measured: <= 8.6e-4 over 30 utterances

LONG_TEXT = "the weather in the mountains was wonderful and the children played outside until the evening came."


@pytest.fixture(scope="module")
def speech():
    """Three real utterances at 22,050 Hz: short, long and very long."""
    from coaudiotext.data.demo import render

    short, sr = render("close the window?", voice="en-us+f3")
    long, _ = render(LONG_TEXT, voice="en+m3", rate=140)
    other, _ = render("after the long winter the river rose over its banks.", voice="en-us")
    very_long = np.concatenate([long, other, long])  # > 10 s: more than 400 MFCC frames
    assert sr == audio.SAMPLE_RATE
    lengths = [1 + len(y) // audio.HOP_LENGTH for y in (short, long)]
    assert lengths[0] < 200 < lengths[1], lengths
    assert 1 + len(very_long) * 8000 // 22050 // 200 > 400
    return {"short": short, "long": long, "very_long": very_long}


@pytest.fixture(scope="module")
def speech_8k(speech):
    return {name: librosa.resample(y, orig_sr=audio.SAMPLE_RATE, target_sr=8000, res_type="soxr_hq") for name, y in speech.items()}


@pytest.fixture(scope="module")
def wav_files(speech, tmp_path_factory):
    folder = tmp_path_factory.mktemp("speech")
    paths = []
    for name, y in speech.items():
        path = folder / f"{name}.wav"
        soundfile.write(path, y, audio.SAMPLE_RATE, subtype="PCM_16")
        paths.append(str(path))
    return paths


def max_mel_db_error(reference, other, top_db=80.0):
    """Largest |10 log10| difference over mel bins within `top_db` of the utterance's peak."""
    ref, got = reference[:, 1:], np.asarray(other)[:, 1:]
    selected = ref > ref.max() * 10 ** (-top_db / 10)
    assert selected.sum() > 1000  # real speech, many bins compared
    return np.abs(10 * np.log10(ref[selected]) - 10 * np.log10(np.maximum(got[selected], 1e-30))).max()


def assert_mel_rms_close(reference, other):
    other = np.asarray(other)
    assert other.shape == reference.shape == (200, 129)
    assert max_mel_db_error(reference, other) <= MEL_DB_TOLERANCE
    np.testing.assert_allclose(other[:, 0], reference[:, 0], rtol=0, atol=RMS_TOLERANCE)
    # front padding: exactly the same zero rows
    np.testing.assert_array_equal(np.all(other == 0, axis=1), np.all(reference == 0, axis=1))


def ragged_dataset(waveforms):
    return tf.data.Dataset.from_generator(lambda: iter(waveforms), output_signature=tf.TensorSpec([None], tf.float32))


# ---------------------------------------------------------------------------------------------
# mel + RMS
# ---------------------------------------------------------------------------------------------


def test_mel_rms_reference_is_the_tutorial_make_data(wav_files):
    from coaudiotext.testing import tutorial_make_data

    tutorial = tutorial_make_data(wav_files[:2])
    for path, expected in zip(wav_files, tutorial):
        ours = audio.mel_rms_reference(audio.load_audio(path))
        assert ours.dtype == np.float32
        np.testing.assert_allclose(ours, expected, rtol=1e-6, atol=0)


def test_mel_rms_reference_keeps_last_frames_and_pads_front(speech):
    short, long = speech["short"], speech["long"]
    frames = 1 + len(short) // 512
    features_short = audio.mel_rms_reference(short)
    assert features_short.shape == (200, 129)
    assert np.all(features_short[: 200 - frames] == 0)
    assert features_short[200 - frames :].any(axis=1).sum() >= frames - 3  # espeak starts with exact silence
    assert features_short[:, 0].max() == pytest.approx(1.0)

    features_long = audio.mel_rms_reference(long)
    assert features_long[0].any()  # the first kept frame is speech, not padding
    spectrum = np.abs(librosa.stft(long)) ** 2
    last = librosa.feature.melspectrogram(S=spectrum).T[-200:]
    np.testing.assert_allclose(features_long[:, 1:], last, rtol=1e-6)
    assert features_long[:, 0].max() <= 1.0


def test_mel_rms_tf_matches_reference_through_dataset_map(speech):
    waveforms = [speech["short"], speech["long"]]
    references = [audio.mel_rms_reference(y) for y in waveforms]

    unbatched = list(ragged_dataset(waveforms).map(audio.mel_rms_tf))
    for reference, got in zip(references, unbatched):
        assert got.shape == (200, 129) and got.dtype == tf.float32
        assert_mel_rms_close(reference, got)

    (batched,) = list(ragged_dataset(waveforms).map(audio.mel_rms_tf).batch(2))
    assert batched.shape == (2, 200, 129)
    for reference, got in zip(references, batched):
        assert_mel_rms_close(reference, got)


def test_mel_rms_tf_batch_on_padded_batches(speech):
    waveforms = [speech["short"], speech["long"]]
    dataset = ragged_dataset(waveforms).map(lambda y: (y, tf.shape(y)[0]))
    dataset = dataset.padded_batch(2).map(lambda y, n: audio.mel_rms_tf_batch(y, n))
    (batched,) = list(dataset)
    for y, got in zip(waveforms, batched):
        assert_mel_rms_close(audio.mel_rms_reference(y), got)


def test_mel_rms_layer_matches_reference(speech):
    waveforms = [speech["short"], speech["long"]]
    batch, lengths = audio.pad_waveforms(waveforms)
    layer = audio.MelRMS(name="mel_rms")
    got = keras.ops.convert_to_numpy(layer(batch, lengths=lengths))
    assert got.shape == (2, 200, 129)
    for y, row in zip(waveforms, got):
        assert_mel_rms_close(audio.mel_rms_reference(y), row)
    # without lengths a row is taken as real audio over its full width
    full = keras.ops.convert_to_numpy(layer(speech["long"][None]))[0]
    assert_mel_rms_close(audio.mel_rms_reference(speech["long"]), full)


def test_mel_rms_layer_needs_lengths_for_padded_rows(speech):
    """Zero padding after a short row adds frames the reference does not have: lengths remove them."""
    batch, lengths = audio.pad_waveforms([speech["short"]], num_samples=len(speech["short"]) + 5 * 512)
    without = keras.ops.convert_to_numpy(audio.MelRMS()(batch))[0]
    with_lengths = keras.ops.convert_to_numpy(audio.MelRMS()(batch, lengths=lengths))[0]
    reference = audio.mel_rms_reference(speech["short"])
    assert_mel_rms_close(reference, with_lengths)
    assert np.all(without[-1] == 0) and not np.allclose(without, with_lengths)


# ---------------------------------------------------------------------------------------------
# MFCC
# ---------------------------------------------------------------------------------------------


def test_mfcc_reference_shapes_and_mask(speech_8k):
    for name, y in speech_8k.items():
        frames = 1 + len(y) // 200
        mfcc, mask = audio.mfcc_reference(y)
        assert mfcc.shape == (400, 40) and mask.shape == (400,)
        assert mfcc.dtype == mask.dtype == np.float32
        real = min(frames, 400)
        np.testing.assert_array_equal(mask, np.r_[np.ones(real), np.zeros(400 - real)])
        assert np.all(mfcc[real:] == 0) and np.all(mfcc[:real].any(axis=1))
    assert 1 + len(speech_8k["very_long"]) // 200 > 400  # the first 400 frames are kept

    # librosa's own MFCC chain (seed 001's torchaudio recipe) on the first frames
    y = speech_8k["short"]
    power = librosa.feature.melspectrogram(
        y=y, sr=8000, n_fft=400, hop_length=200, pad_mode="reflect", n_mels=128, htk=True, norm=None
    )
    expected = librosa.feature.mfcc(S=librosa.power_to_db(power, top_db=80.0), n_mfcc=40, norm="ortho").T
    np.testing.assert_allclose(audio.mfcc_reference(y)[0][: len(expected)], expected, rtol=1e-6, atol=1e-6)


def test_mfcc_dct_is_ortho_not_tf_signal(speech_8k):
    """c0 of `tf.signal.mfccs_from_log_mel_spectrograms` is sqrt(2) times the ortho DCT-II's."""
    log_mel = np.random.default_rng(0).standard_normal((3, 128)).astype(np.float32)
    ours = log_mel @ audio._dct_matrix(128, 40)
    import scipy.fft

    np.testing.assert_allclose(ours, scipy.fft.dct(log_mel, type=2, norm="ortho")[:, :40], atol=1e-5)
    theirs = tf.signal.mfccs_from_log_mel_spectrograms(log_mel).numpy()[:, :40]
    np.testing.assert_allclose(theirs[:, 1:], ours[:, 1:], atol=1e-5)
    np.testing.assert_allclose(theirs[:, 0], ours[:, 0] * np.sqrt(2), atol=1e-5)


def test_mfcc_tf_and_layer_match_reference(speech_8k):
    waveforms = list(speech_8k.values())
    references = [audio.mfcc_reference(y) for y in waveforms]

    def check(reference, got):
        mfcc, mask = (np.asarray(t) for t in got)
        assert mfcc.shape == (400, 40) and mask.shape == (400,)
        np.testing.assert_array_equal(mask, reference[1])
        assert np.abs(mfcc - reference[0]).max() <= MFCC_TOLERANCE

    for reference, got in zip(references, ragged_dataset(waveforms).map(audio.mfcc_tf)):
        check(reference, got)
    (mfcc, mask) = next(iter(ragged_dataset(waveforms).map(audio.mfcc_tf).batch(3)))
    for i, reference in enumerate(references):
        check(reference, (mfcc[i], mask[i]))

    batch, lengths = audio.pad_waveforms(waveforms)
    for result in (audio.mfcc_tf_batch(batch, lengths), audio.MFCC(name="mfcc")(batch, lengths=lengths)):
        mfcc, mask = (keras.ops.convert_to_numpy(t) for t in result)
        assert mfcc.shape == (3, 400, 40) and mask.shape == (3, 400)
        for i, reference in enumerate(references):
            check(reference, (mfcc[i], mask[i]))


def test_mfcc_tiny_clips_reflect_like_numpy():
    rng = np.random.default_rng(1)
    for n in (1, 3, 150, 201):
        y = rng.standard_normal(n).astype(np.float32)
        reference, mask = audio.mfcc_reference(y)
        mfcc, got_mask = audio.mfcc_tf(y)
        assert np.abs(mfcc.numpy() - reference).max() <= MFCC_TOLERANCE
        np.testing.assert_array_equal(got_mask.numpy(), mask)
        assert mask.sum() == 1 + n // 200


# ---------------------------------------------------------------------------------------------
# Keras layers: config round trip and .keras save / reload
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("layer_class", [audio.MelRMS, audio.MFCC])
def test_layer_config_round_trip(layer_class):
    layer = layer_class(max_frames=50, name="features")
    config = layer.get_config()
    clone = layer_class.from_config(config)
    assert clone.get_config() == config
    assert config["max_frames"] == 50 and config["dtype"]["config"]["name"] == "float32"
    assert keras.saving.get_registered_name(layer_class) == f"coaudiotext>{layer_class.__name__}"


def test_layers_save_and_reload_in_a_model(speech, speech_8k, tmp_path):
    waveform = keras.Input((None,), name="waveform")
    length = keras.Input((), dtype="int32", name="waveform_length")
    audio_features = audio.MelRMS(max_frames=100, name="mel_rms")(waveform, lengths=length)
    mfcc, mfcc_mask = audio.MFCC(max_frames=120, name="mfcc")(waveform, lengths=length)
    model = keras.Model({"waveform": waveform, "waveform_length": length}, [audio_features, mfcc, mfcc_mask], name="features")
    assert [tuple(t.shape) for t in model.outputs] == [(None, 100, 129), (None, 120, 40), (None, 120)]

    batch, lengths = audio.pad_waveforms([speech_8k["short"], speech_8k["long"]])
    inputs = {"waveform": batch, "waveform_length": lengths}
    before = model.predict(inputs, verbose=0)
    path = tmp_path / "features.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    after = reloaded.predict(inputs, verbose=0)
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(before[2][0], audio.mfcc_reference(speech_8k["short"], max_frames=120)[1])


# ---------------------------------------------------------------------------------------------
# extract(), load_audio, bench
# ---------------------------------------------------------------------------------------------


def test_extract_mel_rms_and_mfcc_from_files(wav_files):
    mel_rms = features.extract("mel_rms", wav_files, batch_size=2, progress=False)
    assert mel_rms.shape == (3, 200, 129) and mel_rms.dtype == np.float32
    assert audio._decodes_natively(wav_files, 22050)  # 16-bit mono wav at 22,050 Hz: tf.audio.decode_wav
    for path, got in zip(wav_files, mel_rms):
        assert_mel_rms_close(audio.mel_rms_reference(audio.load_audio(path)), got)

    mfcc, mask = features.extract("mfcc", wav_files, progress=False)  # resampled to 8 kHz by soxr
    assert mfcc.shape == (3, 400, 40) and mask.shape == (3, 400) and mfcc.dtype == mask.dtype == np.float32
    for path, got, got_mask in zip(wav_files, mfcc, mask):
        reference, reference_mask = audio.mfcc_reference(audio.load_audio(path, sr=8000))
        np.testing.assert_array_equal(got_mask, reference_mask)
        assert np.abs(got - reference).max() <= MFCC_TOLERANCE


def test_native_wav_decoding_equals_librosa_load(wav_files, monkeypatch):
    native = features.extract("mel_rms", wav_files[:2], progress=False)
    monkeypatch.setattr(audio, "_decodes_natively", lambda paths, sample_rate: False)
    through_librosa = features.extract("mel_rms", wav_files[:2], progress=False)
    np.testing.assert_array_equal(native, through_librosa)


def test_extract_errors(wav_files, tmp_path):
    with pytest.raises(ValueError, match=r"Unknown feature kind 'spectrogram'. Expected one of: mel_rms, mfcc"):
        features.extract("spectrogram", wav_files)
    with pytest.raises(ValueError, match=r"Unknown option\(s\) \['n_frames'\].*max_frames"):
        features.extract("mel_rms", wav_files, n_frames=10)
    missing = str(tmp_path / "missing.wav")
    with pytest.raises(FileNotFoundError, match="missing.wav"):
        features.extract("mel_rms", [wav_files[0], missing])
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"this is not audio")
    with pytest.raises(ValueError, match="broken.wav"):
        features.extract("mfcc", [wav_files[0], str(broken)])
    assert features.extract("mel_rms", []).shape == (0, 200, 129)


def test_load_audio(wav_files, tmp_path):
    y = audio.load_audio(wav_files[0])
    y8 = audio.load_audio(wav_files[0], sr=8000)
    assert y.dtype == y8.dtype == np.float32 and y.ndim == 1
    assert abs(len(y8) - len(y) * 8000 / 22050) <= 1
    empty = tmp_path / "empty.wav"
    soundfile.write(empty, np.zeros(0, np.float32), 22050)
    with pytest.raises(ValueError, match="empty.wav.*no samples"):
        audio.load_audio(empty)
    with pytest.raises(FileNotFoundError, match="nothing.wav"):
        audio.load_audio(tmp_path / "nothing.wav")
