"""The manifest reader reports every bad row at once, with line numbers; --skip-bad reports what it dropped."""

import numpy as np
import pytest
import soundfile as sf

from coaudiotext.data.manifest import ManifestError, read_manifest, write_manifest

HEADER = "audio_path,text,label,speaker,split\n"


@pytest.fixture
def corpus(tmp_path):
    sf.write(tmp_path / "good.wav", np.sin(np.arange(4000) / 5).astype("float32") * 0.1, 22050)
    sf.write(tmp_path / "stereo.wav", np.zeros((4000, 2), dtype="float32") + 0.1, 22050)
    sf.write(tmp_path / "empty.wav", np.zeros((0,), dtype="float32"), 22050)
    (tmp_path / "broken.wav").write_bytes(b"not a wav file at all")
    return tmp_path


def test_all_bad_rows_listed_with_lines(corpus):
    rows = [
        "good.wav,hello there,s,a,train",  # line 2 ok
        "missing.wav,hello,s,a,train",  # 3
        "stereo.wav,hello,s,a,train",  # 4
        "empty.wav,hello,s,a,train",  # 5
        "broken.wav,hello,s,a,train",  # 6
        "good.wav,,s,a,train",  # 7 empty text
        "good.wav,hello,zz,a,train",  # 8 unknown label
    ]
    (corpus / "m.csv").write_text(HEADER + "\n".join(rows) + "\n")
    with pytest.raises(ManifestError) as info:
        read_manifest(corpus / "m.csv", labels=["s", "yn"])
    message = str(info.value)
    for line, words in [(3, "not found"), (4, "2 channels"), (5, "empty audio"), (6, "unreadable"),
                        (7, "empty text"), (8, "unknown label 'zz'")]:
        assert f"line {line}:" in message and words in message, (line, message)
    assert "line 2:" not in message
    assert "--skip-bad" in message


def test_skip_bad_keeps_good_rows_and_reports(corpus):
    (corpus / "m.csv").write_text(HEADER + "good.wav,hello,s,a,train\nmissing.wav,x,s,a,test\n")
    manifest = read_manifest(corpus / "m.csv", skip_bad=True)
    assert len(manifest) == 1 and manifest.line_numbers == [2]
    assert len(manifest.skipped) == 1 and "line 3" in manifest.skipped[0]


def test_missing_columns_and_sample_rate(corpus):
    (corpus / "m.csv").write_text("audio_path,text,label\ngood.wav,hi,s\n")
    with pytest.raises(ManifestError, match="missing column"):
        read_manifest(corpus / "m.csv")
    (corpus / "n.csv").write_text(HEADER + "good.wav,hello,s,a,train\n")
    with pytest.raises(ManifestError, match="sample rate 22050"):
        read_manifest(corpus / "n.csv", allowed_sample_rates=[16000])


def test_roundtrip_relative_paths(corpus):
    (corpus / "m.csv").write_text(HEADER + "good.wav,hello,s,a,train\n")
    manifest = read_manifest(corpus / "m.csv")
    write_manifest(manifest.rows, corpus / "copy.csv")
    assert (corpus / "copy.csv").read_text().splitlines()[1].startswith("good.wav,")
    assert read_manifest(corpus / "copy.csv").audio_paths == manifest.audio_paths
