"""Load a run directory and tag texts: the API shared by the CLI, demo and tests.

Fast path: for runs whose SavedModel has the `token_ids` / `score_ids` endpoints (word
vocabulary runs exported by this version), more than one batch of texts is first turned
into ids in one pass, sorted by exact token count and scored in batches padded only to
their own longest row. Other runs sort by character length and call `serve`. See
`benchmarks/throughput.py` for the measured effect.
"""

from __future__ import annotations

import logging
import math
import numbers
from pathlib import Path

import numpy as np
import tensorflow as tf

from emotag.runs.layout import BILSTM, LABELS, LEXICON, RunDir, RunFileError, open_run, run_kind
from emotag.runs.thresholds import apply_thresholds

# Prediction and the label emoji are re-exported: this is where users import them from.
from emotag.serving.prediction import LABEL_EMOJI, Prediction, emoji_for  # noqa: F401
from emotag.text.inputs import MAX_TEXT_CHARS, coerce_text

log = logging.getLogger(__name__)

ERRORS = ("raise", "skip")
ENCODE_CHUNK = 4096  # texts per `token_ids` call on the fast path

class Predictor:
    """Tags texts with a run's SavedModel and calibrated thresholds.

    Args:
        run_dir: the run directory (holds `saved_model/`, `per_class_thresholds.npy`, ...).
        batch_size: texts per graph call (`predict` and `explain`), at least 1.
        max_chars: longer texts are cut to this many characters (`emotag.text.inputs`).

    Raises:
        ValueError: When `batch_size` or `max_chars` is not a positive integer.
        NotARunError: When `run_dir` is not a run (`emotag.runs.layout.open_run`).
        RunFileError: When its thresholds, labels.txt and SavedModel disagree.

    Example:
    >>> predictor = Predictor.load("artifacts/bilstm")
    >>> predictor.predict("Thank you so much!")[0].labels
    ['gratitude']
    >>> predictor("Thank you so much!", top_k=2)  # the Hugging Face pipeline's shape
    [[{'label': 'gratitude', 'score': 0.97, 'threshold': 0.41, 'fired': True},
      {'label': 'admiration', 'score': 0.04, 'threshold': 0.33, 'fired': False}]]
    """

    def __init__(self, run_dir: str | Path, batch_size: int = 256, max_chars: int = MAX_TEXT_CHARS):
        # Checked first: batch_size=0 failed mid-batch and -3 scored nothing, silently.
        self.batch_size = _positive_int("batch_size", batch_size)
        self.max_chars = _positive_int("max_chars", max_chars)
        self.run = open_run(run_dir)  # checks the thresholds against labels.txt
        self.run_dir = self.run.path
        self.model = load_run_model(self.run)
        self.label_names = [n.decode("utf-8") for n in self.model.label_names().numpy()]
        if tuple(self.label_names) != self.run.label_names:
            raise RunFileError(
                f"{self.run.saved_model} serves the labels {self.label_names}, but "
                f"{self.run.file(LABELS)} lists {list(self.run.label_names)}"
            )
        self.thresholds = self.run.thresholds
        self.at_least_one = self.run.at_least_one

    load = classmethod(lambda cls, run_dir, **kw: cls(run_dir, **kw))

    @property
    def can_explain(self) -> bool:
        return hasattr(self.model, "explain")

    @property
    def can_score_ids(self) -> bool:
        """True when the SavedModel exposes `token_ids` / `score_ids` (the fast path)."""
        return hasattr(self.model, "token_ids") and hasattr(self.model, "score_ids")

    def prepare(self, texts, errors: str = "raise") -> tuple[list[str | None], dict[int, str]]:
        """Coerces each item with `emotag.text.inputs.coerce_text`.

        Args:
            texts: a sequence of items, or one str / bytes (a list of one).
            errors: "raise" raises on the first bad item; "skip" records it.

        Returns:
            (texts with None at bad items, {index: error message}).
        """
        if errors not in ERRORS:
            raise ValueError(f"errors must be one of {ERRORS}, got {errors!r}")
        if isinstance(texts, (str, bytes)):
            texts = [texts]
        prepared: list[str | None] = []
        failures: dict[int, str] = {}
        for i, item in enumerate(texts):
            try:
                prepared.append(coerce_text(item, self.max_chars))
            except TypeError as err:
                if errors == "raise":
                    raise TypeError(f"text {i}: {err}") from None
                prepared.append(None)
                failures[i] = str(err)
        return prepared, failures

    def predict_proba(self, texts, errors: str = "raise") -> np.ndarray:
        """Returns (len(texts), labels) probabilities; rows of bad items are NaN.

        Args:
            texts: strings (bytes are decoded as UTF-8; see `emotag.text.inputs`).
            errors: "raise" (TypeError on a bad item) or "skip" (its row is NaN).
        """
        prepared, failures = self.prepare(texts, errors)
        probs = np.full((len(prepared), len(self.label_names)), np.nan, dtype="float32")
        good = [i for i, text in enumerate(prepared) if text is not None]
        if good:
            probs[good] = self._score([prepared[i] for i in good])
        return probs

    def _score(self, texts: list[str]) -> np.ndarray:
        """Probabilities of valid texts, in their order."""
        if len(texts) <= self.batch_size:  # one graph call, nothing to sort
            return self.model.serve(tf.constant(texts, tf.string))["probabilities"].numpy()
        probs = np.zeros((len(texts), len(self.label_names)), dtype="float32")
        if self.can_score_ids:
            ids, lengths = self._token_ids(texts)
            order = np.argsort(lengths, kind="stable")
            for start in range(0, len(texts), self.batch_size):
                idx = order[start : start + self.batch_size]
                width = max(1, int(lengths[idx].max()))
                batch = tf.constant(ids[idx, :width])  # (batch, own longest row)
                probs[idx] = self.model.score_ids(batch)["probabilities"].numpy()
            return probs
        # Character length is the best length proxy without the token ids.
        order = np.argsort([len(t) for t in texts], kind="stable")
        for start in range(0, len(texts), self.batch_size):
            idx = order[start : start + self.batch_size]
            batch = tf.constant([texts[i] for i in idx], tf.string)
            probs[idx] = self.model.serve(batch)["probabilities"].numpy()
        return probs

    def _token_ids(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(n, longest) int32 ids padded with 0, and (n,) token counts, from the graph."""
        chunks, lengths = [], []
        for start in range(0, len(texts), ENCODE_CHUNK):
            out = self.model.token_ids(tf.constant(texts[start : start + ENCODE_CHUNK]))
            chunks.append(out["token_ids"].numpy())
            lengths.append(out["lengths"].numpy())
        width = max(chunk.shape[1] for chunk in chunks)
        ids = np.concatenate([np.pad(c, ((0, 0), (0, width - c.shape[1]))) for c in chunks])
        return ids, np.concatenate(lengths)

    def predict(
        self, texts, threshold: float | None = None, errors: str = "raise"
    ) -> list[Prediction]:
        """Tags texts; `threshold` overrides the calibrated per-class thresholds.

        Args:
            texts: strings, or one string (bytes are decoded as UTF-8; see
                `emotag.text.inputs`).
            threshold: one global threshold in [0, 1] instead of the calibrated ones.
            errors: "raise" raises TypeError on the first bad item (None, a number,
                ...); "skip" returns a `Prediction` with `error` set for it instead.

        Returns:
            One `Prediction` per item, in order (a list of one for a single string);
            `text` is the text as scored (cut to `max_chars`), "" for an item that is not
            a text; `thresholds` the ones applied.

        Raises:
            ValueError: When `threshold` is not a finite number in [0, 1].
        """
        check_threshold(threshold)
        prepared, failures = self.prepare(texts, errors)
        probs = np.full((len(prepared), len(self.label_names)), np.nan, dtype="float32")
        good = [i for i, text in enumerate(prepared) if text is not None]
        if good:
            probs[good] = self._score([prepared[i] for i in good])
        if threshold is None:
            applied = self.thresholds
            chosen = apply_thresholds(probs, applied, at_least_one=self.at_least_one)
        else:
            applied = np.full(len(self.label_names), threshold)  # float64: reported as given
            chosen = apply_thresholds(probs, applied)
        applied_by_label = dict(zip(self.label_names, map(float, applied)))
        results = []
        for i, (text, row, on) in enumerate(zip(prepared, probs, chosen)):
            if i in failures:
                results.append(Prediction("", [], {}, error=failures[i]))
                continue
            labels = sorted(
                (self.label_names[j] for j in np.flatnonzero(on)),
                key=lambda name: -row[self.label_names.index(name)],
            )
            probabilities = dict(zip(self.label_names, map(float, row)))
            results.append(Prediction(text, labels, probabilities, thresholds=applied_by_label))
        return results

    def classify(
        self, texts, top_k: int | None = None, threshold: float | None = None
    ) -> list[list[dict]]:
        """Tags texts in the shape of a Hugging Face text-classification pipeline.

        Like `pipeline(..., top_k=None)` called on a list: per text, its labels sorted by
        score, each `{"label", "score", "threshold", "fired"}` (see `Prediction.ranked`).
        A single string gets the same nested shape, a list of one, so the result's shape
        never depends on the input's type (Hugging Face flattens it for one string).

        Args:
            texts: strings, or one string.
            top_k: labels per text; None = every label.
            threshold: one global threshold instead of the calibrated ones.

        Returns:
            One list of label dicts per text, in order.
        """
        return [p.ranked(top_k) for p in self.predict(texts, threshold=threshold)]

    __call__ = classify

    def explain(self, texts, errors: str = "raise") -> list[list[tuple[str, float]]]:
        """Each text's (token, attention weight) pairs, `batch_size` texts per graph call.

        Args:
            texts: strings, or one string (coerced as by `predict`).
            errors: "raise" (TypeError on a bad item) or "skip" (its list is empty).

        Returns:
            One list of pairs per item, in order.
        """
        if not self.can_explain:
            raise ValueError(f"{self.run_dir} has no attention weights to explain")
        prepared, _ = self.prepare(texts, errors)
        explained: list[list[tuple[str, float]]] = [[] for _ in prepared]
        good = [i for i, text in enumerate(prepared) if text is not None]
        for start in range(0, len(good), self.batch_size):
            idx = good[start : start + self.batch_size]
            out = self.model.explain(tf.constant([prepared[i] for i in idx], tf.string))
            for i, row_t, row_w in zip(idx, out["tokens"].numpy(), out["attention"].numpy()):
                explained[i] = [
                    (t.decode("utf-8", errors="replace"), float(w))
                    for t, w in zip(row_t, row_w)
                    if t
                ]
        return explained


def check_threshold(threshold) -> None:
    """Refuses a global threshold that is not None or a finite number in [0, 1].

    NaN compares false with every probability and 5.0 is above all of them: either
    would silently predict no label.

    Raises:
        ValueError: naming the value.
    """
    if threshold is None:
        return
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, numbers.Real)
        or not math.isfinite(threshold)
        or not 0 <= threshold <= 1
    ):
        raise ValueError(f"threshold must be None or a number in [0, 1], got {threshold!r}")


def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def serving_intra_op_threads(run_dir: str | Path) -> int | None:
    """TensorFlow intra-op pool size a run serves fastest with; None = TensorFlow's default.

    Word-vocabulary (BiLSTM) runs: 1. A recurrent step is a handful of small ops that lose
    more to being split across cores than they gain, while the two directions and the two
    halves of tokenisation already run side by side on the inter-op pool (one thread per
    core by default). Measured in benchmarks/results/throughput.md. Other runs: None
    (BERT's large matmuls use every core).
    """
    return 1 if run_kind(run_dir) == BILSTM else None


def configure_threads(run_dir: str | Path, intra_op: int | None = None) -> bool:
    """Sizes TensorFlow's intra-op pool for serving `run_dir`, if TensorFlow has not started.

    TensorFlow fixes its pools when it runs its first op, so call this before anything
    else uses TensorFlow; the setting is process-wide.

    Args:
        run_dir: the run to be served (picks the size by `serving_intra_op_threads`).
        intra_op: a size to use instead; 0 keeps TensorFlow's default.

    Returns:
        True if the pool was set; False if the default stays or TensorFlow had started.
    """
    threads = serving_intra_op_threads(run_dir) if intra_op is None else intra_op
    if not threads:
        return False
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
    except RuntimeError:  # TensorFlow is running: its pools cannot change any more
        log.info("TensorFlow has started; intra-op threads stay as they are")
        return False
    return True


def load_run_model(run: RunDir):
    """The run's SavedModel; for a VADER lexicon run (no SavedModel), its Python scorer.

    VADER's rules are not rewritten in TensorFlow ops (`emotag.models.vader`); its
    `VaderClassifier` answers the `serve` and `label_names` calls a SavedModel does.
    """
    if run.kind == LEXICON and not run.saved_model.exists():
        from emotag.models.vader import VaderClassifier

        return VaderClassifier(run.label_names)
    return load_saved_model(run.saved_model)


def load_saved_model(path: str | Path):
    """`tf.saved_model.load`, importing tensorflow_text first if the graph needs its ops.

    Transformer runs tokenise with tensorflow-text ops, which TensorFlow knows only once
    `tensorflow_text` is imported; BiLSTM runs load without it.
    """
    try:
        return tf.saved_model.load(str(path))
    except Exception as err:  # noqa: BLE001  TF raises several types for unknown ops
        if "Op type not registered" not in str(err):
            raise
    import tensorflow_text  # noqa: F401  registers the ops

    return tf.saved_model.load(str(path))
