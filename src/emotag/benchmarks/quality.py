"""Quality benchmark: the default BiLSTM and its ablations, mean ± std over seeds.

Usage:
    python benchmarks/quality.py                          # every suite, seeds 0 1 2
    python benchmarks/quality.py --suite embeddings --seeds 0
    python benchmarks/quality.py --experiments emb-wordllama pool-max   # these only
    python benchmarks/quality.py --report-only            # rebuild tables from finished runs
    python benchmarks/quality.py --data-dir tiny/ --suite default loss --seeds 0 1 \
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
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import logging
import sys
from pathlib import Path

import numpy as np

from emotag.analysis.comparison import read_predictions as read_run_predictions
from emotag.config import command_line, command_parser, setup_logging
from emotag.evaluation.intervals import paired_bootstrap
from emotag.evaluation.metrics import macro_f1
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

SUITES: dict[str, list[tuple[str, dict]]] = {
    "default": [("default", {})],
    # Random vectors are trained (frozen random rows would carry no information).
    "embeddings": [
        (f"emb-{name}", {"embeddings": name, "trainable_embeddings": name == "random"})
        for name in OFFLINE_EMBEDDINGS
    ],
    "pooling": [("pool-mean", {"pooling": "mean"}), ("pool-max", {"pooling": "max"})],
    "loss": [("loss-bce", {"loss": "bce"})],
}


def parse_value(field: str, text: str):
    """A --set value, typed like the TrainConfig field."""
    kind = {f.name: f.type for f in dataclasses.fields(TrainConfig)}[field]
    if text == "None":
        return None
    if kind.startswith("bool"):
        return text.lower() in ("1", "true", "yes")
    if kind.startswith("int"):
        return int(text)
    if kind.startswith("float"):
        return float(text)
    return text


def parse_overrides(items: list[str]) -> dict:
    """`--set KEY=VALUE ...` -> {field: typed value}; unknown fields are an error."""
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key not in fields:
            raise SystemExit(f"--set {item!r}: expected FIELD=VALUE with a TrainConfig field")
        overrides[key] = parse_value(key, value)
    return overrides


# Fields that say where a run is written or how it reports progress, not what it trains.
NOT_COMPARED = {"data_dir", "output_dir", "run_name", "verbose", "cache_dir", "backup_dir"}


def run_experiment(name: str, overrides: dict, seed: int, runs_dir: Path, data_dir) -> Path:
    """Trains one (experiment, seed) unless its run directory already exists.

    Raises:
        SystemExit: When an existing run was trained with another configuration (e.g. an
            earlier default), which a resumed benchmark must not mix into its tables.
    """
    run_dir = runs_dir / f"{name}-s{seed}"
    config = TrainConfig(
        data_dir=data_dir, seed=seed, output_dir=str(runs_dir), run_name=run_dir.name,
        **{"verbose": 2, **overrides},
    )  # fmt: skip
    if (run_dir / layout.RUN_INFO).exists():
        saved = json.loads((run_dir / layout.TRAIN_CONFIG).read_text())
        wanted = dataclasses.asdict(config)
        differ = sorted(k for k in wanted if k not in NOT_COMPARED and saved.get(k) != wanted[k])
        if differ:
            raise SystemExit(
                f"{run_dir} was trained with another configuration ("
                + ", ".join(f"{k}: {saved.get(k)!r} there, {wanted[k]!r} now" for k in differ)
                + "); use another --runs-dir, or --report-only to tabulate what exists"
            )
        log.info("%s exists, reusing", run_dir)
        return run_dir
    return train(config)


def read_predictions(run_dir: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(label names, gold multi-hot, probabilities) from a run's predictions_test.tsv."""
    with open(run_dir / layout.predictions_name("test"), encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    header, rows = rows[0], rows[1:]
    labels = header[4:]
    index = {name: j for j, name in enumerate(labels)}
    gold = np.zeros((len(rows), len(labels)), dtype=bool)
    for i, row in enumerate(rows):
        for name in filter(None, row[2].split(",")):
            gold[i, index[name]] = True
    probs = np.array([[float(x) for x in row[4:]] for row in rows], dtype="float32")
    return labels, gold, probs


def run_figures(run_dir: Path) -> dict:
    """Test figures of one run, plus the global-threshold variant from its dev calibration."""
    metrics = json.loads((run_dir / layout.OVERALL_METRICS).read_text())
    info = json.loads((run_dir / layout.RUN_INFO).read_text())
    config = json.loads((run_dir / layout.TRAIN_CONFIG).read_text())
    thresholds = json.loads((run_dir / layout.THRESHOLDS_JSON).read_text())
    labels, gold, probs = read_predictions(run_dir)
    global_pred = probs >= thresholds["global_threshold"]
    return {
        "macro_f1": metrics["macro"]["f1"],
        "micro_f1": metrics["micro"]["f1"],
        "macro_precision": metrics["macro"]["precision"],
        "macro_recall": metrics["macro"]["recall"],
        "global_threshold_macro_f1": float(macro_f1(gold, global_pred)),
        "wall_time_s": info["wall_time_s"],
        "best_epoch": info.get("best_epoch"),
        "embeddings": config.get("embeddings"),
        "dev_macro_f1": thresholds["dev_macro_f1"]["per_class"],
        "per_class_f1": {row["label"]: row["f1"] for row in metrics["per_class"]},
        "labels": labels,
        "run_dir": str(run_dir),
    }


def significance(results: dict[str, dict[int, dict]], reference: str = "default") -> dict:
    """Each experiment's test macro-F1 difference from `reference`, with a p-value.

    Seeds are combined, not compared one by one: each experiment's macro-F1 is its mean
    over its seeds, every run is scored on the same resampled test examples, and the
    paired bootstrap (emotag.evaluation.intervals) tests the difference of those means.
    Experiments scored on other test examples than the reference are left out.

    Returns:
        {experiment: {"difference", "interval": [lo, hi], "p_value"}}.
    """
    if reference not in results:
        return {}

    def predictions(name):
        return [
            read_run_predictions(Path(r["run_dir"]) / layout.predictions_name("test"))
            for r in results[name].values()
        ]

    base = predictions(reference)
    gold = base[0].gold
    out = {}
    for name in results:
        if name == reference:
            continue
        other = predictions(name)
        if any(p.gold.shape != gold.shape or (p.gold != gold).any() for p in other):
            continue
        test = paired_bootstrap(gold, [p.predicted for p in base], [p.predicted for p in other])
        m = test["macro_f1"]
        out[name] = {
            "difference": float(m["difference"]),
            "interval": [float(x) for x in m["interval"]],
            "p_value": float(m["p_value"]),
        }
    return out


def mean_std(values: list[float], digits: int = 4) -> str:
    """'mean ± sample std' of the values (std 0 for one value), '-' for none."""
    if not values:
        return "-"
    std = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return f"{np.mean(values):.{digits}f} ± {std:.{digits}f}"


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


def markdown(results: dict[str, dict[int, dict]], command: str) -> str:
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
        "| experiment | embeddings | seeds | test macro-F1 | vs default (p) | test micro-F1 "
        "| macro P | macro R | dev macro-F1 | train s |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    tests = significance(results)
    for name, row in table.items():
        lines.append(
            f"| {name} | {row['embeddings']} | {','.join(map(str, row['seeds']))} | "
            f"{row['macro_f1']} | {vs_default(tests.get(name))} | {row['micro_f1']} | "
            f"{row['macro_precision']} | {row['macro_recall']} | {row['dev_macro_f1']} | "
            f"{row['wall_time_s']} |"
        )
    lines += [
        "",
        "vs default: the seed-averaged test macro-F1 difference from the default row and its "
        "paired-bootstrap p-value (1,000 resamples of the test examples; every run scored on "
        "the same resamples, each model's seeds averaged); * marks p < 0.05.",
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


def vs_default(test: dict | None) -> str:
    if test is None:
        return ""
    star = " *" if test["p_value"] < 0.05 else ""
    return f"{test['difference']:+.4f} ({test['p_value']:.3f}){star}"


def add_run_options(parser: argparse.ArgumentParser, runs_dir: Path) -> None:
    """The options of every benchmark that trains runs: seeds, data, output, what to train."""
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2],
                        help="training seeds; each experiment trains one run per seed")  # fmt: skip
    parser.add_argument("--data-dir", help="GoEmotions directory (None = $GOEMOTIONS_DIR, "
                        "else a local cache, else a download)")  # fmt: skip
    parser.add_argument("--runs-dir", default=str(runs_dir),
                        help="where the runs are written (<experiment>-s<seed>/); existing "
                        "ones are reused")  # fmt: skip
    parser.add_argument("--out", default="benchmarks/results",
                        help="directory of the report files (.json and .md)")  # fmt: skip
    parser.add_argument(
        "--experiments", nargs="+", metavar="NAME",
        help="train only these experiments (e.g. to split the work between processes); "
        "the tables still list every finished run",
    )  # fmt: skip
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="training settings for every run as FIELD=VALUE (fields of "
                        "emotag train bilstm), e.g. epochs=1")  # fmt: skip
    parser.add_argument("--report-only", action="store_true", help="no training; tables only")


def check_experiments(wanted: list[str] | None, known) -> None:
    """Refuses --experiments names the benchmark does not have, before anything runs."""
    unknown = sorted(set(wanted or ()) - set(known))
    if unknown:
        raise SystemExit(f"unknown experiments {unknown}; there are {sorted(known)}")


def collect(experiments: dict[str, dict], args: argparse.Namespace) -> dict[str, dict[int, dict]]:
    """Trains each wanted (experiment, seed) run that does not exist yet (not with
    --report-only), then reads the figures of every finished one.

    Args:
        experiments: name -> TrainConfig overrides, in table order.
        args: parsed options of `add_run_options`.

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
                run_dir = run_experiment(name, overrides, seed, runs_dir, args.data_dir)
            if (run_dir / layout.RUN_INFO).exists():
                results.setdefault(name, {})[seed] = run_figures(run_dir)
    return results


def write_report(out: str | Path, stem: str, payload: dict, table: str) -> None:
    """Writes <out>/<stem>.json and <stem>.md, and prints the Markdown."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(payload, indent=2))
    (out / f"{stem}.md").write_text(table)
    print(table)


def parse_args(argv=None) -> argparse.Namespace:
    parser = command_parser(__doc__)
    parser.add_argument("--suite", nargs="+", default=["default", "embeddings", "pooling", "loss"],
                        choices=sorted(SUITES), help="experiment suites to train and "
                        "tabulate (see above)")  # fmt: skip
    add_run_options(parser, Path("artifacts") / "bench")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    setup_logging()
    args = parse_args(argv)
    check_experiments(args.experiments, [name for s in args.suite for name, _ in SUITES[s]])
    base = parse_overrides(args.set)
    reference = dataclasses.replace(TrainConfig(), **base)
    # The default configuration is the reference of every ablation; its embedding source
    # appears in the embeddings suite under its own name too.
    experiments = {
        name: {**base, **edits}
        for suite in args.suite
        for name, edits in SUITES[suite]
        if not edits or any(getattr(reference, k) != v for k, v in edits.items())
    }
    results = collect(experiments, args)
    command = command_line("benchmarks/quality.py", argv)
    payload = {
        "command": command,
        "defaults": dataclasses.asdict(reference),
        "overrides": base,
        "summary": summarise(results),
        "vs_default": significance(results),
        "runs": results,
    }
    write_report(args.out, "quality", payload, markdown(results, command))
    return 0


if __name__ == "__main__":
    sys.exit(main())
