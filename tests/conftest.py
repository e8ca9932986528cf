import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import pathlib

import pytest

SHARED = pathlib.Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture(scope="session")
def shared_dir():
    """The ../shared folder beside the checkout (real ProSem files); tests using it skip when absent."""
    if not SHARED.is_dir():
        pytest.skip("../shared (real ProSem script and permutation files) is not beside the checkout")
    return SHARED
