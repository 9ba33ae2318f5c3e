"""Shared fixtures: a tiny GoEmotions-format dataset written per test session, a local
HTTP file server for download tests, and a fresh-process serving helper."""

from __future__ import annotations

import http.server
import json
import random
import shutil
import threading
from pathlib import Path

import pytest

LABELS = (
    "admiration amusement anger annoyance approval caring confusion curiosity desire "
    "disappointment disapproval disgust embarrassment excitement fear gratitude grief joy "
    "love nervousness optimism pride realization relief remorse sadness surprise neutral"
).split()

# Word -> label id, so the tiny data has a learnable signal.
CUES = {
    "thanks": 15, "thank": 15, "love": 18, "haha": 1, "lol": 1, "angry": 2, "hate": 2,
    "wow": 26, "why": 7, "sorry": 24, "sad": 25, "scared": 14, "great": 0, "yes": 4,
}  # fmt: skip
FILLER = "the a it this that is was so very really just okay today he she we [NAME]".split()


def write_tiny_goemotions(root: Path, sizes=(160, 48, 48), seed: int = 0) -> Path:
    """Writes train/dev/test.tsv and emotions.txt in the official format."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    (root / "emotions.txt").write_text("\n".join(LABELS) + "\n")
    cue_words = list(CUES)
    for split, n in zip(("train", "dev", "test"), sizes):
        lines = []
        for i in range(n):
            words = rng.sample(FILLER, 4)
            label_ids = set()
            for _ in range(rng.choice([0, 1, 1, 2])):
                cue = rng.choice(cue_words)
                words.insert(rng.randrange(len(words) + 1), cue)
                label_ids.add(CUES[cue])
            ids = ",".join(str(j) for j in sorted(label_ids)) or "27"
            text = " ".join(words).capitalize() + rng.choice(["!", ".", " 😂", "?"])
            lines.append(f"{text}\t{ids}\t{split}{i}")
        (root / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory) -> Path:
    return write_tiny_goemotions(tmp_path_factory.mktemp("goemotions"))


def train_tiny_run(data_dir: Path, output_dir: Path, run_name: str = "tiny", **overrides) -> Path:
    """One epoch of a very small BiLSTM on the tiny data: a complete run directory.

    `overrides`: other `TrainConfig` fields (e.g. `embeddings`)."""
    from emotag.training.bilstm import TrainConfig, train

    settings = dict(
        embeddings="random",
        embedding_dim=16,
        epochs=1,
        lstm_units=8,
        attention_units=8,
        batch_size=16,
        min_count=1,
        verbose=0,
    )
    config = TrainConfig(
        data_dir=str(data_dir),
        output_dir=str(output_dir),
        run_name=run_name,
        **{**settings, **overrides},
    )
    return train(config)


@pytest.fixture(scope="session")
def tiny_run_dir(tiny_data_dir, tmp_path_factory) -> Path:
    """One tiny trained run shared by every test file of the session (trained on first use).

    Tests may add files to it (evaluations, model cards) but must not remove or
    rewrite what training wrote.
    """
    return train_tiny_run(tiny_data_dir, tmp_path_factory.mktemp("artifacts"))


def serve_in_fresh_process(saved_model, texts, extra_imports=()) -> dict:
    """Calls a SavedModel's serving_default in a new interpreter that imports only TensorFlow.

    Args:
        saved_model: the SavedModel directory.
        texts: strings or bytes to serve (bytes reach the model as they are, e.g.
            invalid UTF-8, as a client in another language may send them).
        extra_imports: further modules the model's ops need (e.g. "tensorflow_text").

    Returns:
        {"names": label names, "probabilities": ..., "labels": ...} as nested lists.
    """
    import json
    import subprocess
    import sys

    imports = "".join(f"import {name}\n" for name in extra_imports)
    script = (
        "import json, sys\n"
        "import tensorflow as tf\n"
        f"{imports}"
        "m = tf.saved_model.load(sys.argv[1])\n"
        "texts, raw = json.loads(sys.stdin.read())\n"
        "texts = [t.encode('latin-1') if i in raw else t for i, t in enumerate(texts)]\n"
        "out = m.signatures['serving_default'](text=tf.constant(texts))\n"
        "names = [n.decode() for n in m.label_names().numpy()]\n"
        "assert not any(k.startswith(('emotag', 'keras_hub')) for k in sys.modules)\n"
        "print(json.dumps({'names': names, **{k: v.numpy().tolist() for k, v in out.items()}}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(saved_model)],
        # JSON carries no bytes: they travel as latin-1 text, one character per byte.
        input=json.dumps(
            [
                [t.decode("latin-1") if isinstance(t, bytes) else t for t in texts],
                [i for i, t in enumerate(texts) if isinstance(t, bytes)],
            ]
        ),
        capture_output=True,
        text=True,
        timeout=300,
        cwd="/",
        env={"PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- a local HTTP file server for download tests ---------------------------------------


class RangeServer(http.server.ThreadingHTTPServer):
    """Serves ``files`` by path; records Range headers; can ignore Range or cut a response."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), RangeHandler)
        self.files: dict[str, bytes] = {}
        self.honor_range = True
        self.cut_next_after: int | None = None  # send only this many body bytes once
        self.send_length = True  # False: no Content-Length, body ends at connection close
        self.ranges: list[str | None] = []
        self.bytes_sent = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


class RangeHandler(http.server.BaseHTTPRequestHandler):
    server: RangeServer

    def do_GET(self):
        srv = self.server
        data = srv.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        range_header = self.headers.get("Range")
        srv.ranges.append(range_header)
        start = 0
        if range_header and srv.honor_range:
            start = int(range_header.removeprefix("bytes=").split("-")[0])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        if srv.send_length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if srv.cut_next_after is not None:
            body, srv.cut_next_after = body[: srv.cut_next_after], None
        # Counted before writing: the client may return before this thread runs again.
        srv.bytes_sent += len(body)
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = RangeServer()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def cross_fit_copy(run_dir, where, held_ids):
    """A copy of `run_dir` whose train_config.json says it was trained without `held_ids`."""
    shutil.copytree(run_dir, where)
    ids_file = where.parent / f"{where.name}-held.txt"
    ids_file.write_text("# held out\n" + "\n".join(held_ids) + "\n")
    config = json.loads((where / "train_config.json").read_text())
    (where / "train_config.json").write_text(json.dumps({**config, "exclude_ids": str(ids_file)}))
    return where
