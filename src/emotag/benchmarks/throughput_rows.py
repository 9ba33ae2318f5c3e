"""What the throughput benchmark times: one row per way of scoring texts.

Every row is built once (model loaded, traced and warmed up) and then `measure()`d in
rounds by `emotag.benchmarks.throughput`: a `Predictor` (the API the CLI and batch
scoring use), Keras `model.predict` on padded ids (the reference), and the network
alone on length-sorted ids, with and without XLA.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import tensorflow as tf

from emotag.runs import layout
from emotag.serving.predictor import Predictor

REQUEST_SIZES = (1, 32, 256)


class Timer:
    """Wall and process time of one block."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def sample_size(rate: float, size: int, seconds: float, available: int) -> int:
    """Texts to time: about `seconds` worth at `rate`, whole requests, within the data."""
    n = int(rate * seconds) // size * size
    return max(size, min(n, available // size * size))


def request_figures(request, bulk, rate: float, available: int, args, latency_cap: int,
                    single_rate: float | None = None) -> dict:  # fmt: skip
    """Texts/s (wall and per CPU-second) of one row.

    Args:
        request: `request(start, size)` scores texts start..start+size as one request.
        bulk: `bulk(n)` scores the first n texts in one call, as the row batches them.
        rate: a rough texts/s of the row, to size the samples to about `args.seconds`.
        available: texts there are.
        latency_cap: at most this many single-text requests (p50 / p99 latency).
        single_rate: the rough rate of single-text requests when far below `rate`.

    Returns:
        {"b1", "b32", "b256", "bulk"} texts/s, each also "_per_cpu_s", and p50/p99 ms.
    """
    out = {}
    for size in REQUEST_SIZES:
        n = sample_size(single_rate if size == 1 and single_rate else rate, size,
                        args.seconds, available)  # fmt: skip
        if size == 1:
            n = min(n, latency_cap)
        latencies = []
        with Timer() as total:
            for start in range(0, n, size):
                t0 = time.perf_counter()
                request(start, size)
                latencies.append(time.perf_counter() - t0)
        out[f"b{size}"] = n / total.wall
        out[f"b{size}_per_cpu_s"] = n / max(total.cpu, 1e-9)
        if size == 1:
            out["p50_ms"] = 1000 * float(np.percentile(latencies, 50))
            out["p99_ms"] = 1000 * float(np.percentile(latencies, 99))
    n = sample_size(rate, 256, args.seconds, available)
    with Timer() as total:
        bulk(n)
    out["bulk"] = n / total.wall
    out["bulk_per_cpu_s"] = n / max(total.cpu, 1e-9)
    return out


class PredictorRow:
    """Requests of 1/32/256 texts and one bulk call through a `Predictor`."""

    def __init__(self, name: str, predictor: Predictor, texts: list[str], args):
        self.name, self.predictor, self.texts, self.args = name, predictor, texts, args
        predictor.predict_proba(texts[:256])  # trace / warm up
        predictor.predict_proba(texts[:1])
        with Timer() as t:
            predictor.predict_proba(texts[:256])
        self.rate = 256 / t.wall

    def measure(self) -> dict:
        texts, predict = self.texts, self.predictor.predict_proba
        return request_figures(
            lambda start, size: predict(texts[start : start + size]),
            lambda n: predict(texts[:n]),
            self.rate, len(texts), self.args, self.args.latency_texts,
        )  # fmt: skip


class NaiveKerasRow:
    """The reference: `model.predict` of model.keras on ids padded to max_len."""

    def __init__(self, name: str, run_dir: Path, texts: list[str], args):
        import keras

        import emotag.models.layers  # noqa: F401  registers the custom layers
        import emotag.training.losses  # noqa: F401
        from emotag.text.preprocessing import PreprocessConfig
        from emotag.text.tokenizer import TextEncoder, WordTokenizer

        self.name, self.args = name, args
        self.model = keras.saving.load_model(run_dir / layout.MODEL_KERAS, compile=False)
        config, _ = PreprocessConfig.load(run_dir / layout.PREPROCESS_CONFIG)
        tokenizer = WordTokenizer.load(run_dir / layout.TOKENIZER)
        rows = TextEncoder(config, tokenizer).encode(texts)
        self.ids = np.zeros((len(rows), tokenizer.max_len), dtype="int32")  # (n, max_len)
        for row, ids in zip(self.ids, rows):
            row[: len(ids)] = ids
        self.model.predict(self.ids[:256], batch_size=256, verbose=0)
        with Timer() as t:
            self.model.predict(self.ids[:256], batch_size=256, verbose=0)
        self.rate = 256 / t.wall

    def measure(self) -> dict:
        ids, predict = self.ids, self.model.predict
        return request_figures(
            lambda start, size: predict(ids[start : start + size], batch_size=size, verbose=0),
            lambda n: predict(ids[:n], batch_size=256, verbose=0),
            self.rate, len(ids), self.args,
            latency_cap=self.args.latency_texts // 4,  # ~40 ms each: a sample suffices
            single_rate=self.rate / 20,
        )  # fmt: skip


class SortedIdsRow:
    """The network alone on length-sorted ids, as a tf.function, optionally XLA-compiled."""

    def __init__(self, name: str, naive: NaiveKerasRow, jit: bool, args):
        self.name, self.args = name, args
        model = naive.model
        lengths = (naive.ids != 0).sum(axis=1)
        order = np.argsort(lengths, kind="stable")
        self.batches = []
        for start in range(0, len(order), 256):
            idx = order[start : start + 256]
            width = max(1, int(lengths[idx].max()))
            if jit:
                width = -(-width // 8) * 8  # few distinct shapes: one XLA compile each
            self.batches.append(tf.constant(naive.ids[idx, :width]))
        self.fn = tf.function(lambda x: model(x, training=False), jit_compile=jit)
        for batch in self.batches:  # compile every shape before timing
            self.fn(batch)

    def measure(self) -> dict:
        with Timer() as total:
            for batch in self.batches:
                self.fn(batch).numpy()
        n = sum(int(b.shape[0]) for b in self.batches)
        return {"bulk": n / total.wall, "bulk_per_cpu_s": n / max(total.cpu, 1e-9)}


def reexport(run_dir: Path, target: Path) -> Path:
    """Copies a BiLSTM run's small files and exports its SavedModel with this version."""
    import shutil

    import keras

    import emotag.models.layers  # noqa: F401
    import emotag.training.losses  # noqa: F401
    from emotag.models.export import export_saved_model
    from emotag.models.fused_bilstm import FusedBiLSTMClassifier, can_fuse
    from emotag.text.preprocessing import PreprocessConfig
    from emotag.text.tokenizer import TextEncoder, WordTokenizer

    run = layout.open_run(run_dir)
    target.mkdir(parents=True)
    for name in (layout.THRESHOLDS_NPY, layout.THRESHOLDS_JSON, layout.LABELS):
        shutil.copy(run.file(name), target / name)
    model = keras.saving.load_model(run.file(layout.MODEL_KERAS), compile=False)
    config, _ = PreprocessConfig.load(run.file(layout.PREPROCESS_CONFIG))
    encoder = TextEncoder(config, WordTokenizer.load(run.file(layout.TOKENIZER)))
    export_saved_model(
        model, encoder, run.thresholds, list(run.label_names), target / layout.SAVED_MODEL,
        at_least_one=run.at_least_one,
        serving_model=FusedBiLSTMClassifier(model) if can_fuse(model) else None,
    )  # fmt: skip
    return target
