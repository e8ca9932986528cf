"""`train --data iemocap-folds|ser-mmoe` forwards to the corpus' own runner with translated arguments."""

import pytest

import coaudiotext.protocol
import coaudiotext.ser_mmoe_run
from coaudiotext import train as T


@pytest.fixture()
def captured(monkeypatch):
    calls = {}
    monkeypatch.setattr(coaudiotext.protocol, "main", lambda argv: calls.setdefault("protocol", argv) and 0)
    monkeypatch.setattr(coaudiotext.ser_mmoe_run, "main", lambda argv: calls.setdefault("ser_mmoe", argv) and 0)
    return calls


def test_iemocap_folds_goes_to_the_protocol_for_one_fold_and_seed(captured):
    T.main(["--model", "tva_cross", "--data", "iemocap-folds", "--data-dir", "folds", "--fold", "4", "--seed", "2",
            "--epochs", "3", "--out", "runs/x", "--quiet"])
    assert captured["protocol"] == ["--models", "tva_cross", "--data", "iemocap-folds", "--data-dir", "folds",
                                    "--folds", "4,", "--seeds", "2,", "--epochs", "3", "--out", "runs/x", "--quiet"]
    assert coaudiotext.protocol._parse_ids("4,", "folds") == [4]  # one fold, not folds 1..4


def test_ser_mmoe_goes_to_its_runner(captured):
    T.main(["--data=ser-mmoe", "--model", "ser_mmoe_ge2e", "--data-dir", "d", "--corpus", "french", "--seed", "7",
            "--batch-size", "32"])
    assert captured["ser_mmoe"] == ["--data-dir", "d", "--corpus", "french", "--seeds", "7", "--batch-size", "32"]


@pytest.mark.parametrize("argv, message", [
    (["--data", "ser-mmoe", "--model", "bilstm", "--data-dir", "d", "--corpus", "emodb"], "trains ser_mmoe_ge2e"),
    (["--data", "ser-mmoe", "--model", "ser_mmoe_ge2e", "--data-dir", "d"], "--corpus emodb"),
])
def test_bad_combinations_say_what_to_pass(captured, argv, message):
    with pytest.raises(SystemExit, match=message):
        T.main(argv)
    assert not captured


def test_a_missing_data_dir_is_an_argument_error(captured, capsys):
    with pytest.raises(SystemExit):
        T.main(["--data", "iemocap-folds", "--model", "tva_self"])
    assert "--data-dir" in capsys.readouterr().err
