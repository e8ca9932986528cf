"""Command lines start TensorFlow quietly; `import coaudiotext` leaves the environment alone."""

import os
import subprocess
import sys

from coaudiotext._logs import NOISE, filter_noise

_CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS")}


def _run(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_CLEAN_ENV, timeout=300)


def test_import_coaudiotext_leaves_os_environ_unchanged():
    done = _run("import os; before = dict(os.environ); import coaudiotext, coaudiotext.train, coaudiotext.predict, "
                "coaudiotext.evaluate, coaudiotext.results, coaudiotext.protocol; "
                "changed = sorted(k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k)); "
                "print(changed)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", done.stdout


def test_filter_noise_drops_only_the_start_up_lines():
    text = ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
            "I0000 00:00:1796293391.980280   23139 cudart_stub.cc:31] Could not find cuda drivers on your machine, "
            "GPU will not be used.\n"
            "E0000 something real went wrong\n"
            "a user warning\n")
    assert filter_noise(text) == "E0000 something real went wrong\na user warning\n"
    assert not NOISE.search("cudart_stub missing")


def test_quiet_tensorflow_imports_nothing_and_silences_the_later_start_up():
    done = _run("import os, sys; from coaudiotext._logs import quiet_tensorflow; quiet_tensorflow(); "
                "print(os.environ['TF_CPP_MIN_LOG_LEVEL'], os.environ['TF_ENABLE_ONEDNN_OPTS'], 'tensorflow' in sys.modules); "
                "import keras; print('tensorflow' in sys.modules); print('a real line', file=sys.stderr)")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["3", "0", "False", "True"]  # nothing heavy until Keras imports TensorFlow
    assert "absl::InitializeLog" not in done.stderr and "cudart_stub" not in done.stderr, done.stderr
    assert "a real line" in done.stderr


def test_a_failing_import_shows_everything(tmp_path):
    fake = tmp_path / "tensorflow"
    fake.mkdir()
    (fake / "__init__.py").write_text("import sys\nprint('cudart_stub.cc:31] Could not find cuda drivers', file=sys.stderr)\n"
                                      "raise ImportError('broken install')\n")
    env = dict(_CLEAN_ENV, PYTHONPATH=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", "from coaudiotext._logs import quiet_tensorflow; quiet_tensorflow(); "
                           "import tensorflow"], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode != 0 and "broken install" in done.stderr
    assert "Could not find cuda drivers" in done.stderr  # not filtered when the import fails


def test_a_value_the_user_exported_wins():
    env = dict(_CLEAN_ENV, TF_CPP_MIN_LOG_LEVEL="1")
    done = subprocess.run([sys.executable, "-c", "import os; from coaudiotext._logs import quiet_tensorflow; "
                           "quiet_tensorflow(); print(os.environ['TF_CPP_MIN_LOG_LEVEL'])"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"
