"""Per-class thresholds tuned against soft dev labels -> benchmarks/results/soft_thresholds.md.

Usage:
    emotag benchmark soft-thresholds --models artifacts/<run> ...
    emotag benchmark soft-thresholds --models artifacts/<student> ... --teacher artifacts/<ens>
    emotag benchmark soft-thresholds --semeval-style /tmp/semeval-style

A class's best cut on dev follows its few dev positives. `calibrate(gold_weight=w)` tunes
each cut against `w` x the dev labels + (1 - w) x dev probabilities instead
(`calibration.threshold_target`): the model's own ("own"), or with --teacher a
distilled student's teacher's ("teacher"), each as it is or Platt-scaled to the labels
("own-platt", "teacher-platt"). Whether a weight pays is decided on dev alone:
dev is split `--halves` times into two halves (the splits of `benchmark thresholds`), each
weight's run is calibrated on one half as it would be served (bagged thresholds, the
at-least-one rule if it helps that half) and scored (macro-F1) on the other. Test is then
scored once per run and weight, with thresholds tuned on all of dev, for the record.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np

from emotag.benchmarks.thresholds import half_splits
from emotag.config import (
    HelpFormatter,
    command_line,
    positive_int,
    setup_logging,
    unit_interval,
)
from emotag.data.datasets import DatasetSpec, load_dataset
from emotag.evaluation.calibration import calibrate
from emotag.evaluation.metrics import macro_f1
from emotag.evaluation.scoring import THRESHOLD_RESAMPLES

log = logging.getLogger("benchmark.soft_thresholds")

GOLD_WEIGHTS = (1.0, 0.75, 0.5, 0.25)  # 1 = the labels alone: what runs were served with
# Whose dev probabilities make up the rest of the target; "-platt": Platt-scaled to the
# labels of the part of dev the thresholds are tuned on (`calibrate(platt=True)`).
SOFT_LABELS = ("own", "own-platt", "teacher", "teacher-platt")


def served(probs, labels, soft, weight: float, resamples: int, platt: bool):
    """The run's `Calibration` as served, its thresholds tuned against `weight` x `labels`
    + the rest x `soft` (None: `probs`), Platt-scaled to `labels` if `platt`."""
    return calibrate(probs, labels, resamples=resamples, gold_weight=weight, soft_labels=soft,
                     platt=platt)  # fmt: skip


def held_out_halves(
    probs, labels, soft, weights, resamples: int, halves: int, seed: int = 0, platt=False
):
    """{weight: [macro-F1 on one half of dev, calibrated on the other] per split}.

    The splits are `benchmarks.thresholds.held_out_halves`' (`half_splits`, the same
    seed), so the weight 1 figures are that benchmark's "served" ones.
    """
    scores = {w: [] for w in weights}
    for parts in half_splits(len(probs), halves, seed):
        tune, score = (
            (probs[rows], labels[rows], None if soft is None else soft[rows]) for rows in parts
        )
        for w in weights:
            calibration = served(*tune, w, resamples, platt)
            scores[w].append(macro_f1(score[1], calibration.predict(score[0])))
    return scores


def measure(
    run_dir, sources, weights, resamples, halves, data_dir=None, teacher=None, seen=None
):
    """One run's held-out-half scores and test figures per soft-label source and weight.

    Args:
        sources: names from `SOFT_LABELS`.
        teacher: a loaded `Predictor` of the teacher, for the "teacher" sources.
        seen: {dev texts: the teacher's probabilities} shared across runs, so students of
            one dataset have their teacher label dev once.

    Returns:
        A JSON-ready row per source.
    """
    from emotag.serving.predictor import Predictor

    predictor = Predictor.load(run_dir)
    data = load_dataset(
        DatasetSpec.from_config(predictor.run.train_config).for_evaluation(data_dir)
    )
    dev, test = predictor.predict_proba(data.dev.texts), predictor.predict_proba(data.test.texts)
    teacher_dev = None
    if any(s.startswith("teacher") for s in sources):
        seen = {} if seen is None else seen
        key = tuple(data.dev.texts)
        if key not in seen:
            seen[key] = teacher.predict_proba(data.dev.texts)
        teacher_dev = seen[key]
    rows = []
    for source in sources:
        soft = teacher_dev if source.startswith("teacher") else None
        platt = source.endswith("-platt")
        scores = held_out_halves(dev, data.dev.labels, soft, weights, resamples, halves,
                                 platt=platt)  # fmt: skip
        row = {"run": Path(run_dir).name, "soft_labels": source,
               "dev_examples": len(data.dev.texts), "weights": {}}  # fmt: skip
        for w in weights:
            calibration = served(dev, data.dev.labels, soft, w, resamples, platt)
            gains = np.subtract(scores[w], scores[weights[0]])
            row["weights"][str(w)] = {
                "halves": [float(x) for x in scores[w]],
                "half_mean": float(np.mean(scores[w])),
                "half_gain": float(gains.mean()),  # against the first weight
                "half_wins": int((gains > 0).sum()),
                "dev_macro_f1": macro_f1(data.dev.labels, calibration.predict(dev)),
                "test_macro_f1": macro_f1(data.test.labels, calibration.predict(test)),
            }
        rows.append(row)
    return rows


def report(results: list[dict], command: str, weights, resamples: int, halves: int,
           note=None) -> str:  # fmt: skip
    reference = str(weights[0])
    lines = ["# Per-class thresholds tuned against soft dev labels", "", f"`{command}`", ""]
    lines += [note, ""] if note else []
    lines += [
        f"**Chosen on dev.** Dev split {halves} times at random into halves; each run "
        f"calibrated as served ({resamples} bagging resamples, the at-least-one rule if it "
        "helps) on one half with its thresholds tuned against w x the labels + (1 - w) x "
        "the soft labels' probabilities, macro-F1 on the other half. Gain: against w = "
        f"{reference}, mean over the splits (wins: splits where it scored higher).",
        "",
        "| run | soft labels | " + " | ".join(f"w={w}" for w in weights) + " |",
        "| --- | --- |" + " ---: |" * len(weights),
    ]
    for r in results:
        cells = []
        for w in weights:
            row = r["weights"][str(w)]
            gain = "" if str(w) == reference else (
                f" ({row['half_gain']:+.4f}, {row['half_wins']}/{halves})"
            )  # fmt: skip
            cells.append(f"{row['half_mean']:.4f}{gain}")
        lines.append(f"| {r['run']} | {r['soft_labels']} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "**Test, scored once per run and weight** (calibrated on all of dev, as served):",
        "",
        "| run | soft labels | " + " | ".join(f"w={w}" for w in weights) + " |",
        "| --- | --- |" + " ---: |" * len(weights),
    ]
    for r in results:
        cells = [f"{r['weights'][str(w)]['test_macro_f1']:.4f}" for w in weights]
        lines.append(f"| {r['run']} | {r['soft_labels']} | " + " | ".join(cells) + " |")
    if len(results) > 1:
        lines += ["", f"Means over the {len(results)} rows, against w = {reference}:", "",
                  "| w | held-out-half gain | runs ahead | test gain |",
                  "| ---: | ---: | ---: | ---: |"]  # fmt: skip
        for w in weights[1:]:
            half = [r["weights"][str(w)]["half_gain"] for r in results]
            test = [r["weights"][str(w)]["test_macro_f1"]
                    - r["weights"][reference]["test_macro_f1"] for r in results]  # fmt: skip
            se = np.std(half, ddof=1) / np.sqrt(len(half))
            ahead = f"{sum(h > 0 for h in half)}/{len(half)}"
            lines.append(f"| {w} | {np.mean(half):+.4f} ± {se:.4f} | {ahead} | "
                         f"{np.mean(test):+.4f} |")  # fmt: skip
        lines += ["", "± is the standard error over the rows."]
    return "\n".join(lines) + "\n"


def build_parser() -> argparse.ArgumentParser:
    from emotag.benchmarks.calibration import add_run_arguments

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    add_run_arguments(parser)
    parser.add_argument("--soft-labels", nargs="+", choices=SOFT_LABELS, default=["own"],
                        help="whose dev probabilities the targets mix in: each run's own, or "
                        "--teacher's; -platt: Platt-scaled to the tuning part's labels first")
    parser.add_argument("--teacher", metavar="RUN",
                        help="the run whose dev probabilities the teacher sources use (a "
                        "distilled student's teacher)")
    parser.add_argument("--gold-weights", nargs="+", type=unit_interval,
                        default=list(GOLD_WEIGHTS), metavar="W",
                        help="the labels' weights to compare; the first is the reference")
    parser.add_argument("--resamples", type=positive_int, default=THRESHOLD_RESAMPLES,
                        help="bootstrap resamples of the bagged thresholds")
    parser.add_argument("--halves", type=positive_int, default=20,
                        help="random half splits of dev to compare the weights on")
    parser.add_argument("--name", default="soft_thresholds",
                        help="report files: <out>/<name>.md and .json")
    parser.add_argument("--out", default="benchmarks/results", help="report directory")
    return parser  # fmt: skip


def main(argv=None) -> int:
    setup_logging()
    args = build_parser().parse_args(argv)
    runs, note, teacher = args.models, None, None
    if args.semeval_style:
        from emotag.benchmarks.calibration import train_semeval_style

        run, note = train_semeval_style(args.semeval_style, args.semeval_style_sizes)
        note = note.replace("what each objective does", "what soft threshold targets do")
        runs = [run]
    if any(s.startswith("teacher") for s in args.soft_labels):
        if not args.teacher:
            raise SystemExit("--soft-labels teacher needs --teacher RUN")
        from emotag.serving.predictor import Predictor

        teacher = Predictor.load(args.teacher)
    results, seen = [], {}
    for run in runs:
        for row in measure(run, args.soft_labels, args.gold_weights, args.resamples,
                           args.halves, args.data_dir, teacher, seen):  # fmt: skip
            results.append(row)
            gains = {w: round(v["half_gain"], 4) for w, v in row["weights"].items()}
            log.info("%s (%s): held-out-half gains %s", row["run"], row["soft_labels"], gains)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.name}.json").write_text(json.dumps(results, indent=2))
    command = command_line("benchmarks/soft_thresholds.py", argv)
    text = report(results, command, args.gold_weights, args.resamples, args.halves, note)
    (out / f"{args.name}.md").write_text(text)
    print(text)
    return 0
