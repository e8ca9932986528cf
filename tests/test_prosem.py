"""ProSem loader: the real script and permutation files, stand-in wav files."""

import collections
import csv
import os

import numpy as np
import pytest
import soundfile

from coaudiotext.data.prosem import (
    PROSEM_COLUMNS,
    PROSEM_LABELS,
    ProSemError,
    load_prosem,
    read_prosem_script,
    text_only_ceiling,
    write_prosem_manifest,
)

N_ROWS = 3552


@pytest.fixture(scope="module")
def prosem_files(shared_dir):
    folder = shared_dir / "data/prosem"
    return {
        "script_file": folder / "spec_final.txt",
        "x_fem": folder / "x_fem.npy",
        "x_mal": folder / "x_mal.npy",
    }


@pytest.fixture(scope="module")
def speech_dir(tmp_path_factory):
    """FEMALE/ and MALE/ with 3,552 tiny stand-in wav files each (hard links to one 10 ms file)."""
    root = tmp_path_factory.mktemp("prosem_speech")
    source = root / "silence.wav"
    soundfile.write(source, np.zeros(220, np.float32), 22050)
    for folder in ("FEMALE", "MALE"):
        (root / folder).mkdir()
        for i in range(N_ROWS):
            try:
                os.link(source, root / folder / f"{i}.wav")
            except OSError:  # file systems without hard links
                soundfile.write(root / folder / f"{i}.wav", np.zeros(220, np.float32), 22050)
    return root


def label_counts(rows):
    counts = collections.Counter(row["label"] for row in rows)
    return [counts[label] for label in PROSEM_LABELS]


def test_script_file(prosem_files):
    script = read_prosem_script(prosem_files["script_file"])
    assert len(script) == N_ROWS
    assert script[0]["text"] == "누가 가르쳐 줄래" and script[0]["label"] == "wh"
    assert script[0]["note"] == ""  # the \r of the CRLF file is not part of the last column
    assert len({row["text"] for row in script}) == 1292
    assert label_counts(script) == [1085, 1047, 849, 302, 175, 56, 38]


def test_tutorial_split(prosem_files, speech_dir):
    rows = load_prosem(speech_dir, **prosem_files)
    train = [row for row in rows if row["split"] == "train"]
    test = [row for row in rows if row["split"] == "test"]
    assert (len(rows), len(train), len(test)) == (7104, 6392, 712)
    assert label_counts(train) == [1964, 1883, 1519, 543, 311, 102, 70]
    assert label_counts(test) == [206, 211, 179, 61, 39, 10, 6]
    # Order: female train, male train, female test, male test; rows follow the permutations.
    x_fem = np.load(prosem_files["x_fem"])
    x_mal = np.load(prosem_files["x_mal"])
    assert [row["id"] for row in rows[:3]] == [f"FEMALE_{i}" for i in x_fem[:3]]
    assert rows[3196]["id"] == f"MALE_{x_mal[0]}"
    assert rows[6392]["id"] == f"FEMALE_{x_fem[3196]}" and rows[-1]["id"] == f"MALE_{x_mal[-1]}"
    assert [r["gender"] for r in (rows[0], rows[3196], rows[6392], rows[-1])] == ["F", "M", "F", "M"]
    assert set(rows[0]) == set(PROSEM_COLUMNS)
    first = rows[0]
    assert os.path.isabs(first["audio_path"]) and os.path.isfile(first["audio_path"])
    assert first["audio_path"].endswith(os.path.join("FEMALE", f"{x_fem[0]}.wav"))
    assert len({row["id"] for row in rows}) == 7104


def test_text_only_ceiling(prosem_files):
    rows = load_prosem(prosem_files["script_file"].parent, check_audio=False, **prosem_files)
    ceiling = text_only_ceiling(rows)
    assert round(ceiling, 3) == 0.364
    assert text_only_ceiling([{"text": "a", "label": "s"}, {"text": "a", "label": "yn"},
                              {"text": "a", "label": "s"}, {"text": "b", "label": "c"}]) == 0.75


def test_missing_wavs_reported_together(prosem_files, tmp_path):
    for folder in ("FEMALE", "MALE"):
        (tmp_path / folder).mkdir()
    source = tmp_path / "one.wav"
    soundfile.write(source, np.zeros(220, np.float32), 22050)
    for i in range(N_ROWS):
        os.link(source, tmp_path / "FEMALE" / f"{i}.wav")
    for i in range(N_ROWS - 3):  # MALE/3549..3551.wav missing
        os.link(source, tmp_path / "MALE" / f"{i}.wav")
    with pytest.raises(ProSemError) as error:
        load_prosem(tmp_path, **prosem_files)
    message = str(error.value)
    assert "3 of 7104" in message
    for i in (3549, 3550, 3551):
        assert os.path.join("MALE", f"{i}.wav") in message


def test_missing_permutation_file_is_named(prosem_files, tmp_path):
    with pytest.raises(ProSemError, match="x_mal.*x_mal.npy.*warnikchow/coaudiotext"):
        load_prosem(tmp_path, x_fem=prosem_files["x_fem"], x_mal=tmp_path / "x_mal.npy",
                    script_file=prosem_files["script_file"], check_audio=False)
    with pytest.raises(ProSemError, match="script_file was not given.*spec_final.txt"):
        load_prosem(tmp_path, x_fem=prosem_files["x_fem"], x_mal=prosem_files["x_mal"], check_audio=False)


def test_bad_permutation_and_script(prosem_files, tmp_path):
    bad = tmp_path / "x_bad.npy"
    np.save(bad, np.zeros(N_ROWS, np.int64))
    with pytest.raises(ProSemError, match="not a permutation"):
        load_prosem(tmp_path, x_fem=bad, x_mal=prosem_files["x_mal"],
                    script_file=prosem_files["script_file"], check_audio=False)
    script = tmp_path / "spec_final.txt"
    script.write_text("a\t0\t가\ts\tg\tn\t\nb\t0\t나\tzz\tg\tn\t\nc\t0\t다\n", encoding="utf-8")
    with pytest.raises(ProSemError) as error:
        read_prosem_script(script)
    assert "line 2: unknown label 'zz'" in str(error.value) and "line 3: 3 tab-separated" in str(error.value)


def test_write_manifest(prosem_files, speech_dir):
    out = speech_dir / "manifest.csv"  # audio under the CSV's folder -> relative paths
    write_prosem_manifest(speech_dir, out, **prosem_files)
    with open(out, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames) == PROSEM_COLUMNS
        rows = list(reader)
    assert len(rows) == 7104
    assert not os.path.isabs(rows[0]["audio_path"]) and rows[0]["audio_path"].startswith("FEMALE/")
    assert os.path.isfile(speech_dir / rows[0]["audio_path"])
    assert collections.Counter(row["split"] for row in rows) == {"train": 6392, "test": 712}
