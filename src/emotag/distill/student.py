"""Distil one or more teacher runs into the BiLSTM: a normal BiLSTM run, taught.

Usage:
    python src/distill.py --teacher artifacts/ens-minilm-bilstm-tfidf
    python src/distill.py --teacher artifacts/minilm --teacher artifacts/tfidf-lr \\
        --augment-multiple 2 --soft-weight 0.8 --lstm-units 128 --run-name student-128
    python src/distill.py --teacher artifacts/minilm --unlabeled reddit_comments.txt
    python src/distill.py --teacher artifacts/minilm --augment-multiple 0   # train texts only
    python src/distill.py --teacher artifacts/ens-teacher --lstm-units 128 \\
        --embeddings minilm-static+wordllama   # the README's fast student (stacked vectors)
    python src/distill.py --teacher artifacts/ens --cross-fit-teacher artifacts/ens-A \\
        --cross-fit-teacher artifacts/ens-B   # out-of-fold soft targets on train

The student is the BiLSTM of train_biLSTM.py with all of its flags (data, embeddings,
units, seed, ...). It learns from every training text's gold labels and the teacher's
probabilities, and from a transfer set labelled by the teacher alone: augmented copies
of the training texts (Tang et al., 2019: masking, embedding-neighbour substitution,
n-gram sampling; --augment-multiple copies of train) and the lines of --unlabeled. No
dev or test text enters the transfer set. The loss is `(1 - w) * gold loss + w * soft
loss` (--soft-weight w; emotag.models.losses.DistillationLoss). Several --teacher runs
are averaged; for tuned weights, make an ensemble run first (`emotag ensemble
--tune-weights`) and pass it as the one teacher. The teacher's probabilities are cached
under --cache-dir/teacher-labels, so further students (other seeds, weights, sizes)
skip the labelling. A teacher trained on the training texts scores them better than
text it never saw; --cross-fit-teacher runs (trained with --exclude-ids, e.g. one per
half of train) label the training texts they never saw instead, and --teacher keeps the
transfer set and any training text none of them left out (on GoEmotions, two half-train
teachers taught no better: README, "Cross-fitted teacher labels"). The run directory is a
BiLSTM run like any other (thresholds tuned on dev, test scored once, the raw-string
SavedModel); run_info.json and the model card name the teachers and the transfer set.
With --threshold-gold-weight below 1, its per-class thresholds are tuned against the dev
labels mixed with the teacher's dev probabilities (the labels' share; 1 = labels alone).
"""

from __future__ import annotations

import dataclasses
import logging
import sys
from pathlib import Path

import keras
import numpy as np

from emotag.augment.offline import NeighbourSubstitution
from emotag.config import choice, option, parse_config, setup_logging
from emotag.data.datasets import DatasetSpec, load_dataset
from emotag.distill.teacher import (
    check_label_set,
    cross_fitted_probabilities,
    held_out_ids,
    teacher_identity,
    teacher_probabilities,
)
from emotag.distill.transfer import (
    AugmentRates,
    Deduplicator,
    augmented_copies,
    read_unlabeled,
)
from emotag.models.losses import DistillationLoss
from emotag.runs.writer import try_it_command
from emotag.text.batching import make_dataset
from emotag.text.tokenizer import iter_token_lists
from emotag.training import bilstm
from emotag.training.losses import class_balanced_weights

log = logging.getLogger("distill")


@dataclasses.dataclass(kw_only=True)  # `teacher` has no default but follows the base's fields
class DistillConfig(bilstm.TrainConfig):
    """The BiLSTM's flags (`TrainConfig`) plus the teacher, transfer set and loss mix."""

    teacher: list[str] = option(action="append")  # a teacher run (repeatable: averaged)
    # a run trained with --exclude-ids (repeatable; an ensemble's members all with the
    # same ids): it labels the training texts it never saw in place of --teacher
    cross_fit_teacher: list[str] | None = option(None, action="append", metavar="RUN")
    # weight of the soft-target term; the gold-label loss gets 1 minus it. 0.8 was chosen
    # on dev over 0.2/0.5/0.8/1.0 (benchmarks/results/distill_mix.md; README)
    soft_weight: float = 0.8
    # soft term: binary cross-entropy against the teacher's probabilities, or squared
    # error between logits (Tang et al., 2019; clearly worse on GoEmotions' dev, README)
    soft_loss: str = choice("bce", ("bce", "mse"))
    temperature: float = 1.0  # softens teacher and student logits in the soft term
    # class-balanced weights of this beta (Cui et al., 2019) on the soft term's classes, from
    # the training labels' counts; None = every class alike. The gold loss's --beta (0.99)
    # weighs only the rarest classes up; 0.999 approaches inverse frequency. Neither beat
    # classes alike on GoEmotions' dev (README, "The soft term's form")
    soft_class_beta: float | None = None
    # augmented copies of every training text in the transfer set (0 = none)
    augment_multiple: int = 1
    p_mask: float = 0.1  # augmentation: a word becomes [MASK] (Tang et al., 2019)
    p_sub: float = 0.1  # augmentation: a word becomes a neighbour in the word vectors
    p_ng: float = 0.25  # augmentation: a copy is cut to a random 1-5-gram
    unlabeled: str | None = None  # a file of unlabeled in-domain texts, one per line
    unlabeled_limit: int | None = None  # keep at most this many --unlabeled lines
    # weight of the dev labels in what the per-class thresholds are tuned against; the rest
    # is the teacher's dev probabilities, labelled once and cached (a rare class's cut then
    # rests on more than its few dev positives). 1 = the labels alone; 0.5 led them by
    # +0.0016 on held-out halves of dev (11 of 12 students), short of the bar for a default
    # (README, "Thresholds that heed the teacher")
    threshold_gold_weight: float = 1.0


def parse_args(argv=None) -> DistillConfig:
    config = parse_config(DistillConfig, argv, description=__doc__)
    check_config(config)
    return config


def check_config(config: DistillConfig) -> None:
    """Clear errors for values the parser cannot catch.

    Raises:
        ValueError: When a value is out of range, a teacher is not a servable run or
            the --unlabeled file holds no text.
        FileNotFoundError: When the --unlabeled file does not exist.
    """
    bilstm.check_architecture(config)
    if not config.teacher:
        raise ValueError("give at least one --teacher run")
    if config.search:
        raise ValueError("--search tunes the plain BiLSTM: run it with train_biLSTM.py")
    if not 0.0 <= config.soft_weight <= 1.0:
        raise ValueError(f"--soft-weight must be in [0, 1], got {config.soft_weight}")
    if config.temperature <= 0:
        raise ValueError(f"--temperature must be positive, got {config.temperature}")
    if config.soft_class_beta is not None and not 0.0 <= config.soft_class_beta < 1.0:
        raise ValueError(f"--soft-class-beta must be in [0, 1), got {config.soft_class_beta}")
    if not 0.0 <= config.threshold_gold_weight <= 1.0:
        raise ValueError(
            f"--threshold-gold-weight must be in [0, 1], got {config.threshold_gold_weight}"
        )
    if config.augment_multiple < 0:
        raise ValueError(f"--augment-multiple must be >= 0, got {config.augment_multiple}")
    if config.unlabeled_limit is not None:
        if config.unlabeled_limit < 1:
            raise ValueError(f"--unlabeled-limit must be >= 1, got {config.unlabeled_limit}")
        if not config.unlabeled:
            raise ValueError("--unlabeled-limit needs an --unlabeled file")
    AugmentRates(config.p_mask, config.p_sub, config.p_ng)  # checks the rates
    for run in config.teacher:
        teacher_identity(run)  # NotARunError / FileNotFoundError now, not after an hour
    for run in config.cross_fit_teacher or ():
        teacher_identity(run)
        held_out_ids(run)  # ValueError / FileNotFoundError: no ids it left out
    if config.unlabeled and next(read_unlabeled(config.unlabeled), None) is None:
        raise ValueError(f"--unlabeled {config.unlabeled}: every line is blank")


def build_transfer_set(config: DistillConfig, prepared: bilstm.Prepared) -> tuple[list, dict]:
    """The transfer texts (augmented train, then --unlabeled lines) and their counts."""
    data, normalizer = prepared.data, prepared.encoder.normalizer

    def keys(texts: list[str]) -> list[str]:
        return [" ".join(t) for batch in iter_token_lists(texts, normalizer) for t in batch]

    dedup = Deduplicator(keys, held_out=[*data.dev.texts, *data.test.texts], seen=data.train.texts)
    texts: list[str] = []
    counts = {"augmented": 0, "unlabeled": 0}
    if config.augment_multiple:
        # Plain words only: no <unk>, [name] placeholders or <number>-style tokens.
        words = sorted(
            (w for w in prepared.tokenizer.word_index if w.replace("'", "").isalpha()),
            key=prepared.tokenizer.word_index.get,
        )
        vectors = prepared.embedding.matrix[[prepared.tokenizer.word_index[w] for w in words]]
        swap = NeighbourSubstitution(words, vectors)
        rates = AugmentRates(config.p_mask, config.p_sub, config.p_ng)
        copies = augmented_copies(
            data.train.texts, config.augment_multiple, config.seed, rates, swap.neighbours
        )
        texts += dedup.filter(copies)
        counts["augmented"] = len(texts)
    if config.unlabeled:
        before = dict(dedup.dropped)
        texts += dedup.filter(read_unlabeled(config.unlabeled), limit=config.unlabeled_limit)
        counts["unlabeled"] = len(texts) - counts["augmented"]
        if not counts["unlabeled"]:
            dropped = {k: n - before[k] for k, n in dedup.dropped.items() if n > before[k]}
            raise ValueError(
                f"--unlabeled {config.unlabeled}: no line is new text (dropped as dev/test "
                f"texts, repeats of train or of each other, or empty after normalising: "
                f"{dropped})"
            )
    counts["dropped"] = dict(dedup.dropped)
    log.info("transfer set: %s", counts)
    return texts, counts


def prepare_student(config: DistillConfig) -> bilstm.Prepared:
    """The BiLSTM's data, plus the transfer set and packed (gold, teacher, has_gold) targets.

    Raises:
        ValueError: When a teacher's labels are not the data's (before any word vectors).
    """
    data = load_dataset(DatasetSpec.from_config(config))
    for run in [*config.teacher, *(config.cross_fit_teacher or ())]:
        check_label_set(run, data.label_names)
    prepared = bilstm.prepare(config, data)
    train = prepared.data.train
    transfer, counts = build_transfer_set(config, prepared)
    names = prepared.data.label_names
    soft_train, cross_fit = train_soft_targets(config, train, names)
    soft_transfer = (
        teacher_probabilities(config.teacher, transfer, config.cache_dir, names, what="transfer")
        if transfer else np.zeros((0, len(names)), "float32")
    )  # fmt: skip
    targets = np.concatenate([
        pack_targets(train.labels, soft_train, has_gold=True),
        pack_targets(np.zeros_like(soft_transfer), soft_transfer, has_gold=False),
    ])  # fmt: skip
    ids = prepared.train_ids + prepared.encoder.encode(transfer)
    prepared.train_ds = make_dataset(ids, targets, config.batch_size, shuffle_seed=config.seed)
    if config.threshold_gold_weight < 1:
        prepared.scoring.update(
            gold_weight=config.threshold_gold_weight,
            soft_labels=teacher_probabilities(config.teacher, prepared.data.dev.texts,
                                              config.cache_dir, names, what="dev"),
        )  # fmt: skip
    prepared.info.update(
        teachers=run_entries(config.teacher),
        transfer_set={"train": len(train.texts), **counts},
        **cross_fit,
        teacher_train_agreement=agreement(train.labels, soft_train),
    )
    return prepared


def train_soft_targets(config: DistillConfig, train, names) -> tuple[np.ndarray, dict]:
    """The teacher's probabilities on the training texts, and run_info entries.

    With --cross-fit-teacher, a training text's come from the cross-fit runs that never
    saw it; --teacher labels only the texts none of them left out.
    """
    if not config.cross_fit_teacher:
        soft = teacher_probabilities(config.teacher, train.texts, config.cache_dir, names,
                                     what="train")  # fmt: skip
        return soft, {}
    soft, votes = cross_fitted_probabilities(
        config.cross_fit_teacher, train.ids, train.texts, config.cache_dir, names
    )
    rest = np.flatnonzero(votes == 0)
    if len(rest):
        soft[rest] = teacher_probabilities(
            config.teacher, [train.texts[i] for i in rest], config.cache_dir, names,
            what="train not held out",
        )  # fmt: skip
    out_of_fold = len(train.texts) - len(rest)
    log.info("train soft targets: %d texts out of fold, %d from --teacher",
             out_of_fold, len(rest))  # fmt: skip
    info = {
        "cross_fit_teachers": run_entries(config.cross_fit_teacher),
        "train_out_of_fold": int(out_of_fold),
    }
    return soft, info


def run_entries(runs: list[str]) -> list[dict]:
    """run_info.json's record of teacher runs: where each is and what it computes."""
    return [{"run_dir": str(Path(t).resolve()), "identity": teacher_identity(t)[:20]} for t in runs]


def pack_targets(gold: np.ndarray, soft: np.ndarray, has_gold: bool) -> np.ndarray:
    """(n, 2C + 1) rows of gold labels, teacher probabilities and the has-gold flag."""
    flag = np.full((len(gold), 1), float(has_gold), dtype="float32")
    return np.concatenate([gold.astype("float32"), soft.astype("float32"), flag], axis=1)


def agreement(gold: np.ndarray, soft: np.ndarray) -> float:
    """Share of training labels where the teacher's probability is on the gold side of 0.5."""
    return float(np.mean((soft >= 0.5) == (gold > 0)))


def build_student(config: DistillConfig, prepared: bilstm.Prepared) -> keras.Model:
    """The BiLSTM compiled with the distillation loss around its usual loss."""
    model = bilstm.build_model(config, prepared)
    weights = None
    if config.soft_class_beta is not None:
        counts = prepared.data.train.labels.sum(axis=0)
        weights = list(class_balanced_weights(counts, beta=config.soft_class_beta))
    loss = DistillationLoss(
        model.loss, soft_weight=config.soft_weight, temperature=config.temperature,
        soft_loss=config.soft_loss, class_weights=weights,
    )  # fmt: skip
    model.compile(optimizer=model.optimizer, loss=loss)  # build_model's Adam, not yet built
    return model


def distill(config: DistillConfig) -> Path:
    """Trains the student and writes its run directory; returns it."""
    check_config(config)
    if config.run_name is None:
        label_set = bilstm.label_set(config)
        config = dataclasses.replace(
            config, run_name=f"student-{label_set}-u{config.lstm_units}-s{config.seed}"
        )
    return bilstm.train(config, prepare_fn=prepare_student, build_fn=build_student)


def main(argv=None) -> int:
    setup_logging()
    log.info("try it: %s", try_it_command(distill(parse_args(argv))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
