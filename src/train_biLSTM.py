"""Train the BiLSTM + attention emotion classifier and write a calibrated run directory.

Usage:
    python src/train_biLSTM.py                         # defaults: GoEmotions, 28 labels
    python src/train_biLSTM.py --taxonomy ekman --epochs 5 --run-name ekman
    python src/train_biLSTM.py --data-dir ../shared/data/goemotions --embeddings random

Data comes from --data-dir, else $GOEMOTIONS_DIR, else a local cache, else a download.
The run lands in <output-dir>/<run-name>/ (see README, "Artifact layout"); it is
written to a temporary directory first and renamed at the end, so an interrupted run
leaves no half-written artifact.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from emotag.artifacts import RunWriter  # noqa: E402
from emotag.batching import make_dataset  # noqa: E402
from emotag.cli import parse_config  # noqa: E402
from emotag.data import GoEmotions, load_goemotions  # noqa: E402
from emotag.embeddings import EmbeddingResult, build_embedding_matrix  # noqa: E402
from emotag.export import export_saved_model  # noqa: E402
from emotag.losses import make_loss  # noqa: E402
from emotag.metrics import ValidationMacroF1  # noqa: E402
from emotag.models import build_bilstm_classifier  # noqa: E402
from emotag.preprocessing import PreprocessConfig, TextNormalizer  # noqa: E402
from emotag.runs import calibrate_and_score, write_run_info  # noqa: E402
from emotag.tokenizer import TextEncoder, WordTokenizer, iter_token_lists  # noqa: E402

log = logging.getLogger("train_biLSTM")
# Length-bucketed datasets have no known size; Keras warns about it on every epoch.
warnings.filterwarnings("ignore", message=".*ran out of data.*")
warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")


@dataclasses.dataclass
class TrainConfig:
    data_dir: str | None = None  # GoEmotions directory; None = $GOEMOTIONS_DIR, cache, download
    taxonomy: str = "fine"  # fine (28 labels) | ekman (7) | sentiment (4)
    embeddings: str = "minilm"  # see emotag.embeddings.EMBEDDING_SOURCES, or a vectors file path
    embedding_dim: int | None = None  # None = the source's size (100 when trained here); less = PCA
    trainable_embeddings: bool = True  # fine-tune the embedding matrix
    epochs: int = 12  # upper bound; early stopping on dev macro-F1 usually ends sooner
    patience: int = 3  # epochs without dev macro-F1 gain before stopping
    batch_size: int = 64
    learning_rate: float = 2e-3
    lstm_units: int = 128  # per direction
    attention_units: int = 128
    dropout: float = 0.3
    pooling: str = "attention"  # attention | mean | max (ablations)
    loss: str = "cb_focal"  # cb_focal | focal | bce
    gamma: float = 2.0  # focal exponent
    beta: float = 0.999  # class-balance beta (Cui et al. 2019)
    max_len: int | None = None  # None = length_percentile of training token counts
    length_percentile: float = 99.0
    min_count: int = 2  # rarer training words map to <unk>
    seed: int = 42
    output_dir: str = "artifacts"
    run_name: str | None = None  # default: bilstm-<taxonomy>-<embeddings>-s<seed>
    cache_dir: str = "embeddings"  # where downloaded / derived vectors are cached
    limit: int | None = None  # use only the first N training examples (smoke tests)
    verbose: int = 1  # Keras progress bars: 1 = bar, 2 = one line per epoch
    search: bool = False  # random search over emotag.search.BILSTM_SPACE on dev; no final run
    search_trials: int = 10  # trials of --search
    search_epochs: int = 3  # epochs per trial (the best epoch counts)


def parse_args(argv=None) -> TrainConfig:
    return parse_config(TrainConfig, argv, description=__doc__)


@dataclasses.dataclass
class Prepared:
    """Everything a model needs that does not depend on its hyperparameters."""

    data: GoEmotions  # train possibly cut to config.limit
    preprocess: PreprocessConfig
    tokenizer: WordTokenizer
    encoder: TextEncoder
    embedding: EmbeddingResult
    train_ds: tf.data.Dataset
    dev_ds: tf.data.Dataset
    test_ds: tf.data.Dataset


def prepare(config: TrainConfig) -> Prepared:
    """Loads the data, fits the tokenizer on train, builds embeddings and datasets."""
    data = load_goemotions(config.data_dir, taxonomy=config.taxonomy)
    if config.limit:
        train_split = data.train
        data = dataclasses.replace(data, train=dataclasses.replace(
            train_split,
            texts=train_split.texts[: config.limit],
            labels=train_split.labels[: config.limit],
            ids=train_split.ids[: config.limit],
        ))  # fmt: skip
    log.info(
        "%d train / %d dev / %d test texts, %d labels (%s)",
        len(data.train.texts), len(data.dev.texts), len(data.test.texts),
        len(data.label_names), config.taxonomy,
    )  # fmt: skip

    preprocess = PreprocessConfig().resolved()
    tokenizer = WordTokenizer.fit(
        data.train.texts,
        TextNormalizer(preprocess),
        min_count=config.min_count,
        length_percentile=config.length_percentile,
    )
    if config.max_len:
        tokenizer.max_len = config.max_len
    encoder = TextEncoder(preprocess, tokenizer)
    log.info("vocabulary %d words, max_len %d", tokenizer.vocab_size, tokenizer.max_len)

    train_tokens = None
    if config.embeddings in ("word2vec", "fasttext"):
        batches = iter_token_lists(data.train.texts, encoder.normalizer)
        train_tokens = [tokens for batch in batches for tokens in batch]
    embedding = build_embedding_matrix(
        tokenizer.word_index,
        config.embeddings,
        word_counts=tokenizer.word_counts,
        train_token_lists=train_tokens,
        cache_dir=config.cache_dir,
        dim=config.embedding_dim,
        seed=config.seed,
    )
    log.info("embeddings %s: %s", config.embeddings, embedding.summary())

    x_train, x_dev, x_test = (encoder.encode(s.texts) for s in (data.train, data.dev, data.test))
    return Prepared(
        data, preprocess, tokenizer, encoder, embedding,
        train_ds=make_dataset(
            x_train, data.train.labels, config.batch_size, shuffle_seed=config.seed
        ),
        dev_ds=make_dataset(x_dev, None, 256),
        test_ds=make_dataset(x_test, None, 256),
    )  # fmt: skip


def build_model(config: TrainConfig, prepared: Prepared) -> keras.Model:
    """The compiled classifier for `config`'s hyperparameters."""
    train_split = prepared.data.train
    counts = train_split.labels.sum(axis=0)
    model = build_bilstm_classifier(
        prepared.tokenizer.vocab_size,
        len(prepared.data.label_names),
        embedding_matrix=prepared.embedding.matrix,
        trainable_embeddings=config.trainable_embeddings,
        lstm_units=config.lstm_units,
        attention_units=config.attention_units,
        dropout=config.dropout,
        pooling=config.pooling,
        label_prior=counts / len(train_split.texts),
    )
    loss = make_loss(config.loss, class_counts=counts, gamma=config.gamma, beta=config.beta)
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate, clipnorm=1.0), loss=loss)
    return model


def selection_callbacks(config: TrainConfig, prepared: Prepared) -> list[keras.callbacks.Callback]:
    """Dev macro-F1 at tuned thresholds each epoch, early stopping on it, best weights kept."""
    return [
        ValidationMacroF1(prepared.dev_ds, prepared.data.dev.labels),
        keras.callbacks.EarlyStopping(
            monitor="val_macro_f1",
            mode="max",
            patience=config.patience,
            restore_best_weights=True,
            verbose=1,
        ),
    ]


def train(config: TrainConfig) -> Path:
    """Trains, calibrates on dev, scores test once, and writes the run directory.

    Returns:
        The run directory.
    """
    started = time.time()
    keras.utils.set_random_seed(config.seed)
    run_name = (
        config.run_name or f"bilstm-{config.taxonomy}-{Path(config.embeddings).name}-s{config.seed}"
    )
    prepared = prepare(config)
    data, encoder, tokenizer = prepared.data, prepared.encoder, prepared.tokenizer
    preprocess, embedding = prepared.preprocess, prepared.embedding
    dev_ds, test_ds = prepared.dev_ds, prepared.test_ds
    model = build_model(config, prepared)
    history = model.fit(
        prepared.train_ds,
        epochs=config.epochs,
        callbacks=selection_callbacks(config, prepared),
        verbose=config.verbose,
    )

    with RunWriter(config.output_dir, run_name) as run:
        calibration, report = calibrate_and_score(
            run.path,
            data,
            model.predict(dev_ds, verbose=0),
            model.predict(test_ds, verbose=0),
            title=f"{run_name}: test per-class F1",
        )
        export_saved_model(
            model,
            encoder,
            calibration.thresholds,
            data.label_names,
            run.path / "saved_model",
            at_least_one=calibration.at_least_one,
        )
        model.save(run.path / "model.keras")
        tokenizer.save(run.path / "tokenizer.pkl")
        preprocess.save(
            run.path / "preprocess_config.json",
            max_len=tokenizer.max_len,
            vocab_size=tokenizer.vocab_size,
        )
        run.write_json("embeddings.json", embedding.summary())
        curves = {k: [float(v) for v in vs] for k, vs in history.history.items()}
        run.write_json("history.json", curves)
        write_run_info(
            run.path, dataclasses.asdict(config), started, report,
            model="bilstm", epochs_run=len(history.history["loss"]),
            best_epoch=int(np.argmax(history.history["val_macro_f1"])) + 1,
        )  # fmt: skip
    log.info("run written to %s", run.final_path)
    return run.final_path


def search(config: TrainConfig) -> dict:
    """Random search on dev; writes <output_dir>/search-<taxonomy>/search_log.json."""
    from emotag.search import BILSTM_SPACE, run_search

    keras.utils.set_random_seed(config.seed)
    prepared = prepare(config)
    base = dataclasses.replace(config, patience=1)
    return run_search(
        base, BILSTM_SPACE,
        build_fn=lambda c: build_model(c, prepared),
        callbacks_fn=lambda c: selection_callbacks(c, prepared),
        train_ds=prepared.train_ds,
        out_dir=Path(config.output_dir) / f"search-{config.taxonomy}",
        max_trials=config.search_trials, epochs=config.search_epochs, seed=config.seed,
        verbose=config.verbose,
    )  # fmt: skip


def main(argv=None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    config = parse_args(argv)
    if config.search:
        search(config)
    else:
        train(config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
