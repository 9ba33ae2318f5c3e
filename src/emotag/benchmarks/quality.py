"""Quality benchmark: the default BiLSTM and its ablations, mean ± std over seeds.

Usage:
    python benchmarks/quality.py                          # every suite, seeds 0 1 2
    python benchmarks/quality.py --suite embeddings --seeds 0
    python benchmarks/quality.py --experiments emb-wordllama pool-max   # these only
    python benchmarks/quality.py --report-only            # rebuild tables from finished runs
    python benchmarks/quality.py --data-dir tiny/ --suite default loss --seeds 0 1 \\
        --set epochs=1 embeddings=random embedding_dim=16 lstm_units=8 min_count=1

Each (experiment, seed) trains one run with `train_biLSTM.train` into
<runs-dir>/<experiment>-s<seed>/ (skipped when that run already exists, so an
interrupted benchmark resumes), thresholds from dev, test scored once. Writes
benchmarks/results/quality.json and quality.md. Suites:
- default: the default configuration of train_biLSTM.py;
- embeddings: every offline embedding source (random ones trained, the others frozen);
- pooling: attention vs masked mean / max pooling;
- loss: class-balanced focal vs plain BCE;
- thresholds: per-class vs one global threshold (from the default runs; no training).
- distill: students of --teacher RUN (emotag distill) with an augmented transfer set,
  on the training texts only, and at 128 units, beside the undistilled default and the
  teachers' own rows; e.g. `--suite distill --teacher artifacts/ens --report-name
  distillation` (--set also takes the student's flags, e.g. temperature=2.0; what an
  experiment sets itself, such as the 0.5 soft weight these were measured at, wins).
- distill-mix: train-only students of --teacher at soft weights 0.2, 0.5, 0.8 and 1.0,
  for choosing the loss mix on dev (`--report-name distill_mix`).
- distill-sw0.8: students at the chosen soft weight 0.8, at 192 and 128 units, with the
  transfer set and on the training texts only (`--report-name distillation_sw0.8`).
- distill-cf: the distill-sw0.8 students with out-of-fold soft targets on the training
  texts, from --cross-fit-teacher runs (trained with --exclude-ids; `emotag distill
  --cross-fit-teacher`), at 192 and 128 units and on the training texts only
  (`--report-name distillation_cf`).
- distill-ema, distill-aug2: the distill-sw0.8 student with --weight-averaging 1, and
  with two augmented copies of train (`--report-name distillation_ema` / `_aug2`).
- distill-student: the distill-sw0.8 student with dropout 0.2, with the open vocabulary,
  with trainable word vectors and at temperature 2 (`--report-name distillation_student`).
- stack: minilm-static and wordllama vectors stacked (`--embeddings
  minilm-static+wordllama`), undistilled and as 192- and 128-unit students, beside the
  default and the recommended student (`--report-name stack`).
- distill-loss: the distill-sw0.8 student with class-balanced weights on the soft term
  (--soft-class-beta 0.99 and 0.999) and with squared error on logits as the soft term
  (--soft-loss mse) (`--report-name distillation_loss`).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path

import numpy as np

from emotag.benchmarks.trained_runs import (
    add_run_options,
    check_experiments,
    is_finished,
    mean_std,
    parse_overrides,
    run_figures,
    significance,
    write_report,
)
from emotag.config import command_line, command_parser, setup_logging
from emotag.distill.student import DistillConfig, distill
from emotag.runs import layout
from emotag.training.bilstm import TrainConfig, train

log = logging.getLogger("quality")

# GoEmotions paper (Demszky et al., ACL 2020), Table 4: BERT-base test F1 per emotion.
PAPER_BERT_F1 = {
    "admiration": 0.65, "amusement": 0.80, "anger": 0.47, "annoyance": 0.34,
    "approval": 0.36, "caring": 0.39, "confusion": 0.37, "curiosity": 0.54,
    "desire": 0.49, "disappointment": 0.28, "disapproval": 0.39, "disgust": 0.45,
    "embarrassment": 0.43, "excitement": 0.34, "fear": 0.60, "gratitude": 0.86,
    "grief": 0.00, "joy": 0.51, "love": 0.78, "nervousness": 0.35, "optimism": 0.51,
    "pride": 0.36, "realization": 0.21, "relief": 0.15, "remorse": 0.66,
    "sadness": 0.49, "surprise": 0.50, "neutral": 0.68,
}  # fmt: skip

OFFLINE_EMBEDDINGS = ("minilm", "minilm-static", "wordllama", "fasttext", "word2vec", "random")
STACK = "minilm-static+wordllama"  # the stacked source of the stack suite
# The encoder suite's stack: minilm-static beside word vectors pooled from the teacher's
# fine-tuned MiniLM (the README recipe's run) over the training texts.
ENCODER_STACK = "minilm-static+encoder:artifacts/minilm"
# The recommended student (README): 1x transfer set, soft weight 0.8, the encoder stack.
ENCODER_STUDENT = {"augment_multiple": 1, "soft_weight": 0.8, "embeddings": ENCODER_STACK}
# The fast student (README): the same at 128 units. Suites sharing its runs use this one
# dict, so the shared run directories always hold the same configuration.
FAST_STUDENT = {**ENCODER_STUDENT, "lstm_units": 128}

SUITES: dict[str, list[tuple[str, dict]]] = {
    "default": [("default", {})],
    # Random vectors are trained (frozen random rows would carry no information).
    "embeddings": [
        (f"emb-{name}", {"embeddings": name, "trainable_embeddings": name == "random"})
        for name in OFFLINE_EMBEDDINGS
    ],
    "pooling": [("pool-mean", {"pooling": "mean"}), ("pool-max", {"pooling": "max"})],
    "loss": [("loss-bce", {"loss": "bce"})],
    # Students of --teacher (emotag distill), beside the undistilled default: with an
    # augmented transfer set (1 copy of train), on the training texts only, at 128 units.
    # Measured at soft weight 0.5, the default before distill-mix chose 0.8.
    "distill": [
        ("default", {}),
        ("distill", {"augment_multiple": 1, "soft_weight": 0.5}),
        ("distill-train-only", {"augment_multiple": 0, "soft_weight": 0.5}),
        ("distill-u128", {"augment_multiple": 1, "lstm_units": 128, "soft_weight": 0.5}),
    ],
    # The loss mix (--soft-weight) chosen on dev: train-only students (the cheapest, whose
    # labels one teacher pass caches) at soft weights around 0.5, the first default; 0 is
    # the undistilled default; 1.0 drops the gold term, as Tang et al. (2019) did.
    "distill-mix": [
        ("default", {}),
        *(
            (
                f"distill-train-only{'' if w == 0.5 else f'-sw{w}'}",
                {"augment_multiple": 0, "soft_weight": w},
            )
            for w in (0.2, 0.5, 0.8, 1.0)
        ),
    ],
    # Students at the chosen 0.8: 192 and 128 units (the fast one), each with
    # the 1x augmented transfer set and on the training texts only (the transfer-set
    # ablation). distill-train-only-sw0.8 is the distill-mix suite's run, shared.
    "distill-sw0.8": [
        ("default", {}),
        ("distill-sw0.8", {"augment_multiple": 1, "soft_weight": 0.8}),
        ("distill-train-only-sw0.8", {"augment_multiple": 0, "soft_weight": 0.8}),
        ("distill-u128-sw0.8", {"augment_multiple": 1, "lstm_units": 128, "soft_weight": 0.8}),
        (
            "distill-u128-train-only-sw0.8",
            {"augment_multiple": 0, "lstm_units": 128, "soft_weight": 0.8},
        ),
    ],
    # The distill-sw0.8 students, their training texts' soft targets out of fold
    # (--cross-fit-teacher): does a teacher that did not see a text teach more on it?
    "distill-cf": [
        ("default", {}),
        ("distill-cf-sw0.8", {"augment_multiple": 1, "soft_weight": 0.8}),
        ("distill-cf-train-only-sw0.8", {"augment_multiple": 0, "soft_weight": 0.8}),
        ("distill-cf-u128-sw0.8", {"augment_multiple": 1, "lstm_units": 128, "soft_weight": 0.8}),
    ],
    # The distill-sw0.8 students (shared runs) beside the same students whose weights are
    # averaged over about the last epoch (--weight-averaging 1): does Polyak averaging
    # close part of the gap to the teacher? (Seed 0: no; README.)
    "distill-ema": [
        ("distill-sw0.8", {"augment_multiple": 1, "soft_weight": 0.8}),
        ("distill-train-only-sw0.8", {"augment_multiple": 0, "soft_weight": 0.8}),
        ("distill-ema-sw0.8", {"augment_multiple": 1, "soft_weight": 0.8, "weight_averaging": 1.0}),
        (
            "distill-ema-train-only-sw0.8",
            {"augment_multiple": 0, "soft_weight": 0.8, "weight_averaging": 1.0},
        ),
    ],
    # A transfer set of two augmented copies of train instead of one (Tang et al. and
    # Mukherjee & Awadallah found larger transfer sets teach more).
    "distill-aug2": [
        ("distill-sw0.8", {"augment_multiple": 1, "soft_weight": 0.8}),
        ("distill-aug2-sw0.8", {"augment_multiple": 2, "soft_weight": 0.8}),
    ],
    # The student's own knobs, which --search chose for the plain BiLSTM on gold labels:
    # less dropout (soft targets already regularise; Hinton et al., 2015), the open
    # vocabulary (frozen vectors for words train never had, which the augmented copies'
    # neighbour substitution then draws from), fine-tuned word vectors (frozen won on 43k
    # gold-labelled texts; the transfer set doubles the texts, all soft-labelled), and
    # the soft term at temperature 2 (Hinton et al.: weighs the teacher's small
    # probabilities more; for sigmoids it moves BCE towards squared error on logits).
    "distill-student": [
        ("distill-sw0.8", {"augment_multiple": 1, "soft_weight": 0.8}),
        ("distill-do0.2-sw0.8", {"augment_multiple": 1, "soft_weight": 0.8, "dropout": 0.2}),
        ("distill-open-sw0.8", {"augment_multiple": 1, "soft_weight": 0.8, "vocabulary": "open"}),
        (
            "distill-ft-sw0.8",
            {"augment_multiple": 1, "soft_weight": 0.8, "trainable_embeddings": True},
        ),
        ("distill-temp2-sw0.8", {"augment_multiple": 1, "soft_weight": 0.8, "temperature": 2.0}),
    ],
    # Stacked word vectors (minilm-static beside wordllama, each word's two vectors side by
    # side): more lexical information in at no serving cost, since the serving model folds
    # the embedding into the LSTM's input projection. Undistilled and as students.
    "stack": [
        ("default", {}),
        ("emb-stack", {"embeddings": STACK}),
        ("distill-sw0.8", {"augment_multiple": 1, "soft_weight": 0.8}),
        ("distill-stack-sw0.8", {"augment_multiple": 1, "soft_weight": 0.8, "embeddings": STACK}),
        ("distill-u128-sw0.8", {"augment_multiple": 1, "lstm_units": 128, "soft_weight": 0.8}),
        (
            "distill-stack-u128-sw0.8",
            {"augment_multiple": 1, "soft_weight": 0.8, "embeddings": STACK, "lstm_units": 128},
        ),
    ],
    # The soft term's form. Its classes weighted as a class-balanced loss weighs them
    # (--soft-class-beta; Cui et al., 2019): the soft term is 0.8 of the loss and weighs
    # every class alike, while macro-F1 counts a rare class as much as a frequent one.
    # 0.99 is the gold loss's beta (only the five rarest classes weigh more); 0.999 spans
    # 0.38 (neutral) to 5.2 (grief) on GoEmotions. And squared error between logits
    # (--soft-loss mse), Tang et al.'s (2019) soft term, in place of cross-entropy.
    "distill-loss": [
        ("distill-sw0.8", {"augment_multiple": 1, "soft_weight": 0.8}),
        *(
            (
                f"distill-scb{b}-sw0.8",
                {"augment_multiple": 1, "soft_weight": 0.8, "soft_class_beta": b},
            )
            for b in (0.99, 0.999)
        ),
        ("distill-mse-sw0.8", {"augment_multiple": 1, "soft_weight": 0.8, "soft_loss": "mse"}),
    ],
    # Word vectors from the teacher's own encoder: each training word's final-layer states
    # in the fine-tuned MiniLM, averaged over its occurrences in the training texts
    # (Bommasani et al., 2020, pool contextual states into static vectors), stacked beside
    # minilm-static. What the encoder learned about emotions enters the embedding layer,
    # which costs no serving time. Beside the stack suite's students of the same teacher.
    "encoder": [
        ("distill-sw0.8", {"augment_multiple": 1, "soft_weight": 0.8}),
        ("distill-enc-sw0.8", ENCODER_STUDENT),
        (
            "distill-stack-u128-sw0.8",
            {"augment_multiple": 1, "soft_weight": 0.8, "embeddings": STACK, "lstm_units": 128},
        ),
        ("distill-enc-u128-sw0.8", FAST_STUDENT),
    ],
    # The student's architecture at no serving cost to speak of, beside the encoder suite's
    # recommended students (shared runs): masked max pooling in place of attention
    # (undistilled, 0.003 ahead on dev and a tie on test: the pooling suite; attention
    # stayed for the explanations its weights give), and a ReLU layer between the pooled
    # vector and the output, as in Tang et al.'s (2019) distilled BiLSTM, which runs once
    # per text, not per token.
    "distill-arch": [
        ("distill-enc-sw0.8", ENCODER_STUDENT),
        ("distill-enc-max-sw0.8", {**ENCODER_STUDENT, "pooling": "max"}),
        ("distill-enc-head256-sw0.8", {**ENCODER_STUDENT, "head_units": 256}),
    ],
    # The student's schedule, beside the recommended students (shared runs): Adam's rate
    # halved after each epoch without a new best dev macro-F1 (--lr-drop 0.5), so the
    # epochs after a plateau take smaller steps (the weights go on from where they are).
    "distill-schedule": [
        ("distill-enc-sw0.8", ENCODER_STUDENT),
        ("distill-enc-lrd0.5-sw0.8", {**ENCODER_STUDENT, "lr_drop": 0.5}),
    ],
    # The transfer set's size again, now that the student reads the teacher's encoder
    # vectors: two augmented copies of train instead of one (the distill-aug2 suite tied
    # on seeds 0-1 with minilm-static alone; Tang et al., 2019, and Mukherjee & Awadallah,
    # 2020, found larger transfer sets teach more). At 128 units, where a run is cheapest;
    # beside the encoder suite's fast students (shared runs).
    "distill-aug2-enc": [
        ("distill-enc-u128-sw0.8", FAST_STUDENT),
        ("distill-enc-u128-aug2-sw0.8", {**FAST_STUDENT, "augment_multiple": 2}),
    ],
}
# Flags only a student has; an undistilled experiment drops them from --set.
DISTILL_ONLY = {f.name for f in dataclasses.fields(DistillConfig)} - {
    f.name for f in dataclasses.fields(TrainConfig)
}


def run_experiment(
    name: str, overrides: dict, seed: int, runs_dir: Path, data_dir, teacher=None, cross_fit=None
) -> Path:
    """Trains one (experiment, seed) unless its run directory already exists.

    Experiments named distill* train a student of `teacher` (run directories); those
    named distill-cf* take the training texts' soft targets from the `cross_fit` runs.

    Raises:
        SystemExit: When an existing run was trained with another configuration
            (`trained_runs.is_finished`).
    """
    run_dir = runs_dir / f"{name}-s{seed}"
    common = dict(data_dir=data_dir, seed=seed, output_dir=str(runs_dir), run_name=run_dir.name)
    if name.startswith("distill"):
        if not teacher:
            raise SystemExit(f"experiment {name} needs --teacher RUN")
        if name.startswith("distill-cf"):
            if not cross_fit:
                raise SystemExit(f"experiment {name} needs --cross-fit-teacher RUN")
            overrides = {**overrides, "cross_fit_teacher": list(cross_fit)}
        config = DistillConfig(teacher=list(teacher), **common, **{"verbose": 2, **overrides})
        return run_dir if is_finished(run_dir, config) else distill(config)
    overrides = {k: v for k, v in overrides.items() if k not in DISTILL_ONLY}
    config = TrainConfig(**common, **{"verbose": 2, **overrides})
    return run_dir if is_finished(run_dir, config) else train(config)


def summarise(results: dict[str, dict[int, dict]]) -> dict:
    """Mean/std rows per experiment for the Markdown tables."""
    table = {}
    for name, by_seed in results.items():
        runs = list(by_seed.values())
        table[name] = {
            "seeds": sorted(by_seed),
            **{
                key: mean_std([r[key] for r in runs])
                for key in ("macro_f1", "micro_f1", "macro_precision", "macro_recall",
                            "global_threshold_macro_f1")
            },
            "dev_macro_f1": mean_std([r["dev_macro_f1"] for r in runs]),
            "wall_time_s": mean_std([r["wall_time_s"] for r in runs], digits=0),
            "embeddings": ",".join(sorted({str(r["embeddings"]) for r in runs})),
        }  # fmt: skip
    return table


def markdown(results: dict[str, dict[int, dict]], command: str, teachers=None) -> str:
    table = summarise(results)
    lines = [
        "# Quality benchmark (GoEmotions test, thresholds from dev)",
        "",
        f"Produced by `{command}`. Mean ± sample std over the seeds listed; dev macro-F1 is "
        "at thresholds tuned on dev (what model choices use; optimistic). Compare an "
        "ablation with the row trained on the same embeddings. Training "
        "seconds are wall time on a 2-core machine that often ran two trainings at once, so "
        "they vary with load more than with the experiment.",
        "",
        "| experiment | embeddings | seeds | test macro-F1 | vs default (p) | its 95% CI "
        "| test micro-F1 | macro P | macro R | dev macro-F1 | train s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    tests = significance(results, "default")
    for name, row in table.items():
        lines.append(
            f"| {name} | {row['embeddings']} | {','.join(map(str, row['seeds']))} | "
            f"{row['macro_f1']} | {vs_default(tests.get(name))} | "
            f"{interval(tests.get(name))} | {row['micro_f1']} | "
            f"{row['macro_precision']} | {row['macro_recall']} | {row['dev_macro_f1']} | "
            f"{row['wall_time_s']} |"
        )
    for name, row in (teachers or {}).items():
        lines.append(
            f"| teacher: {name} | | - | {row['macro_f1']:.4f} | | | {row['micro_f1']:.4f} | "
            f"{row['macro_precision']:.4f} | {row['macro_recall']:.4f} | "
            f"{row['dev_macro_f1']:.4f} | {row['wall_time_s']:.0f} |"
        )
    lines += [
        "",
        "vs default: the seed-averaged test macro-F1 difference from the default row and its "
        "paired-bootstrap p-value and 95% interval (1,000 resamples of the test examples; "
        "every run scored on the same resamples, each model's seeds averaged); * marks "
        "p < 0.05. The resamples vary the test examples, not the training seeds: a row "
        "with one seed carries that seed's luck into its difference.",
    ]
    if "default" in results:
        lines += [
            "",
            "## Per-class vs global threshold (default configuration)",
            "",
            "| thresholds | test macro-F1 |",
            "| --- | --- |",
            f"| per-class (dev-tuned) | {table['default']['macro_f1']} |",
            f"| one global (dev-tuned) | {table['default']['global_threshold_macro_f1']} |",
            "",
            "## Per-class F1 of the default model vs the GoEmotions paper's BERT-base",
            "",
            "BERT-base figures: Demszky et al. (2020), Table 4.",
            "",
            "| emotion | ours (mean over seeds) | paper BERT-base |",
            "| --- | --- | --- |",
        ]
        runs = list(results["default"].values())
        for label in runs[0]["labels"]:
            ours = np.mean([r["per_class_f1"][label] for r in runs])
            paper = PAPER_BERT_F1.get(label)
            lines.append(f"| {label} | {ours:.2f} | {'-' if paper is None else f'{paper:.2f}'} |")
    return "\n".join(lines) + "\n"


def interval(test: dict | None) -> str:
    """The difference's 95% bootstrap interval, '' for the reference itself."""
    if test is None:
        return ""
    low, high = test["interval"]
    return f"[{low:+.4f}, {high:+.4f}]"


def vs_default(test: dict | None) -> str:
    if test is None:
        return ""
    star = " *" if test["p_value"] < 0.05 else ""
    return f"{test['difference']:+.4f} ({test['p_value']:.3f}){star}"


def collect(
    experiments: dict[str, dict],
    args: argparse.Namespace,
    teacher: list[str] | None = None,
    cross_fit: list[str] | None = None,
) -> dict[str, dict[int, dict]]:
    """Trains each wanted (experiment, seed) run that does not exist yet (not with
    --report-only), then reads the figures of every finished one.

    Args:
        experiments: name -> TrainConfig overrides, in table order.
        args: parsed options of `add_run_options`.
        teacher: teacher runs of the distill* experiments (`--teacher`).
        cross_fit: out-of-fold teacher runs of the distill-cf* ones (`--cross-fit-teacher`).

    Returns:
        {name: {seed: run_figures(run_dir)}} for the runs that exist.
    """
    runs_dir = Path(args.runs_dir)
    results: dict[str, dict[int, dict]] = {}
    for name, overrides in experiments.items():
        wanted = not args.experiments or name in args.experiments
        for seed in args.seeds:
            run_dir = runs_dir / f"{name}-s{seed}"
            if wanted and not args.report_only:
                run_dir = run_experiment(
                    name, overrides, seed, runs_dir, args.data_dir, teacher, cross_fit
                )
            if (run_dir / layout.RUN_INFO).exists():
                results.setdefault(name, {})[seed] = run_figures(run_dir)
    return results


def warn_pinned(base: dict, experiments: dict[str, dict], wanted) -> None:
    """Warns when --set gives a field that a chosen experiment sets itself (that one wins)."""
    for name, edits in experiments.items():
        if wanted and name not in wanted:
            continue
        for key in sorted(base.keys() & edits.keys()):
            if base[key] != edits[key]:
                log.warning(
                    "--set %s=%s does not reach %s, which sets %s=%s itself",
                    key, base[key], name, key, edits[key],
                )  # fmt: skip


def parse_args(argv=None) -> argparse.Namespace:
    parser = command_parser(__doc__)
    parser.add_argument("--suite", nargs="+", default=["default", "embeddings", "pooling", "loss"],
                        choices=sorted(SUITES), help="experiment suites to train and "
                        "tabulate (see above)")  # fmt: skip
    parser.add_argument("--teacher", action="append", metavar="RUN",
                        help="teacher run of the distill suite (repeatable: averaged)")  # fmt: skip
    parser.add_argument("--cross-fit-teacher", action="append", metavar="RUN",
                        help="out-of-fold teacher run of the distill-cf suite (repeatable; "
                        "trained with --exclude-ids)")  # fmt: skip
    parser.add_argument("--report-name", default="quality",
                        help="report files: <out>/<name>.json and .md")  # fmt: skip
    add_run_options(parser, Path("artifacts") / "bench")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    setup_logging()
    args = parse_args(argv)
    check_experiments(args.experiments, [name for s in args.suite for name, _ in SUITES[s]])
    base = parse_overrides(args.set, DistillConfig)
    reference = dataclasses.replace(
        TrainConfig(), **{k: v for k, v in base.items() if k not in DISTILL_ONLY}
    )
    # The default configuration is the reference of every ablation; its embedding source
    # appears in the embeddings suite under its own name too.
    chosen = {
        name: edits
        for suite in args.suite
        for name, edits in SUITES[suite]
        if not edits or any(getattr(reference, k, None) != v for k, v in edits.items())
    }
    if not args.report_only:  # nothing is trained, so --set reaches nothing to warn about
        warn_pinned(base, chosen, args.experiments)
    experiments = {name: {**base, **edits} for name, edits in chosen.items()}
    results = collect(experiments, args, args.teacher, args.cross_fit_teacher)
    teachers = {Path(t).name: run_figures(Path(t)) for t in args.teacher or ()}
    command = command_line("benchmarks/quality.py", argv)
    payload = {
        "command": command,
        "defaults": dataclasses.asdict(reference),
        "overrides": base,
        "summary": summarise(results),
        "vs_default": significance(results, "default"),
        "runs": results,
        "teachers": teachers,
    }
    write_report(args.out, args.report_name, payload, markdown(results, command, teachers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
