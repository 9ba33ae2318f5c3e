"""src/batch_predict.py end to end on a few thousand lines, DirectRunner engine in-process."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

BAD_LINES = [
    b"", b"   ", b"bad \xff\xfe utf8", b"ctrl\x00\x07\x1b\x0c\r", "x" * 50_000,
    "line\u2028separator\u0085next",  # str.splitlines would split these
]


def _lines(n: int) -> list[bytes]:
    root = os.environ.get("GOEMOTIONS_DIR")
    if root and (Path(root) / "dev.tsv").exists():
        rows = (Path(root) / "dev.tsv").read_bytes().splitlines()
        texts = [row.split(b"\t")[0] for row in rows]
    else:  # the tiny fixture's vocabulary, repeated
        texts = [b"Thanks so much, I love it!", b"why is this so sad", b"haha lol wow"]
    lines = [texts[i % len(texts)] for i in range(n)]
    for k, bad in enumerate(BAD_LINES):  # spread the bad lines through the file
        lines[(k + 1) * n // (len(BAD_LINES) + 1)] = bad if isinstance(bad, bytes) else bad.encode()
    return lines


def test_batch_predict_matches_predictor(tiny_run_dir, tmp_path):
    from emotag.serving.batch import run
    from emotag.serving.predictor import Predictor

    lines = _lines(3000)
    source = tmp_path / "texts.txt"
    source.write_bytes(b"\n".join(lines) + b"\n")
    output = tmp_path / "predictions.jsonl"
    count = run(
        ["--model", str(tiny_run_dir), "--input", str(source), "--output", str(output),
         "--max-batch", "256"]
    )  # fmt: skip
    records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert count == len(records) == len(lines)
    assert [r["line"] for r in records] == list(range(1, len(lines) + 1))

    # As the reader does: a final "\r" (Windows line end) dropped, bad UTF-8 replaced.
    texts = [line.removesuffix(b"\r").decode("utf-8", errors="replace") for line in lines]
    expected = Predictor.load(tiny_run_dir).predict(texts, errors="skip")
    assert [r["text"] for r in records] == [p.text for p in expected]
    assert all("error" not in r for r in records)
    names = list(expected[0].probabilities)
    got = np.array([[r["probabilities"][k] for k in names] for r in records])
    want = np.array([[p.probabilities[k] for k in names] for p in expected])
    np.testing.assert_allclose(got, want, atol=1.5e-4)  # records round to 4 decimals
    agree = np.mean([r["labels"] == p.labels for r, p in zip(records, expected)])
    assert agree > 0.99  # a probability within rounding of its threshold may flip


def test_model_handler_records_bad_items():
    from emotag.serving.batch import EmotagModelHandler

    class FakePredictor:
        def predict(self, texts, threshold=None, errors="raise"):
            from emotag.serving.predictor import Prediction

            assert errors == "skip"
            return [Prediction(t if isinstance(t, str) else "", [], {}, None if isinstance(t, str)
                               else "expected str or bytes") for t in texts]  # fmt: skip

    handler = EmotagModelHandler("unused")
    results = list(handler.run_inference(["ok", None, 3], FakePredictor()))
    assert [r.example for r in results] == ["ok", None, 3]
    assert [("error" in r.inference) for r in results] == [False, True, True]
    assert handler.batch_elements_kwargs() == {"min_batch_size": 32, "max_batch_size": 512}


def test_ids_errors_order_and_counters_on_2000_lines(tiny_run_dir, tmp_path, monkeypatch, caplog):
    import logging

    from emotag.serving.batch import parse_args, score_file
    from emotag.serving.predictor import Predictor

    texts, lines = _lines(2000), []
    for n in range(1, 2001):
        if n % 250 == 10:
            lines.append(b"a line without an id")  # 8 such lines
        elif n == 777:
            lines.append(b"id777\tPOISON")  # the predictor fails on it, and its batch with it
        else:
            lines.append(f"id{n}\t".encode() + texts[n - 1])
    source = tmp_path / "texts.tsv"
    source.write_bytes(b"\n".join(lines) + b"\n")

    predict = Predictor.predict

    def failing_on_poison(self, texts, *args, **kwargs):
        if "POISON" in texts:
            raise ValueError("poisoned batch")
        return predict(self, texts, *args, **kwargs)

    monkeypatch.setattr(Predictor, "predict", failing_on_poison)
    output = tmp_path / "out.jsonl"
    config, beam_args = parse_args([
        "--model", str(tiny_run_dir), "--input", str(source), "--output", str(output),
        "--with-ids", "--progress-every", "500",
    ])  # fmt: skip
    with caplog.at_level(logging.INFO, logger="batch_predict"):
        result = score_file(config, beam_args)

    records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert (result.records, result.lines, result.errors) == (2000, 2000, 9)
    assert [r["line"] for r in records] == list(range(1, 2001))  # input order
    no_id = {n for n in range(1, 2001) if n % 250 == 10}
    assert [r["id"] for r in records] == [None if n in no_id else f"id{n}" for n in range(1, 2001)]
    errors = {r["line"]: r["error"] for r in records if "error" in r}
    assert set(errors) == no_id | {777}
    assert errors[777] == "ValueError: poisoned batch" and records[776]["text"] == "POISON"
    assert errors[10] == "no tab: expected id<TAB>text"
    assert all(len(r["probabilities"]) == 28 for r in records if "error" not in r)  # scored
    progress = [r.getMessage() for r in caplog.records if "lines scored (" in r.getMessage()]
    assert [m.split(" lines")[0] for m in progress] == ["500", "1,000", "1,500", "2,000"]
    assert not [p.name for p in tmp_path.iterdir() if ".shards" in p.name]


def test_missing_input_model_or_output_directory_is_refused_before_the_pipeline(
    tiny_run_dir, tmp_path, monkeypatch
):
    import apache_beam as beam

    from emotag.runs.layout import NotARunError
    from emotag.serving.batch import parse_args, score_file

    def no_pipeline(*args, **kwargs):
        raise AssertionError("the pipeline was built")

    monkeypatch.setattr(beam, "Pipeline", no_pipeline)
    source = tmp_path / "texts.txt"
    source.write_text("thanks\n", encoding="utf-8")
    output = tmp_path / "out.jsonl"

    def job(model, input_, out):
        return score_file(*parse_args(["--model", str(model), "--input", str(input_),
                                       "--output", str(out)]))  # fmt: skip

    with pytest.raises(FileNotFoundError, match=r"--input .*missing\.txt: no such file"):
        job(tiny_run_dir, tmp_path / "missing.txt", output)
    with pytest.raises(FileNotFoundError, match=r"--input .*\*\.tsv: no such file \(or no match"):
        job(tiny_run_dir, tmp_path / "*.tsv", output)
    with pytest.raises(NotARunError, match="is not a directory"):
        job(tmp_path / "no-run", source, output)
    with pytest.raises(FileNotFoundError, match=r"--output .*: no directory .*nodir"):
        job(tiny_run_dir, source, tmp_path / "nodir" / "out.jsonl")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["texts.txt"]  # nothing left behind
