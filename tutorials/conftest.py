"""pytest --nbmake runs the notebooks in FAST mode (tiny corpus, 1-2 epochs) unless told otherwise."""

import os

os.environ.setdefault("COAUDIOTEXT_FAST", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
