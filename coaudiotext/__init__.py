"""coaudiotext: faithful Keras 3 ports of multimodal (speech + text) spoken-language-understanding models.

`import coaudiotext` is light (Keras is not imported), yet the package's custom Keras objects (layers,
the Keras 2.1 activation) are registered as soon as Keras is imported, so `keras.saving.load_model` reads
coaudiotext `.keras` files with `safe_mode` on. The documented way to load one:

>>> import coaudiotext
>>> model = coaudiotext.load_model("weights/mha_a_t.keras")      # doctest: +SKIP
"""

import importlib as _importlib
import importlib.abc as _importlib_abc
import importlib.util as _importlib_util
import os as _os
import sys as _sys

__version__ = "0.1.0"
__all__ = ["load_model", "register_custom_objects", "__version__"]

_REGISTERING_MODULES = ("coaudiotext.layers", "coaudiotext.features.audio", "coaudiotext.encoders")


def register_custom_objects():
    """Imports the modules that define coaudiotext's Keras objects, which registers them with Keras.

    Called automatically once Keras is imported; call it yourself only if you replaced Keras' registry.
    """
    for name in _REGISTERING_MODULES:
        _importlib.import_module(name)


def load_model(path, safe_mode=True, compile=True):
    """Loads a `.keras` file written by coaudiotext (a run's `best.keras` or `weights/KEY.keras`).

    Args:
        path: str or path. The `.keras` file.
        safe_mode: bool. Keras' safe mode: refuses files that would run arbitrary code (`Lambda`
            layers). Defaults to True; keep it on for files you did not make.
        compile: bool. Restore the optimizer and loss too. Defaults to True.

    Returns:
        The `keras.Model`. The class names and feature settings training stored with it are read by
        `coaudiotext.predict.load_trained(path)`, which returns `(model, metadata)`.
    """
    import keras

    register_custom_objects()
    path = _os.fspath(path)
    if not _os.path.exists(path):
        raise FileNotFoundError(f"{path} does not exist. Train a model with `python -m coaudiotext.train` or use weights/KEY.keras.")
    return keras.saving.load_model(path, safe_mode=safe_mode, compile=compile)


class _RegisterAfterKeras(_importlib_abc.MetaPathFinder):
    """Runs `register_custom_objects` right after the first `import keras` (a post-import hook)."""

    def find_spec(self, name, path=None, target=None):
        if name != "keras":
            return None
        _sys.meta_path.remove(self)
        spec = _importlib_util.find_spec(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            register_custom_objects()

        spec.loader.exec_module = exec_module
        return spec


if "keras" in _sys.modules:
    register_custom_objects()
elif not any(isinstance(finder, _RegisterAfterKeras) for finder in _sys.meta_path):
    _sys.meta_path.insert(0, _RegisterAfterKeras())
