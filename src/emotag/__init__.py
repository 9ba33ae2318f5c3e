"""emotag: multi-label emotion classification for short social-media text.

Importing the package is cheap (no Keras, TensorFlow or NumPy), yet a saved
`model.keras` loads with plain `keras.models.load_model` after `import emotag`: the
custom layers and loss it names ("emotag>AdditiveAttentionPooling", ...) are
registered with Keras as soon as Keras itself is imported, before or after this package.
"""

import importlib
import sys
import warnings

__version__ = "0.1.0"

# Modules whose `@keras.saving.register_keras_serializable(package="emotag")` objects a
# saved model refers to. Imported by name, only once Keras is loaded: a static import
# would load Keras for every user of the package and reach past the stage order.
KERAS_OBJECT_MODULES = ("emotag.models.layers", "emotag.models.losses")


def register_keras_objects() -> None:
    """Registers with Keras every custom object a saved `model.keras` of this project names.

    Runs by itself once Keras is imported; calling it again does nothing new.
    """
    for name in KERAS_OBJECT_MODULES:
        importlib.import_module(name)


class _RegisterAfterKerasImport:  # a meta path finder (importlib.abc costs ~30 ms to import)
    """Import hook that calls `register_keras_objects` right after `keras` is imported.

    It finds `keras` through the other finders and wraps that spec's `exec_module`. Only
    running it counts (TensorFlow also looks Keras up without importing it); then the
    hook removes itself.
    """

    def find_spec(self, fullname, path, target=None):
        if fullname != "keras":
            return None
        for finder in sys.meta_path:
            if finder is not self and hasattr(finder, "find_spec"):
                spec = finder.find_spec(fullname, path, target)
                if spec is not None:
                    break
        else:
            return None
        if spec.loader is not None:
            exec_module = spec.loader.exec_module

            def exec_then_register(module):
                exec_module(module)
                if self in sys.meta_path:
                    sys.meta_path.remove(self)
                _register_or_warn()

            spec.loader.exec_module = exec_then_register
        return spec


def _register_or_warn() -> None:
    # A failure here must not break `import keras` for the user's own code.
    try:
        register_keras_objects()
    except Exception as err:  # noqa: BLE001
        warnings.warn(f"emotag could not register its Keras objects: {err!r}", stacklevel=2)


if "keras" in sys.modules:
    _register_or_warn()
elif not any(isinstance(f, _RegisterAfterKerasImport) for f in sys.meta_path):
    sys.meta_path.insert(0, _RegisterAfterKerasImport())
