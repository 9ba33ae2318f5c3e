"""Train the BiLSTM + attention emotion classifier and write a calibrated run directory.

Usage:
    python src/train_biLSTM.py                         # defaults: GoEmotions, 28 labels
    python src/train_biLSTM.py --taxonomy ekman --epochs 5 --run-name ekman
    python src/train_biLSTM.py --data-dir ../shared/data/goemotions --embeddings random
    python src/train_biLSTM.py --dataset semeval-ec --data-dir SemEval2018-E-c --tweet-preprocessing
    python src/train_biLSTM.py --dataset csv --train-file my.csv --test-file my_test.csv \\
        --text-col body --label-cols joy,anger   # no --dev-file: 10% of train, stratified
    python src/train_biLSTM.py --exclude-ids artifacts/audit/label_issues.csv \\
        --extra-train augmented.tsv             # train without flagged rows, plus new ones

Data: --dataset goemotions (default) | semeval-ec | csv, see emotag.data.datasets. GoEmotions
comes from --data-dir, else $GOEMOTIONS_DIR, else a local cache, else a download.
--exclude-ids and --extra-train change the training split only; dev and test stay as
they are. --tweet-preprocessing splits #CamelCase hashtags behind a <hashtag> token and
squashes repeated !?. into "<repeat>"; it is saved in preprocess_config.json and runs
inside the exported SavedModel, so serving repeats it.
The run lands in <output-dir>/<run-name>/ (see README, "Artifact layout"); it is
written to a temporary directory first and renamed at the end, so an interrupted run
leaves no half-written artifact.

Fault tolerance: training state is backed up to --backup-dir (default
<output-dir>/.backup-<run-name>) every --backup-every steps and at each epoch end. A run
that is killed (any number of times, at any point) and started again with the same
command resumes from its last backup: it runs the remaining epochs only (an interrupted
epoch again from its first batch, starting from the mid-epoch weights; resumed from an
epoch's end, it computes what an uninterrupted run would), keeps early stopping's best
score, epoch and weights, and the backup is deleted once the run directory is written.

Scale out: --strategy mirrored trains on every local GPU (synchronous data parallelism;
--batch-size is the global batch); --strategy multiworker trains on the machines listed
in the TF_CONFIG environment variable, started with the same command on each. Each
worker keeps its own backup (default <output-dir>/.backup-<run-name>-worker<i>); only
the chief (worker 0) writes the run directory. See docs/scale.md.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from emotag.config import (
    StepLog,
    choice,
    non_negative_float,
    non_negative_int,
    option,
    parse_config,
    positive_int,
    setup_logging,
    unit_fraction,
)
from emotag.data.datasets import DatasetSpec, load_dataset
from emotag.data.goemotions import Dataset
from emotag.embeddings import sources
from emotag.embeddings.sources import EmbeddingResult
from emotag.embeddings.vocabulary import OPEN_VOCAB_SIZE, VOCABULARIES, build_vocabulary
from emotag.evaluation.scoring import CalibrationSpec, calibrate_and_score
from emotag.models.bilstm import build_bilstm_classifier
from emotag.models.export import export_saved_model
from emotag.models.fused_bilstm import FusedBiLSTMClassifier, can_fuse
from emotag.runs import layout
from emotag.runs.info import write_run_info
from emotag.runs.writer import RunWriter, try_it_command
from emotag.text.batching import LengthSorted, make_dataset
from emotag.text.preprocessing import PreprocessConfig, TextNormalizer
from emotag.text.tokenizer import TextEncoder, WordTokenizer, iter_token_lists
from emotag.training.backup import (
    TrainingBackup,
    prepare_backup_dir,
    skip_shuffles,
    smallest_across_workers,
)
from emotag.training.budget import EpochBudget, epoch_budget, stop_reason
from emotag.training.callbacks import (
    VERBOSE_CHOICES,
    DropRateOnPlateau,
    SwapAveragedWeights,
    ValidationMacroF1,
    progress_verbosity,
)
from emotag.training.callbacks import selection_callbacks as dev_f1_selection
from emotag.training.fault_tolerance import (
    PersistentEarlyStopping,
    fix_keras_multiworker,
    make_strategy,
    weights_digest,
    worker_role,
)
from emotag.training.losses import make_loss

log = logging.getLogger("train_biLSTM")
# The training dataset shuffles itself; Keras warns that fit's shuffle=True is then ignored.
warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")


@dataclasses.dataclass
class TrainConfig(DatasetSpec, CalibrationSpec):
    """Data flags (--dataset, --data-dir, --label-cols, --exclude-ids, ...): `DatasetSpec`."""

    # tweet rules: #CamelCase hashtags split behind <hashtag>, "!!!" -> "! <repeat>"
    tweet_preprocessing: bool = False
    # word vectors: a source (minilm-static, minilm, wordllama, word2vec, fasttext, random,
    # glove-twitter-25/50/100/200; emotag.embeddings.sources), encoder:RUN (a fine-tuned
    # `emotag train bert` run's states pooled per training word), or a GloVe / word2vec
    # file, or several joined by "+" (stacked side by side, e.g. minilm-static+wordllama);
    # minilm-static had the best mean dev macro-F1 of the offline sources over 3 seeds
    embeddings: str = "minilm-static"
    # vector size; None = the source's (100 for vectors trained here); smaller = PCA (in a
    # stack: the size of the parts trained here, no PCA)
    embedding_dim: int | None = None
    trainable_embeddings: bool = False  # fine-tune the embedding matrix (--search: frozen wins)
    # most epochs; None = scaled to the data size (emotag.training.budget: 12 on GoEmotions,
    # up to 100 on a few thousand texts); early stopping on dev macro-F1 ends runs sooner
    epochs: int | None = None
    # epochs without dev macro-F1 gain before stopping; None = scaled to the data size (3 on
    # GoEmotions, up to 10 on small data, where an epoch is a few updates)
    patience: int | None = None
    # training texts per batch (the global batch with --strategy)
    batch_size: int = option(64, type=positive_int)
    learning_rate: float = 3e-3  # Adam learning rate (from --search)
    # exponential moving average of the weights over about this many epochs (Polyak
    # averaging; momentum 1 - 1 / (epochs x steps per epoch)): scored on dev, kept and
    # exported in place of the raw weights. 0 = off
    weight_averaging: float = option(0.0, type=non_negative_float)
    # after each epoch that does not raise dev macro-F1 to a new best, multiply the
    # learning rate by this (a step-down on plateaus, counted from the early-stopping
    # record, so a resumed run goes on at the same rate). 1 = constant rate
    lr_drop: float = option(1.0, type=unit_fraction)
    lstm_units: int = 192  # LSTM units per direction (from --search)
    attention_units: int = 128  # hidden size of the additive attention scorer
    dropout: float = 0.4  # dropout on the embeddings and before the output layer (from --search)
    # how the BiLSTM states become one vector: additive attention (what --explain shows),
    # label attention (a query and a pooled vector per label; --explain mixes the labels'
    # weights by their probabilities), or masked mean / max pooling (ablations)
    pooling: str = choice("attention", ("attention", "label-attention", "mean", "max"))
    # a ReLU layer of this width between the pooled vector and the output (Tang et al.,
    # 2019, for distilled BiLSTMs); runs once per text, not per token. 0 = none
    head_units: int = option(0, type=non_negative_int)
    # training loss: class-balanced focal (Cui et al. 2019), focal, or binary cross-entropy
    loss: str = choice("cb_focal", ("cb_focal", "focal", "bce"))
    gamma: float = 0.0  # focal exponent; --search preferred 0 (class-balanced BCE) to 1 and 2
    beta: float = 0.99  # class-balance beta (Cui et al. 2019), from --search
    # tokens kept per text; None = the --length-percentile of training token counts
    max_len: int | None = None
    length_percentile: float = 99.0  # max_len when None: this percentile of training lengths
    min_count: int = 2  # rarer training words map to <unk> (open: only those without a vector)
    # closed: training words seen --min-count times, all else <unk>; open: also every word
    # the embedding source has a vector for, rare training words and the --open-vocab-size
    # most frequent words beyond train (emotag.embeddings.vocabulary)
    vocabulary: str = choice("closed", VOCABULARIES)
    # words of the open list (wordfreq English for subword sources, a vector file's first
    # words) --vocabulary open takes; 30k reach words seen once per million
    open_vocab_size: int = option(OPEN_VOCAB_SIZE, type=positive_int)
    seed: int = 42  # seed of initial weights, shuffling, dropout and vectors trained here
    output_dir: str = "artifacts"  # the run is written to <output_dir>/<run_name>/
    run_name: str | None = None  # None = bilstm-<taxonomy or dataset>-<embeddings>-s<seed>
    cache_dir: str = "embeddings"  # where downloaded / derived vectors are cached
    # Keras progress: auto = a bar on a terminal, else one line per epoch; 0 = none, 1 = bar
    verbose: str = choice("auto", VERBOSE_CHOICES)
    search: bool = False  # random hyperparameter search (BILSTM_SPACE) on dev; no final run
    search_trials: int = 10  # trials of --search
    search_epochs: int = 3  # epochs per trial (the best epoch counts)
    # distribution: default (one device), mirrored (every local GPU) or multiworker (the
    # machines in TF_CONFIG, each started with the same command)
    strategy: str = choice("default", ("default", "mirrored", "multiworker"))
    # resumable training state; None = <output_dir>/.backup-<run> (+ -worker<i> in a cluster)
    backup_dir: str | None = None
    backup_every: int = 200  # also back up every N training steps (0 = epoch ends only)


def parse_args(argv=None) -> TrainConfig:
    config = parse_config(TrainConfig, argv, description=__doc__)
    check_architecture(config)
    return config


def check_architecture(config: TrainConfig) -> None:
    """Refuses layer combinations the model builder cannot make, before any data loads."""
    if config.head_units and config.pooling == "label-attention":
        raise ValueError("--head-units is not available with --pooling label-attention")


@dataclasses.dataclass
class Prepared:
    """Everything a model needs that does not depend on its hyperparameters."""

    data: Dataset  # train possibly cut to config.limit, edited by exclude_ids / extra_train
    preprocess: PreprocessConfig
    tokenizer: WordTokenizer
    encoder: TextEncoder
    embedding: EmbeddingResult
    train_ids: list[np.ndarray]  # the training texts' token ids, unpadded
    train_ds: tf.data.Dataset
    dev: LengthSorted  # dev and test ids in length order, for prediction
    test: LengthSorted
    # further run_info.json entries (a distilled student names its teachers and transfer set)
    info: dict = dataclasses.field(default_factory=dict)
    # further calibrate_and_score arguments (a student's thresholds also heed its teacher)
    scoring: dict = dataclasses.field(default_factory=dict)

    def budget(self, config: TrainConfig) -> EpochBudget:
        """The run's epoch cap and patience for this training set's batches per epoch."""
        steps = int(self.train_ds.cardinality())
        return epoch_budget(max(1, steps), config.epochs, config.patience)


def prepare(config: TrainConfig, data: Dataset | None = None) -> Prepared:
    """Loads the data (unless given), fits the tokenizer on train, builds embeddings and
    datasets."""
    if data is None:
        data = load_dataset(DatasetSpec.from_config(config))  # limit, exclude_ids, extra_train
    log.info(
        "%d train / %d dev / %d test texts, %d labels (%s)",
        len(data.train.texts), len(data.dev.texts), len(data.test.texts),
        len(data.label_names), data.taxonomy,
    )  # fmt: skip

    preprocess = (
        PreprocessConfig.tweet() if config.tweet_preprocessing else PreprocessConfig()
    ).resolved()
    normalizer = TextNormalizer(preprocess)
    # Every training word and its count; build_vocabulary applies --min-count.
    tokenizer = WordTokenizer.fit(
        data.train.texts, normalizer, min_count=1, length_percentile=config.length_percentile
    )
    if config.max_len:
        tokenizer.max_len = config.max_len

    train_tokens = None
    if sources.needs_train_texts(config.embeddings):
        batches = iter_token_lists(data.train.texts, normalizer)
        train_tokens = [tokens for batch in batches for tokens in batch]
    tokenizer, embedding = build_vocabulary(
        tokenizer,
        config.embeddings,
        config.vocabulary,
        min_count=config.min_count,
        open_size=config.open_vocab_size,
        normalizer=normalizer,
        train_token_lists=train_tokens,
        cache_dir=config.cache_dir,
        dim=config.embedding_dim,
        seed=config.seed,
    )
    encoder = TextEncoder(preprocess, tokenizer)
    log.info("vocabulary %d words, max_len %d", tokenizer.vocab_size, tokenizer.max_len)
    log.info("embeddings %s: %s", config.embeddings, embedding.summary())

    x_train, x_dev, x_test = (encoder.encode(s.texts) for s in (data.train, data.dev, data.test))
    return Prepared(
        data, preprocess, tokenizer, encoder, embedding, x_train,
        train_ds=make_dataset(
            x_train, data.train.labels, config.batch_size, shuffle_seed=config.seed
        ),
        dev=LengthSorted(x_dev),
        test=LengthSorted(x_test),
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
        head_units=config.head_units,
    )
    loss = make_loss(config.loss, class_counts=counts, gamma=config.gamma, beta=config.beta)
    model.compile(optimizer=make_optimizer(config, prepared), loss=loss)
    return model


def ema_momentum(averaging_epochs: float, steps_per_epoch: int) -> float:
    """The weight-average momentum whose horizon (1 / (1 - momentum)) is that many epochs."""
    return 1.0 - 1.0 / max(1.0, averaging_epochs * steps_per_epoch)


def make_optimizer(config: TrainConfig, prepared: Prepared) -> keras.optimizers.Optimizer:
    """Adam with gradient clipping, keeping a moving average of the weights if asked."""
    if not config.weight_averaging:
        return keras.optimizers.Adam(config.learning_rate, clipnorm=1.0)
    momentum = ema_momentum(config.weight_averaging, prepared.budget(config).steps_per_epoch)
    log.info("weight averaging: EMA momentum %.5f", momentum)
    return keras.optimizers.Adam(
        config.learning_rate, clipnorm=1.0, use_ema=True, ema_momentum=momentum,
        ema_overwrite_frequency=None,
    )  # fmt: skip


def dev_selection_data(prepared: Prepared) -> tuple:
    """(dev dataset, its labels in the dataset's order): what model selection scores."""
    return prepared.dev.dataset, prepared.dev.sorted(prepared.data.dev.labels)


def selection_callbacks(config: TrainConfig, prepared: Prepared) -> list[keras.callbacks.Callback]:
    """Dev macro-F1 at tuned thresholds each epoch, early stopping on it, best weights kept."""
    return dev_f1_selection(*dev_selection_data(prepared), prepared.budget(config).patience)


def train(config: TrainConfig, prepare_fn=None, build_fn=None) -> Path:
    """Trains, calibrates on dev, scores test once, and writes the run directory.

    Args:
        config: the training configuration.
        prepare_fn: `prepare` by default; a distilled student's adds its transfer set.
        build_fn: `build_model` by default; a student's compiles the distillation loss.

    Returns:
        The run directory.
    """
    prepare_fn, build_fn = prepare_fn or prepare, build_fn or build_model
    started = time.time()
    # MultiWorkerMirroredStrategy must exist before any other TensorFlow op runs.
    strategy = make_strategy(config.strategy)
    keras.utils.set_random_seed(config.seed)
    run_name = (
        config.run_name
        or f"bilstm-{label_set(config)}-{Path(config.embeddings).name}-s{config.seed}"
    )
    role = worker_role(strategy)
    backup_dir = prepare_backup_dir(config, run_name, role.name)
    prepared = prepare_fn(config)
    prepared_at = time.time()  # data, word vectors, tokenizer (a student's teacher labels)
    budget = prepared.budget(config)
    log.info(
        "at most %d epochs of %d steps (%s), patience %d (%s)", budget.epochs,
        budget.steps_per_epoch, budget.epochs_rule, budget.patience, budget.patience_rule,
    )  # fmt: skip
    log.info("strategy %s, %d replica(s)", config.strategy, strategy.num_replicas_in_sync)
    with strategy.scope():
        model = build_fn(config, prepared)
    if role.workers > 1:
        fix_keras_multiworker(model)  # two Keras 3 bugs with several workers
    # Early stopping keeps its state (best score, epoch, weights) on disk beside the
    # backup, so a restarted run still ends on the true best epoch.
    stopper = PersistentEarlyStopping(
        backup_dir / "best", "val_macro_f1", mode="max", patience=budget.patience
    )
    # Backs up every --backup-every steps and at each epoch end (deleted with backup_dir
    # once the run is written).
    backup = TrainingBackup(
        backup_dir / "keras", save_freq=config.backup_every, workers=role.workers
    )
    rate = (
        [DropRateOnPlateau(stopper, config.lr_drop, config.learning_rate)]
        if config.lr_drop < 1 else []
    )  # fmt: skip
    selection = [ValidationMacroF1(*dev_selection_data(prepared)), *rate, stopper]
    if config.weight_averaging:
        # The average is scored on dev and kept as the best weights; the raw weights are
        # back before the backup and the next epoch.
        selection = [SwapAveragedWeights(), *selection, SwapAveragedWeights()]
    callbacks = [*selection, backup]
    stopped = (int(stopper.load() and stopper.stopped),)
    if role.workers > 1:  # all train on, unless every worker's run had stopped
        stopped = smallest_across_workers(strategy, stopped)
    if stopped[0]:
        log.info("the backed-up run had stopped early; writing its run directory")
        model.load_weights(stopper.weights_path)
    else:
        skip_shuffles(prepared.train_ds, backup.epochs_done())  # epoch k's order, as unkilled
        model.fit(
            prepared.train_ds,
            epochs=budget.epochs,
            callbacks=callbacks,
            verbose=progress_verbosity(config.verbose),
        )
    history = stopper.history  # every epoch, restarts included
    best_epoch = int(np.argmax(history["val_macro_f1"])) + 1
    prepared.info.update(
        # Where the wall time went: a student's one-off vectors and labels are cached, so
        # the next student's prepare step is short while its fitting is not.
        prepare_time_s=round(prepared_at - started, 1),
        fit_time_s=round(time.time() - prepared_at, 1),
        best_epoch=best_epoch,
        epoch_budget=budget.to_json(),
        stop_reason=stop_reason(budget, len(history["loss"]), stopper.stopped, best_epoch),
    )
    log.info("stopped: %s", prepared.info["stop_reason"])
    log.info("final weights: sha256 %s (%s)", weights_digest(model), role.name or "alone")
    if role.chief:
        run_dir = write_run(config, run_name, prepared, model, history, started)
    else:
        # Saving may take part in collective ops, so every worker saves, the others
        # into a temporary directory that is then dropped (TensorFlow's guidance).
        scratch = Path(tempfile.mkdtemp(prefix=f"emotag-{role.name}-"))
        try:
            write_run(dataclasses.replace(config, output_dir=str(scratch)), run_name,
                      prepared, model, history, started)  # fmt: skip
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        run_dir = Path(config.output_dir) / run_name
        log.info("%s done; the chief writes the run to %s", role.name, run_dir)
    shutil.rmtree(backup_dir, ignore_errors=True)
    return run_dir


def write_run(
    config: TrainConfig, run_name: str, prepared: Prepared, model: keras.Model,
    history: dict, started: float,
) -> Path:  # fmt: skip
    """Predicts dev and test, calibrates, exports and writes the run directory.

    Args:
        config: the training configuration (the run lands in `config.output_dir`).
        run_name: the run directory's name.
        prepared: the data, tokenizer and embeddings the model was trained with.
        model: the trained model (best epoch's weights).
        history: every epoch's logs.
        started: `time.time()` when training started (for the wall time).

    Returns:
        The run directory.
    """
    data, encoder, tokenizer = prepared.data, prepared.encoder, prepared.tokenizer
    preprocess, embedding = prepared.preprocess, prepared.embedding
    phase = StepLog(log)
    with RunWriter(config.output_dir, run_name) as run:
        phase.start("predicting dev and test")
        dev_probs, test_probs = prepared.dev.predict(model), prepared.test.predict(model)
        phase.start("calibrating thresholds on dev, scoring test")
        calibration, report = calibrate_and_score(
            run.path, data, dev_probs, test_probs, title=f"{run_name}: test per-class F1",
            **config.scoring_options(), **prepared.scoring,
        )  # fmt: skip
        phase.start("exporting the SavedModel")
        export_saved_model(
            model,
            encoder,
            calibration.thresholds,
            data.label_names,
            run.path / layout.SAVED_MODEL,
            **calibration.export_settings(),
            # Same outputs with a third of the arithmetic (emotag.models.fused_bilstm).
            serving_model=FusedBiLSTMClassifier(model) if can_fuse(model) else None,
        )
        phase.start("saving model.keras, the tokenizer and the run's records")
        model.save(run.path / layout.MODEL_KERAS)
        tokenizer.save(run.path / layout.TOKENIZER)
        preprocess.save(
            run.path / layout.PREPROCESS_CONFIG,
            max_len=tokenizer.max_len,
            vocab_size=tokenizer.vocab_size,
        )
        run.write_json(layout.EMBEDDINGS, embedding.summary())
        run.write_json(layout.HISTORY, history)
        write_run_info(
            run.path, dataclasses.asdict(config), started, report, kind=layout.BILSTM,
            excluded_ids=prepared.data.excluded_ids,
            model="bilstm", epochs_run=len(history["loss"]), **prepared.info,
        )  # fmt: skip
        phase.done()
    return run.final_path


def label_set(config: TrainConfig) -> str:
    """The taxonomy for GoEmotions, else the dataset name (for run names)."""
    return DatasetSpec.from_config(config).label_set


def search(config: TrainConfig) -> dict:
    """Random search on dev; writes <output_dir>/search-<taxonomy>/search_log.json."""
    from emotag.training.search import BILSTM_SPACE, run_search

    keras.utils.set_random_seed(config.seed)
    prepared = prepare(config)
    base = dataclasses.replace(config, patience=1)
    return run_search(
        base, BILSTM_SPACE,
        build_fn=lambda c: build_model(c, prepared),
        callbacks_fn=lambda c: selection_callbacks(c, prepared),
        train_ds=prepared.train_ds,
        out_dir=Path(config.output_dir) / f"search-{label_set(config)}",
        max_trials=config.search_trials, epochs=config.search_epochs, seed=config.seed,
        verbose=progress_verbosity(config.verbose),
    )  # fmt: skip


def main(argv=None) -> int:
    setup_logging()
    config = parse_args(argv)
    if config.search:
        search(config)
    else:
        log.info("try it: %s", try_it_command(train(config)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
