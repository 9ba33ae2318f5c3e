"""Train the TF-IDF + one-vs-rest logistic-regression baseline and write a calibrated run.

Usage:
    python src/train_baseline.py                          # defaults: GoEmotions, 28 labels
    python src/train_baseline.py --c 1 --ngram-range 1-2  # one setting, no search
    python src/train_baseline.py --taxonomy ekman --class-weight balanced --run-name tfidf-ekman
    python src/train_baseline.py --dataset semeval-ec --data-dir SemEval2018-E-c

Text goes through the project's `TextNormalizer`, exactly as for the BiLSTM; the token
lists feed scikit-learn's `TfidfVectorizer` (word n-grams joined by a space). C and the
n-gram range are chosen on dev macro-F1 (after per-class threshold tuning on dev) from
the comma-separated candidates; test is scored once, with the chosen model. The model is
exported as a raw-string SavedModel that recomputes TF-IDF with core TensorFlow ops
(`emotag.models.tfidf`), so `src/inference.py`, `src/evaluate.py` and `Predictor` use it as is.
Data options and the run layout are those of train_biLSTM.py.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from tqdm.auto import tqdm

from emotag.config import StepLog, choice, dataclass_parser, setup_logging
from emotag.data.datasets import DatasetSpec, load_dataset
from emotag.evaluation.calibration import calibrated_macro_f1
from emotag.evaluation.scoring import CalibrationSpec, calibrate_and_score
from emotag.models.export import export_text_module
from emotag.models.tfidf import TfidfClassifier, word_ngrams
from emotag.runs import layout
from emotag.runs.info import write_run_info
from emotag.runs.writer import RunWriter, try_it_command
from emotag.text.preprocessing import PreprocessConfig, TextNormalizer
from emotag.text.tokenizer import iter_token_lists

log = logging.getLogger("train_baseline")
# scikit-learn's LogisticRegression solvers (all fit one binary problem per label here).
SOLVERS = ("liblinear", "lbfgs", "newton-cg", "newton-cholesky", "sag", "saga")


@dataclasses.dataclass
class BaselineConfig(DatasetSpec, CalibrationSpec):
    """Data flags (--dataset, --data-dir, --label-cols, ...) come from `DatasetSpec`."""

    c: str = "1,2,4"  # inverse L2 strengths, comma-separated; several = chosen on dev macro-F1
    ngram_range: str = "1-1,1-2"  # word n-gram ranges "min-max"; several = chosen on dev
    min_df: int = 2  # n-grams in fewer training texts are dropped
    max_features: int | None = None  # keep the most frequent n-grams only; None = all
    sublinear_tf: bool = True  # TF as 1 + log(count): a repeated word is not n times the evidence
    # class weights of the regression: none, or balanced (inverse class frequency); per-class
    # thresholds already absorb the label priors, and balanced scored ~0.01 lower dev
    # macro-F1 on GoEmotions
    class_weight: str = choice("none", ("none", "balanced"))
    solver: str = choice("liblinear", SOLVERS)  # scikit-learn LogisticRegression solver
    max_iter: int = 1000  # most solver iterations per label
    seed: int = 42  # seed of the solver's shuffling (liblinear, sag, saga)
    output_dir: str = "artifacts"  # the run is written to <output_dir>/<run_name>/
    run_name: str | None = None  # None = tfidf-lr-<taxonomy or dataset>-s<seed>


def parse_args(argv=None) -> BaselineConfig:
    parser = dataclass_parser(BaselineConfig, __doc__)
    config = BaselineConfig(**vars(parser.parse_args(argv)))
    try:
        parse_candidates(config)
    except ValueError as err:
        parser.error(str(err))
    return config


def parse_candidates(config: BaselineConfig) -> tuple[list[float], list[tuple[int, int]]]:
    """The C values and n-gram ranges to try, from their comma-separated config strings."""
    cs = [float(c) for c in config.c.split(",")]
    ranges = []
    for item in config.ngram_range.split(","):
        low, _, high = item.partition("-")
        ranges.append((int(low), int(high or low)))
    if any(c <= 0 for c in cs) or any(not 1 <= lo <= hi for lo, hi in ranges):
        raise ValueError(
            f"need C > 0 and 1 <= min_n <= max_n, got {config.c!r}, {config.ngram_range!r}"
        )
    if config.class_weight not in ("none", "balanced"):
        raise ValueError(f"class_weight must be none or balanced, not {config.class_weight!r}")
    return cs, ranges


def tokenize(texts: list[str], normalizer: TextNormalizer, desc: str) -> list[list[str]]:
    """Normaliser tokens of every text (the graph the SavedModel runs, called eagerly)."""
    batches = iter_token_lists(texts, normalizer, batch_size=2048)
    total = -(-len(texts) // 2048)
    return [tokens for batch in tqdm(batches, total=total, desc=desc) for tokens in batch]


def make_vectorizer(ngram_range: tuple[int, int], config: BaselineConfig) -> TfidfVectorizer:
    """An unfitted TF-IDF vectorizer over word n-grams of token lists."""
    return TfidfVectorizer(
        analyzer=functools.partial(word_ngrams, ngram_range=ngram_range),
        min_df=config.min_df,
        max_features=config.max_features,
        sublinear_tf=config.sublinear_tf,
        dtype=np.float64,
    )


def fit_classifier(features, labels: np.ndarray, c: float, config: BaselineConfig):
    """One L2 logistic regression per label on TF-IDF features: a fitted `OneVsRestClassifier`."""
    regression = LogisticRegression(
        C=c,
        class_weight=None if config.class_weight == "none" else config.class_weight,
        solver=config.solver,
        max_iter=config.max_iter,
        random_state=config.seed,
    )
    with warnings.catch_warnings():
        # Labels without training positives (tiny data, --limit) get a constant predictor.
        warnings.filterwarnings("ignore", message="Label not .* is present in all training")
        return OneVsRestClassifier(regression, n_jobs=1).fit(features, labels.astype(int))


def train(config: BaselineConfig) -> Path:
    """Searches C / n-grams on dev, calibrates on dev, scores test once, writes the run.

    Returns:
        The run directory.
    """
    started = time.time()
    cs, ranges = parse_candidates(config)
    run_name = config.run_name or f"tfidf-lr-{config.label_set}-s{config.seed}"

    data = load_dataset(DatasetSpec.from_config(config))  # limit, exclude_ids, extra_train
    train_split = data.train
    log.info(
        "%d train / %d dev / %d test texts, %d labels (%s)",
        len(train_split.texts), len(data.dev.texts), len(data.test.texts),
        len(data.label_names), config.label_set,
    )  # fmt: skip

    preprocess = PreprocessConfig().resolved()
    normalizer = TextNormalizer(preprocess)
    train_tokens = tokenize(train_split.texts, normalizer, "tokenize train")
    dev_tokens = tokenize(data.dev.texts, normalizer, "tokenize dev")

    grid, best = [], None
    for ngram_range in ranges:
        vectorizer = make_vectorizer(ngram_range, config)
        x_train = vectorizer.fit_transform(train_tokens)  # (texts, features) sparse
        x_dev = vectorizer.transform(dev_tokens)
        for c in cs:
            classifier = fit_classifier(x_train, train_split.labels, c, config)
            score = calibrated_macro_f1(classifier.predict_proba(x_dev), data.dev.labels)
            grid.append({"ngram_range": list(ngram_range), "c": c, "dev_macro_f1": score})
            log.info(
                "ngrams %s, C %g, %d features: dev macro-F1 %.4f",
                ngram_range, c, x_train.shape[1], score,
            )  # fmt: skip
            if best is None or score > best[0]:
                best = (score, ngram_range, c, vectorizer, classifier)
    score, ngram_range, c, vectorizer, classifier = best
    log.info("chosen on dev: ngrams %s, C %g (dev macro-F1 %.4f)", ngram_range, c, score)

    phase = StepLog(log)
    phase.start("scoring dev with the TF-IDF graph")
    model = TfidfClassifier.from_sklearn(vectorizer, classifier, preprocess, ngram_range)
    # Dev and test are scored by the graph the SavedModel serves; it must agree with sklearn.
    dev_probs = model.predict_proba(data.dev.texts)
    sklearn_gap = float(
        np.abs(dev_probs - classifier.predict_proba(vectorizer.transform(dev_tokens))).max()
    )
    log.info("graph vs scikit-learn dev probabilities: max |difference| %.2g", sklearn_gap)
    if sklearn_gap > 1e-4:
        raise RuntimeError(f"the TF-IDF graph departs from scikit-learn by {sklearn_gap:.2g}")
    with RunWriter(config.output_dir, run_name) as run:
        phase.start("scoring test")
        test_probs = model.predict_proba(data.test.texts)
        phase.start("calibrating thresholds on dev, scoring test")
        calibration, report = calibrate_and_score(
            run.path, data, dev_probs, test_probs, title=f"{run_name}: test per-class F1",
            **config.scoring_options(),
        )
        phase.start("exporting the SavedModel")
        export_text_module(
            model,
            calibration.thresholds,
            data.label_names,
            run.path / layout.SAVED_MODEL,
            **calibration.export_settings(),
        )
        phase.start("saving the model and the run's records")
        model.save(run.path / layout.TFIDF_MODEL)
        preprocess.save(run.path / layout.PREPROCESS_CONFIG, vocab_size=model.num_features)
        write_run_info(
            run.path, dataclasses.asdict(config), started, report, kind=layout.TFIDF,
            excluded_ids=data.excluded_ids,
            model="tfidf-lr", chosen={"c": c, "ngram_range": list(ngram_range)},
            num_features=model.num_features, sklearn_gap=sklearn_gap, dev_grid=grid,
        )  # fmt: skip
        phase.done()
    return run.final_path


def main(argv=None) -> int:
    setup_logging()
    config = parse_args(argv)
    log.info("try it: %s", try_it_command(train(config)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
