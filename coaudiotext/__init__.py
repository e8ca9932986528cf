"""coaudiotext: faithful Keras 3 ports of multimodal (speech + text) spoken-language-understanding models."""

import os as _os

# Quiet TensorFlow logs and exact (non-oneDNN) CPU kernels unless the user chose otherwise.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
_os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

__version__ = "0.1.0"
