"""Bad input never fails a batch: Predictor, the SavedModel, the CLI (batch scoring in
test_batch_predict.py)."""

from __future__ import annotations

import io
import json
import time

import numpy as np
import pytest

from emotag.text.inputs import MAX_TEXT_BYTES, MAX_TEXT_CHARS, coerce_text

MEGABYTE_TEXT = ("so happy today 😂 " * 70_000)[:1_000_000]
GOOD = {
    "empty": "",
    "whitespace": " \t  \u3000 ",
    "control": "a\x00b\x07c\x1b[31mred\x7f \u200b thanks",
    "megabyte": MEGABYTE_TEXT,
    "bytes_invalid_utf8": b"caf\xc3\xa9 \xff\xfe love it",
    "bytes_empty": b"",
}
BAD = {"none": None, "int": 42, "float": 3.5, "list": ["a list"], "dict": {"text": "hi"}}


def test_coerce_text():
    assert coerce_text("x" * (MAX_TEXT_CHARS + 5)) == "x" * MAX_TEXT_CHARS
    assert coerce_text(b"caf\xc3\xa9 \xff") == "café \ufffd"
    for item in BAD.values():
        with pytest.raises(TypeError, match="expected str or bytes"):
            coerce_text(item)


@pytest.fixture(scope="module")
def predictor(tiny_run_dir):
    from emotag.serving.predictor import Predictor

    return Predictor.load(tiny_run_dir, batch_size=4)  # small batches: the sorted path too


@pytest.mark.slow
def test_predictor_gives_each_item_a_result_or_its_own_error(predictor):
    items = [*GOOD.values(), *BAD.values(), "Thanks so much, I love it!"]
    started = time.perf_counter()
    predictions = predictor.predict(items, errors="skip")
    assert time.perf_counter() - started < 60  # the 1 MB text is cut before the graph
    assert len(predictions) == len(items)
    for name, prediction in zip([*GOOD, *BAD, "plain"], predictions):
        if name in BAD:
            assert prediction.error and "expected str or bytes" in prediction.error, name
            assert prediction.labels == [] and prediction.probabilities == {}
            assert "error" in prediction.to_json()
        else:
            assert prediction.error is None, name
            probs = np.array(list(prediction.probabilities.values()))
            assert probs.shape == (28,) and np.all((probs >= 0) & (probs <= 1)), name
    by_name = dict(zip([*GOOD, *BAD, "plain"], predictions))
    assert by_name["megabyte"].text == MEGABYTE_TEXT[:MAX_TEXT_CHARS]
    assert by_name["bytes_invalid_utf8"].text == "café \ufffd\ufffd love it"

    probs = predictor.predict_proba(items, errors="skip")
    bad_rows = [i for i, item in enumerate(items) if item in BAD.values()]
    assert np.isnan(probs[bad_rows]).all()
    assert not np.isnan(np.delete(probs, bad_rows, axis=0)).any()
    # A cut text scores like its first MAX_TEXT_CHARS characters.
    expected = predictor.predict_proba([MEGABYTE_TEXT[:MAX_TEXT_CHARS]])[0]
    np.testing.assert_allclose(probs[list(GOOD).index("megabyte")], expected, atol=1e-6)


@pytest.mark.slow
def test_predictor_raise_names_the_item(predictor):
    with pytest.raises(TypeError, match=r"text 2: expected str or bytes, got NoneType"):
        predictor.predict(["fine", "", None])
    (single,) = predictor.predict("one string")  # a single string is a list of one
    assert single.text == "one string"
    with pytest.raises(ValueError, match="errors must be"):
        predictor.predict(["x"], errors="ignore")


@pytest.mark.slow
def test_saved_model_clips_huge_texts_itself(tiny_run_dir):
    import tensorflow as tf

    model = tf.saved_model.load(str(tiny_run_dir / "saved_model"))
    model.serve(tf.constant(["warm up"]))
    started = time.perf_counter()
    full = model.serve(tf.constant([MEGABYTE_TEXT]))["probabilities"].numpy()
    assert time.perf_counter() - started < 30
    cut = MEGABYTE_TEXT.encode()[:MAX_TEXT_BYTES]
    np.testing.assert_allclose(
        full, model.serve(tf.constant([cut]))["probabilities"].numpy(), atol=1e-6
    )
    out = model.serve(tf.constant([b"\xff\xfe\x00", b"", b"   "]))["probabilities"].numpy()
    assert out.shape == (3, 28) and np.isfinite(out).all()


LINES = [
    b"I love it",
    b"bad \xff\xfe utf8",
    b"tab\tcarriage\rform\x0cfeed\xe2\x80\xa8sep",  # only \n ends a line
    b"",
    b"   ",
    MEGABYTE_TEXT.encode(),
    b"windows line\r",
    b"last line without newline",
]


@pytest.mark.slow
def test_cli_file_with_invalid_utf8_lines(tiny_run_dir, tmp_path):
    from emotag.commands.predict import InferenceConfig, run

    path = tmp_path / "texts.txt"
    path.write_bytes(b"\n".join(LINES))
    out = io.StringIO()
    run(InferenceConfig(model=str(tiny_run_dir), texts=[], file=str(path), json=True), out=out)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(records) == len(LINES)
    assert records[1]["text"] == "bad \ufffd\ufffd utf8"
    assert records[2]["text"] == "tab\tcarriage\rform\x0cfeed\u2028sep"
    assert records[5]["text"] == MEGABYTE_TEXT[:MAX_TEXT_CHARS]
    assert records[6]["text"] == "windows line"
    assert all("error" not in r and len(r["probabilities"]) == 28 for r in records)


@pytest.mark.slow
def test_cli_stdin_bytes(tiny_run_dir):
    from emotag.commands.predict import InferenceConfig, run

    stdin = io.TextIOWrapper(io.BytesIO(b"ok \xff\nsecond\n"), encoding="utf-8")
    out = io.StringIO()
    run(InferenceConfig(model=str(tiny_run_dir), texts=[], json=True), out=out, stdin=stdin)
    texts = [json.loads(line)["text"] for line in out.getvalue().splitlines()]
    assert texts == ["ok \ufffd", "second"]
