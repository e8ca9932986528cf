"""SER-MMoE's real data (EmoDB, CaFE GE2E embeddings + the original's splits): loader, errors, a quick run.

Uses `../shared/data/ser_mmoe` beside the checkout and skips when it is absent.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from coaudiotext.data.ser_mmoe import CLASSES, leaked_row, load_split

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ser_mmoe"
SIZES = {"emodb": (374, 55, 108), "french": (351, 51, 101)}  # rows of the files, the leaked row included
LEAKED = {"emodb": "16a02Ec", "french": "fr_08-D-2-6"}


@pytest.fixture(scope="module")
def root():
    if not DATA.is_dir():
        pytest.skip(f"{DATA} (SER-MMoE GE2E embeddings and splits) is not beside the checkout")
    return DATA


@pytest.mark.parametrize("corpus", ["emodb", "french"])
def test_splits_and_the_leaked_first_row(root, corpus):
    assert leaked_row(root, corpus) == LEAKED[corpus]
    rows = SIZES[corpus]
    for split, count in zip(("train", "val", "test"), rows):
        x, y, names, classes = load_split(root, corpus, split)
        expected = count if split == "test" else count - 1  # test_only: kept in test, dropped elsewhere
        assert x.shape == (expected, 256) and x.dtype == np.float32 and len(y) == len(names) == expected
        assert classes == CLASSES[corpus] and set(y) == set(range(7))
        np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-4)
        assert (LEAKED[corpus] in names) == (split == "test")
        kept = load_split(root, corpus, split, first_row="keep")[2]
        assert kept[0] == LEAKED[corpus] and len(kept) == count
        assert LEAKED[corpus] not in load_split(root, corpus, split, first_row="drop")[2]
    train = set(load_split(root, corpus, "train")[2])
    assert not train & set(load_split(root, corpus, "test")[2])  # no overlap once the leak is handled


def _copy(root, tmp_path, corpus="french"):
    target = tmp_path / corpus
    target.mkdir()
    for split in ("train", "val", "test"):
        shutil.copy(root / corpus / f"{split}.csv", target / f"{split}.csv")
    os.symlink(root / corpus / "GE2E", target / "GE2E")
    return target


def test_errors_name_the_file_and_row(root, tmp_path):
    target = _copy(root, tmp_path)
    lines = (target / "val.csv").read_text().splitlines()
    lines[3] = lines[3].replace(",N,", ",X,").replace(",D,", ",X,").replace(",J,", ",X,").replace(",P,", ",X,").replace(
        ",S,", ",X,").replace(",T,", ",X,").replace(",C,", ",X,")
    (target / "val.csv").write_text("\n".join(lines))
    with pytest.raises(ValueError, match=r"val\.csv, row 4: unknown label 'X'"):
        load_split(tmp_path, "french", "val")
    lines = (target / "test.csv").read_text().splitlines()
    lines[2] = "12,C,/x/fr_99-C-2-1.wav"
    (target / "test.csv").write_text("\n".join(lines))
    with pytest.raises(FileNotFoundError, match=r"test\.csv, row 3: the embedding .*fr_99-C-2-1\.npy"):
        load_split(tmp_path, "french", "test")
    (target / "train.csv").write_text("1,C\n")
    with pytest.raises(ValueError, match=r"train\.csv, row 1: expected 3"):
        load_split(tmp_path, "french", "train")
    with pytest.raises(ValueError, match="corpus"):
        load_split(tmp_path, "iemocap", "train")


def test_quick_run_beats_chance_and_writes_results(root, tmp_path):
    from coaudiotext.ser_mmoe_run import main

    payload = main(["--data-dir", str(root), "--corpus", "emodb", "--epochs", "15", "--batch-size", "32",
                    "--seeds", "0", "--probe-c", "1", "--out", str(tmp_path)])
    written = json.loads((tmp_path / "emodb" / "results.json").read_text())
    assert written["sizes"] == {"train": 373, "val": 54, "test": 108}
    assert written["first_row"] == {"policy": "test_only", "utterance": LEAKED["emodb"]}
    run = written["port"]["runs"][0]
    assert run["batch_size"] == 32 and 1 <= run["best_epoch"] <= 15 and len(run["history"]) == 15
    assert run["test"]["accuracy"] > 0.4  # chance: 1/7; the majority class: 0.23
    assert written["probe"]["test"]["accuracy"] > 0.7
    assert payload["port"]["test_mean"]["ua"]["mean"] == run["test"]["ua"]


def test_help():
    result = subprocess.run([sys.executable, "-m", "coaudiotext.ser_mmoe_run", "--help"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and "--corpus" in result.stdout and "validation UA" in result.stdout
