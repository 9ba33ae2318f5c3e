"""The rule-based lexicon baseline: NRC Emotion Lexicon (VADER for sentiment) as a run.

Usage:
    python src/train_lexicon.py                          # GoEmotions, 28 labels (7 covered)
    python src/train_lexicon.py --taxonomy ekman         # every Ekman label covered
    python src/train_lexicon.py --taxonomy sentiment     # VADER: positive/negative/neutral
    python src/train_lexicon.py --dataset semeval-ec --data-dir SemEval2018-E-c

Nothing is learned from train. NRC runs (`emotag.models.lexicon`) score each label
named for an NRC category by its non-negated lexicon hits, and `neutral` when nothing
fires; other labels are not covered and never predicted. VADER runs
(`emotag.models.vader`) score positive / negative / neutral from the compound score.
As for every run, per-class thresholds are tuned on dev (covered labels only) and
test is scored once; the fixed rule ("any hit" / VADER's ±0.05) is scored too and
recorded in run_info.json. NRC runs export a core-TF SavedModel; VADER runs are
served in Python by `Predictor` (no SavedModel).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import sys
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np

from emotag.config import choice, dataclass_parser, setup_logging
from emotag.data.datasets import DatasetSpec, load_dataset
from emotag.evaluation.calibration import Calibration, calibrate
from emotag.evaluation.metrics import macro_f1, multilabel_report
from emotag.evaluation.scoring import calibrate_and_score
from emotag.models import lexicon as nrc
from emotag.models import vader
from emotag.models.export import export_text_module
from emotag.runs import layout
from emotag.runs.info import write_run_info
from emotag.runs.thresholds import apply_thresholds
from emotag.runs.writer import RunWriter, try_it_command

log = logging.getLogger("train_lexicon")

LEXICONS = ("auto", "nrc", "vader")


@dataclasses.dataclass
class LexiconConfig(DatasetSpec):
    """Data flags (--dataset, --data-dir, --taxonomy, ...) come from `DatasetSpec`."""

    # auto = VADER when the labels are polarities (positive and negative, no NRC
    # emotion), the NRC lexicon otherwise.
    lexicon: str = choice("auto", LEXICONS)
    negation_window: int = 3  # NRC: words this many tokens after a negator do not count
    output_dir: str = "artifacts"  # where the run directory is written
    run_name: str | None = None  # default: lexicon-<taxonomy or dataset>


def parse_args(argv=None) -> LexiconConfig:
    return LexiconConfig(**vars(dataclass_parser(LexiconConfig, __doc__).parse_args(argv)))


def choose_lexicon(choice_: str, label_names: list[str]) -> str:
    """"nrc" or "vader" for a label set (see `LexiconConfig.lexicon`).

    Raises:
        ValueError: When the chosen lexicon covers none of the labels.
    """
    emotions = set(label_names) & (set(nrc.NRC_CATEGORIES) - {"positive", "negative"})
    if choice_ == "auto":
        polarities = {"positive", "negative"} <= set(label_names)
        choice_ = "vader" if polarities and not emotions else "nrc"
    covered = (nrc if choice_ == "nrc" else vader).covered_labels(label_names)
    if not [name for name in covered if name != nrc.NEUTRAL]:
        raise ValueError(f"the {choice_} lexicon covers none of the labels {label_names}")
    return choice_


def calibrate_covered(
    dev_probs: np.ndarray, dev_labels: np.ndarray, covered: list[int]
) -> Calibration:
    """Thresholds tuned on dev for the covered labels; the uncovered ones never fire.

    An uncovered label scores 0 on every text, and the exact search would give it
    threshold 0 (predicting it everywhere beats F1 0), so it gets 1.0 instead. Dev
    scores are recomputed over every label, uncovered ones counting F1 0.

    Args:
        dev_probs: (n, labels) scores.
        dev_labels: (n, labels) 0/1 gold labels.
        covered: column indices of the covered labels.
    """
    sub = calibrate(dev_probs[:, covered], dev_labels[:, covered])
    thresholds = np.ones(dev_probs.shape[1], dtype="float32")
    thresholds[covered] = sub.thresholds
    per_class_f1 = np.zeros(dev_probs.shape[1])
    per_class_f1[covered] = sub.per_class_dev_f1
    scores = {
        "fixed_0.5": macro_f1(dev_labels, apply_thresholds(dev_probs, 0.5)),
        "global": macro_f1(dev_labels, dev_probs >= np.float32(sub.global_threshold)),
        "per_class": macro_f1(dev_labels, apply_thresholds(dev_probs, thresholds)),
        "per_class_at_least_one": macro_f1(
            dev_labels, apply_thresholds(dev_probs, thresholds, at_least_one=True)
        ),
    }
    return Calibration(
        thresholds=thresholds,
        global_threshold=sub.global_threshold,
        at_least_one=scores["per_class_at_least_one"] > scores["per_class"],
        dev_scores=scores,
        fallback_classes=[covered[i] for i in sub.fallback_classes],
        per_class_dev_f1=per_class_f1,
    )


def reference_counts(texts: list[str], lexicon: dict, label_names, window: int) -> np.ndarray:
    """(n, labels) NRC hits with NLTK's TweetTokenizer: what the graph's tokens imitate."""
    from nltk.tokenize import TweetTokenizer

    tokenizer = TweetTokenizer(preserve_case=False)
    return np.stack(
        [
            nrc.hit_counts(tokenizer.tokenize(re.sub(nrc.APOSTROPHES, "'", t)), lexicon,
                           label_names, window)  # fmt: skip
            for t in texts
        ]
    ).reshape(len(texts), len(label_names))


def fixed_rule_figures(probs, labels, thresholds, label_names, covered) -> dict:
    """Macro / micro F1 of the fixed rule (no tuning) on one split."""
    report = multilabel_report(labels, apply_thresholds(probs, thresholds), label_names)
    return {
        "macro_f1": report["macro"]["f1"],
        "micro_f1": report["micro"]["f1"],
        "macro_f1_covered": covered_macro_f1(report, covered),
    }


def covered_macro_f1(report: dict, covered: list[str]) -> float:
    """Mean F1 of the covered labels in a `multilabel_report`."""
    return float(np.mean([row["f1"] for row in report["per_class"] if row["label"] in covered]))


def build_model(name: str, label_names: list[str], window: int):
    """(scorer, description for run_info) of the chosen lexicon."""
    if name == "vader":
        return vader.VaderClassifier(label_names), {
            "name": "vader", "package": f"vaderSentiment {version('vaderSentiment')}",
            "cutoff": vader.CUTOFF,
        }  # fmt: skip
    model = nrc.NrcLexiconClassifier(nrc.load_nrc_lexicon(), label_names, window)
    return model, {
        "name": "nrc", "package": f"nrclex {version('nrclex')} (nrc_en.json)",
        "words": model.num_words, "negation_window": window,
        "negators": nrc.NEGATOR_PATTERN, "scope_ends_at": nrc.STOP_PATTERN,
    }  # fmt: skip


def train(config: LexiconConfig) -> Path:
    """Scores dev and test with the lexicon, calibrates on dev and writes the run.

    Returns:
        The run directory.
    """
    started = time.time()
    data = load_dataset(DatasetSpec.from_config(config))  # train is not used
    names = list(data.label_names)
    which = choose_lexicon(config.lexicon, names)
    module = nrc if which == "nrc" else vader
    covered = module.covered_labels(names)
    log.info("%s lexicon covers %d of %d labels: %s", which, len(covered), len(names), covered)
    model, described = build_model(which, names, config.negation_window)
    dev_probs = model.predict_proba(data.dev.texts)
    test_probs = model.predict_proba(data.test.texts)
    extra = {}
    if which == "nrc":
        reference = reference_counts(
            data.dev.texts, nrc.load_nrc_lexicon(), names, config.negation_window
        )
        graph = model.predict_counts(data.dev.texts)
        agreement = float(np.mean(np.all(reference == graph, axis=1))) if len(graph) else 1.0
        log.info("graph vs TweetTokenizer: same hit counts on %.2f%% of dev", 100 * agreement)
        extra["tweet_tokenizer_agreement_dev"] = agreement
    index = [names.index(name) for name in covered]
    calibration = calibrate_covered(dev_probs, data.dev.labels, index)
    fixed = module.fixed_thresholds(names)
    run_name = config.run_name or f"lexicon-{config.label_set}"
    with RunWriter(config.output_dir, run_name) as run:
        calibration, report = calibrate_and_score(
            run.path, data, dev_probs, test_probs, title=f"{run_name}: test per-class F1",
            calibration=calibration,
        )  # fmt: skip
        if which == "nrc":
            export_text_module(
                model, calibration.thresholds, names, run.path / layout.SAVED_MODEL,
                at_least_one=calibration.at_least_one,
            )  # fmt: skip
        write_run_info(
            run.path, dataclasses.asdict(config), started, report, kind=layout.LEXICON,
            excluded_ids=data.excluded_ids,
            model=f"lexicon-{which}", lexicon=described, covered_labels=covered,
            uncovered_labels=[n for n in names if n not in covered],
            test_macro_f1_covered=covered_macro_f1(report, covered),
            fixed_rule={
                "thresholds": dict(zip(names, map(float, fixed))),
                "dev": fixed_rule_figures(dev_probs, data.dev.labels, fixed, names, covered),
                "test": fixed_rule_figures(test_probs, data.test.labels, fixed, names, covered),
            },
            **extra,
        )  # fmt: skip
    log.info("test macro-F1 over the %d covered labels: %.4f", len(covered),
             covered_macro_f1(report, covered))  # fmt: skip
    return run.final_path


def main(argv=None) -> int:
    setup_logging()
    log.info("try it: %s", try_it_command(train(parse_args(argv))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
