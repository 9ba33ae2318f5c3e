"""Label-quality benchmark: does dropping flagged examples or augmenting rare classes help?

Usage:
    python benchmarks/label_quality.py                       # GoEmotions, seeds 0 1 2
    python benchmarks/label_quality.py --report-only         # tables from finished runs
    python benchmarks/label_quality.py --extra-train llm.tsv # augmentation made elsewhere
    python benchmarks/label_quality.py --data-dir tiny/ --seeds 0 \\
        --set epochs=1 embeddings=random embedding_dim=16 lstm_units=8 min_count=1

Steps, each skipped when its output exists (so an interrupted benchmark resumes):
1. `src/audit_labels.py` on the training split (--audit-learner, --folds) ->
   <runs-dir>/audit/label_issues.csv;
2. `src/augment.py` for the classes under --rare-below training examples
   (--augment-backend offline by default, or llm with --url/--llm-model; or the file
   given by --extra-train) -> <runs-dir>/augmented.tsv;
3. for each seed, `train_biLSTM.train` with the default configuration (plus --set
   overrides): baseline, drop-flagged (every flagged example, --exclude-ids),
   drop-top<N> (the --drop-top most suspicious only; on GoEmotions the TF-IDF audit
   flags about 37% of train, so dropping all may cost more than it cleans), augmented
   (--extra-train), drop+augmented. Thresholds from dev, test scored once; dev and
   test are the same in all of them.
Writes <out>/label_quality.json and label_quality.md: test macro-F1 and the F1 of the
five rarest classes (by training count, before any edit), mean ± std over seeds.
"""

from __future__ import annotations

import argparse
import csv
import logging
import sys
from pathlib import Path

import numpy as np

from emotag.benchmarks.quality import collect
from emotag.benchmarks.trained_runs import (
    add_run_options,
    check_experiments,
    mean_std,
    parse_overrides,
    write_report,
)
from emotag.config import command_line, command_parser, setup_logging
from emotag.data.datasets import DatasetSpec, load_dataset
from emotag.training.bilstm import TrainConfig

log = logging.getLogger("label_quality")

RARE = 5  # rarest classes reported one by one


def run_audit(args, runs_dir: Path) -> Path:
    from emotag.audit.audit import AuditConfig, audit

    issues = runs_dir / "audit" / "label_issues.csv"
    if not issues.exists():
        audit(AuditConfig(data_dir=args.data_dir, learner=args.audit_learner, folds=args.folds,
                          out=str(issues.parent)))  # fmt: skip
    return issues


def run_augment(args, runs_dir: Path) -> Path:
    from emotag.augment.generate import AugmentConfig, generate

    if args.extra_train:
        return Path(args.extra_train)
    out = runs_dir / "augmented.tsv"
    if not out.exists():
        generate(AugmentConfig(
            data_dir=args.data_dir, backend=args.augment_backend, output=str(out),
            rare_below=args.rare_below, per_class=args.per_class,
            embeddings=args.augment_embeddings, url=args.url, llm_model=args.llm_model,
        ))  # fmt: skip
    return out


def count_rows(path: Path, delimiter: str) -> int | None:
    """Data rows of a CSV/TSV with a header (quoted line breaks count once)."""
    if not path.exists():
        return None
    quoting = csv.QUOTE_MINIMAL if delimiter == "," else csv.QUOTE_NONE
    with open(path, encoding="utf-8", newline="") as f:
        return sum(1 for _ in csv.reader(f, delimiter=delimiter, quoting=quoting)) - 1


def top_issues(issues: Path, n: int) -> Path:
    """The first `n` rows (most suspicious) of label_issues.csv, as a file of its own."""
    out = issues.with_name(f"top-{n}.csv")
    if issues.exists() and not out.exists():
        with open(issues, encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f))[: n + 1]
        with open(out, "w", encoding="utf-8", newline="") as f:
            csv.writer(f, lineterminator="\n").writerows(rows)
    return out


def summarise(results: dict, rare: list[str]) -> dict:
    table = {}
    for name, by_seed in results.items():
        runs = list(by_seed.values())
        rare_means = [float(np.mean([r["per_class_f1"][c] for c in rare])) for r in runs]
        table[name] = {
            "seeds": sorted(by_seed),
            "macro_f1": mean_std([r["macro_f1"] for r in runs]),
            "rare5_mean_f1": mean_std(rare_means),
            "rare_f1": {c: mean_std([r["per_class_f1"][c] for r in runs]) for c in rare},
        }
    return table


def markdown(table: dict, rare: list[str], counts: dict, notes: dict, command: str) -> str:
    lines = [
        "# Label quality: dropping flagged examples, augmenting rare classes",
        "",
        f"Produced by `{command}`. Test split, thresholds tuned on dev; mean ± sample std "
        "over the seeds listed. The rarest classes are by training count before any edit.",
        "",
        f"- flagged by the audit (all dropped in drop-flagged): {notes['flagged']}",
        f"- augmented rows added to train: {notes['augmented']}",
        "",
        "| experiment | seeds | test macro-F1 | mean F1, 5 rarest | "
        + " | ".join(f"{c} ({counts[c]})" for c in rare)
        + " |",
        "| --- | --- | --- | --- | " + " | ".join("---" for _ in rare) + " |",
    ]
    for name, row in table.items():
        cells = " | ".join(row["rare_f1"][c] for c in rare)
        lines.append(f"| {name} | {','.join(map(str, row['seeds']))} | {row['macro_f1']} | "
                     f"{row['rare5_mean_f1']} | {cells} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def parse_args(argv=None) -> argparse.Namespace:
    parser = command_parser(__doc__)
    add_run_options(parser, Path("artifacts") / "bench-label-quality")
    parser.add_argument("--audit-learner", default="tfidf", choices=["tfidf", "bilstm"],
                        help="the audit's model trained on each fold (emotag audit --learner)")
    parser.add_argument("--folds", type=int, default=5, help="the audit's k folds")
    parser.add_argument("--augment-backend", default="offline", choices=["offline", "llm"],
                        help="how step 2 makes new texts (emotag augment --backend)")
    parser.add_argument("--augment-embeddings", default="minilm-static",
                        help="word vectors of offline augmentation (emotag augment --embeddings)")
    parser.add_argument("--rare-below", type=int, default=500,
                        help="augment the classes with fewer training examples than this")
    parser.add_argument("--per-class", type=int, default=200,
                        help="at most this many new texts per class")
    parser.add_argument("--url", default="http://127.0.0.1:8080/v1",
                        help="llm backend: OpenAI-compatible chat server")
    parser.add_argument("--llm-model", default="local",
                        help="llm backend: model name the server expects")
    parser.add_argument("--extra-train", help="use this augmentation TSV instead of step 2")
    parser.add_argument("--drop-top", type=int, default=2000,
                        help="also drop only the N most suspicious (0 = skip)")  # fmt: skip
    return parser.parse_args(argv)


def main(argv=None) -> int:
    setup_logging()
    args = parse_args(argv)
    overrides = parse_overrides(args.set, TrainConfig)
    runs_dir = Path(args.runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    issues = runs_dir / "audit" / "label_issues.csv"
    extra = Path(args.extra_train) if args.extra_train else runs_dir / "augmented.tsv"
    if not args.report_only:
        issues, extra = run_audit(args, runs_dir), run_augment(args, runs_dir)
    edits = {"baseline": {}, "drop-flagged": {"exclude_ids": str(issues)}}
    if args.drop_top:
        edits[f"drop-top{args.drop_top}"] = {"exclude_ids": str(top_issues(issues, args.drop_top))}
    edits["augmented"] = {"extra_train": str(extra)}
    edits["drop+augmented"] = {"exclude_ids": str(issues), "extra_train": str(extra)}
    check_experiments(args.experiments, edits)
    results = collect({name: {**overrides, **e} for name, e in edits.items()}, args)

    data = load_dataset(DatasetSpec(data_dir=args.data_dir))
    counts = dict(zip(data.label_names, data.train.labels.sum(axis=0).astype(int).tolist()))
    rare = sorted((c for c in counts if counts[c]), key=lambda c: (counts[c], c))[:RARE]
    table = summarise(results, rare)
    notes = {"flagged": count_rows(issues, ","), "augmented": count_rows(extra, "\t")}
    command = command_line("benchmarks/label_quality.py", argv)
    payload = {"command": command, "overrides": overrides, "rarest": rare,
               "train_counts": counts, **notes, "summary": table, "runs": results}  # fmt: skip
    write_report(args.out, "label_quality", payload, markdown(table, rare, counts, notes, command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
