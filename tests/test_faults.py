"""Faults during training: a full disk and Ctrl-C leave a run that a later resume can use."""

import errno
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from coaudiotext import train

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_disk_full_during_a_save_is_one_clear_error_and_leaves_no_partial_file(tmp_path, monkeypatch, capsys):
    import keras

    real_save = keras.Model.save
    calls = []

    def full_disk(self, filepath, *args, **kwargs):
        calls.append(filepath)
        if len(calls) >= 3:  # epoch 1 saved (best + last), then the disk fills up
            pathlib.Path(filepath).write_bytes(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device", str(filepath))
        return real_save(self, filepath, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "save", full_disk)
    out = tmp_path / "run"
    code = train.main(["--model", "text_bilstm_att", "--data", "demo-tiny", "--epochs", "3", "--out", str(out), "--quiet"])
    assert code == 1
    assert "the disk is full" in capsys.readouterr().err
    leftovers = [p.name for p in out.iterdir() if p.name.startswith(".")]
    assert leftovers == []  # no temporary files
    monkeypatch.setattr(keras.Model, "save", real_save)
    import coaudiotext

    coaudiotext.load_model(out / "last.keras")  # the files saved before the fault are intact
    assert train.main(["--resume", str(out), "--quiet"]) == 0


def test_ctrl_c_stops_cleanly_and_resumes(tmp_path):
    out = tmp_path / "run"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0")
    process = subprocess.Popen([sys.executable, "-m", "coaudiotext.train", "--model", "text_bilstm_att", "--data",
                                "demo-tiny", "--epochs", "200", "--out", str(out), "--quiet"],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while not (out / "state.json").exists() and time.time() < deadline and process.poll() is None:
        time.sleep(0.5)
    assert (out / "state.json").exists(), process.communicate()[1][-2000:]
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err[-2000:]
    assert f"continue with --resume {out}" in err
    assert "Traceback" not in err
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]


def test_ctrl_c_during_fit_is_raised_at_the_next_batch_end_and_the_handler_restored():
    import keras
    import numpy as np

    from coaudiotext.callbacks import InterruptAtBatchEnd

    seen, ended = [], []

    class PressCtrlC(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            seen.append(batch)
            if batch == 2:
                os.kill(os.getpid(), signal.SIGINT)  # delivered mid-batch: only a flag is set

        def on_train_batch_end(self, batch, logs=None):
            ended.append(batch)

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile("sgd", "mse")
    before = signal.getsignal(signal.SIGINT)
    stopper = InterruptAtBatchEnd()
    with pytest.raises(KeyboardInterrupt):
        with stopper:
            model.fit(np.zeros((64, 3)), np.zeros((64, 2)), batch_size=4, epochs=1, verbose=0,
                      callbacks=[PressCtrlC(), stopper])
    assert seen == [0, 1, 2] and ended == [0, 1, 2]  # batch 2 finished, batch 3 never started
    assert signal.getsignal(signal.SIGINT) is before
    with stopper:  # a second Ctrl-C does not wait for the batch end
        stopper._handler(signal.SIGINT, None)
        with pytest.raises(KeyboardInterrupt):
            stopper._handler(signal.SIGINT, None)
    assert signal.getsignal(signal.SIGINT) is before
