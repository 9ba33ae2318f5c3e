"""Bad input never fails a batch: Predictor, the SavedModel, the CLI (batch scoring in
test_batch_predict.py)."""

from __future__ import annotations

import io
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

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


# --- Issue 15: one bad-input walk through every entry point -----------------------------
# Each case reaches the Predictor, the CLI (a real `python -m emotag predict` process), the
# plain SavedModel in a process that never imports emotag, and the demo's API. The rule
# everywhere: a text is scored on what can be read of it (lone surrogates and invalid
# UTF-8 become U+FFFD; emotag.text.inputs), a non-text is that item's own error, and no
# item ever costs its neighbours their result.

CASES = {
    "lone_surrogate": "hello \ud83d world",
    "invalid_utf8": b"bad \xff\xfe utf8",
    "nul_ansi": "a\x00b \x1b[31mred\x1b[0m \x9b2J \x07bell",
    "empty": "",
    "whitespace": " \t  \u3000 ",
    "megabyte": MEGABYTE_TEXT,
    "emoji_only": "😂😂🔥",
    "rtl": "أنا سعيد جدا، شكرا لك שלום",
    "zero_width_joiners": "family 👨\u200d👩\u200d👧 e\u200bmoji\u200d thanks",
    "none": None,
    "int": 42,
}
NOT_TEXT = ("none", "int")
# What each case is scored as (None: an error for that item).
AS_SCORED = {
    **{name: item for name, item in CASES.items() if isinstance(item, str)},
    "lone_surrogate": "hello \ufffd world",
    "invalid_utf8": "bad \ufffd\ufffd utf8",
    "megabyte": MEGABYTE_TEXT[:MAX_TEXT_CHARS],
    "none": None,
    "int": None,
}
NEIGHBOUR = "Thanks so much, I love it!"


def test_surrogates_become_replacement_characters():
    from emotag.text.inputs import replace_surrogates

    assert coerce_text("hello \ud83d world") == "hello \ufffd world"  # lone high
    assert coerce_text("\ude00 x \udcff") == "\ufffd x \ufffd"  # lone low, surrogateescape
    assert coerce_text("pair \ud83d\ude02") == "pair 😂"  # a UTF-16 pair is its character
    assert coerce_text("ab\ud83d\ude02", max_chars=3) == "ab\ufffd"  # a pair cut in two
    plain = "no surrogates here 😂"
    assert replace_surrogates(plain) is plain
    for case, text in AS_SCORED.items():
        if text is not None:
            text.encode("utf-8")  # every scored text is encodable (tf.constant accepts it)
            assert coerce_text(CASES[case]) == text, case


def test_argv_text_reads_invalid_utf8_as_a_file_line_would():
    from emotag.commands.predict import split_lines
    from emotag.text.inputs import argv_text

    raw = b"caf\xc3\xa9 \xff\xfe \xe2\x82 end"  # valid, two bad bytes, a cut 3-byte sequence
    arg = raw.decode("utf-8", "surrogateescape")  # what Python puts in sys.argv
    assert argv_text(arg) == split_lines(raw)[0] == "café \ufffd\ufffd \ufffd end"
    assert argv_text("plain 😂 text") == "plain 😂 text"
    assert argv_text("\ud83d") == "\ud83d"  # not from argv: left to coerce_text


def test_printable_escapes_controls_and_keeps_every_other_character():
    from emotag.text.inputs import printable

    assert printable("a\x00b\x1b[31mred\x1b[0m\x07") == "a\\x00b\\x1b[31mred\\x1b[0m\\x07"
    assert printable("c1 \x9b2J \x85 del\x7f") == "c1 \\x9b2J \\x85 del\\x7f"
    assert printable("two\nlines\r") == "two\\nlines\\r"
    keep = "tab\there " + CASES["rtl"] + CASES["zero_width_joiners"] + "\u3000😂 \\x1b"
    assert printable(keep) == keep


def test_predictor_checks_its_arguments_before_loading_anything():
    from emotag.serving.predictor import Predictor, check_threshold

    for bad in (0, -3, 2.5, True, "8"):
        with pytest.raises(ValueError, match=f"batch_size must be a positive integer, got {bad!r}"):
            Predictor("/nonexistent/run", batch_size=bad)
    with pytest.raises(ValueError, match="max_chars must be a positive integer, got 0"):
        Predictor("/nonexistent/run", max_chars=0)
    for bad in (float("nan"), 5.0, -0.1, float("inf"), True, "0.5"):
        with pytest.raises(ValueError, match=r"threshold must be None or a number in \[0, 1\]"):
            check_threshold(bad)
    for good in (None, 0, 0.3, 1.0, np.float32(0.5)):
        check_threshold(good)


@pytest.mark.slow
def test_every_case_through_the_predictor(predictor):
    items = [NEIGHBOUR, *CASES.values(), NEIGHBOUR]
    predictions = predictor.predict(items, errors="skip")
    assert len(predictions) == len(items)
    alone = predictor.predict_proba([NEIGHBOUR])[0]
    for prediction in (predictions[0], predictions[-1]):  # the neighbours lose nothing
        assert prediction.error is None
        probs = np.array(list(prediction.probabilities.values()))
        np.testing.assert_allclose(probs, alone, atol=1e-6)
    for (case, item), prediction in zip(CASES.items(), predictions[1:-1]):
        expected = AS_SCORED[case]
        if expected is None:
            assert prediction.error == f"expected str or bytes, got {type(item).__name__}"
            with pytest.raises(TypeError, match="text 1: expected str or bytes"):
                predictor.predict([NEIGHBOUR, item])  # errors="raise" names the item
            continue
        assert prediction.error is None and prediction.text == expected, case
        # Scored as its readable form, alone or in a batch (rows are independent).
        probs = np.array(list(prediction.probabilities.values()))
        np.testing.assert_allclose(probs, predictor.predict_proba([expected])[0], atol=1e-6)
        assert predictor.predict(item)[0].text == expected  # errors="raise" scores it too


@pytest.mark.slow
def test_predictor_refuses_a_threshold_that_would_silently_predict_nothing(predictor):
    for bad in (float("nan"), 5.0, -1.0):
        with pytest.raises(ValueError, match=r"threshold must be None or a number in \[0, 1\]"):
            predictor.predict([NEIGHBOUR], threshold=bad)
        with pytest.raises(ValueError, match="threshold must be"):
            predictor.classify([NEIGHBOUR], threshold=bad)
    # The ends of [0, 1] are accepted: 0 lets every label fire.
    assert sorted(predictor.predict([NEIGHBOUR], threshold=0.0)[0].labels) == sorted(
        predictor.label_names
    )
    assert predictor.predict([NEIGHBOUR], threshold=1.0)[0].error is None


class ExplainSpy:
    """Wraps a SavedModel, recording the batch size of every `explain` call."""

    def __init__(self, model):
        self._model = model  # keeps the SavedModel alive: its functions need its variables
        self.batches: list[int] = []

    def __getattr__(self, name):
        return getattr(self._model, name)

    def explain(self, texts):
        self.batches.append(int(texts.shape[0]))
        return self._model.explain(texts)


@pytest.mark.slow
def test_explain_goes_through_the_model_in_batches(tiny_run_dir):
    from emotag.serving.predictor import Predictor

    predictor = Predictor.load(tiny_run_dir, batch_size=4)
    expected = predictor.explain(["thanks a lot", "why", "love it haha"])
    predictor.model = spy = ExplainSpy(predictor.model)
    texts = ["thanks a lot", "why", "love it haha"] * 3 + ["sorry"]  # 10 texts
    explained = predictor.explain(texts)
    assert spy.batches == [4, 4, 2]  # was [10]: one call for the whole input
    assert explained[:3] == explained[3:6] == explained[6:9] == expected
    assert [t for t, _ in explained[9]] == ["sorry"]
    spy.batches.clear()
    explained = predictor.explain([None, "why", CASES["lone_surrogate"], 42], errors="skip")
    assert spy.batches == [2] and explained[0] == explained[3] == []
    assert explained[1] == expected[1] and explained[2]  # the lone surrogate has tokens
    with pytest.raises(TypeError, match="text 0: expected str or bytes, got NoneType"):
        predictor.explain([None])
    assert predictor.explain([]) == [] and spy.batches == [2]


def run_cli(*args: bytes | str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """`python -m emotag predict ARGS` in its own process; arguments may be raw bytes."""
    argv = [sys.executable, "-m", "emotag", "predict", *args]
    argv = [a if isinstance(a, bytes) else a.encode("utf-8", "surrogatepass") for a in argv]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "LC_ALL": "C.UTF-8"}
    return subprocess.run(argv, input=stdin, capture_output=True, env=env, timeout=600)


@pytest.mark.slow
def test_every_case_through_the_cli(tiny_run_dir):
    # Arguments: what a command line can hold (no NUL, at most 128 KiB per argument).
    in_argv = [name for name in AS_SCORED if AS_SCORED[name] is not None]
    in_argv = [name for name in in_argv if name not in ("nul_ansi", "megabyte")]
    args = [CASES[name] for name in in_argv]
    done = run_cli("--model", str(tiny_run_dir), NEIGHBOUR, *args, "--json")
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    records = [json.loads(line) for line in done.stdout.decode().splitlines()]
    expected = [NEIGHBOUR, *(AS_SCORED[name] for name in in_argv)]
    # The lone surrogate travels as its three UTF-8-style bytes, each one invalid.
    expected[1 + in_argv.index("lone_surrogate")] = "hello \ufffd\ufffd\ufffd world"
    assert [r["text"] for r in records] == expected
    assert all("error" not in r and len(r["probabilities"]) == 28 for r in records)

    # Standard input: NUL, ANSI and C1 controls, the 1 MB line, and invalid UTF-8.
    lines = [NEIGHBOUR, CASES["nul_ansi"], MEGABYTE_TEXT, "bad \udcff\udcfe utf8"]
    stdin = b"\n".join(line.encode("utf-8", "surrogateescape") for line in lines) + b"\n"
    text_out = run_cli("--model", str(tiny_run_dir), stdin=stdin)
    json_out = run_cli("--model", str(tiny_run_dir), "--json", stdin=stdin)
    assert text_out.returncode == json_out.returncode == 0
    shown = text_out.stdout.decode().splitlines()[::2]  # each text, then its "  -> ..." line
    assert shown == [
        NEIGHBOUR,
        "a\\x00b \\x1b[31mred\\x1b[0m \\x9b2J \\x07bell",
        MEGABYTE_TEXT[:MAX_TEXT_CHARS],
        "bad \ufffd\ufffd utf8",
    ]
    assert not any(0 <= b < 0x20 and b not in b"\t\n" for b in text_out.stdout)  # no raw C0
    assert "\x9b" not in text_out.stdout.decode()  # nor C1
    texts = [json.loads(line)["text"] for line in json_out.stdout.decode().splitlines()]
    assert texts == [NEIGHBOUR, CASES["nul_ansi"], *shown[2:]]  # JSON: the exact text

    done = run_cli("--model", str(tiny_run_dir), "--batch-size", "0", NEIGHBOUR)
    assert done.returncode == 2 and b"must be a positive integer" in done.stderr


@pytest.mark.slow
def test_every_case_through_the_saved_model_in_a_fresh_process(tiny_run_dir, predictor):
    from conftest import serve_in_fresh_process

    # A client outside Python sends bytes: a lone surrogate arrives as the invalid
    # UTF-8 its encoder produced (CESU-8 style), which the graph decodes with U+FFFD.
    sent = {
        name: item.encode("utf-8", "surrogatepass") if isinstance(item, str) else item
        for name, item in CASES.items()
        if name not in NOT_TEXT
    }
    served = serve_in_fresh_process(tiny_run_dir / "saved_model", [NEIGHBOUR, *sent.values()])
    probs = np.array(served["probabilities"])
    assert probs.shape == (1 + len(sent), 28) and np.isfinite(probs).all()
    assert ((probs >= 0) & (probs <= 1)).all()
    # Valid UTF-8 texts score in the plain SavedModel as through the Predictor.
    valid = [i for i, item in enumerate(sent.values(), start=1) if _is_utf8(item)]
    texts = [NEIGHBOUR] + [list(sent.values())[i - 1].decode() for i in valid]
    np.testing.assert_allclose(probs[[0, *valid]], predictor.predict_proba(texts), atol=1e-5)
    # A non-text cannot even be sent: the signature takes tf.string only.
    import tensorflow as tf

    model = tf.saved_model.load(str(tiny_run_dir / "saved_model"))
    with pytest.raises(tf.errors.InvalidArgumentError, match="expected to be a string tensor"):
        model.signatures["serving_default"](text=tf.constant([42]))


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@pytest.mark.slow
def test_every_case_through_the_demo(predictor):
    from emotag.app.ui import GLOBAL, PER_CLASS, analyse

    for case, item in CASES.items():
        if case == "invalid_utf8":
            item = item.decode("utf-8", "surrogateescape")  # the only way a str carries it
        result = analyse(predictor, item, PER_CLASS)
        if case in ("empty", "whitespace", "none"):
            assert result.details["error"].startswith("Type or paste"), case
        elif case == "megabyte":
            assert "limit is 2,000" in result.details["error"]
        elif case == "int":
            assert result.details == {"error": "Expected a text, got int."}
            assert "emotag-error" in result.chips
        else:
            assert "error" not in result.details, case
            expected = predictor.predict([item])[0]
            assert result.details["labels"] == expected.labels, case
            assert "emotag-token" in result.heatmap, case
    for bad in (float("nan"), 5.0, "x", None):
        result = analyse(predictor, NEIGHBOUR, GLOBAL, global_threshold=bad)
        assert result.details["error"].startswith("The global threshold must be a number")
        assert result.figure is None


def call_api(url: str, *inputs) -> list:
    """One call of the demo's /predict endpoint over plain HTTP, as a client in any
    language makes it; returns the outputs, or raises naming Gradio's error event.

    Not gradio_client: httpx encodes JSON as UTF-8 and so cannot send a lone surrogate,
    which JSON itself carries as "\\ud83d" (json.dumps escapes it).
    """
    body = json.dumps({"data": list(inputs)}).encode()
    request = urllib.request.Request(
        url + "gradio_api/call/predict", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        event_id = json.load(response)["event_id"]
    with urllib.request.urlopen(f"{url}gradio_api/call/predict/{event_id}", timeout=120) as r:
        stream = r.read().decode()
    event, data = re.search(r"event: (\w+)\ndata: (.*)", stream).groups()
    assert event == "complete", f"the API answered {event}: {data}"
    return json.loads(data)


@pytest.mark.slow
def test_the_demo_api_scores_a_lone_surrogate_sent_as_json(predictor):
    from emotag.app.ui import GLOBAL, PER_CLASS, build_app, launch

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo = build_app({"tiny": predictor})
    launch(demo, "127.0.0.1", port, share=False, block=False)
    url = f"http://127.0.0.1:{port}/"
    try:
        # Before issue 15 this request failed as a whole ("event: error").
        _, _, heat, details = call_api(url, "tiny", CASES["lone_surrogate"], PER_CLASS, 0.5)
        assert details["labels"] == predictor.predict([AS_SCORED["lone_surrogate"]])[0].labels
        assert "emotag-token" in heat
        _, _, _, details = call_api(url, "tiny", 42, PER_CLASS, 0.5)
        assert details["labels"] == predictor.predict(["42"])[0].labels  # the Textbox: "42"
        _, plot, _, details = call_api(url, "tiny", NEIGHBOUR, GLOBAL, float("nan"))
        assert details["error"].startswith("The global threshold must be") and plot is None
    finally:
        demo.close()


def test_predict_names_the_bad_file_of_a_run_and_exits_1(tmp_path, capsys):
    from emotag import cli

    assert cli.main(["predict", "--model", str(tmp_path / "missing"), "hi"]) == 1
    assert f"emotag predict: error: {tmp_path / 'missing'} is not a directory" in (
        capsys.readouterr().err
    )
    run_dir = tmp_path / "run"
    (run_dir / "saved_model").mkdir(parents=True)
    np.save(run_dir / "per_class_thresholds.npy", np.float32([0.5, 0.5]))
    (run_dir / "labels.txt").write_text("joy\nanger\n")
    (run_dir / "thresholds.json").write_text('{"global_threshold": NaN}')  # as json writes it
    assert cli.main(["predict", "--model", str(run_dir), "hi"]) == 1
    err = capsys.readouterr().err
    assert f'{run_dir / "thresholds.json"}: "global_threshold" must be a number' in err
    assert "Traceback" not in err
