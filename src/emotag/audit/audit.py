"""Label-quality audit: rank the training examples whose labels look wrong.

Usage:
    python src/audit_labels.py                                  # GoEmotions, TF-IDF, k=5
    python src/audit_labels.py --learner bilstm --epochs 2 --embeddings minilm-static
    python src/audit_labels.py --dataset semeval-ec --data-dir SemEval2018-E-c --folds 10
    python src/train_biLSTM.py --exclude-ids artifacts/audit-fine-tfidf/label_issues.csv

Every training example is scored by a model trained on the other k-1 folds (iterative
stratification), then confident learning (cleanlab, see emotag.audit.label_quality) flags
labels that disagree confidently with those out-of-fold probabilities: a label given
but unlikely ("spurious") or not given but likely ("missing").

Learners (--learner): `tfidf` (default, fast: TF-IDF + one-vs-rest logistic regression from
train_baseline.py, the project's tokens) or `bilstm` (train_biLSTM.py's model for
--epochs epochs, early stopping on dev; the vocabulary and embeddings are fitted on the
whole training split once, which leaks no labels).

Writes into --out (default artifacts/audit-<taxonomy or dataset>-<learner>/):
- label_issues.csv: flagged examples, most suspicious first (rank, id, text, given,
  suggested_add, suggested_remove, quality); its id column is what --exclude-ids reads;
- label_quality.json: the configuration, totals and per-class counts (also printed);
- oof_probabilities.npy: (train rows, labels) out-of-fold probabilities, row order of
  the training split.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

from emotag.audit.label_quality import (
    FitPredict,
    class_summary,
    find_label_issues,
    format_summary,
    out_of_fold_probabilities,
    write_issues_csv,
)
from emotag.config import choice, dataclass_parser, option, positive_int, setup_logging
from emotag.data.datasets import DatasetSpec, load_dataset
from emotag.data.goemotions import Dataset

log = logging.getLogger("audit_labels")


@dataclasses.dataclass
class AuditConfig(DatasetSpec):
    """Dataset flags (emotag.data.datasets.DatasetSpec) plus the audit's own."""

    # the model trained on each fold: tfidf (TF-IDF + logistic regression, fast) or bilstm
    learner: str = choice("tfidf", ("tfidf", "bilstm"))
    folds: int = 5  # k of the k-fold out-of-fold probabilities
    seed: int = 0  # fold assignment and model seed
    out: str | None = None  # output directory; None = artifacts/audit-<label set>-<learner>
    c: float = 4.0  # tfidf: inverse L2 strength
    ngram_range: str = "1-2"  # tfidf: word n-grams "min-max"
    min_df: int = 2  # tfidf: n-grams in fewer training texts are dropped
    epochs: int = 2  # bilstm: epochs per fold (early stopping on dev may end sooner)
    embeddings: str = "random"  # bilstm: embedding source (emotag.embeddings.sources)
    embedding_dim: int | None = 64  # bilstm: vector size (None = the source's)
    lstm_units: int = 64  # bilstm: LSTM units per direction
    batch_size: int = option(64, type=positive_int)  # bilstm: training texts per batch
    cache_dir: str = "embeddings"  # bilstm: where downloaded / derived vectors are cached


def build_parser():
    """The command line of `emotag audit` (flags and help from `AuditConfig`)."""
    return dataclass_parser(AuditConfig, __doc__)


def parse_args(argv=None) -> AuditConfig:
    return AuditConfig(**vars(build_parser().parse_args(argv)))


def tfidf_fit_predict(config: AuditConfig, data: Dataset) -> FitPredict:
    """Fold trainer of the TF-IDF + logistic-regression baseline (train_baseline.py)."""
    from emotag.text.preprocessing import PreprocessConfig, TextNormalizer
    from emotag.training.baseline import BaselineConfig, fit_classifier, make_vectorizer, tokenize

    low, _, high = config.ngram_range.partition("-")
    ngram_range = (int(low), int(high or low))
    baseline = BaselineConfig(min_df=config.min_df, seed=config.seed)
    tokens = tokenize(data.train.texts, TextNormalizer(PreprocessConfig()), "tokenize train")
    labels = data.train.labels

    def fit_predict(train_idx: np.ndarray, held_idx: np.ndarray) -> np.ndarray:
        vectorizer = make_vectorizer(ngram_range, baseline)
        x_train = vectorizer.fit_transform([tokens[i] for i in train_idx])
        classifier = fit_classifier(x_train, labels[train_idx], config.c, baseline)
        return classifier.predict_proba(vectorizer.transform([tokens[i] for i in held_idx]))

    return fit_predict


def bilstm_fit_predict(config: AuditConfig) -> tuple[FitPredict, Dataset]:
    """Fold trainer of the BiLSTM (train_biLSTM.py), few epochs, early stopping on dev."""
    import keras

    from emotag.text.batching import make_dataset
    from emotag.training.bilstm import TrainConfig, build_model, prepare, selection_callbacks

    spec = {f.name: getattr(config, f.name) for f in dataclasses.fields(DatasetSpec)}
    train_config = TrainConfig(
        **{k: v for k, v in spec.items() if k in {f.name for f in dataclasses.fields(TrainConfig)}},
        embeddings=config.embeddings, embedding_dim=config.embedding_dim, epochs=config.epochs,
        patience=2,
        lstm_units=config.lstm_units, attention_units=config.lstm_units,
        batch_size=config.batch_size, seed=config.seed, cache_dir=config.cache_dir, verbose=0,
    )  # fmt: skip
    prepared = prepare(train_config)
    ids = prepared.encoder.encode(prepared.data.train.texts)
    labels = prepared.data.train.labels
    fold = iter(range(config.folds))

    def fit_predict(train_idx: np.ndarray, held_idx: np.ndarray) -> np.ndarray:
        keras.utils.set_random_seed(config.seed * 100 + next(fold))
        model = build_model(train_config, prepared)
        train_ds = make_dataset([ids[i] for i in train_idx], labels[train_idx],
                                config.batch_size, shuffle_seed=config.seed)  # fmt: skip
        model.fit(train_ds, epochs=config.epochs, verbose=0,
                  callbacks=selection_callbacks(train_config, prepared))  # fmt: skip
        return model.predict(make_dataset([ids[i] for i in held_idx], None, 256), verbose=0)

    return fit_predict, prepared.data


def audit(config: AuditConfig) -> Path:
    """Runs the audit and writes its files; returns the output directory."""
    started = time.time()
    out = Path(config.out or Path("artifacts") / f"audit-{config.label_set}-{config.learner}")
    if config.learner == "bilstm":
        fit_predict, data = bilstm_fit_predict(config)
    else:
        data = load_dataset(config)
        fit_predict = tfidf_fit_predict(config, data)
    out.mkdir(parents=True, exist_ok=True)  # once the data loaded: no empty directory
    train = data.train
    log.info("%d training examples, %d labels, %d folds of %s", len(train.texts),
             len(data.label_names), config.folds, config.learner)  # fmt: skip
    probs = out_of_fold_probabilities(train.labels, fit_predict, config.folds, config.seed)
    np.save(out / "oof_probabilities.npy", probs)
    issues = find_label_issues(train.labels, probs)
    flagged = write_issues_csv(out / "label_issues.csv", train, issues, probs, data.label_names)
    per_class = class_summary(train.labels, issues, data.label_names)
    summary = {
        "config": dataclasses.asdict(config),
        "examples": len(train.texts),
        "flagged": flagged,
        "flagged_share": round(flagged / max(len(train.texts), 1), 4),
        "flagged_spurious": sum(r["flagged_spurious"] for r in per_class),
        "flagged_missing": sum(r["flagged_missing"] for r in per_class),
        "wall_time_s": round(time.time() - started, 1),
        "per_class": per_class,
    }
    (out / "label_quality.json").write_text(json.dumps(summary, indent=2))
    print(format_summary(per_class))
    print(
        f"{flagged} of {len(train.texts)} training examples flagged -> {out / 'label_issues.csv'}"
    )
    return out


def main(argv=None) -> int:
    setup_logging()
    audit(parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
