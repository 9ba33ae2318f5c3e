"""`import emotag`: cheap for data-only users, and enough for `keras.models.load_model` to
read a run's model.keras, including files written under the old module layout."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest

# The names saved models refer to; changing one breaks every existing model.keras.
REGISTERED = {
    "emotag>AdditiveAttentionPooling",
    "emotag>MaskedGlobalMaxPooling1D",
    "emotag>ClassBalancedFocalLoss",
}
# Where the classes lived when older files were written: the flat package before the
# pipeline-stage layout, and training/ before the loss moved to the models stage.
OLD_MODULES = [
    {"AdditiveAttentionPooling": "emotag.layers", "MaskedGlobalMaxPooling1D": "emotag.layers",
     "ClassBalancedFocalLoss": "emotag.losses"},
    {"AdditiveAttentionPooling": "emotag.models.layers",
     "MaskedGlobalMaxPooling1D": "emotag.models.layers",
     "ClassBalancedFocalLoss": "emotag.training.losses"},
]  # fmt: skip
TOKENS = [[3, 4, 5, 0, 0], [6, 7, 8, 9, 1]]


def run_python(script: str, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip().splitlines()[-1]


def test_import_emotag_loads_neither_keras_nor_tensorflow():
    loaded = run_python(
        "import json, sys\nimport emotag\n"
        "print(json.dumps([m for m in ('keras', 'tensorflow', 'numpy') if m in sys.modules]))"
    )
    assert json.loads(loaded) == []


def rewrite_modules(config, modules: dict[str, str]) -> set[str]:
    """Sets `module` of every emotag object in a saved config; returns their registered names."""
    found = set()
    if isinstance(config, dict):
        if str(config.get("registered_name", "")).startswith("emotag>"):
            found.add(config["registered_name"])
            config["module"] = modules[config["class_name"]]
        for value in config.values():
            found |= rewrite_modules(value, modules)
    elif isinstance(config, list):
        for value in config:
            found |= rewrite_modules(value, modules)
    return found


def save_model_with_old_modules(path, modules: dict[str, str]) -> np.ndarray:
    """A compiled model using every registered object, saved as if by an older layout.

    Returns:
        Its probabilities for TOKENS, to compare the reloaded model with.
    """
    import keras

    from emotag.models.layers import AdditiveAttentionPooling, MaskedGlobalMaxPooling1D
    from emotag.training.losses import make_loss

    keras.utils.set_random_seed(0)
    ids = keras.Input((None,), dtype="int32")
    h = keras.layers.Embedding(10, 4, mask_zero=True)(ids)
    h = keras.layers.Bidirectional(keras.layers.LSTM(3, return_sequences=True))(h)
    pooled, _ = AdditiveAttentionPooling(units=5, name="attention")(h)
    both = keras.layers.Concatenate()([pooled, MaskedGlobalMaxPooling1D()(h)])
    model = keras.Model(ids, keras.layers.Dense(3, activation="sigmoid")(both))
    model.compile(optimizer="adam", loss=make_loss("cb_focal", class_counts=[5, 1, 0]))
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(files["config.json"])
    assert rewrite_modules(config, modules) == REGISTERED
    files["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return model.predict(np.array(TOKENS), verbose=0)


LOAD = (
    "import json, sys\n"
    "{imports}\n"
    "import keras, numpy as np\n"
    "model = keras.models.load_model(sys.argv[1])\n"
    "assert type(model.loss).__name__ == 'ClassBalancedFocalLoss'\n"
    "assert not [m for m in sys.modules if m.startswith('emotag.training')]\n"
    "print(json.dumps(model.predict(np.array(json.loads(sys.argv[2])), verbose=0).tolist()))\n"
)


@pytest.mark.slow
@pytest.mark.parametrize(
    "modules, imports",
    [
        (OLD_MODULES[0], "import emotag"),
        (OLD_MODULES[0], "import keras\nimport emotag"),  # Keras first: registered at once
        (OLD_MODULES[0], "import emotag, tensorflow"),  # TensorFlow imports Keras itself
        (OLD_MODULES[1], "import emotag"),
    ],
    ids=["flat-layout", "keras-first", "tensorflow-first", "loss-in-training"],
)
def test_model_keras_loads_after_only_import_emotag(tmp_path, modules, imports):
    path = tmp_path / "model.keras"
    expected = save_model_with_old_modules(path, modules)
    out = run_python(LOAD.format(imports=imports), str(path), json.dumps(TOKENS))
    np.testing.assert_allclose(json.loads(out), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_without_emotag_keras_cannot_find_the_objects(tmp_path):
    """The check above can fail: without the package, the same file does not load."""
    path = tmp_path / "model.keras"
    save_model_with_old_modules(path, OLD_MODULES[0])
    script = (
        "import sys, keras\n"
        "try:\n    keras.models.load_model(sys.argv[1])\nexcept TypeError as err:\n"
        "    print('refused' if 'emotag>' in str(err) or 'Could not locate' in str(err) else err)\n"
        "else:\n    print('loaded')\n"
    )
    assert run_python(script, str(path)) == "refused"
