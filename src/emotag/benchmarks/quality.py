"""Quality benchmark: the default BiLSTM and its ablations, mean ± std over seeds.

Usage:
    python benchmarks/quality.py          # suites default embeddings pooling loss, seeds 0 1 2
    python benchmarks/quality.py --suite embeddings --seeds 0
    python benchmarks/quality.py --experiments emb-wordllama pool-max   # these only
    python benchmarks/quality.py --report-only            # rebuild tables from finished runs
    python benchmarks/quality.py --data-dir tiny/ --suite default loss --seeds 0 1 \\
        --set epochs=1 embeddings=random embedding_dim=16 lstm_units=8 min_count=1

Each (experiment, seed) trains one run with `train_biLSTM.train` into
<runs-dir>/<experiment>-s<seed>/ (skipped when that run already exists, so an
interrupted benchmark resumes), thresholds from dev, test scored once. Writes
benchmarks/results/<report-name>.json and .md. The suites (--suite) are listed below and
defined in emotag.benchmarks.quality_suites.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path

import numpy as np

from emotag.benchmarks import quality_suites
from emotag.benchmarks.quality_suites import SUITES
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
    parser = command_parser(f"{__doc__}\n{quality_suites.__doc__}")
    parser.add_argument("--suite", nargs="+", default=["default", "embeddings", "pooling", "loss"],
                        choices=sorted(SUITES), metavar="SUITE",
                        help="experiment suites to train and tabulate (listed above)")  # fmt: skip
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
