"""The docstring examples of `coaudiotext.models`, `coaudiotext.layers` and `coaudiotext.run_config` run and print what they say.

They carry the headline parameter counts and shapes of every model and layer; a change that breaks
one of them (a count, an output shape, a default) fails here, not only in a reader's notebook.
"""

import doctest
import importlib
import pathlib
import pkgutil

import pytest

import coaudiotext.layers
import coaudiotext.models

PACKAGES = (coaudiotext.models, coaudiotext.layers)
MODULES = sorted(
    f"{package.__name__}.{info.name}" if info.name else package.__name__
    for package in PACKAGES
    for info in [*pkgutil.iter_modules(package.__path__), pkgutil.ModuleInfo(None, "", False)]
) + ["coaudiotext.run_config"]


def test_every_module_with_examples_is_collected():
    with_examples = [name for name in MODULES
                     if ">>>" in pathlib.Path(importlib.import_module(name).__file__).read_text(encoding="utf-8")]
    assert len(with_examples) >= 14, with_examples  # the models and layers modules that carry examples


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples of {name} failed (run `python -m doctest -v {module.__file__}`)"
